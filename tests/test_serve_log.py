"""End-to-end tests of the decision log (`policydsl serve --log`) and of `policydsl replay`: the real server started
as tests/test_serve.py starts it, driven over HTTP with httpx; the log files read as bytes; replay run as the real
command line in a subprocess, its report compared with what the real `policydsl diff --sample` prints."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import signal
import stat
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import POLICIES
from test_cli import run
from test_serve import FACTS, POOR, start, stop

KEY = b"a key of the test, 32 bytes long"
FIELDS = ["id", "time", "revision", "endpoint", "policy", "at", "status", "facts", "decision"]
BAD_FANS = {"account": {"kind": "personal", "fans": "many", "real_name": True}, "product": {"special_category": False}}


def lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a log file, each one whole (ending in a newline) and parsed."""
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def decide(client: httpx.Client, facts: Any, policy: str | None = "cart.opening", at: str = "2023-12-20") -> httpx.Response:
    url = "/v1/book/decide" if policy is None else f"/v1/policies/{policy}/decide"
    return client.post(url, json={"facts": facts, "at": at})


def serve_logged(tmp_path: Path, *args: str) -> tuple[Any, httpx.Client, Path]:
    log = tmp_path / "decisions.log"
    proc, base = start("--no-watch", "--log", str(log), *args)
    return proc, httpx.Client(base_url=base, timeout=60), log


def test_each_decision_is_one_line_with_its_id_revision_facts_and_exact_response(tmp_path: Path) -> None:
    key_file = tmp_path / "mask.key"
    key_file.write_bytes(KEY + b"\n")
    proc, client, log = serve_logged(tmp_path, "--mask", "account.real_name", "--mask-key-file", str(key_file))
    try:
        responses = [decide(client, FACTS), decide(client, POOR), decide(client, POOR, None),
                     decide(client, BAD_FANS), decide(client, POOR, "no.such.policy"),
                     client.post("/v1/policies/cart.opening/decide", content=b"{not json")]
        revision = client.get("/v1/status").json()["revision"]
        status = client.get("/v1/status").json()["log"]
    finally:
        client.close()
        stop(proc)
    assert [r.status_code for r in responses] == [200, 200, 200, 422, 404, 400]
    assert "x-decision-id" not in responses[-1].headers  # refused before deciding: not a decision, not logged
    logged = lines(log)
    assert [list(line) for line in logged] == [FIELDS[:7] + ["masked"] + FIELDS[7:]] * 5
    assert [line["id"] for line in logged] == [r.headers["x-decision-id"] for r in responses[:5]]
    assert len({line["id"] for line in logged}) == 5
    assert [line["decision"] for line in logged] == [r.json() for r in responses[:5]]
    assert [(line["endpoint"], line["policy"], line["at"], line["status"], line["revision"]) for line in logged] == [
        ("policy", "cart.opening", "2023-12-20", 200, revision), ("policy", "cart.opening", "2023-12-20", 200, revision),
        ("book", None, "2023-12-20", 200, revision), ("policy", "cart.opening", "2023-12-20", 422, revision),
        ("policy", "no.such.policy", "2023-12-20", 404, revision)]
    hashed = "hmac-sha256:" + hmac.new(KEY, b"true", hashlib.sha256).hexdigest()
    assert logged[1]["facts"] == {**POOR, "account": {**POOR["account"], "real_name": hashed}}
    assert logged[0]["facts"]["account"]["real_name"] == hashed and logged[0]["masked"] == ["account.real_name"]
    assert logged[0]["facts"]["shop"] == FACTS["shop"]
    assert [dt.datetime.fromisoformat(line["time"]).utcoffset() for line in logged] == [dt.timedelta(0)] * 5
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert status == {"path": str(log), "written": 5, "failed": 0, "masked": ["account.real_name"]}


def test_numbers_are_logged_exactly_as_the_request_gave_them(tmp_path: Path) -> None:
    proc, client, log = serve_logged(tmp_path)
    facts = {**FACTS, "shop": {**FACTS["shop"], "score": 4.80, "gmv_30d": 86000.10}}
    try:
        response = client.post("/v1/policies/settlement/decide", content=json.dumps(
            {"facts": facts, "at": "2023-12-20"}).replace("4.8,", "4.80,").encode())
    finally:
        client.close()
        stop(proc)
    assert response.status_code == 200
    text = log.read_text(encoding="utf-8")
    assert '"score":4.80,' in text and '"gmv_30d":86000.1,' in text  # a Decimal written as the number it was


def test_a_fact_given_as_a_flat_key_is_masked_too_and_the_random_key_is_never_written(tmp_path: Path) -> None:
    proc, client, log = serve_logged(tmp_path, "--mask", "account.fans", "--mask", "account.real_name")
    flat = {"account.fans": 999, "account": {"kind": "personal", "real_name": True}, "product": {"special_category": False}}
    try:
        answers = [decide(client, flat), decide(client, flat)]
    finally:
        client.close()
        stop(proc)
    assert [a.json()["reasons"][0]["code"] for a in answers] == ["fans_below_threshold"] * 2  # read from the flat key
    first, second = lines(log)
    fans, real_name = first["facts"]["account.fans"], first["facts"]["account"]["real_name"]
    assert fans.startswith("hmac-sha256:") and len(fans) == len("hmac-sha256:") + 64 and real_name != fans
    assert (second["facts"], first["masked"]) == (first["facts"], ["account.fans", "account.real_name"])  # one run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.log"]


def test_a_fact_given_by_its_label_is_masked_as_the_book_reads_it(tmp_path: Path) -> None:
    """A fact the service reads by a label, alone or under its entity, is masked too: a name the vocabulary
    resolves to a masked fact never reaches the log in clear, however it was spelled."""
    proc, client, log = serve_logged(tmp_path, "--mask", "account.fans", "--mask", "account.real_name")
    by_label = {"粉丝数": 999, "account": {"kind": "personal", "Real-name verified": True},
                "product": {"special_category": False}}
    try:
        answer = decide(client, by_label)
    finally:
        client.close()
        stop(proc)
    assert answer.json()["reasons"][0]["code"] == "fans_below_threshold"  # the service read both labels
    [line] = lines(log)
    fans, real_name = line["facts"]["粉丝数"], line["facts"]["account"]["Real-name verified"]
    assert fans.startswith("hmac-sha256:") and real_name.startswith("hmac-sha256:") and fans != real_name
    assert (line["masked"], line["facts"]["account"]["kind"], line["facts"]["product"]) == \
        (["account.fans", "account.real_name"], "personal", {"special_category": False})


LATE = {**FACTS, "violation": {**FACTS["violation"], "late_orders": 3},
        "deposit": {**FACTS["deposit"], "late_fine_per_order": "¥50"}}


def hashed(value: Any) -> str:
    return "hmac-sha256:" + hmac.new(KEY, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(),
                                     hashlib.sha256).hexdigest()


def test_what_a_decision_shows_of_a_masked_fact_is_masked_in_the_log(tmp_path: Path) -> None:
    """A masked fact is not logged through the decision either: a message placeholder showing it (or a value
    computed from it) reads [masked], a value computed from it is its hash, a consequence's amount computed from
    it too, and an ill-typed masked fact's line of the error says only that it is masked. The caller's own
    response is untouched; what the decision shows of no masked fact is logged as it was answered."""
    key_file = tmp_path / "mask.key"
    key_file.write_bytes(KEY)
    proc, client, log = serve_logged(tmp_path, "--mask", "account.fans", "--mask", "violation.late_orders",
                                     "--mask", "shop.age_days", "--mask-key-file", str(key_file))
    bad = {**BAD_FANS, "account": {**BAD_FANS["account"], "kind": "somebody"}}
    try:
        answers = [decide(client, POOR), decide(client, LATE, "deposit.stage"), decide(client, LATE, None),
                   decide(client, bad), decide(client, FACTS, "settlement")]
    finally:
        client.close()
        stop(proc)
    poor, late, book, error, plain = [a.json() for a in answers]
    logged = [line["decision"] for line in lines(log)]
    assert poor["reasons"][0]["message"]["en"] == "999 followers, below the threshold of 1,000 followers"
    masked = {"zh": "粉丝数 ［已掩码］，未达到 1000 人的门槛", "en": "[masked], below the threshold of 1,000 followers"}
    assert logged[0] == {**poor, "reasons": [{**poor["reasons"][0], "message": masked}]}

    # deposit.stage: day_number is computed from shop.age_days, the late-shipment deduction from late_orders
    values = late["values"]
    tainted = ["deposit.stage", "deposit.day_number", "deposit.ratio", "deposit.required", "deposit.insurance_allowed",
               "deposit.violation_recorded", "deposit.false_advertising_deduction", "deposit.counterfeit_deduction",
               "deposit.late_shipment_deduction", "deposit.total_deduction", "deposit.refundable"]
    assert (values["deposit.day_number"], values["deposit.late_shipment_deduction"]) == (401, "150")
    assert logged[1]["values"] == {path: hashed(values[path]) if path in tainted else values[path] for path in values}
    [warning] = late["warnings"]
    assert warning["message"]["en"] == "Deposit deduction: late shipment (deducted per order), 3 orders, ¥150"
    assert logged[1]["warnings"] == [{**warning, "message": {
        "zh": "违规扣罚保证金：延迟发货(按单扣罚)，［已掩码］，扣罚 ［已掩码］",
        "en": "Deposit deduction: late shipment (deducted per order), [masked], [masked]"}}]
    [consequence] = late["consequences"]
    assert logged[1]["consequences"] == [{**consequence, "amount": hashed("150")}]  # its text shows no value

    # the whole book: each policy's part as its own endpoint logs it, the summary from the masked parts
    parts = {part["policy"]: part for part in lines(log)[2]["decision"]["policies"]}
    assert parts["deposit.stage"]["decision"] == logged[1]
    assert parts["cart.opening"] == {"policy": "cart.opening", "status": "decided", "decision": {
        **next(p for p in book["policies"] if p["policy"] == "cart.opening")["decision"]}}  # shows no masked fact
    summary = logged[2]["summary"]
    assert summary["values"]["deposit.stage"] == logged[1]["values"]
    assert summary["consequences"] == [{"policy": "deposit.stage", **logged[1]["consequences"][0]}]
    assert {k: v for k, v in summary.items() if k not in ("values", "consequences")} == \
        {k: v for k, v in book["summary"].items() if k not in ("values", "consequences")}
    text = json.dumps(logged[2], ensure_ascii=False)
    assert ('"deposit.day_number": 401' in json.dumps(book, ensure_ascii=False), "401" in text) == (True, False)

    # an ill-typed masked fact: its line says it is masked, the other fact's line is as answered
    assert error["error"]["message"]["en"].splitlines() == [
        "invalid facts:", '  - account.kind (账号类型 / Account type): "somebody", expected personal (个人账号/Personal '
        'account) | enterprise (企业号/Enterprise account) | individual_business (个体工商户/Individual business)',
        '  - account.fans (粉丝数 / Followers): "many", expected count']
    assert logged[3] == {"error": {**error["error"], "message": {
        "zh": error["error"]["message"]["zh"].splitlines()[0] + "\n" + error["error"]["message"]["zh"].splitlines()[1]
        + "\n  - account.fans：（值已掩码）",
        "en": "invalid facts:\n" + error["error"]["message"]["en"].splitlines()[1] + "\n  - account.fans: (value masked)"}}}
    assert logged[4] == plain  # settlement reads none of them


def test_an_error_that_may_quote_a_masked_value_is_logged_without_its_message() -> None:
    """An evaluation error quoting a value (a table with no row for it) from a policy that reads a masked fact has
    its message masked whole; from a policy that reads none, or one that quotes only names, it is kept."""
    from policydsl.errors import PolicyDslError
    from policydsl.loader import load
    from policydsl.serve.log import masked_body

    def body(error: PolicyDslError) -> bytes:  # as the service answers it
        return json.dumps(error.to_dict(), ensure_ascii=False).encode("utf-8")

    book = load(POLICIES)
    no_row = PolicyDslError("E.no_row", table="deposit.by_stage", value="400")
    found = frozenset({"shop.age_days"})
    shown = masked_body(no_row, "deposit.stage", book, found, str, body(no_row))
    assert json.loads(shown) == {"error": {"code": "no_row", "facts": [], "message": {
        "zh": "（消息已掩码：它可能引用被掩码的事实的值）", "en": "(message masked: it may quote the value of a masked fact)"}}}
    assert masked_body(no_row, "cart.opening", book, found, str, body(no_row)) == body(no_row)  # reads no age_days
    missing = PolicyDslError("E.missing_facts", facts=["shop.age_days"], items={"zh": "x", "en": "x"})
    assert masked_body(missing, "deposit.stage", book, found, str, body(missing)) == body(missing)


def test_an_unknown_masked_fact_or_a_mask_without_a_log_is_refused_at_start(tmp_path: Path) -> None:
    unknown = run("serve", "--log", str(tmp_path / "x.log"), "--mask", "account.realname")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "--mask account.realname: the book has no such input fact (it has: " in unknown.stderr
    assert not (tmp_path / "x.log").exists()
    alone = run("serve", "--mask", "account.real_name")
    assert (alone.returncode, alone.stderr.strip()) == (2, "error: --mask and --mask-key-file need --log")
    short = tmp_path / "short.key"
    short.write_bytes(b"too short\n")
    refused = run("serve", "--log", str(tmp_path / "x.log"), "--mask-key-file", str(short))
    assert (refused.returncode, refused.stderr.strip()) == (
        2, f"error: the mask key file {short} is too short: at least 16 bytes are needed")
    tiny = run("serve", "--log", str(tmp_path / "x.log"), "--log-max-bytes", "100")
    assert (tiny.returncode, tiny.stderr.strip()) == (2, "error: --log-max-bytes must be at least 1024: 100")


def test_rotation_keeps_every_line_whole_and_in_order_across_the_files(tmp_path: Path) -> None:
    proc, client, log = serve_logged(tmp_path, "--log-max-bytes", "2600", "--log-backups", "5")
    try:
        ids = [decide(client, POOR).headers["x-decision-id"] for _ in range(7)]
    finally:
        client.close()
        stop(proc)
    size = len(log.read_bytes().splitlines()[0]) + 1  # every line of this request has the same length
    per_file = 2600 // size
    assert per_file == 3  # (the request is chosen so: a file holds 3 lines, 7 lines fill FILE.2, FILE.1 and FILE)
    files = [Path(f"{log}.2"), Path(f"{log}.1"), log]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.log", "decisions.log.1", "decisions.log.2"]
    assert [len(lines(f)) for f in files] == [3, 3, 1]
    assert [line["id"] for f in files for line in lines(f)] == ids
    assert [stat.S_IMODE(f.stat().st_mode) for f in files] == [0o600] * 3


@pytest.mark.parametrize("backups, kept", [("2", ["decisions.log.2", "decisions.log.1", "decisions.log"]),
                                            ("0", ["decisions.log"])])
def test_rotation_drops_the_oldest_beyond_the_backups(tmp_path: Path, backups: str, kept: list[str]) -> None:
    proc, client, log = serve_logged(tmp_path, "--log-max-bytes", "1024", "--log-backups", backups)
    try:
        ids = [decide(client, POOR).headers["x-decision-id"] for _ in range(5)]  # each line over 1024: one a file
    finally:
        client.close()
        stop(proc)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
    assert [line["id"] for name in kept for line in lines(tmp_path / name)] == ids[-len(kept):]


def test_sighup_opens_the_log_again_after_logrotate_moved_it(tmp_path: Path) -> None:
    proc, client, log = serve_logged(tmp_path)
    moved = tmp_path / "decisions.log.2026-12-05"
    try:
        first = decide(client, POOR).headers["x-decision-id"]
        log.rename(moved)  # what logrotate does (without copytruncate), before it signals the server
        second = decide(client, POOR).headers["x-decision-id"]  # still written to the moved file
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        third = decide(client, POOR).headers["x-decision-id"]
    finally:
        client.close()
        stop(proc)
    assert ([line["id"] for line in lines(moved)], [line["id"] for line in lines(log)]) == ([first, second], [third])
    assert log.stat().st_mode & 0o777 == 0o600


def test_a_failing_write_never_fails_the_decision_and_is_warned_once(tmp_path: Path) -> None:
    from policydsl import i18n
    from policydsl.serve.log import s

    proc, base = start("--no-watch", "--log", "/dev/full")  # every write: ENOSPC, the disk full
    with httpx.Client(base_url=base, timeout=60) as client:
        answers = [decide(client, POOR) for _ in range(3)]
        status = client.get("/v1/status").json()["log"]
        scraped = client.get("/metrics").text
    proc.terminate()
    proc.wait(60)
    assert proc.stderr is not None and proc.stdout is not None
    err = proc.stderr.read()
    proc.stderr.close()
    proc.stdout.close()
    assert [a.status_code for a in answers] == [200] * 3
    assert [a.json()["outcome"] for a in answers] == ["deny"] * 3
    assert (status["written"], status["failed"]) == (0, 3)
    assert [line for line in scraped.splitlines() if line.startswith("policydsl_decision_log_lines_total")] == \
        ['policydsl_decision_log_lines_total{result="written"} 0.0',
         'policydsl_decision_log_lines_total{result="failed"} 3.0']  # what an alert on a full disk reads
    warning = s("log_failed", i18n.default_lang(), path="/dev/full", reason=os.strerror(28))
    assert err.count(warning) == 1 and "Traceback" not in err


def test_a_killed_server_leaves_every_complete_line_whole(tmp_path: Path) -> None:
    proc, client, log = serve_logged(tmp_path)
    client.close()
    answered: list[str] = []
    done = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=str(client.base_url), timeout=10) as own:
            while not done.is_set():
                try:
                    answered.append(decide(own, FACTS, None).headers["x-decision-id"])  # the whole book: long lines
                except httpx.HTTPError:
                    return
    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    while len(answered) < 40:
        done.wait(0.05)
    proc.kill()  # SIGKILL, mid-load
    proc.wait(60)
    done.set()
    for thread in threads:
        thread.join(60)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()
    data = log.read_bytes()
    complete, _, rest = data.rpartition(b"\n")
    records = [json.loads(line) for line in complete.decode("utf-8").split("\n")]  # each complete line parses
    assert [list(r) for r in records] == [FIELDS] * len(records)
    assert set(answered) <= {r["id"] for r in records}  # a decision answered was logged before it was answered
    assert len(records) >= 40 and b"\n" not in rest


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of policy and book decisions (allowed, denied, a facts error) made by the real server."""
    folder = tmp_path_factory.mktemp("replay")
    proc, client, log = serve_logged(folder)
    try:
        for facts, policy in [(FACTS, "cart.opening"), (POOR, "cart.opening"), (BAD_FANS, "cart.opening"),
                              (POOR, None), (FACTS, "settlement")]:
            decide(client, facts, policy)
    finally:
        client.close()
        stop(proc)
    return log


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the book with cart.opening's follower threshold from 2023 lowered from 1000 to 900."""
    folder = tmp_path_factory.mktemp("edited") / "policies"
    shutil.copytree(POLICIES, folder)
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    assert text.count("  = 1000 from 2023-01-01\n") == 1
    path.write_text(text.replace("  = 1000 from 2023-01-01\n", "  = 900 from 2023-01-01\n"), encoding="utf-8")
    return folder


def test_replay_against_the_same_book_changes_nothing(logged: Path) -> None:
    result = run("replay", str(logged), "--policies", str(POLICIES))
    assert (result.returncode, result.stderr) == (0, "")
    out = result.stdout.splitlines()
    assert out[:5] == ["Douyin shop joining the Selected Alliance (`alliance.eligibility`): 1 records, 0 decisions changed",
                       "  error→error: 1",
                       "Shopping cart performance metrics (`cart.metrics`): 1 records, 0 decisions changed",
                       "  error→error: 1",
                       "Douyin shopping cart opening (`cart.opening`): 4 records, 0 decisions changed"]
    assert out[5:8] == ["  allow→allow: 1", "  deny→deny: 2", "  error→error: 1"]
    assert "Douyin shop half-monthly settlement (`settlement`): 2 records, 0 decisions changed" in out
    assert out[-2:] == ["no decision changed", "replayed 5 records (1 files)"]


def _sample(log: Path, path: Path) -> Path:
    """The log's policy requests as a `diff --sample` file: same ids, days, policies and facts."""
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(json.dumps({"id": r["id"], "at": r["at"], "policy": r["policy"], "facts": r["facts"]}) + "\n"
                            for r in records if r["endpoint"] == "policy"), encoding="utf-8")
    return path


def test_replay_against_an_edited_book_reports_as_diff_sample_does(logged: Path, edited: Path, tmp_path: Path) -> None:
    policy_lines = [line for line in logged.read_text(encoding="utf-8").splitlines() if '"endpoint":"policy"' in line]
    only_policies = tmp_path / "policies.log"
    only_policies.write_text("\n".join(policy_lines) + "\n", encoding="utf-8")
    replayed = run("replay", str(only_policies), "--policies", str(edited))
    diffed = run("diff", str(POLICIES), str(edited), "--sample", str(_sample(logged, tmp_path / "s.jsonl")),
                 "--no-prove")
    assert (replayed.returncode, diffed.returncode, replayed.stderr) == (1, 1, "")
    assert replayed.stdout.splitlines()[:-1] == diffed.stdout.splitlines()
    allowed, poor = (json.loads(line)["id"] for line in policy_lines[:2])
    assert replayed.stdout.splitlines() == [
        "Douyin shopping cart opening (`cart.opening`): 3 records, 2 decisions changed",
        "  allow→allow: 1", "  deny→allow: 1", "  error→error: 1",
        "  examples (allow→allow):",  # the same outcome, but a value the decision carries changed
        f"    - {allowed} @ 2023-12-20: allow → allow",
        "        value cart.min_fans: 1000 → 900",
        "  examples (deny→allow):",
        f"    - {poor} @ 2023-12-20: deny [fans_below_threshold] → allow",
        "        old: [fans_below_threshold] 999 followers, below the threshold of 1,000 followers",
        "        value cart.min_fans: 1000 → 900",
        "Douyin shop half-monthly settlement (`settlement`): 1 records, 0 decisions changed",
        "  allow→allow: 1",
        "2 decisions changed in all",
        "replayed 4 records (1 files)"]


def test_replay_of_book_decisions_compares_each_part_and_says_so_in_json(logged: Path, edited: Path) -> None:
    result = run("replay", str(logged), "--policies", str(edited), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    cart = next(p for p in report["policies"] if p["policy"] == "cart.opening")
    assert (cart["records"], cart["changed"], cart["transitions"]) == (
        4, 3, {"allow→allow": 1, "deny→allow": 2, "error→error": 1})  # the policy request and the book's part
    assert [e["differs"] for e in cart["examples"]] == [["values"]] + [["outcome", "reasons", "values"]] * 2
    assert (report["records"], report["masked"], report["skipped"], report["added"]) == (
        5, {"records": 0, "facts": {}}, [], [])


def test_replay_says_how_many_records_had_masked_facts(tmp_path: Path) -> None:
    proc, client, log = serve_logged(tmp_path, "--mask", "account.fans")
    try:
        decide(client, POOR)
        decide(client, {"account": {"kind": "enterprise"}, "product": {"special_category": False}})
    finally:
        client.close()
        stop(proc)
    result = run("replay", str(log), "--policies", str(POLICIES))
    assert result.returncode == 1  # the hash is not a count: that decision is now an error
    assert result.stdout.splitlines()[-2:] == [
        "replayed 2 records (1 files)",
        "1 of them had masked facts (account.fans): re-decided with the hashes in place of the values, their "
        "decisions may differ for that reason alone"]


def test_a_hostile_log_is_reported_line_by_line_and_the_rest_replayed(logged: Path, tmp_path: Path) -> None:
    good = logged.read_bytes().splitlines()[:2]
    record = json.loads(good[0])
    bad_lines = [
        b"{not json",
        b'{"id": "x"' + b" " * (16 * 1024 * 1024) + b"}",
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps({**record, "facts": json.loads('{"a":' * 70 + "1" + "}" * 70)}).encode(),
        json.dumps({**record, "id": 5}).encode(),
        json.dumps({**record, "at": "2023-02-30"}).encode(),
        json.dumps({**record, "decision": {"outcome": "maybe", "reasons": [], "values": {}}}).encode(),
        json.dumps({**record, "decision": {"outcome": "allow", "reasons": "none", "values": {}}}).encode(),
        json.dumps({**record, "policy": None}).encode(),
        b"[1, 2]",
        b"\xff\xfe",
        b'{"id": 1e99999999999999999999}',  # decimal's InvalidOperation ended the replay: an internal error
    ]
    hostile = tmp_path / "hostile.log"
    hostile.write_bytes(b"\n".join([good[0], *bad_lines, b"", good[1]]) + b"\n")
    result = run("replay", str(hostile), "--policies", str(POLICIES))
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    assert result.stderr.splitlines() == [
        f"{hostile}:2: not valid JSON (Expecting property name enclosed in double quotes, column 2)",
        f"{hostile}:3: the line is longer than 16777216 bytes, skipped",
        f"{hostile}:4: not valid JSON (RecursionError)",
        f"{hostile}:5: nested deeper than 64 levels",
        f'{hostile}:6: the field "id" is missing or not "…"',
        f'{hostile}:7: the field "at" is missing or not "YYYY-MM-DD"',
        f'{hostile}:8: the field "decision" is not a decision the service answers',
        f'{hostile}:9: the field "decision" is not a decision the service answers',
        f'{hostile}:10: the field "policy" is missing or not "…" | null',
        f"{hostile}:11: expected a record of a decision log (a JSON object)",
        f"{hostile}:12: the line is not UTF-8",
        f"{hostile}:13: not valid JSON (the number 1e99999999999999999999 has an exponent beyond any decimal's)"]
    assert result.stdout.splitlines()[-3:] == ["no decision changed", "replayed 2 records (1 files)",
                                               "12 bad lines were skipped (see standard error)"]


def test_replay_of_a_missing_log_is_a_clear_error(tmp_path: Path) -> None:
    result = run("replay", str(tmp_path / "nope.log"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(tmp_path / "nope.log") in result.stderr


def test_replay_of_a_device_is_refused_unread(tmp_path: Path) -> None:
    # one endless line: read in pieces and dropped, forever
    (tmp_path / "decisions.log").symlink_to("/dev/zero")
    for lang, reason in (("en", "not a regular file"), ("zh", "不是普通文件")):
        result = run("replay", str(tmp_path / "decisions.log"), "--lang", lang, timeout=60)
        assert (result.returncode, result.stdout) == (2, "") and "Traceback" not in result.stderr
        assert str(tmp_path / "decisions.log") in result.stderr and reason in result.stderr


def test_help_lists_replay_in_both_languages() -> None:
    result = run("--help")
    assert "replay" in result.stdout
    shown = " ".join(run("replay", "--help").stdout.split())
    assert "用另一版政策库重新决定决策日志" in shown and "decide every request of a decision log" in shown
