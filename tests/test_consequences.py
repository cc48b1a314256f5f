"""Consequences (issue 12, part 1): a rule's typed consequences (demotion, restriction, suspension, ban,
deduction; a period or an end date; an amount; zh/en text) round-trip through the checker, the formatter,
`eval --json`, the text output, properties and `verify`, Gherkin steps, the handbook and the lexers."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl
from policydsl.formatter import format_text
from policydsl.loader import analyse_sources
from policydsl.pygments_lexer import PolicyLexer
from policydsl.source import SourceFile

from conftest import POLICIES, ROOT

POLICY = '''policy demo.c
  title "演示" / "Demo"

input a.n: count "违规次数" / "Violations"
input a.m: money "保证金" / "Deposit"

rule r "违规" / "Violations"
  require a.n < 3
    else deny bad "违规 {a.n} 次" / "{a.n} violations"
  consequence demotion for 7 days "降权7天" / "Demoted for 7 days"
  consequence deduction amount a.m "扣除 {a.m}" / "{a.m} deducted"
  consequence ban permanent "永久封禁" / "Banned for good"
  consequence restriction until 2024-01-01 "限制至年底" / "Restricted to the year's end"
  source "d.txt" quote "违规"

property many_violations_ban "三次以上违规即封禁" / "Three violations or more ban"
  when a.n >= 3
  expect outcome == deny and consequence(ban) and consequence(deduction)

property few_violations_no_ban "违规少于三次不封禁" / "Fewer than three violations never ban"
  when a.n < 3
  expect not consequence(ban)
'''


@pytest.fixture
def book(tmp_path: Path) -> Path:
    (tmp_path / "c.policy").write_text(POLICY, encoding="utf-8")
    return tmp_path


def cli(*args: str, facts: object = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policydsl.cli", *args], cwd=cwd, capture_output=True, text=True,
                          input=None if facts is None else json.dumps(facts, ensure_ascii=False), timeout=180)


def test_the_checker_knows_kinds_periods_and_amounts() -> None:
    def codes(text: str) -> list[tuple[str, int, str]]:
        return [(d.code, d.line, d.message["en"]) for d in analyse_sources([SourceFile(path="c.policy", text=text)]).diagnostics]

    assert codes(POLICY) == []
    assert codes(POLICY.replace("consequence demotion for 7 days", "consequence demote for 7 days")) == [
        ("P0216", 10, "unknown consequence kind `demote`")]
    assert codes(POLICY.replace("for 7 days", "for a.n")) == [
        ("P0308", 10, "a consequence's `for` takes duration, found count")]
    assert codes(POLICY.replace("until 2024-01-01", "until a.m")) == [
        ("P0308", 13, "a consequence's `until` takes date, found money")]
    assert codes(POLICY.replace("consequence deduction amount a.m", "consequence deduction")) == [
        ("P0309", 11, "a deduction needs an `amount`")]
    assert codes(POLICY.replace('"扣除 {a.m}" / "{a.m} deducted"', '"扣除 {a.x}" / "{a.x} deducted"'))[0][0] == "P0403"
    assert codes(POLICY.replace("a.n < 3\n  expect not consequence(ban)", "a.n < 3\n  expect not consequence(bann)")) \
        == [("P0216", 22, "unknown consequence kind `bann`")]


def test_fmt_keeps_consequences_canonical() -> None:
    messy = POLICY.replace("  consequence demotion for 7 days", "consequence   demotion   for 7   days") \
                  .replace("  consequence ban permanent", "    consequence ban  permanent")
    assert format_text(messy, "c.policy") == POLICY
    assert format_text(POLICY, "c.policy") == POLICY


def test_eval_json_lists_the_consequences_beside_the_reasons(book: Path) -> None:
    result = cli("eval", "demo.c", "--facts", "-", "--policies", str(book), "--at", "2023-12-28", "--json",
                 facts={"a": {"n": 3, "m": "¥500"}})
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert [r["code"] for r in decision["reasons"]] == ["bad"]
    assert decision["consequences"] == [
        {"rule": "r", "code": "bad", "kind": "demotion", "until": "2024-01-04", "permanent": False, "amount": None,
         "message": {"zh": "降权7天", "en": "Demoted for 7 days"}},
        {"rule": "r", "code": "bad", "kind": "deduction", "until": None, "permanent": False, "amount": "500",
         "message": {"zh": "扣除 ¥500", "en": "¥500 deducted"}},
        {"rule": "r", "code": "bad", "kind": "ban", "until": None, "permanent": True, "amount": None,
         "message": {"zh": "永久封禁", "en": "Banned for good"}},
        {"rule": "r", "code": "bad", "kind": "restriction", "until": "2024-01-01", "permanent": False, "amount": None,
         "message": {"zh": "限制至年底", "en": "Restricted to the year's end"}}]
    allowed = json.loads(cli("eval", "demo.c", "--facts", "-", "--policies", str(book), "--at", "2023-12-28",
                             "--json", facts={"a": {"n": 1}}).stdout)
    assert "consequences" not in allowed  # a decision without consequences keeps its JSON unchanged
    text = cli("eval", "demo.c", "--facts", "-", "--policies", str(book), "--at", "2023-12-28", "--lang", "zh",
               facts={"a": {"n": 3, "m": "¥500"}})
    assert text.stdout.splitlines() == [
        "演示 @ 2023-12-28: 拒绝", "  - [bad] 违规 3 次",
        "  后果 [bad] 降权，至 2024-01-04：降权7天", "  后果 [bad] 扣除，金额 ¥500：扣除 ¥500",
        "  后果 [bad] 封禁，永久：永久封禁", "  后果 [bad] 限制，至 2024-01-01：限制至年底"]


def test_a_fired_rule_needs_the_facts_its_consequences_read(book: Path) -> None:
    result = cli("eval", "demo.c", "--facts", "-", "--policies", str(book), "--at", "2023-12-28", "--json",
                 facts={"a": {"n": 3}})
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["facts"] == ["a.m"]
    # the fast path (trace=False) gives the same consequences as the traced one
    loaded = policydsl.load(book)
    facts = {"a": {"n": 5, "m": "¥20.50"}}
    fast = loaded.evaluate("demo.c", facts, dt.date(2023, 12, 28), trace=False)
    slow = loaded.evaluate("demo.c", facts, dt.date(2023, 12, 28), trace=True)
    assert fast.consequences == slow.consequences
    assert [(c.kind, c.until, c.permanent, c.amount) for c in fast.consequences] == [
        ("demotion", dt.date(2024, 1, 4), False, None), ("deduction", None, False, Decimal("20.50")),
        ("ban", None, True, None), ("restriction", dt.date(2024, 1, 1), False, None)]


def test_verify_proves_and_refutes_claims_about_consequences(book: Path) -> None:
    proved = cli("verify", "--policies", str(book), "--lang", "en")
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert "1 policies, 2 properties: 2 proved" in proved.stdout
    (book / "c.policy").write_text(POLICY.replace("expect not consequence(ban)", "expect consequence(demotion)"),
                                   encoding="utf-8")
    refuted = cli("verify", "--policies", str(book), "--lang", "en")
    assert refuted.returncode == 1
    assert "✗ FAILED  few_violations_no_ban" in refuted.stdout


def test_the_real_book_grades_its_sanctions() -> None:
    real = policydsl.load(POLICIES)
    decision = real.evaluate("content.assessment", {"creator": {"interaction_rate_30d": "5%", "main_category_share": "80%",
                                                                "serious_violations_90d": 1}}, dt.date(2023, 6, 1))
    assert [(c.code, c.kind, c.until, c.permanent) for c in decision.consequences] == [
        ("interaction_rate_low", "demotion", dt.date(2023, 6, 8), False),
        ("category_permission_restricted", "restriction", None, False),
        ("permission_permanently_banned", "ban", None, True)]
    stage = real.evaluate("deposit.stage", {
        "shop": {"age_days": 200, "other_violation_record": False, "orders_settled": True, "warranty_letter": True},
        "deposit": {"base": "¥5000", "request": "refund_deposit", "late_fine_per_order": "¥10"},
        "violation": {"false_advertising": False, "counterfeit": True, "late_orders": 0}}, dt.date(2023, 6, 1))
    assert stage.outcome == "deny" and [r.code for r in stage.reasons] == ["deposit_fully_deducted"]
    assert [(c.kind, c.amount) for c in stage.consequences] == [("deduction", Decimal("5000"))]


def test_the_lexer_and_the_handbook_know_consequences() -> None:
    tokens = [(str(t), v) for t, v in PolicyLexer().get_tokens("  consequence ban permanent amount ¥1\n")]
    assert ("Token.Keyword", "consequence") in tokens and ("Token.Keyword", "permanent") in tokens
    assert ("Token.Keyword", "amount") in tokens
    docs = ROOT / "generated_docs"
    zh = (docs / "zh" / "md" / "policies" / "content.assessment.md").read_text(encoding="utf-8")
    assert "- 后果：降权（期限 7天）：降权7天\n" in zh and "- 后果：封禁（永久）：永久封禁权限\n" in zh
    en = (docs / "en" / "md" / "policies" / "deposit.stage.md").read_text(encoding="utf-8")
    assert "- Consequence: deduction (amount " in en
    assert "the decision carries a ban" in (docs / "en" / "md" / "policies" / "content.assessment.md").read_text(
        encoding="utf-8")


FEATURE = """Feature: consequences
  Scenario: a ban
    Given a.n is 3
    And a.m is ¥500
    When I evaluate "demo.c" on 2023-12-28
    Then {then}
"""


@pytest.mark.parametrize(("then", "ok", "message"), [
    ('the consequences include "ban"', True, ""),
    ('the consequence "demotion" lasts until 2024-01-04', True, ""),
    ('the consequence "deduction" amounts to ¥500', True, ""),
    ('the consequences include "suspension"', False, "no consequence is `suspension` (there are: demotion [bad], "
                                                    "deduction [bad], ban [bad], restriction [bad])"),
    ('the consequence "demotion" lasts until 2024-01-05', False,
     "expected the consequence `demotion` to last until 2024-01-05, got 2024-01-04"),
    ('the consequence "deduction" amounts to ¥400', False, "expected the consequence `deduction` to amount to ¥400, "
                                                          "got ¥500"),
    ("there are no consequences", False, "expected no consequences, got: demotion [bad]"),
])
def test_gherkin_steps_check_consequences(book: Path, then: str, ok: bool, message: str) -> None:
    (book / "c.feature").write_text(FEATURE.format(then=then), encoding="utf-8")
    result = cli("test", str(book / "c.feature"), "--policies", str(book), "--lang", "en", "-q", cwd=book)
    assert result.returncode == (0 if ok else 1), result.stdout + result.stderr
    assert message in result.stdout


def test_the_language_server_shows_a_rules_consequences(tmp_path: Path) -> None:
    import shutil

    from test_lsp import TIMEOUT, Client, doc, open_doc, position_of

    for path in POLICIES.glob("*.policy"):
        shutil.copy(path, tmp_path / path.name)
    client = Client(ROOT, lang="en")
    try:
        client.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        client.notify("initialized", {})
        path = tmp_path / "content_assessment.policy"
        text = path.read_text(encoding="utf-8")
        uri = open_doc(client, path)
        assert client.diagnostics(uri) == []
        hover = client.request("textDocument/hover", doc(uri, position_of(text, "rule no_serious_violation", 6)))
        assert "- consequence: `consequence ban permanent` — 永久封禁权限 / The permission is banned for good" \
            in hover["contents"]["value"]
        items = client.request("textDocument/completion", doc(uri, position_of(text, "  consequence ban", 2)))
        labels = {i["label"] for i in (items["items"] if isinstance(items, dict) else items)}
        assert {"consequence", "permanent", "amount", "demotion", "deduction"} <= labels
    finally:
        client.proc.kill()
        client.proc.wait(TIMEOUT)


def test_a_book_property_names_the_policy_whose_consequences_it_means(tmp_path: Path) -> None:
    (tmp_path / "c.policy").write_text(POLICY, encoding="utf-8")
    (tmp_path / "book.policy").write_text(
        'property banned "封禁" / "Banned"\n  expect consequence(ban)\n', encoding="utf-8")
    diags = [(d.code, d.line) for d in policydsl.loader.analyse([tmp_path / "c.policy", tmp_path / "book.policy"]).diagnostics]
    assert diags == [("P0803", 2)]
