"""Analyses that need the solver: rules that can never fire, exceptions that never override, and
an `allow` that fires together with a `deny` for the same facts.

Each finding is a diagnostic with a code, at the rule it concerns; a conflict carries a concrete
example (facts and date) that the real evaluator confirmed. "Never fires" is a proof (the solver
found no facts and no day, within the rule's and the policy's periods, where the rule gives its
reason in a decision that succeeds); a search the solver cannot decide reports nothing. Each
search (one per rule, one per allow and deny pair) stops after ANALYSIS_LIMITS (z3 resource steps,
so the findings do not depend on the machine's load, and a wall-clock backstop), every solver call and
refinement round included, and then counts as undecided.
"""
from __future__ import annotations

import json
from typing import Iterator

import attrs
import z3

from policydsl import diagnostics as dg
from policydsl.compile.compiler import compile_model
from policydsl.errors import PolicyDslError
from policydsl.loader import Analysis
from policydsl.runtime.evaluate import evaluate
from policydsl.semantics.model import Model, Policy
from policydsl.verify.encode import Encoding, PolicyEncoder
from policydsl.verify.engine import Budget, Limits, Witness, search

ANALYSIS_LIMITS = Limits(steps=10_000_000, seconds=60.0)  # the book's analyses spend at most 0.2 million steps


def deepen(analysis: Analysis) -> Analysis:
    """An analysis with the solver's analyses added (`check --deep`): rules that never fire, exceptions
    that never act, allows that meet denies, and conflicts between documents. Nothing is added to a
    book with errors: the solver reads only a checked model."""
    from policydsl.verify.conflicts import conflict_analyses

    if analysis.model is None or any(d.severity == "error" for d in analysis.diagnostics):
        return analysis
    compiled = compile_model(analysis.model)
    found = [*solver_analyses(analysis.model, compiled), *conflict_analyses(analysis.model, compiled)]
    return attrs.evolve(analysis, diagnostics=dg.DiagnosticBag([*analysis.diagnostics, *found]).sorted())


def solver_analyses(model: Model, compiled: dict) -> list[dg.Diagnostic]:
    return [d for pid, policy in model.policies.items() if pid in compiled
            for d in policy_analyses(model, policy, compiled[pid])]


def _fired(compiled, w: Witness) -> set[str]:
    """The rules the real evaluator fires on a witness's facts and day (none when deciding fails)."""
    try:
        decision = evaluate(compiled, w.facts, w.at, trace=True)
    except PolicyDslError:
        return set()
    return {ev.rule for ev in decision.trace if ev.status == "fired"}


def policy_analyses(model: Model, policy: Policy, compiled) -> Iterator[dg.Diagnostic]:
    enc = Encoding(model)
    encoder = PolicyEncoder(enc, policy)
    can_fire: dict[str, bool] = {}
    for rule in policy.rules:
        terms = encoder.rules[rule.name]
        goal = z3.And(encoder.in_force, terms["fired"], encoder.decision_ok)
        outcome = search(enc, goal, lambda w: rule.name in _fired(compiled, w),  # (search calls it within this iteration)
                         encoders=(encoder,), budget=Budget.start(ANALYSIS_LIMITS))
        can_fire[rule.name] = outcome.status != "unsat"
        if outcome.status == "unsat":
            decl = rule.decl
            code = "P0611" if decl.exception_to else "P0610"
            bases = ", ".join(t.value for t in decl.exception_to)
            yield dg.make(code, decl.name.span, severity="warning", rule=rule.name, bases=bases)
    allows = [r for r in policy.rules if r.decl.body.outcome == "allow" and can_fire[r.name]]
    denies = [r for r in policy.rules if r.decl.body.outcome == "deny" and can_fire[r.name]]
    for allow in allows:
        together: list = []
        example: Witness | None = None
        for deny in denies:
            goal = z3.And(encoder.in_force, encoder.rules[allow.name]["fired"], encoder.rules[deny.name]["fired"],
                          encoder.decision_ok)

            def both(w: Witness, a=allow.name, d=deny.name) -> bool:
                return {a, d} <= _fired(compiled, w)
            outcome = search(enc, goal, both, encoders=(encoder,), budget=Budget.start(ANALYSIS_LIMITS))
            if outcome.status == "found":
                together.append(deny)
                example = example or outcome.witness
        if together and example is not None:
            facts = json.dumps(example.facts, ensure_ascii=False, separators=(",", ":"))
            # deny overrides allow by design, so this is a note for review, not a problem
            yield dg.make("P0612", allow.decl.name.span, severity="info", allow=allow.name,
                          deny=", ".join(d.name for d in together), first=together[0].name,
                          at=example.at.isoformat(), facts=facts,
                          related=[(d.decl.name.span, "P0612.related") for d in together])
