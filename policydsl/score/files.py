"""Scoring files: records read by DuckDB itself (Parquet, CSV or JSON Lines, chosen by the extension),
each policy's plan run over them, one output row per record and policy written as Parquet, CSV or JSON
Lines (by the extension). The policies' plans are one query, which DuckDB's COPY streams from the input
file to the output: memory stays flat however large the input. The output goes to a new file beside
`--out` that replaces it only when complete (fsutil.replacing: the mode, owner and links of a file it
replaces kept); a failed run leaves the old file as it was.

The input's columns are named by fact ids: a dotted name as one column (`"account.fans"`), or, in
JSON Lines and Parquet, nested structs (`{"account": {"fans": 10}}`). Each column is cast to the type
the plan reads (`TRY_CAST`, so a CSV's text becomes exact decimals and dates); a value that cannot be
cast makes that record's error `bad_facts`, and the batch goes on. A fact without a column is missing.
Each record is decided on the batch's date or on its own (`at_column`; an empty or invalid one makes
its error `bad_date`). The queries are built from sqlglot nodes, like the plan.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import stat
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import duckdb
import pyarrow as pa
import sqlglot.expressions as exp

from policydsl import i18n
from policydsl.errors import PolicyDslError, clip
from policydsl.fsutil import os_reason, replacing
from policydsl.runtime.calendar import today_in_shanghai
from policydsl.score import duckdb_backend as backend
from policydsl.score import messages as msg
from policydsl.score.plan import (APPLIES, CALENDAR, DECIMAL, RELATION, SCALE, Plan, V, and_, case, col, is_false, is_null, is_true,
                                  literal, missing, not_null, null, or_, over, plan, sql, text)
from policydsl.semantics.model import Model
from policydsl.semantics.types import Type
from policydsl.source import RefusedFile, visible

if TYPE_CHECKING:  # (the loader brings the parser: batch scoring needs only the checked model)
    from policydsl.loader import PolicySet

STRINGS: dict[str, tuple[str, str]] = {
    "format": ("不支持的文件类型 {path}：请用 .parquet、.csv 或 .jsonl（.ndjson）",
               "unsupported file type {path}: use .parquet, .csv or .jsonl (.ndjson)"),
    "key": ("输入中没有键列 `{column}`", "the input has no key column `{column}`"),
    "config": ("DuckDB 设置无效：{reason}", "invalid DuckDB setting: {reason}"),
    "none": ("没有要评分的政策", "no policy to score"),
    "key_clash": ("键列 `{column}` 与输出列同名", "the key column `{column}` has the name of an output column"),
    "nul_column": ("输入的列名 `{column}` 含 NUL 字符", "the input's column name `{column}` holds a NUL character"),
    "summary": ("{policy}：{counts}", "{policy}: {counts}"),
    "written": ("已写入 {rows} 行到 {path}", "wrote {rows} rows to {path}"),
}
s = i18n.register("score.file", STRINGS)

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "json", ".ndjson": "json"}
DAY = "__at"  # per record: the date it is decided on (the batch's, or its own from --at-column)
EXPLAINED = "__explained"  # per record and policy: its messages (a struct), NULL when it needs none
FAILED = "__failed"  # per record and policy: its error code, the plan's or the file's (no date, an ill-typed fact)
CONSEQUENCE_FIELDS = ("rule", "code", "kind", "until", "permanent", "amount")  # plan.CONSEQUENCES, amount last
MEMORY_LIMIT = "1GB"  # DuckDB's own default is 80% of the machine's memory: a nightly job shares the machine
ROW = "record"  # the key when none is named: the record's position in the input, from 0
BAD = "__bad_facts"  # per record: bad_facts (a stated value cannot be cast to its fact's type), score.scale, or NULL
CAST_TYPES = {"count": "BIGINT", "bool": "BOOLEAN", "text": "VARCHAR", "enum": "VARCHAR", "date": "DATE",
              "set": "VARCHAR[]"}


def file_format(path: str | Path) -> str:
    """parquet, csv or json, by the file's extension; else `score.file.format` (a user error)."""
    found = FORMATS.get(Path(path).suffix.lower())
    if found is None:
        raise PolicyDslError("score.file.format", path=str(path))
    return found


def read(con: duckdb.DuckDBPyConnection, path: str, kind: str | None = None) -> duckdb.DuckDBPyRelation:
    """A file as a DuckDB relation (its format by its extension unless `kind`); a file DuckDB cannot read is
    `E.unreadable` naming it."""
    kind = kind or file_format(path)
    try:
        try:  # (Path.is_file said no for a FIFO, a folder, a device or a loop of links: "no such file", wrongly)
            mode = os.stat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            raise PolicyDslError("E.unreadable", path=path, reason=i18n.both("os.ENOENT")) from None
        if not stat.S_ISREG(mode):
            raise PolicyDslError("E.unreadable", path=path, reason=RefusedFile().reason)
        if kind == "parquet":
            rel = con.read_parquet(path)
        elif kind == "csv":  # every column as text: decimals are cast exactly, never through a float
            rel = con.read_csv(path, all_varchar=True, header=True)
        else:
            # (an object of over 200 keys is read as a struct too, not guessed a MAP whose facts the plan cannot see)
            rel = con.read_json(path, format="newline_delimited", map_inference_threshold=-1)
        rel.limit(0).fetchall()  # a broken file fails here, while its name is at hand
        return rel
    except OSError as exc:  # a name too long
        raise PolicyDslError("E.unreadable", path=path, reason=os_reason(exc)) from None
    except duckdb.Error as exc:
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


def holds(column: pa.DataType, t: Type) -> bool:
    """Whether a column of Arrow type `column` holds the fact's type exactly as the plan reads it (a Parquet
    int64 for a count, a string for an enum): read as it is, no cast per value."""
    return t.kind != "set" and backend.ARROW[t.kind] == column  # (a set is sorted, and CSV states it as JSON text)


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
    precise: list[exp.Expr] = []  # a stated amount with more places than the plan's decimals hold
    for path, t in p.inputs.items():
        found = source(schema, path)
        if found is None:
            outs.append(exp.alias_(exp.Cast(this=exp.Null(), to=target_type(t)), path, quoted=True))
            continue
        src, src_type = found
        if t.kind == "set" and pa.types.is_string(src_type):
            src = exp.ParseJSON(this=src)  # a CSV states a set as JSON text: ["a", "b"] (Spark: from_json)
        if holds(src_type, t):  # every value of the column is one of the fact's: nothing to cast, nothing to refuse
            outs.append(exp.alias_(src, path, quoted=True))
            continue
        cast: exp.Expr = exp.TryCast(this=src, to=target_type(t))
        if t.kind in ("money", "percent", "number"):
            precise.append(rounded(src, src_type))
        if t.kind == "set":
            cast = exp.ArraySort(this=cast)
        outs.append(exp.alias_(cast, path, quoted=True))
        bad.append(exp.and_(not_null(src), is_null(cast)))
    flag = case([(is_true(exp.paren(or_(*tests))), text(code))
                 for tests, code in ((precise, "score.scale"), (bad, "bad_facts")) if tests])
    outs.append(exp.alias_(exp.cast(flag, exp.DataType.build("VARCHAR")), BAD, quoted=True))
    return exp.select(*outs).from_(exp.to_table("input"))


def rounded(src: exp.Expr, src_type: pa.DataType) -> exp.Expr:
    """Whether a stated amount has a nonzero digit beyond the plan's SCALE places, which casting would round
    away: text by its digits, a decimal or a float by a round trip through the plan's decimal."""
    if pa.types.is_string(src_type) or pa.types.is_large_string(src_type):
        return exp.RegexpLike(this=src.copy(), expression=text("[.][0-9]{%d}[0-9]*[1-9]" % SCALE))
    if pa.types.is_decimal(src_type) and src_type.scale > SCALE or pa.types.is_floating(src_type):
        back = exp.DataType.build("DOUBLE") if pa.types.is_floating(src_type) else \
            exp.DataType.build(f"DECIMAL({src_type.precision}, {src_type.scale})")
        return exp.NEQ(this=exp.cast(exp.cast(src.copy(), DECIMAL), back), expression=src.copy())
    return exp.false()


def decide(p: Plan, keys: tuple[str, ...], book: bool = False,
           explain: tuple[str, tuple[str, ...]] | None = None) -> exp.Select:
    """The plan's rows with the policy and the date named, a record without a date as `bad_date` and a record
    with an ill-typed fact as `bad_facts` (unless the policy is not in force that day: that error comes first,
    as in `evaluate`). For the whole book (`book`), a `status` column as in `evaluate_all`'s parts: a policy
    not in force that day, or whose `applies when` does not hold, is no error but `not_in_force` or
    `not_applicable`; an `applies when` that fails or lacks facts is the record's error. With `explain`,
    the message columns from that DuckDB function (score/messages.py), which reads the facts the plan kept."""
    error = col("error")
    branches: list[tuple[exp.Expr, exp.Expr]] = [  # (when, the record's error), in order
        (is_null(col(DAY)), text("bad_date")),
        (and_(not_null(col(BAD)), or_(is_null(error), exp.NEQ(this=error, expression=text("not_in_force")))), col(BAD))]
    skipped: list[tuple[exp.Expr, exp.Expr]] = []  # (when, the status) of a policy the book skips: no error
    if book:
        skipped.append((is_true(exp.EQ(this=error, expression=text("not_in_force"))), text("not_in_force")))
        branches.append((skipped[-1][0], null()))
        if p.applies:
            applies = V(col(APPLIES), col(f"{APPLIES}_err"))
            skipped.append((is_false(applies.val), text("not_applicable")))
            branches += [(not_null(applies.err), applies.err), (missing(applies), text("missing_facts")),
                         (skipped[-1][0], null())]
    failed = case(branches, error)
    outs: list[exp.Expr] = [exp.alias_(col(k), k, quoted=True) for k in keys]
    outs += [exp.alias_(text(p.policy), "policy", quoted=True), exp.alias_(col(DAY), "at", quoted=True)]
    if book:
        status = case([(not_null(col(FAILED)), text("error"))] + skipped, text("decided"))
        outs.append(exp.alias_(status, "status", quoted=True))
    decided = and_(is_null(col(FAILED)), *[exp.Not(this=cond) for cond, _ in skipped])
    for name in p.columns[len(p.keep):]:
        value = col(FAILED) if name == "error" else case([(decided, col(name))])
        outs.append(exp.alias_(value, name, quoted=True))
    plan_rows = exp.Subquery(this=p.select.copy(), alias=exp.TableAlias(this=exp.to_identifier("decided")))
    checked = exp.select(exp.Star(), exp.alias_(failed, FAILED, quoted=True)).from_(plan_rows)  # computed once
    if explain is not None:  # (the function's name, the languages): the messages of the records that need them
        function, langs = explain
        needed = or_(not_null(col(FAILED)), *[exp.GT(this=exp.ArraySize(this=col(c)), expression=exp.Literal.number(0))
                                              for c in ("reasons", "warnings")])
        call = exp.Anonymous(this=function, expressions=[facts(p), col(DAY), col(FAILED), col(BAD)])
        checked = over([exp.Star(), exp.alias_(case([(needed, call)]), EXPLAINED, quoted=True)], checked, "checked")
        outs += [exp.alias_(exp.StructExtract(this=col(EXPLAINED), expression=text(name)), name, quoted=True)
                 for name, _ in msg.columns(langs)]
    return over(outs, checked, "explained")


def facts(p: Plan) -> exp.Expr:
    """A record's facts as one struct, a field per fact id."""
    return exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(path, quoted=True), expression=col(path))
                                   for path in p.inputs])


def score_file(book: PolicySet | Model, policies: Iterable[str], input_path: str, out_path: str, at: dt.date | None,
               keys: tuple[str, ...] = (), *, at_column: str | None = None,
               progress: Callable[[float], None] | None = None, whole_book: bool = False,
               langs: tuple[str, ...] = (), memory_limit: str = MEMORY_LIMIT,
               summary_path: str | None = None) -> dict[str, Counter[str]]:
    """Decide every record of `input_path` with each policy, on `at` or on each record's date in `at_column`,
    and write the rows to `out_path`; the counts of each policy's outcomes and error codes. DuckDB streams
    the input through the plans into the output: neither is held in memory whole, and DuckDB keeps to
    `memory_limit` (spilling to a private temporary folder beyond it). `progress` is called with the share
    done (0 to 100) while it runs. `whole_book` and `langs` (the zh/en messages, which need a loaded
    PolicySet) as `score_table` takes them; `summary_path`: with `whole_book`, a second file with one row per
    record, the whole book's outcome (book_summary)."""
    out_kind, policies = file_format(out_path), tuple(policies)
    with tempfile.TemporaryDirectory(prefix="policydsl-score-") as spill:
        try:
            con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill})
        except duckdb.Error as exc:  # a memory limit DuckDB cannot read
            raise PolicyDslError("score.file.config", reason=str(exc).splitlines()[0]) from None
        try:
            query = _query(con, book, policies, read(con, input_path), at, keys, at_column, whole_book, langs)
            with replacing(out_path) as tmp:
                try:  # the whole input is read here: a line DuckDB cannot parse fails now, naming the file
                    copy(con, query, tmp, out_kind, progress)
                except duckdb.Error as exc:
                    raise PolicyDslError("E.unreadable", path=input_path, reason=str(exc).splitlines()[0]) from None
                written = read(con, str(tmp), out_kind)
                if summary_path is not None:  # (a CSV read back with its types: the keys as they were)
                    con.register("__written", con.read_csv(str(tmp), header=True) if out_kind == "csv" else written)
                    with replacing(summary_path) as summary_tmp:
                        rows = book_summary(keys or (ROW,), out_kind == "csv")
                        copy(con, rows, summary_tmp, file_format(summary_path))
                return counts(con, written, policies, whole_book)
        finally:
            con.close()


def book_summary(keys: tuple[str, ...], csv: bool) -> exp.Select:
    """One row per record of a whole-book run (read back as `__written`), what `eval --book`'s summary says of
    it: `outcome` (deny when some policy denies, undecided when none does but some could not decide, else
    allow) and the policies that denied, allowed, warned, could not decide, did not apply or were not in
    force, each a sorted list. (CSV holds the warnings as JSON text.)"""
    def policies(test: exp.Expr) -> exp.Expr:
        found = exp.ArraySort(this=exp.Filter(this=exp.ArrayAgg(this=col("policy")), expression=exp.Where(this=test)))
        return exp.Coalesce(this=found, expressions=[exp.cast(exp.Array(expressions=[]), exp.DataType.build("VARCHAR[]"))])

    def being(column: str, value: str) -> exp.Expr:
        return exp.EQ(this=col(column), expression=text(value))
    warned = exp.NEQ(this=col("warnings"), expression=text("[]")) if csv else \
        exp.GT(this=exp.ArraySize(this=col("warnings")), expression=exp.Literal.number(0))
    outcome = case([(exp.LogicalOr(this=being("outcome", "deny")), text("deny")),
                    (exp.LogicalOr(this=being("status", "error")), text("undecided"))], text("allow"))
    group = [col(k) for k in (*keys, "at")]
    return exp.select(*[exp.alias_(c, c.name, quoted=True) for c in group], exp.alias_(outcome, "outcome", quoted=True),
                      *[exp.alias_(policies(test), name, quoted=True) for name, test in (
                          ("denied", being("outcome", "deny")), ("allowed", being("outcome", "allow")),
                          ("warned", and_(being("status", "decided"), warned)), ("errors", being("status", "error")),
                          ("not_applicable", being("status", "not_applicable")),
                          ("not_in_force", being("status", "not_in_force")))]
                      ).from_("__written").group_by(*[c.copy() for c in group]).order_by(*[c.copy() for c in group])


def copy(con: duckdb.DuckDBPyConnection, query: exp.Expr, path: Path, kind: str,
         progress: Callable[[float], None] | None = None) -> None:
    """The rows of `query` streamed by DuckDB's COPY into the file `path`, as the format holds them exactly."""
    statement = exp.Copy(this=exp.Subquery(this=plain(con, query, kind)), kind=False,
                         files=[exp.Literal.string(str(path))],
                         params=[exp.CopyParameter(this=exp.Var(this="FORMAT"), expression=exp.Var(this=kind))])
    execute(con, sql(statement, "duckdb"), progress)


def write(table: pa.Table, out_path: str) -> None:
    """An Arrow table of decided rows (Spark's, collected) as the file `out_path`, in the format of its
    extension, exactly as DuckDB's own runs write it, replacing the file only when complete."""
    con = duckdb.connect()
    try:
        con.register("__decided", table)
        with replacing(out_path) as tmp:
            copy(con, exp.select(exp.Star()).from_("__decided"), tmp, file_format(out_path))
    finally:
        con.close()


def score_table(book: PolicySet | Model, policies: Iterable[str], table: Any, at: dt.date | None,
                keys: tuple[str, ...] = (), *, at_column: str | None = None, whole_book: bool = False,
                langs: tuple[str, ...] = ()) -> pa.Table:
    """Python's way in: every record of an Arrow table (columns named by fact ids, dotted or nested
    structs; any types DuckDB can cast) decided by each policy on `at` (or each record's date in
    `at_column`), the rows `score` writes. A pandas or Polars frame converts: `pyarrow.Table.from_pandas(df)`,
    `df.to_arrow()`. `whole_book`: a `status` per policy as `evaluate_all` gives it; `langs` ("zh", "en"):
    the messages of reasons, warnings and errors in those languages (a loaded PolicySet is needed for them)."""
    con = duckdb.connect()
    try:
        if hasattr(table, "to_arrow") and not isinstance(table, pa.Table):  # a Polars frame
            table = table.to_arrow()
        elif not isinstance(table, (pa.Table, pa.RecordBatchReader)):  # a pandas frame
            table = pa.Table.from_pandas(table, preserve_index=False)
        return _arrow(con.sql(sql(_query(con, book, policies, con.from_arrow(table), at, keys, at_column, whole_book, langs),
                                   "duckdb")))
    finally:
        con.close()


def checked_keys(columns: Iterable[str], keys: tuple[str, ...], at_column: str | None) -> tuple[str, ...]:
    """The record's key columns (the record number when none is named), each named column checked to be there."""
    for key in (*keys, *([at_column] if at_column else [])):
        if key not in columns:
            raise PolicyDslError("score.file.key", column=key)
    return keys or (ROW,)


def policy_plan(model: Model, pid: str, keys: tuple[str, ...], carried: tuple[str, ...], at: dt.date,
                at_column: str | None, langs: tuple[str, ...]) -> Plan:
    """The plan of one policy keeping the keys, `carried` columns, the day, the record's errors and (for messages)
    the facts, refused when a key would clash with an output column."""
    facts_kept = tuple(path for path in model.policies[pid].inputs if path not in keys) if langs else ()
    p = plan(model, pid, col(DAY) if at_column else at, keep=(*keys, *carried, DAY, BAD, *facts_kept))
    clash = set(keys) & {*p.columns[len(p.keep):], "policy", "at", "status"}
    if clash:
        raise PolicyDslError("score.file.key_clash", column=sorted(clash)[0])
    return p


def _query(con: duckdb.DuckDBPyConnection, book: PolicySet | Model, policies: Iterable[str],
           rel: duckdb.DuckDBPyRelation, at: dt.date | None, keys: tuple[str, ...], at_column: str | None,
           whole_book: bool = False, langs: tuple[str, ...] = ()) -> exp.Expr:
    """One query deciding every record of `rel` by each policy: the policies' rows one after the other."""
    model = book if isinstance(book, Model) else book.model
    if langs and isinstance(book, Model):
        raise TypeError("messages are worded by the row evaluator: pass the loaded PolicySet, not its model")
    # a NUL ends a column's name in Arrow's schema and in the SQL sent to DuckDB: `account.fans\0x` beside
    # `account.fans` became two columns of one name (an internal error), or one read for the other
    nul = next((name for name in rel.columns if "\0" in name), None)
    if nul is not None:
        raise PolicyDslError("score.file.nul_column", column=visible(clip(nul)))
    schema = _arrow(rel.limit(0)).schema
    keys = checked_keys(schema.names, keys, at_column)
    at = at or today_in_shanghai()
    con.register("__source", rel)
    day: exp.Expr = exp.TryCast(this=col(at_column), to=exp.DataType.build("DATE")) if at_column else literal(at, "date")
    # an input column of DAY's own name is not read (DuckDB took it for the day: the date written, or decided on)
    every = exp.Star(except_=[col(DAY)]) if DAY in schema.names else exp.Star()
    con.register("input", con.sql(exp.select(every, exp.alias_(day, DAY, quoted=True)).from_("__source").sql("duckdb")))
    calendar = False
    selects: list[exp.Expr] = []
    for k, pid in enumerate(policies):
        p = policy_plan(model, pid, keys, (), at, at_column, langs)
        records = projection(p, schema, (*keys, DAY)).subquery(RELATION)
        explain = None
        if langs and not isinstance(book, Model):
            facts_type = con.sql(exp.select(facts(p)).from_(records.copy()).limit(0).sql("duckdb")).types[0]
            msg.register(con, f"__explain{k}", book, pid, facts_type, langs, at_column)
            explain = (f"__explain{k}", langs)
        selects.append(decide(p, keys, whole_book, explain).transform(  # (in place: the tree is decide's new one)
            lambda node: records.copy() if isinstance(node, exp.Table) and node.name == RELATION else node, copy=False))
        calendar = calendar or p.calendar
    if calendar:
        con.register(CALENDAR, backend.calendar())
    if not selects:
        raise PolicyDslError("score.file.none")
    return functools.reduce(lambda a, b: exp.Union(this=a, expression=b, distinct=False, by_name=True), selects)


def execute(con: duckdb.DuckDBPyConnection, sql: str, progress: Callable[[float], None] | None) -> None:
    """Run `sql`; with `progress`, on a worker thread while this one reports DuckDB's progress (Ctrl-C
    interrupts the query)."""
    if progress is None:
        con.execute(sql)
        return
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")  # the caller draws the bar, on its terminal
    failed: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # noqa: BLE001 — handed to the caller's thread
            failed.append(exc)
    worker = threading.Thread(target=work, name="policydsl-score", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
            done = con.query_progress()
            if done >= 0:
                progress(done)
    except KeyboardInterrupt:
        con.interrupt()
        worker.join()
        raise
    if failed:
        raise failed[0]
    progress(100.0)


def plain(con: duckdb.DuckDBPyConnection, query: exp.Expr, kind: str) -> exp.Expr:
    """The output as the format holds it exactly: Parquet as it is; in JSON Lines decimals as text (a JSON
    number is a float to most readers); in CSV also lists and structs as JSON text."""
    if kind == "parquet":
        return query
    described = con.sql(sql(query, "duckdb"))
    outs = [exp.alias_(as_text(col(name), str(dtype), kind == "csv", name == "consequences"), name, quoted=True)
            for name, dtype in zip(described.columns, described.types)]
    return exp.select(*outs).from_(exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("out"))))


def as_text(value: exp.Expr, dtype: str, json_text: bool, consequences: bool = False) -> exp.Expr:
    """`value` of DuckDB type `dtype` with its decimals as text (and, with `json_text`, lists and structs as
    JSON text); in the consequences, each one's amount."""
    if dtype.startswith("DECIMAL"):
        return exp.cast(value, exp.DataType.build("VARCHAR"))
    if consequences:
        item = exp.to_identifier("c")
        fields = [exp.PropertyEQ(this=exp.to_identifier(name), expression=exp.func("struct_extract", exp.column(item.copy()), text(name)))
                  for name in CONSEQUENCE_FIELDS]
        fields[-1].set("expression", exp.cast(fields[-1].expression, exp.DataType.build("VARCHAR")))  # the amount
        value = exp.func("list_transform", value, exp.Lambda(this=exp.Struct(expressions=fields), expressions=[item]))
    if json_text and (dtype.endswith("[]") or dtype.startswith("STRUCT")):
        return exp.func("to_json", value)
    return value


def counts(con: duckdb.DuckDBPyConnection, written: duckdb.DuckDBPyRelation, policies: Iterable[str],
           book: bool = False) -> dict[str, Counter[str]]:
    """How many rows of each policy got each outcome or error code (or, for the whole book, status), read
    back from the written output."""
    con.register("__written", written)
    found = exp.func("coalesce", col("outcome"), col("error"), *([col("status")] if book else []))
    rows = con.sql(exp.select(col("policy"), found, exp.Count(this=exp.Star())).from_("__written")
                   .group_by(col("policy"), found.copy()).sql("duckdb")).fetchall()
    result: dict[str, Counter[str]] = {pid: Counter() for pid in policies}
    for pid, key, n in rows:
        result[pid][key] = n
    return result


def _arrow(rel: duckdb.DuckDBPyRelation) -> pa.Table:
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow  # the name in DuckDB 2, and in 1
    table: pa.Table = fetch()
    return table


def summary(counts: dict[str, Counter[str]], lang: str) -> list[str]:
    """One line per policy: how many records got each outcome and each error code."""
    lines = []
    for pid, counter in counts.items():
        words = [f"{i18n.t(f'outcome.{k}', lang) if k in ('allow', 'deny') else k} {n}"
                 for k, n in sorted(counter.items(), key=lambda kv: (kv[0] not in ("allow", "deny"), kv[0]))]
        lines.append(s("summary", lang, policy=pid, counts=i18n.t("list.sep", lang).join(words) or "0"))
    return lines
