"""A plan and an Arrow table of records in, an Arrow table of decisions out, on an embedded DuckDB.

The whole input is handed to DuckDB at once: streaming input larger than memory is not done yet."""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot.expressions as exp

from policydsl.errors import PolicyDslError
from policydsl.runtime import calendar as cal
from policydsl.score.plan import CALENDAR, PRECISION, RELATION, SCALE, Plan, sql

ARROW = {"count": pa.int64(), "bool": pa.bool_(), "text": pa.string(), "enum": pa.string(), "date": pa.date32(),
         "money": pa.decimal128(PRECISION, SCALE), "percent": pa.decimal128(PRECISION, SCALE),
         "number": pa.decimal128(PRECISION, SCALE), "set": pa.list_(pa.string())}


def input_schema(p: Plan, keep: Mapping[str, pa.DataType] | None = None) -> pa.Schema:
    """The columns a plan reads: one per fact id (dotted names as they are), typed."""
    fields = [pa.field(k, t) for k, t in (keep or {}).items()]
    return pa.schema(fields + [pa.field(path, ARROW[t.kind]) for path, t in p.inputs.items()])


LEAVES = frozenset({str, int, float, bool, Decimal, list, tuple, type(None), dt.date})  # never a Mapping


def flat(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():  # (a plain dict or value by its type: the ABC check is the slow part)
        if type(value) is dict or (type(value) not in LEAVES and isinstance(value, Mapping)):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def to_arrow(p: Plan, records: Iterable[Mapping[str, Any]], keep: Mapping[str, pa.DataType] | None = None) -> pa.Table:
    """Records (nested or dotted, as `evaluate` takes them; a fact left out is missing) as the table a
    plan reads. A money or percent with more decimal places than the plan's scale is refused."""
    schema = input_schema(p, keep)
    rows = [flat(r) for r in records]
    columns = {}
    for field in schema:
        values = [row.get(field.name) for row in rows]
        if pa.types.is_decimal(field.type):
            values = [exact(field.name, v) for v in values]
        elif pa.types.is_date(field.type):  # a record states a date as YYYY-MM-DD (JSON)
            values = [dt.date.fromisoformat(v) if isinstance(v, str) else v for v in values]
        elif pa.types.is_list(field.type):
            values = [sorted(v) if v is not None else None for v in values]
        columns[field.name] = pa.array(values, type=field.type)
    return pa.table(columns, schema=schema)


def exact(path: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    d = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if d.as_tuple().exponent < -SCALE:  # type: ignore[operator]
        raise PolicyDslError("score.scale", path=path, value=str(value), scale=SCALE)
    return d


@functools.cache
def calendar() -> pa.Table:
    """The working-day calendar as a relation, from the row evaluator's own calendar (runtime/calendar.py):
    every day of the years it covers and the day before them, whether it is a working day, and how many
    working days there are up to and including it. `d + N working days` is the working day whose count
    is d's plus N; none: outside the years covered."""
    first, last = cal.calendar_years()
    day, end = dt.date(first, 1, 1) - dt.timedelta(days=1), dt.date(last, 12, 31)
    days, workdays, cums, count = [], [], [], 0
    while day <= end:
        work = day.year >= first and cal.is_workday(day)
        count += work
        days.append(day)
        workdays.append(work)
        cums.append(count)
        day += dt.timedelta(days=1)
    return pa.table({"day": pa.array(days, pa.date32()), "workday": workdays, "cum": pa.array(cums, pa.int64())})


def run(p: Plan, table: pa.Table, connection: duckdb.DuckDBPyConnection | None = None,
        query: exp.Select | None = None) -> pa.Table:
    """Decide every record of `table` with the plan (or `query`, a SELECT over the plan's relations, as
    files.decide): one row per record, the plan's columns."""
    con = connection or duckdb.connect()
    try:
        con.register(RELATION, table)
        if p.calendar:
            con.register(CALENDAR, calendar())
        relation = con.sql(sql(query or p.select, "duckdb"))
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow  # the name in DuckDB 2, and in 1
        result: pa.Table = fetch()
        con.unregister(RELATION)
        return result
    finally:
        if connection is None:
            con.close()
