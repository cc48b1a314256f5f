"""Nested JSON facts in, typed values keyed by input path out; every bad fact is named with its labels."""
from __future__ import annotations

import datetime as dt
import json
import re
import reprlib
from decimal import Decimal, InvalidOperation
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from policydsl import i18n
from policydsl.errors import PolicyDslError, clip
from policydsl.runtime.exact import WIDE

MISSING = object()
MONEY_TEXT = re.compile(r"^\s*[¥￥]?\s*(-?\d+(?:\.\d+)?)\s*(元)?\s*$")
PERCENT_TEXT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*%\s*$")
MAX_DIGITS = 4300  # a count like 1e1000000 would take minutes to become an int; Python prints at most 4300 digits
MAX_SIGNIFICANT = 34
"""Money, numbers and percentages in facts carry at most 34 significant digits (IEEE 754 decimal128)
and lie within 10^±34; arithmetic on them is exact (runtime/exact.py), so nothing is rounded silently."""
MAX_DEPTH = 64
"""Facts nested deeper than this are refused: no input path is more than a few levels deep."""
MAX_SHOWN = 80
"""An error message shows at most this many characters of a bad value."""
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MONEY_EXPECTED = i18n.both("facts.money_expected", digits=MAX_SIGNIFICANT)
NUMBER_EXPECTED = i18n.both("facts.number_expected", digits=MAX_SIGNIFICANT)


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
        data = json.loads(text.removeprefix("\ufeff"), parse_float=exact_number, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise PolicyDslError("E.facts_json", reason=i18n.both("facts.duplicate_key", key=exc.key)) from None
    except HugeExponent as exc:
        raise PolicyDslError("E.facts_json", reason=i18n.both("facts.exponent", shown=exc.shown)) from None
    except json.JSONDecodeError as exc:
        raise PolicyDslError("E.facts_json", reason=f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # an integer beyond Python's int digit limit
        raise PolicyDslError("E.facts_json", reason=str(exc)) from None
    except RecursionError:  # the JSON decoder nests one C call per level
        raise PolicyDslError("E.facts_deep", limit=MAX_DEPTH) from None
    if not isinstance(data, dict):
        raise PolicyDslError("E.facts_object")
    if too_deep(data):
        raise PolicyDslError("E.facts_deep", limit=MAX_DEPTH)
    if _SURROGATE_ESCAPE.search(text):  # only a \uD800–\uDFFF escape can put one in: the walk is rarely needed
        lone = lone_surrogate(data)
        if lone is not None:
            raise PolicyDslError("E.facts_json", reason=i18n.both(
                "facts.surrogate", shown=clip(json.dumps(lone))))
    return data


class HugeExponent(ValueError):
    def __init__(self, text: str) -> None:
        self.shown = clip(text)
        super().__init__(i18n.t("facts.exponent", "en", shown=self.shown))


def exact_number(text: str) -> Decimal:
    """`parse_float` of JSON with exact numbers: the Decimal, or a ValueError (HugeExponent) for a number no
    Decimal holds (1e99999999999999999999), where Decimal itself raises its InvalidOperation."""
    try:
        return Decimal(text)
    except InvalidOperation:
        raise HugeExponent(text) from None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(data: Any) -> str | None:
    """The first key or string in `data` holding a lone surrogate (a `\\ud800` escape JSON lets through,
    which is no Unicode text: it could be neither printed, logged nor sent back as UTF-8), or None."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return node
        elif isinstance(node, Mapping):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = clip(json.dumps(key, ensure_ascii=False))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of facts JSON; a key given twice with different values is refused (JSON keeps the last one
    silently: `{"account": {"fans": 1}, "account": {"fans": 5000}}` was read as 5000 followers)."""
    data = dict(pairs)
    if len(data) != len(pairs):
        for key, value in pairs:
            if type(data[key]) is not type(value) or data[key] != value:  # 1 and true are equal in Python
                raise _DuplicateKey(key)
    return data


def too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether objects and arrays nest more than `limit` levels in `data` (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (Mapping, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (Mapping, list)))
    return False


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


def _money(spec: InputSpec, raw: Any) -> tuple[Any, str | Mapping[str, str] | None]:
    value = _decimal(raw, MONEY_TEXT)
    if value is None or value < 0:
        return None, MONEY_EXPECTED
    return (abs(value) if value.is_zero() else value), None  # -0 is zero, shown as ¥0


def _number(spec: InputSpec, raw: Any) -> tuple[Any, str | Mapping[str, str] | None]:
    value = _decimal(raw, None)
    return (value, None) if value is not None else (None, NUMBER_EXPECTED)


def _percent(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    """"80%" (a string with a percent sign) or a fraction between 0 and 1 (0.8); a bare number
    above 1 is ambiguous (80 could mean 80% or 8000%) and is refused."""
    if isinstance(raw, str):
        match = PERCENT_TEXT.match(raw) if len(raw) <= 4 * MAX_SIGNIFICANT else None
        value = Decimal(match.group(1) + "E-2") if match else None  # exact: no context rounding
        return (value, None) if value is not None and within_precision(value) else (None, 'percent "80%"')
    value = _decimal(raw, None)
    if value is None or abs(value) > 1:
        return None, 'percent "80%" (or a fraction 0–1)'
    return value, None


def _bool(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    return (raw, None) if raw is True or raw is False else (None, "bool")


def _text(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    return (raw, None) if isinstance(raw, str) else (None, "text")


def iso_date(text: Any) -> dt.date:
    """A day written YYYY-MM-DD (ASCII digits), the one form every command, fact and file accepts; a
    ValueError otherwise (fromisoformat alone also takes 2023-W51-3 and 20231220)."""
    if not isinstance(text, str) or not DATE_TEXT.fullmatch(text):
        raise ValueError(text)
    return dt.date.fromisoformat(text)


def _date(spec: InputSpec, raw: Any) -> tuple[Any, str | None]:
    try:
        return iso_date(raw), None
    except ValueError:
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


def convert(spec: InputSpec, raw: Any) -> tuple[Any, str | Mapping[str, str] | None]:
    """(value, None) or (None, expected-type description, one text or zh/en) when `raw` does not fit."""
    return CONVERTERS[spec.kind](spec, raw)


def convert_value(spec: InputSpec, raw: Any) -> tuple[Any, str | Mapping[str, str] | None]:
    """`convert` for a computed value a test expects rather than a fact: an amount may be negative."""
    if spec.kind == "money":
        value = _decimal(raw, MONEY_TEXT)
        return (value, None) if value is not None else (None, MONEY_EXPECTED)
    return convert(spec, raw)


def enum_id(spec: InputSpec, raw: Any) -> str | None:
    if not isinstance(raw, str) or spec.enum_values is None:
        return None
    if raw in spec.enum_values:
        return raw
    return next((ident for ident, labels in spec.enum_values.items() if raw in labels.values()), None)


def _choices(spec: InputSpec) -> str:
    return " | ".join(f"{i} ({l['zh']}/{l['en']})" for i, l in (spec.enum_values or {}).items())


def _decimal(raw: Any, text_pattern: re.Pattern | None) -> Decimal | None:
    """An exact Decimal within the stated precision (MAX_SIGNIFICANT), or None."""
    if isinstance(raw, bool):
        return None
    value: Decimal | None = None
    if isinstance(raw, int):
        value = Decimal(raw) if abs(raw) < 10 ** MAX_SIGNIFICANT else None
    elif isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, float):
        value = Decimal(repr(raw))
    elif isinstance(raw, str) and len(raw) <= 4 * MAX_SIGNIFICANT:
        match = (text_pattern or MONEY_TEXT).match(raw)
        if match and (text_pattern is not None or not raw.strip().startswith(("¥", "￥"))):
            try:
                value = Decimal(match.group(1))
            except InvalidOperation:
                value = None
    return value if value is not None and within_precision(value) else None


def within_precision(value: Decimal) -> bool:
    """Finite, at most MAX_SIGNIFICANT significant digits, and of a magnitude within 10^±MAX_SIGNIFICANT."""
    if not value.is_finite():  # NaN/Infinity cannot be compared
        return False
    if value.is_zero():
        return True
    digits = len(WIDE.normalize(value).as_tuple().digits)
    return digits <= MAX_SIGNIFICANT and -MAX_SIGNIFICANT <= value.adjusted() < MAX_SIGNIFICANT


def prepare(specs: Mapping[str, InputSpec], facts: Mapping[str, Any]) -> dict[str, Any]:
    """Convert every provided fact; raise one error listing every ill-typed fact."""
    values, problems = convert_all(specs, facts)
    if problems:
        raise bad_facts(problems)
    return values


Problem = tuple[InputSpec, Any, Any]  # the fact's spec, the value given, what was expected


def convert_all(specs: Mapping[str, InputSpec], facts: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """Every provided fact converted, and the ill-typed ones left out and listed (a reader that needs only some
    facts, a book's overlap, then fails only if it reads one of them: `bad_facts` of those)."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for path, spec in specs.items():
        raw = lookup(facts, path, spec.parts)
        if raw is MISSING or raw is None:
            continue
        value, expected = spec.converter(spec, raw)
        if expected is not None:
            problems.append((spec, raw, expected))
        else:
            values[path] = value
    return values, problems


def bad_facts(problems: Iterable[Problem]) -> PolicyDslError:
    """The error naming each ill-typed fact with its labels, the value given and what was expected."""
    problems = list(problems)
    return PolicyDslError("E.bad_facts", facts=[spec.path for spec, _, _ in problems], items={
        lang: "\n".join(_bad_line(spec, raw, expected, lang) for spec, raw, expected in problems)
        for lang in ("zh", "en")})


def _bad_line(spec: InputSpec, raw: Any, expected: str | Mapping[str, str], lang: str) -> str:
    shown = shorten(raw)
    expected = expected if isinstance(expected, str) else expected[lang]
    return i18n.t("facts.bad", lang, path=spec.path, zh=spec.label["zh"], en=spec.label["en"], shown=shown,
                  expected=expected)


def shorten(raw: Any, limit: int = MAX_SHOWN) -> str:
    """A bad value as JSON, cut to `limit` characters (a 50 MB value is not echoed back); values nested
    deeply are abbreviated, and values not JSON-shaped are shown in a bounded Python form."""
    if isinstance(raw, (Mapping, list)) and too_deep(raw, 8):
        return "{…}" if isinstance(raw, Mapping) else "[…]"
    if isinstance(raw, str) and len(raw) > limit:
        raw = raw[:limit + 1]  # enough to show the cut; the length is reported from the original below
    try:
        shown = json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):  # not JSON-shaped (tuple keys, a cycle): the Python form
        shown = reprlib.repr(raw)
    if len(shown) > limit:
        shown = shown[:limit] + "…"
    return shown
