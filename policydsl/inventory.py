"""Policies, features and (optionally) the source inventory in; the traceability table out:
inventory id → document → policy → rules → scenarios → assumptions → status."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

import attrs
from gherkin.parser import Parser as GherkinParser

from policydsl.errors import InternalError, PolicyDslError
from policydsl.semantics.model import Model
from policydsl.source import BOM, read_bytes, read_text, unreadable_reason

ID = re.compile(r"^R(\d{3})\.\d+$")
INVENTORY_ROW = re.compile(r"^\|\s*(R\d{3}\.\d+)\s*\|\s*(rule|info)\s*\|(.*)\|\s*$")
START, END = "<!-- inventory:start -->", "<!-- inventory:end -->"


@attrs.define
class Row:
    id: str
    kind: str = "rule"  # rule | info (from the inventory file, when given)
    flagged: bool = False  # ⚠ in the inventory
    documents: set[str] = attrs.field(factory=set)
    policies: list[str] = attrs.field(factory=list)
    rules: list[str] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    scenarios: list[str] = attrs.field(factory=list)
    assumptions: list[str] = attrs.field(factory=list)

    @property
    def status(self) -> str:
        if self.kind == "info":
            return "note" if self.notes else "MISSING"
        if not self.rules:
            return "MISSING"
        if not self.scenarios:
            return "untested"
        if self.flagged and not self.assumptions:
            return "⚠ unresolved"
        return "ok"


def read_inventory(path: Path) -> dict[str, Row]:
    rows = {}
    try:
        text = read_bytes(path).decode("utf-8")  # (bounded: /dev/zero is refused, not read to exhaustion)
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyDslError("E.unreadable", path=str(path), reason=unreadable_reason(exc)) from None
    for line in text.splitlines():
        match = INVENTORY_ROW.match(line)
        if match:
            rows[match.group(1)] = Row(id=match.group(1), kind=match.group(2), flagged="⚠" in match.group(3))
    return rows


def feature_scenarios(features: Path) -> list[tuple[str, str, set[str]]]:
    """(file, scenario name, inventory tags) for every scenario and outline under `features`."""
    out = []
    for path in sorted(features.rglob("*.feature")) if features.is_dir() else []:
        try:
            doc = GherkinParser().parse(read_text(path).removeprefix(BOM))  # a regular file only (a FIFO would block)
        except Exception:  # noqa: BLE001 - a broken feature is reported by `policydsl test`, not here
            continue
        # the parser's TypedDicts do not model a child's scenario/rule envelope: read it as the JSON it is
        feature: Mapping[str, Any] = doc.get("feature") or {}
        feature_tags = {t["name"].lstrip("@") for t in feature.get("tags", [])}
        for child in feature.get("children", []):
            scenario = child.get("scenario")
            if scenario:
                tags = feature_tags | {t["name"].lstrip("@") for t in scenario.get("tags", [])}
                out.append((path.name, scenario["name"], {t for t in tags if ID.match(t)}))
    return out


def build(model: Model, features: Path, inventory: Path | None = None) -> list[Row]:
    rows = read_inventory(inventory) if inventory else {}

    def row(ident: str) -> Row:
        return rows.setdefault(ident, Row(id=ident))

    for policy in model.policies.values():
        cited = {s.document for s in policy.decl.sources}
        for ident in (n.value for n in policy.decl.implements):
            r = row(ident)
            r.policies.append(policy.id)
            match = ID.match(ident)
            if match is None:
                raise InternalError(f"the grammar let through an inventory id {ident!r}")
            prefix = match.group(1)
            r.documents |= {d for d in cited if d.startswith(prefix)}
        for rule in policy.rules:
            for ident in (n.value for n in rule.decl.implements):
                row(ident).rules.append(f"{policy.id}:{rule.name}")
        rule_ids = {rule.name: {n.value for n in rule.decl.implements} for rule in policy.rules}
        for note in policy.notes:
            for ident in (n.value for n in note.about):
                row(ident).notes.append(f"{policy.id}:{note.name.value}")
        for assume in policy.assumptions:
            ids = set()
            for about in (a.value for a in assume.about):
                ids |= {about} if ID.match(about) else rule_ids.get(about, set())
            for ident in sorted(ids):
                row(ident).assumptions.append(f"{policy.id}:{assume.name.value}")
    for file, name, tags in feature_scenarios(features):
        for ident in sorted(tags):
            row(ident).scenarios.append(f"{file}: {name}")
    return [rows[k] for k in sorted(rows, key=id_order)]


def id_order(ident: str) -> tuple[int, int]:
    doc, _, num = ident[1:].partition(".")
    return int(doc), int(num)


def markdown(rows: list[Row]) -> str:
    head = ("| id | kind | document | policy | rules | scenarios | assumptions | status |\n"
            "|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        kind = r.kind + (" ⚠" if r.flagged else "")
        rules = "<br>".join(f"`{x.split(':', 1)[1]}`" for x in r.rules) or "—"
        notes = "<br>".join(f"note `{x.split(':', 1)[1]}`" for x in r.notes)
        shown = (s.replace("|", "\\|") for s in r.scenarios[:3])
        scenarios = f"{len(r.scenarios)}: " + "<br>".join(shown) if r.scenarios else "—"
        if len(r.scenarios) > 3:
            scenarios += f"<br>… +{len(r.scenarios) - 3}"
        assumptions = "<br>".join(f"`{x.split(':', 1)[1]}`" for x in dict.fromkeys(r.assumptions)) or "—"
        lines.append(f"| {r.id} | {kind} | {', '.join(sorted(r.documents)) or '—'} | "
                     f"{', '.join(f'`{p}`' for p in dict.fromkeys(r.policies)) or '—'} | "
                     f"{'<br>'.join(x for x in (rules if r.rules else '', notes) if x) or '—'} | {scenarios} | "
                     f"{assumptions} | {r.status} |")
    return "\n".join(lines)


def replace_block(text: str, table: str) -> str:
    """`text` with the part between the inventory markers replaced by `table`."""
    if START not in text or END not in text:
        raise ValueError("inventory markers not found")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"
