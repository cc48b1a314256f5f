"""A clause a declaration has at most once, written twice, is P0119 (P0118 for `applies when`) at the
repeated clause, with the first as related information; `fmt` refuses rather than drop either."""
from __future__ import annotations

import pytest

from policydsl.formatter import FormatError, format_text
from policydsl.source import SourceFile
from policydsl.syntax.parser import parse

HEAD = 'policy demo.cart\n  title "演示" / "Demo"\n'
RULE = ('rule r "规则" / "Rule"\n{clauses}  require a\n    else deny c "甲" / "A"\n'
        '  source "doc.txt" quote "甲"\n')
CASES = {
    "title": (HEAD + '  title "又一个" / "Another"\n', "policy", "title"),
    "policy effective": (HEAD + "  effective from 2023-01-01\n  effective until 2024-01-01\n", "policy", "effective"),
    "rule when": (HEAD + RULE.format(clauses="  when a\n  when b\n"), "rule", "when"),
    "rule effective": (HEAD + RULE.format(clauses="  effective from 2023-01-01\n  effective from 2024-01-01\n"),
                       "rule", "effective"),
    "rule supersedes": (HEAD + RULE.format(clauses="  supersedes x\n  supersedes y\n"), "rule", "supersedes"),
    "rule exception": (HEAD + RULE.format(clauses="  exception to x\n  exception to y\n"), "rule", "exception to"),
    "rule conclusion": (HEAD + RULE.format(clauses="") + '  allow d "乙" / "B"\n', "rule",
                        "require … / allow|deny|warn …"),
    "define when": (HEAD + 'define d.x: count "甲" / "A"\n  = 1 when a when b\n', "define", "when"),
    "define until": (HEAD + 'define d.x: count "甲" / "A"\n  = 1 until 2024-01-01 until 2025-01-01\n', "define", "until"),
    "property when": ('property p "甲" / "A"\n  when a\n  when b\n  expect c\n', "property", "when"),
    "property expect": ('property p "甲" / "A"\n  expect c\n  expect d\n', "property", "expect"),
    "overlap agree": ('overlap o "甲" / "A"\n  between x.a and y.b\n  agree a\n  agree b\n', "overlap", "agree"),
    "overlap when": ('overlap o "甲" / "A"\n  between x.a and y.b\n  when a\n  when b\n', "overlap", "when"),
    "overlap resolution": ('overlap o "甲" / "A"\n  between x.a and y.b\n  prevails x.a because s\n'
                           '  known conflict because t\n', "overlap", "known conflict"),
    "table hit": ('table t(k: count) -> count "甲" / "A"\n  hit first\n  hit unique\n  row [0, inf): 1\n',
                  "table", "hit"),
}


def _syntax(text: str):
    module, diags = parse(SourceFile(path="twice.policy", text=text))
    assert module is not None
    return diags


@pytest.mark.parametrize("name", CASES)
def test_a_repeated_clause_is_reported_at_the_repeat(name: str) -> None:
    text, decl, clause = CASES[name]
    [diag] = _syntax(text)
    assert diag.code == "P0119" and diag.severity == "error"
    assert diag.message == {"zh": f"`{decl}` 声明中的 `{clause}` 子句只能写一次",
                            "en": f"a `{decl}` declaration has at most one `{clause}` clause"}
    [related] = diag.related
    assert related.span.start < diag.span.start and related.message["en"] == "the first one is here"
    with pytest.raises(FormatError) as raised:
        format_text(text, "twice.policy")
    assert [d.code for d in raised.value.diagnostics] == ["P0119"]


def test_each_clause_once_is_clean() -> None:
    assert _syntax(HEAD + "  effective from 2023-01-01\n" + RULE.format(clauses="  when a\n  exception to x\n")) == []


def test_a_second_applies_when_keeps_its_own_code() -> None:
    text = HEAD + "  applies when a\n  applies when b\n"
    [diag] = _syntax(text)
    assert diag.code == "P0118" and diag.span.text == "b" and diag.related[0].span.text == "applies when a"
    with pytest.raises(FormatError):
        format_text(text, "twice.policy")
