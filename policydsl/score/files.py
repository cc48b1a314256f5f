"""Scoring files: records read by DuckDB itself (Parquet, CSV or JSON Lines, chosen by the extension),
each policy's plan run over them, one output row per record and policy written as Parquet, CSV or JSON
Lines (by the extension), atomically (fsutil.write_atomic: the mode, owner and links of a file it replaces kept).

The input's columns are named by fact ids: a dotted name as one column (`"account.fans"`), or, in
JSON Lines and Parquet, nested structs (`{"account": {"fans": 10}}`). Each column is cast to the type
the plan reads (`TRY_CAST`, so a CSV's text becomes exact decimals and dates); a value that cannot be
cast makes that record's error `bad_facts`, and the batch goes on. A fact without a column is missing.
The projection is built from sqlglot nodes, like the plan; the readers are DuckDB's relation API.

Still to come (issue 15): streaming input larger than memory, a progress bar, Spark, messages.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import duckdb
import pyarrow as pa
import sqlglot.expressions as exp

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.fsutil import write_atomic
from policydsl.score import duckdb_backend as backend
from policydsl.score.plan import CALENDAR, DECIMAL, RELATION, Plan, col, plan, text
from policydsl.semantics.model import Model
from policydsl.semantics.types import Type

STRINGS: dict[str, tuple[str, str]] = {
    "format": ("不支持的文件类型 {path}：请用 .parquet、.csv 或 .jsonl（.ndjson）",
               "unsupported file type {path}: use .parquet, .csv or .jsonl (.ndjson)"),
    "key": ("输入中没有键列 `{column}`", "the input has no key column `{column}`"),
    "key_clash": ("键列 `{column}` 与输出列同名", "the key column `{column}` has the name of an output column"),
    "summary": ("{policy}：{counts}", "{policy}: {counts}"),
    "written": ("已写入 {rows} 行到 {path}", "wrote {rows} rows to {path}"),
}
s = i18n.register("score.file", STRINGS)

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "json", ".ndjson": "json"}
ROW = "record"  # the key when none is named: the record's position in the input, from 0
BAD = "__bad_facts"  # per record: some stated value could not be cast to its fact's type
CAST_TYPES = {"count": "BIGINT", "bool": "BOOLEAN", "text": "VARCHAR", "enum": "VARCHAR", "date": "DATE",
              "set": "VARCHAR[]"}


def file_format(path: str | Path) -> str:
    """parquet, csv or json, by the file's extension; else `score.file.format` (a user error)."""
    found = FORMATS.get(Path(path).suffix.lower())
    if found is None:
        raise PolicyDslError("score.file.format", path=str(path))
    return found


def read(con: duckdb.DuckDBPyConnection, path: str) -> duckdb.DuckDBPyRelation:
    """The input file as a DuckDB relation; a file DuckDB cannot read is `E.unreadable` naming it."""
    kind = file_format(path)
    if not Path(path).is_file():
        raise PolicyDslError("E.unreadable", path=path, reason=i18n.both("E.no_path"))
    try:
        if kind == "parquet":
            rel = con.read_parquet(path)
        elif kind == "csv":  # every column as text: decimals are cast exactly, never through a float
            rel = con.read_csv(path, all_varchar=True, header=True)
        else:
            rel = con.read_json(path, format="newline_delimited")
        rel.limit(0).fetchall()  # a broken file fails here, while its name is at hand
        return rel
    except (duckdb.Error, OSError) as exc:
        raise PolicyDslError("E.unreadable", path=path, reason=str(exc).splitlines()[0]) from None


def source(schema: pa.Schema, path: str) -> tuple[exp.Expr, pa.DataType] | None:
    """The input expression holding fact `path` and its type: its dotted column and the fields of nested
    structs (a record may state it either way: the first stated one counts); None: no column holds it."""
    found: list[tuple[exp.Expr, pa.DataType]] = []
    parts = path.split(".")
    for i in range(len(parts), 0, -1):  # the whole dotted name, then shorter prefixes with struct fields
        head = ".".join(parts[:i])
        if head not in schema.names:
            continue
        node: exp.Expr = col(head)
        t = schema.field(head).type
        for part in parts[i:]:
            if not pa.types.is_struct(t) or t.get_field_index(part) < 0:
                break
            node = exp.StructExtract(this=node, expression=text(part))
            t = t.field(part).type
        else:
            found.append((node, t))
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return exp.Coalesce(this=found[0][0], expressions=[node for node, _ in found[1:]]), found[0][1]


def target_type(t: Type) -> exp.DataType:
    if t.kind in ("money", "percent", "number"):
        return DECIMAL
    return exp.DataType.build(CAST_TYPES[t.kind], dialect="duckdb")


def projection(p: Plan, schema: pa.Schema, keys: tuple[str, ...]) -> exp.Select:
    """The relation a plan reads, from the input: keys, one typed column per fact id and BAD."""
    outs: list[exp.Expr] = []
    for key in keys:
        if key in p.inputs:  # a fact as the key (a shop id): its typed column below serves as both
            continue
        if key == ROW and key not in schema.names:
            number = exp.Window(this=exp.RowNumber())
            outs.append(exp.alias_(exp.Sub(this=number, expression=exp.Literal.number(1)), key, quoted=True))
        else:
            outs.append(exp.alias_(col(key), key, quoted=True))
    bad: list[exp.Expr] = []
    for path, t in p.inputs.items():
        found = source(schema, path)
        if found is None:
            outs.append(exp.alias_(exp.Cast(this=exp.Null(), to=target_type(t)), path, quoted=True))
            continue
        src, src_type = found
        if t.kind == "set" and pa.types.is_string(src_type):
            src = exp.ParseJSON(this=src)  # a CSV states a set as JSON text: ["a", "b"] (Spark: from_json)
        cast: exp.Expr = exp.TryCast(this=src, to=target_type(t))
        if t.kind == "set":
            cast = exp.ArraySort(this=cast)
        outs.append(exp.alias_(cast, path, quoted=True))
        bad.append(exp.and_(exp.Not(this=exp.Is(this=src.copy(), expression=exp.Null())),
                            exp.Is(this=cast.copy(), expression=exp.Null())))
    flag = exp.or_(*bad) if bad else exp.false()
    outs.append(exp.alias_(exp.Coalesce(this=exp.paren(flag), expressions=[exp.false()]), BAD, quoted=True))
    return exp.select(*outs).from_(exp.to_table("input"))


def decide(p: Plan, keys: tuple[str, ...]) -> exp.Select:
    """The plan's rows with the policy named and a record with an ill-typed fact as `bad_facts`
    (unless the policy is not in force that day: that error comes first, as in `evaluate`)."""
    bad = exp.and_(col(BAD), exp.or_(exp.Is(this=col("error"), expression=exp.Null()),
                                      exp.NEQ(this=col("error"), expression=text("not_in_force"))))
    outs: list[exp.Expr] = [exp.alias_(col(k), k, quoted=True) for k in keys]
    outs.append(exp.alias_(text(p.policy), "policy", quoted=True))
    for name in p.columns[len(p.keep):]:
        if name == "error":
            value: exp.Expr = exp.Case(ifs=[exp.If(this=bad, true=text("bad_facts"))], default=col(name))
        else:
            value = exp.Case(ifs=[exp.If(this=bad, true=exp.Null())], default=col(name))
        outs.append(exp.alias_(value, name, quoted=True))
    decided = exp.Subquery(this=p.select.copy(), alias=exp.TableAlias(this=exp.to_identifier("decided")))
    return exp.select(*outs).from_(decided)


def score_file(model: Model, policies: Iterable[str], input_path: str, out_path: str, at: dt.date,
               keys: tuple[str, ...] = ()) -> dict[str, Counter[str]]:
    """Decide every record of `input_path` with each policy on `at` and write the rows to `out_path`;
    the counts of each policy's outcomes and error codes."""
    out_kind = file_format(out_path)
    con = duckdb.connect()
    try:
        result, counts = _score(con, model, policies, read(con, input_path), at, keys, input_path)
    finally:
        con.close()
    write(result, out_path, out_kind)
    return counts


def score_table(model: Model, policies: Iterable[str], table: pa.Table, at: dt.date,
                keys: tuple[str, ...] = ()) -> pa.Table:
    """Python's way in: every record of an Arrow table (columns named by fact ids, dotted or nested
    structs; any types DuckDB can cast) decided by each policy on `at`, the rows `score` writes.
    A pandas or Polars frame converts: `pyarrow.Table.from_pandas(df)`, `df.to_arrow()`."""
    con = duckdb.connect()
    try:
        return _score(con, model, policies, con.from_arrow(table), at, keys, "<table>")[0]
    finally:
        con.close()


def _score(con: duckdb.DuckDBPyConnection, model: Model, policies: Iterable[str], rel: duckdb.DuckDBPyRelation,
           at: dt.date, keys: tuple[str, ...], shown: str) -> tuple[pa.Table, dict[str, Counter[str]]]:
    schema = _arrow(rel.limit(0)).schema
    for key in keys:
        if key not in schema.names:
            raise PolicyDslError("score.file.key", column=key)
    keys = keys or (ROW,)
    con.register("input", rel)
    tables, counts = [], {}
    for pid in policies:
        p = plan(model, pid, at, keep=(*keys, BAD))
        clash = set(keys) & set(p.columns[len(p.keep):]) | set(keys) & {"policy"}
        if clash:
            raise PolicyDslError("score.file.key_clash", column=sorted(clash)[0])
        try:  # the whole input is read here: a line DuckDB cannot parse fails now, naming the file
            records = _arrow(con.sql(projection(p, schema, keys).sql("duckdb")))
        except duckdb.Error as exc:
            raise PolicyDslError("E.unreadable", path=shown, reason=str(exc).splitlines()[0]) from None
        con.register(RELATION, records)
        if p.calendar:
            con.register(CALENDAR, backend.calendar())
        table = _arrow(con.sql(decide(p, keys).sql("duckdb")))
        con.unregister(RELATION)
        counts[pid] = Counter(o or e for o, e in zip(table.column("outcome").to_pylist(),
                                                  table.column("error").to_pylist()))
        tables.append(table)
    result = pa.concat_tables(tables, promote_options="default") if tables else pa.table({})
    return result, counts


def _arrow(rel: duckdb.DuckDBPyRelation) -> pa.Table:
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow  # the name in DuckDB 2, and in 1
    table: pa.Table = fetch()
    return table


def plain(value: Any) -> Any:
    """A value as JSON holds it exactly: decimals and dates as text, lists and structs as they are."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def encode(table: pa.Table, kind: str) -> bytes:
    if kind == "parquet":
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return bytes(sink.getvalue().to_pybytes())
    if kind == "json":
        lines = (json.dumps({k: plain(v) for k, v in row.items()}, ensure_ascii=False) for row in table.to_pylist())
        return "".join(line + "\n" for line in lines).encode("utf-8")
    import pyarrow.csv as pcsv

    columns = {}
    for name, column in zip(table.column_names, table.columns):
        t = column.type
        if pa.types.is_list(t) or pa.types.is_struct(t) or pa.types.is_large_list(t):  # lists as JSON text
            column = pa.array([None if v is None else json.dumps(plain(v), ensure_ascii=False)
                               for v in column.to_pylist()], pa.string())
        columns[name] = column
    sink = pa.BufferOutputStream()
    pcsv.write_csv(pa.table(columns), sink)
    return bytes(sink.getvalue().to_pybytes())


def write(table: pa.Table, path: str, kind: str) -> None:
    """`table` as the file `path`, atomically, as every file policydsl writes (fsutil.write_atomic)."""
    write_atomic(path, encode(table, kind))


def summary(counts: dict[str, Counter[str]], lang: str) -> list[str]:
    """One line per policy: how many records got each outcome and each error code."""
    lines = []
    for pid, counter in counts.items():
        words = [f"{i18n.t(f'outcome.{k}', lang) if k in ('allow', 'deny') else k} {n}"
                 for k, n in sorted(counter.items(), key=lambda kv: (kv[0] not in ("allow", "deny"), kv[0]))]
        lines.append(s("summary", lang, policy=pid, counts=i18n.t("list.sep", lang).join(words) or "0"))
    return lines
