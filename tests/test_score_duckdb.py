"""Batch scoring on DuckDB against the row evaluator: for each policy of the book, 100,000 generated
records (scoregen: random values, every boundary of its thresholds and table cells, every date its
periods start or end on, facts left out) are decided by `PolicySet.evaluate` and by the plan, and
every output must be equal: outcome, reason codes, warnings, values, error code."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

duckdb = pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("sqlglot")

import policydsl  # noqa: E402
from policydsl.errors import PolicyDslError  # noqa: E402
from policydsl.score import duckdb_backend as backend  # noqa: E402
from policydsl.score import plan as planning  # noqa: E402
from scoregen import REACHED, ROOT, SUPPORTED, differential  # noqa: E402

RECORDS = 100_000  # per policy (issue 15: at least 100,000 with DuckDB)


@pytest.fixture(scope="module")
def book() -> Any:
    return policydsl.load(ROOT / "policies")


@pytest.mark.parametrize("pid", SUPPORTED)
def test_plan_decides_as_evaluate(book: Any, pid: str) -> None:
    compared, seen = differential(book, pid, RECORDS, backend.run)
    assert compared >= RECORDS
    assert REACHED[pid] <= seen, REACHED[pid] - seen


def test_plan_uses_one_quoted_identifier_per_fact(book: Any) -> None:
    plan = planning.plan(book.model, "cart.opening", dt.date(2024, 1, 2))
    sql = plan.sql()
    assert '"account.fans"' in sql and "account.fans\"" not in sql.replace('"account.fans"', "")
    assert plan.columns[:3] == ("outcome", "reasons", "warnings") and plan.columns[-1] == "error"


def test_generating_a_plans_sql_leaves_its_tree_as_it_was(book: Any) -> None:
    """`plan.sql` skips sqlglot's copy of the tree before generating DuckDB's SQL: safe only while that
    changes nothing, so for every plan of the book the text in both dialects, in either order, is the text
    of a fresh tree, however often generated. (Spark's generator does change the tree: after it, DuckDB's
    text of the same tree has a struct literal DuckDB cannot parse; plan.sql copies for Spark.)"""
    for pid in book.model.policies:
        tree = planning.plan(book.model, pid, planning.col("day")).select
        fresh = {dialect: tree.copy().sql(dialect) for dialect in ("duckdb", "spark")}
        for dialect in ("duckdb", "spark", "duckdb", "spark", "duckdb"):
            assert planning.sql(tree, dialect) == fresh[dialect], (pid, dialect)


def test_operands_of_operators_are_parenthesized() -> None:
    import sqlglot.expressions as exp

    tree = planning.and_(planning.col("g"), exp.Not(this=planning.or_(planning.col("a"), planning.col("b"))))
    assert planning.parenthesize(tree).sql("duckdb") == '"g" AND (NOT ("a" OR "b"))'
    assert planning.parenthesize(planning.is_null(exp.Not(this=planning.col("a")))).sql("duckdb") == '(NOT "a") IS NULL'


def test_known_truth_values_fold_as_three_valued_logic_allows(book: Any) -> None:
    import sqlglot.expressions as exp

    a, b, null = planning.col("a"), planning.col("b"), exp.Null()
    shown = {name: tree.sql("duckdb") for name, tree in {
        "is_null": planning.is_null(null), "not_null": planning.not_null(null),
        "and_true": planning.and_(exp.true(), a, planning.is_null(null)), "and_false": planning.and_(a, exp.false()),
        "or_false": planning.or_(planning.not_null(null), a, b), "or_true": planning.or_(a, exp.true()),
        "case": planning.case([(planning.not_null(null), null), (a, planning.text("x"))]),
        "case_typed": planning.case([(exp.false(), planning.text("x"))]),  # a typed value stays: the CASE keeps its type
        "case_none": planning.case([(exp.false(), null)])}.items()}
    assert shown == {"is_null": "TRUE", "not_null": "FALSE", "and_true": '"a"', "and_false": "FALSE",
                     "or_false": '"a" OR "b"', "or_true": "TRUE", "case": "CASE WHEN \"a\" THEN 'x' END",
                     "case_typed": "CASE WHEN FALSE THEN 'x' END", "case_none": "NULL"}
    for pid in SUPPORTED:  # no test of an error that cannot be raised is left in the book's plans
        assert "NULL IS NULL" not in planning.plan(book.model, pid, dt.date(2024, 6, 3)).sql(), pid


def test_unsupported_construct_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "demo.policy").write_text("""policy demo.ratio
  title "比例" / "Ratio"
  effective from 2024-01-01

input shop.a: money "甲金额" / "Amount A"
input shop.b: money "乙金额" / "Amount B"

rule ratio "比例" / "Ratio"
  require shop.a / shop.b > 0.5
    else deny ratio_low "比例太低" / "Ratio too low"
  source "demo.txt" quote "比例"
""", encoding="utf-8")
    small = policydsl.load(tmp_path)
    with pytest.raises(planning.ScoreUnsupported) as caught:
        planning.plan(small.model, "demo.ratio", dt.date(2024, 2, 1))
    assert caught.value.policy == "demo.ratio" and caught.value.code == "score.unsupported"
    assert caught.value.message("en") == ("batch scoring does not support the arithmetic `shop.a / shop.b` in policy "
                                          "demo.ratio yet: decide it record by record with eval")
    assert caught.value.message("zh") == "批量评分尚不支持政策 demo.ratio 中的算术运算 `shop.a / shop.b`：请逐条用 eval 判断该政策"


def test_a_fact_with_more_places_than_the_scale_is_refused(book: Any) -> None:
    plan = planning.plan(book.model, "cart.metrics", dt.date(2024, 1, 2))
    with pytest.raises(PolicyDslError) as caught:
        backend.to_arrow(plan, [{"cart": {"return_rate": Decimal("0.12345678901")}}])
    assert caught.value.code == "score.scale"


def test_arithmetic_beyond_the_exact_range_is_a_per_record_error(book: Any) -> None:
    plan = planning.plan(book.model, "product.sharing", dt.date(2024, 1, 2), keep=("id",))
    records = [{"id": 0, "product": {"source": "selected_alliance"}, "sharing": {"commission": Decimal("1e17")}},
               {"id": 1, "product": {"source": "selected_alliance"}, "sharing": {"commission": Decimal("12.34")}}]
    rows = sorted(backend.run(plan, backend.to_arrow(plan, records, keep={"id": pa.int64()})).to_pylist(),
                  key=lambda r: r["id"])
    assert rows[0]["error"] == "score.range"  # the batch goes on: the next record is decided
    assert rows[1]["error"] == "missing_facts"
    assert "decide this record with eval" in planning.s("range", "en", digits=18, scale=10)


def test_the_readme_example_runs() -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### Scoring many records", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102  # the README's own example
    assert scope["decided"].to_pylist() == [{"id": 1, "outcome": "allow", "reasons": [], "warnings": [], "consequences": [],
                                             "shop.deposit": Decimal("500"), "not_open:shop.deposit": False,
                                             "error": None}]
