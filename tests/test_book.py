"""Whole-book decisions (issue 11, part 3): `applies when`, `eval --book`, `PolicySet.evaluate_all` and
the Gherkin steps, over the real CLI, the real book and small books written for the test."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

import policydsl
from policydsl.errors import PolicyDslError
from policydsl.formatter import format_text
from policydsl.loader import analyse_sources
from policydsl.source import SourceFile

from conftest import POLICIES, ROOT

MERCHANT = ROOT / "examples" / "merchant.json"

SMALL = {
    "vocabulary.policy": '''enum account_kind "账号类型" / "Account type"
  value personal "个人账号" / "Personal account"
  value enterprise "企业号" / "Enterprise account"

entity account "账号" / "Account"
  fact kind: account_kind "账号类型" / "Account type"
  fact fans: count "粉丝数" / "Followers"
  fact licence: bool "营业执照" / "Business licence"
''',
    "fans.policy": '''policy demo.fans
  title "粉丝门槛" / "Follower threshold"
  effective from 2023-01-01

rule fans "粉丝门槛" / "Follower threshold"
  require account.fans >= 1000
    else deny fans_low "粉丝 {account.fans}，不足 1000" / "{account.fans} followers, fewer than 1000"
  source "doc.txt" quote "1000粉丝"
''',
    "licence.policy": '''policy demo.licence
  title "企业营业执照" / "Enterprise licence"
  applies when account.kind == enterprise

rule licence "营业执照" / "Business licence"
  require account.licence
    else deny licence_missing "缺少营业执照" / "Business licence missing"
  source "doc.txt" quote "营业执照"
''',
}


@pytest.fixture
def small(tmp_path: Path) -> Path:
    for name, text in SMALL.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def run(*args: str, facts: object = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policydsl.cli", *args],
                          input=None if facts is None else json.dumps(facts, ensure_ascii=False),
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


# ====================================================================== the language
def test_applies_when_is_checked_formatted_and_kept_once() -> None:
    text = SMALL["licence.policy"]
    vocabulary = SourceFile(path="v.policy", text=SMALL["vocabulary.policy"])
    assert analyse_sources([vocabulary, SourceFile(path="l.policy", text=text)]).diagnostics == []
    twice = text.replace("  applies when account.kind == enterprise\n",
                         "  applies when account.kind == enterprise\n  applies when account.fans > 0\n")
    diags = analyse_sources([vocabulary, SourceFile(path="l.policy", text=twice)]).diagnostics
    assert [(d.code, d.line, d.column, d.message["en"]) for d in diags] == [
        ("P0118", 4, 16, "a policy has at most one `applies when`")]
    not_bool = text.replace("account.kind == enterprise", "account.fans")
    diags = analyse_sources([vocabulary, SourceFile(path="l.policy", text=not_bool)]).diagnostics
    assert [(d.code, d.message["en"]) for d in diags] == [("P0302", "a condition must be bool, found count")]
    messy = text.replace("  applies when account.kind == enterprise", "applies   when (account.kind==enterprise)")
    assert format_text(messy, "l.policy") == text


# ====================================================================== the API
def test_evaluate_all_decides_each_policy_that_applies(small: Path) -> None:
    book = policydsl.load(small)
    at = dt.date(2023, 6, 1)
    whole = book.evaluate_all({"account": {"kind": "personal", "fans": 999}}, at)
    assert [(p.policy, p.status) for p in whole.parts] == [("demo.fans", "decided"), ("demo.licence", "not_applicable")]
    assert whole.outcome == "deny" and whole.denied == ["demo.fans"] and whole.errors == []
    # labels work as names for the whole record too; a policy that cannot be decided is an error of its own
    whole = book.evaluate_all({"账号类型": "企业号", "粉丝数": 1000}, at)
    assert [(p.policy, p.status) for p in whole.parts] == [("demo.fans", "decided"), ("demo.licence", "error")]
    assert whole.outcome == "undecided" and whole.allowed == ["demo.fans"]
    assert whole.part("demo.licence").error.code == "missing_facts"
    assert whole.part("demo.licence").error.facts == ("account.licence",)
    # a fact `applies when` needs and lacks is named too
    whole = book.evaluate_all({"account": {"fans": 1000}}, at)
    assert whole.part("demo.licence").error.facts == ("account.kind",)
    # before a policy is in force it is reported, not decided
    whole = book.evaluate_all({"account": {"kind": "enterprise", "fans": 1000, "licence": True}}, dt.date(2022, 1, 1))
    assert [(p.policy, p.status, p.period) for p in whole.parts] == [
        ("demo.fans", "not_in_force", (dt.date(2023, 1, 1), None)), ("demo.licence", "decided", (None, None))]
    assert whole.outcome == "allow"
    # the record is checked once, against the whole book's vocabulary
    with pytest.raises(PolicyDslError) as info:
        book.evaluate_all({"account": {"fanz": 1}}, at)
    assert info.value.code == "unknown_facts" and info.value.facts == ("account.fanz",)
    assert book.evaluate_all({"account": {"fans": 1000, "kind": "personal"}, "crm": 1}, at,
                             ignore_unknown=True).outcome == "allow"


def test_a_single_policy_is_still_decided_whoever_it_applies_to(small: Path) -> None:
    """`applies when` chooses what a whole-book decision decides; asking for one policy decides it."""
    book = policydsl.load(small)
    decision = book.evaluate("demo.licence", {"account": {"kind": "personal", "licence": False}}, dt.date(2023, 6, 1))
    assert decision.outcome == "deny"


# ====================================================================== the CLI
def test_eval_book_prints_every_part_and_a_summary(small: Path) -> None:
    facts = {"account": {"kind": "enterprise", "fans": 999}}
    result = run("eval", "--book", "--facts", "-", "--policies", str(small), "--at", "2023-06-01", "--lang", "en",
                 facts=facts)
    assert result.returncode == 2, result.stderr  # a policy could not be decided: bad input, as in `eval`
    assert result.stdout.splitlines() == [
        "The whole book @ 2023-06-01: deny",
        "  deny  demo.fans (Follower threshold)",
        "    - [fans_low] 999 followers, fewer than 1000",
        "  cannot be decided  demo.licence (Enterprise licence)",
        "    missing facts:",
        "      - account.licence (营业执照 / Business licence)",
        "summary: 1 denied, 0 allowed, 0 not applicable, 0 not in force, 1 cannot be decided",
    ]
    zh = run("eval", "--book", "--facts", "-", "--policies", str(small), "--at", "2022-06-01", "--lang", "zh",
             facts={"account": {"kind": "personal", "fans": 5}})
    assert zh.returncode == 0, zh.stderr
    assert zh.stdout.splitlines() == [
        "整本规则书 @ 2022-06-01: 允许",
        "  未生效（生效期 2023-01-01 – …）  demo.fans (粉丝门槛)",
        "  不适用  demo.licence (企业营业执照)",
        "汇总：0 条拒绝，0 条允许，1 条不适用，1 条未生效，0 条无法决定",
    ]


def test_eval_book_json_on_the_real_book_decides_all_18_policies() -> None:
    result = run("eval", "--book", "--facts", str(MERCHANT), "--at", "2023-12-20", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    whole = json.loads(result.stdout)
    assert whole["at"] == "2023-12-20" and whole["outcome"] == "deny"
    assert len(whole["policies"]) == 18
    statuses = {p["policy"]: p["status"] for p in whole["policies"]}
    assert statuses.pop("shop.entry_legacy") == "not_in_force"
    assert set(statuses.values()) == {"decided"}
    summary = whole["summary"]
    assert summary["denied"] == ["deposit.refund"] and summary["errors"] == [] and summary["not_applicable"] == []
    assert len(summary["allowed"]) == 16 and summary["not_in_force"] == ["shop.entry_legacy"]
    refund = next(p for p in whole["policies"] if p["policy"] == "deposit.refund")
    assert [r["code"] for r in refund["decision"]["reasons"]] == ["reopen_shop_not_closed"]
    assert summary["values"]["shop.deposit"] == {"shop.deposit": "10000"}
    assert next(p for p in whole["policies"] if p["policy"] == "shop.entry_legacy")["period"] == {
        "from": "2018-10-01", "until": "2020-04-06"}


def test_eval_book_json_names_missing_facts_per_policy_and_decides_the_rest() -> None:
    facts = {"account": {"kind": "personal", "fans": 999, "real_name": True}, "product": {"special_category": False}}
    result = run("eval", "--book", "--facts", "-", "--at", "2023-12-20", "--json", facts=facts)
    assert result.returncode == 2 and result.stderr == ""
    whole = json.loads(result.stdout)
    parts = {p["policy"]: p for p in whole["policies"]}
    assert parts["cart.opening"]["status"] == "decided"
    assert parts["cart.opening"]["decision"]["outcome"] == "deny"
    assert parts["enterprise.onboarding"]["status"] == "not_applicable"
    assert parts["shop.deposit"]["error"] == {
        "code": "missing_facts", "facts": ["shop.categories"],
        "message": {"zh": "缺少事实：\n  - shop.categories（所选一级类目 / Primary categories chosen）",
                    "en": "missing facts:\n  - shop.categories (所选一级类目 / Primary categories chosen)"}}
    assert whole["outcome"] == "deny" and "shop.deposit" in whole["summary"]["errors"]


@pytest.mark.parametrize("args", [("cart.opening", "--book"), ()])
def test_eval_needs_one_policy_or_book(args: tuple[str, ...]) -> None:
    result = run("eval", *args, "--facts", str(MERCHANT), "--lang", "en")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: name one policy, or --book for the whole book (one of the two)\n"
    as_json = run("eval", *args, "--facts", str(MERCHANT), "--json")
    assert json.loads(as_json.stdout)["error"]["code"] == "eval_target"


def test_a_bad_record_is_one_error_for_the_whole_book() -> None:
    result = run("eval", "--book", "--facts", "-", "--at", "2023-12-20", "--json", facts={"acount": {"fans": 1}})
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "unknown_facts" and error["facts"] == ["acount.fans"]


# ====================================================================== Gherkin
FEATURE = """Feature: whole book
  Scenario: the licence policy
    Given account.kind is enterprise
    And account.fans is 2000
    When I evaluate the whole book on 2023-06-01
    Then {then}
"""


@pytest.mark.parametrize(("then", "message"), [
    ('"demo.licence" does not apply', "expected `demo.licence`: does not apply; actually: cannot be decided"),
    ('the whole book\'s outcome is "allow"', "expected the whole book's outcome allow, got undecided"),
    ('the outcome is "allow"', "no decision to check (evaluation failed or did not run)"),
    ('the part of "demo.nope"', "unknown policy `demo.nope`"),
])
def test_book_steps_fail_with_a_clear_message(small: Path, then: str, message: str) -> None:
    (small / "book.feature").write_text(FEATURE.format(then=then), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "test", str(small / "book.feature"), "--policies",
                             str(small), "--lang", "en", "-q"], capture_output=True, text=True, timeout=120, cwd=small)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout
    assert "whole book: @ 2023-06-01 → undecided" in result.stdout



def test_the_handbook_says_whom_each_policy_applies_to() -> None:
    docs = ROOT / "generated_docs"
    en = (docs / "en" / "md" / "policies" / "enterprise.onboarding.md").read_text(encoding="utf-8")
    assert "- Applies to (whole-book decisions): Account type is Enterprise account\n" in en
    zh = (docs / "zh" / "md" / "policies" / "official_account.own_store_only.md").read_text(encoding="utf-8")
    assert "- 适用于（整本评估）：账号身份为 官方账号（人店一体） 或 授权号\n" in zh
    every = (docs / "en" / "md" / "policies" / "cart.opening.md").read_text(encoding="utf-8")
    assert "- Applies to (whole-book decisions): every record\n" in every
