"""Static analyses over one checked policy: table gaps/overlaps/shadowed rows, matrix cells, periods (supersession,
define cases, rules outside their policy), rollouts, exceptions; and, over the whole model, enum values no policy
mentions (an `info` note)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Iterable, Iterator, Mapping

from policydsl import diagnostics as dg
from policydsl.errors import InternalError
from policydsl import i18n
from policydsl.semantics.model import MAX_CASES, Model, Policy
from policydsl.semantics.types import Type
from policydsl.syntax import ast

ONE_DAY = dt.timedelta(days=1)
EPS = Decimal("1e-12")  # how far an open decimal bound is moved inwards


def run_all(policy: Policy, model: Model) -> list[dg.Diagnostic]:
    return [d for analysis in ANALYSES for d in analysis(policy, model)]


def notes(model: Model) -> list[dg.Diagnostic]:
    """The `info` notes over the whole model (not problems), sorted.

    Kept out of the checker's diagnostics on purpose: an analysis's diagnostics are the problems every tool
    reports (a clean book has none), while notes are asked for — `check --info` and the language server.
    """
    return dg.DiagnosticBag([d for analysis in NOTES for d in analysis(model)]).sorted()


# ------------------------------------------------------------------ tables
def table_ranges(policy: Policy, model: Model) -> Iterator[dg.Diagnostic]:
    for table in policy.tables.values():
        decl = table.decl
        if table.kind != "range":
            continue
        kind = table.param_types[0].kind
        integer = kind == "count"
        rows = []
        for index, row in enumerate(decl.rows, start=1):
            iv = row.key
            if not isinstance(iv, ast.Interval):  # the checker types a range table's keys as intervals
                raise InternalError(f"range table {decl.name.value}: a row key is no interval")
            lo, hi = _normalise(iv, integer)
            if iv.low is not None and iv.high is not None and iv.low > iv.high:
                yield dg.make("P0504", iv.span, low=_fmt(iv.low, iv.low_kind), high=_fmt(iv.high, iv.high_kind))
                continue
            if lo is not None and hi is not None and lo > hi:
                continue  # empty but not reversed, e.g. (5, 5] or (0, 1) over counts: it covers nothing
            rows.append((index, lo, hi, row))
        yield from _gaps(decl, rows, kind)
        if decl.hit == "unique":
            yield from _overlaps(decl, rows, kind)
        if decl.hit in ("first", "priority"):
            yield from _shadowed(decl, rows, kind)
        if decl.hit == "collect" and decl.aggregator and not table.result.is_numeric:
            yield dg.make("P0505", decl.name.span, hit=f"collect {decl.aggregator}", type=table.result.display())


def _normalise(iv: ast.Interval, integer: bool) -> tuple[Decimal | None, Decimal | None]:
    """Closed bounds over integers; over decimals open bounds are kept as (value, open) via tiny shifts."""
    lo, hi = (None if v is None else Decimal(v) for v in (iv.low, iv.high))
    if integer:
        if lo is not None and not iv.low_closed:
            lo = Decimal(int(lo) + 1)
        if hi is not None and not iv.high_closed:
            hi = Decimal(int(hi) - 1) if hi == int(hi) else Decimal(int(hi))
        if lo is not None and lo != int(lo):
            lo = Decimal(int(lo) + 1)
        return lo, hi
    if lo is not None and not iv.low_closed:
        lo += EPS
    if hi is not None and not iv.high_closed:
        hi -= EPS
    return lo, hi


def _gaps(decl: ast.TableDecl, rows, kind: str) -> Iterator[dg.Diagnostic]:
    """Walk the covered set from 0 upwards (every numeric fact is non-negative) and report holes."""
    if decl.hit == "collect":
        return
    step = Decimal(1) if kind == "count" else EPS
    point = Decimal(0)
    for _, lo, hi, _row in sorted(rows, key=lambda r: (Decimal(-1) if r[1] is None else r[1])):
        lo = Decimal(0) if lo is None else lo
        if lo > point:
            gap_end = lo - step
            yield dg.make("P0501", decl.name.span, table=decl.name.value, gap=_range_text(point, gap_end, kind))
        if hi is None:
            return
        point = max(point, hi + step)
    yield dg.make("P0501", decl.name.span, table=decl.name.value,
                  gap=_range_text(point, None, kind))


def _overlaps(decl: ast.TableDecl, rows, kind: str) -> Iterator[dg.Diagnostic]:
    for i, (ia, alo, ahi, arow) in enumerate(rows):
        for ib, blo, bhi, brow in rows[i + 1:]:
            lo = max(alo if alo is not None else Decimal(0), blo if blo is not None else Decimal(0))
            his = [h for h in (ahi, bhi) if h is not None]
            hi = min(his) if his else None
            if hi is None or lo <= hi:
                yield dg.make("P0502", brow.key.span, table=decl.name.value, a=ia, b=ib,
                              overlap=_range_text(lo, hi, kind),
                              related=[(arow.key.span, "P0502.related")])


def _shadowed(decl: ast.TableDecl, rows, kind: str) -> Iterator[dg.Diagnostic]:
    """Rows the lookup can never return: every value a row matches is also matched by rows that win over it.

    As in the compiler's `range_lookup`: under `hit first` the earliest matching row wins; under `hit priority`
    the highest priority (no priority is 0), and among equals the earliest, since `max()` keeps the first.
    A row only partly covered by winners is still used and is not reported (overlap is allowed here).
    `rows` hold normalised closed bounds (see `_normalise`); None is unbounded.
    """
    step = Decimal(1) if kind == "count" else EPS

    def wins(a, b) -> bool:  # does row a take precedence over row b where both match?
        if decl.hit == "first":
            return a[0] < b[0]
        pa, pb = a[3].priority or 0, b[3].priority or 0
        return pa > pb or (pa == pb and a[0] < b[0])

    def meets(a, b) -> bool:
        return ((a[1] is None or b[2] is None or a[1] <= b[2])
                and (b[1] is None or a[2] is None or b[1] <= a[2]))

    for b in rows:
        winners = [a for a in rows if a is not b and wins(a, b) and meets(a, b)]
        if winners and _covers([(a[1], a[2]) for a in winners], b[1], b[2], step):
            winners.sort(key=lambda a: a[0])
            numbers = [str(a[0]) for a in winners]
            yield dg.make("P0509", b[3].key.span, severity="warning", table=decl.name.value, row=b[0],
                          interval=b[3].key.span.text, rows={lang: i18n.t("list.sep", lang).join(numbers) for lang in i18n.LANGS},
                          hit=decl.hit, related=[(a[3].key.span, "P0509.related") for a in winners])


def _covers(intervals, lo: Decimal | None, hi: Decimal | None, step: Decimal) -> bool:
    """Whether the union of closed `intervals` (None: unbounded) contains all of [lo, hi]."""
    point = lo  # the least value not yet known to be covered; None is -inf
    for alo, ahi in sorted(intervals, key=lambda iv: (iv[0] is not None, iv[0] or 0)):
        if alo is not None and (point is None or alo > point):
            return False
        if ahi is None:
            return True
        point = ahi + step if point is None else max(point, ahi + step)
        if hi is not None and point > hi:
            return True
    return False


def _range_text(lo: Decimal, hi: Decimal | None, kind: str) -> str:
    """A stretch of values as the author writes it: `180`, `[91, 99]`, `(¥100, inf)`, `[0%, 50%)`."""
    lo, lo_open = _unshift(lo, kind)
    if hi is None:
        return f"{'(' if lo_open else '['}{_fmt(lo, kind)}, inf)"
    hi, hi_open = _unshift(hi, kind)
    if lo == hi and not (lo_open or hi_open):
        return _fmt(lo, kind)
    return f"{'(' if lo_open else '['}{_fmt(lo, kind)}, {_fmt(hi, kind)}{')' if hi_open else ']'}"


def _unshift(value: Decimal, kind: str) -> tuple[Decimal, bool]:
    """Undo the tiny shift `_normalise` gives an open decimal bound: (the bound, whether it is open)."""
    if kind == "count":
        return value.quantize(Decimal(1)), False
    try:
        exact = value.quantize(Decimal("1e-9"))
    except InvalidOperation:
        return value, False
    return exact, exact != value


def _fmt(value: Decimal | int, kind: str) -> str:
    if kind == "percent":
        return format((Decimal(value) * 100).normalize(), "f") + "%"
    text = format(Decimal(value).normalize(), "f")
    return "¥" + text if kind == "money" else text


def _enum_of(typ: Type, model: Model) -> ast.EnumDecl:
    """The enum a key parameter of an enum or matrix table is typed by (the checker set it)."""
    if typ.enum is None:
        raise InternalError(f"an enum-keyed table parameter of type {typ.kind} names no enum")
    return model.enums[typ.enum]


def table_cells(policy: Policy, model: Model) -> Iterator[dg.Diagnostic]:
    for table in policy.tables.values():
        decl = table.decl
        if table.kind == "enum":
            enum = _enum_of(table.param_types[0], model)
            # the checker made a table "enum" only when every row key is a name
            keys = [r.key for r in decl.rows if isinstance(r.key, ast.Name)]
            yield from _keys(decl, keys, enum)
            covered = {key.value for key in keys}
            missing = [v.name.value for v in enum.values if v.name.value not in covered]
            if missing and decl.hit != "collect":
                yield dg.make("P0503", decl.name.span, table=decl.name.value, cells=", ".join(missing))
        elif table.kind == "matrix":
            row_enum = _enum_of(table.param_types[0], model)
            col_enum = _enum_of(table.param_types[1], model)
            yield from _keys(decl, decl.columns, col_enum)
            yield from _keys(decl, [r.key for r in decl.matrix], row_enum)
            for row in decl.matrix:
                if len(row.cells) != len(decl.columns):
                    yield dg.make("P0507", row.span, found=len(row.cells), expected=len(decl.columns))
            rows = {r.key.value for r in decl.matrix}
            cols = {c.value for c in decl.columns}
            missing = [f"({r.name.value}, {c.name.value})" for r in row_enum.values for c in col_enum.values
                       if r.name.value not in rows or c.name.value not in cols]
            if missing:
                yield dg.make("P0503", decl.name.span, table=decl.name.value, cells=", ".join(missing))


def _keys(decl: ast.TableDecl, keys, enum: ast.EnumDecl) -> Iterator[dg.Diagnostic]:
    values = {v.name.value for v in enum.values}
    seen: dict[str, ast.Name] = {}
    for key in keys:
        if key.value not in values:
            yield dg.make("P0206", key.span, value=key.value, enum=enum.name.value)
        elif key.value in seen:
            yield dg.make("P0506", key.span, name=key.value, table=decl.name.value,
                          related=[(seen[key.value].span, "P0202.related")])
        seen.setdefault(key.value, key)


# ------------------------------------------------------------------ time
def periods(policy: Policy, model: Model) -> Iterator[dg.Diagnostic]:
    effs = [policy.decl.effective] + [r.decl.effective for r in policy.rules]
    for eff in effs:
        if eff is not None and eff.start and eff.end and eff.start > eff.end:
            yield dg.make("P0601", eff.span, start=eff.start, end=eff.end)
    rules = {r.name: r.decl for r in policy.rules}
    for rule in rules.values():
        if rule.supersedes is None or rule.supersedes.value not in rules:
            continue
        old = rules[rule.supersedes.value]
        old_start, old_end = _period(old.effective)
        new_start, new_end = _period(rule.effective)
        start, end = max(old_start, new_start), min(old_end, new_end)
        if start <= end:
            yield dg.make("P0602", rule.supersedes.span, a=rule.name.value, b=old.name.value,
                          start=_open_start(start), end=_open_end(end), hint_args=_until_hint(old_start, new_start))
        elif old_end < dt.date.max and new_start > old_end + ONE_DAY:
            yield dg.make("P0606", rule.supersedes.span, severity="warning", a=rule.name.value, b=old.name.value,
                          start=old_end + ONE_DAY, end=new_start - ONE_DAY)
    for define in policy.defines.values():
        cases = [c for c in define.decl.cases if c.when is None]
        for i, a in enumerate(cases):
            if a.start and a.end and a.start > a.end:
                yield dg.make("P0601", a.span, start=a.start, end=a.end)
            for b in cases[i + 1:]:
                start = max(a.start or dt.date.min, b.start or dt.date.min)
                end = min(a.end or dt.date.max, b.end or dt.date.max)
                if start <= end:
                    yield dg.make("P0602", b.span, a=f"{define.path} = {a.expr.span.text}",
                                  b=f"{define.path} = {b.expr.span.text}", start=_open_start(start), end=_open_end(end),
                                  hint_args=_until_hint(a.start or dt.date.min, b.start or dt.date.min))


def define_gaps(policy: Policy, model: Model) -> Iterator[dg.Diagnostic]:
    """Days of the policy's effective period on which a dated define has no case in force (E.no_case at run time).

    Only defines whose cases are all unconditional and at least one dated: a case with `when` may not
    apply, so a define with one legitimately has no value for some facts.
    """
    p_start, p_end = _period(policy.decl.effective)
    if p_start > p_end:
        return  # P0601 already
    for define in policy.defines.values():
        cases = define.decl.cases
        if not cases or any(c.when is not None for c in cases) or not any(c.start or c.end for c in cases):
            continue
        spans = sorted((c.start or dt.date.min, c.end or dt.date.max) for c in cases
                       if not (c.start and c.end and c.start > c.end))
        if not spans:
            continue
        # A policy that declares no start is taken to begin with the define's earliest case: the days before
        # it are before the rule existed, not a hole in it. (An open end is a real hole: the last case lapses.)
        start_at = p_start if policy.decl.effective and policy.decl.effective.start else spans[0][0]
        for start, end in _holes(spans, start_at, p_end):
            yield dg.make("P0608", define.decl.path.span, severity="warning", name=define.path,
                          start=_open_start(start), end=_open_end(end))


def _holes(spans: list[tuple[dt.date, dt.date]], start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    """The stretches of [start, end] that no (sorted) span covers."""
    point = start  # the first day not yet known to be covered
    for lo, hi in spans:
        if lo > point:
            yield point, min(lo - ONE_DAY, end)
        if hi >= end:
            return
        point = max(point, hi + ONE_DAY)
        if point > end:
            return
    if point <= end:
        yield point, end


def rules_outside_policy(policy: Policy, model: Model) -> Iterator[dg.Diagnostic]:
    """Explicit rule dates before the policy starts or after it ends: the rule can never be in force then."""
    p_start, p_end = _period(policy.decl.effective)
    if p_start > p_end:
        return
    for rule in policy.rules:
        eff = rule.decl.effective
        if eff is None or (eff.start and eff.end and eff.start > eff.end):
            continue
        r_start, r_end = _period(eff)
        stretches = []
        if eff.start is not None and eff.start < p_start:
            stretches.append((r_start, min(r_end, p_start - ONE_DAY)))
        if eff.end is not None and eff.end > p_end:
            stretches.append((max(r_start, p_end + ONE_DAY), r_end))
        for start, end in stretches:
            yield dg.make("P0609", eff.span, severity="warning", rule=rule.name, policy=policy.id,
                          start=_open_start(start), end=_open_end(end),
                          policy_start=_open_start(p_start), policy_end=_open_end(p_end))


def _period(eff: ast.Effective | None) -> tuple[dt.date, dt.date]:
    if eff is None:
        return dt.date.min, dt.date.max
    return eff.start or dt.date.min, eff.end or dt.date.max


def _until_hint(a_start: dt.date, b_start: dt.date) -> dict[str, str] | None:
    """The `until` that ends the earlier of two overlapping versions the day before the later one starts."""
    if a_start == b_start:
        return None  # neither is earlier: no `until` separates them, so no hint
    return {"until": (max(a_start, b_start) - ONE_DAY).isoformat()}


def _open_end(day: dt.date) -> str:
    return "…" if day == dt.date.max else day.isoformat()


def _open_start(day: dt.date) -> str:
    return "…" if day == dt.date.min else day.isoformat()


def rollouts(policy: Policy, model: Model) -> Iterator[dg.Diagnostic]:
    for rollout in policy.rollouts.values():
        if rollout.phases and rollout.phases[-1].ramp_to < 1:
            last = rollout.phases[-1]
            yield dg.make("P0607", last.span, severity="warning", rollout=rollout.name.value,
                          share=f"{(last.ramp_to * 100).normalize():f}%", end=last.end)
        previous = None
        for phase in rollout.phases:
            reason = None
            if phase.start > phase.end:
                reason = i18n.both("phase.reversed", start=phase.start, end=phase.end)
            elif not (0 <= phase.ramp_from <= phase.ramp_to <= 1):
                reason = i18n.both("phase.ramp")
            elif previous is not None and phase.start != previous.end + ONE_DAY:
                reason = i18n.both("phase.gap", day=previous.end + ONE_DAY)
            elif previous is not None and phase.ramp_from < previous.ramp_to:
                reason = i18n.both("phase.drop")
            if reason:
                yield dg.make("P0603", phase.span, phase=phase.name.value, reason=reason)
            previous = phase


# ------------------------------------------------------------------ exceptions
def circles(graph: Mapping[str, Iterable[str]]) -> Iterator[tuple[str, str, str]]:
    """The circles of `graph` where one depth-first walk closes them, each as (the node it closes at, the node it
    goes back to, the circle as text, a long one shown briefly): every edge is followed once, so at most one
    circle per edge, and a circle reported costs its length (never one walk per circle)."""
    state: dict[str, int] = {}  # 1: on the walk's trail, 2: done
    for root in graph:
        if root in state:
            continue
        state[root], trail, pending = 1, [root], [iter(graph[root])]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                state[trail.pop()] = 2
                pending.pop()
            elif state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt]
                shown = cycle if len(cycle) <= 12 else [*cycle[:6], f"…({len(cycle) - 11})…", *cycle[-5:]]
                yield trail[-1], nxt, " → ".join(shown)
            elif nxt not in state:
                state[nxt] = 1
                trail.append(nxt)
                pending.append(iter(graph[nxt]))


def exceptions(policy: Policy, model: Model) -> Iterator[dg.Diagnostic]:
    rules = {r.name: r.decl for r in policy.rules}
    graph = {name: [t.value for t in rule.exception_to if t.value in rules] for name, rule in rules.items()}
    # at most one P0604 per `exception to` written, however many circles they make: listing every simple circle
    # took exponential time (a hang on a file of 12 rules each an exception to all the others)
    for node, nxt, text in circles(graph):
        yield dg.make("P0604", next(t.span for t in rules[node].exception_to if t.value == nxt), cycle=text)
    for rule in policy.rules:
        if len(rule.exceptions) > MAX_CASES:
            yield dg.make("P0126", rules[rule.name].name.span, rule=rule.name, found=len(rule.exceptions), limit=MAX_CASES)
        by_priority: dict[int, list[str]] = {}
        for exc in rule.exceptions:
            by_priority.setdefault(rules[exc].priority, []).append(exc)
        for priority, names in by_priority.items():
            if len(names) > 1:
                span = next(t.span for t in rules[names[1]].exception_to if t.value == rule.name)
                yield dg.make("P0605", span, rule=rule.name, priority=priority, others=", ".join(names))


# ------------------------------------------------------------------ enums (the whole model)
def unmentioned_enum_values(model: Model) -> Iterator[dg.Diagnostic]:
    """Values of an enum some policy uses that no policy mentions: an `info` note, not a problem.

    A policy uses an enum when one of its inputs, defines or table parameters/results is typed by it (or by a
    set of it). A value is mentioned by any expression or set literal resolved to it, a row key or column of
    a table keyed by the enum, or a cell of a table whose result is the enum (or a set of it). An enum no
    policy uses is left alone (a shared file may declare enums ahead of the policies that need them), and so
    is an enum of a shared file (one without a policy) when only one policy is checked: `check FILE` loads
    the shared file but not the other policies that may mention its values.
    """
    policy_files = {p.file for p in model.policies.values()}
    whole_book = len(model.policies) >= 2
    # every name the checker resolved to a value: expressions, set literals, table rows, cells and columns
    mentioned = {o.key for o in model.names if o.key[0] == "value" and not o.is_def}
    used = {typ.enum for policy in model.policies.values()
            for typ in [*(i.type for i in policy.inputs.values()), *(d.type for d in policy.defines.values()),
                        *(t for table in policy.tables.values() for t in (*table.param_types, table.result))]
            if typ.enum is not None}
    for name, enum in model.enums.items():
        if name not in used or (enum.span.file not in policy_files and not whole_book):
            continue
        for value in enum.values:
            if ("value", name, value.name.value) not in mentioned:
                yield dg.make("P0209", value.name.span, severity="info", enum=name, value=value.name.value)


ANALYSES = (table_ranges, table_cells, periods, define_gaps, rules_outside_policy, rollouts, exceptions)
NOTES = (unmentioned_enum_values,)
