"""Nested JSON facts in, typed values keyed by input path out; every bad fact is named with its labels."""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from collections.abc import Mapping
from typing import Any

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
    parts: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)
    converter: Any = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "parts", tuple(self.path.split(".")))
        object.__setattr__(self, "converter", CONVERTERS[self.kind])


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


def lookup(facts: Mapping[str, Any], path: str, parts: tuple[str, ...] | None = None) -> Any:
    """The raw fact at a dotted path, from a flat key (`"account.fans"`) or nested objects."""
    if path in facts:
        return facts[path]
    node: Any = facts
    for part in parts or path.split("."):
        if type(node) is not dict and not isinstance(node, Mapping):
            return MISSING
        node = node.get(part, MISSING)
        if node is MISSING:
            return MISSING
    return node


def _count(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    if type(raw) is int and raw >= 0:
        return raw, None
    if (isinstance(raw, (Decimal, float)) and Decimal(raw).is_finite() and Decimal(raw).adjusted() < MAX_DIGITS
            and raw == int(raw) and raw >= 0):
        return int(raw), None
    return None, "count"


def _money(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    value = _decimal(raw, MONEY_TEXT)
    return (value, None) if value is not None else (None, "money")


def _number(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    value = _decimal(raw, None)
    return (value, None) if value is not None else (None, "number")


def _percent(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    """"80%" (a string with a percent sign) or a fraction between 0 and 1 (0.8); a bare number
    above 1 is ambiguous (80 could mean 80% or 8000%) and is refused."""
    if isinstance(raw, str):
        match = PERCENT_TEXT.match(raw)
        return (Decimal(match.group(1)) / 100, None) if match else (None, 'percent "80%"')
    value = _decimal(raw, None)
    if value is None or abs(value) > 1:
        return None, 'percent "80%" (or a fraction 0–1)'
    return value, None


def _bool(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    return (raw, None) if raw is True or raw is False else (None, "bool")


def _text(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    return (raw, None) if isinstance(raw, str) else (None, "text")


def _date(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, str) and len(raw) == 10:
        try:
            return dt.date.fromisoformat(raw), None
        except ValueError:
            pass
    return None, "date YYYY-MM-DD"


def _enum(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    value = enum_id(spec, raw)
    return (value, None) if value is not None else (None, _choices(spec))


def _set(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, list):
        ids = [enum_id(spec, item) for item in raw]
        if all(i is not None for i in ids):
            return frozenset(ids), None
    return None, "[" + _choices(spec) + "]"


CONVERTERS = {"count": _count, "money": _money, "number": _number, "percent": _percent, "bool": _bool,
              "text": _text, "date": _date, "enum": _enum, "set": _set}


def convert(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    """(value, None) or (None, expected-type description) when `raw` does not fit the input."""
    return CONVERTERS[spec.kind](spec, raw)


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
        raw = lookup(facts, path, spec.parts)
        if raw is MISSING or raw is None:
            continue
        value, expected = spec.converter(spec, raw)
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
