"""The "try it" panel of a policy page: a form for the policy's inputs, built at render time, that the page's
script (assets/tryit.js) posts to the decision service and whose answer it shows.

Every word and choice is decided here, in the page's language, from the model the rest of the page is rendered
from: the script only reads the controls, nests the facts by their dotted paths, and words the decision JSON as
`policydsl eval --lang` does, from what it is handed here: each value's label, kind, unit and enum labels (the
same data the compiler hands the runtime's `display`), and the very catalogue templates the command line fills
(`value.money` is "¥{whole:,}{frac}" in English: the script reads the `:,` as Python does, thousands by commas).
A handbook opened from disk never shows the panel: the script reveals it only once the same origin's
`/v1/status` answers, that is when `policydsl serve --docs` serves the page."""
from __future__ import annotations

from typing import Any

from policydsl import i18n
from policydsl.compile.compiler import value_units
from policydsl.docs.prose import Renderer
from policydsl.docs.strings import s
from policydsl.runtime import explain  # noqa: F401 (registers the explain.* templates CLI_FORMATS names)
from policydsl.semantics.model import Define, Input, Model, Policy

AFFIX = {"money": ("¥", ""), "percent": ("", "%")}
"""The symbol a money or percent field shows beside its box (the facts take "¥86000" and "97%" as written)."""

SCRIPT_STRINGS = ("tryit.busy", "tryit.outcome", "tryit.at", "tryit.reasons", "tryit.warnings", "tryit.values",
                  "tryit.unresolved", "tryit.consequences", "tryit.error", "tryit.facts", "tryit.unreachable",
                  "tryit.token_needed")
"""The words and punctuation the script writes into the panel (the rest are in the form's HTML)."""
CLI_FORMATS = ("value.count", "value.money", "value.none", "true", "false", "list.sep", "not_open",
               *(key for key in i18n.MESSAGES if key.startswith("duration.")),
               "consequence.until", "consequence.permanent", "consequence.amount", "unresolved.line",
               "unresolved.fact", "unresolved.sep", "explain.list_sep", "explain.colon")
"""The catalogue templates `eval`'s text output fills (runtime/values.display, runtime/explain's consequence and
unresolved lines), handed to the script unfilled: their placeholders are `{name}` or `{name:,}` only."""


def panel(prose: Renderer, policy: Policy, lang: str) -> dict[str, Any]:
    """The panel's fieldsets (one per entity, in the order the policy declares its inputs) and the data its
    script reads: how to show the policy's facts and computed values, outcome and consequence words, the
    command line's templates, the panel's own strings."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in policy.inputs.values():
        groups.setdefault(item.path.split(".")[0] if "." in item.path else "", []).append(field(prose, item))
    model = prose.model
    fieldsets = [{"name": name, "legend": model.entities[name].label.get(lang) if name in model.entities else "",
                  "fields": fields} for name, fields in groups.items()]
    kinds = sorted({c.kind.value for rule in policy.rules for c in rule.decl.consequences})
    script = {"policy": policy.id, "lang": lang, **values(model, policy, lang),
              "outcomes": {o: i18n.t(f"outcome.{o}", lang) for o in ("allow", "deny")},
              "consequences": {k: i18n.t(f"consequence.{k}", lang) for k in kinds},
              "formats": {key: i18n.t(key, lang) for key in CLI_FORMATS},
              "strings": {key.removeprefix("tryit."): s(key, lang) for key in SCRIPT_STRINGS}}
    return {"fieldsets": fieldsets, "script": script}


def values(model: Model, policy: Policy, lang: str) -> dict[str, Any]:
    """What the script needs to show a fact or computed value as `eval` does, in the page's language: by path its
    label, kind, enum and unit label (from the same fields, and the same `value_units`, as the compiled policy
    `eval` formats with), and the labels of the enums they use, by value id."""
    named: list[Input | Define] = [*policy.inputs.values(), *policy.defines.values()]
    units = value_units(policy)
    shown = {item.path: {"label": item.label.get(lang), "kind": item.type.kind, "enum": item.type.enum,
                         "unit": units[item.path][lang] if item.path in units else None} for item in named}
    used = sorted({item.type.enum for item in named if item.type.enum})
    return {"values": shown,
            "enums": {name: {v.name.value: v.label.get(lang) for v in model.enums[name].values} for name in used}}


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
