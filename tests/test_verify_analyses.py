"""The solver's analyses (`check --deep`): rules that can never fire (P0610), exceptions that never
take effect (P0611), and an allow that fires together with a deny (P0612, a note) — each with a
positive and a negative fixture, and on the real rule book."""
from __future__ import annotations

import json

import pytest

import policydsl
from policydsl.runtime.evaluate import evaluate
from policydsl.verify.analyses import solver_analyses

from conftest import POLICIES

HEAD = '''enum kind "类型" / "Kind"
  value personal "个人" / "Personal"
  value enterprise "企业" / "Enterprise"

policy demo.deep
  title "深度分析" / "Deep analysis"
  effective from 2023-01-01

input account.kind: kind "账号类型" / "Account type"
input account.fans: count "粉丝数" / "Followers"
input account.verified: bool "已认证" / "Verified"
'''


def rule(name: str, body: str, extra: str = "") -> str:
    return f'\nrule {name} "规则 {name}" / "Rule {name}"\n{extra}{body}  source "doc.txt" quote "q"\n'


def findings(tmp_path, text: str) -> list:
    path = tmp_path / "demo.policy"
    path.write_text(HEAD + text, encoding="utf-8")
    book = policydsl.load(path)
    return solver_analyses(book.model, book.compiled), book


def test_a_rule_whose_scope_contradicts_its_condition_never_fires(tmp_path):
    text = rule("big", "  require account.fans >= 500\n    else deny small \"少\" / \"few\"\n",
                "  when account.fans >= 1000\n")
    (diag,), _ = findings(tmp_path, text)
    assert (diag.code, diag.severity, diag.span.text) == ("P0610", "warning", "big")
    assert diag.message["en"] == ("rule `big` can never fire: no facts on any day of its and its policy's "
                                  "period make it give its reason")


def test_a_rule_dated_before_its_policy_or_scoped_to_no_day_never_fires(tmp_path):
    text = rule("early", "  deny early \"早\" / \"early\"\n", "  when today < 2022-06-01\n")
    (diag,), _ = findings(tmp_path, text)
    assert (diag.code, diag.span.text) == ("P0610", "early")


def test_a_rule_that_can_fire_is_not_reported(tmp_path):
    text = rule("big", "  require account.fans >= 1000\n    else deny small \"少\" / \"few\"\n",
                "  when account.kind == personal\n")
    assert findings(tmp_path, text)[0] == []


def test_an_exception_that_never_meets_its_base(tmp_path):
    base = rule("fans", "  require account.fans >= 1000\n    else deny small \"少\" / \"few\"\n",
                "  when account.kind == personal\n")
    exc = rule("exempt", "  allow exempt \"豁免\" / \"exempt\"\n",
               "  exception to fans\n  when account.kind == enterprise\n")
    diags, _ = findings(tmp_path, base + exc)
    assert [(d.code, d.span.text) for d in diags] == [("P0611", "exempt")]
    assert diags[0].message["en"] == "exception `exempt` never takes effect: whenever it applies, fans does not"
    # overlapping scopes: the exception does override, nothing to report
    live = exc.replace("account.kind == enterprise", "account.verified")
    assert findings(tmp_path, base + live)[0] == []


def test_an_allow_that_fires_with_a_deny_is_a_note_with_a_real_example(tmp_path):
    deny = rule("fans", "  require account.fans >= 1000\n    else deny small \"少\" / \"few\"\n")
    allow = rule("welcome", "  allow welcome \"欢迎\" / \"welcome\"\n", "  when account.verified\n")
    (diag,), book = findings(tmp_path, deny + allow)
    assert (diag.code, diag.severity, diag.span.text) == ("P0612", "info", "welcome")
    assert [r.span.text for r in diag.related] == ["fans"]
    message = diag.message["en"]
    assert message.startswith("allow `welcome` fires together with deny rule(s) fans for the same facts")
    facts = json.loads(message.split("e.g. ", 1)[1].split(" on ", 1)[0])
    at = message.rsplit(" on ", 1)[1].split(" fires ", 1)[0]
    import datetime as dt

    decision = evaluate(book.compiled["demo.deep"], facts, dt.date.fromisoformat(at), trace=True)
    fired = {ev.rule for ev in decision.trace if ev.status == "fired"}
    assert {"fans", "welcome"} <= fired and decision.outcome == "deny"
    # scoped to where nothing is denied, the allow no longer meets the deny
    scoped = allow.replace("  when account.verified\n", "  when account.verified and account.fans >= 1000\n")
    assert findings(tmp_path, deny + scoped)[0] == []


@pytest.fixture(scope="module")
def book_findings():
    book = policydsl.load(POLICIES)
    return solver_analyses(book.model, book.compiled)


def test_the_rule_book_has_no_rule_that_never_fires(book_findings):
    assert [d for d in book_findings if d.code in ("P0610", "P0611")] == []


def test_the_rule_book_allows_that_meet_denies_are_listed(book_findings):
    notes = {(d.file.rsplit("/", 1)[-1], d.span.text) for d in book_findings if d.code == "P0612"}
    assert notes == {("deposit_refund.policy", "refund_due"), ("listing_approval.policy", "listed_for_sale")}


@pytest.mark.parametrize("limits, reason", [
    ({"steps": 2_000_000}, {"zh": "达到求解步数上限 2,000,000", "en": "solver step limit of 2,000,000 reached"}),
    ({"seconds": 1.0}, {"zh": "达到 1 秒时间上限", "en": "time limit of 1 s reached"})])
def test_an_analysis_the_solver_cannot_decide_stops_at_its_limit_and_reports_nothing(tmp_path, monkeypatch, limits,
                                                                                    reason):
    """`check --deep` bounds each analysis (ANALYSIS_LIMITS: z3 resource steps and a wall-clock backstop, for
    all its solver calls and rounds): a rule whose scope is Fermat for cubes is neither proved dead nor
    reported, whichever limit is reached first."""
    import attrs

    from policydsl.verify import analyses

    outcomes = []

    def recorded(*args, **kwargs):
        outcomes.append(analyses_search(*args, **kwargs))
        return outcomes[-1]
    analyses_search = analyses.search
    monkeypatch.setattr(analyses, "ANALYSIS_LIMITS", attrs.evolve(analyses.ANALYSIS_LIMITS, **limits))
    monkeypatch.setattr(analyses, "search", recorded)
    text = ('input n.x: count "x" / "x"\ninput n.y: count "y" / "y"\ninput n.z: count "z" / "z"\n'
            + rule("cubes", "  deny cubes \"立方\" / \"cubes\"\n",
                   "  when n.x >= 1 and n.y >= 1 and n.z >= 1 and n.x * n.x * n.x + n.y * n.y * n.y == n.z * n.z * n.z\n"))
    assert findings(tmp_path, text)[0] == []
    (outcome,) = outcomes
    assert (outcome.status, outcome.limit, outcome.reason) == ("unknown", next(iter(limits)), reason)
