"""Parsed modules in, typed model and diagnostics out: names, types, text, tables, time and provenance."""
from __future__ import annotations

import contextlib
import decimal
import functools
import graphlib
import os
import re
from typing import Any, Iterable

import attrs

from policydsl import diagnostics as dg
from policydsl.semantics import analyses, types as ty
from policydsl.semantics.model import (MAX_CASES, MAX_CODE_NODES, BookOverlap, BookProperty, Define, Input, Key,
                                       Model, Occurrence, Policy, Resolved, Rule, Table, book_decl, code_size)
from policydsl.errors import InternalError, PolicyDslError
from policydsl.semantics.names import suggest
from policydsl.runtime import exact, program as rp
from policydsl.runtime.exact import WIDE
from policydsl.runtime.values import UNIT_KINDS
from policydsl.semantics.types import Type
from policydsl.source import Span
from policydsl.syntax import ast

INVENTORY_ID = re.compile(r"^R\d{3}\.\d+$")
PLACEHOLDER_PATH = re.compile(r"\w+(?:\.\w+)*")
BOOL_WORDS = {**dict.fromkeys(("是", "真", "对", "yes", "Yes", "YES", "True", "TRUE"), "true"),
              **dict.fromkeys(("否", "假", "错", "no", "No", "NO", "False", "FALSE"), "false")}
"""Words an author may write for a bool where the language has `true` / `false` (a hint, never a value)."""
QUOTED_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
CONSEQUENCE_KINDS = ("demotion", "restriction", "suspension", "ban", "deduction")
"""What a fired rule may do beyond its outcome: 降权 (traffic demotion), 限制 (a right restricted), 暂停
(suspended for a time), 封禁 (banned), 扣除 (an amount deducted)."""
NAMED_KINDS = {ast.RuleDecl: "rule", ast.RolloutDecl: "rollout", ast.PropertyDecl: "property", ast.AssumeDecl: "assume"}
"""The declarations of a policy that its name alone declares (nothing about them can be refused)."""
BUILTINS: dict[str, tuple[tuple[Type, ...], Type]] = {
    "days_between": ((ty.DATE, ty.DATE), ty.COUNT),
    "next_half_month": ((ty.DATE,), ty.DATE),
    "month_end": ((ty.DATE,), ty.DATE),
}


@attrs.define
class CheckResult:
    model: Model
    diagnostics: list[dg.Diagnostic]


@attrs.define
class _PolicyBuild:
    decl: ast.PolicyDecl
    file: str
    items: list = attrs.field(factory=list)
    inputs: dict[str, Input] = attrs.field(factory=dict)
    defines: dict[str, Define] = attrs.field(factory=dict)
    tables: dict[str, Table] = attrs.field(factory=dict)
    rules: dict[str, ast.RuleDecl] = attrs.field(factory=dict)
    rollouts: dict[str, ast.RolloutDecl] = attrs.field(factory=dict)
    properties: dict[str, ast.PropertyDecl] = attrs.field(factory=dict)
    ids: dict[str, Span] = attrs.field(factory=dict)


class Checker:
    def __init__(self, modules: list[ast.Module]) -> None:
        self.modules = modules
        self.bag = dg.DiagnosticBag()
        self.enums: dict[str, ast.EnumDecl] = {}
        self.units: dict[str, ast.UnitDecl] = {}
        self.types: dict[int, Type] = {}
        self.refs: dict[int, Resolved] = {}
        self._folded: dict[int, object] = {}  # the value of each operation on constants (see _fold)
        self.policies: dict[str, _PolicyBuild] = {}
        self.entities: dict[str, ast.EntityDecl] = {}
        self.facts: dict[str, Input] = {}  # the book's vocabulary: one declaration per fact, for every policy
        self.in_property = False  # `outcome`, `allow`/`deny` and `fires(rule)` are words of properties only
        self.in_book = False  # checking a book property: `outcome(POLICY)` and `fires(POLICY, RULE)`
        self.book: _PolicyBuild | None = None  # the book properties (outside any policy), as a policy with no rules
        self.book_policies: dict[str, list[str]] = {}
        self.book_files: dict[str, str] = {}
        self._named: list[str] = []  # the policies the book property being checked names, in order
        self.overlaps: dict[str, ast.OverlapDecl] = {}  # the book's overlaps, by name, in file order
        self._overlap_claims: dict[str, ast.PropertyDecl] = {}  # each overlap as the book property it is checked as
        self._overlap_pair: tuple[str, ...] = ()  # the two policies of the overlap being checked
        self.implicit: dict[str, ast.OverlapDecl] = {}  # two policies' values sharing a label (see _same_label_values)
        self.names: list[Occurrence] = []  # every name resolved, declarations included: the model's `names`
        self._made_up = False  # checking an implicit overlap, whose expressions no file holds: no names noted

    def err(self, code: str, span: Span, **kw) -> None:
        self.bag.add(dg.make(code, span, **kw))

    def _did_you_mean(self, code: str, span: Span, wanted: str, candidates, **kw) -> None:
        """`code` at `span`, its hint naming the candidate closest to `wanted` (when one is close)."""
        hint = suggest(wanted, candidates)
        self.bag.add(dg.make(code, span, hint_args={"suggestion": hint} if hint else None, **kw))

    def _name(self, span: Span, key: Key | None, is_def: bool = False) -> None:
        """Note what the name written at `span` names (nothing for None): what the language server reads."""
        if key is not None and not self._made_up:
            self.names.append(Occurrence(span, key, is_def))

    def _local_key(self, build: _PolicyBuild, name: str) -> Key | None:
        """What `name` names in `build`: a fact it reads, one of its own inputs, values, rules, tables or rollouts."""
        pid = build.decl.id.value
        found = build.inputs.get(name)
        if found is not None:
            return ("fact", name) if found is self.facts.get(name) else ("input", pid, name)
        own = (("define", build.defines), ("rule", build.rules), ("table", build.tables), ("rollout", build.rollouts))
        return next(((kind, pid, name) for kind, names in own if name in names), None)

    def _duplicate(self, name: ast.Name, first: Span) -> None:
        """P0202: `name` is declared again, first at `first`."""
        self.err("P0202", name.span, name=name.value, related=[(first, "P0202.related")])

    # ================================================================ driver
    def run(self) -> CheckResult:
        self._collect()
        self._declare_vocabulary()
        for build in self.policies.values():
            self._declare(build)
        self._check_book_facts()
        self._check_enum_ids()
        for build in self.policies.values():
            self._check_policy(build)
        if self.book is not None:
            for prop in self.book.properties.values():
                self._check_property(self.book, prop)
        for overlap in self.overlaps.values():
            self._check_overlap(overlap)
        if not any(d.severity == "error" for d in self.bag.items):
            self._same_label_values()
        model = self._model()
        for policy in model.policies.values():
            self.bag.extend(analyses.run_all(policy, model))
        return CheckResult(model=model, diagnostics=self.bag.sorted())

    def _collect(self) -> None:
        """Split modules into shared declarations (enums, units) and one policy per file."""
        for module in self.modules:
            current: _PolicyBuild | None = None
            for item in module.items:
                if isinstance(item, ast.PolicyDecl):
                    if current is not None:
                        self.err("P0207", item.id.span)
                        continue
                    if item.id.value in self.policies:
                        self._duplicate(item.id, self.policies[item.id.value].decl.id.span)
                        continue
                    current = _PolicyBuild(decl=item, file=module.path)
                    self.policies[item.id.value] = current
                    self._name(item.id.span, ("policy", item.id.value), True)
                elif isinstance(item, ast.EnumDecl):
                    self._shared(self.enums, item)
                elif isinstance(item, ast.UnitDecl):
                    self._shared(self.units, item)
                elif isinstance(item, ast.EntityDecl):
                    self._shared(self.entities, item)
                elif current is None and isinstance(item, ast.PropertyDecl):  # about the whole book: several policies
                    if self._claim(book := self._book_build(module.path, item), item.name):
                        book.properties[item.name.value] = item
                        self.book_files[item.name.value] = module.path
                elif isinstance(item, ast.OverlapDecl):
                    if current is not None:  # two policies' question belongs to the book, not to one of them
                        self.err("P0805", item.name.span, name=item.name.value)
                    elif self._claim(self._book_build(module.path, item), item.name):
                        self.overlaps[item.name.value] = item
                        self.book_files[item.name.value] = module.path
                elif current is None:
                    kind = type(item).__name__.removesuffix("Decl").lower()
                    self.err("P0205", item.span, kind=kind)
                else:
                    current.items.append(item)

    def _book_build(self, path: str, item: ast.PropertyDecl | ast.OverlapDecl) -> _PolicyBuild:
        """The book's own declarations (properties and overlaps), checked as a policy with no rules."""
        if self.book is None:
            self.book = _PolicyBuild(decl=book_decl(item), file=path)
        return self.book

    def _check_overlap(self, overlap: ast.OverlapDecl) -> None:
        """Two known, different policies; `when` and `agree` speak of those two only (their outcomes,
        rules and values, and facts); `prevails` names one of them; the `because` of a resolution names
        an `assume` of one of the two policies."""
        if self.book is None:  # _collect creates the book's build with its first overlap
            raise InternalError("an overlap without the book's build")
        first, second = overlap.policies
        self._named = []
        known = [self._named_policy(n) for n in overlap.policies]
        if first.value == second.value:
            self.err("P0806", second.span, name=overlap.name.value, policy=second.value)
        if overlap.prevails is not None and overlap.prevails.value not in (first.value, second.value):
            self.err("P0807", overlap.prevails.span, name=overlap.name.value, policy=overlap.prevails.value,
                     first=first.value, second=second.value)
        because = overlap.because
        if because is not None:
            owners = self._assume_owners.get(because.value, [])
            pair = [pid for pid in owners if pid in (first.value, second.value)]
            for pid in pair:  # the assume of one of the two policies
                self._name(because.span, ("assume", pid, because.value))
            if owners and not pair:
                self.err("P0809", because.span, name=overlap.name.value, assume=because.value, policy=owners[0],
                         first=first.value, second=second.value)
            elif not owners:
                assumes = [(a.name.value, (a.text.zh[:20], a.text.en[:40])) for pid in (first.value, second.value)
                           if pid in self.policies for a in self.policies[pid].items if isinstance(a, ast.AssumeDecl)]
                self._did_you_mean("P0808", because.span, because.value, assumes, name=overlap.name.value,
                                   assume=because.value, first=first.value, second=second.value)
        if not all(known) or first.value == second.value:
            return
        self._name(overlap.name.span, ("overlap", overlap.name.value), True)
        if overlap.prevails is not None and overlap.prevails.value in (first.value, second.value):
            self._name(overlap.prevails.span, ("policy", overlap.prevails.value))
        claim = overlap.agree
        if claim is None:  # without `agree`: the two outcomes are equal
            claim = ast.Binary(op="==", left=ast.OutcomeRef(span=first.span, policy=first),
                               right=ast.OutcomeRef(span=second.span, policy=second), span=overlap.name.span,
                               op_span=overlap.name.span)
        prop = ast.PropertyDecl(name=overlap.name, label=overlap.label, effective=overlap.effective,
                                premise=overlap.premise, claim=claim, span=overlap.span)
        self._overlap_claims[overlap.name.value] = prop
        self._check_pair_property(prop, (first.value, second.value))
        others = [p for p in self.book_policies.get(overlap.name.value, []) if p not in (first.value, second.value)]
        if others:
            self.err("P0810", overlap.name.span, name=overlap.name.value, policies=", ".join(others),
                     first=first.value, second=second.value)
        # whatever `when` and `agree` mention, the overlap is between its two policies
        self.book_policies[overlap.name.value] = [first.value, second.value]

    def _shared(self, table: dict, item) -> None:
        name = item.name.value
        if name in table or name in ty.BUILTIN_TYPES:
            related = [(table[name].name.span, "P0202.related")] if name in table else []
            self.bag.add(dg.make("P0202", item.name.span, name=name, related=related))
            return
        table[name] = item
        self._name(item.name.span, ({ast.EnumDecl: "enum", ast.UnitDecl: "unit"}.get(type(item), "entity"), name), True)
        self._check_text(item.label)
        if isinstance(item, ast.EnumDecl):  # (an entity's facts are declared once every enum and unit is known)
            seen: dict[str, Span] = {}
            for value in item.values:
                if value.name.value in seen:
                    self._duplicate(value.name, seen[value.name.value])
                seen[value.name.value] = value.name.span
                self._name(value.name.span, ("value", name, value.name.value), True)
                self._check_text(value.label)

    # ================================================================ declarations
    def _claim(self, build: _PolicyBuild, name: ast.Name) -> bool:
        if name.value in build.ids:
            self._duplicate(name, build.ids[name.value])
            return False
        build.ids[name.value] = name.span
        return True

    def _resolve_type(self, ref: ast.TypeRef) -> Type | None:
        if ref.name in self.enums:  # (no enum has a built-in type's name)
            if ref.span.text.endswith(ref.name):  # the enum's name, after any `set of`
                self._name(ref.span.source.span(ref.span.end - len(ref.name), ref.span.end), ("enum", ref.name))
            return ty.set_type(ref.name) if ref.is_set else ty.enum_type(ref.name)
        if ref.name in ty.BUILTIN_TYPES and not ref.is_set:
            return ty.BUILTIN_TYPES[ref.name]
        hint = suggest(ref.name, [(n, ()) for n in [*ty.BUILTIN_TYPES, *self.enums]])
        self.bag.add(dg.make("P0203", ref.span, name=ref.name, hint_args={"choices": ty.type_names()}))
        if ref.name in ("duration", "durations"):  # written where used (`+ 30 days`, `for 7 days`), never declared
            self.bag.items[-1] = attrs.evolve(self.bag.items[-1], hint=dg.i18n.both(
                "P0203.duration", choices=ty.type_names()))
        elif hint:
            self.bag.items[-1] = attrs.evolve(self.bag.items[-1], hint=dg.i18n.both("P0201.hint", suggestion=hint),
                                              suggestion=hint)
        return None

    def _resolve_unit(self, name: ast.Name | None) -> ast.UnitDecl | None:
        if name is None:
            return None
        if name.value not in self.units:
            self.err("P0204", name.span, name=name.value)
            return None
        self._name(name.span, ("unit", name.value))
        return self.units[name.value]

    # ================================================================ the book's vocabulary
    def _declare_vocabulary(self) -> None:
        """Each `fact` of each entity: one id, type, unit and label for the whole book."""
        for entity in self.entities.values():
            for fact in entity.facts:
                path = fact.path.value
                if path in self.facts:
                    self._duplicate(fact.path, self.facts[path].decl.path.span)
                    continue
                declared = self._declared(fact, Input)
                if declared is not None:
                    self.facts[path] = declared
                    self._name(fact.path.span, ("fact", path), True)

    def _declared(self, item, kind):
        """A fact (`kind` Input) or value (Define) with its type and unit resolved; None when it names no type."""
        t = self._resolve_type(item.type)
        unit = self._resolve_unit(item.unit)
        self._check_text(item.label)
        if t is None:
            return None
        return kind(path=item.path.value, label=item.label, unit=unit, decl=item,
                    type=attrs.evolve(t, unit=unit.name.value if unit else None))

    def _local_input(self, build: _PolicyBuild, item: ast.InputDecl) -> None:
        """A policy's own `input`: it may not contradict the vocabulary, nor invent a fact of one of
        its entities."""
        path = item.path.value
        shared = self.facts.get(path)
        declared = self._declared(item, Input)
        if shared is not None:
            if declared is not None and declared.type != shared.type:
                self._conflict(item, declared, shared)
            elif declared is not None:
                self.err("P0211", item.path.span, severity="warning", name=path,
                         related=[(shared.decl.path.span, "P0211.related")])
            build.inputs[path] = shared
            return
        entity = path.split(".", 1)[0]
        if "." in path and entity in self.entities:
            facts = [(p, (f.label.zh, f.label.en)) for p, f in self.facts.items() if p.startswith(entity + ".")]
            self._did_you_mean("P0212", item.path.span, path, facts, name=path, entity=entity,
                               related=[(self.entities[entity].name.span, "P0212.related")])
        if declared is not None:
            build.inputs[path] = declared
            self._name(item.path.span, ("input", build.decl.id.value, path), True)

    def _conflict(self, item: ast.InputDecl, declared: Input, other: Input) -> None:
        def shown(fact: Input) -> dict[str, str]:  # the type with its unit: a unit alone can make them differ
            unit = f" ({fact.unit.name.value})" if fact.unit is not None else ""
            return {lang: text + unit for lang, text in fact.type.display().items()}
        self.err("P0210", item.type.span, name=declared.path, found=shown(declared), expected=shown(other),
                 related=[(other.decl.type.span, "P0210.related")])

    def _fact(self, build: _PolicyBuild, name: str) -> Input | None:
        """The fact `name` as `build` sees it: its own input, or the vocabulary's (then it becomes
        one of the policy's inputs: a policy's inputs are the facts it reads)."""
        found = build.inputs.get(name)
        if found is None and name in self.facts:
            found = build.inputs[name] = self.facts[name]
        return found

    def _check_book_facts(self) -> None:
        """Across the book: one type per fact id (P0210), and no two ids sharing a label (P0213)."""
        first: dict[str, Input] = dict(self.facts)
        for build in self.policies.values():
            for path, declared in build.inputs.items():
                other = first.setdefault(path, declared)
                if other is not declared and other.decl is not declared.decl and other.type != declared.type:
                    self._conflict(declared.decl, declared, other)
        by_label: dict[tuple[str, str], Input] = {}
        for path, declared in first.items():
            for lang in ("zh", "en"):
                key = (lang, _label_key(declared.label, lang))
                other = by_label.setdefault(key, declared)
                if other.path != path:
                    self.err("P0213", declared.decl.path.span, severity="warning", name=path, other=other.path,
                             label=declared.label.get(lang), related=[(other.decl.path.span, "P0213.related")])
                    break

    def _check_enum_ids(self) -> None:
        """One convention for enum ids: lower snake_case, and value ids that do not repeat the enum's
        name as a common prefix (`listing_review_class.class_special` is `special`)."""
        for enum in self.enums.values():
            for name in (enum.name, *(v.name for v in enum.values)):
                if not SNAKE.match(name.value):
                    self.err("P0214", name.span, severity="warning", name=name.value,
                             hint_args={"suggestion": _snake(name.value)})
            values = [v.name.value for v in enum.values]
            common = os.path.commonprefix(values) if len(values) > 1 else ""
            prefix = common[:common.rfind("_") + 1]
            words = enum.name.value.split("_")
            repeats = any(len(p) >= 2 and any(w.startswith(p) for w in words) for p in prefix.split("_"))
            if prefix and repeats and all(len(v) > len(prefix) for v in values):
                self.err("P0215", enum.name.span, severity="warning", enum=enum.name.value, prefix=prefix,
                         example=values[0], short=values[0][len(prefix):])

    def _declare(self, build: _PolicyBuild) -> None:
        self._check_text(build.decl.title)
        self._check_sources(build.decl.sources)
        for item in build.items:
            key = item.path if isinstance(item, (ast.InputDecl, ast.DefineDecl)) else item.name
            if not self._claim(build, key):
                continue
            if isinstance(item, ast.InputDecl):
                self._local_input(build, item)
            elif isinstance(item, ast.DefineDecl):
                if item.path.value in self.facts:
                    self._duplicate(item.path, self.facts[item.path.value].decl.path.span)
                    continue
                define = self._declared(item, Define)
                if define is not None:
                    build.defines[item.path.value] = define
                    self._name(item.path.span, ("define", build.decl.id.value, item.path.value), True)
            elif isinstance(item, ast.TableDecl):
                self._declare_table(build, item)
            elif isinstance(item, ast.RuleDecl):
                build.rules[item.name.value] = item
            elif isinstance(item, ast.RolloutDecl):
                build.rollouts[item.name.value] = item
            elif isinstance(item, ast.PropertyDecl):
                build.properties[item.name.value] = item
            if type(item) in NAMED_KINDS:
                self._name(key.span, (NAMED_KINDS[type(item)], build.decl.id.value, key.value), True)

    def _declare_table(self, build: _PolicyBuild, table: ast.TableDecl) -> None:
        self._check_text(table.label)
        params = [t for p in table.params if (t := self._resolve_type(p.type)) is not None]
        result = self._resolve_type(table.result)
        if result is None or len(params) < len(table.params):
            return
        kinds = [p.kind for p in params]
        if table.columns or table.matrix:
            kind = "matrix" if kinds == ["enum", "enum"] else None
        elif all(isinstance(r.key, ast.Interval) for r in table.rows) and len(kinds) == 1 and kinds[0] in ty.NUMERIC:
            kind = "range"
        elif all(isinstance(r.key, ast.Name) for r in table.rows) and kinds == ["enum"]:
            kind = "enum"
        else:
            kind = None
        if kind is None:
            self.err("P0508", table.name.span, table=table.name.value)
            return
        cells = [r.cell for r in table.rows] + [c for row in table.matrix for c in row.cells]
        for cell in cells:
            self._check_cell(table, cell, result)
        if any(isinstance(c, ast.NotOpen) for c in cells):
            result = attrs.evolve(result, maybe_not_open=True)
        declared = build.tables[table.name.value] = Table(name=table.name.value, kind=kind, param_types=tuple(params),
                                                          result=result, decl=table)
        self._name(table.name.span, ("table", build.decl.id.value, table.name.value), True)
        for enum, name in declared.enum_names():
            if enum is not None and name.value in self._enum_values[enum]:
                self._name(name.span, ("value", enum, name.value))

    def _check_cell(self, table: ast.TableDecl, cell: ast.Cell, result: Type) -> None:
        """A cell fits the table's result type: a literal, an enum value, a set of enum values."""
        if isinstance(cell, (ast.NotOpen, ast.NotStated)):
            return
        if not isinstance(cell, (ast.Literal, ast.EnumCell, ast.SetCell)):  # `today`: not a written-out value
            self.err("P0510", cell.span, cell=cell.span.text)
            return
        if isinstance(cell, ast.Literal):
            found = ty.LITERAL_TYPES[cell.kind]
            self.types[id(cell)] = found
        elif isinstance(cell, ast.EnumCell):
            owner = self._enum_owner(cell.value.value, result)
            if owner is None and result.kind == "enum" and result.enum:
                self._unknown_enum_value(cell.value, result.enum)
                return
            found = ty.enum_type(owner) if owner else Type("enumlit")
        else:
            enum = result.enum if result.kind == "set" else None
            for item in cell.items:
                if enum is not None and self._enum_owner(item.value, result) is None:
                    self._unknown_enum_value(item, enum)
                    return
            found = ty.set_type(enum) if enum else Type("enumlit")
        if not ty.assignable(result, found):
            self.err("P0305", cell.span, found=found.display(), name=table.name.value, expected=result.display())

    def _unknown_enum_value(self, name: ast.Name | ast.Ref, enum: str) -> None:
        value = name.value if isinstance(name, ast.Name) else name.path
        hint = suggest(value, [(v.name.value, (v.label.zh, v.label.en)) for v in self.enums[enum].values])
        diag = dg.make("P0206", name.span, value=value, enum=enum)
        if hint:
            diag = attrs.evolve(diag, hint=dg.i18n.both("P0201.hint", suggestion=hint), suggestion=hint)
        self.bag.add(diag)

    # ================================================================ bodies
    def _check_policy(self, build: _PolicyBuild) -> None:
        if build.decl.applies is not None:
            self._condition(build, build.decl.applies)
        for item in build.items:
            if isinstance(item, ast.DefineDecl) and item.path.value in build.defines:
                define = build.defines[item.path.value]
                if len(item.cases) > MAX_CASES:
                    self.err("P0125", item.path.span, name=define.path, found=len(item.cases), limit=MAX_CASES)
                for case in item.cases:
                    found = self._expr(build, case.expr, define.type)
                    if found is not None and not ty.assignable(define.type, found):
                        diag = dg.make("P0305", case.expr.span, found=found.display(), name=define.path,
                                       expected=define.type.display())
                        self.bag.add(_date_hint(diag, case.expr) if define.type.kind == "date" else diag)
                    if case.when is not None:
                        self._condition(build, case.when)
                self._check_sources(item.sources)
            elif isinstance(item, ast.RuleDecl):
                self._check_rule(build, item)
            elif isinstance(item, ast.RolloutDecl):
                self._check_text(item.label)
                for phase in item.phases:
                    self._check_text(phase.label)
                if self._fact(build, item.key.value) is None:
                    self._undefined(build, item.key)
                self._name(item.key.span, self._local_key(build, item.key.value))
            elif isinstance(item, (ast.AssumeDecl, ast.NoteDecl)):
                self._check_text(item.text)
                self._check_sources(item.sources)
                declared = {n.value for n in build.decl.implements}
                for about in item.about:
                    if INVENTORY_ID.match(about.value):
                        if about.value not in declared:
                            self.err("P0706", about.span, id=about.value, policy=build.decl.id.value)
                    elif about.value not in build.ids and self._fact(build, about.value) is None:
                        self._undefined(build, about)
                    else:
                        self._name(about.span, self._local_key(build, about.value))
        for prop in build.properties.values():
            self._check_property(build, prop)
        self._check_define_cycles(build)
        size = code_size(build.decl.applies, build.rules.values(), (d.decl for d in build.defines.values()),
                         build.properties.values())
        if size > MAX_CODE_NODES:
            self.err("P0124", build.decl.id.span, policy=build.decl.id.value, found=f"{size:,}", limit=f"{MAX_CODE_NODES:,}")

    def _check_property(self, build: _PolicyBuild, prop: ast.PropertyDecl) -> None:
        self._check_text(prop.label)
        eff = prop.effective
        if eff is not None and eff.start and eff.end and eff.start > eff.end:
            self.err("P0601", eff.span, start=eff.start, end=eff.end)
        self.in_property = True
        self.in_book = build is self.book
        self._named = self.book_policies.setdefault(prop.name.value, []) if self.in_book else []
        try:
            if prop.premise is not None:
                self._condition(build, prop.premise)
            self._condition(build, prop.claim)
        finally:
            self.in_property = self.in_book = False

    def _check_pair_property(self, prop: ast.PropertyDecl, pair: tuple[str, str]) -> None:
        """An overlap's claim, checked as a book property whose values are read from the two policies first."""
        self._overlap_pair = pair
        try:
            self._check_property(self.book, prop)  # type: ignore[arg-type]
        finally:
            self._overlap_pair = ()

    def _check_rule(self, build: _PolicyBuild, rule: ast.RuleDecl) -> None:
        self._check_text(rule.label)
        if rule.scope is not None:
            self._condition(build, rule.scope)
        if rule.body.condition is not None:
            self._condition(build, rule.body.condition)
        self._check_text(rule.body.message)
        self._check_placeholders(build, rule.body.message)
        for consequence in rule.consequences:
            self._check_consequence(build, consequence)
        pid = build.decl.id.value
        self._name(rule.body.code.span, ("code", pid, rule.body.code.value), True)
        for target in (*rule.exception_to, rule.supersedes):
            if target is not None and target.value not in build.rules:
                self._undefined(build, target, [(r, ()) for r in build.rules])
            elif target is not None:
                self._name(target.span, ("rule", pid, target.value))
        if not rule.sources:
            self.err("P0703", rule.name.span, rule=rule.name.value)
        declared = {n.value for n in build.decl.implements}
        for ident in rule.implements:
            if ident.value not in declared:
                self.err("P0706", ident.span, id=ident.value, policy=build.decl.id.value)
        self._check_sources(rule.sources)

    def _check_consequence(self, build: _PolicyBuild, c: ast.Consequence) -> None:
        """A known kind; `for` a duration, `until` a date, `amount` money; a deduction says how much."""
        if c.kind.value not in CONSEQUENCE_KINDS:
            self._unknown_kind(c.kind.value, c.kind.span)
        wanted = [(c.end, {"for": "duration", "until": "date"}.get(c.period or "", ""), c.period),
                  (c.amount, "money", "amount")]
        for expr, kind, clause in wanted:
            if expr is None:
                continue
            found = self._expr(build, expr, Type(kind) if kind != "duration" else None)
            if found is not None and found.kind != kind:
                self.err("P0308", expr.span, clause=clause, expected=Type(kind).display(), found=found.display())
        if c.kind.value == "deduction" and c.amount is None:
            self.err("P0309", c.kind.span)
        self._check_text(c.text)
        self._check_placeholders(build, c.text)

    def _check_sources(self, sources: Iterable[ast.SourceRef]) -> None:
        for source in sources:
            if not source.quote.strip():
                diag = dg.make("P0401", source.quote_span, lang=dg.i18n.both("lang.quote"))
                self.bag.add(attrs.evolve(diag, hint=dg.i18n.both("P0401.quote")))

    def _check_define_cycles(self, build: _PolicyBuild) -> None:
        """P0604 for values defined in terms of each other in a circle; P0116 for a value whose
        evaluation nests too deeply through the values it reads. Both walks use explicit stacks."""
        deps = {path: sorted({n.path for n in ast.walk(define.decl.cases) if isinstance(n, ast.Ref)
                              and n.path in build.defines}) for path, define in build.defines.items()}
        for node, _, text in analyses.circles(deps):  # P0604 speaks of exceptions; this cycle is between values
            diag = dg.make("P0604", build.defines[node].decl.path.span, cycle=text)
            self.bag.add(attrs.evolve(diag, message=dg.i18n.both("P0604.values", cycle=text)))
        self._check_define_depth(build, deps)

    def _check_define_depth(self, build: _PolicyBuild, deps: dict[str, list[str]]) -> None:
        """Evaluating a value nests its own expression inside those of the values it reads; the sum
        along the deepest chain is bounded like one expression (P0116), in dependency order."""
        depth: dict[str, int] = {}
        order = graphlib.TopologicalSorter(deps)
        with contextlib.suppress(graphlib.CycleError):  # values in a cycle never become ready: P0604 reports them
            order.prepare()
        while order.is_active():
            for path in order.get_ready():
                own = max((level - 1 for _, level in ast.walk(build.defines[path].decl.cases, depth=True)), default=0)
                depth[path] = own + max((depth[d] for d in deps[path]), default=0)
                if depth[path] > MAX_VALUE_DEPTH and all(depth[d] <= MAX_VALUE_DEPTH for d in deps[path]):
                    self.err("P0116", build.defines[path].decl.path.span, name=path, limit=MAX_VALUE_DEPTH)
                order.done(path)

    # ================================================================ text
    def _check_text(self, text: ast.Text | None) -> None:
        if text is None:
            return
        for lang in ("zh", "en"):
            if not text.get(lang).strip():
                self.err("P0401", text.string(lang).span, lang=dg.i18n.both(f"lang.{lang}"))

    def _check_placeholders(self, build: _PolicyBuild, text: ast.Text) -> None:
        """Any `{…}` is meant as a placeholder: one that names no fact or value would reach users verbatim."""
        zh, en = ([p.path for p in text.placeholders(lang)] for lang in ("zh", "en"))
        if set(zh) != set(en):
            self.err("P0402", text.span, zh=_fmt_set(zh), en=_fmt_set(en))
        for name in dict.fromkeys(zh + en):
            if self._fact(build, name) is None and name not in build.defines:
                span = next(p.span for p in text.placeholders() if p.path == name)  # the first one
                self._did_you_mean("P0403", span, name, self._value_candidates(build), name=name)
        for holder in text.placeholders():  # the name inside the braces
            at = holder.span.start + holder.span.text.find(holder.path)
            self._name(holder.span.source.span(at, at + len(holder.path)), self._local_key(build, holder.path))
        self._units_written_twice(build, text)
        for expression in {p.path: p for p in reversed(text.expressions())}.values():  # the first of each
            diag = dg.make("P0404", expression.span, text="{" + expression.path + "}")
            name = expression.path.strip()
            if PLACEHOLDER_PATH.fullmatch(name):  # `{ account.fans }`: a name with blanks around it
                diag = attrs.evolve(diag, hint=dg.i18n.both("P0404.blanks", name="{" + name + "}"))
            self.bag.add(diag)

    def _units_written_twice(self, build: _PolicyBuild, text: ast.Text) -> None:
        """P0405: a placeholder of a count or number with a unit prints the unit's label (`1000 人`); the
        same label written right after it (`{account.fans} 人`, `{x}个小时`) would be said twice."""
        for lang in ("zh", "en"):
            parts = text.string(lang).parts
            for (_, placeholder), (after, _) in zip(parts, parts[1:]):
                if placeholder is None:
                    continue
                item = self._fact(build, placeholder.path) or build.defines.get(placeholder.path)
                if item is None or item.unit is None or item.type.kind not in UNIT_KINDS:
                    continue
                label = item.unit.label.get(lang)
                written = unit_written(after, label)
                if written is not None:
                    self.err("P0405", placeholder.span, severity="warning", name="{" + placeholder.path + "}",
                             unit=label, written=written)

    # ================================================================ expressions
    def _condition(self, build: _PolicyBuild, expr: ast.Expr, scope: dict | None = None) -> None:
        found = self._expr(build, expr, ty.BOOL, scope)
        if found is not None and found.kind != "bool":
            self.err("P0302", expr.span, found=found.display())

    def _expr(self, build: _PolicyBuild, expr: ast.Expr, expected: Type | None,
              scope: dict[str, Type] | None = None) -> Type | None:
        """Infer (and record) the type of `expr`; None after a reported error."""
        scope = scope or {}
        found = self._infer(build, expr, expected, scope)
        if found is not None:
            self.types[id(expr)] = found
        return found

    def _infer(self, build, expr, expected, scope) -> Type | None:
        if isinstance(expr, ast.Literal):
            return ty.LITERAL_TYPES[expr.kind]
        if isinstance(expr, ast.DurationLit):
            return Type("duration")
        if isinstance(expr, ast.Today):
            return ty.DATE
        if isinstance(expr, ast.NotOpen):  # `deposit(…) == not_open`
            return ty.NOT_OPEN
        if isinstance(expr, ast.Ref):
            return self._ref(build, expr, expected, scope)
        if isinstance(expr, ast.Unary):
            if expr.op == "not":
                self._condition(build, expr.operand, scope)
                return ty.BOOL
            inner = self._expr(build, expr.operand, expected, scope)
            if inner is not None and not inner.is_numeric:
                self.err("P0301", expr.span, op="-", left=inner.display(), right=inner.display())
                return None
            if (value := self._constant(expr.operand)) is not _VARIES:
                self._folded[id(expr)] = rp.negate(value)
            return inner
        if isinstance(expr, ast.Binary):
            return self._binary(build, expr, scope)
        if isinstance(expr, ast.Member):
            return self._member(build, expr, scope)
        if isinstance(expr, ast.SetLit):
            if not expr.items:  # `{}` takes its type from the set beside it
                if expected is not None and expected.kind == "set":
                    return expected
                self.err("P0307", expr.span, name="{}")
                return None
            elem = ty.enum_type(expected.enum) if expected is not None and expected.kind == "set" else None
            types = [self._expr(build, item, elem, scope) for item in expr.items]
            known = [t for t in types if t is not None]
            if known and (enum := known[0].enum) and all(t.kind == "enum" and t.enum == enum for t in known):
                return ty.set_type(enum)
            if known:
                bad = next((t for t in known if t.kind != "enum" or t.enum != known[0].enum), known[0])
                self.err("P0301", expr.span, op="{…}", left=known[0].display(), right=bad.display())
            return None
        if isinstance(expr, ast.Call):
            return self._call(build, expr, scope)
        if isinstance(expr, ast.Aggregate):
            return self._aggregate(build, expr, scope)
        if isinstance(expr, (ast.OutcomeRef, ast.OutcomeLit)):
            if not self.in_property:
                self.err("P0801", expr.span, word="outcome" if isinstance(expr, ast.OutcomeRef) else expr.value)
                return None
            if isinstance(expr, ast.OutcomeLit) and expr.value not in ("allow", "deny"):
                self.err("P0802", expr.span, word=expr.value)
                return None
            if isinstance(expr, ast.OutcomeRef):
                if (expr.policy is not None) != self.in_book:
                    self.err("P0803" if self.in_book else "P0804", expr.span, word="outcome")
                    return None
                if expr.policy is not None and not self._named_policy(expr.policy):
                    return None
            return ty.OUTCOME
        if isinstance(expr, ast.Covered):
            if expr.rollout.value not in build.rollouts:
                self._undefined(build, expr.rollout, [(r, ()) for r in build.rollouts])
                return None
            self._name(expr.rollout.span, ("rollout", build.decl.id.value, expr.rollout.value))
            return ty.BOOL
        raise InternalError(f"unknown expression {expr!r}")

    def _value_candidates(self, build: _PolicyBuild) -> list[tuple[str, tuple[str, str]]]:
        facts = {**self.facts, **build.inputs}
        defines = dict(build.defines)
        if build is self.book:  # a book property may read any policy's values
            for other in self.policies.values():
                defines.update(other.defines)
        return [(p, (i.label.zh, i.label.en)) for p, i in facts.items()] + \
               [(p, (d.label.zh, d.label.en)) for p, d in defines.items()]

    def _ref(self, build, expr: ast.Ref, expected, scope) -> Type | None:
        name = expr.path
        if name in scope:
            return self._resolved(expr, "var", name, None, scope[name])
        fact = self._fact(build, name)
        if fact is not None:
            return self._resolved(expr, "input", name, fact, fact.type, self._local_key(build, name))
        if name in build.defines:
            define = build.defines[name]
            return self._resolved(expr, "define", name, define, define.type, self._local_key(build, name))
        owner = self._book_define(name) if self.in_book else None
        if owner is not None:  # a book property reads a value a policy computes: that policy is named
            if owner not in self._named:
                self._named.append(owner)
            define = self.policies[owner].defines[name]
            return self._resolved(expr, "book_define", f"{owner} {name}", define, define.type, ("define", owner, name))
        if "." not in name:
            owner = self._enum_owner(name, expected)
            if owner is not None:
                value = self._enum_values[owner][name]
                return self._resolved(expr, "enum", f"{owner}.{name}", value, ty.enum_type(owner),
                                      ("value", owner, name))
            if expected is not None and expected.kind == "enum" and expected.enum is not None:
                self._unknown_enum_value(expr, expected.enum)
                return None
        if name in BOOL_WORDS and (expected is None or expected.kind == "bool"):  # `== 是`: a bool, in words
            hint = dg.i18n.both("P0201.bool", value=BOOL_WORDS[name])
            self.bag.add(attrs.evolve(dg.make("P0201", expr.span, name=name), hint=hint))
            return None
        candidates = self._value_candidates(build) + [(v, ()) for v in scope] + [
            (v.name.value, (v.label.zh, v.label.en)) for e in self.enums.values() for v in e.values]
        self._undefined(build, expr, candidates, name=name)
        return None

    def _resolved(self, ref: ast.Ref, kind: str, target: str, decl, type_: Type | None,
                  key: Key | None = None) -> Type | None:
        """Record what `ref` names (and, as the name `key`, what the language server shows for it)."""
        self.refs[id(ref)] = Resolved(kind, target, decl, type_)
        self._name(ref.span, key)
        return type_

    def _same_label_values(self) -> None:
        """Values of two policies with one label and one type read as one concept: each such pair no
        declared overlap compares is checked as an implicit overlap (`A == B`), which `check --deep`
        searches for a record they differ on."""
        covered = [{r.target for n in ast.walk((claim.premise, claim.claim)) if isinstance(n, ast.Ref)
                    for r in (self.refs.get(id(n)),) if r is not None and r.kind == "book_define"}
                   for claim in self._overlap_claims.values()]
        values = [(pid, d) for pid, b in self.policies.items() if b.decl.title is not None for d in b.defines.values()]
        for i, j in _same_label_pairs([d.label for _, d in values]):
            (first, a), (second, b) = values[i], values[j]
            if first == second or a.path == b.path or a.type != b.type or a.type.unit != b.type.unit:
                continue
            left, right = f"{first} {a.path}", f"{second} {b.path}"
            if any({left, right} <= pair for pair in covered):
                continue
            span = a.decl.path.span
            name = ast.Name(value=f"{a.path} = {b.path}", span=span)
            claim = ast.Binary(op="==", left=ast.Ref(path=a.path, span=span), right=ast.Ref(path=b.path, span=span),
                               span=span, op_span=span)
            overlap = ast.OverlapDecl(name=name, label=a.label, policies=(
                ast.Name(value=first, span=span), ast.Name(value=second, span=span)), effective=None,
                premise=None, agree=claim, span=span)
            prop = ast.PropertyDecl(name=name, label=a.label, effective=None, premise=None, claim=claim, span=span)
            self._book_build(self.policies[first].file, prop)
            self._made_up = True
            try:
                self._check_pair_property(prop, (first, second))
            finally:
                self._made_up = False
            self.implicit[name.value] = overlap
            self._overlap_claims[name.value] = prop
            self.book_files[name.value] = self.policies[first].file
            self.book_policies[name.value] = [first, second]

    # Indexes of the whole book, built once when first asked (after every policy is declared), so that a
    # lookup per reference does not scan every policy or enum: checking grows with the book, not faster.
    @functools.cached_property
    def _assume_owners(self) -> dict[str, list[str]]:
        """Assumption name → the policies that declare it, in book order."""
        return _owners((pid, a.name.value) for pid, build in self.policies.items()
                       for a in build.items if isinstance(a, ast.AssumeDecl))

    @functools.cached_property
    def _define_owners(self) -> dict[str, list[str]]:
        """Value path → the policies (with a title) that compute it, in book order."""
        return _owners((pid, name) for pid, build in self.policies.items() if build.decl.title is not None
                       for name in build.defines)

    @functools.cached_property
    def _enum_values(self) -> dict[str, dict[str, ast.EnumValue]]:
        """Enum id → its values by id."""
        return {enum: {v.name.value: v for v in decl.values} for enum, decl in self.enums.items()}

    @functools.cached_property
    def _value_owners(self) -> dict[str, list[str]]:
        """Enum value id → the enums that declare it, in book order."""
        return _owners((enum, v.name.value) for enum, decl in self.enums.items() for v in decl.values)

    def _book_define(self, name: str) -> str | None:
        """The policy whose value `name` a book property reads: the overlap's two policies first, then
        the one policy of the book that computes it (None when none does, or several do)."""
        owners = self._define_owners.get(name, [])
        pair = [pid for pid in owners if pid in self._overlap_pair]
        if len(pair) == 1:
            return pair[0]
        return owners[0] if len(owners) == 1 else None

    def _enum_owner(self, name: str, expected: Type | None) -> str | None:
        if expected is not None and expected.kind in ("enum", "set") and expected.enum in self.enums:
            return expected.enum if name in self._enum_values[expected.enum] else None
        owners = self._value_owners.get(name, [])
        return owners[0] if len(owners) == 1 else None

    def _undefined(self, build, node, candidates=None, name: str = "") -> None:
        name = name or getattr(node, "value", "") or getattr(node, "path", "")
        if candidates is None:
            candidates = self._value_candidates(build) + [(i, ()) for i in build.ids]
        self._did_you_mean("P0201", node.span, name, candidates, name=name)

    def _binary(self, build, expr: ast.Binary, scope) -> Type | None:
        if expr.op in ("and", "or"):
            self._condition(build, expr.left, scope)
            self._condition(build, expr.right, scope)
            return ty.BOOL
        enum_left = self._enum_literal(build, expr.left, scope)
        left = self._expr(build, expr.left, None, scope) if not enum_left else None
        right = self._expr(build, expr.right, left, scope)
        if enum_left:
            left = self._expr(build, expr.left, right, scope)
        if left is None or right is None:
            return None
        if expr.op in ty.COMPARISONS:
            if not ty.comparable(expr.op, left, right):
                self._mismatch(expr, left, right)
                return None
            self._units(expr, left, right)
            return ty.BOOL
        result = ty.arithmetic(expr.op, left, right)
        if result is None:
            self._mismatch(expr, left, right)
            return None
        if expr.op in "+-" and left.kind == right.kind:
            self._units(expr, left, right)
        self._fold(expr, left, right)
        return result

    def _fold(self, expr: ast.Binary, left: Type, right: Type) -> None:
        """An operation on constants is done now, by the runtime's own functions: one that fails on every
        evaluation (`1 / 0`, `9999-12-31 + 1 days`, a product past 100 digits, working days past the
        calendar), as does a division by a constant zero, is P0310 here rather than a decision error on
        every record that reaches it."""
        a, b = self._constant(expr.left), self._constant(expr.right)
        if b is _VARIES or a is _VARIES and not (expr.op == "/" and b == 0):  # `x / 0` fails whatever x is
            return
        text = expr.span.text
        try:
            if a is _VARIES:
                raise PolicyDslError("E.division_by_zero")
            if right.kind == "duration":
                value = rp.shift(a, b, 1 if expr.op == "+" else -1)
            elif left.kind == "date":
                value = rp.days(a, b)
            elif expr.op == "/":
                value = rp.divide(a, b, text)
            else:
                value = exact.operation("count" + expr.op if left.kind == right.kind == "count" else expr.op, text)(a, b)
        except PolicyDslError as exc:
            self.err("P0310", expr.span, reason={lang: exc.message(lang) for lang in dg.i18n.LANGS})
            return
        self._folded[id(expr)] = value

    def _constant(self, expr: ast.Expr) -> Any:
        """The value of a literal, or of an operation on constants folded before; else _VARIES."""
        if isinstance(expr, ast.Literal):
            return expr.value
        if isinstance(expr, ast.DurationLit):
            return (expr.amount, expr.unit)
        return self._folded.get(id(expr), _VARIES)

    def _mismatch(self, expr: ast.Binary, left: Type, right: Type) -> None:
        """P0301 for `left op right`; when one side is a date in quotes, the hint says to drop them."""
        diag = dg.make("P0301", expr.op_span, op=expr.op, left=left.display(), right=right.display())
        for side, other in ((expr.left, right), (expr.right, left)):
            if other.kind in ("date", "duration"):
                diag = _date_hint(diag, side)
        self.bag.add(diag)

    @staticmethod
    def _enum_literal(build: _PolicyBuild, expr: ast.Expr, scope: dict) -> bool:
        """A bare name that is no input, value or loop variable: an enum value, typed by the other side."""
        return (isinstance(expr, ast.Ref) and "." not in expr.path and expr.path not in scope
                and expr.path not in build.inputs and expr.path not in build.defines)

    def _units(self, expr: ast.Binary, left: Type, right: Type) -> None:
        if left.unit and right.unit and left.unit != right.unit:
            lu, ru = self.units[left.unit].label, self.units[right.unit].label
            self.err("P0304", expr.span, left=dg.i18n.both("P0304.unit", unit=left.unit, label=lu.as_dict()),
                     right=dg.i18n.both("P0304.unit", unit=right.unit, label=ru.as_dict()))

    def _member(self, build, expr: ast.Member, scope) -> Type | None:
        enum_item = self._enum_literal(build, expr.item, scope)
        item = self._expr(build, expr.item, None, scope) if not enum_item else None
        expected = ty.set_type(item.enum) if item is not None and item.kind == "enum" and item.enum else None
        coll = self._expr(build, expr.collection, expected, scope)
        if enum_item:
            item = self._expr(build, expr.item, ty.enum_type(coll.enum) if coll and coll.kind == "set" and coll.enum else None, scope)
        if item is None or coll is None:
            return None
        if coll.kind != "set" or item.kind != "enum" or item.enum != coll.enum:
            self.err("P0301", expr.span, op="in", left=item.display(), right=coll.display())
            return None
        return ty.BOOL

    def _call(self, build, expr: ast.Call, scope) -> Type | None:
        name = expr.func.value
        if name == "fires" and name not in build.tables:
            return self._fires(build, expr)
        if name == "consequence" and name not in build.tables:
            return self._has_consequence(build, expr)
        if name in build.tables:
            table = build.tables[name]
            params, result = table.param_types, table.result
            self._name(expr.func.span, ("table", build.decl.id.value, name))
        elif name in BUILTINS:
            params, result = BUILTINS[name]
        else:
            for arg in expr.args:
                self._expr(build, arg, None, scope)
            self._undefined(build, expr.func, [(t, ()) for t in [*build.tables, *BUILTINS]])
            return None
        if len(expr.args) != len(params):
            self.err("P0303", expr.span, name=name, expected=len(params), found=len(expr.args))
            return None
        ok = True
        for index, (arg, param) in enumerate(zip(expr.args, params), start=1):
            found = self._expr(build, arg, param, scope)
            if found is None:
                ok = False
            elif not ty.assignable(param, found):
                diag = dg.make("P0306", arg.span, name=name, index=index, expected=param.display(),
                               found=found.display())
                self.bag.add(_date_hint(diag, arg) if param.kind == "date" else diag)
                ok = False
        return result if ok else None

    def _fires(self, build, expr: ast.Call) -> Type | None:
        """`fires(rule)` in a property: the rule gave a reason or warning in the decision."""
        if not self.in_property:
            self.err("P0801", expr.func.span, word="fires")
            return None
        if len(expr.args) != (2 if self.in_book else 1):
            if self.in_book and len(expr.args) == 1:
                self.err("P0803", expr.span, word="fires")
            elif not self.in_book and len(expr.args) == 2:
                self.err("P0804", expr.span, word="fires")
            else:
                self.err("P0303", expr.span, name="fires", expected=2 if self.in_book else 1, found=len(expr.args))
            return None
        if self.in_book:
            owner = expr.args[0]
            if not isinstance(owner, ast.Ref):
                self._undefined(build, owner, [(p, ()) for p in self.policies], name=owner.span.text)
                return None
            target = self._named_policy(ast.Name(value=owner.path, span=owner.span))
            if target is None:
                return None
            self._resolved(owner, "policy", owner.path, target.decl, None)
            rules, pid = target.rules, owner.path
        else:
            rules, pid = build.rules, build.decl.id.value
        arg = expr.args[-1]
        if not isinstance(arg, ast.Ref) or arg.path not in rules:
            self._undefined(build, arg, [(r, ()) for r in rules], name=getattr(arg, "path", arg.span.text))
            return None
        self._resolved(arg, "rule", arg.path, rules[arg.path], None, ("rule", pid, arg.path))
        return ty.BOOL

    def _has_consequence(self, build, expr: ast.Call) -> Type | None:
        """`consequence(kind)` in a property: the decision lists a consequence of that kind."""
        if not self.in_property:
            self.err("P0801", expr.func.span, word="consequence")
            return None
        if self.in_book:  # a book property speaks of named policies' decisions only (outcome, fires)
            self.err("P0803", expr.span, word="consequence")
            return None
        if len(expr.args) != 1:
            self.err("P0303", expr.span, name="consequence", expected=1, found=len(expr.args))
            return None
        arg = expr.args[0]
        if not isinstance(arg, ast.Ref) or arg.path not in CONSEQUENCE_KINDS:
            self._unknown_kind(getattr(arg, "path", arg.span.text), arg.span)
            return None
        self._resolved(arg, "consequence", arg.path, None, None)
        return ty.BOOL

    def _unknown_kind(self, name: str, span: Span) -> None:
        """P0216: `name` is no consequence kind."""
        self._did_you_mean("P0216", span, name, [(k, ()) for k in CONSEQUENCE_KINDS], name=name,
                           kinds=", ".join(CONSEQUENCE_KINDS))

    def _named_policy(self, name: ast.Name) -> _PolicyBuild | None:
        """The policy a book property names (`outcome(POLICY)`, `fires(POLICY, RULE)`), noted as one of
        the policies the property speaks of."""
        found = self.policies.get(name.value)
        if found is None or found.decl.title is None:
            self._undefined(self.book, name, [(p, (b.decl.title.zh, b.decl.title.en) if b.decl.title else ())
                                              for p, b in self.policies.items()])
            return None
        if name.value not in self._named:
            self._named.append(name.value)
        self._name(name.span, ("policy", name.value))
        return found

    def _aggregate(self, build, expr: ast.Aggregate, scope) -> Type | None:
        coll = self._expr(build, expr.iterable, None, scope)
        if coll is None:
            return None
        if coll.kind != "set" or coll.enum is None:
            self.err("P0301", expr.iterable.span, op=expr.func, left=coll.display(), right=coll.display())
            return None
        inner = {**scope, expr.var.value: ty.enum_type(coll.enum)}
        if expr.func in ("any", "all"):
            self._condition(build, expr.body, inner)
            return ty.BOOL
        body = self._expr(build, expr.body, None, inner)
        if body is None:
            return None
        if not body.is_numeric:
            self.err("P0301", expr.body.span, op=expr.func, left=body.display(), right=body.display())
            return None
        return body

    # ================================================================ model
    def _model(self) -> Model:
        policies = {}
        order = {path: i for i, path in enumerate(self.facts)}  # own inputs first, then the vocabulary's
        for pid, build in self.policies.items():
            if build.decl.title is None:
                continue
            # each rule's exceptions, in rule order (a stable sort by priority keeps it): one pass over the
            # rules, not one per rule (a book of 5,000 rules spent 26 s here)
            excepting: dict[str, list[ast.RuleDecl]] = {}
            for x in build.rules.values():
                for target in dict.fromkeys(t.value for t in x.exception_to):
                    excepting.setdefault(target, []).append(x)
            rules = tuple(Rule(name=n, decl=r, exceptions=tuple(
                e.name.value for e in sorted(excepting.get(n, ()), key=lambda x: -x.priority)))
                for n, r in build.rules.items())
            inputs = dict(sorted(build.inputs.items(),
                                 key=lambda kv: (kv[1].decl.entity is not None, order.get(kv[0], 0))))
            policies[pid] = Policy(
                id=pid, file=build.file, decl=build.decl, inputs=inputs, defines=build.defines,
                rules=rules, tables=build.tables, rollouts=build.rollouts,
                assumptions=tuple(i for i in build.items if isinstance(i, ast.AssumeDecl)),
                notes=tuple(i for i in build.items if isinstance(i, ast.NoteDecl)),
                properties=tuple(build.properties.values()))
        book: tuple[BookProperty, ...] = ()
        if self.book is not None:
            book = tuple(BookProperty(decl=prop, file=self.book_files[name],
                                      policies=tuple(self.book_policies.get(name, ())))
                         for name, prop in self.book.properties.items())
        overlaps = tuple(
            BookOverlap(decl=self._overlap_claims[name], file=self.book_files[name], overlap=decl,
                        policies=(decl.policies[0].value, decl.policies[1].value),
                        explained_by=tuple((pid, a) for pid in (decl.policies[0].value, decl.policies[1].value)
                                           if pid in policies for a in policies[pid].assumptions
                                           if decl.because is not None and a.name.value == decl.because.value),
                        implicit=name in self.implicit)
            for name, decl in {**self.overlaps, **self.implicit}.items() if name in self._overlap_claims)
        return Model(enums=self.enums, units=self.units, policies=policies, types=self.types, refs=self.refs,
                     entities=self.entities, facts=self.facts, book_properties=book, overlaps=overlaps,
                     book_inputs=dict(self.book.inputs) if self.book is not None else {}, names=self._names_once(),
                     definitions=self._definitions())

    def _names_once(self) -> tuple[Occurrence, ...]:
        """The names noted while checking, once each (an overlap's `outcome(P)` is its `between P`), by file
        and position."""
        once = {(o.span.file, o.span.start, o.span.end, o.key): o for o in reversed(self.names)}
        return tuple(once[k] for k in sorted(once))

    def _definitions(self) -> dict[Key, Span]:
        """Each key's first declaration (a name declared twice is an error, P0202)."""
        definitions: dict[Key, Span] = {}
        for occurrence in self.names:
            if occurrence.is_def:
                definitions.setdefault(occurrence.key, occurrence.span)
        return definitions


def _owners(declared: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Each name of the (owner, name) pairs → the owners that declare it, each once, in order."""
    owners: dict[str, list[str]] = {}
    for owner, name in dict.fromkeys(declared):
        owners.setdefault(name, []).append(owner)
    return owners


def _label_key(text: ast.Text, lang: str) -> str:
    return " ".join(text.get(lang).casefold().split())


def _same_label_pairs(labels: list[ast.Text]) -> list[tuple[int, int]]:
    """The pairs (i, j), i < j, of labels equal in Chinese or in English, in the order of a nested loop over
    `labels`; found through an index by label, so the cost grows with the pairs, not the square of the labels."""
    by_key: dict[tuple[str, str], list[int]] = {}
    for i, label in enumerate(labels):
        for lang in ("zh", "en"):
            by_key.setdefault((lang, _label_key(label, lang)), []).append(i)
    return sorted({(i, j) for group in by_key.values() for n, i in enumerate(group) for j in group[n + 1:]})


def _snake(name: str) -> str:
    """`diamondLevel` → `diamond_level`: the convention's spelling of an enum id."""
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return re.sub(r"_+", "_", name).strip("_") or name


def _fmt_set(names: list[str]) -> str:
    return "{" + ", ".join(sorted(set(names))) + "}" if names else "∅"


def _date_hint(diag: dg.Diagnostic, expr: ast.Expr) -> dg.Diagnostic:
    """`diag` with a hint to drop the quotes when `expr` is a date in quotes (`"2024-03-01"`)."""
    if isinstance(expr, ast.Literal) and expr.kind == "text" and QUOTED_DATE.fullmatch(str(expr.value)):
        return attrs.evolve(diag, hint=dg.i18n.both("P0301.date", date=expr.value))
    return diag


MAX_VALUE_DEPTH = 100
_VARIES = object()  # an expression whose value depends on the facts or the day
"""How deeply the evaluation of a value may nest, counting the expressions of the values it reads
(see MAX_NESTING in syntax/parser.py): every backend evaluates values recursively."""


def check_modules(modules: list[ast.Module]) -> CheckResult:
    with decimal.localcontext(WIDE):  # table bounds and their shifts are compared exactly, never rounded
        return Checker(modules).run()


def unit_written(after: str, label: str) -> str | None:
    """The unit `label` as the text `after` a placeholder writes it again (`" 人，"`, `"个小时"`,
    `" followers,"`, `" follower"`), or None. Blanks may come between; in Chinese a measure word 个 may
    come before the label; in English the label's singular counts too, and a word must end where it does."""
    rest = after.lstrip()
    if not label or not rest:
        return None
    if not label.isascii():
        for lead in ("", "个"):
            tail = rest[len(lead):].lstrip()
            if rest.startswith(lead) and tail.startswith(label):
                return rest[:len(rest) - len(tail) + len(label)]
        return None
    singular = label[:-1] if label.endswith("s") and len(label) > 2 else label
    for form in dict.fromkeys((label, singular)):
        match = re.match(re.escape(form) + r"(?![A-Za-z0-9])", rest, re.IGNORECASE)
        if match:
            return match.group(0)
    return None
