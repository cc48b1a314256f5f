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
from policydsl.runtime.evaluate import evaluate
from policydsl.runtime.facts import prepare
from policydsl.runtime.program import CompiledPolicy, CompiledProperty, Env


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
    env = Env(facts=prepare(policy.inputs, facts), at=at, policy=policy, decision=decision)
    if prop.premise is not None:
        if decision is None and prop.premise_reads_decision:
            return PropertyCheck(holds=True, vacuous=True, decision_error=decision_error)
        try:
            if not prop.premise(env):
                return PropertyCheck(holds=True, vacuous=True, decision=decision, decision_error=decision_error)
        except PolicyDslError:
            return PropertyCheck(holds=True, vacuous=True, decision=decision, decision_error=decision_error)
    if decision is None:
        return PropertyCheck(holds=False, decision_error=decision_error)
    try:
        ok = bool(prop.claim(env))
    except PolicyDslError as exc:
        return PropertyCheck(holds=False, decision=decision, claim_error=exc)
    return PropertyCheck(holds=ok, decision=decision)
