"""The language server as editors see it: a real `policydsl lsp` process spoken to over JSON-RPC on stdio."""
from __future__ import annotations

import json
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from conftest import POLICIES, ROOT

TIMEOUT = 30


class Client:
    """A tiny LSP client: Content-Length framing, a reader thread, replies matched by id, notifications queued."""

    def __init__(self, cwd: Path, lang: str | None = "zh", timeout: float = TIMEOUT) -> None:
        """`lang` None: no POLICYDSL_LANG, so no language chosen."""
        env = {k: v for k, v in os.environ.items() if k != "POLICYDSL_LANG"}
        env.update({"POLICYDSL_LANG": lang} if lang else {})
        self.proc = subprocess.Popen([sys.executable, "-m", "policydsl.cli", "lsp"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.timeout = timeout
        self.next_id = 0
        self.replies: dict[int | None, queue.Queue] = {}  # None: errors about messages whose id was unreadable
        self.notes: queue.Queue = queue.Queue()
        self.stderr = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)  # keep the pipe drained
        self.stderr_reader.start()

    def _drain_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr += line

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    self.notes.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = json.loads(out.read(int(headers["content-length"])).decode("utf-8"))
            if "id" in body and "method" not in body:
                self._reply_box(body["id"]).put(body)
            else:
                self.notes.put(body)

    def _reply_box(self, ident: int) -> queue.Queue:
        with self.lock:
            return self.replies.setdefault(ident, queue.Queue())

    def send(self, message: dict) -> None:
        data = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode("utf-8")
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(data) + data)

    def send_raw(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def call(self, method: str, params: object) -> dict:
        """The whole reply to a request: its `result` or its `error`."""
        self.next_id += 1
        ident = self.next_id
        self.send({"id": ident, "method": method, "params": params})
        return self.reply(ident)

    def reply(self, ident: int | None) -> dict:
        return self._reply_box(ident).get(timeout=self.timeout)

    def request(self, method: str, params: dict | None) -> object:
        reply = self.call(method, params)
        assert "error" not in reply, reply
        return reply["result"]

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def wait_for(self, method: str, predicate=lambda params: True) -> dict:
        while True:
            note = self.notes.get(timeout=self.timeout)
            assert note is not None, "the server closed its output"
            if note.get("method") == method and predicate(note["params"]):
                return note["params"]

    def diagnostics(self, uri: str) -> list[dict]:
        return self.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)["diagnostics"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("common.policy", "vocabulary.policy", "cart_opening.policy"):
        shutil.copy(POLICIES / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def client(folder: Path):
    c = Client(ROOT)
    c.request("initialize", {"processId": None, "rootUri": folder.as_uri(), "capabilities": {}})
    c.notify("initialized", {})
    yield c
    if c.proc.poll() is None:
        c.proc.kill()
        c.proc.wait(TIMEOUT)


def open_doc(client: Client, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "policydsl", "version": 1,
        "text": path.read_text(encoding="utf-8") if text is None else text}})
    return uri


def change(client: Client, uri: str, version: int, text: str) -> None:
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                             "contentChanges": [{"text": text}]})


def position_of(text: str, needle: str, delta: int = 0) -> dict:
    """The LSP position (UTF-16 units) of the first `needle` in `text`, moved `delta` characters on."""
    offset = text.index(needle) + delta
    line = text.count("\n", 0, offset)
    prefix = text[text.rfind("\n", 0, offset) + 1: offset]
    return {"line": line, "character": len(prefix.encode("utf-16-le")) // 2}


def doc(uri: str, position: dict) -> dict:
    return {"textDocument": {"uri": uri}, "position": position}


def test_broken_file_diagnostic_then_fixed(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    good = path.read_text(encoding="utf-8")
    broken = good.replace("  require account.fans >= cart.min_fans\n", "  require account.fans >= \n", 1)
    line = good[:good.index("  require account.fans >= cart.min_fans\n")].count("\n")  # 0-based
    uri = open_doc(client, path, broken)
    diags = client.diagnostics(uri)
    assert [(d["code"], d["severity"], d["range"]) for d in diags] == [  # at the `>=` that lacks its value
        ("P0122", 1, {"start": {"line": line, "character": 23}, "end": {"line": line, "character": 25}})]
    assert diags[0]["source"] == "policydsl"
    assert diags[0]["message"] == (  # POLICYDSL_LANG=zh chose Chinese: that language alone
        "表达式没写完：`>=` 之后缺少一个值\n"
        "提示: 补上缺少的部分（例如 `account.fans >= 1000`、`a and b`），或删去这个运算符")
    # the fix arrives as an incremental edit: insert the missing operand at the end of the condition
    at = {"line": line, "character": len("  require account.fans >= ")}
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
        {"range": {"start": at, "end": at}, "text": "cart.min_fans"}]})
    assert client.diagnostics(uri) == []


def test_diagnostic_range_counts_utf16_units(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    good = path.read_text(encoding="utf-8")
    text = good.replace("require account.real_name\n    else deny not_real_name_verified",
                        "require 𠀀实名 or account.real_nam\n    else deny not_real_name_verified", 1)
    uri = open_doc(client, path, text)
    diags = client.diagnostics(uri)
    line = text.count("\n", 0, text.index("𠀀"))
    # `𠀀` is one character but two UTF-16 code units: everything after it on the line moves by one
    assert [(d["code"], d["range"]["start"], d["range"]["end"]) for d in diags] == [
        ("P0201", {"line": line, "character": 10}, {"line": line, "character": 14}),
        ("P0201", {"line": line, "character": 18}, {"line": line, "character": 34})]


def test_hover_on_a_fact(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    uri = open_doc(client, path)
    assert client.diagnostics(uri) == []
    hover = client.request("textDocument/hover", doc(uri, position_of(text, "require account.fans", 10)))
    assert hover["contents"]["kind"] == "markdown"
    assert hover["contents"]["value"] == (
        "**事实 / fact** `account.fans`\n\n粉丝数 / Followers\n\n- 类型: `计数（count）`\n- 单位: `follower` (人 / followers)\n"
        "- 读取它的政策: `cart.opening`")


def test_hover_on_a_rule_shows_period_and_quote(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    uri = open_doc(client, path)
    client.diagnostics(uri)
    hover = client.request("textDocument/hover", doc(uri, position_of(text, "supersedes fans_2020", 12)))
    value = hover["contents"]["value"]
    assert value.splitlines()[:5] == ["**规则 / rule** `fans_2020`", "", "粉丝数门槛（2020） / Follower threshold (2020)", "",
                                      "- 生效期: 2020-04-07 至 2022-12-31"]
    assert "> 1000粉丝且已发布10个以上公开原创视频的所有抖音用户,都可以提交申请" in value


def test_completion_in_when_offers_facts_and_enum_values(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    uri = open_doc(client, path)
    client.diagnostics(uri)
    result = client.request("textDocument/completion", doc(uri, position_of(text, "when account.kind ==", 5)))
    items = result["items"] if isinstance(result, dict) else result
    labels = {item["label"]: item for item in items}
    assert {"account.fans", "account.kind", "cart.min_fans", "personal", "individual_business", "fans_2023",
            "cart.opening", "not", "and"} <= set(labels)
    assert not {"when", "require"} & set(labels)  # no clause keyword inside a condition
    assert labels["account.fans"]["detail"] == "事实 / fact: 计数（count） — 粉丝数 / Followers"
    assert labels["personal"]["detail"] == "枚举值 / enum value (account_kind) — 个人账号 / Personal account"
    # every fact of the book's vocabulary may be read, also one no rule of this policy reads yet
    assert labels["shop.deposit_paid"]["detail"] == "事实 / fact: 金额（money） — 已缴纳保证金 / Deposit paid"
    first = sorted(items, key=lambda item: item["sortText"])[0]
    assert first["label"] == "account.base_deposit_paid" and first["sortText"] == "0account.base_deposit_paid"
    assert labels["personal"]["sortText"] == "0personal" and labels["not"]["sortText"] == "2not"
    assert labels["fans_2023"]["sortText"] == "1fans_2023"


def test_completion_after_supersedes_offers_rules_first(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    uri = open_doc(client, path)
    client.diagnostics(uri)
    result = client.request("textDocument/completion", doc(uri, position_of(text, "supersedes fans_2020", 11)))
    items = result["items"] if isinstance(result, dict) else result
    ranked = [item["label"] for item in sorted(items, key=lambda item: item["sortText"]) if item["sortText"][0] == "0"]
    assert ranked == sorted(["fans_2020", "videos_2020", "phone_2020", "real_name_2020", "fans_2023", "real_name_2023",
                             "business_licence_2023", "industry_licence_2023", "corporate_verification_2023",
                             "individual_verification_2023"])


def test_definition_of_an_enum_value_jumps_to_common(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    uri = open_doc(client, path)
    client.diagnostics(uri)
    result = client.request("textDocument/definition", doc(uri, position_of(text, "{personal,", 3)))
    common = (folder / "common.policy").read_text(encoding="utf-8")
    assert result == {"uri": (folder / "common.policy").as_uri(),
                      "range": {"start": position_of(common, "value personal", 6),
                                "end": position_of(common, "value personal", 14)}}


def test_references_of_a_rule(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    uri = open_doc(client, path)
    client.diagnostics(uri)
    result = client.request("textDocument/references", {**doc(uri, position_of(text, "rule fans_2020", 6)),
                                                         "context": {"includeDeclaration": True}})
    lines = sorted(loc["range"]["start"]["line"] for loc in result)
    expected = [text.count("\n", 0, text.index(needle)) for needle in
                ("rule fans_2020", "supersedes fans_2020", "about fans_2020, videos_2020", "about fans_2020\n")]
    expected += [text.count("\n", 0, m.start()) for m in re.finditer(r"\bfires\(fans_2020\)", text)]  # properties
    assert lines == sorted(expected)
    assert {loc["uri"] for loc in result} == {uri}


def test_document_symbols(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    uri = open_doc(client, path)
    client.diagnostics(uri)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert [s["name"] for s in symbols] == ["cart.opening"]
    children = [c["name"] for c in symbols[0]["children"] if c["kind"] != 17]  # properties (Boolean) may be added
    assert children[:2] == ["cart.min_fans", "fans_2020"]  # its facts are the vocabulary's: no `input` here
    assert "fans_2023" in children and "operating_advice" in children
    assert len(children) == 1 + 10 + 4 + 1
    vocabulary_uri = open_doc(client, folder / "vocabulary.policy")
    client.diagnostics(vocabulary_uri)
    entities = client.request("textDocument/documentSymbol", {"textDocument": {"uri": vocabulary_uri}})
    account = next(e for e in entities if e["name"] == "account")
    assert account["kind"] == 5 and account["detail"] == "抖音账号 / Douyin account"  # Class
    assert [c["name"] for c in account["children"]][:3] == ["account.kind", "account.fans", "account.public_videos"]
    common_uri = open_doc(client, folder / "common.policy")
    client.diagnostics(common_uri)
    shared = client.request("textDocument/documentSymbol", {"textDocument": {"uri": common_uri}})
    names = [s["name"] for s in shared]
    assert names[:3] == ["follower", "video", "account_kind"]
    account_kind = shared[2]
    assert [c["name"] for c in account_kind["children"]] == ["personal", "enterprise", "individual_business"]


def test_formatting(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    messy = text.replace("define cart.min_fans: count", "define   cart.min_fans:   count", 1)
    assert messy != text
    uri = open_doc(client, path, messy)
    client.diagnostics(uri)
    request = {"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}}
    edits = client.request("textDocument/formatting", request)
    last = text.count("\n")  # the file ends with a newline: the document ends at the start of an empty line
    assert edits == [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": last, "character": 0}},
                      "newText": text}]  # the rule book is already in canonical form
    broken = messy.replace("require account.fans >= cart.min_fans", "require account.fans >= ", 1)
    change(client, uri, 2, broken)
    client.diagnostics(uri)
    assert client.request("textDocument/formatting", request) in ([], None)


def test_random_edits_never_kill_the_server(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    uri = open_doc(client, path)
    client.diagnostics(uri)
    rng = random.Random(20261123)
    alphabet = "abz_.{}()[]\"'#:=<>!%¥ \n\t中文𠀀0123456789" + "when require else deny"
    current = text
    for version in range(2, 72):
        pos = rng.randrange(len(current) + 1)
        if rng.random() < 0.5 and current:
            current = current[:pos] + current[pos + rng.randint(1, 20):]
        else:
            current = current[:pos] + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) + current[pos:]
        change(client, uri, version, current)
        # every request kind must answer on the broken text
        if version % 10 == 0:
            probe = {"line": rng.randrange(current.count("\n") + 1), "character": rng.randrange(40)}
            client.request("textDocument/hover", doc(uri, probe))
            client.request("textDocument/completion", doc(uri, probe))
            client.request("textDocument/definition", doc(uri, probe))
            client.request("textDocument/references", {**doc(uri, probe), "context": {"includeDeclaration": True}})
            client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    # a last request as a barrier: the server handles messages in order, so every notification it sent for the
    # edits is queued once this answers; none of them may report an internal error (which _safe would swallow)
    client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert client.proc.poll() is None
    errors = []
    while True:
        try:
            note = client.notes.get_nowait()
        except queue.Empty:
            break
        assert note is not None, "the server closed its output"
        if note.get("method") in ("window/logMessage", "window/showMessage") and note["params"]["type"] == 1:
            errors.append(note["params"]["message"])
    assert errors == []
    # the last good model still answers hover on the (probably broken) buffer by name
    change(client, uri, 100, current + "\nrequire account.fans\n")
    client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    end = {"line": current.count("\n") + 1, "character": 10}
    hover = client.request("textDocument/hover", doc(uri, end))
    assert hover["contents"]["value"].startswith("**事实 / fact** `account.fans`\n\n粉丝数 / Followers")
    change(client, uri, 101, text)
    client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri and p["diagnostics"] == [])


def test_shutdown_and_exit(client: Client) -> None:
    assert client.request("shutdown", None) is None
    client.notify("exit", None)
    assert client.proc.wait(TIMEOUT) == 0


def test_open_shared_file_wins_over_disk(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    uri = open_doc(client, path)
    assert client.diagnostics(uri) == []
    common = folder / "common.policy"
    edited = common.read_text(encoding="utf-8").replace("  value personal ", "  value private ", 1)
    common_uri = open_doc(client, common, edited)  # unsaved: the disk still says `personal`
    diags = client.diagnostics(uri)
    uses = [m.start() for m in re.finditer(r"(?:(?<=\{)|(?<== ))personal\b", text)]  # the rule's set and properties' `==`
    assert [(d["code"], d["range"]["start"]) for d in diags] == [
        ("P0206", position_of(text, "", offset)) for offset in uses]
    assert uses[0] == text.index("{personal,") + 1
    hover = client.request("textDocument/hover", doc(common_uri, position_of(edited, "value private", 7)))
    assert hover["contents"]["value"] == (
        "**枚举值 / enum value** `private`\n\n个人账号 / Personal account\n\n- 所属枚举: `account_kind` (账号类型 / Account type)")


def test_english_first_messages_and_definition_of_a_fact(folder: Path) -> None:
    c = Client(ROOT, lang="en")
    try:
        c.request("initialize", {"processId": None, "rootUri": folder.as_uri(), "capabilities": {}})
        c.notify("initialized", {})
        path = folder / "cart_opening.policy"
        text = path.read_text(encoding="utf-8").replace("require account.fans >=", "require account.fan >=", 1)
        uri = open_doc(c, path, text)
        diags = c.diagnostics(uri)
        assert [(d["code"], d["range"]["start"]) for d in diags] == [("P0201", position_of(text, "account.fan >="))]
        assert diags[0]["message"] == "undefined name `account.fan`\nhint: did you mean `account.fans`?"
        use = position_of(text, "account.fans >= cart.min_fans", 3)  # the 2023 rule still names it correctly
        vocabulary = (folder / "vocabulary.policy").read_text(encoding="utf-8")  # one declaration for the book
        assert c.request("textDocument/definition", doc(uri, use)) == {
            "uri": (folder / "vocabulary.policy").as_uri(),
            "range": {"start": position_of(vocabulary, "  fact fans:", 7), "end": position_of(vocabulary, "  fact fans:", 11)}}
    finally:
        c.proc.kill()
        c.proc.wait(TIMEOUT)


def test_closing_an_unsaved_shared_file_restores_the_disk_version(client: Client, folder: Path) -> None:
    path = folder / "cart_opening.policy"
    uri = open_doc(client, path)
    assert client.diagnostics(uri) == []
    common = folder / "common.policy"
    edited = common.read_text(encoding="utf-8").replace("  value personal ", "  value private ", 1)
    common_uri = open_doc(client, common, edited)
    codes = [d["code"] for d in client.diagnostics(uri)]
    assert codes and set(codes) == {"P0206"}
    client.notify("textDocument/didClose", {"textDocument": {"uri": common_uri}})
    assert client.diagnostics(common_uri) == []
    assert client.diagnostics(uri) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="a\n中𠀀é\t ", max_size=40), st.data())
def test_positions_round_trip_through_utf16(text: str, data) -> None:
    from policydsl.lsp import to_offset, to_position
    from policydsl.source import SourceFile

    offset = data.draw(st.integers(min_value=0, max_value=len(text)))
    position = to_position(SourceFile(path="x.policy", text=text), offset)
    prefix = text[text.rfind("\n", 0, offset) + 1: offset]
    assert (position.line, position.character) == (text.count("\n", 0, offset), len(prefix.encode("utf-16-le")) // 2)
    assert to_offset(text, position) == offset


# ------------------------------------------------------------------ properties
PROPERTIES = '''
property lsp_low_fans_denied "粉丝不足 1000 的个人账号被拒绝" / "Personal accounts under 1,000 followers are denied"
  effective from 2023-01-01
  when account.kind == personal and account.fans < 1000  # 前提
  expect outcome == deny and fires(fans_2023)

property lsp_always_decided "总有结论" / "Always decided"
  expect outcome == allow or outcome == deny
'''


def open_with_properties(client: Client, folder: Path) -> tuple[str, str]:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8") + PROPERTIES
    uri = open_doc(client, path, text)
    assert client.diagnostics(uri) == []
    return uri, text


def labels_of(result) -> list[dict]:
    items = result["items"] if isinstance(result, dict) else result
    return sorted(items, key=lambda item: item["sortText"])


def test_properties_in_the_outline(client: Client, folder: Path) -> None:
    uri, text = open_with_properties(client, folder)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    props = [c for c in symbols[0]["children"] if c["kind"] == 17]  # SymbolKind.Boolean
    assert all(c["kind"] == 17 for c in symbols[0]["children"] if c["name"].startswith("lsp_"))
    props = [c for c in props if c["name"].startswith("lsp_")]  # the rule book's own properties come before
    assert [(c["name"], c["detail"]) for c in props] == [
        ("lsp_low_fans_denied", "粉丝不足 1000 的个人账号被拒绝 / Personal accounts under 1,000 followers are denied"),
        ("lsp_always_decided", "总有结论 / Always decided")]
    assert props[0]["selectionRange"] == {"start": position_of(text, "lsp_low_fans_denied"),
                                          "end": position_of(text, "lsp_low_fans_denied", 19)}
    assert props[0]["range"]["start"] == position_of(text, "property lsp_low_fans_denied")
    end = text.index("fires(fans_2023)", text.index("property lsp_low_fans_denied")) + len("fires(fans_2023)")
    assert props[0]["range"]["end"] == position_of(text, "", end)


def test_hover_on_a_property(client: Client, folder: Path) -> None:
    uri, text = open_with_properties(client, folder)
    hover = client.request("textDocument/hover", doc(uri, position_of(text, "lsp_low_fans_denied", 4)))
    assert hover["contents"]["value"] == (
        "**性质 / property** `lsp_low_fans_denied`\n\n"
        "粉丝不足 1000 的个人账号被拒绝 / Personal accounts under 1,000 followers are denied\n\n"
        "- 生效期: 自 2023-01-01 起\n"
        "- 前提: `when account.kind == personal and account.fans < 1000`\n"
        "- 断言: `expect outcome == deny and fires(fans_2023)`\n"
        "- 验证: `policydsl verify cart.opening --property lsp_low_fans_denied`")
    # without its own `effective`, a property speaks of the policy's days
    hover = client.request("textDocument/hover", doc(uri, position_of(text, "property lsp_always_decided", 10)))
    assert hover["contents"]["value"].splitlines()[4:6] == [
        "- 生效期: 自 2020-04-07 起（政策的生效期）", "- 断言: `expect outcome == allow or outcome == deny`"]


def test_hover_on_a_property_in_english(folder: Path) -> None:
    c = Client(ROOT, lang="en")
    try:
        c.request("initialize", {"processId": None, "rootUri": folder.as_uri(), "capabilities": {}})
        c.notify("initialized", {})
        uri, text = open_with_properties(c, folder)
        hover = c.request("textDocument/hover", doc(uri, position_of(text, "lsp_always_decided", 1)))
        assert hover["contents"]["value"] == (
            "**property / 性质** `lsp_always_decided`\n\n总有结论 / Always decided\n\n"
            "- effective: from 2020-04-07 (the policy's period)\n"
            "- claim: `expect outcome == allow or outcome == deny`\n"
            "- verify: `policydsl verify cart.opening --property lsp_always_decided`")
    finally:
        c.proc.kill()
        c.proc.wait(TIMEOUT)


def test_fires_jumps_to_its_rule_and_is_a_reference_of_it(client: Client, folder: Path) -> None:
    uri, text = open_with_properties(client, folder)
    definition = client.request("textDocument/definition", doc(uri, position_of(text, "fires(fans_2023)", 9)))
    assert definition == {"uri": uri, "range": {"start": position_of(text, "rule fans_2023", 5),
                                                "end": position_of(text, "rule fans_2023", 14)}}
    result = client.request("textDocument/references", {**doc(uri, position_of(text, "rule fans_2023", 6)),
                                                         "context": {"includeDeclaration": False}})
    fires_use = {"start": position_of(text, "fires(fans_2023)", 6), "end": position_of(text, "fires(fans_2023)", 15)}
    assert {"uri": uri, "range": fires_use} in result
    assert all(loc["range"]["start"] != position_of(text, "rule fans_2023", 5) for loc in result)
    # references asked from the use inside fires( give the same answer
    again = client.request("textDocument/references", {**doc(uri, position_of(text, "fires(fans_2023)", 8)),
                                                        "context": {"includeDeclaration": False}})
    assert sorted(map(json.dumps, again)) == sorted(map(json.dumps, result))


def test_completion_in_a_property_offers_the_decision_words(client: Client, folder: Path) -> None:
    uri, text = open_with_properties(client, folder)
    at = position_of(text, "outcome == deny and fires", len("outcome == deny and "))
    items = labels_of(client.request("textDocument/completion", doc(uri, at)))
    by_label = {item["label"]: item for item in items}
    assert [item["label"] for item in items[:4]] == ["account.base_deposit_paid", "account.blue_v",
                                                      "account.business_licence", "account.corporate_verified"]
    words = ("outcome", "allow", "deny", "fires(")  # kinds: Variable, Value, Value, Function
    assert [(by_label[w]["sortText"], by_label[w]["kind"]) for w in words] == [
        ("0outcome", 6), ("0allow", 12), ("0deny", 12), ("0fires(", 3)]
    assert by_label["fires("]["insertText"] == "fires("
    assert by_label["outcome"]["detail"] == "决定的结论（allow 或 deny） / the decision's outcome (allow or deny)"
    assert "warn" not in by_label and [i["label"] for i in items].count("deny") == 1
    # in the premise too
    at = position_of(text, "when account.kind == personal and account.fans < 1000  #", 5)
    assert "outcome" in {item["label"] for item in labels_of(client.request("textDocument/completion", doc(uri, at)))}
    # a rule's condition is not a property: no decision words there
    at = position_of(text, "when account.kind ==", 5)
    labels = {item["label"] for item in labels_of(client.request("textDocument/completion", doc(uri, at)))}
    assert "outcome" not in labels and "fires(" not in labels and "not" in labels


def test_completion_inside_fires_offers_the_rules(client: Client, folder: Path) -> None:
    uri, text = open_with_properties(client, folder)
    at = position_of(text, "fires(fans_2023)", len("fires(fans"))
    items = labels_of(client.request("textDocument/completion", doc(uri, at)))
    assert [item["label"] for item in items] == sorted([
        "fans_2020", "videos_2020", "phone_2020", "real_name_2020", "fans_2023", "real_name_2023",
        "business_licence_2023", "industry_licence_2023", "corporate_verification_2023",
        "individual_verification_2023"])
    assert {item["detail"] for item in items if item["label"] == "fans_2023"} == {
        "规则 / rule — 粉丝数门槛（2023，个人与个体工商户） / Follower threshold (2023, personal and individual business)"}


def test_a_half_typed_property_never_breaks_the_server(client: Client, folder: Path) -> None:
    uri, text = open_with_properties(client, folder)
    broken = text + '\nproperty p "a" / "b"\n  expect'
    change(client, uri, 2, broken)
    diags = client.diagnostics(uri)
    assert [d["range"]["start"]["line"] for d in diags] == [broken.count("\n")] and diags[0]["code"].startswith("P01")
    end = {"line": broken.count("\n"), "character": len("  expect")}
    # every request answers on the broken text, from the last good model
    assert client.request("textDocument/hover", doc(uri, end)) is None
    hover = client.request("textDocument/hover", doc(uri, position_of(broken, "lsp_always_decided", 1)))
    assert hover["contents"]["value"].startswith("**性质 / property** `lsp_always_decided`")
    assert client.request("textDocument/definition", doc(uri, end)) is None
    assert client.request("textDocument/references", {**doc(uri, end), "context": {"includeDeclaration": True}}) == []
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    assert [c["name"] for c in symbols[0]["children"] if c["name"].startswith("lsp_")] == [
        "lsp_low_fans_denied", "lsp_always_decided"]
    request = {"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}}
    assert client.request("textDocument/formatting", request) in ([], None)
    change(client, uri, 3, broken + " ")
    client.diagnostics(uri)
    after = {**end, "character": end["character"] + 1}  # after the space: no longer completing `expect` itself
    labels = {item["label"] for item in labels_of(client.request("textDocument/completion", doc(uri, after)))}
    assert {"outcome", "allow", "deny", "fires("} <= labels
    typing = broken + " fires(new_rule_"
    change(client, uri, 4, typing + "\nrule new_rule_x \"新\" / \"New\"\n")
    client.diagnostics(uri)
    at = {"line": broken.count("\n"), "character": len("  expect fires(new_rule_")}
    rules = [item["label"] for item in labels_of(client.request("textDocument/completion", doc(uri, at)))]
    assert "fans_2023" in rules and "new_rule_x" in rules  # the last good model's rules and the ones in the text
    assert client.proc.poll() is None
    change(client, uri, 5, text)
    assert client.diagnostics(uri) == []


@pytest.mark.parametrize("deep", ["not " * 5000 + "account.fans >= 1", "-" * 5000 + "account.fans <= 1",
                                  " and ".join(["account.fans >= 1"] * 300)])
def test_an_expression_nested_far_too_deep_is_a_diagnostic_not_a_crash(client: Client, folder: Path, deep: str) -> None:
    path = folder / "cart_opening.policy"
    text = path.read_text(encoding="utf-8")
    uri = open_doc(client, path, text.replace("  require account.fans >= cart.min_fans\n", f"  require {deep}\n", 1))
    assert [d["code"] for d in client.diagnostics(uri)] == ["P0115"]
    for request in ("textDocument/hover", "textDocument/completion", "textDocument/definition"):
        client.request(request, doc(uri, {"line": 31, "character": 12}))
    client.request("textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}})
    client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})  # a barrier: earlier notes are queued
    logged = []
    while not client.notes.empty():
        note = client.notes.get_nowait()
        if note and note.get("method") in ("window/logMessage", "window/showMessage") and note["params"]["type"] == 1:
            logged.append(note["params"]["message"])
    assert logged == []


def test_an_overlap_links_its_reason_and_says_how_the_book_resolves_it(tmp_path: Path) -> None:
    """In book.policy, the `because` of an overlap jumps to the assume in the prevailing policy;
    hovering the overlap says what it compares and how the book resolves it."""
    for f in POLICIES.glob("*.policy"):
        shutil.copy(f, tmp_path / f.name)
    c = Client(ROOT)
    try:
        c.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        c.notify("initialized", {})
        path = tmp_path / "book.policy"
        text = path.read_text(encoding="utf-8")
        uri = open_doc(c, path)
        assert c.diagnostics(uri) == []
        audit = tmp_path / "product_audit.policy"
        start = position_of(audit.read_text(encoding="utf-8"), "assume otc_ban_prevails", 7)
        assert c.request("textDocument/definition", doc(uri, position_of(text, "because otc_ban_prevails", 9))) == {
            "uri": audit.as_uri(), "range": {"start": start, "end": {
                "line": start["line"], "character": start["character"] + len("otc_ban_prevails")}}}
        hover = c.request("textDocument/hover", doc(uri, position_of(text, "overlap otc_drug_listing", 9)))
        assert hover["contents"]["value"].startswith(
            "**两条政策共同回答的问题（overlap） / a question two policies answer (overlap)** `otc_drug_listing`\n\n"
            "药品类OTC产品能否上架 / May an OTC drug product be listed?\n\n"
            "- 比较的政策: `product.audit`, `listing.approval`\n"
            "- 前提: `product.category == otc_drugs and listing.review_class == drug`\n"
            "- 一致的含义: 两条政策的结论相同\n- 冲突的处理: 以 product.audit 为准\n"
            "- 理由: `product.audit` `otc_ban_prevails` — 000 把“药品类OTC产品”列为")
    finally:
        c.proc.kill()
        c.proc.wait(TIMEOUT)
