"""Benchmark: `policydsl score` on DuckDB against a hand-written DuckDB query and a Python loop over `evaluate`.

Run with `.venv/bin/python benchmarks/bench_score.py [--rows 10000000] [--small 1000000] [--loop 200000]`
(needs `pip install 'policydsl[score]'`). In one run on this machine it:

1. builds `--small` and `--rows` cart.opening records as Parquet (a `shop_id` key and one column per fact,
   values spread over every branch of the 2023 rule), in a temporary folder;
2. runs the real command, `policydsl score cart.opening --input … --out ….parquet --at 2023-12-20 --key
   shop_id`, in a subprocess on each, and the hand-written query below (the same rule, the same output
   columns, written to Parquet by DuckDB's COPY) in a subprocess on the large input; each subprocess's
   wall time and peak resident memory (`os.wait4`) are recorded;
3. checks that the command's output equals the hand-written query's on every row (outcome, reasons,
   the value, the error), so that the two timings are of the same work;
4. times a Python loop calling `PolicySet.evaluate` (its fast path) on the first `--loop` records, read
   into memory beforehand (the loop is charged nothing for reading or writing files);
5. prints rows/s and the ratios: the command against the hand-written query (goal: within 1.3×), the
   command against the loop (goal: at least 50× faster), peak memory at `--small` and `--rows` rows
   (goal: flat; DuckDB keeps to `--memory-limit`, default 1GB, so the default run grows up to it: the run is
   repeated with 256MB). The command's time includes starting Python, loading the book and counting the outcomes;
   its query alone is timed too, in this process, against the same hand-written query.

A script, not a test: timings are never asserted; machines here are noisy, so compare ratios within a run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

import policydsl

ROOT = Path(__file__).resolve().parent.parent
AT = dt.date(2023, 12, 20)
BOOLS = ("phone_bound", "real_name", "business_licence", "industry_licence", "corporate_verified",
         "legal_person_face_verified")


def column(name: str) -> str:
    return '"' + name + '"'


def build(path: Path, rows: int) -> None:
    """`rows` records, each fact drawn from a hash of the row number (the same records on every run)."""
    kinds = "['personal', 'enterprise', 'individual_business']"
    cols = ["i AS shop_id",
            f"({kinds})[CAST(1 + hash(i, 1) % 3 AS BIGINT)] AS {column('account.kind')}",
            f"CAST(hash(i, 2) % 2000 AS BIGINT) AS {column('account.fans')}",
            f"CAST(hash(i, 3) % 30 AS BIGINT) AS {column('account.public_videos')}",
            f"hash(i, 4) % 10 < 3 AS {column('product.special_category')}"]
    cols += [f"hash(i, {10 + k}) % 10 < 8 AS {column('account.' + b)}" for k, b in enumerate(BOOLS)]
    con = duckdb.connect()
    con.execute(f"COPY (SELECT {', '.join(cols)} FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet)")
    con.close()


def hand_written(source: Path, out: Path) -> str:
    """cart.opening's 2023 rule (in force on 2023-12-20) as a data engineer would write it, with the columns
    `score` writes: the deny reasons in rule order, the follower threshold, no error on complete records."""
    def reason(test: str, code: str) -> str:
        return f"CASE WHEN {test} THEN '{code}' END"
    kind = column("account.kind")
    reasons = ", ".join([
        reason(f"{kind} IN ('personal', 'individual_business') AND {column('account.fans')} < 1000", "fans_below_threshold"),
        reason(f"NOT {column('account.real_name')}", "not_real_name_verified"),
        reason(f"{kind} = 'enterprise' AND NOT {column('account.business_licence')}", "business_licence_missing"),
        reason(f"{column('product.special_category')} AND NOT {column('account.industry_licence')}", "industry_licence_missing"),
        reason(f"{kind} = 'enterprise' AND NOT {column('account.corporate_verified')}", "corporate_verification_missing"),
        reason(f"{kind} = 'individual_business' AND NOT ({column('account.corporate_verified')} OR "
               f"{column('account.legal_person_face_verified')})", "individual_verification_missing"),
    ])
    consequences = "STRUCT(rule VARCHAR, code VARCHAR, kind VARCHAR, until DATE, permanent BOOLEAN, amount DECIMAL(38, 10))[]"
    return f"""COPY (
      SELECT shop_id, 'cart.opening' AS policy, DATE '{AT}' AS at,
             CASE WHEN len(r) > 0 THEN 'deny' ELSE 'allow' END AS outcome, r AS reasons,
             CAST([] AS VARCHAR[]) AS warnings, CAST([] AS {consequences}) AS consequences,
             CAST(1000 AS BIGINT) AS "cart.min_fans", CAST(NULL AS VARCHAR) AS error
      FROM (SELECT shop_id, list_filter([{reasons}], lambda x: x IS NOT NULL) AS r FROM read_parquet('{source}'))
    ) TO '{out}' (FORMAT parquet)"""


def measured(argv: list[str]) -> tuple[float, int]:
    """(wall seconds, peak resident KiB) of one subprocess."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} failed: {child.stderr.read().decode() if child.stderr else ''}")
    return seconds, usage.ru_maxrss


def score(source: Path, out: Path, *options: str) -> tuple[float, int]:
    return measured([str(Path(sys.executable).with_name("policydsl")), "score", "cart.opening", "--input", str(source),
                     "--out", str(out), "--at", AT.isoformat(), "--key", "shop_id", "--no-progress", *options])


def query_alone(source: Path, out: Path) -> float:
    """Seconds for the command's own query (every plan, the projection, the COPY) on an open DuckDB, without
    starting Python, loading the book or counting the outcomes: what the plan costs against the hand-written one."""
    from policydsl.score import files

    book = policydsl.load(ROOT / "policies")
    con = duckdb.connect(config={"memory_limit": files.MEMORY_LIMIT})
    query = files._query(con, book, ["cart.opening"], files.read(con, str(source)), AT, ("shop_id",), None)
    start = time.perf_counter()
    files.copy(con, query, out, "parquet")
    seconds = time.perf_counter() - start
    con.close()
    return seconds


def same_output(ours: Path, theirs: Path) -> int:
    """The rows on which the two outputs differ (both ways)."""
    con = duckdb.connect()
    cols = ', '.join(column(c) for c in ("shop_id", "policy", "at", "outcome", "reasons", "warnings", "cart.min_fans", "error"))
    a, b = f"SELECT {cols} FROM read_parquet('{ours}')", f"SELECT {cols} FROM read_parquet('{theirs}')"
    differing = con.execute(f"SELECT (SELECT count(*) FROM ({a} EXCEPT ALL {b})) + (SELECT count(*) FROM ({b} EXCEPT ALL {a}))")
    found = differing.fetchone()
    con.close()
    return int(found[0]) if found else -1


def nested(row: dict[str, object]) -> dict[str, dict[str, object]]:
    """A row's dotted fact ids as the nested record `evaluate` reads fastest."""
    record: dict[str, dict[str, object]] = {}
    for path, value in row.items():
        if path != "shop_id":
            entity, name = path.split(".", 1)
            record.setdefault(entity, {})[name] = value
    return record


def python_loop(source: Path, n: int) -> float:
    """Seconds for `evaluate` on the first n records, nested as JSON holds them (the fastest form of its input;
    dotted ids are checked more slowly), read and converted beforehand."""
    book = policydsl.load(ROOT / "policies")
    records = [nested(row) for row in pq.read_table(source).slice(0, n).to_pylist()]
    start = time.perf_counter()
    for record in records:
        book.evaluate("cart.opening", record, AT)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--loop", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="policydsl-bench-") as folder:
        tmp = Path(folder)
        small, large = tmp / "small.parquet", tmp / "large.parquet"
        build(small, args.small)
        build(large, args.rows)
        small_s, small_kib = score(small, tmp / "small.out.parquet")
        large_s, large_kib = score(large, tmp / "ours.parquet")
        tight = {size: score(path, tmp / "tight.parquet", "--memory-limit", "256MB") for size, path in (("small", small), ("large", large))}
        script = hand_written(large, tmp / "theirs.parquet")
        hand_s, hand_kib = measured([sys.executable, "-c", f"import duckdb; duckdb.connect().execute({script!r})"])
        differing = same_output(tmp / "ours.parquet", tmp / "theirs.parquet")
        alone_s = query_alone(large, tmp / "alone.parquet")
        loop_s = python_loop(large, args.loop)
    rate = args.rows / large_s
    loop_rate = args.loop / loop_s
    print(f"cart.opening on {args.rows:,} records (Parquet in, Parquet out), {os.cpu_count()} cores, "
          f"DuckDB {duckdb.__version__}; outputs differ on {differing} rows")
    print(f"{'':34}{'seconds':>9}{'rows/s':>14}{'peak MiB':>10}")
    print(f"{'policydsl score (the command)':34}{large_s:9.2f}{rate:14,.0f}{large_kib / 1024:10.0f}")
    print(f"{'  its query alone (in process)':34}{alone_s:9.2f}{args.rows / alone_s:14,.0f}{'':>10}")
    print(f"{'hand-written DuckDB SQL':34}{hand_s:9.2f}{args.rows / hand_s:14,.0f}{hand_kib / 1024:10.0f}")
    print(f"{'Python loop over evaluate':34}{'':9}{loop_rate:14,.0f}{'':>10}   ({args.loop:,} records in memory)")
    print(f"score / hand-written time: {large_s / hand_s:.2f}x (goal <= 1.3x); the query alone: {alone_s / hand_s:.2f}x")
    print(f"score rows/s / Python loop rows/s: {rate / loop_rate:.0f}x (goal >= 50x)")
    print(f"peak memory: {small_kib / 1024:.0f} MiB at {args.small:,} rows, {large_kib / 1024:.0f} MiB at "
          f"{args.rows:,} rows ({large_kib / small_kib:.2f}x for {args.rows / args.small:.0f}x the rows; goal: flat); "
          f"{args.small:,} rows took {small_s:.2f} s")
    print(f"with --memory-limit 256MB: {tight['small'][1] / 1024:.0f} MiB at {args.small:,} rows, {tight['large'][1] / 1024:.0f} MiB "
          f"at {args.rows:,} rows ({tight['large'][0]:.2f} s: DuckDB spills to disk beyond the limit)")


if __name__ == "__main__":
    main()
