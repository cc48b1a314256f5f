"""Nested JSON facts in, typed values keyed by input path out; every bad fact is named with its labels."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

import attrs

from policydsl.errors import PolicyDslError

MISSING = object()
MONEY_TEXT = re.compile(r"^\s*[¥￥]?\s*(-?\d+(?:\.\d+)?)\s*(元)?\s*$")
PERCENT_TEXT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*%\s*$")
MAX_DIGITS = 4300  # a count like 1e1000000 would take minutes to become an int; Python prints at most 4300 digits


@attrs.frozen(kw_only=True)
class InputSpec:
    """What the runtime knows of one input: its path, type kind, enum values and labels."""

    path: str
    kind: str  # count number money percent bool text date enum set
    label: Mapping[str, str]
    enum_values: Mapping[str, Mapping[str, str]] | None = None  # id -> {"zh", "en"}
    optional: bool = False


def loads(text: str) -> dict:
    """Parse facts JSON with exact numbers (floats become Decimal)."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise PolicyDslError("E.facts_json", reason=f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # an integer beyond Python's int digit limit
        raise PolicyDslError("E.facts_json", reason=str(exc)) from None
    if not isinstance(data, dict):
        raise PolicyDslError("E.facts_object")
    return data


def lookup(facts: Mapping[str, Any], path: str) -> Any:
    if path in facts:
        return facts[path]
    node: Any = facts
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def convert(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    """(value, None) or (None, expected-type description) when `raw` does not fit the input."""
    kind = spec.kind
    if kind == "count":
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw, None
        if (isinstance(raw, (Decimal, float)) and Decimal(raw).is_finite() and Decimal(raw).adjusted() < MAX_DIGITS
                and raw == int(raw) and raw >= 0):
            return int(raw), None
        return None, "count"
    if kind in ("number", "money"):
        value = _decimal(raw, MONEY_TEXT if kind == "money" else None)
        return (value, None) if value is not None else (None, kind)
    if kind == "percent":
        if isinstance(raw, str):
            match = PERCENT_TEXT.match(raw)
            if match:
                return Decimal(match.group(1)) / 100, None
        value = _decimal(raw, None) if not isinstance(raw, str) else None
        return (value, None) if value is not None else (None, "percent")
    if kind == "bool":
        return (raw, None) if isinstance(raw, bool) else (None, "bool")
    if kind == "text":
        return (raw, None) if isinstance(raw, str) else (None, "text")
    if kind == "date":
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw), None
            except ValueError:
                pass
        return None, "date"
    if kind == "enum":
        value = enum_id(spec, raw)
        return (value, None) if value is not None else (None, _choices(spec))
    if kind == "set":
        if isinstance(raw, list):
            ids = [enum_id(spec, item) for item in raw]
            if all(i is not None for i in ids):
                return frozenset(ids), None
        return None, "[" + _choices(spec) + "]"
    raise ValueError(kind)


def enum_id(spec: InputSpec, raw: Any) -> str | None:
    if not isinstance(raw, str) or spec.enum_values is None:
        return None
    if raw in spec.enum_values:
        return raw
    for ident, labels in spec.enum_values.items():
        if raw in labels.values():
            return ident
    return None


def _choices(spec: InputSpec) -> str:
    return " | ".join(f"{i} ({l['zh']}/{l['en']})" for i, l in (spec.enum_values or {}).items())


def _decimal(raw: Any, text_pattern: re.Pattern | None) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw) if Decimal(raw).is_finite() else None  # NaN/Infinity cannot be compared
    if isinstance(raw, float):
        return Decimal(repr(raw)) if Decimal(raw).is_finite() else None
    if isinstance(raw, str):
        match = (text_pattern or MONEY_TEXT).match(raw)
        if match and (text_pattern is not None or not raw.strip().startswith(("¥", "￥"))):
            try:
                return Decimal(match.group(1))
            except InvalidOperation:
                return None
    return None


def prepare(specs: Mapping[str, InputSpec], facts: Mapping[str, Any]) -> dict[str, Any]:
    """Convert every provided fact; raise one error listing every ill-typed fact."""
    values: dict[str, Any] = {}
    problems = []
    for path, spec in specs.items():
        raw = lookup(facts, path)
        if raw is MISSING or raw is None:
            continue
        value, expected = convert(spec, raw)
        if expected is not None:
            problems.append((spec, raw, expected))
        else:
            values[path] = value
    if problems:
        raise PolicyDslError("E.bad_facts", items={
            lang: "\n".join(_bad_line(spec, raw, expected, lang) for spec, raw, expected in problems)
            for lang in ("zh", "en")})
    return values


def _bad_line(spec: InputSpec, raw: Any, expected: str, lang: str) -> str:
    try:
        shown = json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # not JSON-shaped (tuple keys, a cycle): show the Python form
        shown = repr(raw)
    if lang == "zh":
        return f"  - {spec.path}（{spec.label['zh']} / {spec.label['en']}）：{shown}，应为 {expected}"
    return f"  - {spec.path} ({spec.label['zh']} / {spec.label['en']}): {shown}, expected {expected}"
