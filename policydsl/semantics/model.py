"""The checked, typed model that later stages (compile, docs, tools) read; it never holds raw text."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs

from policydsl.errors import InternalError

from policydsl.semantics.types import Type
from policydsl.source import Span
from policydsl.syntax import ast

Key = tuple[str, ...]
"""What a name names: ("policy", id), ("enum", name), ("value", enum, value), ("unit", name), ("entity", name),
("fact", path), ("input" | "define" | "rule" | "table" | "rollout" | "property" | "assume" | "code", policy, name),
("overlap", name)."""


@attrs.frozen(kw_only=True)
class Input:
    path: str
    type: Type
    label: ast.Text
    unit: ast.UnitDecl | None
    decl: ast.InputDecl = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Define:
    path: str
    type: Type
    label: ast.Text
    unit: ast.UnitDecl | None
    decl: ast.DefineDecl = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class Table:
    name: str
    kind: str  # range | enum | matrix
    param_types: tuple[Type, ...]
    result: Type
    decl: ast.TableDecl = attrs.field(eq=False, repr=False)

    def enum_names(self) -> list[tuple[str | None, ast.Name]]:
        """Every enum value the table names (row keys and their cells, matrix rows and their cells, columns),
        in that order, each with the enum its place is typed by (None where no enum types it)."""
        key, column = (self.param_types[i].enum if len(self.param_types) > i else None for i in (0, 1))
        result = self.result.enum if self.result.kind in ("enum", "set") else None
        rows = [*((r.key, (r.cell,)) for r in self.decl.rows), *((r.key, r.cells) for r in self.decl.matrix)]
        out: list[tuple[str | None, ast.Name]] = []
        for row_key, cells in rows:
            if isinstance(row_key, ast.Name):
                out.append((key, row_key))
            for cell in cells:
                if isinstance(cell, ast.EnumCell):
                    out.append((result, cell.value))
                elif isinstance(cell, ast.SetCell):
                    out += [(result, item) for item in cell.items]
        return out + [(column, name) for name in self.decl.columns]


MAX_CODE_NODES = 20_000
"""The syntax nodes a policy's rules, values, properties and `applies` may hold (P0124): its generated code, and the
memory and time compiling it takes, grow with them (about 60 Python syntax nodes each, in functions compiled one at
a time; the book's largest policy holds 352). A table's rows are data, not code, and do not count."""


MAX_CASES = 100
"""The cases a value may have (P0125), and the exceptions a rule may have (P0126): each nests one level in the
generated code (an if/else per case, a test per exception), which Python's own tools walk recursively (a value
of 1,000 cases checked clean, then stopped `eval` with a RecursionError). The same bound as an expression's
nesting (P0115); a table holds more cases as data."""


def code_size(applies: ast.Expr | None, rules: Iterable[ast.RuleDecl], defines: Iterable[ast.DefineDecl],
              properties: Iterable[ast.PropertyDecl]) -> int:
    """The syntax nodes of what a policy compiles to code (MAX_CODE_NODES): its `applies`, rules, values and
    properties (the checker counts a policy being built, Policy.code_size a checked one)."""
    return sum(1 for root in (applies, tuple(rules), tuple(defines), tuple(properties)) for _ in ast.walk(root))


@attrs.frozen(kw_only=True)
class Rule:
    name: str
    decl: ast.RuleDecl = attrs.field(eq=False, repr=False)
    exceptions: tuple[str, ...]  # rules that are exceptions to this one, highest priority first


@attrs.frozen(kw_only=True)
class Policy:
    id: str
    file: str
    decl: ast.PolicyDecl = attrs.field(eq=False, repr=False)
    inputs: dict[str, Input]
    defines: dict[str, Define]
    rules: tuple[Rule, ...]
    tables: dict[str, Table]
    rollouts: dict[str, ast.RolloutDecl]
    assumptions: tuple[ast.AssumeDecl, ...]
    notes: tuple[ast.NoteDecl, ...]
    properties: tuple[ast.PropertyDecl, ...] = ()

    @property
    def title(self) -> ast.Text:
        if self.decl.title is None:  # the checker refuses a policy without a title
            raise InternalError(f"policy {self.id} has no title")
        return self.decl.title

    @property
    def effective(self) -> tuple[dt.date | None, dt.date | None]:
        eff = self.decl.effective
        return (eff.start, eff.end) if eff else (None, None)

    @property
    def code_size(self) -> int:
        """The syntax nodes of what the policy compiles to code (see MAX_CODE_NODES)."""
        return code_size(self.decl.applies, (r.decl for r in self.rules), (d.decl for d in self.defines.values()),
                         self.properties)

    def rule(self, name: str) -> Rule:
        return next(r for r in self.rules if r.name == name)


BOOK_ID = "book"  # the id book properties are checked, compiled and encoded under (no policy has it)
BOOK_TITLE = ("整本规则书", "The whole book")


def book_decl(first: ast.PropertyDecl | ast.OverlapDecl) -> ast.PolicyDecl:
    """The book's own declarations (properties, overlaps) as the header of a policy, spanning the first."""
    title = ast.Text(zh=BOOK_TITLE[0], en=BOOK_TITLE[1], span=first.name.span)
    return ast.PolicyDecl(id=ast.Name(value=BOOK_ID, span=first.name.span), title=title, implements=(), sources=(),
                          effective=None, span=first.span)


@attrs.frozen(kw_only=True)
class BookProperty:
    """A property outside any policy: a claim about several policies' decisions on one record and day
    (`outcome(POLICY)`, `fires(POLICY, RULE)`), over the book's vocabulary of facts."""

    decl: ast.PropertyDecl = attrs.field(eq=False, repr=False)
    file: str
    policies: tuple[str, ...]  # the policies it names, in order of first mention

    @property
    def name(self) -> str:
        return self.decl.name.value


@attrs.frozen(kw_only=True)
class BookOverlap:
    """Two policies answering one question (an `overlap` in a shared file), checked as the book
    property `decl`: on the records and days where both are in force and apply and its `when` holds,
    its claim (`agree`, or equal outcomes) is what agreement means. `check --deep` searches for a
    record where it fails: a conflict between the two policies' documents."""

    decl: ast.PropertyDecl = attrs.field(eq=False, repr=False)
    overlap: ast.OverlapDecl = attrs.field(eq=False, repr=False)
    file: str
    policies: tuple[str, str]
    explained_by: tuple[tuple[str, ast.AssumeDecl], ...] = attrs.field(eq=False, repr=False, default=())
    implicit: bool = False  # not declared: two values of the two policies with one label (`check --deep` only)

    @property
    def name(self) -> str:
        return self.overlap.name.value

    @property
    def prevails(self) -> str | None:
        return self.overlap.prevails.value if self.overlap.prevails is not None else None

    @property
    def resolution(self) -> str:
        """`prevails` (one document wins), `known` (a documented known conflict) or `none`."""
        return "prevails" if self.prevails else "known" if self.overlap.known else "none"


@attrs.frozen
class Resolved:
    """What a checked reference names, its declaration (None for `var`, `consequence`) and type. `kind`, `target`:
    `input`/`define` (path), `book_define` (`POLICY path`: a value a book property reads), `enum` (`ENUM.value`),
    `var` (an aggregate's variable), `rule`, `policy`, `consequence` (`fires`/`consequence` arguments: no type)."""

    kind: str
    target: str
    decl: Input | Define | ast.EnumValue | ast.RuleDecl | ast.PolicyDecl | None = attrs.field(eq=False, repr=False)
    type: Type | None


@attrs.frozen
class Occurrence:
    """A name as written in the book (a declaration's own name when `is_def`) and what the checker resolved it to."""

    span: Span
    key: Key
    is_def: bool = False


WORD_KINDS = ("fact", "input", "define", "table", "rollout", "rule", "property", "policy", "enum", "unit", "value")
"""What a bare word may name, first kinds first (`Model.resolve_word`)."""


@attrs.frozen(kw_only=True)
class Model:
    """The checked book. The checker resolved each reference and typed each expression it accepted:
    `resolve` and `type_of` answer for those (an InternalError for any other node). `names` is every name it
    resolved, a book with errors included: what the language server reads."""

    enums: dict[str, ast.EnumDecl]
    units: dict[str, ast.UnitDecl]
    policies: dict[str, Policy]
    _types: dict[int, Type] = attrs.field(eq=False, repr=False)  # by id(): nodes compare by value
    _refs: dict[int, Resolved] = attrs.field(eq=False, repr=False)

    entities: dict[str, ast.EntityDecl] = attrs.field(factory=dict)
    facts: dict[str, Input] = attrs.field(factory=dict)  # the book's vocabulary, in declaration order
    book_properties: tuple[BookProperty, ...] = ()  # properties outside any policy, in file order
    overlaps: tuple[BookOverlap, ...] = ()  # the overlaps between two policies, in file order
    book_inputs: dict[str, Input] = attrs.field(factory=dict)  # the facts the book properties read
    names: tuple[Occurrence, ...] = ()  # every name the checker resolved, by file and position
    definitions: dict[Key, Span] = attrs.field(factory=dict)  # each key's (first) declaration

    def book_overlaps(self, implicit: bool = False) -> tuple[BookOverlap, ...]:
        """The declared overlaps; with `implicit`, also each pair of values that share a label (N such values
        are N(N-1)/2 pairs: questions for `check --deep` only, never compiled for deciding)."""
        return self.overlaps if implicit else tuple(o for o in self.overlaps if not o.implicit)

    def book_policy(self, implicit: bool = False) -> Policy:
        """The book properties, then the overlaps' claims (book_overlaps), as a policy with no rules (id `book`):
        what compiles and encodes them."""
        first: BookProperty | BookOverlap = self.book_properties[0] if self.book_properties else self.overlaps[0]
        return Policy(id=BOOK_ID, file=first.file, decl=book_decl(first.decl),
                      inputs=dict(self.book_inputs), defines={}, rules=(), tables={}, rollouts={}, assumptions=(),
                      notes=(), properties=(*(p.decl for p in self.book_properties),
                                            *(o.decl for o in self.book_overlaps(implicit))))

    def readers(self, path: str) -> list[Policy]:
        """The policies that read the fact `path`."""
        return [p for p in self.policies.values() if path in p.inputs]

    def type_of(self, expr: ast.Expr) -> Type:
        found = self._types.get(id(expr))
        if found is None:
            raise InternalError(f"{type(expr).__name__} at {expr.span} has no type: the checker did not accept it")
        return found

    def resolve(self, ref: ast.Ref) -> Resolved:
        found = self._refs.get(id(ref))
        if found is None:
            raise InternalError(f"`{ref.path}` at {ref.span} is not resolved: the checker did not accept it")
        return found

    def occurrence_at(self, file: str, offset: int) -> Occurrence | None:
        """The innermost name written at `offset` of `file`."""
        hits = [o for o in self.names if o.span.file == file and o.span.start <= offset <= o.span.end]
        return min(hits, key=lambda o: o.span.end - o.span.start) if hits else None

    def uses(self, key: Key) -> list[Occurrence]:
        """Every occurrence of `key`, its declaration included."""
        return [o for o in self.names if o.key == key]

    def policy_in(self, file: str) -> str | None:
        return next((p.id for p in self.policies.values() if p.file == file), None)

    def resolve_word(self, word: str, policy: str | None) -> Key | None:
        """What a bare word names as seen from `policy` (the book's names, that policy's own), without a parse
        of the text it is in (an editor's broken buffer): facts first, then the kinds of WORD_KINDS in order."""
        found = [key for key in self.definitions if key[-1] == word and key[0] in WORD_KINDS
                 and (len(key) == 2 or key[0] == "value" or key[1] == policy)]
        return min(found, key=lambda k: WORD_KINDS.index(k[0]), default=None)
