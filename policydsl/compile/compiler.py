"""The checked model in, CompiledPolicy out: each policy's code generated (compile/codegen.py), or
loaded from the disk cache (compile/cache.py) when the policy's checked model is unchanged."""
from __future__ import annotations

import marshal
from typing import Any, cast

from policydsl import usercache
from policydsl.compile import cache
from policydsl.compile.codegen import Generator, effective, reads, rule_placeholders
from policydsl.compile.link import _table, build  # noqa: F401 (re-exported: the last step lives in link.py)
from policydsl.gcpause import paused as _no_cycle_collection  # (see gcpause: the book stays alive)
from policydsl.runtime import rollout as ro
from policydsl.runtime.book import BookIndex
from policydsl.runtime.facts import InputSpec
from policydsl.runtime.program import CompiledPolicy, Template
from policydsl.runtime.values import UNIT_KINDS
from policydsl.semantics.model import Define, Input, Model, Policy
from policydsl.syntax import ast


def input_spec(model: Model, inp) -> InputSpec:
    """What the runtime needs of one fact: its kind, labels and enum values."""
    enum_values = None
    if inp.type.enum is not None:
        enum_values = {v.name.value: v.label.as_dict() for v in model.enums[inp.type.enum].values}
    return InputSpec(path=inp.path, kind=inp.type.kind, label=inp.label.as_dict(), enum_values=enum_values)


def compile_model(model: Model) -> dict[str, CompiledPolicy]:
    with _no_cycle_collection():
        return {pid: build(spec, *stored) for pid, (spec, stored) in compile_parts(model).items()}


Parts = tuple[dict[str, Any], tuple[bytes, tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]]
"""A compiled policy as plain data: its spec and its stored code (`build(spec, *stored)` makes it)."""


def compile_parts(model: Model) -> dict[str, Parts]:
    """Every policy's spec and code, by id: what the book cache (book_cache.py) keeps."""
    with _no_cycle_collection():
        return {pid: policy_parts(model, policy) for pid, policy in model.policies.items()}


def compile_book(model: Model, implicit: bool = False) -> CompiledPolicy | None:
    """The book properties (outside any policy) and the overlaps' claims (with `implicit`, also those of the
    values that share a label: Model.book_overlaps) as a policy with no rules; their `outcome(POLICY)` and
    `fires(POLICY, RULE)` read the whole-book decision (a BookDecision). None when the book has none."""
    if not model.book_properties and not model.book_overlaps(implicit):
        return None
    spec, stored = policy_parts(model, model.book_policy(implicit))
    return build(spec, *stored)


def book_index(model: Model, implicit: bool = False) -> BookIndex:
    """What deciding reads of the checked book (runtime/book.py); `implicit` as for compile_book."""
    overlaps = tuple((o.implicit, {"overlap": o.name, "label": o.overlap.label.as_dict(), "policies": o.policies,
                                   "resolution": o.resolution, "prevails": o.prevails,
                                   "assumptions": tuple(a.name.value for _, a in o.explained_by)})
                     for o in model.book_overlaps(implicit))
    return BookIndex(titles={pid: p.title.as_dict() for pid, p in model.policies.items()},
                     properties=len(model.book_properties), overlaps=overlaps,
                     reads_rules=any(reads_rules(o.decl) for o in model.overlaps if not o.implicit))


def policy_parts(model: Model, policy: Policy) -> Parts:
    """The policy's plain data and generated code; the code comes from the cache when a policy with the
    same data was generated before (the data holds every name, literal and cell the code reads)."""
    spec = policy_spec(model, policy)
    key = cache.key(spec)
    stored = cache.load(key)
    if stored is None:
        generator = Generator(model, policy)
        code = tuple(compile(module, f"<policy {policy.id}>", "exec") for module in generator.modules())
        stored = (marshal.dumps(code), tuple(generator.consts), tuple(generator.ops), tuple(generator.phases))
        usercache.write(f"{key}.bin", stored)
    return spec, stored


def policy_spec(model: Model, p: Policy) -> dict[str, Any]:
    """Everything of the policy the runtime reads, as plain data (no AST node)."""
    used = {t.enum for t in (*(i.type for i in p.inputs.values()), *(d.type for d in p.defines.values())) if t.enum}
    start, end = p.effective
    return {
        "id": p.id, "title": p.title.as_dict(), "start": start, "end": end,
        "inputs": {path: (i.type.kind, i.label.as_dict(), {v.name.value: v.label.as_dict()
                                                          for v in model.enums[i.type.enum].values}
                          if i.type.enum is not None else None) for path, i in p.inputs.items()},
        "defines": {path: (d.type.kind, d.label.as_dict(),
                           reads(model, p, *[e for c in d.decl.cases for e in (c.expr, c.when)])[0])
                    for path, d in p.defines.items()},
        "rules": tuple({**rule_spec(p, r.decl), "exceptions": r.exceptions,
                        "reads": reads(model, p, r.decl.scope, r.decl.body.condition)[0],
                        "consequence_reads": tuple(reads(model, p, c.end, c.amount)[0] for c in r.decl.consequences)}
                       for r in p.rules),
        "enum_labels": {n: {v.name.value: v.label.as_dict() for v in model.enums[n].values} for n in sorted(used)},
        "value_enums": {**{k: i.type.enum for k, i in p.inputs.items() if i.type.enum},
                        **{k: d.type.enum for k, d in p.defines.items() if d.type.enum}},
        "units": value_units(p),
        "tables": tuple(table_spec(t.decl, t.kind) for t in p.tables.values()),
        "coverage": coverage_items(p),
        "properties": tuple((prop.name.value, prop.label.as_dict(), *effective(prop), prop.premise is not None,
                             prop.premise is not None and reads_decision(prop.premise)) for prop in p.properties),
        "applies": p.decl.applies is not None,
        "source": ast_fingerprint(model, p),
    }


def value_units(p: Policy) -> dict[str, dict[str, str]]:
    """The unit labels of the policy's counts and numbers with a unit, by path: a message shows them."""
    items: list[Input | Define] = [*p.inputs.values(), *p.defines.values()]
    return {item.path: item.unit.label.as_dict() for item in items
            if item.unit is not None and item.type.kind in UNIT_KINDS}


def rule_spec(p: Policy, decl: ast.RuleDecl) -> dict[str, Any]:
    src = decl.sources[0] if decl.sources else None
    shown = rule_placeholders(p, decl)
    return {"name": decl.name.value, "label": decl.label.as_dict(), "kind": decl.body.kind,
            "outcome": decl.body.outcome, "code": decl.body.code.value, "message": template(decl.body.message),
            "source": {"document": src.document, "quote": src.quote} if src else None,
            "start": effective(decl)[0], "end": effective(decl)[1],
            "exception_to": tuple(t.value for t in decl.exception_to), "placeholders": shown,
            "placeholder_defines": tuple(path for path in p.defines if path in rule_placeholders(p, decl, message_only=True)),
            "consequences": tuple((c.kind.value, c.period, template(c.text)) for c in decl.consequences)}


def template(text: ast.Text) -> dict[str, Template]:
    """A text as the runtime fills it: in each language, every literal piece with the path shown after it."""
    return {lang: tuple((piece, p.path if p else None) for piece, p in text.string(lang).parts)
            for lang in ("zh", "en")}


def table_spec(decl: ast.TableDecl, kind: str) -> tuple[Any, ...]:
    name = decl.name.value
    if kind == "matrix":
        return (name, kind, {(row.key.value, col.value): _cell(cell)
                             for row in decl.matrix for col, cell in zip(decl.columns, row.cells)})
    if kind == "enum":  # the kind fixes the rows' key: a Name here, an Interval below (casts: mypy cannot see it)
        return (name, kind, {cast(ast.Name, row.key).value: _cell(row.cell) for row in decl.rows})
    rows = tuple((i, (k.low, k.low_closed, k.high, k.high_closed), _cell(r.cell), r.priority or 0)
                 for i, r in enumerate(decl.rows, start=1) for k in [cast(ast.Interval, r.key)])
    return (name, kind, rows, decl.hit, decl.aggregator)


def _cell(cell: ast.Cell) -> Any:
    if isinstance(cell, ast.NotOpen):
        return ("not_open",)
    if isinstance(cell, ast.NotStated):
        return ("not_stated",)
    if isinstance(cell, ast.EnumCell):
        return ("value", cell.value.value)
    if isinstance(cell, ast.SetCell):
        return ("value", frozenset(item.value for item in cell.items))
    return ("value", cell.value)


def ast_fingerprint(model: Model, p: Policy) -> str:
    """The checked model of the policy as text: its declarations with the resolved kind and target
    of every reference, with its type (the cache key hashes it)."""
    parts = [repr(p.decl), *(repr(r.decl) + repr(r.exceptions) for r in p.rules),
             *(repr(d.decl) for d in p.defines.values()), *(repr(t.decl) for t in p.tables.values()),
             *(repr(r) for r in p.rollouts.values()), *(repr(prop) for prop in p.properties)]
    roots = [*(r.decl for r in p.rules), *(d.decl for d in p.defines.values()), *p.properties,
             *([p.decl.applies] if p.decl.applies is not None else [])]
    for root in roots:
        parts += [repr(model.resolve(node)) for node in ast.walk(root) if isinstance(node, ast.Ref)]
    return "\n".join(parts)


def coverage_items(p: Policy) -> tuple[str, ...]:
    """Everything a feature suite should exercise: both sides of each rule, every table
    cell, every dated or conditional value case, and every phase of every rollout."""
    items = []
    for rule in p.rules:
        items.append(f"rule:{rule.name}:fired")
        if rule.decl.body.kind == "require":
            items.append(f"rule:{rule.name}:passed")
    for name, table in p.tables.items():
        decl = table.decl
        if table.kind == "matrix":
            items += [f"cell:{name}:{row.key.value},{col.value}" for row in decl.matrix for col in decl.columns]
        elif table.kind == "enum":
            items += [f"cell:{name}:{cast(ast.Name, row.key).value}" for row in decl.rows]  # an enum table's keys
        else:
            items += [f"cell:{name}:{i}" for i in range(1, len(decl.rows) + 1)]
    for path, define in p.defines.items():
        if len(define.decl.cases) > 1:
            items += [f"case:{path}:{i}" for i in range(1, len(define.decl.cases) + 1)]
    for name, rollout in p.rollouts.items():
        items += [f"phase:{name}:before"] + [f"phase:{name}:{ph.name.value}" for ph in rollout.phases]
        items.append(f"phase:{name}:after")
    return tuple(items)


def phase_specs(decl: ast.RolloutDecl) -> tuple[ro.PhaseSpec, ...]:
    """The runtime's phases of a declared rollout."""
    return tuple(ro.PhaseSpec(name=p.name.value, start=p.start, end=p.end, ramp_from=p.ramp_from, ramp_to=p.ramp_to)
                 for p in decl.phases)


def reads_decision(expr: ast.Expr) -> bool:
    """Whether a property expression reads the decision (`outcome`, `fires(rule)`)."""
    return any(isinstance(n, ast.OutcomeRef) or (isinstance(n, ast.Call) and n.func.value in ("fires", "consequence"))
               for n in ast.walk(expr))


def reads_rules(prop: ast.PropertyDecl) -> bool:
    """Whether a property asks which rules fired (`fires`): deciding for it needs the trace."""
    return any(isinstance(n, ast.Call) and n.func.value == "fires"
               for e in (prop.premise, prop.claim) if e is not None for n in ast.walk(e))


