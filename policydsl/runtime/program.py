"""The evaluable form of a policy: plain data plus the Python functions compile/codegen.py generated
for it, and the helpers those functions call. No AST node is kept: only the labels, dates, table
cells and rollout phases the generated code reads."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Callable, Mapping

import attrs

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.runtime import calendar as cal
from policydsl.runtime import exact
from policydsl.runtime import rollout as ro
from policydsl.runtime import values as rv
from policydsl.runtime.decision import (NO_UNRESOLVED, Consequence, Decision, LazyText, Reason, RuleReason, TraceEvent,
                                       make_decision)
from policydsl.runtime.facts import CONVERTERS, InputSpec, prepare
from policydsl.runtime.values import NOT_OPEN

Template = tuple[tuple[str, str | None], ...]
"""A text as the builder split it: `"粉丝数 {a.fans}，不足"` is (("粉丝数 ", "a.fans"), ("，不足", None))."""


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


# ------------------------------------------------------------------ the compiled policy
@attrs.frozen(kw_only=True)
class RuleInfo:
    """What a decision says of a rule: its labels, outcome, code, message and consequences' texts."""

    name: str
    label: Mapping[str, str]
    kind: str  # require | fire
    outcome: str
    code: str
    message: Mapping[str, Template]
    source: Mapping[str, str] | None
    start: dt.date | None
    end: dt.date | None
    exceptions: tuple[str, ...]  # the rules that are exceptions to it, highest priority first
    exception_to: tuple[str, ...]
    placeholders: tuple[str, ...]  # the paths its message shows, in order of first mention
    placeholder_defines: tuple[str, ...]  # those that are values: a firing needs them
    reads: frozenset[str]  # every input its scope and condition may read, through values and rollouts
    consequences: tuple[tuple[str, str | None, Mapping[str, Template]], ...] = ()  # (kind, period, text)
    consequence_reads: tuple[frozenset[str], ...] = ()  # per consequence, the inputs its end and amount may read


@attrs.frozen(kw_only=True)
class DefineInfo:
    path: str
    kind: str
    label: Mapping[str, str]
    reads: frozenset[str]  # every input its cases may read, through other values and rollouts


@attrs.frozen(kw_only=True)
class CompiledProperty:
    """A property's premise and claim as generated functions `(facts, at, decision) -> value`."""

    name: str
    label: Mapping[str, str]
    start: dt.date | None
    end: dt.date | None
    premise: Callable[..., Any] | None
    claim: Callable[..., Any]
    premise_reads_decision: bool

    def in_period(self, at: dt.date) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at <= self.end)


@attrs.frozen(kw_only=True)
class CompiledPolicy:
    id: str
    title: Mapping[str, str]
    start: dt.date | None
    end: dt.date | None
    inputs: Mapping[str, InputSpec]
    defines: Mapping[str, DefineInfo]
    rules: tuple[RuleInfo, ...]
    value_kinds: Mapping[str, str]  # input or define path -> kind, for messages
    enum_labels: Mapping[str, Mapping[str, Mapping[str, str]]]  # enum (of those it uses) -> value -> labels
    value_enums: Mapping[str, str]  # input or define path of an enum or set type -> its enum
    value_units: Mapping[str, Mapping[str, str]]  # input or define path of a count or number with a unit -> its labels
    coverage_items: tuple[str, ...]
    fast: Callable[..., Any] = attrs.field(repr=False, eq=False)  # (facts, at, None) -> Decision
    traced: Callable[..., Any] = attrs.field(repr=False, eq=False)  # (facts, at, hits) -> Decision with trace
    properties: tuple[CompiledProperty, ...] = ()
    applies: Callable[..., Any] | None = None  # (facts, at, None): `applies when …`
    decide: Decide | None = attrs.field(default=None, repr=False, eq=False)  # what fills its messages
    rule_index: Mapping[str, RuleInfo] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "rule_index", {r.name: r for r in self.rules})

    def labeler(self, path: str):
        """value -> {"zh", "en"} labels for the enum values of the input or define at `path`."""
        return self.enum_labels.get(self.value_enums.get(path, ""), {}).__getitem__

    def show(self, path: str, value: Any, lang: str) -> str:
        """The text a reader sees for the value of the input or define at `path`: an enum's label, a
        count's digits with its unit (`1000 人`), as messages show it."""
        return rv.display(self.value_kinds[path], value, lang, self.labeler(path), self.value_units.get(path))


# ------------------------------------------------------------------ what generated code calls
class Fail:
    """A value that could not be computed: reading it raises `exc` (None: no case in force that day)."""

    __slots__ = ("exc", "path")

    def __init__(self, exc: Exception | None, path: str) -> None:
        self.exc, self.path = exc, path

    def read(self, at: dt.date) -> Any:
        if self.exc is None:
            raise PolicyDslError("E.no_case", name=self.path, at=at.isoformat())
        raise self.exc


def in_force(policy: str, start: dt.date | None, end: dt.date | None) -> Callable[[Any, dt.date], Any]:
    """`PERIOD(record, at)` of a policy's generated code: the record, or E.not_in_force."""
    def period(record: Any, at: dt.date) -> Any:
        if (start and at < start) or (end and at > end):
            text = f"{start or '…'} – {end or '…'}"
            raise PolicyDslError("E.not_in_force", policy=policy, at=at.isoformat(), period=text)
        return record
    return period


def miss(path: str) -> Any:
    raise MissingFact(path)


def open_(value: Any, text: str) -> Any:
    if value is NOT_OPEN:
        raise PolicyDslError("E.not_open_arith", name=text)
    return value


# Missing facts follow Kleene's three-valued logic for `and`/`or`: an operand that lacks facts does
# not decide when the other operand does; a strict operator needs all its operands and, when one
# lacks facts, evaluates the others only to name theirs too (one evaluation names every missing fact).
def k_bool(left: Callable[[], Any], right: Callable[[], Any], absorbing: bool) -> Any:
    """`left and right` (`absorbing` False) or `left or right` (True), under Kleene's logic."""
    try:
        a = left()
    except MissingFact as missing:
        try:
            value = right()
        except MissingFact as also:
            raise missing.joined(also) from None
        except PolicyDslError:  # `right` may fail only because the missing side would have guarded it
            raise missing from None
        if bool(value) is absorbing:
            return absorbing
        raise missing
    return a if bool(a) is absorbing else right()


def k_all(*fns: Callable[[], Any]) -> list[Any]:
    """Every operand's value, in order; when one lacks facts, those the later ones lack are named too."""
    out = []
    for index, fn in enumerate(fns):
        try:
            out.append(fn())
        except MissingFact as missing:
            for other in fns[index + 1:]:
                try:
                    other()
                except MissingFact as also:
                    missing = missing.joined(also)
                except PolicyDslError:
                    pass
            raise missing from None
    return out


def k_aggregate(func: str, items: Any, body: Callable[[Any], Any]) -> Any:
    results, missing = [], None
    for value in sorted(items):
        try:
            results.append(body(value))
        except MissingFact as exc:
            missing = exc if missing is None else missing.joined(exc)
        except PolicyDslError:
            if missing is None:
                raise
    if missing is not None:  # Kleene: one true body decides `any`, one false body decides `all`
        if func == "any" and any(results) or func == "all" and not all(results):
            return func == "any"
        raise missing
    return aggregate(func, results)


def aggregate(func: str, results: list[Any]) -> Any:
    if func == "any":
        return any(results)
    if func == "all":
        return all(results)
    return EXTREMES[func](results) if func in EXTREMES else total(results)


def total(results: list[Any]) -> Any:
    if NOT_OPEN_ID in map(id, results):  # by identity: `==` with a Decimal asks numbers.Rational first (slow)
        return NOT_OPEN
    return exact.total(results, "sum") if results and isinstance(results[0], Decimal) else sum(results)


def largest(results: list[Any]) -> Any:
    if not results:
        raise PolicyDslError("E.empty_aggregate", agg="max")
    return NOT_OPEN if NOT_OPEN_ID in map(id, results) else max(results)


def smallest(results: list[Any]) -> Any:
    if not results:
        raise PolicyDslError("E.empty_aggregate", agg="min")
    return NOT_OPEN if NOT_OPEN_ID in map(id, results) else min(results)


EXTREMES = {"max": largest, "min": smallest}
NOT_OPEN_ID = id(NOT_OPEN)


def divide(a: Any, b: Any, text: str) -> Any:
    if b == 0:
        raise PolicyDslError("E.division_by_zero")
    return exact.divide(a, b, text)


def negate(value: Any) -> Any:
    """`-x`, exact: Decimal's unary minus rounds to the thread's context (28 digits), and a number fact may
    carry 34 significant digits."""
    return value.copy_negate() if type(value) is Decimal else -value


def shift(day: Any, duration: tuple[int, str], sign: int) -> Any:
    return cal.add_duration(day, sign * duration[0], duration[1])


def days(a: dt.date, b: dt.date) -> int:
    return (a - b).days


def covered(hits: set[str] | None, name: str, phases: tuple[ro.PhaseSpec, ...], key: Any, at: dt.date) -> bool:
    if hits is not None:
        hits.add(f"phase:{name}:{ro.phase_at(phases, at)}")
    return ro.covered(name, phases, str(key), at)


def book_value(decision: Any, pid: str, path: str) -> Any:
    """A value a policy's part of the whole-book decision computed (a book property reads it)."""
    part = decision.part(pid)
    if part.error is not None:
        raise part.error
    if path in part.decision.values:
        return part.decision.values[path]
    raise MissingFact(*part.decision.unresolved.get(path, (path,)))


def fires(decision: Any, rule: str) -> bool:
    return any(ev.rule == rule and ev.status == "fired" for ev in decision.trace)


NOT_STATED = object()


class Table:
    """A decision table's cells as data: `lookup(hits, *keys)` records the cell it used in `hits`."""

    def __init__(self, name: str, kind: str, cells: Any, hit: str = "unique", agg: str | None = None) -> None:
        self.name, self.kind, self.cells, self.hit, self.agg = name, kind, cells, hit, agg
        # key -> value of the matrix or enum table's stated cells: untraced generated code reads these inline
        self.stated = {k: v for k, v in cells.items() if v is not NOT_STATED} if kind != "range" else {}

    def lookup(self, hits: set[str] | None, *keys: Any) -> Any:
        name = self.name
        if self.kind == "matrix":
            if hits is not None:
                hits.add(f"cell:{name}:{keys[0]},{keys[1]}")
            return stated(self.cells[keys], name, f"{keys[0]}, {keys[1]}")
        x = keys[0]
        if self.kind == "enum":
            if x not in self.cells:  # `hit collect` enum tables may leave values out
                raise PolicyDslError("E.no_row", table=name, value=str(x))
            if hits is not None:
                hits.add(f"cell:{name}:{x}")
            return stated(self.cells[x], name, x)
        return self._range(hits, x)

    def _range(self, hits: set[str] | None, x: Any) -> Any:
        matches = [row for row in self.cells if inside(row[1], x)]
        if not matches:
            raise PolicyDslError("E.no_row", table=self.name, value=str(x))
        used = (matches[:1] if self.hit in ("unique", "first") else
                [max(matches, key=lambda m: m[3])] if self.hit == "priority" else matches)
        if hits is not None:
            hits.update(f"cell:{self.name}:{row[0]}" for row in used)
        values = [stated(row[2], self.name, x) for row in used]
        return values[0] if self.hit != "collect" else aggregate(self.agg or "sum", values)


def stated(value: Any, table: str, key: Any) -> Any:
    if value is NOT_STATED:
        raise PolicyDslError("E.not_stated", table=table, key=str(key))
    return value


def inside(iv: tuple[Any, bool, Any, bool], x: Any) -> bool:
    low, low_closed, high, high_closed = iv
    if low is not None and (x < low or (x == low and not low_closed)):
        return False
    return not (high is not None and (x > high or (x == high and not high_closed)))


def note(missing: dict[str, None], exc: MissingFact) -> None:
    for path in exc.paths:
        missing[path] = None


class Decide:
    """The per-policy data a generated function's decision needs, and how it assembles one."""

    def __init__(self, policy_id: str, rules: tuple[RuleInfo, ...], defines: tuple[str, ...],
                 value_kinds: Mapping[str, str], inputs: Mapping[str, InputSpec], labeler: Any,
                 units: Mapping[str, Mapping[str, str]]) -> None:
        self.id, self.rules, self.defines, self.kinds, self.inputs = policy_id, rules, defines, value_kinds, inputs
        self.labeler, self.units = labeler, units
        self.said = tuple(RuleReason(r.name, r.code, r.outcome, r.source, self.renderer(r)) for r in rules)
        self.static = tuple(_make(Reason, (said, (), ())) for said in self.said)

    def renderer(self, rule: RuleInfo) -> Callable[[tuple[Any, ...]], Mapping[str, str]]:
        """shown values -> the rule's message filled in both languages."""
        message, placeholders = rule.message, rule.placeholders
        if not placeholders:
            fixed = MappingProxyType({lang: self.fill(template, {}, lang) for lang, template in message.items()})
            return lambda shown: fixed
        last: list[Any] = [None]  # the latest (shown, message): a reason's message is often read twice

        def render(shown: tuple[Any, ...]) -> Mapping[str, str]:
            hit = last[0]
            if hit is not None and hit[0] is shown:
                return hit[1]
            values = dict(zip(placeholders, shown))
            text = MappingProxyType({lang: self.fill(message[lang], values, lang) for lang in ("zh", "en")})
            last[0] = (shown, text)
            return text
        return render

    def reason(self, index: int, at: dt.date, shown: tuple[Any, ...], conseq: tuple[Any, ...]) -> Reason:
        """The reason rule `index` gives with the values its message shows and its consequences;
        MissingFact names every fact its consequences need and lack."""
        rule = self.rules[index]
        out = self.consequences(rule, at, dict(zip(rule.placeholders, shown)), conseq)
        return _make(Reason, (self.said[index], shown, out))

    def consequences(self, rule: RuleInfo, at: dt.date, shown: dict[str, Any],
                     thunks: tuple[Any, ...]) -> tuple[Consequence, ...]:
        out, missing = [], {}  # type: list[Consequence], dict[str, None]
        for (kind, period, text), (end, amount) in zip(rule.consequences, thunks):
            try:  # strict operands: the facts both the end and the amount lack are named
                until, value = k_all(end or _nothing, amount or _nothing)
            except MissingFact as exc:
                note(missing, exc)
                continue
            if period == "for":
                until = cal.add_duration(at, until[0], until[1])
            out.append(Consequence(rule=rule.name, code=rule.code, kind=kind, until=until,
                                   permanent=period == "permanent", amount=value,
                                   message=LazyText(lambda lang, text=text: self.fill(text[lang], shown, lang))))  # type: ignore[misc]  # mypy cannot infer a lambda with a default
        if missing:
            raise MissingFact(*missing)
        return tuple(out)

    def fill(self, template: Template, shown: dict[str, Any], lang: str) -> str:
        """A message with its placeholders filled, a count or number with its unit (`1000 人`); a value
        unknown (a fact the decision did not need and was not given) reads “（未提供）” / “(not given)”."""
        out = []
        for text, path in template:
            out.append(text)
            if path is not None:
                value = shown.get(path)
                if value is None or value is MISSING or type(value) is Fail or value is MASKED:
                    out.append(i18n.t("value.masked" if value is MASKED else "value.not_given", lang))
                else:
                    out.append(rv.display(self.kinds[path], value, lang, self.labeler(path), self.units.get(path)))
        return "".join(out)

    def finish(self, at: dt.date, fired: list[Reason], values: tuple[Any, ...],
               missing: dict[str, None] | None, trace: tuple[TraceEvent, ...], hits: set[str] | None) -> Any:
        """The decision from the fired rules' reasons and the values; the error naming every missing fact."""
        out, unresolved = {}, None
        for path, value in zip(self.defines, values):
            if type(value) is not Fail:
                out[path] = value
            elif value.exc is None:
                continue
            elif type(value.exc) is MissingFact:
                if unresolved is None:
                    unresolved = {}
                unresolved[path] = value.exc.paths
            else:
                raise value.exc
        reasons, warnings, allows = [], [], []  # type: list[Reason], list[Reason], list[Reason]
        for reason in fired:
            outcome = reason.outcome
            (reasons if outcome == "deny" else warnings if outcome == "warn" else allows).append(reason)
        if unresolved:
            missing = {} if missing is None else missing
            rules = {r.name: r for r in self.rules}
            for reason in (*(reasons or allows), *warnings):  # a value a message shows is needed
                for path in rules[reason.rule].placeholder_defines:
                    missing.update(dict.fromkeys(unresolved.get(path, ())))
        if missing:
            raise missing_error(self.inputs, missing, unresolved)
        return make_decision(self.id, at, "deny" if reasons else "allow", out, self.kinds,
                             tuple(reasons or allows), tuple(warnings), trace,
                             frozenset(hits) if hits is not None else NO_COVERAGE, unresolved)

    def event(self, index: int, status: str, reads: tuple[tuple[str, Any], ...], by: str | None) -> TraceEvent:
        return _make(TraceEvent, (self.rules[index].name, status, {p: v for p, v in reads if v is not MISSING}, by))


MISSING = object()  # a fact not given, in generated code's locals
MASKED = object()  # a value a decision log must not show (serve --mask): a message reads “［已掩码］” / “[masked]”


def _nothing() -> None:
    return None

_make = tuple.__new__
NO_COVERAGE: frozenset[str] = frozenset()


def missing_error(inputs: Mapping[str, InputSpec], missing: dict[str, None],
                  unresolved: Mapping[str, tuple[str, ...]] | None = None) -> PolicyDslError:
    """E.missing_facts naming every fact the decision lacks: those its rules needed, then those its
    values lacked (the decision failing anyway, one run names them all)."""
    for facts in (unresolved or {}).values():
        for fact in facts:
            missing[fact] = None

    def line(path: str, lang: str) -> str:
        if path not in inputs:  # a fact of another policy (a book property reading its values)
            return f"  - {path}"
        label = inputs[path].label
        return i18n.t("facts.missing", lang, path=path, zh=label["zh"], en=label["en"])
    items = {lang: "\n".join(line(p, lang) for p in missing) for lang in ("zh", "en")}
    return PolicyDslError("E.missing_facts", facts=missing, items=items)


RUNTIME = {"MissingFact": MissingFact, "PolicyDslError": PolicyDslError, "Fail": Fail, "miss": miss,
           "open_": open_, "k_bool": k_bool, "k_all": k_all, "k_aggregate": k_aggregate,
           "aggregate": aggregate, "largest": largest, "smallest": smallest, "total": total, "divide": divide, "negate": negate, "shift": shift, "days": days, "covered": covered,
           "book_value": book_value, "fires": fires, "convert": prepare, "note": note, "M": MISSING,
           "NOT_OPEN": NOT_OPEN, "CONVERTERS": CONVERTERS, "days_between": cal.days_between,
           "next_half_month": cal.next_half_month, "month_end": cal.month_end, "NO_COVERAGE": NO_COVERAGE,
           "Decision": Decision, "Reason": Reason, "TraceEvent": TraceEvent, "TN": tuple.__new__,
           "NO_UNRESOLVED": NO_UNRESOLVED, "NS": object(), "NOID": NOT_OPEN_ID}
