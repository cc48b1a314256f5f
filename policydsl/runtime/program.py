"""The evaluable form of a policy: plain data plus closures, built by compile/, run by evaluate.py."""
from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_right
from typing import Any, Callable, Mapping

import attrs

from policydsl.runtime.decision import Reason, make_reason
from policydsl.runtime.facts import FactPlan, InputSpec

Fn = Callable[["Env"], Any]
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def split_template(template: str) -> tuple[tuple[str, str | None], ...]:
    """`"粉丝数 {account.fans}，不足"` -> (("粉丝数 ", "account.fans"), ("，不足", None))."""
    parts: list[tuple[str, str | None]] = []
    last = 0
    for match in PLACEHOLDER.finditer(template):
        parts.append((template[last:match.start()], match.group(1)))
        last = match.end()
    parts.append((template[last:], None))
    return tuple(parts)


class MissingFact(Exception):
    """Facts an evaluation needs and was not given: `paths` names each one found, in the order the
    evaluation met them (`path` is the first). An operator whose operands both lack facts names the
    facts of both (`joined`)."""

    def __init__(self, *paths: str) -> None:
        super().__init__(*paths)
        self.paths = paths

    @property
    def path(self) -> str:
        return self.paths[0]

    def joined(self, other: "MissingFact") -> "MissingFact":
        """The facts of both, each once, these first."""
        return MissingFact(*dict.fromkeys((*self.paths, *other.paths)))


@attrs.define(slots=True, init=False)
class Env:
    """One evaluation: the typed facts, the date, memoised values and bound aggregate variables."""

    facts: Mapping[str, Any]
    at: dt.date
    policy: "CompiledPolicy"
    cache: dict[str, Any]
    vars: dict[str, Any]
    hits: set[str] | None  # coverage items reached, when recording
    decision: Any  # the Decision a property's claim reads (`outcome`, `fires(rule)`)

    def __init__(self, facts: Mapping[str, Any], at: dt.date, policy: "CompiledPolicy",
                 cache: dict[str, Any] | None = None, vars: dict[str, Any] | None = None,
                 hits: set[str] | None = None, decision: Any = None) -> None:
        # written by hand (attrs' generated __init__ calls a factory per dict): one Env per evaluation
        self.facts = facts
        self.at = at
        self.policy = policy
        self.cache = {} if cache is None else cache
        self.vars = {} if vars is None else vars
        self.hits = hits
        self.decision = decision

    def fact(self, path: str) -> Any:
        try:
            return self.facts[path]
        except KeyError:
            raise MissingFact(path) from None


@attrs.frozen(kw_only=True)
class CompiledCase:
    value: Fn
    when: Fn | None
    start: dt.date | None
    end: dt.date | None
    constant: tuple[bool, Any] = (False, None)  # (True, v) when `value` always returns v (a literal)


@attrs.frozen(kw_only=True)
class CompiledDefine:
    path: str
    kind: str
    label: Mapping[str, str]
    cases: tuple[CompiledCase, ...]
    reads: frozenset[str]
    # When no case has a `when`, the case a day takes depends on the day alone: `case_index` holds,
    # per run of days between case dates (`case_bounds`), the 1-based index of the first case in
    # force then, or 0 when none is. None when some case has a `when`.
    case_bounds: tuple[dt.date, ...] | None = attrs.field(init=False, repr=False, eq=False)
    case_index: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        bounds, index = None, ()
        if all(case.when is None for case in self.cases):
            bounds, firsts = _segments([(c.start, c.end) for c in self.cases])
            index = tuple(next((i for i, c in enumerate(self.cases, start=1) if _in_force(c.start, c.end, day)), 0)
                          for day in firsts)
        object.__setattr__(self, "case_bounds", bounds)
        object.__setattr__(self, "case_index", index)


def _in_force(start: dt.date | None, end: dt.date | None, at: dt.date) -> bool:
    return (start is None or start <= at) and (end is None or at <= end)


def _segments(periods: list[tuple[dt.date | None, dt.date | None]]) -> tuple[tuple[dt.date, ...], list[dt.date]]:
    """(bounds, firsts): the days where some period starts or the day after one ends, sorted, and a
    day standing for each run of days between them; `bisect_right(bounds, at)` is `at`'s run."""
    bounds = sorted({start for start, _ in periods if start is not None}
                    | {end + dt.timedelta(days=1) for _, end in periods if end is not None and end < dt.date.max})
    return tuple(bounds), [dt.date.min] + bounds


@attrs.frozen(kw_only=True)
class CompiledConsequence:
    """A rule's consequence, compiled: `end` gives the duration (`for`) or the date (`until`)."""

    kind: str
    period: str | None  # for | until | permanent
    end: Fn | None
    amount: Fn | None
    text: Mapping[str, str]
    parts: Mapping[str, tuple[tuple[str, str | None], ...]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "parts", {lang: split_template(t) for lang, t in self.text.items()})


@attrs.frozen(kw_only=True)
class CompiledRule:
    name: str
    label: Mapping[str, str]
    kind: str  # require | fire
    outcome: str
    code: str
    message: Mapping[str, str]
    start: dt.date | None
    end: dt.date | None
    scope: Fn | None
    condition: Fn | None
    exceptions: tuple[str, ...]
    exception_to: tuple[str, ...]
    source: Mapping[str, str] | None
    reads: frozenset[str]
    placeholder_defines: tuple[str, ...] = ()  # the defines its message shows: a firing needs their values
    consequences: tuple[CompiledConsequence, ...] = ()
    message_parts: Mapping[str, tuple[tuple[str, str | None], ...]] = attrs.field(init=False, repr=False, eq=False)
    # the Reason every firing gives when the message has no placeholders (it then reads no facts)
    static_reason: Reason | None = attrs.field(init=False, repr=False, eq=False)
    requires: bool = attrs.field(init=False, repr=False, eq=False)  # kind == "require"

    def __attrs_post_init__(self) -> None:
        parts = {lang: split_template(t) for lang, t in self.message.items()}
        object.__setattr__(self, "message_parts", parts)
        object.__setattr__(self, "requires", self.kind == "require")
        static = None
        if not self.consequences and all(len(p) == 1 and p[0][1] is None for p in parts.values()):
            static = make_reason(self.name, self.code, self.outcome, self.message, self.source)
        object.__setattr__(self, "static_reason", static)

    def in_force(self, at: dt.date) -> bool:
        return _in_force(self.start, self.end, at)


@attrs.frozen(kw_only=True)
class CompiledProperty:
    """A property's premise and claim as closures over an Env whose `decision` is set."""

    name: str
    label: Mapping[str, str]
    start: dt.date | None
    end: dt.date | None
    premise: Fn | None
    claim: Fn
    premise_reads_decision: bool

    def in_period(self, at: dt.date) -> bool:
        return _in_force(self.start, self.end, at)


@attrs.frozen(kw_only=True)
class CompiledPolicy:
    id: str
    title: Mapping[str, str]
    start: dt.date | None
    end: dt.date | None
    inputs: Mapping[str, InputSpec]
    defines: Mapping[str, CompiledDefine]
    rules: tuple[CompiledRule, ...]
    value_kinds: Mapping[str, str]  # input or define path -> kind, for messages
    enum_labels: Mapping[str, Mapping[str, Mapping[str, str]]]  # enum -> value -> {"zh", "en"}
    value_enums: Mapping[str, str]  # input or define path of an enum or set type -> its enum
    coverage_items: tuple[str, ...] = ()
    properties: tuple[CompiledProperty, ...] = ()
    applies: Fn | None = None  # `applies when …`: whether a whole-book decision decides it for a record
    rule_index: Mapping[str, CompiledRule] = attrs.field(init=False, repr=False, eq=False)
    fact_plan: FactPlan = attrs.field(init=False, repr=False, eq=False)
    # the rules in force between consecutive rule start/end dates: `rules_in_force(at)`
    _bounds: tuple[dt.date, ...] = attrs.field(init=False, repr=False, eq=False)
    _in_force: tuple[tuple[CompiledRule, ...], ...] = attrs.field(init=False, repr=False, eq=False)
    # per run of days, the (scope, condition or None when the rule fires unconditionally, rule) of
    # each rule in force: the fast evaluation loop
    _checks: tuple[tuple[tuple[Fn | None, Fn | None, CompiledRule], ...], ...] = attrs.field(
        init=False, repr=False, eq=False)
    has_exceptions: bool = attrs.field(init=False, repr=False, eq=False)  # some rule has exceptions
    # per run of days, {define path: value} for each define whose cases are all literals without a
    # `when` and one of which is in force then: what value_of would compute, ready for Env.cache
    _static: tuple[dict[str, Any], ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "rule_index", {r.name: r for r in self.rules})
        object.__setattr__(self, "fact_plan", FactPlan(self.inputs))
        object.__setattr__(self, "has_exceptions", any(r.exceptions or r.exception_to for r in self.rules))
        static = [d for d in self.defines.values()
                  if d.case_bounds is not None and all(c.constant[0] for c in d.cases)]
        bounds, firsts = _segments([(r.start, r.end) for r in self.rules]
                                   + [(c.start, c.end) for d in static for c in d.cases])
        in_force = tuple(tuple(r for r in self.rules if r.in_force(day)) for day in firsts)
        object.__setattr__(self, "_static", tuple(
            {d.path: d.cases[i - 1].constant[1] for d in static
             for i in (d.case_index[bisect_right(d.case_bounds, day)],) if i} for day in firsts))
        object.__setattr__(self, "_bounds", bounds)
        object.__setattr__(self, "_in_force", in_force)
        object.__setattr__(self, "_checks", tuple(tuple((r.scope, r.condition if r.requires else None, r) for r in rules)
                                                  for rules in in_force))

    def rules_in_force(self, at: dt.date) -> tuple[CompiledRule, ...]:
        """The rules in force on `at`, in policy order."""
        return self._in_force[bisect_right(self._bounds, at)]

    def labeler(self, path: str):
        """value -> {"zh", "en"} labels for the enum values of the input or define at `path`."""
        return self.enum_labels.get(self.value_enums.get(path, ""), {}).__getitem__
