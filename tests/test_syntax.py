"""Parser and AST builder: each construct becomes the AST node it should, with exact values and spans."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from policydsl.source import SourceFile
from policydsl.syntax import ast
from policydsl.syntax.parser import parse


def module(text: str) -> ast.Module:
    result, diags = parse(SourceFile(path="t.policy", text=text))
    assert diags == [], [d.render("en") for d in diags]
    assert result is not None
    return result


def expr(text: str) -> ast.Expr:
    m = module(f'policy p title "a" / "b"\ndefine x: bool "a" / "b" = {text}\n')
    return m.items[1].cases[0].expr


def test_policy_header():
    m = module('policy cart.opening title "购物车" / "Cart" implements R000.1, R001.1 '
               'source "000.txt" quote "个人账号" effective from 2020-04-07 until 2022-12-31')
    head = m.items[0]
    assert head.id.value == "cart.opening"
    assert (head.title.zh, head.title.en) == ("购物车", "Cart")
    assert [n.value for n in head.implements] == ["R000.1", "R001.1"]
    assert [(s.document, s.quote, s.quote_span.text) for s in head.sources] == [("000.txt", "个人账号", '"个人账号"')]
    assert (head.effective.start, head.effective.end) == (dt.date(2020, 4, 7), dt.date(2022, 12, 31))


def shape(e) -> tuple:
    if isinstance(e, ast.DurationLit):
        return ("duration", e.amount, e.unit)
    return (e.kind, e.value)


def test_literals_are_exact():
    assert shape(expr("¥0.10")) == ("money", Decimal("0.10"))
    assert shape(expr("80%")) == ("percent", Decimal("0.8"))
    assert shape(expr("12.5%")) == ("percent", Decimal("0.125"))
    assert shape(expr("2023-12-20")) == ("date", dt.date(2023, 12, 20))
    assert shape(expr("1.5")) == ("decimal", Decimal("1.5"))
    assert shape(expr('"文本"')) == ("text", "文本")
    assert shape(expr("7 working days")) == ("duration", 7, "working_days")
    assert shape(expr("6 months")) == ("duration", 6, "months")
    assert shape(expr("1 day")) == ("duration", 1, "days")


def test_precedence_and_spans():
    e = expr("a.b >= 1 and not c or d")
    assert isinstance(e, ast.Binary) and e.op == "or"
    left = e.left
    assert left.op == "and" and left.left.op == ">=" and left.left.op_span.text == ">="
    assert isinstance(left.right, ast.Unary) and left.right.op == "not"
    assert e.span.text == "a.b >= 1 and not c or d"
    assert expr("1 + 2 * 3").right.op == "*"


def test_membership_sets_calls_and_aggregates():
    m = expr("k not in {personal, enterprise}")
    assert isinstance(m, ast.Member) and m.negated and [i.path for i in m.collection.items] == ["personal", "enterprise"]
    c = expr("deposit(shop.subject, c)")
    assert c.func.value == "deposit" and [a.path for a in c.args] == ["shop.subject", "c"]
    a = expr("max(deposit(s, c) for c in shop.categories)")
    assert isinstance(a, ast.Aggregate) and a.func == "max" and a.var.value == "c"
    assert isinstance(expr("covered(r)"), ast.Covered)
    assert isinstance(expr("today + 7 working days"), ast.Binary)


def test_names_may_begin_with_a_keyword():
    assert expr("max_fee <= ¥10 and allowance >= 1 and days_open > 3 and first_day == today").op == "and"


def test_rule_with_exception_priority_and_require():
    m = module('policy p title "a" / "b"\n'
               'rule r "规则" / "Rule" effective from 2023-01-01 exception to a, b priority 2 supersedes old '
               'when x require y >= 1 else warn low "低 {y}" / "low {y}" source "d" quote "q"')
    r = m.items[1]
    assert [t.value for t in r.exception_to] == ["a", "b"] and r.priority == 2
    assert r.supersedes.value == "old" and r.effective.start == dt.date(2023, 1, 1) and r.effective.end is None
    assert (r.body.kind, r.body.outcome, r.body.code.value, r.body.message.zh) == ("require", "warn", "low", "低 {y}")


def test_tables_range_and_matrix():
    m = module('policy p title "a" / "b"\n'
               'table t(age: count) -> percent "a" / "b" hit collect max\n'
               '  row [0, 90]: 50% row (90, 180.5): 100% priority 3 row [¥1, inf): not_open\n'
               'table d(s: k, c: cat) -> money "a" / "b" columns x, y row p: ¥1, not_open\n')
    t, d = m.items[1], m.items[2]
    assert (t.hit, t.aggregator) == ("collect", "max")
    rows = t.rows
    assert (rows[0].key.low, rows[0].key.low_closed, rows[0].key.high, rows[0].key.high_closed) == (0, True, 90, True)
    assert (rows[1].key.low_closed, rows[1].key.high, rows[1].key.high_closed, rows[1].priority) == (False, Decimal("180.5"), False, 3)
    assert rows[2].key.high is None and isinstance(rows[2].cell, ast.NotOpen)
    assert [c.value for c in d.columns] == ["x", "y"] and isinstance(d.matrix[0].cells[1], ast.NotOpen)


def test_rollout_assume_note_and_comments():
    m = module('# 注释\npolicy p title "a" / "b" # trailing\n'
               'rollout r "灰度" / "Rollout" key account.id\n'
               '  phase pilot "内测" / "Pilot" from 2023-11-11 until 2023-12-10 ramp 0% to 50%\n'
               'assume a1 "假设" / "Assumption" about r, x.y source "d" quote "q"\n'
               'note n1 "说明" / "Note" about R004.4\n')
    r, a, n = m.items[1:]
    phase = r.phases[0]
    assert (phase.start, phase.end, phase.ramp_from, phase.ramp_to) == (dt.date(2023, 11, 11), dt.date(2023, 12, 10), Decimal(0), Decimal("0.5"))
    assert [x.value for x in a.about] == ["r", "x.y"] and [x.value for x in n.about] == ["R004.4"]


def test_equality_ignores_spans():
    one = module('policy p title "a" / "b"')
    two = module('\n\n   policy   p   title "a"/"b"')
    assert one.items == two.items


def test_a_long_string_is_read_in_memory_proportional_to_it():
    # STRING was /"([^"\\\n]|\\.)*"/: Python's re kept ~500 bytes of backtracking stack per character of a string, so
    # one 2,000,000-character text in a 6 MB file took 1 GB to check (an 8 MiB file of it, about 4 GB)
    import tracemalloc

    text = "x" * 1_000_000
    tracemalloc.start()
    try:
        m = module('policy p\n  title "' + text + '" / "a \\" b \\\\ c"\n')
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (m.items[0].title.zh, m.items[0].title.en) == (text, 'a " b \\ c')
    assert peak < 50 * len(text)
