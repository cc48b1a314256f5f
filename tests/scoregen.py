"""Generated records for the differential tests of batch scoring (test_score_duckdb.py, test_score_spark.py):
for each policy of the book, records with random values, every boundary of its thresholds and table cells,
every date its periods start or end on and facts left out, decided by `PolicySet.evaluate` and by a plan on
an engine; every output must be equal (outcome, reason codes, warnings, consequences, values, not-open
flags, error code)."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from policydsl.errors import PolicyDslError
from policydsl.runtime import calendar as cal
from policydsl.runtime.values import NOT_OPEN
from policydsl.score import duckdb_backend as backend
from policydsl.score import plan as planning
from policydsl.semantics.model import Model, Policy
from policydsl.syntax import ast

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = ["cart.opening", "shop.deposit", "cart.metrics", "identity.verification", "shipping", "shop.entry_legacy",
             "alliance.eligibility", "cart.opening_flow", "deposit.refund", "enterprise.onboarding", "listing.approval",
             "listing.documents", "product.audit", "settlement",
             "official_account.own_store_only", "product.sharing",
             "content.assessment", "deposit.stage"]
# what each policy's generated records must reach at least once (outcomes and error codes)
REACHED = {"cart.opening": {"allow", "deny", "missing_facts", "not_in_force"},
           "shop.deposit": {"allow", "deny", "missing_facts", "not_in_force", "not_stated", "empty_aggregate"},
           "cart.metrics": {"allow", "missing_facts", "not_in_force", "warn"},
           "identity.verification": {"allow", "deny", "missing_facts"},
           "shipping": {"allow", "deny", "missing_facts"},
           "shop.entry_legacy": {"allow", "deny", "missing_facts", "not_in_force"},
           "alliance.eligibility": {"allow", "deny", "missing_facts", "bad_facts", "warn"},
           "cart.opening_flow": {"allow", "deny", "missing_facts", "not_in_force", "warn", "calendar_range"},
           "deposit.refund": {"allow", "deny", "missing_facts", "calendar_range"},
           "enterprise.onboarding": {"allow", "deny", "missing_facts", "calendar_range"},
           "listing.approval": {"allow", "deny", "missing_facts", "calendar_range"},
           "listing.documents": {"allow", "deny", "missing_facts"},
           "product.audit": {"allow", "deny", "missing_facts"},
           "settlement": {"allow", "missing_facts"},
           "official_account.own_store_only": {"allow", "deny", "missing_facts", "not_in_force"},
           "product.sharing": {"allow", "deny", "missing_facts"},
           "content.assessment": {"allow", "deny", "missing_facts", "consequence"},
           "deposit.stage": {"allow", "deny", "missing_facts", "consequence"}}


# ------------------------------------------------------------------ generated records
def expressions(policy: Policy) -> list[ast.Expr]:
    roots: list[ast.Expr] = []
    for rule in policy.rules:
        roots += [e for e in (rule.decl.scope, rule.decl.body.condition) if e is not None]
    for define in policy.defines.values():
        roots += [e for c in define.decl.cases for e in (c.expr, c.when) if e is not None]
    return roots


def boundaries(policy: Policy) -> tuple[set[int], set[Decimal]]:
    """Every number the policy compares with, and its neighbours: the thresholds and table bounds."""
    counts, exact = {0, 1}, {Decimal(0)}
    numbers: list[Any] = [n.value for n in ast.walk(tuple(expressions(policy))) if isinstance(n, ast.Literal)
                          and n.kind in ("int", "money", "percent", "decimal")]
    for table in policy.tables.values():
        for row in table.decl.rows:
            if isinstance(row.key, ast.Interval):
                numbers += [b for b in (row.key.low, row.key.high) if b is not None]
    for n in numbers:
        if isinstance(n, int) and not isinstance(n, bool):
            counts |= {max(n + d, 0) for d in (-1, 0, 1)}
        else:
            d = Decimal(n)
            exact |= {d - Decimal("0.01"), d, d + Decimal("0.01"), d - Decimal("0.0001"), d + Decimal("0.0001")}
            if d == d.to_integral_value():
                counts |= {max(int(d) + k, 0) for k in (-1, 0, 1)}
    return counts, {x for x in exact if x >= 0}


def days(policy: Policy) -> list[dt.date]:
    """The policy's first day and the day before it, every day a rule or value case starts or ends on
    and its neighbours, and one ordinary day."""
    edges: set[dt.date] = set()
    spans = [policy.effective] + [(r.decl.effective.start, r.decl.effective.end) for r in policy.rules
                                  if r.decl.effective] + [(c.start, c.end) for d in policy.defines.values()
                                                          for c in d.decl.cases]
    for rollout in policy.rollouts.values():  # each phase's edges and middle: a share strictly between 0 and 1
        spans += [(p.start, p.end) for p in rollout.phases]
        edges |= {p.start + (p.end - p.start) / 2 for p in rollout.phases}
    for start, end in spans:
        for day in (start, end):
            if day is not None:
                edges |= {day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)}
    edges.add(dt.date(2024, 6, 3))
    return sorted(edges)


def generator(model: Model, path: str, kind: str, enum: str | None, counts: list[int], exact: list[Decimal],
              at: dt.date) -> Callable[[random.Random], Any]:
    """A value of one fact from `rng`: whole days and years before the evaluation date and their neighbours
    (and the ends of the working-day calendar), the policy's boundaries most often for numbers, any enum
    value, a rollout key, sets of every size. (Everything that does not depend on the draw is worked out
    once per fact: the values drawn are what one draw after another from `rng` gives.)"""
    if kind == "bool":
        return lambda rng: rng.random() < 0.5
    if kind == "date":
        first, last = cal.calendar_years()
        ends = [dt.date(first, 1, 1), dt.date(last, 12, 31)]
        fixed_back = [0, 1, 2, 3, 4, 5, 7, 9, 180, 181, 182, 364, 365, 366, 367]

        def date(rng: random.Random) -> str:
            if rng.random() < 0.1:  # the ends of the working-day calendar
                edge = rng.choice(ends)
                return (edge + dt.timedelta(days=rng.randrange(-12, 12))).isoformat()
            back = rng.choice([*fixed_back, rng.randrange(0, 2000), -1])
            return (at - dt.timedelta(days=back)).isoformat()  # as a record states it (JSON)
        return date
    if kind == "count":
        return lambda rng: rng.choice(counts) if rng.random() < 0.7 else rng.randrange(0, 5000)
    if kind in ("money", "percent", "number"):
        def number(rng: random.Random) -> Decimal:
            if rng.random() < 0.7 and exact:
                return rng.choice(exact)
            return Decimal(rng.randrange(0, 10 ** 6)) / 100 if kind == "money" else \
                Decimal(rng.randrange(0, 10 ** 4)) / 10 ** 4
        return number
    ids = [v.name.value for v in model.enums[enum].values] if enum else []
    if kind == "enum":
        return lambda rng: rng.choice(ids)
    if kind == "text":  # ids: a rollout's key among them
        head = path.split(".")[0]
        return lambda rng: f"{head}-{rng.randrange(0, 10 ** 6)}"
    if kind == "set":
        sizes = [0, 1, 1, 2, 2, 3, len(ids)]
        return lambda rng: sorted(rng.sample(ids, min(len(ids), rng.choice(sizes))))
    raise AssertionError(f"no generator for {kind} ({path})")


def records(model: Model, policy: Policy, rng: random.Random, n: int, at: dt.date) -> list[dict[str, Any]]:
    counts, exact = (sorted(x) for x in boundaries(policy))
    facts = [(path.split("."), generator(model, path, spec.type.kind, spec.type.enum, counts, exact, at))  # type: ignore[arg-type]
             for path, spec in policy.inputs.items()]
    draw = rng.random
    out = []
    for _ in range(n):
        left_out = 0.0 if draw() < 0.6 else 0.15  # most records whole, some lacking a few facts
        record: dict[str, Any] = {}
        for parts, make in facts:
            if draw() < left_out:
                continue
            v = make(rng)
            node = record
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = v
        out.append(record)
    return out


# ------------------------------------------------------------------ the two deciders
def by_evaluate(book: Any, pid: str, record: dict[str, Any], at: dt.date, values: list[str]) -> dict[str, Any]:
    try:
        d = book.evaluate(pid, record, at)
    except PolicyDslError as exc:
        return {"outcome": None, "reasons": None, "warnings": None, "consequences": None, "error": exc.code,
                **{p: None for p in values}, **{f"not_open:{p}": None for p in values}}
    out = {"outcome": d.outcome, "reasons": [r.code for r in d.reasons], "warnings": [w.code for w in d.warnings],
           "consequences": [(c.rule, c.code, c.kind, c.until, c.permanent, c.amount) for c in d.consequences],
           "error": None}
    for path in values:
        v = d.values.get(path)
        out[path] = None if v is NOT_OPEN else sorted(v) if isinstance(v, frozenset) else v
        out[f"not_open:{path}"] = (v is NOT_OPEN) if path in d.values else None
    return out


def by_plan(table: pa.Table, plan: planning.Plan) -> dict[str, list[Any]]:
    """The plan's rows as `by_evaluate` states a decision, a column at a time: each column's values in row
    order (the consequences as tuples; a value's not-open flag False where the plan has no such column
    and the value is there)."""
    out = {k: table.column(k).to_pylist() for k in ("outcome", "reasons", "warnings", "error")}
    out["consequences"] = [None if cs is None else [(c["rule"], c["code"], c["kind"], c["until"], c["permanent"], c["amount"])
                                                     for c in cs] for cs in table.column("consequences").to_pylist()]
    for path in plan.values:
        out[path] = table.column(path).to_pylist()
        flag = f"not_open:{path}"
        out[flag] = table.column(flag).to_pylist() if flag in table.column_names else [
            False if v is not None else None for v in out[path]]
    return out


Decide = Callable[[planning.Plan, pa.Table], pa.Table]  # an engine: the plan's rows for a table of records


def differential(book: Any, pid: str, total: int, decide: Decide) -> tuple[int, set[str]]:
    """At least `total` generated records of `pid`, spread over its dates, decided by `decide` and by
    `evaluate`; asserts every output of every record equal (a column at a time: a column that differs
    fails on the first record where any does, naming it, with both rows). The records compared and the
    outcomes, errors and extras (`warn`, `consequence`) they reached."""
    model = book.model
    policy = model.policies[pid]
    rng = random.Random(f"score:{pid}")
    compared, seen = 0, set()
    dates = days(policy)
    for at in dates:
        plan = planning.plan(model, pid, at, keep=("id",))
        batch = records(model, policy, rng, -(-total // len(dates)), at)
        table = backend.to_arrow(plan, [dict(r, id=i) for i, r in enumerate(batch)], keep={"id": pa.int64()})
        decided = decide(plan, table).sort_by("id")
        assert decided.column("id").to_pylist() == list(range(len(batch))), f"{pid} @ {at}: not one row per record"
        values = list(plan.values)
        known: dict[str, dict[str, Any]] = {}  # a record drawn again (boundaries are drawn most): decided once
        expected = [known.get(key) or known.setdefault(key, by_evaluate(book, pid, record, at, values))
                    for record, key in zip(batch, map(repr, batch))]
        want = {k: [e[k] for e in expected] for k in expected[0]} if expected else {}
        got = by_plan(decided, plan)
        assert set(got) == set(want) or not batch
        if all(f"not_open:{p}" not in plan.columns for p in values):  # no not_open column: never a not-open cell
            assert all(set(want[f"not_open:{p}"]) <= {False, None} for p in values), f"{pid} @ {at}"
        differing = [next(i for i, (g, w) in enumerate(zip(got[k], want[k])) if g != w) for k in want if got[k] != want[k]]
        if differing:  # the first record where an output differs: the record, and what each decider gave
            i = min(differing)
            row = {k: got[k][i] for k in want}
            assert row == expected[i], (f"{pid} @ {at}: {batch[i]}\n  plan:     {({k: row[k] for k in want if row[k] != want[k][i]})}"
                                        f"\n  evaluate: {({k: want[k][i] for k in want if row[k] != want[k][i]})}")
        compared += len(batch)
        seen |= {o or e for o, e in zip(want["outcome"], want["error"])}
        seen |= {*(["warn"] if any(want["warnings"]) else []), *(["consequence"] if any(want["consequences"]) else [])}
    return compared, seen
