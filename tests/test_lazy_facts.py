"""A fact is required only where the decision actually reads it: a false `when` needs none of the facts
behind it, `and`/`or` (and `any`/`all`) are three-valued over missing facts, and a value no rule needs
may lack facts: it is left out of `values` and listed in `Decision.unresolved`. One run still names
every fact the decision needs and lacks. API, real CLI and Gherkin steps; the rule book's three cases."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl
from policydsl.errors import PolicyDslError

from conftest import POLICIES

AT = dt.date(2024, 3, 1)
SRC = 'source "doc.txt" quote "原文"'
POLICY = f'''
enum region "地区" / "Region"
  value north "华北" / "North"
  value south "华南" / "South"

policy t.lazy
  title "惰性事实" / "Lazy facts"

input gate: bool "闸门" / "Gate"
input adding: bool "求和" / "Adding"
input level: count "等级" / "Level"
input a: bool "甲" / "A"
input b: bool "乙" / "B"
input c: bool "丙" / "C"
input d: bool "丁" / "D"
input p: count "戊" / "P"
input q: count "己" / "Q"
input orders: count "延迟单数" / "Late orders"
input fine: money "每单罚金" / "Fine per order"
input base: money "基准金额" / "Base amount"
input regions: set of region "地区" / "Regions"
input north_ok: bool "华北合格" / "North OK"
input south_ok: bool "华南合格" / "South OK"
input shout: bool "提示合计" / "Show the total"

define deduction: money "扣罚" / "Deduction"
  = ¥0 when orders == 0
  = fine * orders
  {SRC}

define total: money "合计" / "Total"
  = base + deduction
  {SRC}

define some_ok: bool "有合格地区" / "Some region OK"
  = any((r == north and north_ok) or (r == south and south_ok) for r in regions)
  {SRC}

rule gated "闸门规则" / "Gated rule"
  when gate
  require level >= 3 else deny level_low "等级不足" / "Level too low"
  {SRC}

rule both "甲且乙" / "A and B"
  require a and b else deny not_both "甲乙未同时成立" / "Not both A and B"
  {SRC}

rule either "丙或丁" / "C or D"
  require c or d else deny neither "丙丁都不成立" / "Neither C nor D"
  {SRC}

rule sum_positive "戊加己" / "P plus Q"
  when adding
  require p + q > 0 else deny sum_zero "戊己之和为零" / "P plus Q is zero"
  {SRC}

rule show_total "显示合计" / "Show the total"
  when shout
  warn total_shown "合计 {{total}}" / "Total {{total}}"
  {SRC}
'''

# every fact the rules and values read, with values that decide nothing: the tests take some away
BASE = {"gate": False, "adding": False, "a": True, "b": True, "c": True, "d": True, "orders": 0, "shout": False,
        "base": "¥100", "regions": ["south"], "south_ok": True}
LAZY = ("base", "regions", "south_ok")  # what only the values read


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lazy")
    (path / "t.policy").write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def book(folder: Path) -> policydsl.PolicySet:
    return policydsl.load(folder)


def without(*names: str, **changes: object) -> dict:
    return {**{k: v for k, v in BASE.items() if k not in names}, **changes}


def decide(book, facts: dict):
    """The decision on both paths (traced and fast), which must agree."""
    traced = book.evaluate("t.lazy", facts, at=AT, trace=True)
    fast = book.evaluate("t.lazy", facts, at=AT, trace=False)
    assert (fast.outcome, fast.reasons, fast.warnings, fast.values, fast.unresolved) == \
        (traced.outcome, traced.reasons, traced.warnings, traced.values, traced.unresolved)
    return traced


def missing(book, facts: dict) -> tuple[str, ...]:
    """The facts the error names, the same on both paths."""
    named = []
    for trace in (True, False):
        with pytest.raises(PolicyDslError) as info:
            book.evaluate("t.lazy", facts, at=AT, trace=trace)
        assert info.value.code == "missing_facts"
        named.append(info.value.facts)
    assert named[0] == named[1]
    return named[0]


def codes(decision) -> list[str]:
    return [r.code for r in decision.reasons]


# ------------------------------------------------------------------ a false `when` needs nothing behind it
def test_a_rule_whose_when_is_false_needs_no_fact_of_its_condition(book):
    decision = decide(book, without("level"))  # gate is false
    assert decision.outcome == "allow" and codes(decision) == []
    assert {e.rule: e.status for e in decision.trace}["gated"] == "out_of_scope"
    assert missing(book, without("level", gate=True)) == ("level",)
    assert codes(decide(book, without(gate=True, level=2))) == ["level_low"]


def test_a_case_whose_when_is_false_needs_nothing_of_its_value(book):
    decision = decide(book, BASE)  # no late order: the fine per order is not read
    assert decision.values["deduction"] == Decimal("0") and decision.values["total"] == Decimal("100")
    assert decision.unresolved == {}
    # one late order: the fine per order is read (lacking it leaves the values unresolved)
    assert decide(book, without(orders=1)).unresolved == {"deduction": ("fine",), "total": ("fine",)}
    other = decide(book, {**BASE, "orders": 2, "fine": "¥20"})
    assert other.values["deduction"] == Decimal("40") and other.values["total"] == Decimal("140")


# ------------------------------------------------------------------ Kleene and / or
@pytest.mark.parametrize(("facts", "outcome", "reasons"), [
    (without("a", b=False), "deny", ["not_both"]),   # missing and false = false
    (without("b", a=False), "deny", ["not_both"]),   # false and missing = false
    (without("c", d=True), "allow", []),             # missing or true = true
    (without("d", c=True), "allow", []),             # true or missing = true
])
def test_a_missing_operand_does_not_matter_when_the_other_decides(book, facts, outcome, reasons):
    decision = decide(book, facts)
    assert (decision.outcome, codes(decision)) == (outcome, reasons)


@pytest.mark.parametrize(("facts", "named"), [
    (without("a", b=True), ("a",)),        # missing and true: still missing
    (without("b", a=True), ("b",)),
    (without("c", d=False), ("c",)),       # missing or false: still missing
    (without("d", c=False), ("d",)),
    (without("a", "b"), ("a", "b")),       # both missing: both named, in order
    (without("c", "d"), ("c", "d")),
    (without("a", "b", "c", "d"), ("a", "b", "c", "d")),
])
def test_otherwise_the_missing_facts_are_named_all_in_one_run(book, facts, named):
    assert missing(book, facts) == named


def test_a_strict_operator_names_the_facts_both_operands_lack(book):
    assert missing(book, without(adding=True)) == ("p", "q")
    assert missing(book, without(adding=True, q=0)) == ("p",)


def test_any_is_true_when_a_known_item_is_true_whatever_the_others_lack(book):
    decision = decide(book, without(regions=["north", "south"]))
    assert decision.values["some_ok"] is True
    decision = decide(book, without(regions=["north", "south"], south_ok=False))
    assert "some_ok" not in decision.values and decision.unresolved["some_ok"] == ("north_ok",)


def test_the_missing_fact_error_carries_several_paths():
    from policydsl.runtime.program import MissingFact

    joined = MissingFact("a").joined(MissingFact("b", "a"))
    assert joined.paths == ("a", "b") and joined.path == "a"


# ------------------------------------------------------------------ lazy values
def test_a_value_no_rule_needs_may_lack_facts_and_is_left_unresolved(book):
    decision = decide(book, without(*LAZY))
    assert decision.outcome == "allow"
    assert decision.values == {"deduction": Decimal("0")}
    assert decision.unresolved == {"total": ("base",), "some_ok": ("regions",)}
    out = decision.to_dict()
    assert list(out) == ["policy", "at", "outcome", "values", "unresolved", "reasons", "warnings"]
    assert out["values"] == {"deduction": "0"} and out["unresolved"] == {"total": ["base"], "some_ok": ["regions"]}
    # the same record with the facts decides the values
    full = decide(book, BASE)
    assert full.values == {"deduction": Decimal("0"), "total": Decimal("100"), "some_ok": True}
    assert full.unresolved == {} and "unresolved" not in full.to_dict()


def test_a_value_a_shown_message_reads_is_needed(book):
    assert missing(book, without("base", shout=True)) == ("base",)
    assert decide(book, without("base")).unresolved == {"total": ("base",)}  # not shown: not needed
    decision = decide(book, {**BASE, "shout": True})
    assert [w.message["en"] for w in decision.warnings] == ["Total ¥100"]


def test_when_the_decision_fails_anyway_the_error_names_what_the_values_lacked_too(book):
    # the rules need a; the values lack base and regions: one run names them all, rules first
    assert missing(book, without("a", *LAZY, b=True)) == ("a", "base", "regions")


# ------------------------------------------------------------------ the CLI
def run_cli(*args: str, facts: object, folder: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "policydsl.cli", *args, "--facts", "-"]
    if folder is not None:
        command += ["--policies", str(folder)]
    return subprocess.run(command, input=json.dumps(facts, ensure_ascii=False), capture_output=True, text=True,
                          timeout=120)


def test_eval_shows_the_values_it_could_not_compute_in_both_languages(folder):
    zh = run_cli("eval", "t.lazy", "--at", "2024-03-01", "--lang", "zh", facts=without(*LAZY), folder=folder)
    assert zh.returncode == 0, zh.stderr
    assert zh.stdout == ("惰性事实 @ 2024-03-01: 允许\n"
                         "  扣罚 = ¥0\n"
                         "  未能计算 合计：缺少 基准金额（base）\n"
                         "  未能计算 有合格地区：缺少 地区（regions）\n")
    en = run_cli("eval", "t.lazy", "--at", "2024-03-01", "--lang", "en", facts=without(*LAZY), folder=folder)
    assert en.returncode == 0, en.stderr
    assert en.stdout == ("Lazy facts @ 2024-03-01: allow\n"
                         "  Deduction = ¥0\n"
                         "  Not computed: Total, needs Base amount (base)\n"
                         "  Not computed: Some region OK, needs Regions (regions)\n")
    full = run_cli("eval", "t.lazy", "--at", "2024-03-01", "--lang", "en", folder=folder,
                   facts=without(*LAZY, base="¥100", regions=["north"], north_ok=False))
    assert full.stdout == ("Lazy facts @ 2024-03-01: allow\n"
                           "  Deduction = ¥0\n  Total = ¥100\n  Some region OK = no\n")


def test_eval_json_and_explain_show_them_too(folder):
    result = run_cli("eval", "t.lazy", "--at", "2024-03-01", "--json", facts=without("c", *LAZY, d=True),
                     folder=folder)
    assert result.returncode == 0 and result.stderr == ""
    assert json.loads(result.stdout)["unresolved"] == {"total": ["base"], "some_ok": ["regions"]}
    explained = run_cli("eval", "t.lazy", "--at", "2024-03-01", "--explain", "--lang", "en", facts=without(*LAZY),
                        folder=folder)
    assert explained.returncode == 0, explained.stderr
    assert ("  values not computed:\n"
            "      total (Total): needs Base amount (base)\n"
            "      some_ok (Some region OK): needs Regions (regions)\n"
            "outcome: allow\n") in explained.stdout
    explained = run_cli("eval", "t.lazy", "--at", "2024-03-01", "--explain", "--lang", "zh", facts=without(*LAZY),
                        folder=folder)
    assert "  未能计算的取值：\n      total (合计)：缺少 基准金额（base）\n" in explained.stdout


def test_a_missing_fact_error_lists_both_operands(folder):
    result = run_cli("eval", "t.lazy", "--at", "2024-03-01", "--json", facts=without("a", "b", *LAZY),
                     folder=folder)
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["facts"] == ["a", "b", "base", "regions"]


def test_a_complete_decision_json_is_unchanged(repo_root):
    facts = {"account": {"kind": "personal", "fans": 999, "real_name": True}, "product": {"special_category": False}}
    result = run_cli("eval", "cart.opening", "--at", "2023-12-20", "--json", facts=facts, folder=POLICIES)
    assert list(json.loads(result.stdout)) == ["policy", "at", "outcome", "values", "reasons", "warnings"]


# ------------------------------------------------------------------ Gherkin
FEATURE_ZH = '''# language: zh-CN
功能: 惰性取值
  场景: 未能计算的取值
    假如 闸门 为 否
    而且 求和 为 否
    而且 甲 为 是
    而且 乙 为 是
    而且 丙 为 是
    而且 丁 为 是
    而且 延迟单数 为 0
    而且 提示合计 为 否
    当 在 2024-03-01 评估 "t.lazy"
    那么 结果为 "允许"
    而且 合计 为 ¥100
'''
FEATURE_EN = '''Feature: Lazy values
  Scenario: A value that could not be computed
    Given the facts:
      | fact           | value |
      | Gate           | no    |
      | Adding         | no    |
      | A              | yes   |
      | B              | yes   |
      | C              | yes   |
      | D              | yes   |
      | Late orders    | 0     |
      | Show the total | no    |
    When I evaluate "t.lazy" on 2024-03-01
    Then the outcome is "allow"
    And Total is ¥100
'''


@pytest.mark.parametrize(("name", "text", "lang", "message"), [
    ("lazy.zh.feature", FEATURE_ZH, "zh", "`合计` 未能计算：缺少 基准金额（base）；给出这些事实才能检查它"),
    ("lazy.en.feature", FEATURE_EN, "en", "`Total` was not computed: it needs Base amount (base); give these facts to check it"),
])
def test_the_value_step_on_an_unresolved_value_fails_naming_the_missing_facts(folder, tmp_path, name, text, lang,
                                                                             message):
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "test", str(tmp_path / name), "--policies",
                             str(folder), "--lang", lang, "-q"], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout
    assert "KeyError" not in result.stdout + result.stderr
    # the failure report also lists what the decision could not compute
    assert ("未能计算 合计：缺少 基准金额（base）" if lang == "zh" else "Not computed: Total, needs Base amount (base)") \
        in result.stdout


# ------------------------------------------------------------------ the rule book's three cases
def book_eval(policy: str, at: str, facts: dict) -> tuple[int, dict]:
    result = run_cli("eval", policy, "--at", at, "--json", facts=facts, folder=POLICIES)
    assert result.stderr == ""
    return result.returncode, json.loads(result.stdout)


STAGE = {"shop": {"age_days": 120, "other_violation_record": False, "orders_settled": True, "warranty_letter": True},
         "deposit": {"base": "¥5000", "request": "refund_deposit"},
         "violation": {"false_advertising": False, "counterfeit": False}}


def test_deposit_stage_with_no_late_order_needs_no_fine_per_order():
    code, out = book_eval("deposit.stage", "2023-06-01", {**STAGE, "violation.late_orders": 0})
    assert code == 0 and out["outcome"] == "allow" and "unresolved" not in out
    assert out["values"]["deposit.late_shipment_deduction"] == "0" and out["values"]["deposit.total_deduction"] == "0"
    code, out = book_eval("deposit.stage", "2023-06-01", {**STAGE, "violation.late_orders": 1})
    assert code == 2 and out["error"]["facts"] == ["deposit.late_fine_per_order"]
    code, out = book_eval("deposit.stage", "2023-06-01", {**STAGE, "violation.late_orders": 1,
                                                          "deposit.late_fine_per_order": "¥20"})
    assert code == 0 and out["values"]["deposit.late_shipment_deduction"] == "20"
    assert [w["code"] for w in out["warnings"]] == ["deduct_late_shipment"]


REFUND = {"shop": {"closure_approved": True, "closed": True, "closed_on": "2023-06-05", "penalty_record": False,
                   "arrears": False, "periodic_payments_settled": True},
          "request": {"materials_ready": True, "original_account_login": True}}


def test_deposit_refund_reopening_needs_no_onboarded_subject():
    code, out = book_eval("deposit.refund", "2023-12-05", {**REFUND, "request.kind": "reopen_shop"})
    assert code == 0 and out["outcome"] == "allow" and "unresolved" not in out
    assert out["values"] == {"refund.due_date": "2023-06-14", "reopen.earliest_date": "2023-12-05"}
    code, out = book_eval("deposit.refund", "2023-06-05", {**REFUND, "request.kind": "refund_after_closure"})
    assert code == 2 and out["error"]["facts"] == ["account.kind"]
    code, out = book_eval("deposit.refund", "2023-06-05", {**REFUND, "request.kind": "refund_after_closure",
                                                           "account.kind": "enterprise"})
    assert code == 0 and out["values"]["refund.destination"] == "licence_corporate_account"


ACCOUNT = {"product": {"own_store": False, "scene": "live"}}


def test_official_account_a_creator_needs_no_shop_facts():
    code, out = book_eval("official_account.own_store_only", "2024-01-15", {**ACCOUNT, "account.role": "creator"})
    assert code == 0 and out["outcome"] == "allow" and out["values"] == {"restriction.applies": False}
    for role in ("official", "authorised"):
        code, out = book_eval("official_account.own_store_only", "2024-01-15",
                              {**ACCOUNT, "account": {"role": role, "id": "dy0007"}, "shop.type": "flagship"})
        assert code == 2 and out["error"]["facts"] == ["shop.closed", "shop.cross_border"]
    code, out = book_eval("official_account.own_store_only", "2024-01-15",
                          {**ACCOUNT, "account": {"role": "official", "id": "dy0007"},
                           "shop": {"type": "flagship", "cross_border": True, "closed": False}})
    assert code == 0 and [r["code"] for r in out["reasons"]] == ["cross_border_exempt"]


def test_the_fast_constructor_keeps_unresolved_values_as_the_class_does():
    from policydsl.runtime.decision import Decision, make_decision

    kw = dict(policy="p", at=AT, outcome="allow", values={}, value_kinds={}, reasons=(), warnings=(), trace=(),
              coverage=frozenset())
    made = make_decision(**kw, unresolved={"v": ("f",)})
    assert made == Decision(**kw, unresolved={"v": ("f",)}) and made.unresolved == {"v": ("f",)}
    assert made != make_decision(**kw) and make_decision(**kw).unresolved == {} == Decision(**kw).unresolved
    assert made.to_dict()["unresolved"] == {"v": ["f"]} and "unresolved" not in make_decision(**kw).to_dict()


def test_diff_on_a_sample_tells_a_value_not_computed_from_one_absent(tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(POLICIES, old)
    path = old / "deposit_stage.policy"
    text = path.read_text(encoding="utf-8")
    guard = "  = ¥0 when violation.late_orders == 0\n"
    assert text.count(guard) == 1
    path.write_text(text.replace(guard, ""), encoding="utf-8")  # the book before: the fine is always read
    # an insurance request: no rule reads the deductions, so the old book leaves them uncomputed
    facts = {**STAGE, "deposit": {**STAGE["deposit"], "request": "insurance_replacement"}, "violation.late_orders": 0}
    record = {"id": "r1", "policy": "deposit.stage", "at": "2023-06-01", "facts": facts}
    sample = tmp_path / "sample.jsonl"
    sample.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "diff", str(old), str(POLICIES), "--sample",
                             str(sample), "--no-prove", "--lang", "en", "--policy", "deposit.stage"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "        value deposit.late_shipment_deduction: not computed → \"0\"\n" in result.stdout
    assert "        value deposit.total_deduction: not computed → \"0\"\n" in result.stdout
