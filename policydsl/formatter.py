"""The formatter: one canonical layout for .policy files (`policydsl fmt`), also used by the language server.

The layout follows the house style of policies/: declarations start in column 0, their clauses are
indented two spaces (`else …` four, under `require`), expressions are printed from the AST with
the fewest parentheses their precedence needs, and every other token (strings, numbers, dates)
is printed exactly as the author wrote it. Comments are kept: a full-line comment stays before the
line that follows it, a trailing comment stays at the end of its line. Blank lines between
declarations are kept (several become one), a declaration of several lines is always set apart by
one, and blank lines inside a declaration are dropped.
"""
from __future__ import annotations

import bisect
import re

import attrs

from policydsl import i18n
from policydsl.loader import PolicyLoadError
from policydsl.source import SourceFile
from policydsl.syntax import ast
from policydsl.syntax.parser import parse

MESSAGES: dict[str, tuple[str, str]] = {
    "syntax": ("有语法错误，无法格式化", "cannot format: the text has syntax errors"),
    "would_change": ("需要格式化：{path}", "would reformat: {path}"),
    "changed": ("已格式化：{path}", "reformatted: {path}"),
    "summary_check": ("{changed} 个文件需要格式化，{same} 个文件已是规范格式",
                      "{changed} file(s) would be reformatted, {same} already formatted"),
    "summary_write": ("格式化了 {changed} 个文件，{same} 个文件未改动",
                      "{changed} file(s) reformatted, {same} unchanged"),
}


_msg = i18n.register("fmt", MESSAGES)
LOSSY = frozenset({"P0118", "P0119"})
"""Syntax errors whose AST keeps only one of two clauses: formatting that AST would drop the other."""


class FormatError(PolicyLoadError):
    """The text does not parse, so it cannot be formatted; `diagnostics` holds the syntax errors."""

    def message(self, lang: str) -> str:
        return _msg("syntax", lang)

    def __str__(self) -> str:
        return _msg("syntax", "en")


# ------------------------------------------------------------------ tokens
_TOKEN = re.compile(r'''
    (?P<string>"[^"\\\n]*(?:\\.[^"\\\n]*)*")
  | (?P<comment>\#[^\n]*)
  | (?P<word>R\d{3}\.\d+\b|\d{4}-\d{2}-\d{2}|¥\d+(?:\.\d+)?|\d+(?:\.\d+)?%|\d+\.\d+|\d+|[^\W\d]\w*|_\w*)
  | (?P<op>->|>=|<=|==|!=|[^\s\w"#])
  | (?P<space>\s+)
''', re.VERBOSE)


@attrs.frozen
class _Tok:
    kind: str  # string | comment | word | op
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "comment":  # trailing blanks of a comment are dropped
            out.append(_Tok(kind, m.group().rstrip(), m.start(), m.start() + len(m.group().rstrip())))
        elif kind is not None and kind != "space":
            out.append(_Tok(kind, m.group(), m.start(), m.end()))
    return out


# ------------------------------------------------------------------ expressions
_PREC = {"or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
         "+": 5, "-": 5, "*": 6, "/": 6}


def _prec(e: object) -> int:
    if isinstance(e, ast.Binary):
        return _PREC[e.op]
    if isinstance(e, ast.Unary):
        return 3 if e.op == "not" else 7
    if isinstance(e, ast.Member):
        return 4
    return 8


class _Printer:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = [t for t in toks if t.kind != "comment"]
        # tokens do not overlap, so both their starts and their ends ascend: `within` is two bisections, not a
        # scan of the whole file per declaration (quadratic: 5,000 rules took 39 s to format)
        self._starts = [t.start for t in self.toks]
        self._ends = [t.end for t in self.toks]

    def within(self, start: int, end: int) -> list[_Tok]:
        lo = bisect.bisect_left(self._starts, start)
        hi = bisect.bisect_right(self._ends, end)
        return self.toks[lo:hi] if hi > lo else []

    def expr(self, e: object, need: int = 0) -> str:
        text = self._expr(e)
        return f"({text})" if _prec(e) < need else text

    def _expr(self, e: object) -> str:
        if isinstance(e, ast.Binary):
            p = _PREC[e.op]
            right_need = p + 1 if p != 4 else 5
            left_need = p if p != 4 else 5
            return f"{self.expr(e.left, left_need)} {e.op} {self.expr(e.right, right_need)}"
        if isinstance(e, ast.Unary):
            if e.op == "not":
                return f"not {self.expr(e.operand, 3)}"
            operand = self.expr(e.operand, 7)
            return f"- {operand}" if operand.startswith("-") else f"-{operand}"
        if isinstance(e, ast.Member):
            op = "not in" if e.negated else "in"
            return f"{self.expr(e.item, 5)} {op} {self.expr(e.collection, 5)}"
        if isinstance(e, ast.Literal):
            return e.span.text
        if isinstance(e, ast.DurationLit):
            return " ".join(t.text for t in self.within(e.span.start, e.span.end))
        if isinstance(e, ast.Today):
            return "today"
        if isinstance(e, ast.NotOpen):
            return "not_open"
        if isinstance(e, ast.Ref):
            return e.path
        if isinstance(e, ast.Call):
            return f"{e.func.value}({', '.join(self.expr(a) for a in e.args)})"
        if isinstance(e, ast.Aggregate):
            return f"{e.func}({self.expr(e.body)} for {e.var.value} in {self.expr(e.iterable)})"
        if isinstance(e, ast.Covered):
            return f"covered({e.rollout.value})"
        if isinstance(e, ast.SetLit):
            return "{" + ", ".join(self.expr(i) for i in e.items) + "}"
        if isinstance(e, ast.OutcomeRef):
            return "outcome" if e.policy is None else f"outcome({e.policy.value})"
        if isinstance(e, ast.OutcomeLit):
            return e.value
        raise TypeError(f"unknown expression node {type(e).__name__}")  # pragma: no cover


# ------------------------------------------------------------------ layout
_NO_SPACE_BEFORE = {",", ":", ")", "]", "}", "."}
_NO_SPACE_AFTER = {"(", "[", "{", "."}
_KEYWORDS = {"row", "and", "or", "not", "in", "when", "require", "to", "from", "until", "ramp", "key", "about",
             "for", "priority", "columns", "hit", "value", "title", "implements", "source", "quote", "effective",
             "exception", "supersedes", "else", "phase", "unit", "set", "of", "policy", "enum", "input",
             "define", "rule", "table", "rollout", "assume", "note", "allow", "deny", "warn", "property", "expect",
             "entity", "fact", "applies", "consequence", "amount", "permanent",
             "overlap", "between", "agree", "prevails", "known", "conflict", "because"}

# Clause keywords of each declaration: each starts a new line (indent) when met outside brackets.
_CLAUSES: dict[type, dict[str, int]] = {
    ast.PolicyDecl: {"title": 2, "implements": 2, "source": 2, "effective": 2, "applies": 2},
    ast.EnumDecl: {"value": 2},
    ast.UnitDecl: {},
    ast.EntityDecl: {"fact": 2},
    ast.InputDecl: {},
    ast.DefineDecl: {"=": 2, "source": 2},
    ast.RuleDecl: {"effective": 2, "exception": 2, "supersedes": 2, "when": 2, "implements": 2, "require": 2,
                   "else": 4, "allow": 2, "deny": 2, "warn": 2, "source": 2, "consequence": 2},
    ast.TableDecl: {"hit": 2, "columns": 2, "row": 2},
    ast.RolloutDecl: {"key": 2, "phase": 2},
    ast.AssumeDecl: {"about": 2, "source": 2},
    ast.NoteDecl: {"about": 2, "source": 2},
    ast.PropertyDecl: {"effective": 2, "when": 2, "expect": 2},
    ast.OverlapDecl: {"between": 2, "effective": 2, "when": 2, "agree": 2, "prevails": 2, "known": 2},
}


def _join(parts: list[tuple[str, str]]) -> str:
    """Join (kind, text) pieces with single spaces, except around brackets, commas and dots."""
    out = ""
    prev: tuple[str, str] | None = None
    for kind, text in parts:
        glued = prev is None or (kind == "op" and text in _NO_SPACE_BEFORE) or (
            prev[0] == "op" and prev[1] in _NO_SPACE_AFTER) or (
            kind == "op" and text == "(" and prev[0] == "word" and prev[1] not in _KEYWORDS)  # a call
        out += text if glued else " " + text
        prev = (kind, text)
    return out


def _exprs_of(item: ast.Decl) -> list[ast.Expr]:
    """The top-level expressions of a declaration (each printed from the AST)."""
    found: tuple = ()
    if isinstance(item, ast.RuleDecl):
        found = (item.scope, item.body.condition, *(x for c in item.consequences for x in (c.end, c.amount)))
    elif isinstance(item, ast.DefineDecl):
        found = tuple(e for c in item.cases for e in (c.expr, c.when))
    elif isinstance(item, ast.PropertyDecl):
        found = (item.premise, item.claim)
    elif isinstance(item, ast.OverlapDecl):
        found = (item.premise, item.agree)
    elif isinstance(item, ast.PolicyDecl):
        found = (item.applies,)
    return [e for e in found if e is not None]


@attrs.define
class _Line:
    indent: int
    text: str
    start: int  # source offsets of the line's first and last token
    end: int
    decl_start: bool = False
    decl_size: int = 0  # on a declaration's first line: how many lines the declaration has
    before: list = attrs.field(factory=list)  # full-line comment tokens printed above the line
    trailing: list = attrs.field(factory=list)  # comment tokens printed at its end


def _decl_lines(item: ast.Decl, printer: _Printer) -> list[_Line]:
    toks = printer.within(item.span.start, item.span.end)
    exprs = sorted(_exprs_of(item), key=lambda e: e.span.start)
    clauses = _CLAUSES[type(item)]
    # Replace each top-level expression (with any parentheses wrapping all of it) by one piece.
    pieces: list[tuple[str, str, int, int]] = []  # kind, text, start, end
    i = 0
    by_start = {e.span.start: e for e in exprs}
    while i < len(toks):
        tok = toks[i]
        # a top-level expression, perhaps wrapped in redundant parentheses: `(` … `(` expr `)` … `)`
        e, d = None, 0
        while i + d < len(toks):
            t = toks[i + d]
            if t.start in by_start:
                e = by_start[t.start]
                break
            if t.kind == "op" and t.text == "(":
                d += 1
                continue
            break
        if e is not None:
            k = i + d
            while k < len(toks) and toks[k].start < e.span.end:
                k += 1
            if k + d <= len(toks) and all(toks[k + m].text == ")" for m in range(d)):
                pieces.append(("expr", printer.expr(e), toks[i].start, toks[k + d - 1].end))
                i = k + d
                continue
        pieces.append((tok.kind, tok.text, tok.start, tok.end))
        i += 1
    lines: list[list[tuple[str, str, int, int]]] = [[]]
    indents = [0]
    depth = 0
    prev_text = None
    for piece in pieces:
        kind, text = piece[0], piece[1]
        # `else deny …` stays on one line: an outcome right after `else` starts no clause
        starts_clause = kind in ("word", "op") and depth == 0 and text in clauses and prev_text != "else"
        if starts_clause and lines[-1]:
            lines.append([])
            indents.append(clauses[text])
        if kind == "op" and text in "([{":
            depth += 1
        elif kind == "op" and text in ")]}":
            depth -= 1
        lines[-1].append(piece)
        prev_text = text
    out = [_Line(indent=indent, text=_join([(k if k != "expr" else "word", t) for k, t, _, _ in line]),
                 start=line[0][2], end=line[-1][3]) for indent, line in zip(indents, lines)]
    out[0].decl_start, out[0].decl_size = True, len(out)
    return out


def _blank_between(text: str, start: int, end: int) -> bool:
    """Whether the gap text[start:end] (blanks and comments) holds an empty line."""
    return any(not ln.strip() for ln in text[start:end].split("\n")[1:-1])


def format_expr(expr: object) -> str:
    """One expression as the formatter prints it (comments left out), on one line."""
    return _Printer(_tokens(expr.span.source.text)).expr(expr)  # type: ignore[attr-defined]


def format_text(text: str, path: str = "<text>") -> str:
    """The canonical layout of `text`; raises FormatError (with the syntax diagnostics) if it does not parse."""
    source = SourceFile(path=path, text=text)
    module, diags = parse(source)
    errors = [d for d in diags if d.severity == "error"]
    lossy = [d for d in errors if d.code in LOSSY]
    if module is None or lossy:
        raise FormatError(lossy or errors or diags)
    toks = _tokens(text)
    printer = _Printer(toks)
    lines = [line for item in module.items for line in _decl_lines(item, printer)]
    comments = [t for t in toks if t.kind == "comment"]
    tail: list[_Tok] = []  # comments after the last line
    # lines are in source order (their starts and ends ascend): a comment finds its line by bisection
    line_starts = [ln.start for ln in lines]
    line_ends = [ln.end for ln in lines]
    for c in comments:
        line_start = text.rfind("\n", 0, c.start) + 1
        full_line = not text[line_start:c.start].strip()
        if not full_line:  # after the last line that starts before it
            at = bisect.bisect_left(line_starts, c.start)
            if at > 0:
                lines[at - 1].trailing.append(c)
                continue
        at = bisect.bisect_right(line_ends, c.start)
        target = lines[at] if at < len(lines) else None
        if target is None:
            tail.append(c)
        else:
            target.before.append(c)
    # Blank lines: only at the top level (before declarations and the comments leading them).
    out: list[str] = []
    prev_end = 0
    first = True
    prev_size = 0
    for ln in lines:
        if ln.decl_start:
            # top-level elements of this gap: comments before the declaration keyword, then the keyword
            inner = [c for c in ln.before if c.start >= ln.start]
            outer = [c for c in ln.before if c.start < ln.start]
            # A declaration of several lines is set apart by a blank line (before the comments leading it).
            multi = ln.decl_size > 1 or prev_size > 1
            attached, following = len(outer), ln.start
            for idx in reversed(range(len(outer))):
                if _blank_between(text, outer[idx].end, following):
                    break
                attached, following = idx, outer[idx].start
            for idx, c in enumerate(outer):
                if not first and (_blank_between(text, prev_end, c.start) or (multi and idx == attached)):
                    out.append("")
                out.append(c.text)
                prev_end, first = c.end, False
            if not first and (_blank_between(text, prev_end, ln.start) or (multi and attached == len(outer))):
                out.append("")
            out.extend(" " * ln.indent + c.text for c in inner)
            prev_size, first = ln.decl_size, False
        else:
            out.extend(" " * ln.indent + c.text for c in ln.before)
        body = " " * ln.indent + ln.text
        if ln.trailing:
            body += "  " + " ".join(c.text for c in ln.trailing)
        out.append(body)
        prev_end = max([ln.end] + [c.end for c in ln.trailing])
    for c in tail:
        if out and _blank_between(text, prev_end, c.start):
            out.append("")
        out.append(c.text)
        prev_end = c.end
    return "\n".join(out) + "\n" if out else ""
