"""Bad facts and odd files through the real CLI: every one is a clear exit-2 error (or works), never an
internal error (exit 3); amounts are computed exactly at any size facts allow; byte-order marks are
read; a bad value is never echoed back in full."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import POLICIES

BASE = ('policy demo.money\n  title "金额" / "Amounts"\n\n'
        'input d.base: money "基准金额" / "Base amount"\n'
        'input d.kind: account_kind "账号类型" / "Account type"\n'
        'input d.opened: date "开通日" / "Opened"\n'
        'input d.n: count "件数" / "Items"\n\n'
        'define d.half: money "一半" / "Half"\n  = d.base * 50%\n\n'
        'define d.scaled: money "放大" / "Scaled"\n  = d.base * d.n * d.n\n\n'
        'rule half "一半" / "Half"\n  require d.half >= ¥0\n    else deny negative "负数" / "Negative"\n'
        '  source "doc.txt" quote "q"\n')
GOOD = {"d": {"base": "100", "kind": "personal", "opened": "2023-12-20", "n": 2}}


def run(*args: str, stdin: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", *args], input=data, capture_output=True,
                            timeout=120)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode("utf-8", "replace"),
                                       result.stderr.decode("utf-8", "replace"))


@pytest.fixture
def book(tmp_path: Path) -> Path:
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "common.policy").write_text((POLICIES / "common.policy").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "money.policy").write_text(BASE, encoding="utf-8")
    return folder


def decide(book: Path, facts: object | str | bytes, *more: str) -> subprocess.CompletedProcess[str]:
    stdin = facts if isinstance(facts, (str, bytes)) else json.dumps(facts)
    return run("eval", "demo.money", "--facts", "-", "--policies", str(book), "--at", "2024-01-01", "--lang", "en",
               *more, stdin=stdin)


def refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr[-1000:])
    assert message in result.stderr, result.stderr[-1000:]
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("depth", [1_000, 5_000, 100_000])
def test_facts_nested_far_too_deep_are_refused(book: Path, depth: int) -> None:
    refused(decide(book, '{"d":' * depth + "1" + "}" * depth), "facts nest more than 64 levels deep")


def test_facts_nested_within_the_bound_are_read(book: Path) -> None:
    facts = {**GOOD, "extra": json.loads('{"x":' * 60 + "1" + "}" * 60)}
    assert decide(book, facts, "--ignore-unknown").returncode == 0  # a field of another system, 61 levels deep


@pytest.mark.parametrize(("base", "shown"), [
    ('"9e999999"', '"9e999999"'), ("9e999999", '"9E+999999"'), ('"-5"', '"-5"'), ("-0.01", '"-0.01"'),
    ('"12345678901234567890123456789012.345"', '"12345678901234567890123456789012.345"'), ("1e-40", '"1E-40"'),
])
def test_an_amount_beyond_the_stated_precision_or_negative_is_refused(book: Path, base: str, shown: str) -> None:
    text = '{"d": {"base": %s, "kind": "personal", "opened": "2023-12-20", "n": 2}}' % base
    refused(decide(book, text), f"d.base (基准金额 / Base amount): {shown}, expected money ≥ 0, at most 34 significant digits")


def test_money_is_exact_past_28_digits(book: Path) -> None:
    facts = {"d": {**GOOD["d"], "base": "12345678901234567890123456789.01"}}
    result = decide(book, facts, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["values"]["d.half"] == "6172839450617283945061728394.505"


def test_a_result_that_would_need_rounding_is_an_error_not_a_rounded_value(book: Path) -> None:
    n = int("9" * 34)  # 34 digits times 34 times 34: 102 digits
    facts = {"d": {**GOOD["d"], "base": "1234567890123456789012345678901234", "n": n}}
    refused(decide(book, facts), "the exact result of `d.base * d.n * d.n` needs more than 100 significant digits")


@pytest.mark.parametrize("day", ["2023-W51-3", "20231220", "2023-12-20T00:00", "2023-02-30", "２０２３-１２-２０"])
def test_a_date_fact_must_be_written_yyyy_mm_dd(book: Path, day: str) -> None:
    facts = {"d": {**GOOD["d"], "opened": day}}
    refused(decide(book, facts), "expected date YYYY-MM-DD")


def test_a_huge_bad_value_is_not_echoed_back(book: Path) -> None:
    facts = {"d": {**GOOD["d"], "kind": "x" * 5_000_000}}
    result = decide(book, facts)
    refused(result, 'd.kind (账号类型 / Account type): "' + "x" * 79 + "…")
    assert len(result.stderr) < 2_000


def test_facts_from_a_device_without_end_are_refused(book: Path) -> None:
    result = run("eval", "demo.money", "--facts", "/dev/zero", "--policies", str(book), "--lang", "en")
    refused(result, "cannot read /dev/zero: larger than 64 MiB")


@pytest.mark.parametrize("command", [["check"], ["fmt"], ["fmt", "--check"]])
def test_a_policy_path_without_end_is_refused(command: list[str]) -> None:
    result = run(*command, "/dev/zero", "--lang", "en")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not a regular file" in result.stdout + result.stderr  # a device is refused unread (it was read to 8 MiB)
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("facts, shown", [
    ('{"d": {"base": "100", "kind": "\\ud800", "opened": "2023-12-20", "n": 2}}', '"\\ud800"'),  # a value
    ('{"d": {"base": "100", "kind": "personal", "opened": "2023-12-20", "n": 2, "x\\uDFFF": 1}}', '"x\\udfff"'),  # a key
])
def test_a_lone_surrogate_in_facts_is_refused_as_not_unicode(book: Path, facts: str, shown: str) -> None:
    # JSON's \\ud800 escape gives a string no UTF-8 can hold: `eval --json` died printing the error that quoted it
    # (exit 3, UnicodeEncodeError), and the server answered 500 and dropped the connection.
    text = decide(book, facts)
    refused(text, f"error: the facts file is not valid JSON: {shown} holds a lone surrogate, which is not Unicode text")
    as_json = decide(book, facts, "--json")
    assert (as_json.returncode, as_json.stderr) == (2, "")
    assert json.loads(as_json.stdout)["error"] == {
        "code": "facts_json", "facts": [],
        "message": {"zh": f"事实文件不是有效的 JSON：{shown} 含孤立的代理码位，不是 Unicode 文本",
                    "en": f"the facts file is not valid JSON: {shown} holds a lone surrogate, which is not Unicode text"}}
    # a pair of surrogate escapes is one character (an emoji), and an escaped backslash before `ud800` is text
    assert decide(book, facts.replace("\\ud800", "\\ud83d\\ude00").replace("\\uDFFF", "\\\\uDFFF"),
                  "--ignore-unknown").returncode != 3


def test_a_key_given_twice_with_different_values_is_refused(book: Path) -> None:
    # JSON keeps the last of two equal keys: the second `d` below was read alone, silently (the first's facts lost:
    # base, kind and opened were reported missing), and two values of one fact (`"n": 2, "n": true`) went unnoticed.
    twice = '{"d": {"base": "100", "kind": "personal", "opened": "2023-12-20", "n": 2}, "d": {"n": 5}}'
    refused(decide(book, twice), 'error: the facts file is not valid JSON: the key "d" is given twice with different '
            "values")
    as_json = decide(book, twice.replace('"n": 2}', '"n": 2, "n": true}').replace(', "d": {"n": 5}', ""), "--json")
    assert json.loads(as_json.stdout)["error"] == {
        "code": "facts_json", "facts": [],
        "message": {"zh": "事实文件不是有效的 JSON：键 \"n\" 出现两次，取值不同",
                    "en": "the facts file is not valid JSON: the key \"n\" is given twice with different values"}}
    same = '{"d": {"base": "100", "kind": "personal", "opened": "2023-12-20", "n": 2, "n": 2}}'
    assert decide(book, same).returncode == 0  # the same value twice says nothing new


def test_facts_with_a_byte_order_mark_are_read(book: Path) -> None:
    assert decide(book, b"\xef\xbb\xbf" + json.dumps(GOOD).encode("utf-8")).returncode == 0


def test_facts_not_in_utf8_are_an_unreadable_input(book: Path) -> None:
    refused(decide(book, json.dumps(GOOD, ensure_ascii=False).replace("personal", "个人").encode("gb18030")),
            "cannot read -: not UTF-8 text")


def test_a_policy_with_a_byte_order_mark_checks_and_formats_keeping_it(book: Path) -> None:
    policy = book / "money.policy"
    policy.write_bytes(b"\xef\xbb\xbf" + BASE.replace("  = d.base * 50%", "  =   d.base*50%").encode("utf-8"))
    assert run("check", str(book)).returncode == 0
    assert run("fmt", str(book)).returncode == 0
    assert policy.read_bytes() == b"\xef\xbb\xbf" + BASE.encode("utf-8")
    assert run("fmt", "--check", str(book)).returncode == 0


def test_an_unreadable_policy_is_exit_2_in_check_as_in_fmt_and_the_rest_is_still_checked(book: Path) -> None:
    (book / "gbk.policy").write_bytes(BASE.replace("demo.money", "demo.gbk").encode("gb18030"))
    (book / "broken.policy").write_text(BASE.replace("demo.money", "demo.broken").replace("d.base * 50%", "d.bse"),
                                        encoding="utf-8")
    checked = run("check", str(book), "--lang", "en")
    assert checked.returncode == 2
    assert "gbk.policy:1:1: error[P0104]: cannot read the file: not UTF-8 text" in checked.stdout
    assert "undefined name `d.bse`" in checked.stdout  # one bad file does not hide the others' diagnostics
    formatted = run("fmt", "--check", str(book / "gbk.policy"), "--lang", "en")
    assert formatted.returncode == 2 and "not UTF-8 text" in formatted.stderr


def test_fmt_says_every_file_it_cannot_read_and_still_formats_the_others(book: Path) -> None:
    # fmt stopped at the first file it could not read: the files after it were neither checked nor formatted,
    # and the other unreadable ones were not named
    (book / "a_gbk.policy").write_bytes(BASE.replace("demo.money", "demo.gbk").encode("gb18030"))
    os.mkfifo(book / "b_fifo.policy")
    (book / "c_loose.policy").write_text(BASE.replace("demo.money", "demo.loose").replace("\n  ", "\n      "),
                                         encoding="utf-8")
    checked = run("fmt", "--check", str(book), "--lang", "en")
    assert checked.returncode == 2
    assert checked.stderr.splitlines() == [f"error: cannot read {book / 'a_gbk.policy'}: not UTF-8 text",
                                           f"error: cannot read {book / 'b_fifo.policy'}: not a regular file"]
    assert checked.stdout.splitlines() == [f"would reformat: {book / 'c_loose.policy'}"]
    written = run("fmt", str(book), "--lang", "zh")
    assert written.returncode == 2 and "无法读取" in written.stderr and "不是普通文件" in written.stderr
    assert run("fmt", "--check", str(book / "c_loose.policy")).returncode == 0  # formatted beside the unreadable


def test_facts_on_standard_input_past_the_bound_are_refused(book: Path) -> None:
    refused(decide(book, b" " * (64 * 1024 * 1024 + 1)), "cannot read -: larger than 64 MiB")


def test_count_arithmetic_past_the_exact_digits_is_an_error_not_an_internal_one(book: Path) -> None:
    # counts were multiplied as Python ints at any size: a count of 2,200 digits squared (a valid fact) could not
    # be printed (exit 3, "Exceeds the limit (4300 digits) for integer string conversion")
    (book / "count.policy").write_text(
        'policy demo.count\n  title "件数" / "Counts"\n\ninput d.n: count "件数" / "Items"\n\n'
        'define d.square: count "平方" / "Square"\n  = d.n * d.n\n\n'
        'rule r "r" / "r"\n  require d.square >= 0\n    else deny no "否" / "No"\n  source "doc.txt" quote "q"\n',
        encoding="utf-8")
    for more in ((), ("--json",), ("--explain",)):
        result = run("eval", "demo.count", "--facts", "-", "--policies", str(book), "--at", "2024-01-01", "--lang", "en",
                     *more, stdin='{"d": {"n": %s}}' % ("9" * 2200))
        assert result.returncode == 2, result.stderr[-500:]
        assert "`d.n * d.n` needs more than 100 significant digits" in result.stdout + result.stderr
        assert "internal error" not in result.stderr
    assert run("eval", "demo.count", "--facts", "-", "--policies", str(book), "--at", "2024-01-01", "--json",
               stdin='{"d": {"n": %s}}' % ("9" * 50)).returncode == 0  # 100 digits: exact


@pytest.mark.parametrize("number", ["1e99999999999999999999", "-1.5E-99999999999999999999"])
def test_a_number_with_an_exponent_beyond_any_decimal_is_not_valid_json(book: Path, number: str) -> None:
    # decimal's InvalidOperation (no ValueError) escaped the JSON reader: exit 3, "InvalidOperation: [<class …>]"
    refused(decide(book, '{"d": {"base": %s}}' % number),
            f"error: the facts file is not valid JSON: the number {number} has an exponent beyond any decimal's")
    as_json = decide(book, '{"d": {"base": %s}}' % number, "--json")
    assert json.loads(as_json.stdout)["error"]["message"]["zh"] == (
        f"事实文件不是有效的 JSON：数 {number} 的指数超出任何小数能表示的范围")
