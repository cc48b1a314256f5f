"""The exact text an author sees: header, source line, caret line (CJK counts two columns), hint; and the bag."""
from __future__ import annotations

from policydsl import diagnostics as dg
from policydsl.source import SourceFile

from conftest import diagnostics_of

HEADER = 'policy demo.cart\n  title "演示" / "Demo"\n\n'


def only(text: str, path: str) -> dg.Diagnostic:
    diags = diagnostics_of(HEADER + text, path)
    assert len(diags) == 1, [d.render("en") for d in diags]
    return diags[0]


def test_render_caret_after_wide_characters():
    diag = only('input account.fans: count "粉丝数" / "Followers" unit fans\n', "render/unit.policy")
    line = '   4 | input account.fans: count "粉丝数" / "Followers" unit fans'
    # 51 characters stand before `fans`; the three Chinese ones are two columns wide: 54 columns.
    carets = "     | " + " " * 54 + "^^^^"
    assert diag.render("en") == "\n".join([
        "render/unit.policy:4:52: error[P0204]: unknown unit `fans`",
        line,
        carets,
        '     = hint: declare it first with `unit fans "中文" / "English"`',
    ])
    assert diag.render("zh") == "\n".join([
        "render/unit.policy:4:52: 错误[P0204]: 未知单位 `fans`",
        line,
        carets,
        '     = 提示: 先用 `unit fans "中文" / "English"` 声明',
    ])


def test_render_carets_under_a_chinese_name():
    diag = only(
        'input account.real_name: bool "实名认证" / "Real-name verified"\n\n'
        'rule real_name "实名认证" / "Real-name verification"\n'
        "  require 实名认证\n"
        '    else deny not_verified "需完成实名认证" / "Real-name verification is required"\n'
        '  source "doc.txt" quote "完成实名认证"\n',
        "render/label.policy")
    line = "   7 |   require 实名认证"
    carets = "     |           ^^^^^^^^"  # four wide characters: eight carets
    assert diag.render("en") == "\n".join([
        "render/label.policy:7:11: error[P0201]: undefined name `实名认证`",
        line,
        carets,
        "     = hint: did you mean `account.real_name`?",
    ])
    assert diag.render("zh") == "\n".join([
        "render/label.policy:7:11: 错误[P0201]: 未定义的名称 `实名认证`",
        line,
        carets,
        "     = 提示: 你是不是想写 `account.real_name`？",
    ])


def test_render_related_span_and_hint():
    diag = only(
        'table settlement_days(day: count) -> count "结算天数" / "Settlement days"\n'
        "  row [0, 90]: 14\n"
        "  row [91, 180]: 10\n"
        "  row [180, inf): 7\n",
        "render/table.policy")
    assert diag.render("en") == "\n".join([
        "render/table.policy:7:7: error[P0502]: table `settlement_days` rows 2 and 3 overlap on 180 "
        "under hit policy unique",
        "   7 |   row [180, inf): 7",
        "     |       ^^^^^^^^^^",
        "  render/table.policy:6:7: overlaps this row",
        "   6 |   row [91, 180]: 10",
        "     |       ^^^^^^^^^",
        "     = hint: fix the bounds, or declare `hit first` / `hit priority`",
    ])
    assert diag.render("zh") == "\n".join([
        "render/table.policy:7:7: 错误[P0502]: 表 `settlement_days` 第 2 行与第 3 行在 180 重叠，但命中策略是 unique",
        "   7 |   row [180, inf): 7",
        "     |       ^^^^^^^^^^",
        "  render/table.policy:6:7: 与此行重叠",
        "   6 |   row [91, 180]: 10",
        "     |       ^^^^^^^^^",
        "     = 提示: 改正区间边界，或声明 `hit first` / `hit priority`",
    ])


def test_render_warning_header():
    diag = only(
        'input account.fans: count "粉丝数" / "Followers"\n\n'
        'rule old "旧" / "Old"\n  effective until 2022-06-30\n  require account.fans >= 1000\n'
        '    else deny low "粉丝不足" / "Too few followers"\n  source "doc.txt" quote "1000粉丝"\n\n'
        'rule new "新" / "New"\n  effective from 2023-01-01\n  supersedes old\n  require account.fans >= 500\n'
        '    else deny low "粉丝不足" / "Too few followers"\n  source "doc.txt" quote "500粉丝"\n',
        "render/warn.policy")
    assert diag.render("en").splitlines()[0] == (
        "render/warn.policy:14:14: warning[P0606]: `new` supersedes `old` but neither is in force "
        "from 2022-07-01 to 2022-12-31")
    assert diag.render("zh").splitlines()[0] == (
        "render/warn.policy:14:14: 警告[P0606]: `new` 取代 `old`，但两者之间 2022-07-01 至 2022-12-31 没有规则生效")


# ---------------------------------------------------------------- the bag
def _diag(source: SourceFile, start: int, name: str, code: str = "P0201") -> dg.Diagnostic:
    return dg.make(code, source.span(start, start + len(name)), name=name)


def test_bag_sorts_by_file_then_position():
    a = SourceFile(path="a.policy", text="alpha beta\ngamma\n")
    b = SourceFile(path="b.policy", text="delta\n")
    bag = dg.DiagnosticBag()
    bag.add(_diag(b, 0, "delta"))
    bag.add(_diag(a, 11, "gamma"))
    bag.add(_diag(a, 6, "beta"))
    bag.add(_diag(a, 0, "alpha"))
    assert [(d.file, d.line, d.column, d.span.text) for d in bag.sorted()] == [
        ("a.policy", 1, 1, "alpha"), ("a.policy", 1, 7, "beta"), ("a.policy", 2, 1, "gamma"), ("b.policy", 1, 1, "delta"),
    ]


def test_bag_removes_exact_duplicates_only():
    a = SourceFile(path="a.policy", text="alpha beta\n")
    bag = dg.DiagnosticBag()
    bag.extend([_diag(a, 0, "alpha"), _diag(a, 0, "alpha"), _diag(a, 0, "alpha")])
    bag.add(_diag(a, 0, "alpha", code="P0203"))  # same place, another problem: kept
    bag.add(dg.make("P0201", a.span(0, 10), name="alpha"))  # same start, longer span: kept
    assert [(d.code, d.span.text) for d in bag.sorted()] == [
        ("P0201", "alpha"), ("P0201", "alpha beta"), ("P0203", "alpha")]
    assert len(bag.errors) == 5 and bag.warnings == []  # the raw items are untouched


def test_bag_caps_rendered_output_at_fifty():
    text = "".join(f"name{i:02d}\n" for i in range(53))
    source = SourceFile(path="many.policy", text=text)
    bag = dg.DiagnosticBag()
    for i in reversed(range(53)):
        bag.add(_diag(source, i * 7, f"name{i:02d}"))
    bag.add(_diag(source, 0, "name00"))  # a duplicate does not count towards the cap
    en = bag.render("en")
    blocks = en.split("\n\n")
    assert len(blocks) == 51
    assert blocks[0].splitlines()[0] == "many.policy:1:1: error[P0201]: undefined name `name00`"
    assert blocks[49].splitlines()[0] == "many.policy:50:1: error[P0201]: undefined name `name49`"
    assert blocks[50] == "3 more diagnostic(s) not shown"
    assert bag.render("zh").split("\n\n")[-1] == "另有 3 条诊断未显示"
    assert bag.render("en", cap=53).count("error[P0201]") == 53
    assert "not shown" not in bag.render("en", cap=53)


def test_every_diagnostic_code_has_a_hint_in_both_languages():
    import re

    from policydsl.i18n import MESSAGES

    codes = [k for k in MESSAGES if re.fullmatch(r"P\d{4}", k)]
    assert len(codes) >= 40
    for code in codes:
        zh, en = MESSAGES[f"{code}.hint"]
        assert zh.strip() and en.strip(), code
