"""A property, facts and a date in; whether the property holds there, and why not, out.

This is the ground truth `policydsl verify` checks every counterexample against: the real
evaluator decides, the solver only proposes.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

import attrs

from policydsl.errors import PolicyDslError
from policydsl.runtime.decision import Decision
from policydsl.runtime.evaluate import evaluate, missing_error
from policydsl.runtime.facts import bad_facts, convert_all, prepare
from policydsl.runtime.program import CompiledPolicy, CompiledProperty, MissingFact


@attrs.frozen(kw_only=True)
class PropertyCheck:
    """`holds` is True when the premise is false (`vacuous`) or the decision and the claim succeed
    and the claim is true; otherwise `decision_error` / `claim_error` say what went wrong."""

    holds: bool
    vacuous: bool = False
    decision: Decision | None = None
    decision_error: PolicyDslError | None = None
    claim_error: PolicyDslError | None = None


def check_property(policy: CompiledPolicy, prop: CompiledProperty, facts: Mapping[str, Any],
                   at: dt.date) -> PropertyCheck:
    """Evaluate `policy` on (facts, at) and the property's premise and claim on that decision.

    The premise is a filter: when it cannot be evaluated (it reads the outcome of a decision that
    failed, or a table with no row for these facts) the facts are outside it. Inside it, the
    decision must succeed and the claim must evaluate to true."""
    if not prop.in_period(at) or (policy.start and at < policy.start) or (policy.end and at > policy.end):
        return PropertyCheck(holds=True, vacuous=True)  # a property speaks of days the policy is in force
    decision, decision_error = None, None
    try:
        decision = evaluate(policy, facts, at, trace=True)
    except PolicyDslError as exc:
        decision_error = exc
    env = (prepare(policy.inputs, facts), at, decision)
    if prop.premise is not None:
        try:
            outside = (decision is None and prop.premise_reads_decision) or not prop.premise(*env)
        except PolicyDslError:
            outside = True
        if outside:
            return PropertyCheck(holds=True, vacuous=True, decision=decision, decision_error=decision_error)
    if decision is None:
        return PropertyCheck(holds=False, decision_error=decision_error)
    try:
        ok = bool(prop.claim(*env))
    except PolicyDslError as exc:
        return PropertyCheck(holds=False, decision=decision, claim_error=exc)
    return PropertyCheck(holds=ok, decision=decision)


@attrs.frozen(kw_only=True)
class BookPropertyCheck:
    """A book property on one record and day: `book` is the whole-book decision it was checked on;
    `holds` as for PropertyCheck, with `decision_error` the error of a named policy's part."""

    holds: bool
    vacuous: bool = False
    book: Any = None  # BookDecision
    failed_policy: str | None = None  # the named policy whose decision failed
    decision_error: PolicyDslError | None = None
    claim_error: PolicyDslError | None = None


def check_book_property(compiled_book: CompiledPolicy, prop: CompiledProperty, policies: tuple[str, ...],
                        record: Mapping[str, Any], book: Any) -> BookPropertyCheck:
    """A book property on a whole-book decision (`PolicySet.evaluate_all(record, at, trace=True)`).

    It speaks of the records and days where every policy it names is in force and applies; outside
    them (and outside its own period) it holds vacuously. Inside, as for a policy's property: the
    premise filters, then every named policy's decision must succeed and the claim be true."""
    parts = [book.part(pid) for pid in policies]
    if not prop.in_period(book.at) or any(p.status in ("not_in_force", "not_applicable") for p in parts):
        return BookPropertyCheck(holds=True, vacuous=True, book=book)
    failed = next((p for p in parts if p.status == "error"), None)
    # an ill-typed fact is left out, as if not stated: only a claim that reads it fails (with bad_facts), and the
    # book decision itself stands (each policy that reads it an error in its own part)
    values, problems = convert_all(compiled_book.inputs, record)
    env = (values, book.at, book)
    if prop.premise is not None:
        try:
            outside = (failed is not None and prop.premise_reads_decision) or not prop.premise(*env)
        except (PolicyDslError, MissingFact):
            outside = True
        if outside:
            return BookPropertyCheck(holds=True, vacuous=True, book=book)
    if failed is not None:
        return BookPropertyCheck(holds=False, book=book, failed_policy=failed.policy, decision_error=failed.error)
    try:
        ok = bool(prop.claim(*env))
    except PolicyDslError as exc:
        return BookPropertyCheck(holds=False, book=book, claim_error=exc)
    except MissingFact as exc:  # a fact ill-typed or not stated, or a policy's value left out for want of facts
        ill_typed = [problem for problem in problems if problem[0].path in exc.paths]
        error = bad_facts(ill_typed) if ill_typed else missing_error(compiled_book.inputs, dict.fromkeys(exc.paths))
        return BookPropertyCheck(holds=False, book=book, claim_error=error)
    return BookPropertyCheck(holds=ok, book=book)
