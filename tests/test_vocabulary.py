"""One vocabulary for the book (issue 11, part 1): entities and their facts declared once, in shared
files; the checker keeps one type per fact id, flags near-duplicates and the enum-id convention; every
policy reads the vocabulary's facts; the formatter, the runtime record check and the language server
know entities and facts."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import policydsl
from policydsl.loader import analyse, analyse_sources, policy_files
from policydsl.formatter import format_text
from policydsl.source import SourceFile

from conftest import POLICIES, ROOT
from test_lsp import TIMEOUT, Client, doc, open_doc, position_of

VOCABULARY = '''unit follower "人" / "followers"

enum account_kind "账号类型" / "Account type"
  value personal "个人账号" / "Personal account"
  value enterprise "企业号" / "Enterprise account"

entity account "抖音账号" / "Douyin account"
  fact fans: count "粉丝数" / "Followers" unit follower
  fact kind: account_kind "账号类型" / "Account type"
  fact dsr.service: number "服务评分" / "Service score"
'''

POLICY = '''policy demo.cart
  title "演示" / "Demo"

{inputs}
rule fans "粉丝门槛" / "Follower threshold"
  when account.kind == personal
  require {condition}
    else deny fans_low "粉丝 {{account.fans}} 不足" / "{{account.fans}}, too few"
  source "doc.txt" quote "1000粉丝"
'''


def check(*texts: str) -> list:
    sources = [SourceFile(path=f"f{i}.policy", text=t) for i, t in enumerate(texts)]
    return analyse_sources(sources).diagnostics


def brief(diags: list) -> list[tuple[str, str, int, int, str]]:
    return [(d.code, d.severity, d.line, d.column, d.message["en"]) for d in diags]


def policy(inputs: str = "", condition: str = "account.fans >= 1000") -> str:
    return POLICY.format(inputs=inputs, condition=condition)


# ====================================================================== the checker
def test_a_policy_reads_the_vocabulary_without_declaring_anything() -> None:
    result = analyse_sources([SourceFile(path="v.policy", text=VOCABULARY), SourceFile(path="p.policy", text=policy())])
    assert result.diagnostics == []
    model = result.model
    assert list(model.entities) == ["account"]
    assert list(model.facts) == ["account.fans", "account.kind", "account.dsr.service"]
    pol = model.policies["demo.cart"]
    assert list(pol.inputs) == ["account.fans", "account.kind"]  # the facts it reads, in the vocabulary's order
    assert pol.inputs["account.fans"] is model.facts["account.fans"]
    assert (pol.inputs["account.fans"].type.kind, pol.inputs["account.fans"].unit.name.value) == ("count", "follower")
    assert [p.id for p in model.readers("account.kind")] == ["demo.cart"]
    assert model.readers("account.dsr.service") == []


def test_another_type_for_a_vocabulary_fact_is_an_error() -> None:
    inputs = 'input account.fans: money "粉丝数" / "Followers"\n'
    assert brief(check(VOCABULARY, policy(inputs))) == [
        ("P0210", "error", 4, 21, "fact `account.fans` is declared money here but count (follower) elsewhere")]
    related = check(VOCABULARY, policy(inputs))[0].related
    assert [(r.span.file, r.span.text, r.message["en"]) for r in related] == [
        ("f0.policy", "count", "the other declaration is here")]


def test_two_policies_giving_one_fact_two_types_is_an_error() -> None:
    first = policy('input shop.age: count "开店天数" / "Shop age"\n', "shop.age >= 1")
    second = policy('input shop.age: date "开店日期" / "Opening date"\n', "shop.age <= 2024-01-01") \
        .replace("demo.cart", "demo.other")
    found = brief(check(VOCABULARY, first, second))
    assert found == [("P0210", "error", 4, 17, "fact `shop.age` is declared date here but count elsewhere")]


def test_the_same_declaration_again_is_redundant() -> None:
    inputs = 'input account.fans: count "粉丝数" / "Followers" unit follower\n'
    assert brief(check(VOCABULARY, policy(inputs))) == [
        ("P0211", "warning", 4, 7, "fact `account.fans` is already declared in the vocabulary; this `input` is "
                                   "redundant")]


def test_a_fact_an_entity_does_not_have_is_an_error_with_a_did_you_mean() -> None:
    inputs = 'input account.fanz: count "粉丝" / "Fans"\n'
    diags = check(VOCABULARY, policy(inputs, "account.fanz >= 1000"))
    assert brief(diags) == [("P0212", "error", 4, 7, "`account.fanz` is not a fact of entity `account`")]
    assert diags[0].hint["en"] == ("did you mean `account.fans`? Declare a new fact in entity `account` with `fact`")


def test_two_ids_with_one_label_are_flagged_as_near_duplicates() -> None:
    inputs = 'input creator.fans: count "粉丝数" / "Creator followers"\n'
    diags = check(VOCABULARY, policy(inputs, "creator.fans >= 1000 and account.fans >= 0"))
    assert brief(diags) == [("P0213", "warning", 4, 7, "facts `creator.fans` and `account.fans` share the label "
                                                        "“粉丝数”: are they one fact?")]
    assert [(r.span.file, r.span.text) for r in diags[0].related] == [("f0.policy", "fans")]


def test_enum_ids_follow_one_convention() -> None:
    enums = ('enum ShipMode "发货模式" / "Shipping mode"\n  value spot "现货" / "Spot"\n  value preSale "预售" / "Pre-sale"\n\n'
             'enum review_class "类目" / "Class"\n  value class_food "食品" / "Food"\n  value class_drug "药品" / "Drugs"\n\n'
             'enum binding "绑定" / "Binding"\n  value own_card "本人银行卡" / "Own card"\n  value own_alipay "本人支付宝" / "Own Alipay"\n')
    diags = check(enums)
    assert brief(diags) == [
        ("P0214", "warning", 1, 6, "enum id `ShipMode` is not lower snake_case"),
        ("P0214", "warning", 3, 9, "enum id `preSale` is not lower snake_case"),
        ("P0215", "warning", 5, 6, "every value of enum `review_class` starts with `class_`"),
    ]  # `own_` repeats no word of `binding`: a shared word, not the enum's name
    assert [d.hint["en"] for d in diags] == [
        "write `ship_mode`", "write `pre_sale`",
        "value ids do not repeat a common prefix: write `food` for `class_food`; the enum's name says what they are"]


def test_the_real_book_is_on_one_vocabulary() -> None:
    analysis = analyse(policy_files([POLICIES]))
    assert analysis.diagnostics == []
    model = analysis.model
    declared = [item for m in analysis.modules for item in m.items]
    # no policy declares a fact of its own: every fact is the vocabulary's
    assert [p.id for p in model.policies.values() if any(i is not model.facts.get(k) for k, i in p.inputs.items())] == []
    assert not any(type(i).__name__ == "InputDecl" for i in declared)
    assert len(model.facts) == 124 and len(model.entities) == 17
    # the concepts the issue found under several names now have one each
    assert model.facts["account.kind"].type.enum == "account_kind"
    assert sorted(p.id for p in model.readers("account.kind")) == [  # enterprise.onboarding: its `applies when`
        "cart.opening", "cart.opening_flow", "deposit.refund", "enterprise.onboarding", "shop.deposit"]
    assert {p.id for p in model.readers("shop.deposit_paid")} == {"enterprise.onboarding", "listing.approval",
                                                                   "product.audit"}
    assert model.facts["shop.deposit_paid"].type.kind == "money"
    assert {p.id for p in model.readers("product.scene")} == {"official_account.own_store_only", "product.sharing"}
    assert {p.id for p in model.readers("taobao.shop_level")} == {"product.sharing", "shop.entry_legacy"}
    for gone in ("shop.subject", "scene", "merchant.deposit_paid", "onboarding.deposit_paid", "shop.taobao_level"):
        assert gone not in model.facts
    assert "legacy_taobao_level" not in model.enums and "sharing_taobao_level" not in model.enums


# ====================================================================== the formatter
def test_an_entity_is_formatted_canonically() -> None:
    messy = ('entity   account "抖音账号" / "Douyin account" fact fans: count "粉丝数" / "Followers" unit follower\n'
             '      fact dsr . service:number "服务评分" / "Service score"\n')
    expected = ('entity account "抖音账号" / "Douyin account"\n  fact fans: count "粉丝数" / "Followers" unit follower\n'
                '  fact dsr.service: number "服务评分" / "Service score"\n')
    assert format_text(messy, "v.policy") == expected
    assert format_text(expected, "v.policy") == expected


# ====================================================================== the runtime record check
def test_a_vocabulary_fact_no_policy_reads_is_still_a_known_name(tmp_path: Path) -> None:
    (tmp_path / "vocabulary.policy").write_text(VOCABULARY, encoding="utf-8")
    (tmp_path / "cart.policy").write_text(policy(), encoding="utf-8")
    record = {"account": {"fans": 1200, "kind": "personal", "dsr": {"service": 4.8}}}
    run = subprocess.run([sys.executable, "-m", "policydsl.cli", "eval", "demo.cart", "--facts", "-", "--policies",
                          str(tmp_path), "--at", "2024-01-01", "--json"], input=json.dumps(record),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout)["outcome"] == "allow"
    book = policydsl.load(tmp_path)
    assert set(book.vocabulary.specs) == {"account.fans", "account.kind", "account.dsr.service"}
    misspelt = subprocess.run([sys.executable, "-m", "policydsl.cli", "eval", "demo.cart", "--facts", "-",
                               "--policies", str(tmp_path), "--at", "2024-01-01", "--json"],
                              input=json.dumps({"account": {"fans": 1200, "kind": "personal", "dsr": {"servise": 4}}}),
                              capture_output=True, text=True, timeout=120)
    assert misspelt.returncode == 2
    assert json.loads(misspelt.stdout)["error"]["facts"] == ["account.dsr.servise"]


def test_check_on_one_policy_file_finds_the_vocabulary_beside_it() -> None:
    run = subprocess.run([sys.executable, "-m", "policydsl.cli", "check", str(POLICIES / "shop_deposit.policy"),
                          "--lang", "en"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no problems" in run.stdout


# ====================================================================== the language server
def test_a_vocabulary_fact_is_one_symbol_across_the_book(tmp_path: Path) -> None:
    for path in POLICIES.glob("*.policy"):
        shutil.copy(path, tmp_path / path.name)
    client = Client(ROOT)
    try:
        client.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        client.notify("initialized", {})
        path = tmp_path / "cart_opening.policy"
        text = path.read_text(encoding="utf-8")
        uri = open_doc(client, path)
        assert client.diagnostics(uri) == []
        at = position_of(text, "when account.kind == enterprise", len("when account."))
        found = client.request("textDocument/references", {**doc(uri, at), "context": {"includeDeclaration": True}})
        files = sorted({Path(r["uri"]).name for r in found})
        assert files == ["book.policy", "cart_opening.policy", "cart_opening_flow.policy", "deposit_refund.policy",
                         "enterprise_onboarding.policy", "shop_deposit.policy", "vocabulary.policy"]
        hover = client.request("textDocument/hover", doc(uri, at))["contents"]["value"]
        assert hover.startswith("**事实 / fact** `account.kind`\n\n账号类型 / Account type\n\n- 类型: `枚举 account_kind`\n- 读取它的政策: "
                                 "`cart.opening`, `cart.opening_flow`, `deposit.refund`, `enterprise.onboarding`, "
                                 "`shop.deposit`")
    finally:
        client.proc.kill()
        client.proc.wait(TIMEOUT)


def test_a_book_property_links_to_the_policies_rules_and_facts_it_names(tmp_path: Path) -> None:
    for path in POLICIES.glob("*.policy"):
        shutil.copy(path, tmp_path / path.name)
    client = Client(ROOT)
    try:
        client.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        client.notify("initialized", {})
        path = tmp_path / "book.policy"
        text = path.read_text(encoding="utf-8")
        uri = open_doc(client, path)
        assert client.diagnostics(uri) == []
        cart = (tmp_path / "cart_opening.policy").read_text(encoding="utf-8")
        at = position_of(text, "outcome(cart.opening)", len("outcome("))
        assert client.request("textDocument/definition", doc(uri, at)) == {
            "uri": (tmp_path / "cart_opening.policy").as_uri(),
            "range": {"start": position_of(cart, "policy cart.opening", 7),
                      "end": position_of(cart, "policy cart.opening", 19)}}
        rule = position_of(text, "fires(cart.opening, fans_2023)", len("fires(cart.opening, "))
        assert client.request("textDocument/definition", doc(uri, rule))["range"]["start"] == \
            position_of(cart, "rule fans_2023", 5)
        hover = client.request("textDocument/hover", doc(uri, rule))["contents"]["value"]
        assert hover.startswith("**规则 / rule** `fans_2023`")
        fact = position_of(text, "account.fans < 1000", 9)
        vocabulary = (tmp_path / "vocabulary.policy").read_text(encoding="utf-8")
        assert client.request("textDocument/definition", doc(uri, fact))["range"]["start"] == \
            position_of(vocabulary, "  fact fans:", 7)
    finally:
        client.proc.kill()
        client.proc.wait(TIMEOUT)
