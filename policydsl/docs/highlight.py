"""Policy source text in, highlighting tokens out: (kind, text) pairs whose texts join back to the input.

The tokens come from the project's Pygments lexer (the same one editors and terminals use).

Kinds: comment, string, keyword, outcome, number (counts, decimals, money, percentages, dates,
inventory ids), op, name, space. Anything else is `plain`, so no text is ever lost.
"""
from __future__ import annotations

from pygments.token import Comment, Keyword, Literal, Name, Number, Operator, Punctuation, String, Whitespace

from policydsl.pygments_lexer import PolicyLexer

# Pygments token types (from the project's lexer, policydsl/pygments_lexer.py) -> CSS kinds.
KINDS = (
    (Comment, "comment"), (String, "string"), (Number, "number"), (Literal.Date, "number"),
    (Name.Label, "number"), (Keyword.Reserved, "outcome"), (Keyword.Constant, "keyword"), (Keyword, "keyword"),
    (Name.Builtin, "function"), (Name, "name"), (Operator, "op"), (Punctuation, "op"), (Whitespace, "space"),
)
AGGREGATES = frozenset({"max", "min", "sum", "any", "all"})


def tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for token_type, piece in PolicyLexer(stripnl=False, ensurenl=False).get_tokens(text):
        kind = next((k for t, k in KINDS if token_type in t), "plain")
        if kind == "keyword" and piece in AGGREGATES:
            kind = "function"
        if out and out[-1][0] == kind and kind in ("plain", "space"):  # one token for a run of them
            out[-1] = (kind, out[-1][1] + piece)
        else:
            out.append((kind, piece))
    return out


def lines(text: str) -> list[list[tuple[str, str]]]:
    """The tokens split at line ends, so a template can number the lines."""
    result: list[list[tuple[str, str]]] = [[]]
    for kind, piece in tokens(text):
        parts = piece.split("\n")
        for index, part in enumerate(parts):
            if index:
                result.append([])
            if part:
                result[-1].append((kind, part))
    if result and not result[-1]:
        result.pop()
    return result
