"""The rule book's properties, end to end through the real command line (issue 6).

1. `policydsl verify --policies policies --json` proves every property of the book, and every policy
   has at least one.
2. Deliberately false properties, appended to a copy of one policy, are refuted: the counterexample
   facts file written by `--out` is replayed with `policydsl eval … --json`, the replayed decision is
   exactly the one verify showed, and it contradicts the claim (checked against the facts with
   independent arithmetic: the working-day calendar, the rollout's SHA-256 bucket, the table cells).
3. A claim that reads a table cell the sources leave blank, or a value with no case, fails with the
   decision / claim error shown.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import chinese_calendar
import pytest

from conftest import POLICIES, ROOT

# Every policy of the rule book (policies/*.policy except the shared common.policy).
BOOK_POLICIES = {
    "alliance.eligibility", "cart.metrics", "cart.opening", "cart.opening_flow", "content.assessment",
    "deposit.refund", "deposit.stage", "enterprise.onboarding", "identity.verification", "listing.approval",
    "listing.documents", "official_account.own_store_only", "product.audit", "product.sharing", "settlement",
    "shipping", "shop.deposit", "shop.entry_legacy",
}


def run(*args: str, env_lang: str = "en", timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter, as tests/test_cli.py runs it; POLICYDSL_LANG pins the language."""
    env = {k: v for k, v in os.environ.items() if k not in ("POLICYDSL_LANG", "POLICYDSL_DEBUG")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONUTF8="1", POLICYDSL_LANG=env_lang)
    return subprocess.run([sys.executable, "-m", "policydsl.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=timeout)


def percent(value: str) -> Decimal:
    """A percentage fact as verify writes it ("2.5%") as an exact fraction."""
    assert value.endswith("%"), value
    return Decimal(value[:-1]) / 100


def money(value: str) -> Decimal:
    """A money fact as verify writes it ("¥500") or as eval prints it ("500")."""
    return Decimal(value.removeprefix("¥"))


# ====================================================================== the whole book


@pytest.fixture(scope="module")
def whole_book(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], dict]:
    """One proof of the whole book, read twice: its text report (stdout) and its JSON report (--report)."""
    report = tmp_path_factory.mktemp("verify") / "report.json"
    result = run("verify", "--policies", "policies", "--report", str(report))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return result, json.loads(report.read_text(encoding="utf-8"))


def test_whole_rule_book_verifies_every_property(whole_book):
    data = whole_book[1]
    by_policy = {entry["policy"]: entry["properties"] for entry in data["policies"]}
    assert set(by_policy) == BOOK_POLICIES
    assert {pid for pid, props in by_policy.items() if props} == BOOK_POLICIES  # at least one each
    declared = sum(line.startswith("property ") for f in POLICIES.glob("*.policy")
                   for line in f.read_text(encoding="utf-8").splitlines())
    every = [p for props in by_policy.values() for p in props] + data["book"]  # book properties: policies/book.policy
    assert [p["name"] for p in data["book"]] == ["low_fans_no_cart", "staged_deposit_within_standard"]
    assert len(every) == declared
    assert [p["name"] for p in every if p["status"] != "proved"] == []
    assert all(p["counterexample"] is None and p["reason"] is None for p in every)
    summary = data["summary"]
    assert (summary["proved"], summary["failed"], summary["unknown"], summary["total"]) == (declared, 0, 0, declared)
    assert summary.get("vacuous", 0) == 0  # no premise is unsatisfiable: every proof says something
    assert summary["seconds"] >= 0  # (how long: a benchmark question, not a test's)


def test_whole_rule_book_text_report_names_no_policy_without_properties(whole_book):
    result = whole_book[0]
    assert "policies with no property" not in result.stdout
    assert re.search(r"^18 policies, (\d+) properties: \1 proved, 0 failed, 0 undecided\b", result.stdout, re.M)


# ====================================================================== deliberately false properties


def refute(tmp_path: Path, file: str, policy: str, text: str) -> tuple[dict, dt.date, dict]:
    """Append the property `text` to a copy of `file`, verify it, and replay the counterexample.

    Returns the facts, the day and the decision `policydsl eval` printed for them."""
    book = tmp_path / "policies"
    shutil.copytree(POLICIES, book)
    path = book / file
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + text.strip("\n") + "\n", encoding="utf-8")
    name = re.match(r"property (\w+)", text.strip()).group(1)
    out = tmp_path / "counterexamples"
    result = run("verify", policy, "--policies", str(book), "--property", name, "--out", str(out), "--json")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    data = json.loads(result.stdout)
    assert [entry["policy"] for entry in data["policies"]] == [policy]
    [prop] = data["policies"][0]["properties"]
    assert (prop["name"], prop["status"]) == (name, "failed"), prop
    assert data["summary"] == {**data["summary"], "proved": 0, "failed": 1, "unknown": 0, "total": 1}
    cx = prop["counterexample"]
    facts_file = out / f"{policy}.{name}.json"
    assert cx["file"] == str(facts_file)
    assert json.loads(facts_file.read_text(encoding="utf-8")) == cx["facts"]
    assert cx["decision_error"] is None and cx["claim_error"] is None  # the claim is computable, and false
    replay = run("eval", policy, "--facts", str(facts_file), "--at", cx["at"], "--policies", str(book), "--json")
    assert replay.returncode == 0, replay.stderr
    decision = json.loads(replay.stdout)
    assert decision == cx["decision"]  # verify showed exactly what eval decides
    at = dt.date.fromisoformat(cx["at"])
    assert decision["at"] == cx["at"]
    return cx["facts"], at, decision


def codes(items: list[dict]) -> list[str]:
    return [item["code"] for item in items]


def test_false_threshold_follower_count_2000(tmp_path):
    """Threshold: the 2023 rule denies below 1,000 followers, not below 2,000."""
    facts, at, decision = refute(tmp_path, "cart_opening.policy", "cart.opening", """
property personal_below_2000_denied "粉丝不足 2000 的个人账号一律拒绝" / "Personal accounts under 2,000 followers are denied"
  effective from 2023-01-01
  when account.kind == personal and account.fans < 2000
  expect outcome == deny
""")
    account = facts["account"]
    assert at >= dt.date(2023, 1, 1)
    assert account["kind"] == "personal" and 1000 <= account["fans"] < 2000
    assert account["real_name"] is True  # the only other condition a personal account must meet in 2023
    assert decision["outcome"] == "allow"  # the claim said deny
    assert decision["reasons"] == [] and decision["warnings"] == []
    assert decision["values"] == {"cart.min_fans": 1000}


def test_false_table_personal_deposit_at_most_400(tmp_path):
    """Table cells and an aggregate: an open personal category costs ¥500, so "at most ¥400" is false."""
    facts, at, decision = refute(tmp_path, "shop_deposit.policy", "shop.deposit", """
property personal_at_most_400 "个人主体的保证金至多 400 元，否则暂不招商" / "A personal subject pays at most ¥400, or the category is not open"
  when account.kind == personal and shop.categories != {}
  expect outcome == deny or shop.deposit <= ¥400
""")
    assert facts["account"]["kind"] == "personal"
    open_to_personal = {"apparel_underwear", "sports_outdoor", "shoes_boots", "kitchenware"}  # the ¥500 cells
    assert facts["shop"]["categories"] and set(facts["shop"]["categories"]) <= open_to_personal
    assert decision["outcome"] == "allow"  # the claim needed deny or a deposit <= ¥400
    assert decision["values"] == {"shop.deposit": "500"}
    assert money(decision["values"]["shop.deposit"]) > Decimal(400)
    assert decision["reasons"] == [] and decision["warnings"] == []


def seventh_working_day_after(day: dt.date) -> dt.date:
    """Independently of policydsl: the 7th mainland-China working day after `day` (adjusted workdays count)."""
    count = 0
    while count < 7:
        day += dt.timedelta(days=1)
        count += chinese_calendar.is_workday(day)
    return day


def test_false_working_days_refund_within_7_calendar_days(tmp_path):
    """Dates and working days: 7 working days after closing is never within 7 calendar days."""
    facts, at, decision = refute(tmp_path, "deposit_refund.policy", "deposit.refund", """
property refund_within_7_calendar_days "关店后 7 个自然日内退回保证金" / "The deposit comes back within 7 calendar days of closing"
  when fires(refund_due)
  expect refund.due_date <= shop.closed_on + 7 days
""")
    shop = facts["shop"]
    assert facts["request"]["kind"] == "refund_after_closure" and shop["closed"] is True
    closed_on = dt.date.fromisoformat(shop["closed_on"])
    due = dt.date.fromisoformat(decision["values"]["refund.due_date"])
    assert due == seventh_working_day_after(closed_on)
    assert due > closed_on + dt.timedelta(days=7)  # what the claim denied
    if decision["outcome"] == "allow":  # every refund condition met: the allow reason shows the date
        assert codes(decision["reasons"]) == ["refund_due"]
        assert decision["reasons"][0]["message"]["en"].startswith(
            f"The approval conditions are met: the platform refunds the deposit within 7 working days of closing (by {due.isoformat()})")


def test_false_rollout_no_authorised_account_restricted_in_the_pilot(tmp_path):
    """A rollout: during the pilot some authorised accounts are already covered."""
    facts, at, decision = refute(tmp_path, "official_account.policy", "official_account.own_store_only", """
property pilot_restricts_no_authorised "内测期间授权号都不受限制" / "No authorised account is restricted during the pilot"
  effective from 2023-11-11 until 2023-12-10
  when account.role == authorised
  expect not restriction.applies
""")
    assert dt.date(2023, 11, 11) <= at <= dt.date(2023, 12, 10)
    assert facts["account"]["role"] == "authorised"
    assert decision["values"]["restriction.applies"] is True  # the claim said it does not apply
    # Independently: the SHA-256 bucket of the id lies below the pilot's linear ramp 0% → 100% that day
    # (2023-11-11 to 2023-12-20, 39 days).
    digest = hashlib.sha256(f"own_store_rollout\x00{facts['account']['id']}".encode("utf-8")).digest()
    bucket = Fraction(int.from_bytes(digest[:8], "big"), 1 << 64)
    share = Fraction((at - dt.date(2023, 11, 11)).days, 39)
    assert bucket < share


def test_false_exception_ignored_own_store_restriction(tmp_path):
    """An exception: a cross-border merchant or a closed shop overrides the own-store restriction.

    (This used to refute "tiered shipping below 50% is always denied" through the existing-products exception; the
    shipping policy now reads A7 as binding existing products to the 50% floor too, so that claim holds.)"""
    facts, at, decision = refute(tmp_path, "official_account.policy", "official_account.own_store_only", """
property every_bound_account_denied "自 2023-12-31 起，官方账号与授权号添加非本店商品一律拒绝" / "From 2023-12-31 an official or authorised account adding another shop's product is always denied"
  effective from 2023-12-31
  when account.role != creator and not product.own_store
  expect outcome == deny
""")
    assert at >= dt.date(2023, 12, 31)
    assert facts["account"]["role"] in ("official", "authorised") and facts["product"]["own_store"] is False
    assert facts["shop"]["cross_border"] is True or facts["shop"]["closed"] is True
    assert decision["outcome"] == "allow"  # the claim said deny
    assert [r["rule"] for r in decision["reasons"]][0] in ("cross_border_exempt", "closed_shop_unbound")


def test_false_warning_low_conversion_denied(tmp_path):
    """A warning: a click conversion under 3% must be optimised, but the decision stays allow."""
    facts, at, decision = refute(tmp_path, "cart_metrics.policy", "cart.metrics", """
property low_conversion_denied "点击转化率低于 3% 即拒绝" / "A click conversion under 3% is denied"
  when cart.click_conversion_rate >= 0% and cart.click_conversion_rate < 3% and cart.return_rate >= 0%
  expect outcome == deny
""")
    cart = {k: percent(v) for k, v in facts["cart"].items()}
    assert Decimal(0) <= cart["click_conversion_rate"] < Decimal("0.03")
    assert decision["outcome"] == "allow" and decision["reasons"] == []  # the claim said deny
    expected = ["conversion_needs_optimisation"]
    if cart["orders_share_above_500"] > Decimal("0.3"):
        expected.append("high_price_share_alert")
    if cart["return_rate"] > Decimal("0.3"):
        expected.append("return_rate_quality_control")
    assert codes(decision["warnings"]) == expected
    assert decision["values"]["metrics.conversion_grade"] == "alert"


def test_false_warning_false_advertising_never_refunded(tmp_path):
    """A warning never changes the outcome by itself: false advertising deducts half the deposit, and the other
    half is still refunded past the novice period (after counterfeits, deducted in full, nothing is: a property of
    the book, counterfeit_leaves_nothing_to_refund)."""
    facts, at, decision = refute(tmp_path, "deposit_stage.policy", "deposit.stage", """
property false_advertising_never_refunded "虚假宣传的店铺一律不退还保证金" / "A shop that advertised falsely never gets its deposit back"
  when deposit.request == refund_deposit and violation.false_advertising
  expect outcome == deny
""")
    shop = facts["shop"]
    assert facts["deposit"]["request"] == "refund_deposit" and facts["violation"]["false_advertising"] is True
    assert facts["violation"]["counterfeit"] is False
    # Only the novice period asks for a clean record; the mature period asks for settled orders and the
    # brand period for a warranty letter (assumption refund_conditions_per_stage).
    # age_days counts the opening day as 0: the mature period is 90–179 (days 91–180), the brand period 180 on.
    assert shop["age_days"] >= 90
    stage = "mature_period" if shop["age_days"] < 180 else "brand_period"
    assert shop["orders_settled" if stage == "mature_period" else "warranty_letter"] is True
    assert decision["outcome"] == "allow" and decision["reasons"] == []  # the claim said deny
    assert "deduct_false_advertising" in codes(decision["warnings"])
    values = decision["values"]
    assert values["deposit.stage"] == stage and values["deposit.ratio"] == "100%"
    base = money(facts["deposit"]["base"])
    assert money(values["deposit.required"]) == base
    assert money(values["deposit.refundable"]) == base - money(values["deposit.total_deduction"]) > 0
    assert [c["kind"] for c in decision["consequences"]] == ["deduction"] * len(decision["warnings"])


# ====================================================================== claims that cannot be computed


def test_claim_on_a_not_stated_cell_fails_with_the_decision_error(tmp_path):
    book = tmp_path / "policies"
    shutil.copytree(POLICIES, book)
    path = book / "shop_deposit.policy"
    path.write_text(path.read_text(encoding="utf-8") + """
property enterprise_deposit_known "企业的保证金总能算出" / "An enterprise's deposit can always be computed"
  when account.kind == enterprise and shop.categories != {} and all(c in {apparel_underwear, kitchenware} for c in shop.categories)
  expect shop.deposit >= ¥0
""", encoding="utf-8")
    out = tmp_path / "out"
    result = run("verify", "shop.deposit", "--policies", str(book), "--out", str(out), "--json")
    assert result.returncode == 1, result.stdout
    props = {p["name"]: p for p in json.loads(result.stdout)["policies"][0]["properties"]}
    bad = props.pop("enterprise_deposit_known")
    assert {p["status"] for p in props.values()} == {"proved"}  # the book's own properties still hold
    assert bad["status"] == "failed"
    cx = bad["counterexample"]
    assert cx["facts"]["account"]["kind"] == "enterprise" and "kitchenware" in cx["facts"]["shop"]["categories"]
    assert cx["decision"] is None and cx["claim_error"] is None
    assert cx["decision_error"] == {
        "zh": "来源文件没有给出表 `shop_deposit_standard` 中 enterprise, kitchenware 的取值",
        "en": "the sources state no value for enterprise, kitchenware in table `shop_deposit_standard`",
    }
    text = run("verify", "shop.deposit", "--policies", str(book), "--property", "enterprise_deposit_known")
    assert text.returncode == 1
    assert "✗ FAILED  enterprise_deposit_known: An enterprise's deposit can always be computed" in text.stdout
    assert ("      the decision fails: the sources state no value for enterprise, kitchenware in table "
            "`shop_deposit_standard`") in text.stdout
    # The replay fails the same way: a user error naming the cell, exit 2.
    replay = run("eval", "shop.deposit", "--facts", str(out / "shop.deposit.enterprise_deposit_known.json"),
                 "--at", cx["at"], "--policies", str(book), "--json")
    assert replay.returncode == 2 and replay.stderr == ""  # under --json the error is data on stdout
    error = json.loads(replay.stdout)["error"]
    assert error["code"] == "not_stated"
    assert error["message"]["en"] == "the sources state no value for enterprise, kitchenware in table `shop_deposit_standard`"


def test_claim_on_a_value_with_no_case_fails_with_the_claim_error(tmp_path):
    book = tmp_path / "policies"
    shutil.copytree(POLICIES, book)
    path = book / "product_sharing.policy"
    path.write_text(path.read_text(encoding="utf-8") + """
property income_channel_known "佣金收入总有查看位置" / "The commission income can always be seen somewhere"
  expect sharing.income_channel == showcase_commission or sharing.income_channel == taobao_union
""", encoding="utf-8")
    out = tmp_path / "out"
    result = run("verify", "product.sharing", "--policies", str(book), "--property", "income_channel_known",
                 "--out", str(out), "--json")
    assert result.returncode == 1, result.stdout
    [prop] = json.loads(result.stdout)["policies"][0]["properties"]
    assert prop["status"] == "failed"
    cx = prop["counterexample"]
    assert cx["facts"]["product"]["source"] not in ("selected_alliance", "taobao_tmall")
    assert cx["decision_error"] is None
    assert cx["claim_error"]["en"] == f"`sharing.income_channel` has no applicable value on {cx['at']}"
    # The decision itself succeeds and simply has no such value.
    replay = run("eval", "product.sharing", "--facts", str(out / "product.sharing.income_channel_known.json"),
                 "--at", cx["at"], "--policies", str(book), "--json")
    assert replay.returncode == 0, replay.stderr
    decision = json.loads(replay.stdout)
    assert decision == cx["decision"]
    assert "sharing.income_channel" not in decision["values"]
    text = run("verify", "product.sharing", "--policies", str(book), "--property", "income_channel_known")
    assert f"      the claim cannot be computed: `sharing.income_channel` has no applicable value on {cx['at']}" in text.stdout


def test_every_property_of_the_book_says_something(tmp_path: Path) -> None:
    """Each proof is about decisions that happen: negating the claim of every property gives a
    counterexample (found by the solver, confirmed by the evaluator) — a claim no decision could
    contradict, or a proof resting on an encoding that misses behaviours, would not be refuted."""
    import policydsl
    from policydsl.runtime.properties import check_property

    book = tmp_path / "negated"
    shutil.copytree(POLICIES, book)
    negated = 0
    for path in sorted(book.glob("*.policy")):
        text = path.read_text(encoding="utf-8")
        new, count = re.subn(r"^(  expect )(.*)$", r"\1not (\2)", text, flags=re.M)
        path.write_text(new, encoding="utf-8")
        negated += count
    result = run("verify", "--policies", str(book), "--json")
    data = json.loads(result.stdout)
    statuses = {(p["policy"], prop["name"]): prop["status"] for p in data["policies"] for prop in p["properties"]}
    statuses.update({("book", prop["name"]): prop["status"] for prop in data["book"]})  # policies/book.policy
    assert result.returncode == 1 and len(statuses) == negated >= 18
    assert set(statuses.values()) == {"failed"}, {k: v for k, v in statuses.items() if v != "failed"}
    loaded = policydsl.load(book)
    for p in data["policies"]:
        compiled = loaded.compiled[p["policy"]]
        for prop in p["properties"]:
            cprop = next(c for c in compiled.properties if c.name == prop["name"])
            example = prop["counterexample"]
            verdict = check_property(compiled, cprop, example["facts"], dt.date.fromisoformat(example["at"]))
            assert not verdict.holds and not verdict.vacuous, (p["policy"], prop["name"])
