"""Issue 14's editing features of the real `policydsl lsp` process over stdio: completion by prefix, why formatting
refused, hover on reason codes, rename, quick fixes, range formatting, semantic tokens, one chosen language."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from test_lsp import TIMEOUT, Client, change, doc, folder, open_doc, position_of  # noqa: F401 - `folder` is a fixture

CART = "cart_opening.policy"


def start(folder: Path, lang: str | None = "zh", **init: object) -> Client:
    c = Client(ROOT, lang=lang)
    c.result = c.request("initialize", {"processId": None, "rootUri": folder.as_uri(), "capabilities": {
        "textDocument": {"rename": {"prepareSupport": True}}}, **init})
    c.notify("initialized", {})
    return c


@pytest.fixture
def server(folder: Path):
    c = start(folder)
    yield c
    if c.proc.poll() is None:
        c.proc.kill()
        c.proc.wait(TIMEOUT)


def opened(client: Client, folder: Path, text: str | None = None) -> tuple[str, str]:
    path = folder / CART
    text = path.read_text(encoding="utf-8") if text is None else text
    uri = open_doc(client, path, text)
    client.diagnostics(uri)
    return uri, text


def items_of(result) -> list[dict]:
    items = result["items"] if isinstance(result, dict) else result
    return sorted(items, key=lambda item: item["sortText"])


def test_every_new_capability_is_advertised(server: Client) -> None:
    caps = server.result["capabilities"]
    assert caps["renameProvider"] == {"prepareProvider": True}
    assert caps["codeActionProvider"] == {"codeActionKinds": ["quickfix"]}
    assert caps["documentRangeFormattingProvider"] is True
    legend = caps["semanticTokensProvider"]["legend"]
    assert {"keyword", "string", "number", "comment", "property", "enumMember", "function"} <= set(legend["tokenTypes"])
    assert legend["tokenModifiers"] == ["declaration", "readonly", "date"]
    assert caps["semanticTokensProvider"]["full"] is True


# ------------------------------------------------------------------ 1. completion by prefix
def test_completion_after_a_dotted_prefix_offers_only_the_names_under_it(server: Client, folder: Path) -> None:
    uri, text = opened(server, folder)
    at = position_of(text, "require account.fans", len("require account."))
    items = items_of(server.request("textDocument/completion", doc(uri, at)))
    labels = [item["label"] for item in items]
    assert labels and all(label.startswith("account.") for label in labels), labels
    assert len(labels) < 40 and "require" not in labels and "account.fans" in labels
    fans = next(item for item in items if item["label"] == "account.fans")  # the whole path is replaced
    assert fans["textEdit"]["range"]["start"] == position_of(text, "require account.fans", len("require "))
    assert fans["textEdit"]["newText"] == fans["filterText"] == "account.fans"
    # a partial segment: what starts with the whole typed path comes first
    at = position_of(text, "require account.fans", len("require account.fa"))
    ranked = items_of(server.request("textDocument/completion", doc(uri, at)))
    assert ranked[0]["label"].startswith("account.fa") and ranked[0]["sortText"].startswith("0")
    assert all(item["sortText"].startswith("1") for item in ranked if not item["label"].startswith("account.fa"))
    # a policy's own values
    at = position_of(text, ">= cart.min_fans", len(">= cart."))
    labels = [i["label"] for i in server.request("textDocument/completion", doc(uri, at))]
    assert "cart.min_fans" in labels and all(label.startswith("cart.") for label in labels)


def test_keywords_only_where_a_keyword_can_stand(server: Client, folder: Path) -> None:
    uri, text = opened(server, folder)
    # in a condition: names and the expression's own keywords, no clause keyword
    labels = {i["label"] for i in items_of(server.request(
        "textDocument/completion", doc(uri, position_of(text, "when account.kind ==", 5))))}
    assert {"account.fans", "personal", "not", "and"} <= labels
    assert not labels & {"require", "rule", "policy", "source", "when"}
    # at the start of a clause, the keywords; a typed word keeps only what starts with it
    text2 = text.replace("  supersedes fans_2020\n", "  supersedes fans_2020\n  re\n", 1)
    change(server, uri, 2, text2)
    server.diagnostics(uri)
    at = position_of(text2, "  supersedes fans_2020\n  re\n", len("  supersedes fans_2020\n  re"))
    labels = {i["label"] for i in items_of(server.request("textDocument/completion", doc(uri, at)))}
    assert "require" in labels and all(any(p.startswith("re") for p in (l, *l.split("."))) for l in labels), labels


# ------------------------------------------------------------------ 2. formatting a broken file says why
@pytest.mark.parametrize("lang, expected", [
    ("zh", "无法格式化：文件有语法错误（第 {line} 行）"), ("en", "cannot format: the file has syntax errors (line {line})")])
def test_formatting_a_broken_file_says_why(folder: Path, lang: str, expected: str) -> None:
    client = start(folder, lang=lang)
    try:
        path = folder / CART
        good = path.read_text(encoding="utf-8")
        broken = good.replace("  require account.fans >= cart.min_fans\n", "  require account.fans >= \n", 1)
        line = broken[:broken.index("  require account.fans >= \n")].count("\n") + 1  # the `>=` lacking its value
        uri = open_doc(client, path, broken)
        client.diagnostics(uri)
        assert client.request("textDocument/formatting", {"textDocument": {"uri": uri}, "options": {
            "tabSize": 2, "insertSpaces": True}}) == []
        shown = client.wait_for("window/showMessage")
        assert shown == {"type": 2, "message": expected.format(line=line)}
    finally:
        client.proc.kill()
        client.proc.wait(TIMEOUT)


# ------------------------------------------------------------------ 3. hover on a reason code
def test_hover_on_a_reason_code_names_the_rules_that_give_it(server: Client, folder: Path) -> None:
    uri, text = opened(server, folder)
    hover = server.request("textDocument/hover", doc(uri, position_of(text, "deny fans_below_threshold", 8)))
    assert hover["contents"]["value"] == (
        "**理由代码 / reason code** `fans_below_threshold`\n\n- 给出它的规则:\n"
        "  - `fans_2020` 粉丝数门槛（2020）: `deny fans_below_threshold` — 粉丝数 {account.fans}，未达到 {cart.min_fans}的门槛\n"
        "  - `fans_2023` 粉丝数门槛（2023，个人与个体工商户）: `deny fans_below_threshold` — "
        "粉丝数 {account.fans}，未达到 {cart.min_fans}的门槛")
    # the same code where the second rule names it, in English
    client = start(folder, lang="en")
    try:
        uri = open_doc(client, folder / CART)
        client.diagnostics(uri)
        second = text.index("deny fans_below_threshold", text.index("rule fans_2023")) + 8
        line = text.count("\n", 0, second)
        at = {"line": line, "character": second - text.rfind("\n", 0, second) - 1}
        value = client.request("textDocument/hover", doc(uri, at))["contents"]["value"]
        assert value.startswith("**reason code / 理由代码** `fans_below_threshold`\n\n- given by:\n  - `fans_2020` "
                                "Follower threshold (2020): `deny fans_below_threshold` — {account.fans}, below the threshold")
    finally:
        client.proc.kill()
        client.proc.wait(TIMEOUT)


# ------------------------------------------------------------------ 4. rename
def apply(text: str, edits: list[dict]) -> str:
    lines = text.split("\n")
    def offset(pos: dict) -> int:
        return sum(len(l) + 1 for l in lines[:pos["line"]]) + pos["character"]  # ASCII names: units are characters
    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        text = text[:offset(edit["range"]["start"])] + edit["newText"] + text[offset(edit["range"]["end"]):]
    return text


def test_rename_a_fact_across_the_book(server: Client, folder: Path) -> None:
    uri, text = opened(server, folder)
    at = position_of(text, "require account.fans", len("require account.f"))
    prepared = server.request("textDocument/prepareRename", doc(uri, at))
    assert prepared["placeholder"] == "account.fans"
    refs = server.request("textDocument/references", {**doc(uri, at), "context": {"includeDeclaration": True}})
    result = server.request("textDocument/rename", {**doc(uri, at), "newName": "followers"})
    changes = result["changes"]
    assert sorted((u, e["range"]["start"]["line"]) for u, edits in changes.items() for e in edits) == sorted(
        (r["uri"], r["range"]["start"]["line"]) for r in refs)
    vocab = (folder / "vocabulary.policy").as_uri()
    new_vocab = apply((folder / "vocabulary.policy").read_text(encoding="utf-8"), changes[vocab])
    assert "  fact followers: count \"粉丝数\"" in new_vocab and "fact fans:" not in new_vocab
    new_cart = apply(text, changes[uri])
    assert "account.fans" not in new_cart and "require account.followers >= cart.min_fans" in new_cart
    assert "粉丝数 {account.followers}，未达到" in new_cart  # placeholders in messages too
    # the renamed book still checks
    (folder / "vocabulary.policy").write_text(new_vocab, encoding="utf-8")
    change(server, uri, 2, new_cart)
    assert server.diagnostics(uri) == []


def test_rename_a_rule_a_value_and_a_reason_code(server: Client, folder: Path) -> None:
    uri, text = opened(server, folder)
    edits = server.request("textDocument/rename", {**doc(uri, position_of(text, "supersedes fans_2020", 12)),
                                                   "newName": "followers_2020"})["changes"][uri]
    renamed = apply(text, edits)
    assert "rule followers_2020 " in renamed and "supersedes followers_2020" in renamed and "fans_2020" not in renamed
    at = position_of(text, "deny fans_below_threshold", 8)
    edits = server.request("textDocument/rename", {**doc(uri, at), "newName": "too_few_fans"})["changes"][uri]
    assert apply(text, edits).count("deny too_few_fans") == 2 and len(edits) == 2
    at = position_of(text, "{personal, individual_business}", 2)
    changes = server.request("textDocument/rename", {**doc(uri, at), "newName": "person"})["changes"]
    assert (folder / "vocabulary.policy").as_uri() in changes or (folder / "common.policy").as_uri() in changes
    assert "{person, individual_business}" in apply(text, changes[uri])


@pytest.mark.parametrize("needle, delta, new_name, error", [
    ("supersedes fans_2020", 12, "2fans", "`2fans` 不是合法的名称（字母或下划线开头，之后是字母、数字、下划线）"),
    ("supersedes fans_2020", 12, "videos_2020", "`videos_2020` 已被使用：规则"),
    ("supersedes fans_2020", 12, "when", "`when` 是关键字"),
    ("require account.fans", 10, "account.public_videos", "`account.public_videos` 已被使用：事实"),
    ("require account.fans", 10, "shop.fans", "事实须留在实体 `account` 中"),
    ("policy cart.opening", 9, "x", "政策 `cart.opening` 不能重命名"),
    ("title \"抖音", 2, "x", "这里没有可以重命名的名称"),
])
def test_rename_refuses_with_a_reason(server: Client, folder: Path, needle: str, delta: int, new_name: str,
                                      error: str) -> None:
    uri, text = opened(server, folder)
    before = len(server.stderr)
    reply = server.call("textDocument/rename", {**doc(uri, position_of(text, needle, delta)), "newName": new_name})
    assert reply["error"]["message"] == error and reply["error"]["code"] == -32803
    assert server.call("textDocument/documentSymbol", {"textDocument": {"uri": uri}}).get("result")  # (stderr caught up)
    assert "Traceback" not in server.stderr[before:].decode()  # an answer, not a failure: no traceback logged


# ------------------------------------------------------------------ 5. quick fixes
def test_a_did_you_mean_is_a_quick_fix(server: Client, folder: Path) -> None:
    path = folder / CART
    good = path.read_text(encoding="utf-8")
    text = good.replace("require account.public_videos >= 10", "require account.public_video >= 10", 1)
    uri = open_doc(server, path, text)
    diags = server.diagnostics(uri)
    typo = next(d for d in diags if d["code"] == "P0201")
    assert typo["data"] == {"suggestion": "account.public_videos"}
    actions = server.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": typo["range"],
                                                         "context": {"diagnostics": [typo]}})
    assert len(actions) == 1
    action = actions[0]
    assert action["kind"] == "quickfix" and action["isPreferred"] is True and action["diagnostics"] == [typo]
    assert action["title"] == "改为 `account.public_videos`"
    assert apply(text, action["edit"]["changes"][uri]) == good
    # a placeholder keeps its braces (P0403)
    text = good.replace("公开原创视频 {account.public_videos}，", "公开原创视频 {account.public_vidoes}，", 1)
    change(server, uri, 2, text)
    typo = next(d for d in server.diagnostics(uri) if d["code"] == "P0403")
    actions = server.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": typo["range"],
                                                         "context": {"diagnostics": [typo]}})
    assert apply(text, actions[0]["edit"]["changes"][uri]) == good


# ------------------------------------------------------------------ 6. range formatting
def test_range_formatting_formats_only_the_declarations_touched(server: Client, folder: Path) -> None:
    path = folder / CART
    good = path.read_text(encoding="utf-8")
    messy = good.replace("require account.phone_bound\n", "require    account.phone_bound\n", 1).replace(
        "require account.real_name\n", "require   account.real_name\n", 1)
    uri = open_doc(server, path, messy)
    server.diagnostics(uri)
    at = position_of(messy, "require    account.phone_bound")
    edits = server.request("textDocument/rangeFormatting", {"textDocument": {"uri": uri},
                                                            "range": {"start": at, "end": at},
                                                            "options": {"tabSize": 2, "insertSpaces": True}})
    assert len(edits) == 1
    result = apply(messy, edits)
    assert "require account.phone_bound\n" in result and "require   account.real_name\n" in result
    # a range on blank lines between declarations: nothing to do
    blank = position_of(messy, "\n\nrule phone_2020", 1)
    assert server.request("textDocument/rangeFormatting", {"textDocument": {"uri": uri},
                                                           "range": {"start": blank, "end": blank},
                                                           "options": {"tabSize": 2, "insertSpaces": True}}) == []


# ------------------------------------------------------------------ 7. semantic tokens
def decode(text: str, data: list[int], legend: dict) -> list[tuple[str, str, list[str]]]:
    lines, out, line, char = text.split("\n"), [], 0, 0
    for i in range(0, len(data), 5):
        dl, dc, length, kind, mods = data[i:i + 5]
        line, char = line + dl, (char + dc if dl == 0 else dc)
        units = lines[line].encode("utf-16-le")
        word = units[char * 2:(char + length) * 2].decode("utf-16-le")
        out.append((word, legend["tokenTypes"][kind],
                    [m for b, m in enumerate(legend["tokenModifiers"]) if mods >> b & 1]))
    return out


def test_semantic_tokens(server: Client, folder: Path) -> None:
    uri, text = opened(server, folder)
    legend = server.result["capabilities"]["semanticTokensProvider"]["legend"]
    data = server.request("textDocument/semanticTokens/full", {"textDocument": {"uri": uri}})["data"]
    tokens = decode(text, data, legend)
    found = set((w, k, tuple(m)) for w, k, m in tokens)
    assert ("rule", "keyword", ()) in found and ("require", "keyword", ()) in found
    assert ("fans_2020", "function", ("declaration",)) in found and ("fans_2020", "function", ()) in found
    assert ("account.fans", "property", ()) in found and ("cart.min_fans", "variable", ("declaration", "readonly")) in found
    assert ("personal", "enumMember", ()) in found and ("fans_below_threshold", "macro", ("declaration",)) in found
    assert ("follower", "type", ()) in found and ("10", "number", ()) in found
    assert ("2020-04-07", "number", ("date",)) in found
    assert ('"粉丝门槛"', "string", ()) in found
    assert any(k == "comment" and w.startswith("# 抖音购物车") for w, k, _ in tokens)
    # a message's placeholder is a reference inside its string
    assert ('"粉丝数 {', "string", ()) in found
    starts = [(sum(data[j] for j in range(0, i + 1, 5))) for i in range(0, len(data), 5)]
    assert starts == sorted(starts)


def many_rules(count: int) -> str:
    head = 'policy x.y\n  title "x" / "x"\n  source "a.txt" quote "q"\n  effective from 2020-01-01\n'
    return head + "".join(f'\nrule r{i} "规则{i}" / "Rule {i}"\n  when account.kind == personal and account.fans >= {i}\n'
                          f'  require account.real_name\n    else deny code{i} "拒绝 {{account.fans}}" / "denied {{account.fans}}"\n'
                          f'  source "a.txt" quote "q"\n' for i in range(count))


@pytest.mark.parametrize("shape", ["1,000 rules", "20,000 names on one line"])
def test_semantic_tokens_of_a_large_policy_cost_less_than_checking_it(server: Client, folder: Path, shape: str) -> None:
    # Each lexeme was compared with every name the checker resolved, and each token's column counted from its
    # line's start, character by character: quadratic. 1,000 rules (a 160 KB file, checked in 1.5 s) took 22 s, a
    # line of 20,000 numbers 26 s, with every request behind them waiting. Timed against the server checking the
    # same text in the same process (a loaded machine slows both): 1/6 of it or less now.
    import time

    cart = (folder / CART).read_text(encoding="utf-8")
    text = many_rules(1000) if shape == "1,000 rules" else cart.replace(
        "{personal, individual_business}", "{" + ", ".join(["personal"] * 20000) + "}", 1)
    started = time.perf_counter()
    uri, _ = opened(server, folder, text)
    checking = time.perf_counter() - started
    legend = server.result["capabilities"]["semanticTokensProvider"]["legend"]
    started = time.perf_counter()
    data = server.request("textDocument/semanticTokens/full", {"textDocument": {"uri": uri}})["data"]
    assert time.perf_counter() - started < checking
    tokens = decode(text, data, legend)
    if shape == "1,000 rules":
        assert tokens[-12:] == [("deny", "keyword", []), ("code999", "macro", ["declaration"]), ('"拒绝 {', "string", []),
                                ("account.fans", "property", []), ('}"', "string", []), ('"denied {', "string", []),
                                ("account.fans", "property", []), ('}"', "string", []), ("source", "keyword", []),
                                ('"a.txt"', "string", []), ("quote", "keyword", []), ('"q"', "string", [])]
        assert sum(word == "account.fans" for word, _, _ in tokens) == 3000
    else:
        named = [word for word, kind, _ in tokens if kind == "enumMember"]
        assert named.count("personal") == 20000 + 1  # and the one in the property's premise


# ------------------------------------------------------------------ 8. one language when one is chosen
def diagnostics_with(folder: Path, lang: str | None, **init: object) -> str:
    client = start(folder, lang=lang, **init)
    try:
        path = folder / CART
        broken = path.read_text(encoding="utf-8").replace("require account.public_videos >= 10",
                                                           "require account.public_video >= 10", 1)
        uri = open_doc(client, path, broken)
        return next(d for d in client.diagnostics(uri) if d["code"] == "P0201")["message"]
    finally:
        client.proc.kill()
        client.proc.wait(TIMEOUT)


ZH = "未定义的名称 `account.public_video`\n提示: 你是不是想写 `account.public_videos`？"
EN = "undefined name `account.public_video`\nhint: did you mean `account.public_videos`?"


@pytest.mark.parametrize("lang, init, expected", [
    (None, {}, "both"),
    ("zh", {}, ZH),
    (None, {"initializationOptions": {"lang": "en"}}, EN),
    ("zh", {"initializationOptions": {"lang": "en"}}, EN),
    (None, {"locale": "zh-CN"}, ZH),
    ("zh", {"locale": "en-US"}, EN),
])
def test_diagnostics_in_the_chosen_language_only(folder: Path, lang: str | None, init: dict, expected: str) -> None:
    message = diagnostics_with(folder, lang, **init)
    if expected == "both":
        assert len(message.split("\n")) == 4 and set(message.split("\n")) == set(ZH.split("\n") + EN.split("\n"))
    else:
        assert message == expected
