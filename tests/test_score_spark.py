"""Batch scoring on Apache Spark (local mode) against the row evaluator and against DuckDB: for each policy
of the book, 10,000 generated records (scoregen) decided by the same plan, written for Spark, must give
every output `PolicySet.evaluate` gives; `score_table` and the real `policydsl score --engine spark` give
what DuckDB gives, row for row and type for type. One SparkSession for the module: the command runs in a
process (and JVM) of its own once, and otherwise in this process on that session (`command`).

Skipped when pyspark or Java is missing, except under POLICYDSL_REQUIRE_SPARK=1 (`make test`), where that fails."""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("duckdb")
pytest.importorskip("sqlglot")
REQUIRED = bool(os.environ.get("POLICYDSL_REQUIRE_SPARK"))
if not REQUIRED:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (POLICYDSL_REQUIRE_SPARK=1 makes this a failure)", allow_module_level=True)

import pyarrow.csv as pcsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import policydsl  # noqa: E402
from policydsl.errors import PolicyDslError  # noqa: E402
from policydsl.score import duckdb_backend, files  # noqa: E402
from policydsl.score import spark_backend as sb  # noqa: E402
from policydsl.score.plan import plan as plan_of  # noqa: E402
from scoregen import REACHED, ROOT, SUPPORTED, differential, records  # noqa: E402

RECORDS = 10_000  # per policy (issue 15: at least 10,000 with Spark in local mode)


@pytest.fixture(scope="module")
def book() -> Any:
    return policydsl.load(ROOT / "policies")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = sb.session()
    yield session
    session.stop()


def test_the_session_keeps_decimals_exact_and_dates_in_shanghai(spark: Any) -> None:
    conf = {k: spark.conf.get(k) for k in sb.SETTINGS if k.startswith("spark.sql.")}
    assert conf == {"spark.sql.session.timeZone": "Asia/Shanghai", "spark.sql.decimalOperations.allowPrecisionLoss": "false",
                    "spark.sql.ansi.enabled": "false", "spark.sql.execution.arrow.pyspark.enabled": "true",
                    "spark.sql.optimizer.excludedRules": "org.apache.spark.sql.catalyst.optimizer.CollapseProject"}
    assert spark.sparkContext.master == "local[2]"
    assert spark.sparkContext.getConf().get("spark.ui.enabled") == "false"


@pytest.mark.parametrize("pid", SUPPORTED)
def test_spark_decides_as_evaluate(book: Any, spark: Any, pid: str) -> None:
    compared, seen = differential(book, pid, RECORDS, lambda plan, table: sb.run(plan, table, spark))
    assert compared >= RECORDS
    assert REACHED[pid] <= seen, REACHED[pid] - seen


def test_run_gives_duckdbs_columns_and_types(book: Any, spark: Any) -> None:
    at = dt.date(2024, 6, 3)
    plan = plan_of(book.model, "deposit.stage", at, keep=("id",))
    rows = records(book.model, book.model.policies["deposit.stage"], random.Random(7), 200, at)
    table = duckdb_backend.to_arrow(plan, [dict(r, id=i) for i, r in enumerate(rows)], keep={"id": pa.int64()})
    on_spark, on_duckdb = sb.run(plan, table, spark), duckdb_backend.run(plan, table)
    assert on_spark.schema == on_duckdb.schema
    assert on_spark.sort_by("id").equals(on_duckdb.sort_by("id"))


def test_score_table_is_files_score_table_and_leaves_the_session_running(book: Any, spark: Any) -> None:
    at = dt.date(2024, 6, 3)
    pids = ["shop.deposit", "cart.metrics", "deposit.stage"]
    flat = [duckdb_backend.flat(r) for pid in pids
            for r in records(book.model, book.model.policies[pid], random.Random(pid), 50, at)]
    table = pa.Table.from_pylist(flat)
    on_spark = sb.score_table(book.model, pids, table, at, spark=spark)
    on_duckdb = files.score_table(book.model, pids, table, at)
    assert on_spark.num_rows == on_duckdb.num_rows == 3 * len(flat)
    assert on_spark.schema == on_duckdb.schema
    assert on_spark.equals(on_duckdb)
    assert spark.range(3).count() == 3  # not stopped: it was passed in


# ------------------------------------------------------------------ the command line
def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own (on Spark: its own JVM and session, ~15 s to start)."""
    return subprocess.run([sys.executable, "-m", "policydsl.cli", "score", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "POLICYDSL_LANG": "en",
                                                       **({"JAVA_HOME": os.environ["JAVA_HOME"]}
                                                          if "JAVA_HOME" in os.environ else {})})


def command(*args: str) -> tuple[int, str, str]:
    """The real command run in this process by click, as its console script runs it: on Spark it scores on the
    module's session (the active one, which `score` uses and leaves running, as under spark-submit), so the
    tests of what the command writes need not start a JVM each (one test runs it in a process of its own).
    Its exit code, standard output and standard error."""
    from click.testing import CliRunner

    from policydsl.cli import main

    old = Path.cwd()
    os.chdir(ROOT)
    try:
        done = CliRunner().invoke(main, ["score", *args], env={"POLICYDSL_LANG": "en"})
    finally:
        os.chdir(old)
    return done.exit_code, done.stdout, done.stderr


def process(*args: str) -> tuple[int, str, str]:
    """`cli` as `command` gives it: exit code, standard output and standard error."""
    done = cli(*args)
    return done.returncode, done.stdout, done.stderr


def inputs(book: Any, tmp_path: Path) -> dict[str, Path]:
    """The same 120 cart.opening_flow and deposit.stage records as Parquet (typed) and CSV (text)."""
    at = dt.date(2024, 6, 3)
    rows = [duckdb_backend.flat(r) for pid in ("cart.opening_flow", "deposit.stage")
            for r in records(book.model, book.model.policies[pid], random.Random(pid), 60, at)]
    plans = [plan_of(book.model, pid, at) for pid in ("cart.opening_flow", "deposit.stage")]
    other = {f.name: f.type for f in duckdb_backend.input_schema(plans[1]) if f.name not in plans[0].inputs}
    typed = duckdb_backend.to_arrow(plans[0], rows, keep=other)
    schema = typed.schema
    pq.write_table(typed, tmp_path / "in.parquet")
    pcsv.write_csv(pa.Table.from_pylist([{k: (None if r.get(k) is None else str(r[k]).lower() if isinstance(r[k], bool)
                                               else json.dumps(r[k]) if isinstance(r[k], list) else str(r[k]))
                                           for k in schema.names} for r in rows]), tmp_path / "in.csv")
    return {"parquet": tmp_path / "in.parquet", "csv": tmp_path / "in.csv"}


def raw(path: Path) -> Any:
    """The output as written: CSV lines, or the Parquet table."""
    return path.read_text(encoding="utf-8").splitlines() if path.suffix == ".csv" else pq.read_table(path)


def in_order(path: Path) -> Any:
    """The output with its rows by policy and record (DuckDB may reorder the rows of a plan with joins)."""
    if path.suffix == ".csv":
        header, *lines = raw(path)
        return [header, *sorted(lines, key=lambda line: (line.split(",")[1], int(line.split(",")[0])))]
    table = raw(path).sort_by([("policy", "ascending"), ("record", "ascending")])
    # (DuckDB's COPY marks a column it fills with one literal, policy and at, NOT NULL; Arrow from Spark does not)
    return table.cast(pa.schema([field.with_nullable(True) for field in table.schema]))


QUIET = "WARNING: Using incubator modules: jdk.incubator.vector"
"""The one line of start-up a JVM prints that no setting silences (for the module Spark's launcher always adds)."""


@pytest.mark.parametrize(("source", "target", "run"), [("parquet", "parquet", process), ("csv", "csv", command)],
                         ids=["parquet-own-process", "csv-in-process"])
def test_the_command_on_spark_writes_what_duckdb_writes(book: Any, spark: Any, tmp_path: Path, source: str, target: str,
                                                        run: Any) -> None:
    given = inputs(book, tmp_path)[source]
    runs = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.{target}"
        code, stdout, stderr = run("cart.opening_flow", "deposit.stage", "--input", str(given), "--out", str(out),
                                   "--at", "2024-06-03", "--engine", engine)
        assert code == 0, stderr
        # on either engine the command says what it wrote and nothing else; in a process of its own, nothing of
        # the JVM's start-up or Spark's stages either (in this process those would bypass click's capture)
        assert [line for line in stderr.splitlines() if line != QUIET] == [f"wrote 240 rows to {out}"]
        runs[engine] = (stdout, in_order(out))
    assert runs["spark"][0] == runs["duckdb"][0]  # the counts per policy
    assert runs["spark"][0] == ("cart.opening_flow: deny 40, calendar_range 3, missing_facts 77\n"
                                "deposit.stage: allow 8, deny 33, missing_facts 79\n")
    assert runs["spark"][1] == runs["duckdb"][1]  # the same rows, byte for byte (CSV) or value and type (Parquet)
    written = raw(tmp_path / f"spark.{target}")  # Spark writes them in input order: by policy, then record
    order = [tuple(line.split(",")[1::-1]) for line in written[1:]] if target == "csv" else \
        list(zip(written.column("policy").to_pylist(), written.column("record").to_pylist()))
    assert order == sorted(order, key=lambda pr: (pr[0], int(pr[1])))


def test_spark_master_needs_the_spark_engine(tmp_path: Path) -> None:
    done = cli("cart.opening", "--input", "in.csv", "--out", str(tmp_path / "o.csv"), "--spark-master", "local[1]")
    assert done.returncode == 2
    assert "--spark-master needs --engine spark" in done.stderr
    assert not (tmp_path / "o.csv").exists()


# ------------------------------------------------------------------ output on a cluster
def test_a_cluster_output_is_a_directory_written_whole(spark: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    out.write_bytes(b"the previous output")
    sb.write_directory(spark.createDataFrame(pa.table({"x": [1, 2, 3]})), str(out), "parquet")
    assert sorted(r["x"] for r in pq.read_table(out).to_pylist()) == [1, 2, 3]
    assert any(p.name.startswith("part-") for p in out.iterdir())
    failing = spark.createDataFrame(pa.table({"x": [1, 0]})).selectExpr("raise_error('boom') AS x")
    with pytest.raises(PolicyDslError, match="boom"):
        sb.write_directory(failing, str(out), "parquet")
    assert sorted(r["x"] for r in pq.read_table(out).to_pylist()) == [1, 2, 3]  # the previous output stands
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]  # no staging directory left


# ------------------------------------------------------------------ what is missing
def test_without_java_the_command_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("account.fans\n1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "policydsl.cli", "score", "cart.opening", "--input",
                           str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"), "--engine", "spark"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(tmp_path), "POLICYDSL_LANG": "en"})  # no java on it, no JAVA_HOME
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().endswith("Spark needs Java 17 or later (no java found): install Debian's "
                                        "openjdk-17-jre-headless or set JAVA_HOME")
    assert "Traceback" not in done.stderr and not (tmp_path / "o.csv").exists()


def test_without_pyspark_the_command_names_the_extra(tmp_path: Path) -> None:
    # the real command in a Python where pyspark cannot be imported (as when the extra is not installed)
    code = "import sys; sys.modules['pyspark'] = None; from policydsl.cli import main; sys.exit(main())"
    (tmp_path / "in.csv").write_text("account.fans\n1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", code, "score", "cart.opening", "--input", str(tmp_path / "in.csv"),
                           "--out", str(tmp_path / "o.csv"), "--engine", "spark"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "POLICYDSL_LANG": "en"})
    assert done.returncode == 2, done.stderr
    assert "pip install 'policydsl[spark]'" in done.stderr and "pyspark" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_line_spark_cannot_parse_deep_in_the_input_names_the_file(spark: Any, tmp_path: Path) -> None:
    lines = ["account.fans,account.kind", *(f"{i},personal" for i in range(3000)), '1,personal,extra,"x', "2,personal"]
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, stderr = command("cart.opening", "--input", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"),
                              "--at", "2024-06-03", "--engine", "spark")
    assert code == 2
    assert stderr.strip().splitlines()[-1] == (f"error: cannot read {tmp_path / 'in.csv'}: [MALFORMED_CSV_RECORD] "
                                               'Malformed CSV record: 1,personal,extra,"x SQLSTATE: KD000')
    assert "Traceback" not in stderr and not (tmp_path / "o.csv").exists()
    assert spark.range(3).count() == 3  # the session the command used is running still


def test_a_session_passed_in_is_configured_while_it_runs_and_given_back(book: Any, spark: Any) -> None:
    spark.conf.set("spark.sql.decimalOperations.allowPrecisionLoss", "true")  # Spark's default: rounds decimals
    spark.conf.unset("spark.sql.optimizer.excludedRules")
    spark.conf.set("spark.sql.execution.arrow.localRelationThreshold", "1000")  # set only to hand the table over
    try:
        at = dt.date(2024, 6, 3)
        rows = records(book.model, book.model.policies["product.sharing"], random.Random(3), 200, at)
        table = pa.Table.from_pylist([duckdb_backend.flat(r) for r in rows])
        assert sb.score_table(book.model, ["product.sharing"], table, at, spark=spark).equals(
            files.score_table(book.model, ["product.sharing"], table, at))
        assert spark.conf.get("spark.sql.decimalOperations.allowPrecisionLoss") == "true"
        assert spark.conf.get("spark.sql.optimizer.excludedRules", None) is None
        assert spark.conf.get("spark.sql.execution.arrow.localRelationThreshold") == "1000"
    finally:
        spark.conf.unset("spark.sql.execution.arrow.localRelationThreshold")
        for key, value in sb.SETTINGS.items():
            if key.startswith("spark.sql."):
                spark.conf.set(key, value)


def on_both_engines(tmp_path: Path, *args: str) -> dict[str, Any]:
    """The real command with `args` on DuckDB and on Spark (in this process: `command`), each one's Parquet output
    by policy and id (nullability aside: DuckDB's COPY marks the columns it fills with one literal NOT NULL)."""
    tables = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.parquet"
        code, _, stderr = command(*args, "--out", str(out), "--engine", engine)
        assert code == 0, stderr
        table = pq.read_table(out).sort_by([("policy", "ascending"), ("id", "ascending")])
        tables[engine] = table.cast(pa.schema([field.with_nullable(True) for field in table.schema]))
    return tables


def test_the_whole_book_on_each_records_date_as_duckdb_decides_it(spark: Any, tmp_path: Path) -> None:
    """`--book --at-column` on Spark: the same rows (statuses, per-record dates and rollout buckets) as DuckDB's."""
    from test_score_stream import rollout_records, write_jsonl

    src = tmp_path / "in.jsonl"
    write_jsonl(src, rollout_records(150) + [{"id": 150, "day": "not a day", "account.role": "official"}])
    tables = on_both_engines(tmp_path, "--book", "--input", str(src), "--at-column", "day", "--key", "id")
    assert tables["spark"] == tables["duckdb"]
    rows = tables["spark"].to_pylist()
    assert {r["status"] for r in rows} == {"decided", "not_in_force", "not_applicable", "error"}
    assert {r["error"] for r in rows if r["id"] == 150} == {"bad_date"}


def test_an_amount_with_too_many_places_is_that_records_error_on_spark_too(spark: Any, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,shop.gmv_30d\n0,12.5\n1,0.12345678901\n2,0.12345678900\n", encoding="utf-8")
    errors = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.csv"
        code, _, stderr = command("alliance.eligibility", "--input", str(src), "--out", str(out), "--at", "2024-06-03",
                                  "--key", "id", "--engine", engine)
        assert code == 0, stderr
        errors[engine] = [line.rsplit(",", 1)[1] for line in out.read_text(encoding="utf-8").splitlines()[1:]]
    assert errors["spark"] == errors["duckdb"] and errors["spark"][1] == "score.scale" and "score.scale" not in (
        errors["spark"][0], errors["spark"][2])


def test_messages_on_spark_are_duckdbs(spark: Any, tmp_path: Path) -> None:
    """`--lang zh,en` on Spark: every message (reasons, warnings, errors in both languages) as DuckDB words it."""
    from test_score_stream import rollout_records, write_jsonl

    src = tmp_path / "in.jsonl"
    write_jsonl(src, rollout_records(120) + [{"id": 120, "day": "2023-12-01", "account.role": "official"}])
    tables = on_both_engines(tmp_path, "official_account.own_store_only", "cart.opening", "--input", str(src),
                             "--at-column", "day", "--key", "id", "--lang", "zh,en")
    assert tables["spark"] == tables["duckdb"]
    rows = tables["spark"].to_pylist()
    assert any(r["reason_messages_en"] for r in rows) and any(r["error_message_zh"] for r in rows)
