"""The zh/en messages of scored records, exactly as `eval` words them.

A reason's message shows values (`粉丝数 999 人，未达到 1000 人的门槛`) and an error's names the facts it is
about with their labels; both are the row evaluator's own text. So the messages are not re-implemented in
SQL: the records that need one (a reason, a warning or an error) are handed, a vector at a time, to a DuckDB
function that decides each of them again with `PolicySet.evaluate` and returns its words. Records with no
reason, warning or error (an `allow` with no reasons, a policy skipped by the book) cost nothing; the plan
still decides every record, and the messages must agree with it (tests/test_score_stream.py).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable

import duckdb
import pyarrow as pa

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.runtime.values import plain
from policydsl.score.plan import PRECISION, SCALE

if TYPE_CHECKING:  # (the loader brings the parser: batch scoring needs only what decides)
    from policydsl.loader import PolicySet

STRINGS: dict[str, tuple[str, str]] = {
    "bad_date": ("记录的日期列 `{column}` 为空或不是 YYYY-MM-DD 日期", "the record's date column `{column}` is empty or not a date (YYYY-MM-DD)"),
    "scale": ("记录中有金额、百分比或数值的小数超过 {scale} 位，批量评分无法不经舍入地表示：请用 eval 判断这条记录",
              "an amount, percent or number of the record has more than {scale} decimal places, which batch scoring cannot hold without rounding: decide this record with eval"),
    "bad_cast": ("记录中有值无法读作其事实的类型（如计数写成 abc）", "a value of the record cannot be read as its fact's type (say abc for a count)"),
}
s = i18n.register("score.message", STRINGS)


def columns(langs: Iterable[str]) -> list[tuple[str, pa.DataType]]:
    """The message columns, per language: the reasons' and the warnings' messages (in the order of their
    codes) and the error's message."""
    return [(f"{what}_{lang}", t) for lang in langs for what, t in
            (("reason_messages", pa.list_(pa.string())), ("warning_messages", pa.list_(pa.string())),
             ("error_message", pa.string()))]


def nested(record: dict[str, Any]) -> dict[str, Any]:
    """A row of the plan's fact columns (dotted ids, typed) as `evaluate` takes a record: nested, a fact left
    out where it is NULL, dates as YYYY-MM-DD."""
    out: dict[str, Any] = {}
    for path, value in record.items():
        if value is None:
            continue
        *parents, name = path.split(".")
        at = out
        for part in parents:
            at = at.setdefault(part, {})
        at[name] = value.isoformat() if isinstance(value, dt.date) else \
            Decimal(plain(value)) if isinstance(value, Decimal) else value  # 4.5100000000 (the plan's scale): 4.51
    return out


def explain(book: PolicySet, policy: str, langs: tuple[str, ...], at_column: str | None
            ) -> Callable[[pa.Array, pa.Array, pa.Array, pa.Array], pa.Array]:
    """The DuckDB function of one policy: (its facts as a struct, the record's date, its error code from
    the plan, the file's own error code: bad_facts for a value that could not be cast, score.scale for an
    amount with too many places) -> the message columns."""
    result = pa.struct([pa.field(name, t) for name, t in columns(langs)])

    def words(facts: dict[str, Any], day: dt.date | None, error: str | None, stated: str | None) -> dict[str, Any]:
        failure: PolicyDslError | None = None
        if day is None:
            failure = PolicyDslError("score.message.bad_date", column=at_column or "")
        elif error == "bad_facts" and stated == "bad_facts":
            failure = PolicyDslError("score.message.bad_cast")
        elif error == "score.scale":
            failure = PolicyDslError("score.message.scale", scale=SCALE)
        elif error is not None and error.startswith("score."):  # the plan's own limits: `eval` would decide it
            failure = PolicyDslError(error, digits=PRECISION - SCALE, scale=SCALE)
        else:
            try:
                decision = book.evaluate(policy, nested(facts), day)
            except PolicyDslError as exc:
                failure = exc
        out: dict[str, Any] = {}
        for lang in langs:
            out[f"reason_messages_{lang}"] = None if failure else [r.message[lang] for r in decision.reasons]
            out[f"warning_messages_{lang}"] = None if failure else [w.message[lang] for w in decision.warnings]
            out[f"error_message_{lang}"] = failure.message(lang) if failure else None
        return out

    def vector(facts: pa.Array, days: pa.Array, errors: pa.Array, bad: pa.Array) -> pa.Array:
        rows = zip(facts.to_pylist(), days.to_pylist(), errors.to_pylist(), bad.to_pylist())
        return pa.array([words(f, d, e, b) for f, d, e, b in rows], type=result)
    return vector


def register(con: duckdb.DuckDBPyConnection, name: str, book: PolicySet, policy: str, facts_type: Any,
             langs: tuple[str, ...], at_column: str | None) -> None:
    """`name(facts, day, error, the file's own error code)` on the connection, for one policy (see `explain`)."""
    text = duckdb.sqltype("VARCHAR")
    struct = duckdb.struct_type({column: duckdb.list_type(text) if pa.types.is_list(t) else text
                                 for column, t in columns(langs)})
    con.create_function(name, explain(book, policy, langs, at_column),  # type: ignore[call-overload]
                        [facts_type, duckdb.sqltype("DATE"), duckdb.sqltype("VARCHAR"), duckdb.sqltype("VARCHAR")],
                        struct, type="arrow", null_handling="special")
