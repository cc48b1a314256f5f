"""`policydsl score` end to end: the real command line in a subprocess on small generated inputs in each
format (Parquet, CSV and JSON Lines; dotted columns and nested structs), every output row compared with
`PolicySet.evaluate` for the same record; unreadable input, unknown formats and per-record errors."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("sqlglot")

import pyarrow.parquet as pq  # noqa: E402

import policydsl  # noqa: E402
from policydsl.score import duckdb_backend as backend  # noqa: E402
from policydsl.score import plan as planning  # noqa: E402
from scoregen import by_evaluate, days, records  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ["shop.deposit", "cart.metrics", "deposit.stage", "cart.opening_flow"]  # values, warnings, consequences, calendar
N = 300


@pytest.fixture(scope="module")
def book() -> Any:
    return policydsl.load(ROOT / "policies")


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policydsl.cli", "score", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "POLICYDSL_LANG": "en"})


# ------------------------------------------------------------------ writing inputs
def flat(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    return backend.flat(record, prefix)


def json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # a JSON number, as an exporter writes it (every generated amount fits a double)
    if isinstance(value, dict):
        return {k: json_number(v) for k, v in value.items()}
    return value


def write_jsonl(path: Path, rows: list[dict[str, Any]], nested: bool) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(json_number(row if nested else flat(row))) + "\n")


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for row in rows:
            flat_row = flat(row)
            w.writerow(["" if (v := flat_row.get(c)) is None else json.dumps(v) if isinstance(v, list) else
                        str(v).lower() if isinstance(v, bool) else str(v) for c in columns])


def write_parquet(path: Path, book: Any, pid: str, at: dt.date, rows: list[dict[str, Any]]) -> None:
    p = planning.plan(book.model, pid, at)
    pq.write_table(backend.to_arrow(p, rows, keep={"id": pa.int64()}), path)


# ------------------------------------------------------------------ comparing
def canon(value: Any) -> Any:
    """One spelling for a value whichever format carried it: numbers normalised, dates ISO, booleans lower."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return [canon(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith("["):
        return canon(json.loads(text))
    try:
        return str(Decimal(text).normalize())
    except InvalidOperation:
        return text


def consequences(value: Any) -> Any:
    if isinstance(value, str):
        value = json.loads(value) if value else None  # CSV: JSON text, empty for NULL
    if value is None:
        return None
    return [canon([c["rule"], c["code"], c["kind"], c["until"], c["permanent"], c["amount"]]) for c in value]


def read_output(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def compared(row: dict[str, Any], values: list[str]) -> dict[str, Any]:
    out = {k: canon(row[k]) for k in ("outcome", "reasons", "warnings", "error")}
    out["consequences"] = consequences(row["consequences"])
    for p in values:
        out[p] = canon(row[p])
    return out


def expected(book: Any, pid: str, record: dict[str, Any], at: dt.date, values: list[str]) -> dict[str, Any]:
    e = by_evaluate(book, pid, record, at, values)
    out = {k: canon(e[k]) for k in ("outcome", "reasons", "warnings", "error")}
    out["consequences"] = None if e["consequences"] is None else [canon(list(c)) for c in e["consequences"]]
    for p in values:
        out[p] = canon(e[p])
    return out


CASES = [("parquet", "jsonl"), ("csv", "csv"), ("jsonl", "parquet"), ("nested.jsonl", "csv")]


@pytest.mark.parametrize(("source", "target"), CASES)
def test_the_command_decides_every_record_as_evaluate(book: Any, tmp_path: Path, source: str, target: str) -> None:
    model = book.model
    out = tmp_path / f"out.{target}"
    inputs, batches = [], {}
    for pid in POLICIES:
        policy = model.policies[pid]
        at = days(policy)[len(days(policy)) // 2]
        rng = random.Random(f"score-cli:{pid}:{source}")
        batch = [dict(r, id=i) for i, r in enumerate(records(model, policy, rng, N, at))]
        path = tmp_path / f"{pid}.{source}"
        if source == "parquet":
            write_parquet(path, book, pid, at, batch)
        elif source == "csv":
            write_csv(path, batch, ["id", *policy.inputs])
        else:
            write_jsonl(path, batch, nested=source.startswith("nested"))
        inputs.append((pid, at, path))
        batches[pid] = batch
    for pid, at, path in inputs:
        done = cli(pid, "--input", str(path), "--out", str(out), "--at", at.isoformat(), "--key", "id")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"{pid}: ")
        rows = read_output(out)
        assert len(rows) == N
        values = list(planning.plan(model, pid, at).values)
        for record, row in zip(batches[pid], sorted(rows, key=lambda r: int(r["id"]))):
            assert int(row["id"]) == record["id"] and row["policy"] == pid
            assert compared(row, values) == expected(book, pid, {k: v for k, v in record.items() if k != "id"}, at,
                                                     values), f"{pid} @ {at}: {record}"


def test_several_policies_one_row_per_record_and_policy(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"account": {"kind": "personal"}, "shop": {"categories": ["apparel_underwear"]}}) + "\n"
                   + json.dumps({"account.kind": "personal"}) + "\n", encoding="utf-8")
    done = cli("shop.deposit", "cart.opening", "--input", str(src), "--out", str(tmp_path / "o.jsonl"),
               "--at", "2023-12-20")
    assert done.returncode == 0, done.stderr
    rows = read_output(tmp_path / "o.jsonl")
    assert [(r["record"], r["policy"]) for r in rows] == [(0, "shop.deposit"), (1, "shop.deposit"),
                                                         (0, "cart.opening"), (1, "cart.opening")]
    assert rows[0]["outcome"] == "allow" and rows[0]["shop.deposit"] == "500.0000000000"
    assert rows[1]["error"] == "missing_facts" and rows[1]["outcome"] is None  # the batch went on
    assert done.stdout.splitlines()[0] == "shop.deposit: allow 1, missing_facts 1"


def test_a_missing_fact_and_an_ill_typed_value_are_errors_of_their_records(book: Any, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,account.kind,shop.categories\n1,personal,\"[\"\"apparel_underwear\"\"]\"\n2,personal,\n"
                   "3,not_a_kind,\"[\"\"apparel_underwear\"\"]\"\n", encoding="utf-8")
    done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.parquet"), "--at", "2023-12-20",
               "--key", "id", "--lang", "zh")
    assert done.returncode == 0, done.stderr
    rows = {r["id"]: r for r in read_output(tmp_path / "o.parquet")}
    assert rows["1"]["outcome"] == "allow" and rows["1"]["error"] is None
    assert rows["2"]["error"] == "missing_facts"
    record = {"account": {"kind": "not_a_kind"}, "shop": {"categories": ["apparel_underwear"]}}
    assert rows["3"]["error"] == expected(book, "shop.deposit", record, dt.date(2023, 12, 20), [])["error"]
    assert done.stdout.startswith("shop.deposit：允许 1")


def test_a_value_that_cannot_be_cast_is_bad_facts(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("cart.return_rate,cart.orders\nabc,10\n", encoding="utf-8")
    done = cli("cart.metrics", "--input", str(src), "--out", str(tmp_path / "o.jsonl"), "--at", "2024-06-03")
    assert done.returncode == 0, done.stderr
    assert read_output(tmp_path / "o.jsonl")[0]["error"] == "bad_facts"  # as evaluate calls an ill-typed fact
    assert done.stdout == "cart.metrics: bad_facts 1\n"


def test_count_arithmetic_that_would_overflow_is_an_error_of_its_record(tmp_path: Path) -> None:
    # two counts were added or multiplied as DuckDB BIGINTs: one record whose product overflowed 64 bits failed
    # the whole query ("cannot read in.csv: Out of Range Error: Overflow in multiplication of INT64"), no output
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "count.policy").write_text(
        'policy demo.count\n  title "件数" / "Counts"\n\ninput d.n: count "件数" / "Items"\n\n'
        'define d.square: count "平方" / "Square"\n  = d.n * d.n\n\ndefine d.twice: count "两倍" / "Twice"\n'
        '  = d.n + d.n\n\nrule r "r" / "r"\n  require d.square >= d.twice\n    else deny no "否" / "No"\n'
        '  source "doc.txt" quote "q"\n', encoding="utf-8")
    src = tmp_path / "in.csv"
    src.write_text("d.n\n3\n4611686018427387904\n3037000499\n1\n", encoding="utf-8")
    done = cli("demo.count", "--input", str(src), "--out", str(tmp_path / "o.jsonl"), "--at", "2024-01-01",
               "--policies", str(tmp_path / "book"))
    assert done.returncode == 0, done.stderr
    rows = read_output(tmp_path / "o.jsonl")
    assert [(r["outcome"], r["error"]) for r in rows] == [("allow", None), (None, "score.range"), (None, "score.range"),
                                                         ("deny", None)]
    assert rows[0]["d.square"] == 9 and rows[0]["d.twice"] == 6


@pytest.mark.parametrize(("shift", "errors"), [("d.day + 1 months", [None, "date_range"]),
                                             ("d.day - 800000 days", ["date_range", None]),
                                             ("d.day + 99999999999 days", ["date_range", "date_range"])])
def test_a_date_shifted_past_the_representable_ones_is_date_range_as_in_eval(tmp_path: Path, shift: str,
                                                                             errors: list[str | None]) -> None:
    # DuckDB's dates reach past 9999-12-31: the plan wrote 10000-01-01 (or "11667-06-20 (BC)") and decided on it,
    # where eval says date_range; a shift past 32 bits failed the whole batch ("cannot read in.csv: Conversion Error")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "day.policy").write_text(
        'policy demo.day\n  title "日" / "Day"\n\ninput d.day: date "日" / "Day"\n\n'
        f'define d.later: date "后" / "Later"\n  = {shift}\n\nrule r "r" / "r"\n  require d.later != d.day\n'
        '    else deny no "否" / "No"\n  source "doc.txt" quote "q"\n', encoding="utf-8")
    src = tmp_path / "in.csv"
    src.write_text("d.day\n2024-01-01\n9999-12-01\n", encoding="utf-8")
    done = cli("demo.day", "--input", str(src), "--out", str(tmp_path / "o.jsonl"), "--at", "2024-01-01",
               "--policies", str(tmp_path / "book"), "--lang", "en")
    assert done.returncode == 0, done.stderr
    rows = read_output(tmp_path / "o.jsonl")
    assert [r["error"] for r in rows] == errors
    book = policydsl.load(tmp_path / "book")
    for row, day in zip(rows, ("2024-01-01", "9999-12-01")):
        assert row == {**row, **expected(book, "demo.day", {"d": {"day": day}}, dt.date(2024, 1, 1), [])}


@pytest.mark.parametrize("content", [None, b"PAR1 not really parquet", b""])
def test_unreadable_input_exits_2_naming_it(tmp_path: Path, content: bytes | None) -> None:
    src = tmp_path / "in.parquet"
    if content is not None:
        src.write_bytes(content)
    out = tmp_path / "o.csv"
    done = cli("shop.deposit", "--input", str(src), "--out", str(out), "--at", "2023-12-20")
    assert done.returncode == 2
    assert f"cannot read {src}" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == ([src] if content is not None else [])


@pytest.mark.parametrize("make, reason", [
    (lambda p: os.mkfifo(p), "not a regular file"), (lambda p: p.mkdir(), "not a regular file"),
    (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
    (lambda p: (p.symlink_to(p.with_name("loop.csv")), p.with_name("loop.csv").symlink_to(p)),
     "Too many levels of symbolic links")])
def test_an_input_that_is_no_regular_file_says_what_it_is(tmp_path: Path, make: Any, reason: str) -> None:
    # Path.is_file said no to each, and the error said "No such file or directory" of a file that is there
    src = tmp_path / "in.csv"
    make(src)
    done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.csv"), "--at", "2023-12-20")
    assert (done.returncode, done.stderr.strip()) == (2, f"error: cannot read {src}: {reason}")


def test_errors_are_in_the_first_language_given(tmp_path: Path) -> None:
    """`--lang zh,en`: the command's own lines use the first language, its errors included (before, an error was
    in the default language: the guard read only an option named `lang`)."""
    src = tmp_path / "missing.csv"
    for given, said in (("zh", f"错误：无法读取 {src}：文件或文件夹不存在"), ("en,zh", f"error: cannot read {src}: No such file or directory")):
        done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.csv"), "--lang", given)
        assert (done.returncode, done.stderr.strip()) == (2, said)
    done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.csv"))  # none given: POLICYDSL_LANG's
    assert done.stderr.strip() == f"error: cannot read {src}: No such file or directory"


def test_a_broken_line_deep_in_json_lines_exits_2(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"account.kind": "personal"}\n' * 5000 + '{"account.kind": \n', encoding="utf-8")
    done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.csv"), "--at", "2023-12-20")
    assert done.returncode == 2 and f"cannot read {src}" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("name, content, shown", [
    ("in.csv", b"account.fans\0x,account.fans,account.kind\n1,5000,personal\n", "account.fans␀x"),
    ("in.jsonl", b'{"account.fans\\u0000x": 1, "account.fans": 5000, "account.kind": "personal"}\n', "account.fans␀x"),
    ("in.csv", b"account.kind\0,account.fans\npersonal,5000\n", "account.kind␀")])
def test_a_column_name_holding_a_nul_exits_2_naming_it(tmp_path: Path, name: str, content: bytes, shown: str) -> None:
    # a NUL ends a name in Arrow's schema and in DuckDB's SQL: two columns of one name, an internal error (exit 3)
    src, out = tmp_path / name, tmp_path / "o.csv"
    src.write_bytes(content)
    for lang, said in (("en", f"error: the input's column name `{shown}` holds a NUL character"),
                       ("zh", f"错误：输入的列名 `{shown}` 含 NUL 字符")):
        for more in ((), ("--lang", lang)):  # (with --lang, the messages' function was typed before the query ran)
            done = subprocess.run([sys.executable, "-m", "policydsl.cli", "score", "cart.opening", "--input", str(src),
                                   "--out", str(out), "--at", "2023-12-20", *more], cwd=ROOT, capture_output=True,
                                  text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "POLICYDSL_LANG": lang})
            assert (done.returncode, done.stdout, done.stderr.strip()) == (2, "", said)
            assert not out.exists()


@pytest.mark.parametrize("at", [("--at", "2023-12-20"), ("--at-column", "d")])
def test_an_input_column_named_as_the_days_own_is_not_read(tmp_path: Path, at: tuple[str, str]) -> None:
    # `__at` is the column the query holds each record's day in: an input column of that name was taken for it
    record = {"d": [dt.date(2023, 12, 20)], "account.kind": ["personal"], "account.fans": [999],
              "account.real_name": [True], "product.special_category": [False]}
    outputs = []
    for name, extra in (("plain", {}), ("hostile", {"__at": [dt.date(2021, 6, 1)]})):
        pq.write_table(pa.table({**record, **extra}), tmp_path / f"{name}.parquet")
        done = cli("cart.opening", "--input", str(tmp_path / f"{name}.parquet"), "--out", str(tmp_path / f"{name}.jsonl"),
                   *at)
        assert done.returncode == 0, done.stderr
        outputs.append(read_output(tmp_path / f"{name}.jsonl"))
    assert outputs[1] == outputs[0]
    assert (outputs[0][0]["at"], outputs[0][0]["outcome"]) == ("2023-12-20", "deny")


def test_an_unknown_format_exits_2(tmp_path: Path) -> None:
    done = cli("shop.deposit", "--input", str(tmp_path / "in.xlsx"), "--out", str(tmp_path / "o.csv"))
    assert done.returncode == 2 and "unsupported file type" in done.stderr


def test_a_missing_key_column_exits_2(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"account.kind": "personal"}\n', encoding="utf-8")
    done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.csv"), "--key", "shop_id")
    assert done.returncode == 2 and "no key column `shop_id`" in done.stderr


def test_the_output_replaces_an_existing_file_atomically(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "o.csv"
    src.write_text('{"account.kind": "personal"}\n', encoding="utf-8")
    out.write_text("old", encoding="utf-8")
    assert cli("shop.deposit", "--input", str(src), "--out", str(out), "--at", "2023-12-20").returncode == 0
    assert out.read_text(encoding="utf-8").startswith('record,policy,at,outcome')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "o.csv"]  # no temporary file left


def test_a_missing_score_extra_names_it() -> None:
    from policydsl.commands.common import missing_extra

    for module in ("duckdb", "sqlglot", "pyarrow"):
        assert missing_extra(ModuleNotFoundError(name=module)) == "score"


def test_a_fact_may_be_the_key(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text('account.kind,shop.categories\npersonal,"[""apparel_underwear""]"\n', encoding="utf-8")
    done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.jsonl"), "--at", "2023-12-20",
               "--key", "account.kind")
    assert done.returncode == 0, done.stderr
    row = read_output(tmp_path / "o.jsonl")[0]
    assert (row["account.kind"], row["outcome"]) == ("personal", "allow")


def test_score_table_from_python(book: Any) -> None:
    from policydsl.score.files import score_table

    table = pa.table({"id": [7, 8], "account": [{"kind": "personal"}, None],
                      "shop.categories": [["apparel_underwear"], None]})
    rows = score_table(book.model, ["shop.deposit"], table, dt.date(2023, 12, 20), keys=("id",)).to_pylist()
    assert [(r["id"], r["policy"], r["outcome"], r["error"]) for r in rows] == [
        (7, "shop.deposit", "allow", None), (8, "shop.deposit", None, "missing_facts")]
    assert rows[0]["shop.deposit"] == Decimal("500")
