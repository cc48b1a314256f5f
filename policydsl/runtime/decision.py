"""A decision: outcome, computed values, reasons and warnings with sources, and the trace that explains it."""
from __future__ import annotations

import datetime as dt
from types import MappingProxyType
from operator import itemgetter
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


_make = tuple.__new__


class Record(tuple):
    """A frozen record built with one call, `tuple.__new__(cls, (field, …))`: the evaluator builds a
    Decision, and a Reason per fired rule, on every evaluation, and generated code builds them so.
    Fields are read by name (`_fields`, each a property); a record equals only a record of its own
    type. Subclasses give a keyword constructor."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _shown: tuple[str, ...] = ()  # the fields repr shows

    def __init_subclass__(cls) -> None:
        for index, field in enumerate(cls.__dict__.get("_stored", cls._fields)):
            if field not in cls.__dict__:
                setattr(cls, field, property(itemgetter(index)))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and tuple.__eq__(self, other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self._shown) + ")"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_make, (type(self), tuple(self)))

    def replace(self, **changes: Any) -> Any:
        """A copy with some fields changed (stored fields only)."""
        fields = self.__class__.__dict__.get("_stored", self._fields)
        copy = _make(type(self), tuple(changes.pop(f, v) for f, v in zip(fields, self)))
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(changes)}")
        return copy


@attrs.frozen(eq=False)
class RuleReason:
    """What a rule says when it fires: its name, code, outcome and source, and its message filled
    with the values it shows (`render(shown)` -> {"zh", "en"})."""

    rule: str
    code: str
    outcome: str
    source: Mapping[str, str] | None
    render: Callable[[tuple[Any, ...]], Mapping[str, str]] = attrs.field(repr=False)


class Reason(Record):
    """A fired rule's reason: rule, code, outcome, source, the message in both languages (filled when
    read: most callers look only at the outcome and the codes) and the rule's consequences.
    Stored as (RuleReason, the values its message shows, consequences)."""

    __slots__ = ()
    _stored = ("said", "shown_values", "consequences")
    _fields = ("rule", "code", "outcome", "message", "source", "consequences")
    _shown = _fields
    consequences: tuple[Consequence, ...]  # stored: its property comes from Record.__init_subclass__
    shown_values: tuple[Any, ...]  # stored: the values its message shows, in the order of the rule's placeholders

    def __new__(cls, *, rule: str, code: str, outcome: str, message: Mapping[str, str],
                source: Mapping[str, str] | None, consequences: tuple["Consequence", ...] = ()) -> "Reason":
        fixed = MappingProxyType(dict(message))  # one text every read returns: not to be changed by a reader
        return _make(cls, (RuleReason(rule, code, outcome, source, lambda shown: fixed), (), consequences))

    rule = property(lambda self: self[0].rule)
    code = property(lambda self: self[0].code)
    outcome = property(lambda self: self[0].outcome)
    source = property(lambda self: self[0].source)
    message = property(lambda self: self[0].render(self[1]), doc="{'zh', 'en'}, filled when read")

    def _key(self) -> tuple[Any, ...]:
        return (self.rule, self.code, self.outcome, dict(self.message), self.source, self.consequences)

    def __eq__(self, other: object) -> bool:
        return type(other) is Reason and self._key() == other._key()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict:
        return {"rule": self.rule, "code": self.code, "message": dict(self.message),
                "source": dict(self.source) if self.source else None}


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


class TraceEvent(Record):
    """One rule considered: its status and the facts and values it read."""

    __slots__ = ()
    _fields = ("rule", "status", "reads", "detail")
    _shown = _fields
    rule: str
    status: str  # not_in_force | out_of_scope | overridden | satisfied | fired | missing
    reads: Mapping[str, Any]
    detail: str | None

    def __new__(cls, *, rule: str, status: str, reads: Mapping[str, Any], detail: str | None = None) -> "TraceEvent":
        return _make(cls, (rule, status, reads, detail))


NO_UNRESOLVED: Mapping[str, tuple[str, ...]] = MappingProxyType({})


class Decision(Record):
    """The outcome of one policy for one record on one day: its computed values, the reasons (deny
    rules that fired, or the allow rules) and warnings, and, when asked for, the trace of every rule
    considered and the coverage items reached."""

    __slots__ = ()
    _fields = ("policy", "at", "outcome", "values", "value_kinds", "reasons", "warnings", "trace", "coverage",
               "unresolved")
    _shown = ("policy", "at", "outcome", "values", "reasons", "warnings", "unresolved")
    policy: str
    at: dt.date
    outcome: str  # allow | deny
    values: Mapping[str, Any]
    value_kinds: Mapping[str, str]  # path -> kind, for value_json
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...]
    trace: tuple[TraceEvent, ...]
    coverage: frozenset[str]  # items reached, when recorded
    # the values no rule needed whose computation lacks facts: value path -> the facts it lacks, in the
    # order the computation met them; such a value is left out of `values` (values are lazy)
    unresolved: Mapping[str, tuple[str, ...]]

    def __new__(cls, *, policy: str, at: dt.date, outcome: str, values: Mapping[str, Any],
                value_kinds: Mapping[str, str], reasons: tuple[Reason, ...], warnings: tuple[Reason, ...],
                trace: tuple[TraceEvent, ...], coverage: frozenset[str] = frozenset(),
                unresolved: Mapping[str, tuple[str, ...]] | None = None) -> "Decision":
        return _make(cls, (policy, at, outcome, values, value_kinds, reasons, warnings, trace, coverage,
                           unresolved or NO_UNRESOLVED))

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


def make_decision(policy: str, at: dt.date, outcome: str, values: Mapping[str, Any], value_kinds: Mapping[str, str],
                  reasons: tuple[Reason, ...], warnings: tuple[Reason, ...], trace: tuple[TraceEvent, ...],
                  coverage: frozenset[str], unresolved: Mapping[str, tuple[str, ...]] | None = None) -> Decision:
    return _make(Decision, (policy, at, outcome, values, value_kinds, reasons, warnings, trace, coverage,
                            unresolved or NO_UNRESOLVED))
