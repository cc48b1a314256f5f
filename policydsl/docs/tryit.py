"""The "try it" panel of a policy page: a form for the policy's inputs, built at render time, that the page's
script (assets/tryit.js) posts to the decision service and whose answer it shows.

Every word and choice is decided here, in the page's language, from the model the rest of the page is rendered
from: the script only reads the controls, nests the facts by their dotted paths, and lays out the decision
JSON with the labels handed to it. A handbook opened from disk never shows the panel: the script reveals it
only once the same origin's `/v1/status` answers, that is when `policydsl serve --docs` serves the page."""
from __future__ import annotations

from typing import Any

from policydsl import i18n
from policydsl.docs.prose import Renderer
from policydsl.docs.strings import s
from policydsl.semantics.model import Define, Input, Policy

AFFIX = {"money": ("¥", ""), "percent": ("", "%")}
"""The symbol a money or percent field shows beside its box (the facts take "¥86000" and "97%" as written)."""

SCRIPT_STRINGS = ("tryit.busy", "tryit.outcome", "tryit.at", "tryit.reasons", "tryit.warnings", "tryit.values",
                  "tryit.unresolved", "tryit.consequences", "tryit.until", "tryit.permanent", "tryit.amount",
                  "tryit.error", "tryit.facts", "tryit.unreachable", "tryit.token_needed",
                  "consequence.open", "consequence.close", "x.list_sep")
"""The words and punctuation the script writes into the panel (the rest are in the form's HTML)."""


def panel(prose: Renderer, policy: Policy, lang: str) -> dict[str, Any]:
    """The panel's fieldsets (one per entity, in the order the policy declares its inputs) and the data its
    script reads: labels of the policy's facts and computed values, outcome and consequence words, strings."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in policy.inputs.values():
        groups.setdefault(item.path.split(".")[0] if "." in item.path else "", []).append(field(prose, item))
    model = prose.model
    fieldsets = [{"name": name, "legend": model.entities[name].label.get(lang) if name in model.entities else "",
                  "fields": fields} for name, fields in groups.items()]
    kinds = sorted({c.kind.value for rule in policy.rules for c in rule.decl.consequences})
    named: list[Input | Define] = [*policy.inputs.values(), *policy.defines.values()]
    labels = {item.path: item.label.get(lang) for item in named}
    script = {"policy": policy.id, "lang": lang, "labels": labels,
              "outcomes": {o: i18n.t(f"outcome.{o}", lang) for o in ("allow", "deny")},
              "consequences": {k: i18n.t(f"consequence.{k}", lang) for k in kinds},
              "strings": {key.removeprefix("tryit."): s(key, lang) for key in SCRIPT_STRINGS}}
    return {"fieldsets": fieldsets, "script": script}


def field(prose: Renderer, item: Input) -> dict[str, Any]:
    """One input as a control: its kind says which (select, checkboxes, date, text box), enum values are
    offered by their labels in the page's language, a unit or symbol sits beside a number's box."""
    kind = item.type.kind
    choices = []
    if kind in ("enum", "set"):
        decl = prose.model.enums[item.type.enum or ""]
        choices = [{"id": v.name.value, "label": v.label.get(prose.lang)} for v in decl.values]
    prefix, suffix = AFFIX.get(kind, ("", item.unit.label.get(prose.lang) if item.unit else ""))
    return {"path": item.path, "id": "try-" + item.path.replace(".", "-"), "label": item.label.get(prose.lang),
            "kind": kind, "choices": choices, "prefix": prefix, "suffix": suffix}
