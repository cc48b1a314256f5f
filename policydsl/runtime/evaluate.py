"""A compiled policy, facts and a date in; a Decision (or an error naming every missing fact) out."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from policydsl.errors import PolicyDslError
from policydsl.runtime.decision import Decision
from policydsl.runtime.program import NO_COVERAGE, CompiledPolicy, in_force, missing_error  # noqa: F401 (re-exported)


def evaluate(policy: CompiledPolicy, facts: Mapping[str, Any], at: dt.date, *, trace: bool = False,
             coverage: bool = False) -> Decision:
    """The policy's generated function on (facts, at): the fast one unless the trace or coverage is asked for."""
    if (policy.start and at < policy.start) or (policy.end and at > policy.end):
        in_force(policy.id, policy.start, policy.end)(None, at)
    if not trace and not coverage:
        try:
            return policy.fast(facts, at, None)
        except PolicyDslError as exc:
            exc.coverage = NO_COVERAGE  # type: ignore[attr-defined]
            raise
    hits: set[str] | None = set() if coverage else None
    try:
        decision = policy.traced(facts, at, hits)
    except PolicyDslError as exc:
        # What was reached before the error still counts: a scenario that expects the error
        # (a not-stated table cell, say) has exercised that cell.
        exc.coverage = frozenset(hits or ())  # type: ignore[attr-defined]
        raise
    return decision if trace else decision.replace(trace=())
