"""`policydsl verify`: prove each property of a rule book with an SMT solver, or show a
counterexample the real evaluator confirms."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

import attrs

from policydsl.runtime.properties import PropertyCheck, check_property
from policydsl.verify.engine import Budget, Limits, Outcome, Witness, search

BOOK_POLICY = "book"  # the `policy` of a book property's result (semantics.model.BOOK_ID)


@attrs.frozen(kw_only=True)
class PropertyResult:
    policy: str
    name: str
    label: dict[str, str]
    status: str  # proved | failed | unknown | vacuous (no fact set and day satisfies the premise)
    witness: Witness | None = None
    check: Any = None  # the evaluator's verdict on the witness (a BookPropertyCheck for a book property)
    reason: dict[str, str] | None = None
    limit: str | None = None  # undecided because this limit of the property was reached: "steps" or "seconds"
    seconds: float = 0.0  # wall-clock time spent on the property, all searches included
    steps: int = 0  # z3 resource steps spent on the property, all searches included
    rounds: int = 0


def verify_policy(policy_set, policy_id: str, names: Iterable[str] | None = None,
                  limits: Limits = Limits()) -> list[PropertyResult]:
    """Every property of one policy (or the named ones), in file order; each within `limits` (every
    solver call and refinement round of its searches included), after which it is undecided."""
    from policydsl.verify.encode import Encoding, PolicyEncoder  # the solver is loaded only when needed

    policy = policy_set.model.policies[policy_id]
    compiled = policy_set.compiled[policy_id]
    wanted = set(names) if names is not None else None
    enc = Encoding(policy_set.model)
    encoder = PolicyEncoder(enc, policy)
    results = []
    for prop, cprop in zip(policy.properties, compiled.properties):
        if wanted is not None and prop.name.value not in wanted:
            continue
        started, budget = time.monotonic(), Budget.start(limits)

        def run(w: Witness, cprop=cprop) -> PropertyCheck:
            return check_property(compiled, cprop, w.facts, w.at)
        results.append(_prove(policy_id, prop, enc, encoder.property_terms(prop), (encoder,), run, started, budget))
    return results


def verify_book(policy_set, names: Iterable[str] | None = None,
                limits: Limits = Limits()) -> list[PropertyResult]:
    """Every book property (a property outside any policy, naming policies' decisions), in file order:
    each policy it names is encoded over one shared set of fact variables, and the claim is proved
    over every record and day where all of them are in force and apply. A counterexample is re-run
    through `PolicySet.evaluate_all` before it is reported."""
    from policydsl.runtime.properties import check_book_property
    from policydsl.verify.encode import BookEncoder, Encoding

    model = policy_set.model
    wanted = set(names) if names is not None else None
    results: list[PropertyResult] = []
    if policy_set.book is None:
        return results
    for bprop, cprop in zip(model.book_properties, policy_set.book.properties):
        if wanted is not None and bprop.name not in wanted:
            continue
        started, budget = time.monotonic(), Budget.start(limits)
        enc = Encoding(model)
        encoder = BookEncoder(enc, model, bprop.policies, bprop.decl)

        def run(w: Witness, cprop=cprop, bprop=bprop):
            book = policy_set.evaluate_all(w.facts, w.at, trace=True)
            return check_book_property(policy_set.book, cprop, bprop.policies,
                                       policy_set.vocabulary.check(w.facts), book)
        results.append(_prove(BOOK_POLICY, bprop.decl, enc, encoder.property_terms(bprop.decl),
                              (*encoder.parts.values(), encoder), run, started, budget))
    return results


def _prove(policy: str, prop: Any, enc: Any, terms: dict[str, Any], encoders: tuple, run: Callable[[Witness], Any],
           started: float, budget: Budget) -> PropertyResult:
    """Search for a counterexample to a property's `terms` that the evaluator (`run`) confirms; with none,
    the property is proved, or vacuous when no facts and day satisfy its premise."""
    import z3  # the solver is loaded only by the commands that need it

    found: dict[str, Any] = {}

    def confirm(w: Witness) -> bool:
        verdict = found["check"] = run(w)
        return not verdict.holds
    goal = z3.And(terms["domain"], terms["premise"], z3.Not(terms["holds"]))
    outcome: Outcome = search(enc, goal, confirm, encoders=encoders, budget=budget)
    status = {"unsat": "proved", "found": "failed"}.get(outcome.status, "unknown")
    if status == "proved":
        # A claim over no facts at all proves nothing: the premise must hold somewhere (searched with what is
        # left of the budget; when that runs out first, the proof stands unlabelled).
        reachable = search(enc, z3.And(terms["domain"], terms["premise"]), lambda w: not run(w).vacuous,
                           encoders=encoders, budget=budget)
        if reachable.status == "unsat":
            status = "vacuous"
    return PropertyResult(policy=policy, name=prop.name.value, label=prop.label.as_dict(), status=status,
                          witness=outcome.witness, check=found.get("check") if status == "failed" else None,
                          reason=outcome.reason, limit=outcome.limit, seconds=time.monotonic() - started,
                          steps=budget.spent_steps, rounds=outcome.rounds)
