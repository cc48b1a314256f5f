"""The Pygments lexer, found through its entry point, reads every .policy file without error tokens."""
from __future__ import annotations

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Error, Keyword, Literal, Name, Number, Operator, Punctuation, String

from conftest import POLICIES, ROOT

FILES = sorted(POLICIES.glob("*.policy")) + sorted((ROOT / "tests" / "golden" / "cases").glob("*.policy"))


def test_the_lexer_is_registered_by_entry_point():
    assert type(get_lexer_by_name("policydsl")).__name__ == "PolicyLexer"
    assert type(get_lexer_for_filename("cart_opening.policy")).__name__ == "PolicyLexer"


@pytest.mark.parametrize("path", [p for p in FILES if p.parent == POLICIES], ids=lambda p: p.name)
def test_every_rule_book_file_lexes_without_error_tokens(path):
    tokens = list(get_lexer_by_name("policydsl").get_tokens(path.read_text(encoding="utf-8")))
    assert [value for kind, value in tokens if kind is Error] == []
    assert "".join(value for _, value in tokens) == path.read_text(encoding="utf-8") + ("" if path.read_text(encoding="utf-8").endswith("\n") else "\n")


def test_token_kinds():
    text = 'rule r "中文" / "en" # c\n  require account.fans >= ¥1000.5 and d < 2023-12-20 + 7 working days else deny x "a" / "b"'
    kinds = [(kind, value) for kind, value in get_lexer_by_name("policydsl").get_tokens(text) if value.strip()]
    assert kinds[:5] == [(Keyword.Declaration, "rule"), (Name, "r"), (String.Double, '"中文"'), (Operator, "/"),
                         (String.Double, '"en"')]
    assert (Comment.Single, "# c") in kinds
    assert (Keyword, "require") in kinds and (Name, "account.fans") in kinds
    assert (Number, "¥1000.5") in kinds and (Literal.Date, "2023-12-20") in kinds
    assert (Keyword.Type, "working days") in kinds and (Keyword.Reserved, "deny") in kinds


def test_property_block_tokens():
    text = ('property low_fans "粉丝不足" / "Low fans"\n'
            "  effective from 2023-01-01\n"
            "  when account.fans < 1000\n"
            "  expect outcome == deny and fires(fans_2023)\n")
    tokens = list(get_lexer_by_name("policydsl").get_tokens(text))
    assert [value for kind, value in tokens if kind is Error] == []
    assert "".join(value for _, value in tokens) == text
    kinds = [(kind, value) for kind, value in tokens if value.strip()]
    assert kinds[:2] == [(Keyword.Declaration, "property"), (Name, "low_fans")]
    assert kinds[-9:] == [(Keyword, "expect"), (Keyword.Constant, "outcome"), (Operator, "=="),
                          (Keyword.Reserved, "deny"), (Keyword, "and"), (Name.Builtin, "fires"),
                          (Punctuation, "("), (Name, "fans_2023"), (Punctuation, ")")]


def test_a_unit_clause_names_a_unit_and_a_unit_line_declares_one():
    """`unit follower` after an input is the input's unit (a clause), not a unit declaration."""
    text = 'unit follower "人" / "followers"\ninput account.fans: count "粉丝数" / "Followers" unit follower\n'
    kinds = [(kind, value) for kind, value in get_lexer_by_name("policydsl").get_tokens(text) if value.strip()]
    assert kinds[:2] == [(Keyword.Declaration, "unit"), (Name, "follower")]
    assert kinds[-2:] == [(Keyword, "unit"), (Name, "follower")]
