"""`policydsl score` as a nightly job runs it: a date per record (`--at-column`, rollouts included), the whole
book (`--book`, with each policy's status as in `evaluate_all`), a progress bar on a terminal and none in a
pipe, input order kept over many row groups, and the output replacing the old file only when complete."""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import stat
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("sqlglot")

import pyarrow.parquet as pq  # noqa: E402

import policydsl  # noqa: E402
from policydsl.errors import PolicyDslError  # noqa: E402
from policydsl.fsutil import replacing  # noqa: E402
from policydsl.score.files import score_table  # noqa: E402
from test_score_cli import cli, compared, expected, read_output  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def book() -> Any:
    return policydsl.load(ROOT / "policies")


def rollout_records(n: int) -> list[dict[str, Any]]:
    """Official and authorised accounts adding other shops' products on days across the rollout of
    official_account.own_store_only (before, during the ramp, after), with its edges."""
    rng = random.Random(7)
    edges = [dt.date(2023, 10, 31), dt.date(2023, 11, 1), dt.date(2023, 11, 10), dt.date(2023, 11, 11),
             dt.date(2023, 11, 12), dt.date(2023, 12, 19), dt.date(2023, 12, 20), dt.date(2023, 12, 21),
             dt.date(2023, 12, 31), dt.date(2024, 1, 1)]
    out = []
    for i in range(n):
        day = rng.choice(edges) if i % 3 == 0 else dt.date(2023, 11, 1) + dt.timedelta(days=rng.randrange(0, 70))
        out.append({"id": i, "day": day.isoformat(), "account.id": f"acct-{rng.randrange(10 ** 6)}",
                    "account.role": rng.choice(["official", "authorised", "creator"]),
                    "shop.type": rng.choice(["individual_store", "enterprise_store", "mall", "flagship"]),
                    "shop.closed": rng.random() < 0.05, "shop.cross_border": rng.random() < 0.1, "product.own_store": rng.random() < 0.2,
                    "product.scene": rng.choice(["live", "showcase", "short_video"])})
    return out


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows), encoding="utf-8")  # decimals as text


def test_each_record_is_decided_on_its_own_date_rollouts_included(book: Any, tmp_path: Path) -> None:
    rows = rollout_records(600)
    rows += [{**rows[0], "id": 600, "day": ""}, {**rows[1], "id": 601, "day": "2023-13-01"}]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.parquet"
    write_jsonl(src, rows)
    done = cli("official_account.own_store_only", "--input", str(src), "--out", str(out), "--at-column", "day",
               "--key", "id")
    assert done.returncode == 0, done.stderr
    written = {r["id"]: r for r in read_output(out)}
    assert len(written) == len(rows)
    seen = set()
    for record in rows[:600]:
        facts = {k: v for k, v in record.items() if k not in ("id", "day")}
        day = dt.date.fromisoformat(record["day"])
        row = written[record["id"]]
        assert row["at"] == day
        want = expected(book, "official_account.own_store_only", facts, day, [])
        assert compared(row, []) == want, record
        seen.add(want["outcome"] or want["error"])
    assert seen == {"allow", "deny", "not_in_force"}  # the ramp both covers and leaves out some accounts
    assert (written[600]["error"], written[600]["outcome"], written[601]["error"]) == ("bad_date", None, "bad_date")


def test_at_and_at_column_together_are_a_usage_error(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write_jsonl(src, rollout_records(2))
    done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.csv"), "--at", "2023-12-20",
               "--at-column", "day")
    assert done.returncode == 2 and "give --at or --at-column, not both" in done.stderr
    done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.csv"), "--at-column", "when")
    assert done.returncode == 2 and "no key column `when`" in done.stderr


def test_the_whole_book_gives_each_policy_its_status_as_evaluate_all(book: Any, tmp_path: Path) -> None:
    at = dt.date(2023, 12, 20)
    records = [
        {"account.kind": "enterprise", "account.role": "official", "account.id": "a1", "shop.type": "mall",
         "product.scene": "live", "product.own_store": False, "shop.cross_border": False},
        {"account.kind": "personal", "account.role": "creator", "account.id": "a2"},
        {"account.fans": 5000, "account.kind": "personal"},
    ]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, records)
    done = cli("--book", "--input", str(src), "--out", str(out), "--at", at.isoformat())
    assert done.returncode == 0, done.stderr
    rows = read_output(out)
    assert len(rows) == len(records) * len(book.policies)
    for i, record in enumerate(records):
        whole = book.evaluate_all(record, at, ignore_unknown=True)
        for part in whole.parts:
            row = next(r for r in rows if r["record"] == i and r["policy"] == part.policy)
            assert row["status"] == part.status, (i, part.policy, row)
            if part.status == "decided":
                assert (row["outcome"], row["reasons"]) == (part.decision.outcome, [r.code for r in part.decision.reasons])
            elif part.status == "error":
                assert row["error"] == part.error.code and row["outcome"] is None
            else:
                assert row["error"] is None and row["outcome"] is None
    statuses = {(r["record"], r["policy"]): r["status"] for r in rows}
    assert statuses[(1, "enterprise.onboarding")] == "not_applicable"  # applies when account.kind == enterprise
    assert statuses[(2, "official_account.own_store_only")] == "error"  # its applies when lacks account.role
    assert statuses[(0, "shop.entry_legacy")] == "not_in_force"


def test_policies_and_book_together_are_a_usage_error(tmp_path: Path) -> None:
    done = cli("shop.deposit", "--book", "--input", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"))
    assert done.returncode == 2 and "give policies or --book" in done.stderr
    done = cli("--input", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"))
    assert done.returncode == 2 and "give policies or --book" in done.stderr


def test_a_progress_bar_only_when_asked_or_on_a_terminal(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write_jsonl(src, rollout_records(50))
    quiet = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "a.csv"), "--at", "2023-12-20")
    assert quiet.returncode == 0 and "%" not in quiet.stderr  # a pipe: no bar
    shown = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "b.csv"), "--at", "2023-12-20", "--progress")
    assert shown.returncode == 0 and "100%" in shown.stderr and str(src) in shown.stderr
    forced_off = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "c.csv"), "--at", "2023-12-20", "--no-progress")
    assert forced_off.returncode == 0 and "%" not in forced_off.stderr


def test_a_progress_bar_on_a_terminal_unasked(tmp_path: Path) -> None:
    """Standard error a terminal (a pseudo-terminal here), no option: the bar is drawn."""
    import fcntl
    import pty
    import struct
    import subprocess
    import sys
    import termios

    src = tmp_path / "in.jsonl"
    write_jsonl(src, rollout_records(50))
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a terminal of 120 columns
    try:
        done = subprocess.run([sys.executable, "-m", "policydsl.cli", "score", "shop.deposit", "--input", str(src), "--out",
                               str(tmp_path / "o.csv"), "--at", "2023-12-20"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=follower, timeout=300, env={"PATH": "/usr/bin:/bin", "POLICYDSL_LANG": "en"})
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal is closed once everything was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0 and b"100%" in drawn and str(src).encode() in drawn


def test_input_order_and_record_numbers_survive_many_row_groups(tmp_path: Path) -> None:
    n = 250_000
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    fans = pa.array([(i * 7919) % 3000 for i in range(n)], pa.int64())
    pq.write_table(pa.table({"shop": pa.array(range(n), pa.int64()), "account.fans": fans}), src, row_group_size=10_000)
    done = cli("cart.metrics", "--input", str(src), "--out", str(out), "--at", "2023-12-20", "--memory-limit", "32MB")
    assert done.returncode == 0, done.stderr  # within 32 MB for DuckDB: the input is streamed, not loaded whole
    written = pq.read_table(out, columns=["record"]).column("record").to_pylist()
    assert written == list(range(n))


def test_score_table_takes_a_date_column_and_the_book(book: Any) -> None:
    table = pa.table({"day": ["2023-11-11", "2023-12-31", None], "account.role": ["official"] * 3,
                      "account.id": ["x", "x", "x"], "product.scene": ["live"] * 3, "product.own_store": [False] * 3,
                      "shop.type": ["individual_store"] * 3, "shop.cross_border": [False] * 3,
                      "shop.closed": [False] * 3})
    rows = score_table(book.model, ["official_account.own_store_only"], table, None, at_column="day").to_pylist()
    assert [(r["at"], r["outcome"], r["error"]) for r in rows] == [
        (dt.date(2023, 11, 11), "allow", None), (dt.date(2023, 12, 31), "deny", None), (None, None, "bad_date")]
    whole = score_table(book.model, sorted(book.policies), table, dt.date(2023, 12, 31), whole_book=True)
    assert whole.num_rows == 3 * len(book.policies) and "status" in whole.column_names


# ------------------------------------------------------------------ the output file
def test_a_replaced_output_keeps_its_mode_and_a_failed_run_keeps_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    out.write_text("old", encoding="utf-8")
    os.chmod(out, 0o640)
    with replacing(out) as tmp:
        tmp.write_text("new", encoding="utf-8")
    assert out.read_text(encoding="utf-8") == "new" and stat.S_IMODE(out.stat().st_mode) == 0o640
    with pytest.raises(RuntimeError), replacing(out) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("the query failed")
    assert out.read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv"]  # no temporary file left behind


def test_a_read_only_output_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "o.csv"
    write_jsonl(src, rollout_records(3))
    out.write_text("keep", encoding="utf-8")
    os.chmod(out, 0o444)
    with pytest.raises(PolicyDslError) as caught, replacing(out):
        pass
    assert caught.value.code == "read_only"
    done = cli("shop.deposit", "--input", str(src), "--out", str(out), "--at", "2023-12-20")
    assert done.returncode != 0 and "Traceback" not in done.stderr and str(out) in done.stderr
    assert out.read_text(encoding="utf-8") == "keep"


def test_a_hard_linked_output_is_rewritten_through_its_inode(tmp_path: Path) -> None:
    out, link = tmp_path / "o.csv", tmp_path / "link.csv"
    out.write_text("old", encoding="utf-8")
    os.link(out, link)
    with replacing(out) as tmp:
        tmp.write_text("new", encoding="utf-8")
    assert link.read_text(encoding="utf-8") == "new" and out.stat().st_ino == link.stat().st_ino


def test_an_output_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "nowhere" / "o.csv"
    write_jsonl(src, rollout_records(3))
    done = cli("shop.deposit", "--input", str(src), "--out", str(out), "--at", "2023-12-20")
    assert done.returncode != 0 and "Traceback" not in done.stderr and str(out) in done.stderr
    assert not out.parent.exists()


def test_a_memory_limit_duckdb_cannot_read_is_a_clear_error(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "o.csv"
    write_jsonl(src, rollout_records(3))
    done = cli("shop.deposit", "--input", str(src), "--out", str(out), "--at", "2023-12-20", "--memory-limit", "lots")
    assert done.returncode == 2 and done.stderr.startswith("error: invalid DuckDB setting:") and not out.exists()
    done = cli("shop.deposit", "--input", str(src), "--out", str(out), "--at", "2023-12-20", "--memory-limit", "200MB")
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ messages
MESSAGE_POLICIES = ["cart.opening", "shop.deposit", "deposit.stage", "alliance.eligibility", "cart.opening_flow",
                    "official_account.own_store_only"]


@pytest.mark.parametrize("pid", MESSAGE_POLICIES)
def test_messages_are_the_ones_eval_gives(book: Any, pid: str) -> None:
    """Generated records (boundaries, left-out facts) on each of the policy's edge days: every reason's, warning's
    and error's message, in both languages, equals what `evaluate` says for the same record."""
    from policydsl.score import duckdb_backend as backend
    from policydsl.score import plan as planning
    from scoregen import days, records

    policy = book.policies[pid]
    rng = random.Random(pid)
    compared_rows = 0
    chosen = days(policy)[::3]
    for at in chosen:
        rows = records(book.model, policy, rng, -(-1200 // len(chosen)), at)
        table = backend.to_arrow(planning.plan(book.model, pid, at), rows)
        out = score_table(book, [pid], table, at, langs=("zh", "en")).to_pylist()
        for record, row in zip(rows, out):
            try:
                d = book.evaluate(pid, record, at)
            except PolicyDslError as exc:
                want = {f"error_message_{lang}": exc.message(lang) for lang in ("zh", "en")}
            else:
                want = {f"{what}_messages_{lang}": [r.message[lang] for r in found]
                        for lang in ("zh", "en") for what, found in (("reason", d.reasons), ("warning", d.warnings))}
                if not d.reasons and not d.warnings:  # nothing to say: no message is worded
                    want = {key: None for key in want}
            assert {k: row[k] for k in want} == want, (record, at)
            compared_rows += 1
    assert compared_rows >= 1200


def test_a_bad_lang_is_a_usage_error(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    write_jsonl(src, rollout_records(2))
    done = cli("shop.deposit", "--input", str(src), "--out", str(tmp_path / "o.csv"), "--lang", "fr")
    assert done.returncode == 2 and "`fr` is not a list of languages" in done.stderr


def test_the_command_words_reasons_and_errors_in_the_languages_asked(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "o.jsonl"
    src.write_text(json.dumps({"id": 1, "account": {"kind": "personal", "fans": 999, "real_name": True},
                               "product": {"special_category": False}}) + "\n"
                   + json.dumps({"id": 2, "account": {"kind": "personal", "fans": "many"}}) + "\n", encoding="utf-8")
    done = cli("cart.opening", "--input", str(src), "--out", str(out), "--at", "2023-12-20", "--key", "id", "--lang", "en")
    assert done.returncode == 0, done.stderr
    first, second = read_output(out)
    assert first["reason_messages_en"] == ["999 followers, below the threshold of 1,000 followers"]
    assert second["error_message_en"] == "a value of the record cannot be read as its fact's type (say abc for a count)"
    assert "reason_messages_zh" not in first and done.stdout.startswith("cart.opening: deny 1")


def test_book_score_from_python(book: Any) -> None:
    table = pa.table({"shop_id": [7, 8], "account.kind": ["personal", "enterprise"], "account.fans": [999, 5000]})
    rows = book.score(table, ["cart.metrics"], at=dt.date(2023, 12, 20), keys=("shop_id",)).to_pylist()
    assert [(r["shop_id"], r["policy"], r["at"]) for r in rows] == [(7, "cart.metrics", dt.date(2023, 12, 20)),
                                                                     (8, "cart.metrics", dt.date(2023, 12, 20))]
    assert [r["outcome"] or r["error"] for r in rows] == [
        (d.outcome if not isinstance(d, Exception) else d.code) for d in (
            _decide(book, "cart.metrics", {"account": {"kind": k, "fans": f}}) for k, f in (("personal", 999), ("enterprise", 5000)))]
    whole = book.score(table, at=dt.date(2023, 12, 20), keys=("shop_id",))
    assert whole.num_rows == 2 * len(book.policies) and set(whole.column("status").to_pylist()) <= {
        "decided", "not_in_force", "not_applicable", "error"}
    with pytest.raises(PolicyDslError) as caught:
        book.score(table, ["no.such.policy"])
    assert caught.value.code == "unknown_policy"


def test_book_score_takes_a_pandas_frame(book: Any) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"account.kind": ["personal"], "account.fans": [999]})
    rows = book.score(frame, ["cart.metrics"], at=dt.date(2023, 12, 20)).to_pylist()
    assert [(r["record"], r["policy"]) for r in rows] == [(0, "cart.metrics")]


def _decide(book: Any, pid: str, record: dict[str, Any]) -> Any:
    try:
        return book.evaluate(pid, record, dt.date(2023, 12, 20))
    except PolicyDslError as exc:
        return exc


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_an_amount_with_more_places_than_the_plan_holds_is_that_records_error(tmp_path: Path, suffix: str) -> None:
    """Never rounded: 0.12345678901 (11 places) is the record's `score.scale`; 10 places, or trailing zeros, are fine."""
    amounts = ["12.5", "0.12345678901", "0.1234567890", "0.12345678900000", "abc"]
    src, out = tmp_path / f"in.{suffix}", tmp_path / "o.jsonl"
    if suffix == "csv":
        src.write_text("id,shop.gmv_30d\n" + "".join(f"{i},{a}\n" for i, a in enumerate(amounts)), encoding="utf-8")
    elif suffix == "jsonl":  # numbers as JSON numbers (read as doubles) and as strings
        src.write_text("".join(json.dumps({"id": i, "shop": {"gmv_30d": a if i % 2 else float(a) if a != "abc" else a}}) + "\n"
                               for i, a in enumerate(amounts)), encoding="utf-8")
    else:  # a Parquet decimal with 12 places
        from decimal import Decimal
        values = [Decimal(a).quantize(Decimal("1e-12")) if a != "abc" else None for a in amounts]
        pq.write_table(pa.table({"id": list(range(len(amounts))), "shop.gmv_30d": pa.array(values, pa.decimal128(30, 12))}), src)
    done = cli("alliance.eligibility", "--input", str(src), "--out", str(out), "--at", "2024-06-03", "--key", "id", "--lang", "en")
    assert done.returncode == 0, done.stderr
    errors = [row["error"] for row in read_output(out)]
    assert errors[1] == "score.scale" and "more than 10 decimal places" in read_output(out)[1]["error_message_en"]
    assert errors[0] != "score.scale" and errors[2] != "score.scale" and errors[3] != "score.scale"
    assert errors[4] == ("bad_facts" if suffix != "parquet" else "missing_facts")


@pytest.mark.parametrize("target", ["parquet", "csv"])
def test_the_book_summary_says_what_evaluate_all_says(book: Any, tmp_path: Path, target: str) -> None:
    """`--book --summary FILE`: one row per record, the whole book's outcome and which policies denied, allowed,
    warned, failed, did not apply or were not in force, as `evaluate_all(...).summary` gives them."""
    from scoregen import records

    at = dt.date(2024, 6, 3)
    rng = random.Random(11)
    rows: list[dict[str, Any]] = []
    for pid in ("cart.opening", "shop.deposit", "alliance.eligibility", "official_account.own_store_only"):
        rows += records(book.model, book.policies[pid], rng, 40, at)
    src, out, summary = tmp_path / "in.jsonl", tmp_path / f"out.{target}", tmp_path / "summary.jsonl"
    write_jsonl(src, [{"id": i, **r} for i, r in enumerate(rows)])
    done = cli("--book", "--input", str(src), "--out", str(out), "--summary", str(summary), "--at", at.isoformat(), "--key", "id")
    assert done.returncode == 0, done.stderr
    found = read_output(summary)
    assert [r["id"] for r in found] == list(range(len(rows)))
    outcomes = set()
    for record, row in zip(rows, found):
        want = book.evaluate_all(record, at).summary
        assert {k: row[k] for k in ("outcome", "denied", "allowed", "warned", "errors", "not_applicable", "not_in_force")} \
            == {k: sorted(want[k]) if isinstance(want[k], list) else want[k] for k in (
                "outcome", "denied", "allowed", "warned", "errors", "not_applicable", "not_in_force")}, record
        outcomes.add(want["outcome"])
    assert outcomes == {"deny", "undecided"}  # (a record that every policy allows is rare among generated ones)


def test_a_summary_needs_the_book(tmp_path: Path) -> None:
    done = cli("shop.deposit", "--input", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"), "--summary",
               str(tmp_path / "s.csv"))
    assert done.returncode == 2 and "--summary needs --book" in done.stderr


def test_a_summary_over_the_output_or_the_input_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    # both were written, one renamed over the other: --out's rows replaced the summary (or the summary the input),
    # and the command said it wrote them all
    src, out = tmp_path / "in.csv", tmp_path / "o.csv"
    src.write_text("account.kind,account.fans\npersonal,999\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    for summary in (out, src, tmp_path / "sub" / ".." / "o.csv"):
        done = cli("--book", "--input", str(src), "--out", str(out), "--summary", str(summary), "--at", "2024-06-03")
        assert done.returncode == 2 and "--summary must name a file other than --out's and --input's" in done.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "sub"]
        assert src.read_text(encoding="utf-8") == "account.kind,account.fans\npersonal,999\n"
