"""Policy source text in, highlighting tokens out: (kind, text) pairs whose texts join back to the input.

Kinds: comment, string, keyword, outcome, number (counts, decimals, money, percentages, dates,
inventory ids), op, name, space. Anything else is `plain`, so no text is ever lost.
"""
from __future__ import annotations

import re

KEYWORDS = frozenset("""
policy title implements source quote effective from until enum value unit input define when rule exception to
priority supersedes require else table hit columns row rollout key phase ramp assume about note set of and or not
in for covered today true false inf not_open not_stated unique first collect day days month months working
""".split())
OUTCOMES = frozenset({"allow", "deny", "warn"})
FUNCTIONS = frozenset({"max", "min", "sum", "any", "all", "days_between", "next_half_month", "month_end"})

TOKEN = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"?)
  | (?P<number>R\d{3}\.\d+\b | \d{4}-\d{2}-\d{2} | ¥\d+(?:\.\d+)? | \d+(?:\.\d+)?%? )
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>>=|<=|==|!=|->|[-+*/<>=:,()\[\]{}])
  | (?P<space>\s+)
""", re.VERBOSE)


def tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None:
            _append(out, "plain", text[pos])
            pos += 1
            continue
        kind = match.lastgroup or "plain"
        word = match.group()
        if kind == "word":
            kind = "keyword" if word in KEYWORDS else "outcome" if word in OUTCOMES else \
                "function" if word in FUNCTIONS else "name"
        _append(out, kind, word)
        pos = match.end()
    return out


def _append(out: list[tuple[str, str]], kind: str, text: str) -> None:
    if out and out[-1][0] == kind and kind in ("plain", "space"):
        out[-1] = (kind, out[-1][1] + text)
    else:
        out.append((kind, text))


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
