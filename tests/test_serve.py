"""End-to-end tests of `policydsl serve`: the real server (`python -m policydsl.cli serve`) on a free port of
127.0.0.1, driven over HTTP with httpx, its answers compared with what the real `policydsl eval --json` prints."""
from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from conftest import POLICIES, ROOT
from test_cli import run

MERCHANT = ROOT / "examples" / "merchant.json"
FACTS = json.loads(MERCHANT.read_text(encoding="utf-8"))
POOR = {"account": {"kind": "personal", "fans": 999, "real_name": True}, "product": {"special_category": False}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """The real server on a free port, once /readyz answers (or the process has ended: the test then fails)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "policydsl.cli", "serve", "--port", str(port), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    while proc.poll() is None:
        try:
            if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        try:
            proc.wait(0.2)
        except subprocess.TimeoutExpired:
            pass
    raise AssertionError(f"the server ended: {proc.returncode} {proc.stderr.read() if proc.stderr else ''}")


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(60)
    if proc.stdout:
        proc.stdout.close()
    if proc.stderr:
        assert "Traceback" not in proc.stderr.read()
        proc.stderr.close()


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    proc, url = start()
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def client(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=60) as c:
        yield c


def eval_json(tmp_path: Path, *args: str, facts: Any = FACTS) -> tuple[int, Any]:
    """What the real `policydsl eval … --json` prints for these facts, and its exit code."""
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts, ensure_ascii=False), encoding="utf-8")
    result = run("eval", *args, "--facts", str(path), "--json")
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize("policy, at, facts", [
    ("cart.opening", "2023-12-20", FACTS), ("cart.opening", "2023-12-20", POOR), ("cart.opening", "2023-01-01", POOR),
    ("shop.deposit", "2023-12-20", FACTS), ("listing.approval", "2023-12-20", FACTS),
    ("settlement", "2023-12-20", FACTS), ("product.sharing", "2024-03-01", FACTS),
    ("deposit.refund", "2023-12-20", FACTS), ("official_account.own_store_only", "2023-12-20", FACTS),
])
def test_a_decision_is_what_eval_json_prints(client: httpx.Client, tmp_path: Path, policy: str, at: str,
                                             facts: Any) -> None:
    code, expected = eval_json(tmp_path, policy, "--at", at, facts=facts)
    response = client.post(f"/v1/policies/{policy}/decide", json={"facts": facts, "at": at})
    assert (code, response.status_code, response.headers["content-type"]) == (0, 200, "application/json")
    assert response.json() == expected


def test_the_poor_record_is_denied_with_its_reason(client: httpx.Client) -> None:
    body = client.post("/v1/policies/cart.opening/decide", json={"facts": POOR, "at": "2023-12-20"}).json()
    assert (body["outcome"], [r["code"] for r in body["reasons"]]) == ("deny", ["fans_below_threshold"])
    assert body["reasons"][0]["message"]["en"] == "999 followers, below the threshold of 1,000 followers"


def test_a_policy_is_found_by_its_title_too(client: httpx.Client, tmp_path: Path) -> None:
    _, expected = eval_json(tmp_path, "cart.opening", "--at", "2023-12-20")
    title = client.get("/v1/policies").json()["policies"]
    zh = next(p["title"]["zh"] for p in title if p["id"] == "cart.opening")
    assert client.post(f"/v1/policies/{zh}/decide", json={"facts": FACTS, "at": "2023-12-20"}).json() == expected


@pytest.mark.parametrize("at, facts", [("2023-12-20", FACTS), ("2022-06-01", FACTS), ("2023-12-20", POOR)])
def test_the_book_decision_is_what_eval_book_json_prints(client: httpx.Client, tmp_path: Path, at: str,
                                                         facts: Any) -> None:
    _, expected = eval_json(tmp_path, "--book", "--at", at, facts=facts)
    response = client.post("/v1/book/decide", json={"facts": facts, "at": at})
    assert response.status_code == 200
    assert response.json() == expected


def test_policies_lists_every_policy_with_titles_periods_and_inputs(client: httpx.Client) -> None:
    from policydsl.loader import load

    book = load(POLICIES)
    listed = client.get("/v1/policies").json()["policies"]
    assert [p["id"] for p in listed] == sorted(book.compiled) and len(listed) == 18
    for entry in listed:
        policy = book.compiled[entry["id"]]
        assert entry == {"id": policy.id, "title": dict(policy.title), "inputs": sorted(policy.inputs),
                         "effective": {"from": policy.start and policy.start.isoformat(),
                                       "to": policy.end and policy.end.isoformat()}}
    cart = next(p for p in listed if p["id"] == "cart.opening")
    assert cart["title"] == {"zh": "抖音购物车开通资格", "en": "Douyin shopping cart opening"}
    assert "account.fans" in cart["inputs"]


def test_health_readiness_and_status(client: httpx.Client) -> None:
    digest = hashlib.sha256()
    for path in sorted(POLICIES.rglob("*.policy")):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(POLICIES).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "revision": digest.hexdigest()}
    status = client.get("/v1/status").json()
    assert (status["revision"], status["policies"]) == (digest.hexdigest(), 18)
    import datetime as dt

    assert dt.datetime.fromisoformat(status["loaded_at"]).tzinfo is not None


def _error(code: str, zh: str, en: str, facts: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"error": {"code": code, "message": {"zh": zh, "en": en}, "facts": list(facts)}}


BODY_OBJECT = _error("serve.body_object", "请求体必须是 JSON 对象 {\"facts\": {…}, \"at\": \"YYYY-MM-DD\"}",
                     "the request body must be a JSON object {\"facts\": {…}, \"at\": \"YYYY-MM-DD\"}")


@pytest.mark.parametrize("content, status, expected", [
    (b'{"facts": ', 400, _error("serve.body_json", "请求体不是有效的 JSON：Expecting value (line 1, column 11)",
                                "the request body is not valid JSON: Expecting value (line 1, column 11)")),
    (b"", 400, _error("serve.body_json", "请求体不是有效的 JSON：Expecting value (line 1, column 1)",
                      "the request body is not valid JSON: Expecting value (line 1, column 1)")),
    (b"\xff\xfe", 400, _error("serve.body_json",
                              "请求体不是有效的 JSON：'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
                              "the request body is not valid JSON: 'utf-8' codec can't decode byte 0xff in position 0: "
                              "invalid start byte")),
    # a lone surrogate (no UTF-8 holds it): the error quoting it could not be sent, a 500 and a dropped connection
    (b'{"facts": {"account": {"kind": "\\ud800"}}}', 400, _error(
        "serve.body_json", "请求体不是有效的 JSON：\"\\ud800\" 含孤立的代理码位，不是 Unicode 文本",
        "the request body is not valid JSON: \"\\ud800\" holds a lone surrogate, which is not Unicode text")),
    # a key twice: JSON kept the last one silently (the first facts were never decided)
    (b'{"facts": {"account": {"fans": 5000}}, "facts": {}}', 400, _error(
        "serve.body_json", "请求体不是有效的 JSON：键 \"facts\" 出现两次，取值不同",
        "the request body is not valid JSON: the key \"facts\" is given twice with different values")),
    # an exponent no Decimal holds: decimal's InvalidOperation escaped the JSON reader, a 500
    (b'{"facts": {"account": {"fans": 1e99999999999999999999}}}', 400, _error(
        "serve.body_json", "请求体不是有效的 JSON：数 1e99999999999999999999 的指数超出任何小数能表示的范围",
        "the request body is not valid JSON: the number 1e99999999999999999999 has an exponent beyond any decimal's")),
    (b"[1, 2]", 400, BODY_OBJECT), (b'"facts"', 400, BODY_OBJECT),
    (b'{"at": "2023-12-20"}', 422, _error("serve.no_facts", "请求体缺少 facts 字段", "the request body has no facts field")),
    (b'{"facts": {}, "when": 1, "x": 2}', 422, _error("serve.body_keys", "请求体含未知字段：when, x（只接受 facts 与 at）",
                                                      "the request body has unknown fields: when, x (only facts and at "
                                                      "are accepted)")),
    (b'{"facts": [1]}', 422, _error("facts_object", "事实必须是 JSON 对象", "facts must be a JSON object")),
    (b'{"facts": {}, "at": 20231220}', 422, _error("bad_date", "日期 `20231220` 无效，应为 YYYY-MM-DD",
                                                   "invalid date `20231220`, expected YYYY-MM-DD")),
    (b'{"facts": {}, "at": "2023-02-30"}', 422, _error("bad_date", "日期 `2023-02-30` 无效，应为 YYYY-MM-DD",
                                                       "invalid date `2023-02-30`, expected YYYY-MM-DD")),
])
def test_a_malformed_request_gets_its_status_and_error(client: httpx.Client, content: bytes, status: int,
                                                       expected: Any) -> None:
    for path in ("/v1/policies/cart.opening/decide", "/v1/book/decide"):
        response = client.post(path, content=content)
        assert (response.status_code, response.json()) == (status, expected)


@pytest.mark.parametrize("policy, facts, at", [
    ("cart.opening", {"account": {"kind": "personal", "fanz": 5}}, "2023-12-20"),  # an unknown fact
    ("cart.opening", {"account": {"kind": "personal"}}, "2023-12-20"),  # a missing fact
    ("cart.opening", {"account": {"kind": "personal", "fans": "many", "real_name": True},
                      "product": {"special_category": False}}, "2023-12-20"),  # a wrong type
    ("cart.opening", {"account": {"kind": "alien", "fans": 5, "real_name": True},
                      "product": {"special_category": False}}, "2023-12-20"),  # no such enum value
    ("cart.opening", POOR, "2021-06-01"),  # facts the rules of that day need and the record lacks
    ("cart.opening", FACTS, "2023-13-01"),  # a bad date
    ("no.such_policy", FACTS, "2023-12-20"),  # an unknown policy
])
def test_bad_facts_get_the_error_eval_json_prints(client: httpx.Client, tmp_path: Path, policy: str, facts: Any,
                                                  at: str) -> None:
    code, expected = eval_json(tmp_path, policy, "--at", at, facts=facts)
    response = client.post(f"/v1/policies/{policy}/decide", json={"facts": facts, "at": at})
    assert code == 2 and "error" in expected
    assert (response.status_code, response.json()) == (404 if policy == "no.such_policy" else 422, expected)


def test_a_book_request_with_an_unknown_fact_is_eval_books_error(client: httpx.Client, tmp_path: Path) -> None:
    facts = {"account": {"fanz": 5}}
    code, expected = eval_json(tmp_path, "--book", "--at", "2023-12-20", facts=facts)
    response = client.post("/v1/book/decide", json={"facts": facts, "at": "2023-12-20"})
    assert (code, response.status_code, response.json()) == (2, 422, expected)
    assert expected["error"]["code"] == "unknown_facts"


def test_many_unknown_names_are_refused_at_once_the_first_20_listed(base: str) -> None:
    # each unknown name got a did-you-mean (~2 ms): 60,000 of them, a 1 MB body, held the event loop (every
    # request to the service) for 80 s; the first 20 are listed now, then how many more
    facts = {**{f"account.fanz{i}": 1 for i in range(5)}, **{f"f{i}": 1 for i in range(60000)}}
    response = httpx.post(base + "/v1/book/decide", json={"facts": facts}, timeout=30)
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["facts"]) == (422, "unknown_facts", list(facts))
    en, zh = error["message"]["en"].splitlines(), error["message"]["zh"].splitlines()
    assert (len(en), len(zh)) == (22, 22)
    assert (en[1], en[6], en[-1]) == ("  - account.fanz0 (did you mean `account.fans`, Followers?)", "  - f0",
                                      "  … and 59985 more")
    assert (zh[1], zh[-1]) == ("  - account.fanz0（是不是 `account.fans`，粉丝数？）", "  ……另有 59985 个")


def test_a_body_over_the_limit_is_refused_without_trusting_content_length(client: httpx.Client) -> None:
    expected = _error("serve.too_large", "请求体超过 1048576 字节", "the request body is larger than 1048576 bytes")

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"facts": {"x": "'
        for _ in range(64):
            yield b"a" * 32768
        yield b'"}}'
    response = client.post("/v1/book/decide", content=chunks())
    assert (response.status_code, response.json()) == (413, expected)
    exact = json.dumps({"facts": FACTS, "at": "2023-12-20", "pad": ""}).encode()
    big = client.post("/v1/book/decide", content=exact[:-2] + b" " * (1024 * 1024 + 1 - len(exact)) + b'"}')
    assert (big.status_code, big.json()) == (413, expected)
    assert client.get("/healthz").status_code == 200  # and the server still answers


def _raw(base: str, request: bytes) -> bytes:
    """What the server answers `request` sent as is, read until it closes the connection."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_request_head_over_the_limit_is_refused_before_it_is_kept(base: str) -> None:
    # httptools kept a head whole however long: one header of 300 MB grew the server by 300 MB
    expected = _error("serve.head_too_large", "请求行与请求头超过 65536 字节",
                      "the request line and headers are larger than 65536 bytes")
    for head in (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(10_000)) + b"\r\n",
                 b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"):
        status, _, rest = _raw(base, head).partition(b"\r\n")
        assert (status, json.loads(rest.split(b"\r\n\r\n", 1)[1])) == (b"HTTP/1.1 431 Request Header Fields Too Large",
                                                                      expected)
    # a large head within the limit, and what follows a refused one, are answered
    fits = _raw(base, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + b"a" * 60_000 + b"\r\n\r\n")
    assert fits.startswith(b"HTTP/1.1 200 OK") and fits.endswith(b'{"status": "ok"}')
    assert httpx.get(base + "/healthz").status_code == 200


def test_an_unknown_policy_is_named_clipped(client: httpx.Client) -> None:
    # the name came back whole, twice: a 60,000-character path answered 120 KB
    response = client.get("/v1/policies/" + "a" * 60_000 + "/schema")
    clipped = "a" * 79 + "…"
    assert (response.status_code, response.json()) == (404, _error("unknown_policy", f"未知政策 `{clipped}`",
                                                                   f"unknown policy `{clipped}`"))


def test_unknown_endpoints_and_methods_answer_with_error_json(client: httpx.Client) -> None:
    missing = client.get("/v2/nothing")
    assert (missing.status_code, missing.json()) == (404, _error("serve.not_found", "没有这个地址：/v2/nothing",
                                                                 "no such endpoint: /v2/nothing"))
    wrong = client.get("/v1/book/decide")
    assert (wrong.status_code, wrong.headers["allow"], wrong.json()) == (
        405, "POST", _error("serve.method", "/v1/book/decide 不接受 GET 请求", "/v1/book/decide does not accept GET"))


def test_the_token_is_required_by_the_decide_endpoints(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n", encoding="utf-8")
    proc, url = start("--token-file", str(token_file))
    expected = _error("serve.unauthorized", "需要 Authorization: Bearer <令牌> 请求头，且令牌正确",
                      "an Authorization: Bearer <token> header with the right token is required")
    body = {"facts": POOR, "at": "2023-12-20"}
    try:
        with httpx.Client(base_url=url, timeout=60) as c:
            for path in ("/v1/policies/cart.opening/decide", "/v1/book/decide"):
                for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"},
                                {"Authorization": "Bearer s3cret-token2"}, {"Authorization": "bearer s3cret-token"}):
                    refused = c.post(path, json=body, headers=headers)
                    assert (refused.status_code, refused.headers["www-authenticate"], refused.json()) == (
                        401, "Bearer", expected)
                assert c.post(path, json=body, headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
            assert c.get("/v1/policies").status_code == 200  # reading the list needs no token
    finally:
        stop(proc)


def test_an_empty_or_missing_token_file_is_refused_before_listening(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text(" \n", encoding="utf-8")
    result = run("serve", "--port", str(free_port()), "--token-file", str(empty))
    assert (result.returncode, result.stderr.strip()) == (2, f"error: the token file {empty} is empty")
    result = run("serve", "--port", str(free_port()), "--token-file", str(tmp_path / "nope"))
    assert result.returncode == 2 and result.stderr.startswith(f"error: cannot read {tmp_path / 'nope'}")


def test_a_broken_book_is_refused_before_listening(tmp_path: Path) -> None:
    (tmp_path / "bad.policy").write_text("policy broken {\n", encoding="utf-8")
    result = run("serve", "--port", str(free_port()), "--policies", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad.policy" in result.stderr and result.stdout == ""


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run("serve", "--port", str(port))
    assert (result.returncode, "Traceback" in result.stderr) == (2, False)
    assert result.stderr.splitlines()[-1] == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_a_missing_serve_extra_names_it() -> None:
    from policydsl.commands.common import missing_extra

    assert [missing_extra(ModuleNotFoundError(name=n)) for n in ("starlette", "uvicorn.config")] == ["serve", "serve"]


def test_without_starlette_the_command_names_the_serve_extra() -> None:
    # the real command in a Python where starlette cannot be imported (as when the extra is not installed)
    code = "import sys; sys.modules['starlette'] = None; from policydsl.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "serve", "--port", str(free_port())], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "POLICYDSL_LANG": "en"})
    assert (done.returncode, done.stderr.strip()) == (2, "error: `policydsl serve` needs starlette.applications, an optional "
                                                         "dependency that is not installed: run pip install 'policydsl[serve]'")


def test_help_lists_serve_in_both_languages() -> None:
    listing = run("--help").stdout
    assert "serve" in listing
    assert "以 HTTP 服务提供政策决策" in run("serve", "--help").stdout


def test_port_zero_serves_on_the_port_the_system_picked_and_says_which() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "policydsl.cli", "serve", "--port", "0", "--lang", "en"], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().strip()
        revision, port = line.split(" ")[2], int(line.rsplit(":", 1)[1])
        assert line == f"serving book {revision} (18 policies) at http://127.0.0.1:{port}" and port > 0
        status = httpx.get(f"http://127.0.0.1:{port}/v1/status", timeout=60).json()
        assert status["revision"][:12] == revision
    finally:
        proc.terminate()
        proc.wait(60)
        proc.stderr.close()  # type: ignore[union-attr]
