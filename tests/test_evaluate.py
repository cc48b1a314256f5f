"""Evaluation end to end: small policies written to disk, loaded with policydsl.load, decided exactly."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl
from policydsl.errors import PolicyDslError
from policydsl.runtime.values import NOT_OPEN

from conftest import POLICIES

D = dt.date
SRC = 'source "doc.txt" quote "原文"'
ENUMS = '''
enum region "地区" / "Region"
  value north "华北" / "North"
  value south "华南" / "South"
  value east "华东" / "East"

enum tier "等级" / "Tier"
  value gold "金牌" / "Gold"
  value silver "银牌" / "Silver"
'''
HEADER = '''
policy t.demo
  title "测试政策" / "Test policy"
'''


def book(folder: Path, body: str, *, header: str = HEADER) -> policydsl.PolicySet:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "t.policy").write_text(ENUMS + header + body, encoding="utf-8")
    return policydsl.load(folder)


def statuses(decision) -> dict[str, tuple[str, str | None]]:
    return {e.rule: (e.status, e.detail) for e in decision.trace}


# ------------------------------------------------------------------ require / else
REQUIRE = f'''
input fans: count "粉丝数" / "Followers"
input verified: bool "已实名" / "Verified"

rule fans_min "粉丝门槛" / "Follower threshold"
  require fans >= 1000 else deny fans_low "粉丝数 {{fans}}，不足 1000" / "{{fans}} followers, fewer than 1,000"
  {SRC}

rule verify "实名提醒" / "Verification reminder"
  require verified else warn not_verified "尚未实名" / "Not verified yet"
  {SRC}
'''


def test_require_else_deny_gives_the_exact_decision_json(tmp_path):
    decision = book(tmp_path, REQUIRE).evaluate("t.demo", {"fans": 999, "verified": True}, trace=True, at=D(2024, 3, 1))
    assert decision.outcome == "deny"
    assert decision.to_dict() == {
        "policy": "t.demo", "at": "2024-03-01", "outcome": "deny", "values": {},
        "reasons": [{"rule": "fans_min", "code": "fans_low",
                     "message": {"zh": "粉丝数 999，不足 1000", "en": "999 followers, fewer than 1,000"},
                     "source": {"document": "doc.txt", "quote": "原文"}}],
        "warnings": [],
    }
    assert statuses(decision) == {"fans_min": ("fired", None), "verify": ("satisfied", None)}
    assert decision.trace[0].reads == {"fans": 999}
    assert decision.reasons[0].outcome == "deny"


def test_require_satisfied_allows_with_no_reasons(tmp_path):
    decision = book(tmp_path, REQUIRE).evaluate("t.demo", {"fans": 1000, "verified": True}, trace=True, at=D(2024, 3, 1))
    assert decision.to_dict() == {"policy": "t.demo", "at": "2024-03-01", "outcome": "allow", "values": {},
                                  "reasons": [], "warnings": []}


def test_require_else_warn_goes_to_warnings_and_still_allows(tmp_path):
    decision = book(tmp_path, REQUIRE).evaluate("t.demo", {"fans": 5000, "verified": False}, trace=True, at=D(2024, 3, 1))
    assert decision.outcome == "allow"
    assert decision.reasons == ()
    assert [w.to_dict() for w in decision.warnings] == [{
        "rule": "verify", "code": "not_verified", "message": {"zh": "尚未实名", "en": "Not verified yet"},
        "source": {"document": "doc.txt", "quote": "原文"}}]
    assert decision.warnings[0].outcome == "warn"


def test_deny_and_warn_together(tmp_path):
    decision = book(tmp_path, REQUIRE).evaluate("t.demo", {"fans": 0, "verified": False}, trace=True, at=D(2024, 3, 1))
    assert decision.outcome == "deny"
    assert [r.code for r in decision.reasons] == ["fans_low"]
    assert [w.code for w in decision.warnings] == ["not_verified"]


# ------------------------------------------------------------------ fire bodies and `when`
FIRE = f'''
input kind: tier "等级" / "Tier"
input blocked: bool "已封禁" / "Blocked"

rule ban "封禁" / "Ban"
  when blocked
  deny banned "账号已封禁" / "The account is blocked"
  {SRC}

rule gold_pass "金牌放行" / "Gold passes"
  when kind == gold
  allow gold_ok "金牌商家" / "Gold merchant"
  {SRC}

rule silver_note "银牌提醒" / "Silver reminder"
  when kind == silver
  warn silver_heads_up "银牌商家请注意" / "Silver merchants take note"
  {SRC}
'''


@pytest.mark.parametrize("facts, outcome, reasons, warnings, trace", [
    ({"kind": "gold", "blocked": False}, "allow", ["gold_ok"], [],
     {"ban": "out_of_scope", "gold_pass": "fired", "silver_note": "out_of_scope"}),
    ({"kind": "silver", "blocked": False}, "allow", [], ["silver_heads_up"],
     {"ban": "out_of_scope", "gold_pass": "out_of_scope", "silver_note": "fired"}),
    ({"kind": "gold", "blocked": True}, "deny", ["banned"], [],          # a deny drops the allow reasons
     {"ban": "fired", "gold_pass": "fired", "silver_note": "out_of_scope"}),
    ({"kind": "银牌", "blocked": True}, "deny", ["banned"], ["silver_heads_up"],
     {"ban": "fired", "gold_pass": "out_of_scope", "silver_note": "fired"}),
])
def test_fire_bodies_and_when_scoping(tmp_path, facts, outcome, reasons, warnings, trace):
    decision = book(tmp_path, FIRE).evaluate("t.demo", facts, trace=True, at=D(2024, 3, 1))
    assert decision.outcome == outcome
    assert [r.code for r in decision.reasons] == reasons
    assert [w.code for w in decision.warnings] == warnings
    assert {rule: status for rule, (status, _) in statuses(decision).items()} == trace


def test_an_allow_reason_has_its_outcome_and_message(tmp_path):
    decision = book(tmp_path, FIRE).evaluate("t.demo", {"kind": "Gold", "blocked": False}, trace=True, at=D(2024, 3, 1))
    (reason,) = decision.reasons
    assert (reason.rule, reason.code, reason.outcome) == ("gold_pass", "gold_ok", "allow")
    assert dict(reason.message) == {"zh": "金牌商家", "en": "Gold merchant"}


def test_out_of_scope_rules_need_no_facts_beyond_their_when(tmp_path):
    body = f'''
input blocked: bool "已封禁" / "Blocked"
input reason_text: text "原因" / "Reason"

rule ban "封禁" / "Ban"
  when blocked and reason_text != ""
  deny banned "封禁：{{reason_text}}" / "Blocked: {{reason_text}}"
  {SRC}
'''
    rule_book = book(tmp_path, body)
    assert rule_book.evaluate("t.demo", {"blocked": False}, trace=True, at=D(2024, 3, 1)).outcome == "allow"
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("t.demo", {"blocked": True}, trace=True, at=D(2024, 3, 1))
    assert info.value.key == "E.missing_facts"
    assert info.value.facts == ("reason_text",)
    decision = rule_book.evaluate("t.demo", {"blocked": True, "reason_text": "刷单"}, trace=True, at=D(2024, 3, 1))
    assert dict(decision.reasons[0].message) == {"zh": "封禁：刷单", "en": "Blocked: 刷单"}


# ------------------------------------------------------------------ effective dating and supersedes
DATED_HEADER = '''
policy t.demo
  title "测试政策" / "Test policy"
  effective from 2020-01-01 until 2025-12-31
'''
DATED = f'''
input fans: count "粉丝数" / "Followers"

rule old_min "旧门槛" / "Old threshold"
  effective from 2020-01-01 until 2022-12-31
  require fans >= 500 else deny low_old "旧规：不足 500" / "Old rule: fewer than 500"
  {SRC}

rule new_min "新门槛" / "New threshold"
  effective from 2023-01-01
  supersedes old_min
  require fans >= 1000 else deny low_new "新规：不足 1000" / "New rule: fewer than 1,000"
  {SRC}
'''


@pytest.mark.parametrize("fans, at, outcome, reasons, trace", [
    (700, D(2020, 1, 1), "allow", [], {"old_min": "satisfied", "new_min": "not_in_force"}),
    (400, D(2021, 6, 1), "deny", ["low_old"], {"old_min": "fired", "new_min": "not_in_force"}),
    (700, D(2022, 12, 31), "allow", [], {"old_min": "satisfied", "new_min": "not_in_force"}),
    (700, D(2023, 1, 1), "deny", ["low_new"], {"old_min": "not_in_force", "new_min": "fired"}),
    (1000, D(2025, 12, 31), "allow", [], {"old_min": "not_in_force", "new_min": "satisfied"}),
])
def test_rules_are_effective_dated(tmp_path, fans, at, outcome, reasons, trace):
    decision = book(tmp_path, DATED, header=DATED_HEADER).evaluate("t.demo", {"fans": fans}, trace=True, at=at)
    assert decision.outcome == outcome
    assert [r.code for r in decision.reasons] == reasons
    assert {rule: status for rule, (status, _) in statuses(decision).items()} == trace


def test_supersedes_is_recorded_on_the_model(tmp_path):
    rule_book = book(tmp_path, DATED, header=DATED_HEADER)
    assert rule_book.policies["t.demo"].rule("new_min").decl.supersedes.value == "old_min"


@pytest.mark.parametrize("at", [D(2019, 12, 31), D(2026, 1, 1)])
def test_a_policy_outside_its_period_is_not_in_force(tmp_path, at):
    with pytest.raises(PolicyDslError) as info:
        book(tmp_path, DATED, header=DATED_HEADER).evaluate("t.demo", {"fans": 1}, trace=True, at=at)
    error = info.value
    assert error.key == "E.not_in_force"
    assert error.message("en") == (f"policy `t.demo` is not in force on {at.isoformat()} "
                                   "(in force 2020-01-01 – 2025-12-31)")
    assert error.message("zh") == f"政策 `t.demo` 在 {at.isoformat()} 不生效（生效期 2020-01-01 – 2025-12-31）"


def test_not_in_force_before_an_open_ended_policy_starts():
    rule_book = policydsl.load(POLICIES)
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("cart.opening", {}, trace=True, at=D(2020, 4, 6))
    assert info.value.key == "E.not_in_force"
    assert info.value.message("en") == ("policy `cart.opening` is not in force on 2020-04-06 "
                                        "(in force 2020-04-07 – …)")


# ------------------------------------------------------------------ define cases
CASES = '''
input vip: bool "贵宾" / "VIP"
input n: count "数量" / "Quantity"
input base_fee: money "基础费用" / "Base fee"

define fee: money "费用" / "Fee"
  = ¥0 when vip
  = ¥80 when n > 100
  = ¥50 from 2024-01-01 until 2024-06-30
  = base_fee until 2023-12-31
  = base_fee from 2024-07-01

define promo: percent "促销折扣" / "Promotion"
  = 10% from 2024-01-01 until 2024-01-31
'''


@pytest.mark.parametrize("vip, n, at, fee", [
    (True, 500, D(2024, 3, 1), Decimal("0")),       # first match wins over `n > 100`
    (False, 500, D(2024, 3, 1), Decimal("80")),     # `when` cases come before the dated ones
    (False, 5, D(2024, 3, 1), Decimal("50")),
    (False, 5, D(2024, 1, 1), Decimal("50")),       # from is inclusive
    (False, 5, D(2024, 6, 30), Decimal("50")),      # until is inclusive
    (False, 5, D(2023, 12, 31), Decimal("12.5")),
    (False, 5, D(2024, 7, 1), Decimal("12.5")),
])
def test_define_cases_first_match_wins(tmp_path, vip, n, at, fee):
    facts = {"vip": vip, "n": n, "base_fee": "12.5"}
    decision = book(tmp_path, CASES).evaluate("t.demo", facts, trace=True, at=at)
    assert decision.values["fee"] == fee


def test_a_define_with_no_case_on_the_date_is_left_out_of_the_values(tmp_path):
    rule_book = book(tmp_path, CASES)
    facts = {"vip": False, "n": 5, "base_fee": "12.5"}
    january = rule_book.evaluate("t.demo", facts, trace=True, at=D(2024, 1, 31))
    assert january.to_dict()["values"] == {"fee": "50", "promo": "10%"}
    february = rule_book.evaluate("t.demo", facts, trace=True, at=D(2024, 2, 1))
    assert february.to_dict()["values"] == {"fee": "50"}
    assert "promo" not in february.values


def test_using_a_define_with_no_case_on_the_date_is_an_error(tmp_path):
    body = CASES + f'''
rule promo_cap "折扣上限" / "Promotion cap"
  require promo <= 20% else deny promo_high "折扣过高" / "Promotion too high"
  {SRC}
'''
    rule_book = book(tmp_path, body)
    facts = {"vip": False, "n": 5, "base_fee": "12.5"}
    assert rule_book.evaluate("t.demo", facts, trace=True, at=D(2024, 1, 15)).outcome == "allow"
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("t.demo", facts, trace=True, at=D(2024, 2, 1))
    assert info.value.key == "E.no_case"
    assert info.value.message("en") == "`promo` has no applicable value on 2024-02-01"


def test_a_case_only_reads_the_facts_it_reaches(tmp_path):
    # vip decides the first case, so n and base_fee are not needed
    decision = book(tmp_path, CASES).evaluate("t.demo", {"vip": True}, trace=True, at=D(2024, 3, 1))
    assert decision.values["fee"] == Decimal("0")
    # no rule needs fee: lacking base_fee leaves it unresolved rather than failing the decision
    other = book(tmp_path, CASES).evaluate("t.demo", {"vip": False, "n": 1}, trace=True, at=D(2023, 3, 1))
    assert "fee" not in other.values and other.unresolved == {"fee": ("base_fee",)}


def test_a_value_may_read_a_value_declared_after_it(tmp_path):
    # the generated code computes `total` first (its reader comes first in the file), in both paths
    body = f'''
input n: count "数量" / "Quantity"

define gap: count "差距" / "Gap"
  = 100 - total

define total: count "总数" / "Total"
  = n + 1

rule enough "数量足够" / "Enough"
  require gap <= 0 else deny short "还差 {{gap}}（共 {{total}}）" / "{{gap}} short (total {{total}})"
  {SRC}
'''
    rule_book = book(tmp_path, body)
    for trace in (False, True):
        decision = rule_book.evaluate("t.demo", {"n": 89}, trace=trace, at=D(2024, 3, 1))
        assert decision.values == {"gap": 10, "total": 90}
        messages = [dict(r.message) for r in decision.reasons]
        assert messages == [{"zh": "还差 10（共 90）", "en": "10 short (total 90)"}]
    assert rule_book.evaluate("t.demo", {"n": 99}, at=D(2024, 3, 1)).outcome == "allow"


# ------------------------------------------------------------------ exceptions
EXCEPTIONS = f'''
input n: count "数量" / "Quantity"
input kind: tier "等级" / "Tier"
input vip: bool "贵宾" / "VIP"

rule limit "数量上限" / "Quantity limit"
  require n <= 10 else deny too_many "数量 {{n}} 超过 10" / "Quantity {{n}} exceeds 10"
  {SRC}

rule silver_exc "银牌例外" / "Silver exception"
  exception to limit priority 1
  when kind == silver
  allow silver_ok "银牌不限数量" / "Silver has no limit"
  {SRC}

rule vip_exc "贵宾例外" / "VIP exception"
  exception to limit priority 9
  when vip
  allow vip_ok "贵宾不限数量" / "VIPs have no limit"
  {SRC}
'''


@pytest.mark.parametrize("facts, outcome, reasons, limit_status", [
    ({"n": 57, "kind": "gold", "vip": False}, "deny", ["too_many"], ("fired", None)),
    ({"n": 57, "kind": "silver", "vip": False}, "allow", ["silver_ok"], ("overridden", "silver_exc")),
    # Only the exception that wins speaks: silver_exc holds too, but vip_exc outranks it.
    ({"n": 57, "kind": "silver", "vip": True}, "allow", ["vip_ok"], ("overridden", "vip_exc")),
    ({"n": 57, "kind": "gold", "vip": True}, "allow", ["vip_ok"], ("overridden", "vip_exc")),
    ({"n": 5, "kind": "gold", "vip": False}, "allow", [], ("satisfied", None)),
])
def test_exceptions_override_their_base_rule_by_priority(tmp_path, facts, outcome, reasons, limit_status):
    decision = book(tmp_path, EXCEPTIONS).evaluate("t.demo", facts, trace=True, at=D(2024, 3, 1))
    assert decision.outcome == outcome
    assert [r.code for r in decision.reasons] == reasons
    assert statuses(decision)["limit"] == limit_status


def test_exception_order_on_the_model_is_highest_priority_first(tmp_path):
    rule_book = book(tmp_path, EXCEPTIONS)
    assert rule_book.policies["t.demo"].rule("limit").exceptions == ("vip_exc", "silver_exc")
    assert rule_book.compiled["t.demo"].rules[0].exceptions == ("vip_exc", "silver_exc")


def test_an_exception_out_of_force_does_not_override(tmp_path):
    body = EXCEPTIONS.replace("  exception to limit priority 9\n",
                              "  effective from 2025-01-01\n  exception to limit priority 9\n")
    rule_book = book(tmp_path, body)
    facts = {"n": 57, "kind": "gold", "vip": True}
    before = rule_book.evaluate("t.demo", facts, trace=True, at=D(2024, 12, 31))
    assert before.outcome == "deny"
    assert statuses(before)["limit"] == ("fired", None)
    assert statuses(before)["vip_exc"] == ("not_in_force", None)
    after = rule_book.evaluate("t.demo", facts, trace=True, at=D(2025, 1, 1))
    assert statuses(after)["limit"] == ("overridden", "vip_exc")


# ------------------------------------------------------------------ tables
TABLES = '''
input x: count "数量" / "Quantity"
input amount: money "金额" / "Amount"
input kind: tier "等级" / "Tier"

table rate_by_amount(a: money) -> percent "费率" / "Rate"
  row [0, 1000): 5%
  row [1000, 10000]: 3%
  row (10000, inf): 1%

table first_band(x: count) -> count "首档" / "First band" hit first
  row [0, 10]: 1
  row [5, 100]: 2
  row [0, inf): 3

table prio_band(x: count) -> count "优先档" / "Priority band" hit priority
  row [0, 100]: 1 priority 1
  row [50, 60]: 2 priority 5
  row [55, 200]: 3 priority 3
  row (200, inf): 4

table surcharge(x: count) -> money "附加费" / "Surcharge" hit collect sum
  row [0, 10]: ¥1
  row [5, 20]: ¥2.5
  row [8, inf): ¥10

table top_rate(x: count) -> percent "最高费率" / "Top rate" hit collect max
  row [0, 10]: 5%
  row [5, inf): 12.5%

table tier_cap(k: tier) -> count "等级上限" / "Tier cap"
  row gold: 100
  row silver: 20

define rate: percent "费率" / "Rate"
  = rate_by_amount(amount)
define first: count "首档" / "First band"
  = first_band(x)
define prio: count "优先档" / "Priority band"
  = prio_band(x)
define extra: money "附加费" / "Surcharge"
  = surcharge(x)
define top: percent "最高费率" / "Top rate"
  = top_rate(x)
define cap: count "上限" / "Cap"
  = tier_cap(kind)
'''


@pytest.mark.parametrize("amount, rate", [
    ("0", "5%"), ("999.99", "5%"), ("1000", "3%"), ("10000", "3%"), ("10000.01", "1%"), ("¥50000", "1%"),
])
def test_range_table_hit_unique_with_open_and_closed_bounds(tmp_path, amount, rate):
    decision = book(tmp_path, TABLES).evaluate("t.demo", {"x": 0, "amount": amount, "kind": "gold"}, trace=True,
                                                at=D(2024, 3, 1))
    assert decision.to_dict()["values"]["rate"] == rate


@pytest.mark.parametrize("x, first, prio, extra, top", [
    (0, 1, 1, "1", "5%"),
    (5, 1, 1, "3.50", "12.5%"),
    (7, 1, 1, "3.50", "12.5%"),
    (9, 1, 1, "13.50", "12.5%"),
    (10, 1, 1, "13.50", "12.5%"),
    (11, 2, 1, "12.50", "12.5%"),
    (57, 2, 2, "10", "12.5%"),   # priority 5 beats 3 and 1
    (61, 2, 3, "10", "12.5%"),   # priority 3 beats 1
    (150, 3, 3, "10", "12.5%"),
    (201, 3, 4, "10", "12.5%"),  # a row without priority is priority 0
])
def test_range_table_hit_policies(tmp_path, x, first, prio, extra, top):
    decision = book(tmp_path, TABLES).evaluate("t.demo", {"x": x, "amount": "1", "kind": "gold"}, trace=True,
                                                at=D(2024, 3, 1))
    values = decision.to_dict()["values"]
    assert (values["first"], values["prio"], values["extra"], values["top"]) == (first, prio, extra, top)


def test_collect_sum_is_exact_decimal(tmp_path):
    decision = book(tmp_path, TABLES).evaluate("t.demo", {"x": 9, "amount": "1", "kind": "gold"}, trace=True, at=D(2024, 3, 1))
    assert decision.values["extra"] == Decimal("13.5")
    assert decision.values["top"] == Decimal("0.125")


NEGATED = f'''
input amount: money "金额" / "Amount"
input n: count "件数" / "Count"

define refund: money "退款" / "Refund"
  = -amount

define back: count "退回件数" / "Returned"
  = -n

rule any_refund "有退款" / "Some refund"
  require refund < ¥0 else deny no_refund "没有退款" / "No refund"
  {SRC}
'''


@pytest.mark.parametrize("trace", [True, False])
def test_a_negated_number_keeps_every_digit(tmp_path, trace):
    # a fact may carry 34 significant digits; Decimal's own unary minus rounded it to the context's 28
    amount = "1234567890123456789012345678.901234"
    decision = book(tmp_path, NEGATED).evaluate("t.demo", {"amount": amount, "n": 10 ** 40}, trace=trace, at=D(2024, 3, 1))
    assert decision.values["refund"] == Decimal("-" + amount)
    assert str(decision.values["refund"]) == "-" + amount
    assert decision.values["back"] == -10 ** 40 and type(decision.values["back"]) is int


@pytest.mark.parametrize("kind, cap", [("gold", 100), ("silver", 20), ("银牌", 20)])
def test_enum_table(tmp_path, kind, cap):
    decision = book(tmp_path, TABLES).evaluate("t.demo", {"x": 0, "amount": "1", "kind": kind}, trace=True, at=D(2024, 3, 1))
    assert decision.values["cap"] == cap


def test_a_value_no_row_covers_is_an_error(tmp_path):
    body = '''
input x: count "数量" / "Quantity"

table bonus(x: count) -> money "奖励" / "Bonus" hit collect sum
  row [100, inf): ¥5

define b: money "奖励" / "Bonus"
  = bonus(x)
'''
    rule_book = book(tmp_path, body)
    assert rule_book.evaluate("t.demo", {"x": 100}, trace=True, at=D(2024, 3, 1)).values == {"b": Decimal("5")}
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("t.demo", {"x": 99}, trace=True, at=D(2024, 3, 1))
    assert info.value.key == "E.no_row"
    assert info.value.message("en") == "no row of table `bonus` matches 99"
    assert info.value.message("zh") == "表 `bonus` 没有行匹配 99"


def test_an_enum_collect_table_with_a_missing_row_is_an_error_not_a_crash(tmp_path):
    body = '''
input kind: tier "等级" / "Tier"

table tier_bonus(k: tier) -> count "奖励" / "Bonus" hit collect sum
  row gold: 10

define b: count "奖励" / "Bonus"
  = tier_bonus(kind)
'''
    rule_book = book(tmp_path, body)
    assert rule_book.evaluate("t.demo", {"kind": "gold"}, trace=True, at=D(2024, 3, 1)).values == {"b": 10}
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("t.demo", {"kind": "silver"}, trace=True, at=D(2024, 3, 1))
    assert info.value.key == "E.no_row"
    assert info.value.message("en") == "no row of table `tier_bonus` matches silver"


# ------------------------------------------------------------------ matrix tables, not_open and aggregates
MATRIX = '''
input r: region "地区" / "Region"
input kind: tier "等级" / "Tier"
input regions: set of region "经营地区" / "Regions"

table entry(r: region, t: tier) -> money "入驻费" / "Entry fee"
  columns gold, silver
  row north: ¥100, ¥50
  row south: not_open, ¥70
  row east: ¥300, ¥20.5

define entry_fee: money "入驻费" / "Entry fee"
  = entry(r, kind)
define highest: money "最高入驻费" / "Highest entry fee"
  = max(entry(c, kind) for c in regions)
define lowest: money "最低入驻费" / "Lowest entry fee"
  = min(entry(c, kind) for c in regions)
define total: money "入驻费合计" / "Total entry fee"
  = sum(entry(c, kind) for c in regions)
'''


def test_matrix_table_cells(tmp_path):
    rule_book = book(tmp_path, MATRIX)
    decision = rule_book.evaluate("t.demo", {"r": "east", "kind": "silver", "regions": ["north", "south", "east"]}, trace=True,
                                  at=D(2024, 3, 1))
    assert decision.to_dict()["values"] == {"entry_fee": "20.50", "highest": "70", "lowest": "20.50",
                                            "total": "140.50"}


def test_a_not_open_cell_is_a_value_and_json_not_open(tmp_path):
    decision = book(tmp_path, MATRIX).evaluate("t.demo", {"r": "south", "kind": "gold", "regions": ["north"]}, trace=True,
                                               at=D(2024, 3, 1))
    assert decision.values["entry_fee"] is NOT_OPEN
    assert decision.to_dict()["values"] == {"entry_fee": "not_open", "highest": "100", "lowest": "100",
                                            "total": "100"}


@pytest.mark.parametrize("regions, highest, lowest, total", [
    (["north", "east"], "300", "100", "400"),
    (["north", "south"], "not_open", "not_open", "not_open"),   # one not-open cell makes the aggregate not open
    (["south"], "not_open", "not_open", "not_open"),
])
def test_aggregates_propagate_not_open(tmp_path, regions, highest, lowest, total):
    decision = book(tmp_path, MATRIX).evaluate("t.demo", {"r": "north", "kind": "gold", "regions": regions}, trace=True,
                                               at=D(2024, 3, 1))
    assert decision.to_dict()["values"] == {"entry_fee": "100", "highest": highest, "lowest": lowest,
                                            "total": total}
    if highest == "not_open":
        assert decision.values["highest"] is NOT_OPEN


def test_sum_over_an_empty_set_is_zero_and_max_is_an_error(tmp_path):
    body = MATRIX.replace('''define highest: money "最高入驻费" / "Highest entry fee"
  = max(entry(c, kind) for c in regions)
define lowest: money "最低入驻费" / "Lowest entry fee"
  = min(entry(c, kind) for c in regions)
''', "")
    decision = book(tmp_path / "a", body).evaluate("t.demo", {"r": "north", "kind": "gold", "regions": []}, trace=True,
                                                    at=D(2024, 3, 1))
    assert decision.to_dict()["values"] == {"entry_fee": "100", "total": "0"}
    with pytest.raises(PolicyDslError) as info:
        book(tmp_path / "b", MATRIX).evaluate("t.demo", {"r": "north", "kind": "gold", "regions": []}, trace=True,
                                              at=D(2024, 3, 1))
    assert info.value.key == "E.empty_aggregate"
    assert info.value.message("en") == "`max` over an empty set"


NOT_OPEN_RULES = MATRIX + '''
table open_flag(r: region) -> bool "已开放" / "Open"
  row north: true
  row south: not_open
  row east: false

table opened_on(r: region) -> date "开放日" / "Opening date"
  row north: 2024-01-01
  row south: not_open
  row east: 2024-02-01

table band(a: money) -> count "档位" / "Band"
  row [0, 60]: 1
  row (60, inf): 2
'''
FEE_CAP = f'''
rule fee_cap "入驻费上限" / "Entry fee cap"
  when kind == gold
  require entry_fee <= ¥200 else deny fee_high "入驻费 {{entry_fee}} 过高" / "Entry fee {{entry_fee}} too high"
  {SRC}
'''


def test_computing_with_a_not_open_define_is_a_clear_error(tmp_path):
    rule_book = book(tmp_path, NOT_OPEN_RULES + FEE_CAP)
    decision = rule_book.evaluate("t.demo", {"r": "east", "kind": "gold", "regions": ["east"]}, trace=True, at=D(2024, 3, 1))
    assert [dict(r.message) for r in decision.reasons] == [{"zh": "入驻费 ¥300 过高", "en": "Entry fee ¥300 too high"}]
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("t.demo", {"r": "south", "kind": "gold", "regions": ["east"]}, trace=True, at=D(2024, 3, 1))
    assert info.value.key == "E.not_open_arith"
    assert info.value.message("en") == "`entry_fee` is “not open” and cannot be computed with"
    assert info.value.message("zh") == "`entry_fee` 的取值为“暂不开放”，不能参与计算"


@pytest.mark.parametrize("extra, culprit", [
    ('define d1: count "档" / "Band"\n  = band(entry(r, kind))\n', "entry(r, kind)"),
    ('define d1: money "加价" / "Plus"\n  = entry_fee + ¥1\n', "entry_fee"),
    ('define d1: money "负" / "Negated"\n  = -entry_fee\n', "entry_fee"),
    ('define d1: date "到期" / "Due"\n  = opened_on(r) + 7 days\n', "opened_on(r)"),
    ('define d1: count "天数" / "Days"\n  = days_between(opened_on(r), today)\n', "opened_on(r)"),
    ('define d1: count "天数" / "Days"\n  = today - opened_on(r)\n', "opened_on(r)"),
    ('define d1: date "结算" / "Settle"\n  = next_half_month(opened_on(r))\n', "opened_on(r)"),
    ('define d1: bool "开放" / "Open"\n  = open_flag(r) and true\n', "open_flag(r)"),
    ('define d1: bool "未开放" / "Closed"\n  = not open_flag(r)\n', "open_flag(r)"),
    ('define d1: count "档" / "Band"\n  = 1 when open_flag(r)\n  = 2\n', "open_flag(r)"),
    ('define d1: bool "任一" / "Any"\n  = any(open_flag(c) for c in regions)\n', "open_flag(c)"),
    (f'rule r1 "规" / "Rule"\n  when open_flag(r)\n  deny c1 "拒" / "No"\n  {SRC}\n', "open_flag(r)"),
])
def test_every_computation_with_not_open_is_a_policy_error_not_a_crash(tmp_path, extra, culprit):
    rule_book = book(tmp_path, NOT_OPEN_RULES + extra)
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("t.demo", {"r": "south", "kind": "gold", "regions": ["south"]}, trace=True, at=D(2024, 3, 1))
    assert info.value.key == "E.not_open_arith"
    assert info.value.args_map == {"name": culprit}


def test_equality_with_a_not_open_value_is_false_not_an_error(tmp_path):
    rule_book = book(tmp_path, MATRIX + 'define is_100: bool "是100" / "Is 100"\n  = entry_fee == ¥100\n')
    decision = rule_book.evaluate("t.demo", {"r": "south", "kind": "gold", "regions": ["north"]}, trace=True, at=D(2024, 3, 1))
    assert decision.values["is_100"] is False


# ------------------------------------------------------------------ dates in expressions
DATES = f'''
input opened: date "开通日" / "Opened"

define due: date "截止日" / "Due"
  = today + 7 working days
define renew: date "续期日" / "Renewal"
  = opened + 6 months
define age: count "已开通天数" / "Days open"
  = days_between(opened, today)
define elapsed: count "经过天数" / "Days elapsed"
  = today - opened
define settle: date "结算日" / "Settlement"
  = next_half_month(opened)
define back: date "回溯日" / "Look-back"
  = opened - 3 working days
define last_day: date "月末" / "Month end"
  = month_end(opened)
define trial_end: date "试用结束" / "Trial end"
  = opened + 30 days

rule deadline "七个工作日内处理" / "Handle within seven working days"
  require today <= opened + 7 working days else deny overdue "已逾期，开通于 {{opened}}" / "Overdue; opened on {{opened}}"
  {SRC}
'''


def test_date_arithmetic_in_expressions(tmp_path):
    decision = book(tmp_path, DATES).evaluate("t.demo", {"opened": "2023-08-31"}, trace=True, at=D(2023, 9, 28))
    assert decision.to_dict()["values"] == {
        "due": "2023-10-13",        # 7 working days across the 2023 Golden Week
        "renew": "2024-02-29",      # month-end safe into a leap February
        "age": 28,
        "elapsed": 28,
        "settle": "2023-09-01",
        "back": "2023-08-28",
        "last_day": "2023-08-31",
        "trial_end": "2023-09-30",
    }
    assert decision.values["due"] == D(2023, 10, 13)


@pytest.mark.parametrize("at, outcome", [
    (D(2024, 2, 18), "allow"),
    (D(2024, 2, 23), "allow"),   # 9, 18, 19, 20, 21, 22, 23 February: the 7th working day
    (D(2024, 2, 24), "deny"),
])
def test_working_day_deadline_across_spring_festival(tmp_path, at, outcome):
    decision = book(tmp_path, DATES).evaluate("t.demo", {"opened": "2024-02-08"}, trace=True, at=at)
    assert decision.outcome == outcome
    if outcome == "deny":
        assert [dict(r.message) for r in decision.reasons] == [
            {"zh": "已逾期，开通于 2024-02-08", "en": "Overdue; opened on 2024-02-08"}]


def test_working_days_outside_the_calendar_through_a_policy(tmp_path):
    with pytest.raises(PolicyDslError) as info:
        book(tmp_path, DATES).evaluate("t.demo", {"opened": "2040-01-01"}, trace=True, at=D(2040, 1, 2))
    assert info.value.key == "E.calendar_range"


# ------------------------------------------------------------------ rollouts
ROLLOUT = f'''
input uid: text "用户" / "User"

rollout ramp "灰度" / "Rollout"
  key uid
  phase p1 "第一阶段" / "Phase one" from 2024-01-01 until 2024-01-11 ramp 0% to 100%

define in_ramp: bool "已纳入灰度" / "In the rollout"
  = covered(ramp)

rule gated "灰度限制" / "Gated"
  when covered(ramp)
  deny gated_off "{{uid}} 已纳入灰度" / "{{uid}} is in the rollout"
  {SRC}
'''


@pytest.mark.parametrize("uid, at, covered", [
    ("u1", D(2023, 12, 31), False),   # before the phase
    ("u1", D(2024, 1, 1), False),     # share 0
    ("u1", D(2024, 1, 4), False),     # share 3/10 < bucket ≈ 0.3276
    ("u1", D(2024, 1, 5), True),      # share 4/10 > bucket
    ("u3", D(2024, 1, 9), False),     # share 8/10 < bucket ≈ 0.8567
    ("u3", D(2024, 1, 10), True),
    ("u3", D(2024, 1, 11), True),     # share 1 covers everybody
    ("u3", D(2025, 1, 1), True),
])
def test_covered_rollout_in_rules_and_values(tmp_path, uid, at, covered):
    decision = book(tmp_path, ROLLOUT).evaluate("t.demo", {"uid": uid}, trace=True, at=at)
    assert decision.values["in_ramp"] is covered
    assert decision.outcome == ("deny" if covered else "allow")
    assert decision.trace[0].reads == {"uid": uid}
    if covered:
        assert dict(decision.reasons[0].message) == {"zh": f"{uid} 已纳入灰度", "en": f"{uid} is in the rollout"}


# ------------------------------------------------------------------ placeholders
PLACEHOLDERS = f'''
input n: count "数量" / "Quantity"
input price: money "价格" / "Price"
input rate: percent "费率" / "Rate"
input kind: tier "等级" / "Tier"
input regions: set of region "地区" / "Regions"
input ok: bool "已确认" / "Confirmed"
input day: date "日期" / "Day"

define total: money "总价" / "Total"
  = price * n
define fee: money "手续费" / "Fee"
  = total * rate
define due: date "截止日" / "Due"
  = day + 1 working day

rule show "展示" / "Show"
  warn shown "{{n}}件 总价{{total}} 费率{{rate}} 手续费{{fee}} {{kind}} {{regions}} {{ok}} 截止{{due}}" / "{{n}} items total {{total}} rate {{rate}} fee {{fee}} {{kind}} {{regions}} {{ok}} due {{due}}"
  {SRC}
'''


def test_placeholders_are_rendered_per_language(tmp_path):
    facts = {"n": 1500, "price": "20", "rate": "0.6%", "kind": "silver", "regions": ["south", "north"], "ok": True,
             "day": "2023-09-28"}
    decision = book(tmp_path, PLACEHOLDERS).evaluate("t.demo", facts, trace=True, at=D(2023, 9, 1))
    assert decision.values["total"] == Decimal("30000")
    assert decision.values["fee"] == Decimal("180")
    assert [dict(w.message) for w in decision.warnings] == [{
        "zh": "1500件 总价¥30000 费率0.6% 手续费¥180 银牌 华北、华南 是 截止2023-10-07",
        "en": "1,500 items total ¥30,000 rate 0.6% fee ¥180 Silver North, South yes due 2023-10-07",
    }]
    assert decision.to_dict()["values"] == {"total": "30000", "fee": "180", "due": "2023-10-07"}


def test_money_with_cents_in_placeholders(tmp_path):
    facts = {"n": 3, "price": "1234.5", "rate": "1%", "kind": "gold", "regions": [], "ok": False,
             "day": "2024-02-08"}
    decision = book(tmp_path, PLACEHOLDERS).evaluate("t.demo", facts, trace=True, at=D(2024, 1, 1))
    assert [dict(w.message) for w in decision.warnings] == [{
        "zh": "3件 总价¥3703.50 费率1% 手续费¥37.035 金牌 无 否 截止2024-02-09",  # an empty set reads 无 / none
        "en": "3 items total ¥3,703.50 rate 1% fee ¥37.035 Gold none no due 2024-02-09",
    }]


# ------------------------------------------------------------------ numbers from count literals
def test_number_and_money_values_from_integers_render_in_json(tmp_path):
    body = '''
input n: count "数量" / "Quantity"

define ratio: number "比值" / "Ratio"
  = 5
define half: number "一半" / "Half"
  = n / 2
define copy: number "副本" / "Copy"
  = n
'''
    decision = book(tmp_path, body).evaluate("t.demo", {"n": 3}, trace=True, at=D(2024, 3, 1))
    assert decision.to_dict()["values"] == {"ratio": "5", "half": "1.5", "copy": "3"}


# ------------------------------------------------------------------ message placeholders on missing facts
def test_a_define_placeholder_built_on_a_missing_fact_names_the_fact(tmp_path):
    body = f'''
input n: count "数量" / "Quantity"
input limit_src: money "额度" / "Limit"

define lim: money "限额" / "Limit value"
  = limit_src

rule big "过多" / "Too many"
  require n <= 10 else deny too_many "数量 {{n}}，限额 {{lim}}" / "quantity {{n}}, limit {{lim}}"
  {SRC}
'''
    with pytest.raises(PolicyDslError) as info:
        book(tmp_path, body).evaluate("t.demo", {"n": 57}, trace=True, at=D(2024, 3, 1))
    assert info.value.key == "E.missing_facts"
    assert info.value.facts == ("limit_src",)


# ------------------------------------------------------------------ finding policies
def test_find_by_id_and_titles(tmp_path):
    rule_book = book(tmp_path, REQUIRE)
    for name in ("t.demo", "测试政策", "Test policy"):
        assert rule_book.find(name).id == "t.demo"
        decision = rule_book.evaluate(name, {"fans": 1000, "verified": True}, trace=True, at=D(2024, 3, 1))
        assert decision.policy == "t.demo"


def test_an_unknown_policy_gets_a_did_you_mean(tmp_path):
    rule_book = book(tmp_path, REQUIRE)
    with pytest.raises(PolicyDslError) as info:
        rule_book.find("t.dem")
    assert info.value.key == "E.unknown_policy"
    assert info.value.message("en") == "unknown policy `t.dem` (did you mean `t.demo`?)"
    assert info.value.message("zh") == "未知政策 `t.dem`（是不是 `t.demo`？）"


def test_real_rule_book_find_by_titles():
    rule_book = policydsl.load(POLICIES)
    assert rule_book.find("抖音购物车开通资格").id == "cart.opening"
    assert rule_book.find("Douyin shopping cart opening").id == "cart.opening"
    assert rule_book.find("官方账号与授权号仅可带本店商品").id == "official_account.own_store_only"
    assert rule_book.find("Official and authorised accounts carry only own-store products").id == \
        "official_account.own_store_only"


# ------------------------------------------------------------------ the real rule book
@pytest.fixture(scope="module")
def real():
    return policydsl.load(POLICIES)


def account(**kw):
    base = {"kind": "personal", "fans": 5000, "public_videos": 20, "phone_bound": True, "real_name": True,
            "business_licence": False, "industry_licence": False, "corporate_verified": False,
            "legal_person_face_verified": False}
    return {**base, **kw}


FORUM = "001_a14ff54ea7c4ae32.txt"
ARTICLE = "000_48d28f6fa54ab537.txt"
NOTICE = "004_78c86d6d1d54721e.txt"


def test_cart_2020_rules(real):
    facts = {"account": account(fans=999, public_videos=3, phone_bound=False), "product": {"special_category": True}}
    decision = real.evaluate("cart.opening", facts, trace=True, at=D(2021, 1, 1))
    assert decision.to_dict() == {
        "policy": "cart.opening", "at": "2021-01-01", "outcome": "deny", "values": {"cart.min_fans": 1000},
        "reasons": [
            {"rule": "fans_2020", "code": "fans_below_threshold",
             "message": {"zh": "粉丝数 999 人，未达到 1000 人的门槛", "en": "999 followers, below the threshold of 1,000 followers"},
             "source": {"document": FORUM,
                        "quote": "1000粉丝且已发布10个以上公开原创视频的所有抖音用户,都可以提交申请"}},
            {"rule": "videos_2020", "code": "too_few_videos",
             "message": {"zh": "公开原创视频 3 个，需 10 个以上", "en": "Only 3 videos are public and original; at least 10 are needed"},
             "source": {"document": FORUM, "quote": "已发布10个以上公开原创视频"}},
            {"rule": "phone_2020", "code": "phone_not_bound",
             "message": {"zh": "至少需要绑定手机号", "en": "A phone number must be bound"},
             "source": {"document": FORUM, "quote": "至少需要绑定手机号,并完成实名认证"}},
        ],
        "warnings": [],
    }


def test_cart_2023_personal_account(real):
    facts = {"account": account(fans=999, public_videos=0, phone_bound=False), "product": {"special_category": True}}
    decision = real.evaluate("cart.opening", facts, trace=True, at=D(2023, 6, 1))
    assert [(r.rule, r.code, dict(r.message)) for r in decision.reasons] == [
        ("fans_2023", "fans_below_threshold",
         {"zh": "粉丝数 999 人，未达到 1000 人的门槛", "en": "999 followers, below the threshold of 1,000 followers"}),
        ("industry_licence_2023", "industry_licence_missing",
         {"zh": "特殊类目（如美妆、食品）需额外提交行业许可证",
          "en": "Special categories (e.g. beauty, food) need an industry licence"}),
    ]
    assert decision.reasons[0].source == {"document": ARTICLE, "quote": "个人账号 | ≥1000粉丝 | 强制 | 非必须 | 普通商品免提供 |"}
    # the 2020 video and phone conditions lapsed
    assert statuses(decision)["videos_2020"] == ("not_in_force", None)
    assert statuses(decision)["phone_2020"] == ("not_in_force", None)


def test_cart_2023_enterprise_account(real):
    facts = {"account": account(kind="企业号", fans=0, business_licence=True), "product": {"special_category": False}}
    decision = real.evaluate("cart.opening", facts, trace=True, at=D(2023, 6, 1))
    assert decision.outcome == "deny"
    assert [r.code for r in decision.reasons] == ["corporate_verification_missing"]
    assert statuses(decision)["fans_2023"] == ("out_of_scope", None)
    assert statuses(decision)["business_licence_2023"] == ("satisfied", None)
    verified = real.evaluate("cart.opening", {**facts, "account": {**facts["account"], "corporate_verified": True}}, trace=True,
                             at=D(2023, 6, 1))
    assert verified.to_dict()["outcome"] == "allow"
    assert verified.to_dict()["reasons"] == []


def test_cart_2023_individual_business_face_verification(real):
    facts = {"account": account(kind="Individual business", fans=1000, legal_person_face_verified=True),
             "product": {"special_category": True}}
    facts["account"]["industry_licence"] = True
    assert real.evaluate("cart.opening", facts, trace=True, at=D(2024, 5, 1)).outcome == "allow"
    facts["account"]["legal_person_face_verified"] = False
    decision = real.evaluate("cart.opening", facts, trace=True, at=D(2024, 5, 1))
    assert [(r.code, r.message["en"]) for r in decision.reasons] == [
        ("individual_verification_missing",
         "An individual business must pass corporate verification or legal-person face verification")]


def test_cart_missing_facts_are_named(real):
    with pytest.raises(PolicyDslError) as info:
        real.evaluate("cart.opening", {"account": {"kind": "personal"}}, trace=True, at=D(2023, 6, 1))
    assert info.value.key == "E.missing_facts"
    assert info.value.facts == ("account.fans", "account.real_name", "product.special_category")


def own_store_facts(**kw):
    facts = {"shop": {"type": "flagship", "cross_border": False, "closed": False},
             "account": {"role": "official", "id": "dy0007"}, "product": {"own_store": False, "scene": "live"}}
    for key, value in kw.items():
        group, _, name = key.partition("__")
        if name:
            facts[group][name] = value
        else:
            facts[group] = value
    return facts


def test_official_account_of_a_flagship_is_restricted_from_the_start(real):
    decision = real.evaluate("official_account.own_store_only", own_store_facts(), trace=True, at=D(2023, 11, 5))
    assert decision.to_dict() == {
        "policy": "official_account.own_store_only", "at": "2023-11-05", "outcome": "deny",
        "values": {"restriction.applies": True},
        "reasons": [{"rule": "live_room_own_store", "code": "alliance_limit_reached",
                     "message": {"zh": "累计添加联盟商品数已达上限,请添加您店铺的商品喔~",
                                 "en": "The number of alliance products added has reached the limit; "
                                       "please add products from your own shop."},
                     "source": {"document": NOTICE,
                                "quote": "提示「累计添加联盟商品数已达上限,请添加您店铺的商品喔~」"}}],
        "warnings": [],
    }


def test_showcase_scene_gets_its_own_message(real):
    decision = real.evaluate("official_account.own_store_only", own_store_facts(product__scene="橱窗"), trace=True, at=D(2023, 11, 5))
    assert [(r.rule, r.code) for r in decision.reasons] == [("showcase_video_own_store", "shop_type_unsupported")]


def test_own_store_products_are_always_allowed(real):
    decision = real.evaluate("official_account.own_store_only", own_store_facts(product__own_store=True), trace=True,
                             at=D(2023, 11, 5))
    assert decision.outcome == "allow"
    assert decision.reasons == ()


def test_cross_border_and_closed_shop_exceptions(real):
    cross = real.evaluate("official_account.own_store_only", own_store_facts(shop__cross_border=True), trace=True,
                          at=D(2023, 11, 5))
    assert cross.outcome == "allow"
    assert [r.code for r in cross.reasons] == ["cross_border_exempt"]
    assert statuses(cross)["live_room_own_store"] == ("overridden", "cross_border_exempt")
    both = real.evaluate("official_account.own_store_only",
                         own_store_facts(shop__cross_border=True, shop__closed=True), trace=True, at=D(2023, 11, 5))
    assert [r.code for r in both.reasons] == ["shop_closed_unbound"]
    assert statuses(both)["live_room_own_store"] == ("overridden", "closed_shop_unbound")
    assert statuses(both)["cross_border_exempt"] == ("not_needed", None)


def test_creators_are_never_restricted(real):
    decision = real.evaluate("official_account.own_store_only", own_store_facts(account={"role": "creator"}), trace=True,
                             at=D(2024, 6, 1))
    assert decision.to_dict()["values"] == {"restriction.applies": False}
    assert decision.outcome == "allow"


@pytest.mark.parametrize("at, outcome", [
    # dy0007's bucket is ≈ 99.5%: covered only once the ramp reaches 100% on 2023-12-20, the last day of mid-December
    (D(2023, 11, 20), "allow"), (D(2023, 12, 19), "allow"), (D(2023, 12, 20), "deny"), (D(2023, 12, 31), "deny"),
    (D(2024, 6, 1), "deny"),
])
def test_an_authorised_account_follows_the_rollout(real, at, outcome):
    facts = own_store_facts(shop__type="individual_store", account={"role": "authorised", "id": "dy0007"})
    assert real.evaluate("official_account.own_store_only", facts, trace=True, at=at).outcome == outcome


def test_own_store_policy_before_it_is_in_force(real):
    with pytest.raises(PolicyDslError) as info:
        real.evaluate("official_account.own_store_only", own_store_facts(), trace=True, at=D(2023, 10, 31))
    assert info.value.key == "E.not_in_force"


def test_explain_trace_of_an_overridden_rule(real):
    from policydsl.runtime.explain import explain

    decision = real.evaluate("official_account.own_store_only", own_store_facts(shop__cross_border=True), trace=True,
                             at=D(2023, 11, 5))
    text = explain(decision, real.compiled[decision.policy], "en").splitlines()
    assert text[0] == ("policy official_account.own_store_only — Official and authorised accounts carry only "
                       "own-store products  @ 2023-11-05")
    assert text[1] == ("  ↷ live_room_own_store (Live room: own-store products only): "
                       "overridden by exception `cross_border_exempt`")
    assert "  ✓ cross_border_exempt (Cross-border merchants are exempt): fired → allow `cross_border_exempt`" in text
    assert "      read shop.cross_border (Cross-border merchant) = yes" in text
    assert text[-1] == "outcome: allow"
    zh = explain(decision, real.compiled[decision.policy], "zh").splitlines()
    assert zh[1] == "  ↷ live_room_own_store (直播间仅可添加本店商品): 被例外 `cross_border_exempt` 覆盖"
    assert zh[-1] == "结果：允许"
