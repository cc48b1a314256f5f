"""Lark parse tree in, AST out: one transformer method per grammar alias; literal errors are collected."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import attrs
from lark import Token, Transformer, v_args

from policydsl import diagnostics as dg
from policydsl.source import SourceFile, Span
from policydsl.syntax import ast

_PLACEHOLDER_PATH = re.compile(r"\w+(?:\.\w+)*")
"""What a placeholder holds: a name or a dotted path (a Chinese label too, reported as unknown by the checker);
other braces hold an expression (P0404)."""

MAX_LITERAL_DIGITS = 34
"""A number written in a policy has at most 34 digits (as facts have at most 34 significant digits):
every later stage then computes with it exactly."""
CONCLUSION = "require … / allow|deny|warn …"
"""How P0119 names a rule's conclusion: a rule has one, `require` or a bare outcome."""


def _clause(kind: str, word: str = "", read: str = ""):
    """A transformer method: the rule's one child (read by the Builder method `read`, if given) as a `kind` clause."""
    def method(self, meta, children):
        return _Clause(kind, getattr(self, read)(children[0]) if read else children[0], self.sp(meta), word)
    return method


def _node(cls, *fields: str, **fixed):
    """A transformer method: the node `cls` with the rule's children as `fields`, in order, and the `fixed` fields."""
    def method(self, meta, children):
        return cls(**dict(zip(fields, children)), **fixed, span=self.sp(meta))
    return method


@v_args(meta=True)
class Builder(Transformer):
    def __init__(self, source: SourceFile) -> None:
        super().__init__()
        self.file = source
        self.diagnostics: list[dg.Diagnostic] = []

    # ------------------------------------------------------------- helpers
    def sp(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return self.file.span(0, 0)
        return self.file.span(meta.start_pos, meta.end_pos)

    def tsp(self, tok: Token) -> Span:
        return self.file.span(tok.start_pos or 0, tok.end_pos or 0)

    def name(self, tok: Token) -> ast.Name:
        return ast.Name(value=self.file.text[tok.start_pos:tok.end_pos], span=self.tsp(tok))

    def date(self, tok: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(tok))
        except ValueError:
            self.diagnostics.append(dg.make("P0101", self.tsp(tok), found=f"`{tok}`",
                                            expected=dg.i18n.both("expected.date")))
            return dt.date(1970, 1, 1)

    @staticmethod
    def string(tok: Token, start: int = 1, end: int = -1) -> str:
        """The string literal `tok` (or the characters [start:end) of its text) with its escapes decoded."""
        body = str(tok)[start:end]
        return body.replace('\\"', '"').replace("\\\\", "\\") if "\\" in body else body

    # ------------------------------------------------------------- module and header
    def start(self, meta, items):
        return ast.Module(path=self.file.path, items=tuple(items), span=self.sp(meta))

    def once(self, decl: str, clauses: list, kind: str, default=None):
        """The value of the one `kind` clause among `clauses` (or `default`); every further one is P0119,
        pointing back at the first: a clause written twice is never silently dropped."""
        found = [c for c in clauses if isinstance(c, _Clause) and c.kind == kind]
        for extra in found[1:]:
            self.diagnostics.append(dg.make("P0119", extra.span, decl=decl, clause=extra.word,
                                            related=[(found[0].span, "P0119.related")]))
        return found[0].value if found else default

    def policy_decl(self, meta, children):
        ident, title, *clauses = children
        implements = tuple(n for c in clauses if isinstance(c, tuple) for n in c)
        sources = tuple(c for c in clauses if isinstance(c, ast.SourceRef))
        applies = [c for c in clauses if isinstance(c, _Clause) and c.kind == "applies"]
        for extra in applies[1:]:  # one `applies when`: a second would silently narrow or be lost
            self.diagnostics.append(dg.make("P0118", extra.value.span, related=[(applies[0].span, "P0119.related")]))
        self.once("policy", [title, *clauses], "title")
        return ast.PolicyDecl(id=ident, title=title.value, implements=implements, sources=sources,
                              effective=self.once("policy", clauses, "effective"), span=self.sp(meta),
                              applies=applies[0].value if applies else None)

    applies = _clause("applies", "applies when")
    title = _clause("title")

    def implements(self, meta, children):
        return tuple(self.name(t) for t in children)

    def source(self, meta, children):
        doc, quote = children
        return ast.SourceRef(document=self.string(doc), quote=self.string(quote), span=self.sp(meta),
                             quote_span=self.tsp(quote))

    def effective(self, meta, children):
        start, end = children
        return _Clause("effective", ast.Effective(start=start, end=end, span=self.sp(meta)), self.sp(meta))

    def eff_from(self, meta, children):
        return self.date(children[0])

    eff_until = eff_from

    def text(self, meta, children):
        (zh, zh_string), (en, en_string) = (self.text_string(tok) for tok in children)
        return ast.Text(zh=zh, en=en, span=self.sp(meta), strings=(zh_string, en_string))

    def text_string(self, tok: Token) -> tuple[str, ast.String]:
        """A string of a text: its value, and its pieces around placeholders (`{` a path with neither braces
        nor spaces `}`), each placeholder spanning its braces in the source (no escape makes a brace or space)."""
        raw, at, parts, last, i = str(tok), self.tsp(tok).start, [], 1, 1
        expressions = []
        while (i := raw.find("{", i, len(raw) - 1)) >= 0:
            j = i + 1
            while j < len(raw) - 1 and raw[j] not in "{}" and not raw[j].isspace():
                j += 1
            if raw[j] != "}" or j == i + 1:
                expression = self.expression_in_braces(tok, i)
                if expression is not None:
                    expressions.append(expression)
                i = j
                continue
            span = self.file.span(at + i, at + j + 1)
            placeholder = ast.Placeholder(path=self.string(tok, i + 1, j), span=span)
            if not _PLACEHOLDER_PATH.fullmatch(placeholder.path):  # `{a+b}`: an expression, shown verbatim
                expressions.append(placeholder)
                i = j + 1
                continue
            parts.append((self.string(tok, last, i), placeholder))
            i = last = j + 1
        string = ast.String(parts=(*parts, (self.string(tok, last), None)), span=self.tsp(tok),
                            expressions=tuple(expressions))
        return self.string(tok), string

    def expression_in_braces(self, tok: Token, i: int) -> ast.Placeholder | None:
        """`{days_between(a, b)}` from the `{` at `i` of the string `tok`: braces around words and spaces
        (no brace inside) that would reach a reader verbatim; None when the brace is plain text."""
        raw = str(tok)
        j = raw.find("}", i + 1, len(raw) - 1)
        if j < 0 or "{" in raw[i + 1:j] or not raw[i + 1:j].strip():
            return None
        at = self.tsp(tok).start
        return ast.Placeholder(path=self.string(tok, i + 1, j), span=self.file.span(at + i, at + j + 1))

    def dotted(self, meta, children):
        # Names come from the source text itself: the parser may have stood in for a Chinese word.
        return ast.Name(value=".".join(self.file.text[c.start_pos:c.end_pos] for c in children), span=self.sp(meta))

    # ------------------------------------------------------------- shared declarations
    def enum_decl(self, meta, children):
        name, label, *values = children
        return ast.EnumDecl(name=self.name(name), label=label, values=tuple(values), span=self.sp(meta))

    def enum_value(self, meta, children):
        name, label = children
        return ast.EnumValue(name=self.name(name), label=label, span=self.sp(meta))

    def unit_decl(self, meta, children):
        name, label = children
        return ast.UnitDecl(name=self.name(name), label=label, span=self.sp(meta))

    def entity_decl(self, meta, children):
        name, label, *facts = children
        entity = self.name(name)
        facts = tuple(attrs.evolve(f, entity=entity.value,
                                   path=attrs.evolve(f.path, value=f"{entity.value}.{f.path.value}"))
                      for f in facts)
        return ast.EntityDecl(name=entity, label=label, facts=facts, span=self.sp(meta))

    # ------------------------------------------------------------- inputs and values
    input_decl = fact_decl = _node(ast.InputDecl, "path", "type", "label", "unit")

    def input_unit(self, meta, children):
        """A rule whose one child is a name token: `unit NAME`, a code, an enum row key, an inventory id."""
        return self.name(children[0])

    define_unit = code = enum_key = inventory_ref = input_unit

    def type_name(self, meta, children):
        return ast.TypeRef(name=str(children[0]), is_set=False, span=self.sp(meta))

    def type_set(self, meta, children):
        return ast.TypeRef(name=str(children[0]), is_set=True, span=self.sp(meta))

    def define_decl(self, meta, children):
        path, type_ref, label, unit, *rest = children
        cases = tuple(c for c in rest if isinstance(c, ast.DefineCase))
        sources = tuple(c for c in rest if isinstance(c, ast.SourceRef))
        return ast.DefineDecl(path=path, type=type_ref, label=label, unit=unit, cases=cases, sources=sources,
                              span=self.sp(meta))

    def define_case(self, meta, children):
        expr, *clauses = children
        return ast.DefineCase(expr=expr, when=self.once("define", clauses, "when"),
                              start=self.once("define", clauses, "from"), end=self.once("define", clauses, "until"),
                              span=self.sp(meta))

    case_when = scope = _clause("when")
    case_from = _clause("from", read="date")
    case_until = _clause("until", read="date")

    # ------------------------------------------------------------- rules
    def rule_decl(self, meta, children):
        name, label, *rest = children
        exception = self.once("rule", rest, "exception")
        return ast.RuleDecl(
            name=self.name(name), label=label,
            effective=self.once("rule", rest, "effective"),
            exception_to=exception[0] if exception else (),
            priority=exception[1] if exception else 0,
            supersedes=self.once("rule", rest, "supersedes"), scope=self.once("rule", rest, "when"),
            body=self.once("rule", rest, "body"),
            sources=tuple(c for c in rest if isinstance(c, ast.SourceRef)),
            implements=tuple(n for c in rest if isinstance(c, tuple) and c and isinstance(c[0], ast.Name) for n in c),
            span=self.sp(meta), consequences=tuple(c for c in rest if isinstance(c, ast.Consequence)))

    def consequence(self, meta, children):
        kind, period, amount, text = children
        period_kind, end = period if period is not None else (None, None)
        return ast.Consequence(kind=self.name(kind), period=period_kind, end=end, amount=amount, text=text,
                               span=self.sp(meta))

    def cons_for(self, meta, children):
        return ("for", children[0])

    def cons_until(self, meta, children):
        return ("until", children[0])

    def cons_permanent(self, meta, children):
        return ("permanent", None)

    def exception(self, meta, children):
        targets = tuple(self.name(c) for c in children if isinstance(c, Token) and c.type == "NAME")
        priority = next((int(c) for c in children if isinstance(c, Token) and c.type == "INT"), 0)
        return _Clause("exception", (targets, priority), self.sp(meta), "exception to")

    supersedes = _clause("supersedes", read="name")

    def require_body(self, meta, children):
        cond, outcome, code, message = children
        return _Clause("body", ast.RuleBody(kind="require", condition=cond, outcome=str(outcome), code=code,
                                            message=message, span=self.sp(meta)), self.sp(meta), CONCLUSION)

    def fire_body(self, meta, children):
        outcome, code, message = children
        return _Clause("body", ast.RuleBody(kind="fire", condition=None, outcome=str(outcome), code=code,
                                            message=message, span=self.sp(meta)), self.sp(meta), CONCLUSION)

    # ------------------------------------------------------------- tables
    def table_decl(self, meta, children):
        name, *rest = children
        params = tuple(c for c in rest if isinstance(c, ast.Param))
        result = next(c for c in rest if isinstance(c, ast.TypeRef))
        label = next(c for c in rest if isinstance(c, ast.Text))
        hit = self.once("table", rest, "hit", ("unique", None))
        body = rest[-1]
        rows = body[1] if body[0] == "range" else ()
        columns, matrix = (body[1], body[2]) if body[0] == "matrix" else ((), ())
        return ast.TableDecl(name=self.name(name), params=params, result=result, label=label, hit=hit[0],
                             aggregator=hit[1], rows=rows, columns=columns, matrix=matrix, span=self.sp(meta))

    def param(self, meta, children):
        return ast.Param(name=self.name(children[0]), type=children[1], span=self.sp(meta))

    def hit(self, meta, children):
        policy, agg = children
        return _Clause("hit", (str(policy), str(agg) if agg is not None else None), self.sp(meta))

    def range_rows(self, meta, children):
        return ("range", tuple(children))

    def range_row(self, meta, children):
        key, cell, priority = children
        return ast.RangeRow(key=key, cell=cell, priority=int(priority) if priority is not None else None,
                            span=self.sp(meta))

    def interval(self, meta, children):
        lb, low, high, rb = children
        for bound in (low, high):
            if isinstance(bound, ast.Literal) and bound.kind in ("date", "text", "bool"):
                self.diagnostics.append(dg.make("P0101", bound.span, found=f"`{bound.span.text}`",
                                                expected=dg.i18n.both("expected.number")))
        return ast.Interval(
            low=None if low is None else low.value, low_closed=lb,
            high=None if high is None else high.value, high_closed=rb,
            low_kind="inf" if low is None else low.kind, high_kind="inf" if high is None else high.kind,
            span=self.sp(meta))

    def closed(self, meta, children):
        return True

    def open(self, meta, children):
        return False

    def inf(self, meta, children):
        return None

    def matrix_rows(self, meta, children):
        columns = tuple(self.name(c) for c in children if isinstance(c, Token))
        rows = tuple(c for c in children if isinstance(c, ast.MatrixRow))
        return ("matrix", columns, rows)

    def matrix_row(self, meta, children):
        key, *cells = children
        return ast.MatrixRow(key=self.name(key), cells=tuple(cells), span=self.sp(meta))

    not_open = _node(ast.NotOpen)
    not_stated = _node(ast.NotStated)

    def enum_cell(self, meta, children):
        return ast.EnumCell(value=self.name(children[0]), span=self.sp(meta))

    def set_cell(self, meta, children):
        return ast.SetCell(items=tuple(self.name(c) for c in children if c is not None), span=self.sp(meta))

    # ------------------------------------------------------------- rollouts and notes
    def rollout_decl(self, meta, children):
        name, label, key, *phases = children
        return ast.RolloutDecl(name=self.name(name), label=label, key=key, phases=tuple(phases), span=self.sp(meta))

    def phase(self, meta, children):
        name, label, start, end, ramp_from, ramp_to = children
        return ast.Phase(name=self.name(name), label=label, start=self.date(start), end=self.date(end),
                         ramp_from=self.percent(ramp_from), ramp_to=self.percent(ramp_to), span=self.sp(meta))

    def assume_decl(self, meta, children):
        name, text, *rest = children
        return ast.AssumeDecl(name=self.name(name), text=text,
                              about=tuple(c for c in rest if isinstance(c, ast.Name)),
                              sources=tuple(c for c in rest if isinstance(c, ast.SourceRef)), span=self.sp(meta))

    def note_decl(self, meta, children):
        name, text, *rest = children
        return ast.NoteDecl(name=self.name(name), text=text,
                            about=tuple(self.name(t) for t in rest if isinstance(t, Token)),
                            sources=tuple(c for c in rest if isinstance(c, ast.SourceRef)), span=self.sp(meta))

    # ------------------------------------------------------------- properties
    def property_decl(self, meta, children):
        name, label, *clauses = children
        return ast.PropertyDecl(name=self.name(name), label=label, effective=self.once("property", clauses, "effective"),
                                premise=self.once("property", clauses, "when"),
                                claim=self.once("property", clauses, "expect"), span=self.sp(meta))

    expect = _clause("expect")

    def overlap_decl(self, meta, children):
        name, label, first, second, *clauses = children
        kind, target, because = self.once("overlap", clauses, "resolution", (None, None, None))
        return ast.OverlapDecl(name=self.name(name), label=label, policies=(first, second),
                               effective=self.once("overlap", clauses, "effective"),
                               premise=self.once("overlap", clauses, "when"), agree=self.once("overlap", clauses, "agree"),
                               prevails=target, known=kind == "known", because=because, span=self.sp(meta))

    agree = _clause("agree")

    def prevails(self, meta, children):
        return _Clause("resolution", ("prevails", children[0], self.name(children[1])), self.sp(meta), "prevails")

    def known_conflict(self, meta, children):
        return _Clause("resolution", ("known", None, self.name(children[0])), self.sp(meta), "known conflict")

    outcome_ref = _node(ast.OutcomeRef)
    outcome_of = _node(ast.OutcomeRef, "policy")

    def outcome_lit(self, meta, children):
        return ast.OutcomeLit(value=str(children[0]), span=self.sp(meta))

    # ------------------------------------------------------------- expressions
    def or_(self, meta, children):
        return ast.Binary(op="or", left=children[0], right=children[1], span=self.sp(meta), op_span=self.sp(meta))

    def and_(self, meta, children):
        return ast.Binary(op="and", left=children[0], right=children[1], span=self.sp(meta), op_span=self.sp(meta))

    not_ = _node(ast.Unary, "operand", op="not")
    neg = _node(ast.Unary, "operand", op="neg")

    def compare(self, meta, children):
        left, op, right = children
        return ast.Binary(op=str(op), left=left, right=right, span=self.sp(meta), op_span=self.tsp(op))

    arith = compare

    member = _node(ast.Member, "item", "collection", negated=False)
    not_member = _node(ast.Member, "item", "collection", negated=True)

    def ref(self, meta, children):
        return ast.Ref(path=children[0].value, span=self.sp(meta))

    def call(self, meta, children):
        func, *args = children
        args = tuple(a for a in args if a is not None)
        return ast.Call(func=self.name(func), args=args, span=self.sp(meta))

    def aggregate(self, meta, children):
        func, body, var, iterable = children
        return ast.Aggregate(func=str(func), body=body, var=self.name(var), iterable=iterable, span=self.sp(meta))

    def covered(self, meta, children):
        return ast.Covered(rollout=self.name(children[0]), span=self.sp(meta))

    def set_lit(self, meta, children):
        return ast.SetLit(items=tuple(c for c in children if c is not None), span=self.sp(meta))

    def duration(self, meta, children):
        amount, unit = children
        words = str(unit).split()
        kind = "working_days" if words[0] == "working" else ("months" if words[0].startswith("month") else "days")
        return ast.DurationLit(amount=int(amount), unit=kind, span=self.sp(meta))

    def int_lit(self, meta, children):
        return ast.Literal(kind="int", value=int(self.digits(children[0])), span=self.sp(meta))

    def dec_lit(self, meta, children):
        return ast.Literal(kind="decimal", value=Decimal(self.digits(children[0])), span=self.sp(meta))

    def money_lit(self, meta, children):
        return ast.Literal(kind="money", value=Decimal(self.digits(children[0], "¥")), span=self.sp(meta))

    def percent_lit(self, meta, children):
        return ast.Literal(kind="percent", value=self.percent(children[0]), span=self.sp(meta))

    def percent(self, tok: Token) -> Decimal:
        return Decimal(self.digits(tok, "", "%") + "E-2")  # exact: no context rounding

    def digits(self, tok: Token, prefix: str = "", suffix: str = "") -> str:
        """The digits of a number literal; more than MAX_LITERAL_DIGITS is P0117 (read as 0)."""
        text = str(tok)[len(prefix):len(tok) - len(suffix)]
        if len(text.replace(".", "").lstrip("0")) > MAX_LITERAL_DIGITS:
            self.diagnostics.append(dg.make("P0117", self.tsp(tok), limit=MAX_LITERAL_DIGITS))
            return "0"
        return text

    def date_lit(self, meta, children):
        return ast.Literal(kind="date", value=self.date(children[0]), span=self.sp(meta))

    def text_lit(self, meta, children):
        return ast.Literal(kind="text", value=self.string(children[0]), span=self.sp(meta))

    true_lit = _node(ast.Literal, kind="bool", value=True)
    false_lit = _node(ast.Literal, kind="bool", value=False)
    today = _node(ast.Today)


@attrs.define
class _Clause:
    """A clause while its declaration is built: `kind` says which (at most one of each kind), `word` how the
    diagnostic names it (the keyword, by default the kind)."""

    kind: str
    value: object
    span: Span
    word: str = ""

    def __attrs_post_init__(self) -> None:
        self.word = self.word or self.kind
