"""The same plans on Apache Spark (pyspark): a local or cluster SparkSession, records as a Spark DataFrame or an
Arrow table, the decisions back as the Arrow table DuckDB gives (duckdb_backend.run), or written by Spark.

The plan is one sqlglot tree (score/plan.py); `select.sql("spark")` is what Spark runs, so DuckDB and Spark
decide with the same SQL, written for each. The relations it reads are session temporary views (`records`,
`__calendar`): one scoring at a time per SparkSession.

Output on a cluster (`score_file` with a master that is not `local`): Spark writes it itself, a directory of
part files named by --out, in the format its extension names (Parquet, CSV with a header, or JSON Lines). It is
written into a hidden sibling directory and renamed to --out only when every policy has been written, so a failed
run leaves no half-written output (and an existing --out is replaced only then). Locally the rows are collected
and written as one file, as DuckDB's path writes it (files.write: atomic).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import shutil
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import sqlglot.expressions as exp
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.runtime.calendar import today_in_shanghai
from policydsl.score import duckdb_backend, files
from policydsl.score.plan import CALENDAR, RELATION, Plan, ScoreUnsupported, sql
from policydsl.semantics.model import Model

STRINGS: dict[str, tuple[str, str]] = {
    "java": ("Spark 需要 Java 17 或更高版本（{reason}）：请安装 Debian 的 openjdk-17-jre-headless 或设置 JAVA_HOME",
             "Spark needs Java 17 or later ({reason}): install Debian's openjdk-17-jre-headless or set JAVA_HOME"),
    "no_java": ("找不到 java", "no java found"),
    "rename": ("写好的输出无法改名到位", "the finished output could not be renamed into place"),
}
s = i18n.register("score.spark", STRINGS)

# Why each setting: the plan's meaning must not depend on Spark's defaults.
SETTINGS = {
    # no web UI: a batch job (and each test) would otherwise bind a port
    "spark.ui.enabled": "false",
    # the book's dates are Shanghai dates (runtime/calendar.py today_in_shanghai): date <-> timestamp casts agree
    "spark.sql.session.timeZone": "Asia/Shanghai",
    # a decimal product or sum is never rounded to fit 38 digits (the plan refuses what would not fit: score.range)
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    # sqlglot writes TRY_CAST as CAST for Spark: with ANSI off a value that cannot be cast is NULL (the record's
    # bad_facts), as DuckDB's TRY_CAST; with ANSI on it would fail the whole batch
    "spark.sql.ansi.enabled": "false",
    # the plan computes each compound expression once, in a layer of projections (plan.Planner.hoist); Spark's
    # CollapseProject would merge the layers back, copying each expression into every place that reads it:
    # the optimizer then runs for minutes on a policy that merely nests (a CASE reading a CASE reading …)
    "spark.sql.optimizer.excludedRules": "org.apache.spark.sql.catalyst.optimizer.CollapseProject",
    # Arrow in both directions: createDataFrame(pa.Table) and DataFrame.toArrow without per-row Python objects
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
LOCAL_SETTINGS = {
    # a few partitions for a machine's worth of data: 200 shuffle partitions of a few rows each cost seconds
    "spark.sql.shuffle.partitions": "4",
    # the command's output is its counts and its own errors, not the JVM's start-up notices (log4j2.properties) nor
    # a progress bar of Spark's stages drawn over them (a cluster's driver keeps Spark's logging as configured)
    "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={(Path(__file__).parent / 'log4j2.properties').as_uri()}",
    "spark.ui.showConsoleProgress": "false",
}


def session(master: str | None = None) -> SparkSession:
    """A SparkSession for scoring: `master` as Spark names it (spark://…, yarn, k8s://…, local[N]); None:
    the master spark-submit was given, else local[2]. No Java, or one too old: `score.spark.java`."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise PolicyDslError("score.spark.java", reason=i18n.both("score.spark.no_java"))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # Python work (the messages) runs in this Python
    builder = SparkSession.builder.appName("policydsl score")
    submitted = master is None and "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit's master stands
    if not submitted:
        builder = builder.master(master or "local[2]")
    local = not submitted and (master or "local").startswith("local")
    for key, value in {**SETTINGS, **(LOCAL_SETTINGS if local else {})}.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except PySparkException as exc:  # the JVM did not start (no Java 17+ at JAVA_HOME or on PATH)
        raise PolicyDslError("score.spark.java", reason=str(exc).splitlines()[0]) from None
    spark.sparkContext.setLogLevel("FATAL")  # a command's output is its counts, not Spark's logs: errors are ours
    return spark


@contextlib.contextmanager
def configured(spark: SparkSession, settings: dict[str, str] | None = None) -> Iterator[SparkSession]:
    """`spark` with `settings` (by default SETTINGS' SQL settings) while the plan runs, and its own ones back
    afterwards: a session passed in is used as it is, but its decimals must stay exact and its optimizer must
    keep the layers."""
    sql = settings if settings is not None else {k: v for k, v in SETTINGS.items() if k.startswith("spark.sql.")}
    before: dict[str, str | None] = {k: spark.conf.get(k, None) for k in sql}
    for key, value in sql.items():
        spark.conf.set(key, value)
    try:
        yield spark
    finally:
        for key, old in before.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)


@contextlib.contextmanager
def failing_input(path: str) -> Iterator[None]:
    """Spark's own error while it reads and decides the input (a line it cannot parse deep in a file) as
    `E.unreadable` naming the input, as files.py reports DuckDB's."""
    try:
        yield
    except (PySparkException, Py4JError) as exc:
        raise PolicyDslError("E.unreadable", path=path, reason=reason(exc)) from None


def reason(exc: Exception) -> str:
    """The first line of Spark's own error: when py4j wraps a JVM error (its own first line names a method),
    the innermost cause's, which says what was wrong with the data."""
    cause = getattr(exc, "java_exception", None)
    while cause is not None and cause.getCause() is not None:
        cause = cause.getCause()
    return str(cause.getMessage() if cause is not None else exc).strip().splitlines()[0]


def frame(spark: SparkSession, table: pa.Table) -> DataFrame:
    """An Arrow table as a DataFrame of partitions, not a local relation kept on the driver (Spark's choice
    for a table under 48 MB): over a local relation its optimizer evaluates the plan's layers of projections
    itself, row by row, each time it plans a query (2-3 s per plan as wide as product.sharing's; about twice
    the JVM's CPU time on 10,000 records), while partitions go through the physical plan that a file's or a
    cluster's records take. The session's own setting is given back."""
    with configured(spark, {"spark.sql.execution.arrow.localRelationThreshold": "0"}):
        return spark.createDataFrame(table)


def for_spark(p: Plan) -> Plan:
    """The plan, refused (ScoreUnsupported) when it holds a correlated subquery over UNNEST: the form an aggregate
    whose body shifts by working days keeps (a subquery cannot sit in a lambda), which Spark cannot resolve."""
    if p.select.find(exp.Unnest) is not None:
        raise ScoreUnsupported(i18n.both("score.construct.spark_aggregate_subquery"), p.policy)
    return p


def run(p: Plan, records: DataFrame | pa.Table, spark: SparkSession) -> pa.Table:
    """Decide every record (a Spark DataFrame, or an Arrow table) with the plan: the columns and types of
    duckdb_backend.run."""
    for_spark(p)
    df = records if isinstance(records, DataFrame) else frame(spark, records)
    with configured(spark):
        return collect(p, df, spark, p.select)


def collect(p: Plan, records: DataFrame, spark: SparkSession, query: exp.Select) -> pa.Table:
    """`query` (the plan, or a SELECT over it) over `records` on Spark, as the Arrow table DuckDB gives."""
    return to_arrow(decided(p, records, spark, query), output_schema(p, records, query))


def decided(p: Plan, records: DataFrame, spark: SparkSession, query: exp.Select) -> DataFrame:
    """`query` over `records` (the view the plan reads, with the calendar when it needs it), as a DataFrame:
    Spark resolves the views now, so the next policy may replace them."""
    records.createOrReplaceTempView(RELATION)
    if p.calendar:
        frame(spark, duckdb_backend.calendar()).createOrReplaceTempView(CALENDAR)
    return spark.sql(sql(query, "spark"))


def output_schema(p: Plan, records: DataFrame, query: exp.Select) -> pa.Schema:
    """The Arrow schema DuckDB gives `query`, found by running it there on no rows: Spark types some columns
    otherwise (an integer literal, a string), and both engines must give the same table."""
    return duckdb_backend.run(p, arrow_schema(records).empty_table(), query=query).schema


def arrow_schema(df: DataFrame) -> pa.Schema:
    """The schema `df.toArrow()` gives, as toArrow works it out, without running a Spark job
    (`df.limit(0).toArrow()` ran one)."""
    large = df.sparkSession.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false") == "true"
    return to_arrow_schema(df.schema, error_on_duplicated_field_names_in_struct=True, timezone="UTC",
                           prefers_large_types=large)


def to_arrow(df: DataFrame, schema: pa.Schema) -> pa.Table:
    return df.toArrow().select(schema.names).cast(schema)


def owned(spark: SparkSession | None, master: str | None = None) -> tuple[SparkSession, bool]:
    """The session to use and whether it is ours to stop: one passed in, else the active one, else a new one."""
    if spark is not None:
        return spark, False
    active = SparkSession.getActiveSession()
    return (active, False) if active is not None else (session(master), True)


def score_table(model: Model, policies: Iterable[str], table: pa.Table | DataFrame, at: dt.date | None,
                keys: tuple[str, ...] = (), spark: SparkSession | None = None, *, at_column: str | None = None,
                whole_book: bool = False) -> pa.Table:
    """files.score_table on Spark: the same rows, columns and types, each policy's rows in input order. A
    SparkSession passed in (or already active) is used as it is (configured while it runs) and not stopped."""
    spark, stop = owned(spark)
    try:
        df = table if isinstance(table, DataFrame) else frame(spark, table)
        with configured(spark), failing_input("<table>"):
            parts = [to_arrow(rows, schema) for _, rows, schema in plans(spark, model, policies, df, at, keys, at_column,
                                                                         whole_book)]
        return pa.concat_tables(parts, promote_options="default") if parts else pa.table({})
    finally:
        if stop:
            spark.stop()


ORD = "__ord"  # a record's place in the input: the rows keep the input's order, as DuckDB's do


def plans(spark: SparkSession, model: Model, policies: Iterable[str], df: DataFrame, at: dt.date | None,
          keys: tuple[str, ...], at_column: str | None = None, whole_book: bool = False,
          langs: tuple[str, ...] = (), policies_dir: str | None = None) -> list[tuple[Plan, DataFrame, pa.Schema]]:
    """Per policy: its plan, its rows (files.decide over files.projection of the input, as files._score
    builds them for DuckDB) in input order, and the Arrow schema DuckDB gives them."""
    keys = files.checked_keys(df.columns, keys, at_column)
    at = at or today_in_shanghai()  # each record's date: the batch's, or its own (NULL: not a date, bad_date)
    df = df.withColumn(files.DAY, F.col(f"`{at_column}`").cast("date") if at_column else F.lit(at))
    df = df.withColumn(ORD, F.monotonically_increasing_id())
    if files.ROW in keys and files.ROW not in df.columns:  # the record's position in the input, from 0
        number = F.row_number().over(Window.orderBy(ORD)) - 1  # (on one partition: name a --key on a cluster)
        df = df.withColumn(files.ROW, number.cast("bigint"))
    schema = arrow_schema(df)
    df.createOrReplaceTempView("input")
    out = []
    for k, pid in enumerate(policies):
        p = for_spark(files.policy_plan(model, pid, keys, (ORD,), at, at_column, langs))
        records = spark.sql(files.projection(p, schema, (*keys, ORD, files.DAY)).sql("spark"))
        explain = None
        if langs:
            spark.udf.register(f"__explain{k}", explainer(os.path.abspath(policies_dir or "policies"), pid, langs, at_column))
            explain = (f"__explain{k}", langs)
        query = files.decide(p, (*keys, ORD), whole_book, explain)
        typed = output_schema(p, records, files.decide(p, (*keys, ORD), whole_book))  # (DuckDB lacks the messages' UDF)
        if langs:
            from policydsl.score import messages

            typed = pa.schema([*typed, *(pa.field(name, t) for name, t in messages.columns(langs))])
        rows = decided(p, records, spark, query).orderBy(ORD).drop(ORD)
        out.append((p, rows, typed.remove(typed.get_field_index(ORD))))
    return out


def explainer(policies_dir: str, policy: str, langs: tuple[str, ...], at_column: str | None) -> Any:
    """The messages of one policy as a Spark Arrow UDF (score/messages.py explain): it carries only names, and
    each Python worker loads the book from `policies_dir` once (from the book cache when it is unchanged). On a
    cluster the executors need policydsl installed and the policies folder at that path."""
    from pyspark.sql.functions import arrow_udf
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    from policydsl.score import messages

    fields = [StructField(name, ArrayType(StringType()) if pa.types.is_list(t) else StringType())
              for name, t in messages.columns(langs)]

    def explain(facts: pa.Array, days: pa.Array, errors: pa.Array, stated: pa.Array) -> pa.Array:
        from policydsl.score import messages

        return messages.explain(_book(policies_dir), policy, langs, at_column)(facts, days, errors, stated)
    return arrow_udf(StructType(fields))(explain)  # type: ignore[call-overload]


@functools.cache
def _book(policies_dir: str) -> Any:
    import policydsl

    return policydsl.load(policies_dir, cached=True)


def read(spark: SparkSession, path: str) -> DataFrame:
    """The input file as a DataFrame (by its extension, as files.read): CSV as text (cast exactly by the
    projection), JSON Lines with decimals as decimals, never floats. Unreadable: `E.unreadable` naming it."""
    kind = files.file_format(path)
    if not Path(path).exists() and "://" not in path:
        raise PolicyDslError("E.unreadable", path=path, reason=i18n.both("os.ENOENT"))
    with failing_input(path):
        if kind == "parquet":
            df = spark.read.parquet(path)
        elif kind == "csv":
            df = spark.read.csv(path, header=True, inferSchema=False, escape='"', mode="FAILFAST")  # RFC 4180 quotes
        else:
            df = spark.read.json(path, prefersDecimal=True, mode="FAILFAST")
        df.limit(1).collect()  # a broken file fails here, while its name is at hand
    return df


def score_file(model: Model, policies: Iterable[str], input_path: str, out_path: str, at: dt.date | None,
               keys: tuple[str, ...] = (), master: str | None = None, *, at_column: str | None = None,
               whole_book: bool = False, langs: tuple[str, ...] = (),
               policies_dir: str | None = None) -> dict[str, Counter[str]]:
    """files.score_file on Spark: the same rows and counts. Locally (`master` None or local[…]) the rows are
    collected and written as one file (files.write, atomically); on a cluster Spark writes them itself, a
    directory of part files at `out_path` (module docstring)."""
    out_kind = files.file_format(out_path)
    spark, stop = owned(None, master)
    try:
        with configured(spark), failing_input(input_path):
            decided_all = plans(spark, model, policies, read(spark, input_path), at, keys, at_column, whole_book,
                                langs, policies_dir)
            if is_local(spark):
                tables = [to_arrow(rows, schema) for _, rows, schema in decided_all]
        if is_local(spark):
            result = pa.concat_tables(tables, promote_options="default") if tables else pa.table({})
            files.write(result, out_path)
            return {p.policy: counted(t, whole_book) for (p, *_), t in zip(decided_all, tables)}
        union = functools.reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), [d for _, d, _ in decided_all])
        with configured(spark):
            write_directory(union, out_path, out_kind)
        found = spark.read.format(out_kind).options(**OPTIONS[out_kind]).load(out_path)
        counts: dict[str, Counter[str]] = {p.policy: Counter() for p, *_ in decided_all}
        found_key = F.coalesce("outcome", "error", *(["status"] if whole_book else []))
        for row in found.groupBy("policy", found_key.alias("k")).count().collect():
            counts[row["policy"]][row["k"]] += row["count"]
        return counts
    finally:
        if stop:
            spark.stop()


def is_local(spark: SparkSession) -> bool:
    return (spark.sparkContext.master or "local").startswith("local")


def counted(table: pa.Table, whole_book: bool = False) -> Counter[str]:
    columns = [table.column(c).to_pylist() for c in ("outcome", "error", *(["status"] if whole_book else []))]
    return Counter(str(next((v for v in row if v is not None), "")) for row in zip(*columns))


OPTIONS: dict[str, dict[str, str]] = {"parquet": {}, "csv": {"header": "true"}, "json": {}}  # by kind, Spark's format name


def write_directory(df: DataFrame, out_path: str, kind: str) -> None:
    """`df` written by Spark as a directory of part files at `out_path` (any file system Hadoop reaches: hdfs://,
    s3a://, a local path): first to a hidden sibling, renamed over `out_path` only once complete, so a failed
    run leaves what was there before. Lists and structs go to CSV as JSON text, as files.encode writes them."""
    if kind == "csv":
        df = df.select(*[(F.to_json(F.col(f"`{c}`")) if t.startswith(("array", "struct")) else F.col(f"`{c}`")).alias(c)
                         for c, t in df.dtypes])
    spark = df.sparkSession
    hadoop = spark._jvm.org.apache.hadoop.fs  # type: ignore[union-attr]  # Spark's own file system layer
    target = hadoop.Path(out_path)
    fs = target.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    staging = hadoop.Path(target.getParent(), f".{target.getName()}.{uuid.uuid4().hex}.tmp")
    try:
        try:
            df.write.format(kind).options(**OPTIONS[kind]).save(staging.toString())
        except (PySparkException, Py4JError) as exc:  # (Spark's error while deciding or writing: nothing moved)
            raise PolicyDslError("E.write", path=out_path, reason=reason(exc)) from None
        if fs.exists(target):
            fs.delete(target, True)
        if not fs.rename(staging, target):
            raise PolicyDslError("E.write", path=out_path, reason=i18n.both("score.spark.rename"))
    finally:
        if fs.exists(staging):
            fs.delete(staging, True)
