"""One record and a date in, the whole book's answer out: every policy in force that applies to the
record decided, one part per policy, and a summary of what the record may do under all of them.

A policy that cannot be decided for the record (a fact missing or ill-typed, a table cell the
sources do not state) is an error in its own part; the other policies are decided all the same."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

import attrs

from policydsl.errors import PolicyDslError
from policydsl.runtime import evaluate as ev
from policydsl.runtime.decision import Decision
from policydsl.runtime.facts import prepare
from policydsl.runtime.program import CompiledPolicy, MissingFact


@attrs.frozen(kw_only=True)
class BookPart:
    """One policy's part of a whole-book decision."""

    policy: str
    status: str  # decided | not_applicable | not_in_force | error
    decision: Decision | None = None
    error: PolicyDslError | None = attrs.field(default=None, eq=False)
    period: tuple[dt.date | None, dt.date | None] = (None, None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.policy, "status": self.status}
        if self.decision is not None:
            out["decision"] = self.decision.to_dict()
        if self.error is not None:
            out["error"] = self.error.to_dict()["error"]
        if self.status == "not_in_force":
            out["period"] = dict(zip(("from", "until"), (day and day.isoformat() for day in self.period)))
        return out


@attrs.frozen(kw_only=True)
class Conflict:
    """Two policies that answer one question (a book `overlap`) disagreeing on this record and day:
    their outcomes differ, or the overlap's `agree` fails. `prevails` is the policy whose document the
    book follows there (None: a known conflict, or one not yet resolved). The whole-book outcome is
    still deny whenever a policy denies: a resolution in favour of an allowing policy is encoded in
    the other policy (`check --deep` warns where it is not)."""

    overlap: str
    label: dict[str, str]
    policies: tuple[str, str]
    outcomes: tuple[str, str]
    resolution: str  # prevails | known | none
    prevails: str | None = None
    assumptions: tuple[str, ...] = ()  # the assumes that explain the resolution

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"overlap": self.overlap, "label": dict(self.label), "policies": list(self.policies),
                               "outcomes": dict(zip(self.policies, self.outcomes)), "resolution": self.resolution}
        if self.prevails is not None:
            out["prevails"] = self.prevails
        if self.assumptions:
            out["assumptions"] = list(self.assumptions)
        return out


@attrs.frozen(kw_only=True)
class BookIndex:
    """What deciding reads of a checked book, built once when it is loaded and kept as is in the book cache
    (a book from the cache has no checked model): each policy's title by id, how many book properties come
    before the overlaps' claims, and each overlap."""

    titles: Mapping[str, Mapping[str, str]]
    properties: int
    overlaps: tuple[tuple[bool, dict[str, Any]], ...]  # (implicit, the fields of its Conflict but the outcomes)
    reads_rules: bool  # a declared overlap asks which rules fired (`fires`): whole-book decisions need the trace


@attrs.frozen(kw_only=True)
class BookDecision:
    """Every policy's part, in policy id order, and what they add up to.

    `outcome` is `deny` when some policy denies (whatever else could not be decided), `allow` when
    every policy that applies allowed, and `undecided` when none denied but some could not be decided."""

    at: dt.date
    parts: tuple[BookPart, ...]
    conflicts: tuple[Conflict, ...] = ()  # the book's overlaps whose two policies disagree here

    def part(self, policy: str) -> BookPart:
        return next(p for p in self.parts if p.policy == policy)

    def _ids(self, status: str, outcome: str | None = None) -> list[str]:
        return [p.policy for p in self.parts if p.status == status
                and (outcome is None or (p.decision is not None and p.decision.outcome == outcome))]

    @property
    def denied(self) -> list[str]:
        return self._ids("decided", "deny")

    @property
    def allowed(self) -> list[str]:
        return self._ids("decided", "allow")

    @property
    def errors(self) -> list[str]:
        return self._ids("error")

    @property
    def outcome(self) -> str:
        return "deny" if self.denied else "undecided" if self.errors else "allow"

    @property
    def summary(self) -> dict[str, Any]:
        decided = [p for p in self.parts if p.decision is not None]
        return {
            "outcome": self.outcome, "denied": self.denied, "allowed": self.allowed,
            "warned": [p.policy for p in decided if p.decision.warnings],  # type: ignore[union-attr]
            "not_applicable": self._ids("not_applicable"), "not_in_force": self._ids("not_in_force"),
            "errors": self.errors,
            "consequences": [{"policy": p.policy, **c.to_dict()} for p in decided
                             for c in p.decision.consequences],  # type: ignore[union-attr]
            "values": {p.policy: p.decision.value_json for p in decided if p.decision.values},  # type: ignore[union-attr]
        }

    def to_dict(self) -> dict[str, Any]:
        out = {"at": self.at.isoformat(), "outcome": self.outcome, "summary": self.summary,
               "policies": [p.to_dict() for p in self.parts]}
        if self.conflicts:  # only when two policies disagree on a question they share
            out["conflicts"] = [c.to_dict() for c in self.conflicts]
        return out


def evaluate_book(compiled: Mapping[str, CompiledPolicy], record: Mapping[str, Any], at: dt.date, *,
                  trace: bool = False, coverage: bool = False) -> BookDecision:
    """Decide every policy of `compiled` for one checked record (see Vocabulary.check)."""
    parts = tuple(_part(compiled[pid], record, at, trace, coverage) for pid in sorted(compiled))
    return BookDecision(at=at, parts=parts)


def _part(policy: CompiledPolicy, record: Mapping[str, Any], at: dt.date, trace: bool, coverage: bool) -> BookPart:
    if (policy.start and at < policy.start) or (policy.end and at > policy.end):
        return BookPart(policy=policy.id, status="not_in_force", period=(policy.start, policy.end))
    try:
        if not applies(policy, record, at):
            return BookPart(policy=policy.id, status="not_applicable")
        decision = ev.evaluate(policy, record, at, trace=trace, coverage=coverage)
    except PolicyDslError as exc:
        return BookPart(policy=policy.id, status="error", error=exc)
    return BookPart(policy=policy.id, status="decided", decision=decision)


def applies(policy: CompiledPolicy, record: Mapping[str, Any], at: dt.date) -> bool:
    """Whether the policy's `applies when` (if any) holds for the record; an error naming the facts it lacks."""
    try:
        return policy.applies is None or bool(policy.applies(prepare(policy.inputs, record), at, None))
    except MissingFact as exc:
        raise ev.missing_error(policy.inputs, dict.fromkeys(exc.paths)) from None
