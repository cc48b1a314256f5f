"""The words of feature files that the handbook reads too: outcomes, truth values and fact values as
written in a scenario. No pytest here: rendering the handbook must not need the [bdd] extra."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from policydsl.runtime.facts import InputSpec

OUTCOMES = {"allow": "allow", "允许": "allow", "deny": "deny", "拒绝": "deny"}
TRUE_WORDS = {"true", "yes", "是", "真"}
FALSE_WORDS = {"false", "no", "否", "假"}


def unquote(text: str) -> str:
    """A step's value as written, without the double quotes around it (`"¥500"` is `¥500`)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def find_input(inputs: Mapping[str, InputSpec], name: str) -> InputSpec | None:
    """The input a feature names by its id or either label (shared with the handbook's worked examples)."""
    return next((spec for spec in inputs.values() if name in (spec.path, spec.label["zh"], spec.label["en"])), None)


def raw_fact(spec: InputSpec, text: str) -> Any:
    """Feature text to the JSON-like value facts.convert expects, by the input's kind."""
    text = text.strip()
    low = text.lower()
    if spec.kind == "bool":
        return True if low in TRUE_WORDS else False if low in FALSE_WORDS else text
    if spec.kind == "count":  # ASCII digits within Python's limit for int(); else the text, refused as a count
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 4300 else text
    if spec.kind == "number":
        try:
            return Decimal(text)
        except ArithmeticError:
            return text
    if spec.kind == "set":
        parts = [p.strip() for p in text.replace("、", ",").replace("，", ",").split(",")]
        return [p for p in parts if p] if text not in ("无", "none", "{}") else []
    return text
