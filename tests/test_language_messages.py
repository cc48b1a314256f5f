"""Messages for the mistakes a new author makes (issue 14): each reported where it is, in the author's terms.

The real `policydsl check` runs in a subprocess on each mistake, in both languages, and its whole report
(file:line:col, the source line, the caret, the hint) is compared; near misses that must stay quiet, or keep
their old message, are checked through the same analysis the CLI runs.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from policydsl.source import SourceFile
from policydsl.syntax.parser import parse

from conftest import diagnostics_of

HEAD = 'policy demo.{id}\n  title "演示" / "Demo"\n\n'
FANS = 'input account.fans: count "粉丝数" / "Followers"\n'
OPENED = 'input account.opened: date "开户日期" / "Account opened"\n'
REAL = 'input account.real_name: bool "实名认证" / "Real-name verified"\n'
DEPOSIT = 'input shop.deposit: money "保证金" / "Deposit"\n'
SRC = '  source "doc.txt" quote "1000粉丝"\n'


def rule(require: str, outcome: str = 'deny fans_low "粉丝不足" / "Too few followers"') -> str:
    return f'\nrule fans "粉丝门槛" / "Follower threshold"\n  require {require}\n    else {outcome}\n' + SRC


# name -> (policy text, the English report, the Chinese report's first line and hint)
CASES: dict[str, tuple[str, str, tuple[str, str]]] = {
    "placeholder": (
        HEAD + FANS + OPENED + rule("account.fans >= 1000",
                                    'deny fans_low "开户 {days_between(account.opened, today)} 天" / '
                                    '"opened {days_between(account.opened, today)} days ago"'),
        "placeholder.policy:9:28: error[P0404]: placeholder `{days_between(account.opened, today)}` is not a "
        "name: a placeholder names an input or a value, anything else is shown verbatim\n"
        '   9 |     else deny fans_low "开户 {days_between(account.opened, today)} 天" / '
        '"opened {days_between(account.opened, today)} days ago"\n'
        "     |                              " + "^" * 37 + "\n"
        "     = hint: define a value first (e.g. `define days_open: count \"开户天数\" / \"Days open\" = "
        "days_between(…)`) and write `{days_open}` in the text",
        ("placeholder.policy:9:28: 错误[P0404]: 占位符 `{days_between(account.opened, today)}` 不是一个名称：",
         "= 提示: 先用 define 定义一个取值"),
    ),
    "thousands": (
        HEAD + DEPOSIT + rule("shop.deposit >= ¥1,000"),
        "thousands.policy:7:29: error[P0120]: numbers have no thousands separators: write `¥1,000` as `¥1000`\n"
        "   7 |   require shop.deposit >= ¥1,000\n"
        "     |                             ^\n"
        "     = hint: amounts, percentages and numbers are written without commas, e.g. ¥1000, 2500, 12.5%",
        ("thousands.policy:7:29: 错误[P0120]: 数字里不能有千位分隔符：`¥1,000` 要写成 `¥1000`",
         "= 提示: 金额、百分比和数字都连写，不加逗号"),
    ),
    "quoted_date": (
        HEAD + OPENED + rule('account.opened > "2024-03-01"'),
        "quoted_date.policy:7:26: error[P0301]: type mismatch: `>` cannot combine date and text\n"
        '   7 |   require account.opened > "2024-03-01"\n'
        "     |                          ^\n"
        '     = hint: dates are written without quotes: `2024-03-01`, not `"2024-03-01"` (in quotes it is text)',
        ("quoted_date.policy:7:26: 错误[P0301]: 类型不匹配：`>` 不能作用于",
         '= 提示: 日期不加引号：写成 `2024-03-01`，而不是 `"2024-03-01"`'),
    ),
    "bool_word": (
        HEAD + REAL + rule("account.real_name == 是"),
        "bool_word.policy:7:32: error[P0201]: undefined name `是`\n"
        "   7 |   require account.real_name == 是\n"
        "     |                                ^^\n"
        "     = hint: a bool is written `true` or `false`: write `true` here",
        ("bool_word.policy:7:32: 错误[P0201]: 未定义的名称 `是`", "= 提示: 真假值写作 `true` / `false`：这里写 `true`"),
    ),
    "no_code": (
        HEAD + FANS + '\nrule fans "粉丝门槛" / "Follower threshold"\n  when account.fans < 1000\n'
        '  deny "定制" / "Custom"\n' + SRC,
        "no_code.policy:8:8: error[P0121]: an outcome needs a code before its text: "
        '`allow|deny|warn CODE "中文" / "English"`\n'
        '   8 |   deny "定制" / "Custom"\n'
        "     |        ^^^^^^\n"
        '     = hint: for example: deny fans_low "粉丝不足" / "Too few followers"; the code is the reason id a '
        "decision reports, in lower-case ASCII and _",
        ("no_code.policy:8:8: 错误[P0121]: 结论的文本之前要有代码", "= 提示: 例如：deny fans_low"),
    ),
    "dangling": (
        HEAD + FANS + rule("account.fans >="),
        "dangling.policy:7:24: error[P0122]: incomplete expression: `>=` needs a value after it\n"
        "   7 |   require account.fans >=\n"
        "     |                        ^^\n"
        "     = hint: complete it (e.g. `account.fans >= 1000`, `a and b`) or delete the operator",
        ("dangling.policy:7:24: 错误[P0122]: 表达式没写完：`>=` 之后缺少一个值", "= 提示: 补上缺少的部分"),
    ),
    "dangling_and": (
        HEAD + FANS + rule("account.fans >= 1000 and"),
        "dangling_and.policy:7:32: error[P0122]: incomplete expression: `and` needs a condition after it\n"
        "   7 |   require account.fans >= 1000 and\n"
        "     |                                ^^^\n"
        "     = hint: complete it (e.g. `account.fans >= 1000`, `a and b`) or delete the operator",
        ("dangling_and.policy:7:32: 错误[P0122]: 表达式没写完：`and` 之后缺少一个条件", "= 提示: 补上缺少的部分"),
    ),
    "duration": (
        HEAD + 'define grace: duration "宽限期" / "Grace period"\n  = 7 days\n',
        "duration.policy:4:15: error[P0203]: unknown type `duration`\n"
        '   4 | define grace: duration "宽限期" / "Grace period"\n'
        "     |               ^^^^^^^^\n"
        "     = hint: a duration is not a type and cannot be declared: write it where it is used, e.g. date "
        "arithmetic `account.opened + 30 days` or a consequence's `for 7 days`; the types are: count, number, "
        "money, percent, bool, text, date, ENUM, set of ENUM",
        ("duration.policy:4:15: 错误[P0203]: 未知类型 `duration`", "= 提示: 时长不是类型，不能声明"),
    ),
}


def check(folder: Path, lang: str) -> str:
    """`policydsl check` over every case's file, run as a user runs it; its report."""
    env = {k: v for k, v in os.environ.items() if k not in ("POLICYDSL_LANG", "POLICYDSL_DEBUG")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONUTF8="1")
    files = sorted(p.name for p in folder.glob("*.policy"))
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "check", *files, "--lang", lang], cwd=folder,
                            capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("mistakes")
    for name, (text, _, _) in CASES.items():
        (folder / f"{name}.policy").write_text(text.replace("{id}", name), encoding="utf-8")
    return {lang: check(folder, lang) for lang in ("en", "zh")}


def _block(report: str, name: str) -> str:
    """The diagnostics of one file in a report (blocks are separated by blank lines; the count ends it)."""
    body = report.rstrip("\n").rsplit("\n", 1)[0]
    return "\n\n".join(b for b in body.split("\n\n") if b.startswith(f"{name}.policy:"))


@pytest.mark.parametrize("name", CASES)
def test_the_mistake_is_reported_where_it_is_with_advice(reports: dict[str, str], name: str) -> None:
    _, english, (zh_first, zh_hint) = CASES[name]
    assert _block(reports["en"], name) == english
    zh = _block(reports["zh"], name).splitlines()
    assert zh[0].startswith(zh_first) and zh[-1].strip().startswith(zh_hint), zh


def codes(text: str) -> list[tuple[str, str, str | None]]:
    """(code, underlined text, English hint) of each diagnostic of a snippet."""
    return [(d.code, d.span.text, (d.hint or {}).get("en")) for d in diagnostics_of(text)]


def head(*inputs: str) -> str:
    return HEAD.replace("{id}", "cart") + "".join(inputs)


# ---- 1. placeholders
def test_an_expression_without_blanks_is_an_expression_too() -> None:
    found = codes(head(FANS) + rule("account.fans >= 1000", 'deny fans_low "差 {1000-account.fans}" / '
                                    '"{1000-account.fans} short"'))
    assert [c[:2] for c in found] == [("P0404", "{1000-account.fans}")]


def test_a_name_with_blanks_is_told_to_drop_them() -> None:
    found = codes(head(FANS) + rule("account.fans >= 1000", 'deny fans_low "粉丝 { account.fans }" / '
                                    '"{ account.fans } followers"'))
    assert found == [("P0404", "{ account.fans }", "a placeholder has no blanks inside its braces: write "
                      "`{account.fans}`")]


def test_plain_braces_and_real_placeholders_stay_quiet() -> None:
    text = head(FANS) + rule("account.fans >= 1000", 'deny fans_low "粉丝 {account.fans}，{} { }" / '
                             '"{account.fans} followers, {} { }"')
    assert codes(text) == []
    module, _ = parse(SourceFile(path="t.policy", text=text))
    assert module is not None
    message = module.items[2].body.message
    assert [p.path for p in message.placeholders()] == ["account.fans", "account.fans"]
    assert message.expressions() == []


# ---- 2. thousands separators
@pytest.mark.parametrize("written, plain", [("¥1,000,000.50", "¥1000000.50"), ("12,000", "12000")])
def test_every_group_of_the_number_is_shown(written: str, plain: str) -> None:
    [diag] = diagnostics_of(head(DEPOSIT, FANS) + rule(f"account.fans >= {written}"))
    assert (diag.code, diag.span.text) == ("P0120", ",")
    assert diag.message["en"] == f"numbers have no thousands separators: write `{written}` as `{plain}`"


def test_in_a_scope_too_not_a_rule_without_outcome() -> None:
    text = head(DEPOSIT) + ('\nrule deposit "保证金" / "Deposit"\n  when shop.deposit < ¥1,000\n'
                            '  deny deposit_low "保证金不足" / "Deposit too low"\n' + SRC)
    assert [(d.code, d.span.text, d.line, d.column) for d in diagnostics_of(text)] == [("P0120", ",", 7, 25)]


def test_a_comma_between_values_is_not_a_separator() -> None:
    assert "P0120" not in [c[0] for c in codes(head(FANS) + rule("account.fans in {1,000}"))]
    table = head() + 'table days(x: count) -> count "天数" / "Days"\n  row [0,100]: 1\n  row (100, inf): 2\n'
    assert "P0120" not in [c[0] for c in codes(table)]


# ---- 3. quoted dates
def test_a_quoted_date_in_a_define_or_an_argument_gets_the_same_hint() -> None:
    define = head(OPENED) + 'define start: date "起始日" / "Start"\n  = "2024-03-01"\n'
    call = head(OPENED) + 'define days: count "天数" / "Days"\n  = days_between(account.opened, "2024-03-01")\n'
    hint = 'dates are written without quotes: `2024-03-01`, not `"2024-03-01"` (in quotes it is text)'
    assert codes(define) == [("P0305", '"2024-03-01"', hint)]
    assert codes(call) == [("P0306", '"2024-03-01"', hint)]


def test_other_text_keeps_the_general_hint() -> None:
    [(code, _, hint)] = codes(head(OPENED) + rule('account.opened > "March"'))
    assert code == "P0301" and hint is not None and "date + duration" in hint


# ---- 4. bools in words
@pytest.mark.parametrize("condition, word, value", [
    ("account.real_name == 否", "否", "false"), ("account.real_name != yes", "yes", "true"),
    ("真 == account.real_name", "真", "true"), ("account.real_name == no", "no", "false")])
def test_a_bool_in_words_is_told_true_or_false(condition: str, word: str, value: str) -> None:
    assert codes(head(REAL) + rule(condition)) == [
        ("P0201", word, f"a bool is written `true` or `false`: write `{value}` here")]


def test_a_word_compared_with_a_count_keeps_the_general_message() -> None:
    [(code, word, hint)] = codes(head(FANS) + rule("account.fans == 是"))
    assert (code, word) == ("P0201", "是") and (hint is None or "true" not in hint)


# ---- 5. an outcome without its code
def test_a_require_outcome_without_a_code() -> None:
    found = codes(head(FANS) + rule("account.fans >= 1000", 'deny "粉丝不足" / "Too few followers"'))
    assert [c[:2] for c in found] == [("P0121", '"粉丝不足"')]


# ---- 6. half-typed conditions
@pytest.mark.parametrize("condition, operator", [
    ("account.fans >= 1000 or", "or"), ("not", "not"), ("account.fans + ", "+"),
    ("account.fans >= 1000 and # to do", "and")])
def test_the_dangling_operator_is_underlined(condition: str, operator: str) -> None:
    [diag] = diagnostics_of(head(FANS) + rule(condition))
    assert (diag.code, diag.span.text) == ("P0122", operator)


def test_a_scope_ending_in_an_operator_before_the_outcome() -> None:
    text = head(FANS) + ('\nrule fans "粉丝门槛" / "Follower threshold"\n  when account.fans <\n'
                         '  deny fans_low "粉丝不足" / "Too few followers"\n' + SRC)
    [diag] = diagnostics_of(text)
    assert (diag.code, diag.span.text, diag.line) == ("P0122", "<", 7)


def test_a_require_without_else_is_still_p0110() -> None:
    text = head(FANS) + ('\nrule fans "粉丝门槛" / "Follower threshold"\n  require account.fans >= 1000\n'
                         '    deny fans_low "粉丝不足" / "Too few followers"\n' + SRC)
    assert [d.code for d in diagnostics_of(text)] == ["P0110"]


def test_the_end_of_the_file_is_still_p0103() -> None:
    assert [d.code for d in diagnostics_of(head(FANS) + '\nrule fans "a" / "b"\n  require account.fans >=\n')] \
        == ["P0103"]


# ---- 7. durations
def test_a_near_miss_of_a_type_keeps_its_did_you_mean() -> None:
    [(code, _, hint)] = codes(head() + 'define n: coutn "数" / "N"\n  = 1\n')
    assert code == "P0203" and hint == "did you mean `count`?"


def test_a_did_you_mean_is_data_an_editor_can_apply():
    """Every diagnostic whose hint names a did-you-mean carries it as `suggestion` (the language server's quick
    fix writes it): an undefined name, an unknown type, an enum value."""
    text = ('policy demo.s\n  title "演示" / "Demo"\n  source "doc.txt" quote "x"\n\n'
            'input account.kind: account_knd "账号类型" / "Account type"\n'
            'input account.fans: count "粉丝数" / "Followers"\n\n'
            'rule r "规则" / "Rule"\n  require account.fan >= 10\n    else deny low "少" / "Few"\n  source "doc.txt" quote "x"\n')
    found = {d.code: d.suggestion for d in diagnostics_of(text) if d.severity == "error"}
    assert found == {"P0203": "account_kind", "P0201": "account.fans"}
    enum = ('policy demo.e\n  title "演示" / "Demo"\n  source "doc.txt" quote "x"\n\n'
            'input account.kind: account_kind "账号类型" / "Account type"\n\n'
            'rule r "规则" / "Rule"\n  require account.kind != persnal\n    else deny p "个人" / "Personal"\n'
            '  source "doc.txt" quote "x"\n')
    assert [(d.code, d.suggestion) for d in diagnostics_of(enum) if d.severity == "error"] == [("P0206", "personal")]
