"""Policy text in, AST (or syntax diagnostics) out; Lark never leaks past this module."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import unicodedata
import re
from pathlib import Path

import attrs
import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policydsl import diagnostics as dg
from policydsl import usercache
from policydsl.errors import InternalError
from policydsl.source import SourceFile
from policydsl.syntax import ast
from policydsl.syntax.build import Builder

GRAMMAR = Path(__file__).with_name("grammar.lark")

# Known mistakes, explained in the author's terms (Lark's match_examples).
EXAMPLES: dict[str, list[str]] = {
    "P0110": [
        'rule r "a" / "b" require x >= 1 deny c "a" / "b"',
        'rule r "a" / "b" when y require x >= 1 deny c "a" / "b"',
        'rule r "a" / "b" require x >= 1 source "a" quote "b"',
    ],
    "P0111": [
        'policy p title "中文"',
        'rule r "中文" require',
        'rule r "中文" when',
        'rule r "中文" deny',
        'enum e "中文" value',
        'enum e "a" / "b" value v "中文" value',
        'input a.b: count "中文" input',
        'input a.b: count "中文" rule',
        'rule r "a" / "b" require x else deny c "中文" rule',
        'rule r "a" / "b" require x else deny c "中文" source',
        'rule r "a" / "b" deny c "中文" rule',
        'policy p title "中文" source',
        'policy p title "中文" implements',
    ],
    "P0121": [
        'rule r "a" / "b" deny "x" / "y"',
        'rule r "a" / "b" when x deny "x" / "y"',
        'rule r "a" / "b" require x else deny "x" / "y"',
        'rule r "a" / "b" require x else warn "x" / "y"',
        'rule r "a" / "b" require x else deny c "x" / "y" deny "x" / "y"',
    ],
    "P0112": [
        'rule r "a" / "b" when x rule',
        'rule r "a" / "b" when x source',
        'rule r "a" / "b" rule',
        'rule r "a" / "b" source "a" quote "b"',
    ],
    "P0114": [
        'input a.b: count "a" / "b" unit u "x"',
        'define a.b: count "a" / "b" unit u "x"',
    ],
    "P0113": [
        'rule r "a" / "b" when x = 1',
        'rule r "a" / "b" require x = 1',
        'rule r "a" / "b" when a and x = 1',
    ],
}


# A mistake in the first declaration of a file leaves a shorter parser stack than one after
# other declarations, so each example is also tried after a declaration.
EXAMPLES = {code: [ex for s in snippets for ex in (s, 'unit u "a" / "b"\n' + s)] for code, snippets in EXAMPLES.items()}


@functools.cache
def _lark() -> lark.Lark:
    """The LALR parser. Building its tables from the grammar takes about 0.14 s, on every start of every command
    that parses: they are kept in the per-user cache (usercache: only a file this user wrote is read), keyed by
    the grammar, the options and Lark's version, and read back in about 0.02 s. (Lark's own `cache=True` would
    keep them in the shared temporary folder, where another user could plant them, and log to stderr when an
    entry is spoilt.)"""
    text = GRAMMAR.read_text(encoding="utf-8")
    options = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True, "maybe_placeholders": True}
    name = "grammar-" + hashlib.sha256(f"{lark.__version__} {sorted(options.items())}\n{text}".encode()).hexdigest() + ".bin"
    stored = usercache.read(name)
    if isinstance(stored, bytes):
        with contextlib.suppress(Exception):  # spoilt or from another Lark: built again
            return lark.Lark.load(io.BytesIO(stored))
    parser = lark.Lark(text, **options, cache=False)  # type: ignore[arg-type]
    tables = io.BytesIO()
    parser.save(tables)
    usercache.write(name, tables.getvalue())
    return parser


def parse(source: SourceFile) -> tuple[ast.Module | None, list[dg.Diagnostic]]:
    """Parse one file; on a syntax error return no module and one explained diagnostic. A direction control
    anywhere in the file is an error too (P0123), with or without one."""
    module, diagnostics = _parse(source)
    return module, [*_direction_controls(source), *diagnostics]


_DIRECTION = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""The bidirectional embeddings, overrides and isolates (“Trojan Source”, CVE-2021-42574), as rustc denies them."""


def _direction_controls(source: SourceFile) -> list[dg.Diagnostic]:
    """P0123 at the first direction control of each line that holds one: shown, a message, a label or a
    comment could read otherwise than the rule book says (the handbook and the language server show them too)."""
    out, last = [], 0
    for match in _DIRECTION.finditer(source.text):
        line = source.position(match.start())[0]
        if line != last:
            last, char = line, match.group()
            out.append(dg.make("P0123", source.span(match.start(), match.end()), char=f"U+{ord(char):04X}",
                               name=unicodedata.name(char)))
    return out


def _parse(source: SourceFile) -> tuple[ast.Module | None, list[dg.Diagnostic]]:
    text = source.text
    while True:
        try:
            tree = _lark().parse(text)
            break
        except UnexpectedInput as exc:
            word = _foreign_name(text, exc)
            if word is None:
                return None, [_syntax_diagnostic(source, exc)]
            # A Chinese word where a value belongs: parse on with a same-length stand-in; the builder
            # keeps the original word, so the checker reports it as an undefined name with a
            # did-you-mean found through the Chinese labels.
            text = text[:word[0]] + "_" * (word[1] - word[0]) + text[word[1]:]
    deep = _too_deep(tree)
    if deep is not None:
        span = source.span(deep.meta.start_pos, deep.meta.end_pos)
        return None, [dg.make("P0115", span, limit=MAX_NESTING)]
    builder = Builder(source)
    try:
        module = builder.transform(tree)
    except lark.exceptions.VisitError as exc:
        raise InternalError(f"building the AST of {source.path} failed: {exc.orig_exc!r}") from exc.orig_exc
    return module, builder.diagnostics


MAX_NESTING = 100
"""The deepest expression accepted: operators, calls, aggregates and sets nested inside each other
(a chain `a and b and c` nests one level per operator; parentheses add none). Every later stage walks
expressions recursively, so this bound keeps each of them far inside Python's recursion limit."""

_NESTING = frozenset({"or_", "and_", "not_", "compare", "member", "not_member", "arith", "neg", "call",
                      "aggregate", "set_lit"})


def _too_deep(tree: lark.Tree) -> lark.Tree | None:
    """The first expression node nested more than MAX_NESTING levels deep, found without recursion."""
    stack: list[tuple[lark.Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data in _NESTING:
            depth += 1
            if depth > MAX_NESTING:
                return node
        stack.extend((child, depth) for child in node.children if isinstance(child, lark.Tree))
    return None


def _foreign_name(text: str, exc: UnexpectedInput) -> tuple[int, int] | None:
    """The offsets of a non-ASCII word (e.g. a Chinese label) written where an expression belongs."""
    if not isinstance(exc, UnexpectedCharacters) or not {"NAME", "INT"} <= set(exc.allowed or ()):
        return None
    if exc.pos_in_stream is None:
        return None
    start = end = exc.pos_in_stream
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return (start, end) if end > start and not text[start].isascii() else None


_STRING_OR_COMMENT = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|#[^\n]*')


def _lone_string(source: SourceFile, start: int) -> tuple[int, int] | None:
    """The string literal right before `start` (only blanks and comments between), if any."""
    strings = [m for m in _STRING_OR_COMMENT.finditer(source.text, 0, start) if m.group().startswith('"')]
    last = strings[-1] if strings else None
    if last is None or _STRING_OR_COMMENT.sub("", source.text[last.end():start]).strip():
        return None
    return last.start(), last.end()


_NUMBER_BEFORE = re.compile(r"(?:¥|\b)\d+$")
_GROUPS_AFTER = re.compile(r"(?:,\d{3})+(?:\.\d+)?%?(?![\w.,])")


def _thousands_separator(source: SourceFile, exc: UnexpectedInput) -> dg.Diagnostic | None:
    """P0120 at the comma of `¥1,000`: a number written with thousands separators."""
    if not isinstance(exc, UnexpectedToken) or exc.token.type != "COMMA" or exc.pos_in_stream is None:
        return None
    pos, text = exc.pos_in_stream, source.text
    before, after = _NUMBER_BEFORE.search(text, 0, pos), _GROUPS_AFTER.match(text, pos)
    if before is None or after is None:
        return None
    written = text[before.start():after.end()]
    return dg.make("P0120", source.span(pos, pos + 1), number=written, plain=written.replace(",", ""))


_TOKEN = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|#[^\n]*|[<>=!]=|[<>+\-*/]|\w+|\S')
_OPERATORS = {**dict.fromkeys((">=", "<=", "==", "!=", ">", "<", "+", "-", "*", "/"), "value"),
              **dict.fromkeys(("and", "or", "not"), "condition"), "in": "set"}
"""An operator that needs an operand after it, and what that operand is (P0122)."""
_EXPRESSION_STARTS = {"INT", "NAME"}
_CLAUSE_WORDS = frozenset((
    "else", "allow", "deny", "warn", "source", "consequence", "rule", "when", "require", "input", "define",
    "table", "enum", "unit", "entity", "policy", "rollout", "assume", "note", "property", "overlap", "expect",
    "effective", "implements", "applies", "exception", "supersedes", "title", "agree", "prevails", "known"))
"""Words that start a clause: after a dangling operator the parser reads one as the missing operand."""


def _dangling_operator(source: SourceFile, exc: UnexpectedInput) -> dg.Diagnostic | None:
    """P0122 at the operator of a half-typed `require account.fans >=` (or `… and`): the parser met the next
    clause where the operand belonged. (At the end of the file, P0103 says what may come next.)"""
    if not isinstance(exc, UnexpectedToken) or exc.token.type == "$END" or exc.pos_in_stream is None:
        return None
    pos = exc.pos_in_stream
    before = [m for m in _TOKEN.finditer(source.text, 0, pos) if not m.group().startswith("#")][-2:]
    if not before:
        return None
    if before[-1].group() in _CLAUSE_WORDS and len(before) == 2:
        before = before[:1]  # `>= else deny …`: the next clause's keyword was read as the operand
    elif not _EXPRESSION_STARTS <= _accepted(exc):
        return None
    operator = before[-1]
    if operator.group() not in _OPERATORS:
        return None
    what = dg.i18n.both(f"P0122.{_OPERATORS[operator.group()]}")
    return dg.make("P0122", source.span(operator.start(), operator.end()), op=operator.group(), what=what)


def _syntax_diagnostic(source: SourceFile, exc: UnexpectedInput) -> dg.Diagnostic:
    explained = _thousands_separator(source, exc) or _dangling_operator(source, exc)
    if explained is not None:
        return explained
    known = _match_example(exc)
    start = _offset(source, exc)
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        end = start + max(1, len(str(exc.token)))
    elif isinstance(exc, UnexpectedCharacters):
        end = start + 1
    else:  # end of file: an empty span just after the last text
        end = start
    if known == "P0111":  # underline the text that lacks its other language, not the token after it
        start, end = _lone_string(source, start) or (start, end)
    span = source.span(start, min(end, len(source.text)) if end > start else start)
    if known:
        return dg.make(known, span)
    if isinstance(exc, UnexpectedCharacters):
        diag = dg.make("P0102", span, char=source.text[start:start + 1])
        if source.text[start:start + 1].isalnum():  # a Chinese (non-ASCII) letter where a name belongs
            diag = attrs.evolve(diag, hint=dg.i18n.both("P0102.name"))
        return diag
    expected = _describe_expected(_accepted(exc))
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        return dg.make("P0103", span, expected=expected)
    return dg.make("P0101", span, found=f"`{getattr(exc, 'token', '')}`", expected=expected)


def _accepted(exc: UnexpectedInput) -> set[str]:
    """The terminals that could really come next (LALR's merged lookaheads over-approximate them)."""
    try:
        accepts = exc.accepts if isinstance(exc, UnexpectedToken) else None
    except Exception:  # noqa: BLE001 - fall back to the parser's lookahead set
        accepts = None
    return set(accepts or getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ())


def _offset(source: SourceFile, exc: UnexpectedInput) -> int:
    if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
        return len(source.text.rstrip())
    pos = getattr(exc, "pos_in_stream", None)
    return len(source.text) if pos is None else pos


def _match_example(exc: UnexpectedInput) -> str | None:
    if not isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        return None
    try:
        return exc.match_examples(_lark().parse, EXAMPLES, use_accepts=True)
    except Exception:  # noqa: BLE001 - a failed explanation falls back to the generic message
        return None


def _describe_expected(names: set[str]) -> dict[str, str]:
    # Kinds of token ("a name", "an integer") first, then keywords and punctuation.
    shown_pairs = {_terminal_display(n) for n in names if n != "$END"}
    if "INT" in names:  # an expression may start here: leave out the words only properties use
        shown_pairs = {p for p in shown_pairs if p[1] not in ("allow/deny/warn", "`outcome`")}
    pairs = sorted(shown_pairs, key=lambda p: (p[1].startswith("`"), p[1]))
    out = {}
    for i, lang in enumerate(("zh", "en")):
        shown = [p[i] for p in pairs]
        if len(shown) > 8:
            shown = shown[:8] + ["…"]
        out[lang] = dg.i18n.t("list.sep", lang).join(shown) if shown else "?"
    return out


_FRIENDLY = {  # terminal -> (zh, en)
    "NAME": ("名称", "a name"), "STRING": ('字符串 "…"', 'a string "…"'), "INT": ("整数", "an integer"),
    "DECIMAL": ("数字", "a number"), "MONEY": ("金额 ¥…", "an amount ¥…"),
    "PERCENT": ("百分比 …%", "a percentage …%"), "DATE": ("日期 YYYY-MM-DD", "a date YYYY-MM-DD"),
    "INVENTORY_ID": ("清单编号 R000.1", "an inventory id R000.1"), "OUTCOME": ("allow/deny/warn", "allow/deny/warn"),
    "COMPARE": ("比较运算符", "a comparison"), "HIT_POLICY": ("unique/first/priority/collect",) * 2,
    "AGGREGATOR": ("sum/min/max",) * 2, "AGG": ("max/min/sum/any/all",) * 2,
    "DURATION_UNIT": ("days/months/working days",) * 2, "ADD_OP": ("`+` `-`",) * 2, "MUL_OP": ("`*` `/`",) * 2,
}


def _terminal_display(name: str) -> tuple[str, str]:
    if name in _FRIENDLY:
        return _FRIENDLY[name]
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return (name, name)
    shown = f"`{pattern.value}`" if isinstance(pattern, lark.lexer.PatternStr) else name
    return (shown, shown)
