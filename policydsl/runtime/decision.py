"""A decision: outcome, computed values, reasons and warnings with sources, and the trace that explains it."""
from __future__ import annotations

import datetime as dt
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping

import attrs


class LazyText(Mapping[str, str]):
    """A {"zh", "en"} text rendered per language on first use: most callers of evaluate() look only
    at the outcome, so messages are not formatted until someone reads them."""

    __slots__ = ("_render", "_cache")

    def __init__(self, render: Callable[[str], str]) -> None:
        self._render = render
        self._cache: dict[str, str] = {}

    def __getitem__(self, lang: str) -> str:
        if lang not in ("zh", "en"):
            raise KeyError(lang)
        if lang not in self._cache:
            self._cache[lang] = self._render(lang)
        return self._cache[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(("zh", "en"))

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return repr(dict(self))

    @classmethod
    def of(cls, render: Callable[[str], str]) -> "LazyText":
        """`LazyText(render)` without the call to __init__ (one per fired rule per evaluation)."""
        text = _new(cls)
        text._render = render
        text._cache = {}
        return text


_new = object.__new__
_set = object.__setattr__

# Reason and Decision keep their attributes in __dict__ (not slots) so that `make_reason` and
# `make_decision` can fill a frozen instance with one call instead of one per field: the
# evaluator builds one Decision and a Reason per fired rule on every evaluation.


@attrs.frozen(kw_only=True, slots=False)
class Reason:
    rule: str
    code: str
    outcome: str
    message: Mapping[str, str]
    source: Mapping[str, str] | None
    consequences: tuple["Consequence", ...] = ()  # what the rule does beyond its outcome

    def to_dict(self) -> dict:
        return {"rule": self.rule, "code": self.code, "message": dict(self.message),
                "source": dict(self.source) if self.source else None}


def make_reason(rule: str, code: str, outcome: str, message: Mapping[str, str],
                source: Mapping[str, str] | None, consequences: tuple["Consequence", ...] = ()) -> Reason:
    """`Reason(rule=..., ...)`, faster."""
    reason = _new(Reason)
    fields = {"rule": rule, "code": code, "outcome": outcome, "message": message, "source": source}
    if consequences:  # most reasons have none and read the class's empty default
        fields["consequences"] = consequences
    _set(reason, "__dict__", fields)
    return reason


Reason.consequences = ()  # type: ignore[misc]


@attrs.frozen(kw_only=True)
class Consequence:
    """What a fired rule does beyond its outcome (an obligation): a demotion, restriction, suspension,
    ban or deduction, until a date (the decision's date plus the rule's duration, or a date it names)
    or for good, for an amount, with zh/en text."""

    rule: str
    code: str
    kind: str  # demotion | restriction | suspension | ban | deduction
    until: dt.date | None
    permanent: bool
    amount: Any  # Decimal money, or None
    message: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        from policydsl.runtime.values import to_json

        return {"rule": self.rule, "code": self.code, "kind": self.kind,
                "until": self.until.isoformat() if self.until else None, "permanent": self.permanent,
                "amount": to_json("money", self.amount) if self.amount is not None else None,
                "message": dict(self.message)}


@attrs.frozen(kw_only=True, slots=False)  # __dict__: generated code fills one with a single call
class TraceEvent:
    """One rule considered: its status and the facts and values it read."""

    rule: str
    status: str  # not_in_force | out_of_scope | overridden | satisfied | fired | missing
    reads: Mapping[str, Any]
    detail: str | None = None


NO_UNRESOLVED: Mapping[str, tuple[str, ...]] = MappingProxyType({})


@attrs.frozen(kw_only=True, slots=False)
class Decision:
    policy: str
    at: dt.date
    outcome: str  # allow | deny
    values: Mapping[str, Any]
    value_kinds: Mapping[str, str] = attrs.field(repr=False, eq=False)  # path -> kind, for value_json
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...]
    trace: tuple[TraceEvent, ...] = attrs.field(repr=False)
    coverage: frozenset[str] = attrs.field(default=frozenset(), repr=False)  # items reached, when recorded
    # the values no rule needed whose computation lacks facts: value path -> the facts it lacks, in the
    # order the computation met them; such a value is left out of `values` (values are lazy)
    unresolved: Mapping[str, tuple[str, ...]] = NO_UNRESOLVED

    @property
    def consequences(self) -> tuple[Consequence, ...]:
        """The consequences of every rule whose reason or warning the decision gives, in that order."""
        return tuple(c for r in (*self.reasons, *self.warnings) for c in r.consequences)

    @property
    def value_json(self) -> dict[str, Any]:
        """The values as decision JSON shows them: money and percentages as strings, dates ISO."""
        from policydsl.runtime.values import to_json

        return {k: to_json(self.value_kinds[k], v) for k, v in self.values.items()}

    def to_dict(self) -> dict:
        """The decision as `--json` prints it; `"unresolved": {value path: [fact, …]}` only when some
        value could not be computed."""
        out: dict[str, Any] = {"policy": self.policy, "at": self.at.isoformat(), "outcome": self.outcome,
                               "values": dict(self.value_json)}
        if self.unresolved:
            out["unresolved"] = {path: list(facts) for path, facts in self.unresolved.items()}
        out["reasons"] = [r.to_dict() for r in self.reasons]
        out["warnings"] = [w.to_dict() for w in self.warnings]
        consequences = self.consequences
        if consequences:  # only when a rule gave some: every other decision's JSON is unchanged
            out["consequences"] = [c.to_dict() for c in consequences]
        return out


# A decision whose values were all computed (the common case) leaves `unresolved` out of its __dict__
# and reads the class's empty default: one key more costs every evaluation about 0.5% (callgrind).
Decision.unresolved = NO_UNRESOLVED  # type: ignore[misc]


def make_decision(policy: str, at: dt.date, outcome: str, values: Mapping[str, Any], value_kinds: Mapping[str, str],
                  reasons: tuple[Reason, ...], warnings: tuple[Reason, ...], trace: tuple[TraceEvent, ...],
                  coverage: frozenset[str], unresolved: Mapping[str, tuple[str, ...]] | None = None) -> Decision:
    """`Decision(policy=..., ...)`, faster."""
    decision = _new(Decision)
    fields = {"policy": policy, "at": at, "outcome": outcome, "values": values, "value_kinds": value_kinds,
              "reasons": reasons, "warnings": warnings, "trace": trace, "coverage": coverage}
    if unresolved:
        fields["unresolved"] = unresolved
    _set(decision, "__dict__", fields)
    return decision
