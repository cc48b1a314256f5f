"""The abstract syntax tree: frozen, keyword-only attrs nodes, each with a span kept out of equality."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterator, TypeVar, Union, dataclass_transform

T = TypeVar("T")

import attrs

from policydsl.errors import InternalError
from policydsl.source import Span


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(attrs.field,))
def node(cls: type[T]) -> type[T]:
    """An AST node: a frozen attrs class with keyword-only fields, visible to type checkers as such."""
    return attrs.frozen(kw_only=True)(cls)


def span_field() -> Any:
    return attrs.field(eq=False, repr=False, hash=False)


@node
class Placeholder:
    """`{account.fans}` in a string: the path of the value it shows, spanning the braces."""

    path: str
    span: Span = span_field()


@node
class String:
    """One string literal of a text as the builder read it from its token, spanning the quotes: each
    literal piece (escapes decoded) with the placeholder after it (None after the last piece)."""

    parts: tuple[tuple[str, Placeholder | None], ...]
    span: Span = span_field()
    # `{days_between(a, b)}`: braces around an expression rather than a name. They stay literal text in
    # `parts` (nothing fills them in), and the checker reports each one (P0404).
    expressions: tuple[Placeholder, ...] = attrs.field(default=(), eq=False, repr=False)


@node
class Text:
    zh: str
    en: str
    span: Span = span_field()
    strings: tuple[String, String] | None = attrs.field(default=None, eq=False, repr=False)  # None: not parsed

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def string(self, lang: str) -> String:
        if self.strings is None:
            raise InternalError(f"the text {self.zh!r} was not parsed: it has no strings")
        return self.strings[lang != "zh"]

    def placeholders(self, lang: str | None = None) -> list[Placeholder]:
        """The placeholders of the string in `lang`, or of both (Chinese first)."""
        return [p for code in ((lang,) if lang else ("zh", "en")) for _, p in self.string(code).parts if p is not None]

    def expressions(self) -> list[Placeholder]:
        """The braces of both strings (Chinese first) that hold an expression, not a name (P0404)."""
        return [p for code in ("zh", "en") for p in self.string(code).expressions]

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@node
class Name:
    """An identifier (possibly dotted) with its own span."""

    value: str
    span: Span = span_field()


@node
class SourceRef:
    document: str
    quote: str
    span: Span = span_field()
    quote_span: Span = span_field()


@node
class Effective:
    start: dt.date | None
    end: dt.date | None
    span: Span = span_field()


# ------------------------------------------------------------------ expressions
@node
class Literal:
    kind: str  # int | decimal | money | percent | date | text | bool
    value: object
    span: Span = span_field()


@node
class DurationLit:
    amount: int
    unit: str  # days | months | working_days
    span: Span = span_field()


@node
class Today:
    span: Span = span_field()


@node
class Ref:
    path: str
    span: Span = span_field()


@node
class Call:
    func: Name
    args: tuple["Expr", ...]
    span: Span = span_field()


@node
class Aggregate:
    func: str  # max | min | sum | any | all
    body: "Expr"
    var: Name
    iterable: "Expr"
    span: Span = span_field()


@node
class Covered:
    rollout: Name
    span: Span = span_field()


@node
class SetLit:
    items: tuple["Expr", ...]
    span: Span = span_field()


@node
class Binary:
    op: str  # and or == != < <= > >= + - * /
    left: "Expr"
    right: "Expr"
    span: Span = span_field()
    op_span: Span = span_field()


@node
class Unary:
    op: str  # not | neg
    operand: "Expr"
    span: Span = span_field()


@node
class Member:
    item: "Expr"
    collection: "Expr"
    negated: bool
    span: Span = span_field()


@node
class NotOpen:
    span: Span = span_field()


@node
class NotStated:
    """A table cell the sources leave blank: evaluating it is an error naming the cell."""

    span: Span = span_field()


@node
class EnumCell:
    value: "Name"
    span: Span = span_field()


@node
class SetCell:
    items: tuple["Name", ...]
    span: Span = span_field()


Cell = Union["Literal", NotOpen, NotStated, EnumCell, SetCell]


@node
class OutcomeRef:
    """`outcome` inside a property: the decision's outcome (allow or deny); `outcome(POLICY)` in a
    book property (one outside any policy): that policy's outcome."""

    span: Span = span_field()
    policy: "Name | None" = None


@node
class OutcomeLit:
    """`allow` / `deny` compared with `outcome` inside a property."""

    value: str
    span: Span = span_field()


Expr = Union[Literal, DurationLit, Today, Ref, Call, Aggregate, Covered, SetLit, Binary, Unary, Member, OutcomeRef,
             OutcomeLit]


# ------------------------------------------------------------------ declarations
@node
class TypeRef:
    name: str
    is_set: bool
    span: Span = span_field()


@node
class PolicyDecl:
    id: Name
    title: Text | None
    implements: tuple[Name, ...]
    sources: tuple[SourceRef, ...]
    effective: Effective | None
    span: Span = span_field()
    applies: Expr | None = None  # `applies when …`: the records the policy is about (None: every record)


@node
class EnumValue:
    name: Name
    label: Text
    span: Span = span_field()


@node
class EnumDecl:
    name: Name
    label: Text
    values: tuple[EnumValue, ...]
    span: Span = span_field()


@node
class UnitDecl:
    name: Name
    label: Text
    span: Span = span_field()


@node
class InputDecl:
    """A fact: an `input` of one policy, or a `fact` of an entity in the book's vocabulary (then
    `entity` is the entity's name and `path` the whole id, `account.fans`, spanning `fans`)."""

    path: Name
    type: TypeRef
    label: Text
    unit: Name | None
    span: Span = span_field()
    entity: str | None = None


@node
class EntityDecl:
    """One entity of the book's vocabulary and the facts it has."""

    name: Name
    label: Text
    facts: tuple[InputDecl, ...]
    span: Span = span_field()


@node
class DefineCase:
    expr: Expr
    when: Expr | None
    start: dt.date | None
    end: dt.date | None
    span: Span = span_field()


@node
class DefineDecl:
    path: Name
    type: TypeRef
    label: Text
    unit: Name | None
    cases: tuple[DefineCase, ...]
    sources: tuple[SourceRef, ...]
    span: Span = span_field()


@node
class RuleBody:
    kind: str  # require | fire
    condition: Expr | None
    outcome: str  # allow | deny | warn
    code: Name
    message: Text
    span: Span = span_field()


@node
class Consequence:
    """What a fired rule does beyond its outcome: a kind (demotion, restriction, ban, deduction,
    suspension), an optional period (`for` a duration, `until` a date, or `permanent`), an optional
    amount, and zh/en text (placeholders as in messages)."""

    kind: Name
    period: str | None  # for | until | permanent
    end: Expr | None  # the duration (`for`) or the date (`until`)
    amount: Expr | None
    text: Text
    span: Span = span_field()


@node
class RuleDecl:
    name: Name
    label: Text
    effective: Effective | None
    exception_to: tuple[Name, ...]
    priority: int
    supersedes: Name | None
    scope: Expr | None
    body: RuleBody
    sources: tuple[SourceRef, ...]
    implements: tuple[Name, ...] = ()
    span: Span = span_field()
    consequences: tuple[Consequence, ...] = ()


@node
class Param:
    name: Name
    type: TypeRef
    span: Span = span_field()


@node
class Interval:
    low: Decimal | None  # None = unbounded
    low_closed: bool
    high: Decimal | None
    high_closed: bool
    low_kind: str  # literal kind of the bounds (int, money, percent, decimal)
    high_kind: str
    span: Span = span_field()


@node
class RangeRow:
    key: Interval | Name
    cell: Cell
    priority: int | None
    span: Span = span_field()


@node
class MatrixRow:
    key: Name
    cells: tuple[Cell, ...]
    span: Span = span_field()


@node
class TableDecl:
    name: Name
    params: tuple[Param, ...]
    result: TypeRef
    label: Text
    hit: str  # unique | first | priority | collect
    aggregator: str | None
    rows: tuple[RangeRow, ...]
    columns: tuple[Name, ...]
    matrix: tuple[MatrixRow, ...]
    span: Span = span_field()


@node
class Phase:
    name: Name
    label: Text
    start: dt.date
    end: dt.date
    ramp_from: Decimal
    ramp_to: Decimal
    span: Span = span_field()


@node
class RolloutDecl:
    name: Name
    label: Text
    key: Name
    phases: tuple[Phase, ...]
    span: Span = span_field()


@node
class AssumeDecl:
    name: Name
    text: Text
    about: tuple[Name, ...]
    sources: tuple[SourceRef, ...]
    span: Span = span_field()


@node
class NoteDecl:
    name: Name
    text: Text
    about: tuple[Name, ...]
    sources: tuple[SourceRef, ...]
    span: Span = span_field()


@node
class PropertyDecl:
    """A claim over all facts and dates of the policy's period: `when` PREMISE `expect` CLAIM."""

    name: Name
    label: Text
    effective: Effective | None
    premise: Expr | None
    claim: Expr
    span: Span = span_field()


@node
class OverlapDecl:
    """Two policies answering one question (in a shared file): `between A and B`, on the records and
    days where both are in force and apply and `when` holds, `agree` should hold (absent: the two
    outcomes are equal). `prevails` names the policy whose document wins where they disagree;
    `known` keeps the disagreement as a documented known conflict. Either names (`because`) the `assume`
    of one of the two policies that says why."""

    name: Name
    label: Text
    policies: tuple[Name, Name]
    effective: Effective | None
    premise: Expr | None
    agree: Expr | None
    prevails: Name | None = None
    known: bool = False
    because: Name | None = None
    span: Span = span_field()


Decl = Union[PolicyDecl, EnumDecl, UnitDecl, EntityDecl, InputDecl, DefineDecl, RuleDecl, TableDecl, RolloutDecl,
             AssumeDecl, NoteDecl, PropertyDecl, OverlapDecl]


@node
class Module:
    """One parsed .policy file."""

    path: str
    items: tuple[Decl, ...]
    span: Span = span_field()


def walk(root: Any, depth: bool = False) -> Iterator[Any]:
    """Every node under `root` (itself included; None and a tuple of nodes are roots too), depth first in
    field order, or with `depth` each node with its depth (`root` is 1). Only fields that take part in
    equality hold children: spans and the strings a text was read from are not walked."""
    stack = [(root, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, tuple):
            stack.extend((item, level) for item in reversed(current))
        elif attrs.has(type(current)):
            yield (current, level) if depth else current
            stack.extend((getattr(current, f.name), level + 1) for f in reversed(attrs.fields(type(current))) if f.eq)
