"""Two versions of a policy in; a proof that they decide alike, or facts on which they differ.

Both versions are encoded over the same fact variables and the same day. They differ on a fact
set when one decision fails and the other does not (a policy not in force counts as failing),
or both succeed and the outcome, the reason codes (deny reasons, or the allow reasons when
nothing is denied) or a computed value differ — the same comparison `policydsl diff` applies to
sample records (diff.Result.differences), which also confirms every difference the solver finds.
Two failing decisions count as alike here, whatever their messages.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import attrs
import z3

from policydsl.errors import PolicyDslError
from policydsl.verify.encode import FALSE, Encoding, PolicyEncoder, V
from policydsl.verify.engine import Budget, Limits, Witness, search


@attrs.frozen(kw_only=True)
class Equivalence:
    status: str  # equivalent | different | unknown | incomparable
    witness: Witness | None = None
    before: Any = None  # diff.Result of the old version on the witness
    after: Any = None
    reason: dict[str, str] | None = None
    seconds: float = 0.0
    steps: int = 0  # z3 resource steps spent


def _codes(encoder: PolicyEncoder) -> dict[str, Any]:
    """code -> whether it is among the decision's reasons (deny reasons, else allow reasons)."""
    fired: dict[str, dict[str, list]] = {"deny": {}, "allow": {}}  # outcome -> code -> the rules' `fired`
    for rule in encoder.policy.rules:
        body = rule.decl.body
        if body.outcome in fired:
            fired[body.outcome].setdefault(body.code.value, []).append(encoder.rules[rule.name]["fired"])
    deny, allow = fired["deny"], fired["allow"]
    return {code: z3.If(encoder.deny, z3.Or(FALSE, *deny.get(code, [])), z3.Or(FALSE, *allow.get(code, [])))
            for code in set(deny) | set(allow)}


def _same_value(a: V | None, b: V | None) -> Any:
    if a is None:
        return z3.BoolVal(True) if b is None else z3.Not(b.present)
    if b is None:
        return z3.Not(a.present)
    if a.kind != b.kind and {a.kind, b.kind} - {"count", "number"}:
        return z3.And(z3.Not(a.present), z3.Not(b.present))
    ano = a.no if a.no is not None else FALSE
    bno = b.no if b.no is not None else FALSE
    if isinstance(a.val, dict):
        same_val = z3.And(*[a.val[k] == b.val[k] for k in a.val]) if a.val else z3.BoolVal(True)
    else:
        same_val = a.val == b.val
    return z3.And(a.present == b.present,
                  z3.Implies(a.present, z3.And(ano == bno, z3.Implies(z3.Not(ano), same_val))))


def differs(old: PolicyEncoder, new: PolicyEncoder) -> Any:
    ok_old = z3.And(old.in_force, old.decision_ok)
    ok_new = z3.And(new.in_force, new.decision_ok)
    codes_old, codes_new = _codes(old), _codes(new)
    code_differs = [codes_old.get(c, FALSE) != codes_new.get(c, FALSE) for c in set(codes_old) | set(codes_new)]
    paths = set(old.policy.defines) | set(new.policy.defines)
    value_differs = [z3.Not(_same_value(old.define(p) if p in old.policy.defines else None,
                                        new.define(p) if p in new.policy.defines else None)) for p in sorted(paths)]
    return z3.Or(ok_old != ok_new,
                 z3.And(ok_old, ok_new, z3.Or(old.deny != new.deny, *code_differs, *value_differs)))


def outcome_differs(old: PolicyEncoder, new: PolicyEncoder) -> Any:
    ok_old = z3.And(old.in_force, old.decision_ok)
    ok_new = z3.And(new.in_force, new.decision_ok)
    return z3.Or(ok_old != ok_new, z3.And(ok_old, old.deny != new.deny))


def prove_equivalent(old_book, new_book, policy_id: str, limits: Limits = Limits(), *,
                     decide: Callable[[Any, str, dict, Any], Any]) -> Equivalence:
    """Search for facts and a day on which the two versions of `policy_id` decide differently, within
    `limits` for both searches together (then the answer is unknown). A witness is
    confirmed by evaluating both versions: `decide(book, policy_id, facts, at)` returns a result whose
    `differences(other)` lists what differs (policydsl.diff.run)."""

    enc = Encoding(new_book.model)
    try:
        new = PolicyEncoder(enc, new_book.model.policies[policy_id])
        old = PolicyEncoder(enc, old_book.model.policies[policy_id], model=old_book.model)
    except PolicyDslError as exc:
        return Equivalence(status="incomparable", reason={lang: exc.message(lang) for lang in ("zh", "en")})
    results: dict[str, Any] = {}

    def confirm(w: Witness) -> bool:
        before, after = decide(old_book, policy_id, w.facts, w.at), decide(new_book, policy_id, w.facts, w.at)
        results.update(before=before, after=after)
        return bool(before.differences(after))
    in_force = z3.Or(old.in_force, new.in_force)
    # first a change of outcome (what a policy team asks first), then any change at all
    budget, began = Budget.start(limits), time.monotonic()
    outcome = search(enc, z3.And(in_force, outcome_differs(old, new)), confirm, encoders=(old, new), budget=budget)
    if outcome.status != "found" and outcome.limit is None:
        outcome = search(enc, z3.And(in_force, differs(old, new)), confirm, encoders=(old, new), budget=budget)
    status = {"unsat": "equivalent", "found": "different"}.get(outcome.status, "unknown")
    return Equivalence(status=status, witness=outcome.witness, before=results.get("before") if outcome.witness else None,
                       after=results.get("after") if outcome.witness else None, reason=outcome.reason,
                       seconds=time.monotonic() - began, steps=budget.spent_steps)
