"""Plain data and generated code in, a CompiledPolicy out: the last step of compiling, and all that loading
a compiled book back from the cache needs (no generator, no checker, no syntax tree)."""
from __future__ import annotations

import marshal
from typing import Any

from policydsl.runtime import exact, rollout as ro
from policydsl.runtime.facts import InputSpec
from policydsl.runtime.program import (NOT_STATED, RUNTIME, CompiledPolicy, CompiledProperty, Decide, DefineInfo,
                                       RuleInfo, Table, in_force)
from policydsl.runtime.values import NOT_OPEN


def _cell_value(cell: tuple[Any, ...]) -> Any:
    return NOT_OPEN if cell[0] == "not_open" else NOT_STATED if cell[0] == "not_stated" else cell[1]


def _table(spec: tuple[Any, ...]) -> Table:
    name, kind, cells, *rest = spec
    if kind == "range":
        return Table(name, kind, [(i, iv, _cell_value(c), prio) for i, iv, c, prio in cells], *rest)
    return Table(name, kind, {k: _cell_value(c) for k, c in cells.items()})


def build(spec: dict[str, Any], code: bytes, consts: tuple[Any, ...], ops: tuple[Any, ...],
          phases: tuple[Any, ...]) -> CompiledPolicy:
    inputs = {path: InputSpec(path=path, kind=kind, label=label, enum_values=values)
              for path, (kind, label, values) in spec["inputs"].items()}
    defines = {path: DefineInfo(path=path, kind=kind, label=label, reads=reads)
               for path, (kind, label, reads) in spec["defines"].items()}
    rules = tuple(RuleInfo(**r) for r in spec["rules"])
    kinds = {**{k: i.kind for k, i in inputs.items()}, **{k: d.kind for k, d in defines.items()}}
    labels, enums = spec["enum_labels"], spec["value_enums"]
    labeler = lambda path: labels.get(enums.get(path, ""), {}).__getitem__  # noqa: E731
    namespace: dict[str, Any] = {**RUNTIME, "K": consts, "SPECS": inputs, "T": tuple(_table(t) for t in spec["tables"]),
                 "X": tuple(exact.operation(op, text) for op, text in ops),
                 "P": tuple(tuple(ro.PhaseSpec(name=n, start=s, end=e, ramp_from=a, ramp_to=b) for n, s, e, a, b in ph)
                            for _, ph in phases),
                 "D": Decide(spec["id"], rules, tuple(defines), kinds, inputs, labeler, spec["units"])}
    namespace["S"], namespace["R"], namespace["KINDS"] = namespace["D"].static, namespace["D"].said, kinds
    namespace.update({f"TS{i}": table.stated for i, table in enumerate(namespace["T"])})
    namespace["PERIOD"] = in_force(spec["id"], spec["start"], spec["end"])
    for part in marshal.loads(code):  # one module per function, generated from the checked model's AST nodes, never text
        exec(part, namespace)
    properties = tuple(CompiledProperty(name=n, label=label, start=s, end=e,
                                        premise=namespace[f"p{i}_premise"] if has_premise else None,
                                        claim=namespace[f"p{i}_claim"], premise_reads_decision=reads)
                       for i, (n, label, s, e, has_premise, reads) in enumerate(spec["properties"]))
    return CompiledPolicy(id=spec["id"], title=spec["title"], start=spec["start"], end=spec["end"], inputs=inputs,
                          defines=defines, rules=rules, value_kinds=kinds, enum_labels=labels, value_enums=enums,
                          value_units=spec["units"],
                          coverage_items=spec["coverage"], fast=namespace["fast"], traced=namespace["traced"],
                          properties=properties, applies=namespace.get("applies"), decide=namespace["D"])
