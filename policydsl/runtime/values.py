"""Runtime values: the not-open marker, exact number handling, and bilingual display/JSON forms."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from policydsl import i18n
from policydsl.runtime.exact import WIDE
from typing import Any, Callable, Iterable, Mapping, cast


class _NotOpen:
    """A table cell marked `not_open` (暂不招商): a value, not an error, until computed with."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_OPEN"

    def __reduce__(self):
        return (_NotOpen, ())


NOT_OPEN = _NotOpen()
UNIT_KINDS = ("count", "number")
"""The kinds a `unit` may qualify: their values are shown with the unit's label."""


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 0.80 -> '0.8', 2E+4 -> '20000'."""
    return format(WIDE.normalize(Decimal(value)), "f")  # an int (count literal in a number) is exact too


def money_text(value: Decimal) -> str:
    """Money with cents when it has any: 20000 -> '20000.00' is not forced; 0.3 -> '0.30'."""
    value = Decimal(value)  # an empty `sum` is the int 0
    if value == value.to_integral_value():
        return plain(value)
    try:
        cents = WIDE.quantize(value, Decimal("0.01"))
    except InvalidOperation:  # more digits than any value policydsl holds
        return plain(value)
    if value == cents:
        return format(cents, "f")
    return plain(value)


def percent_text(value: Decimal) -> str:
    return plain(Decimal(value).scaleb(2, WIDE)) + "%"


def to_json(kind: str, value: object) -> object:
    """The decision-JSON form: money and percentages as strings, dates ISO, sets as sorted lists. (The type of
    `value` follows the runtime tag `kind`, which mypy cannot see: hence the casts here and in `display`.)"""
    if value is NOT_OPEN:
        return "not_open"
    if kind == "money":
        return money_text(value)  # type: ignore[arg-type]
    if kind == "percent":
        return percent_text(value)  # type: ignore[arg-type]
    if kind == "number":
        return plain(value)  # type: ignore[arg-type]
    if kind == "date":
        return cast(dt.date, value).isoformat()
    if kind == "set":
        return sorted(cast("Iterable[str]", value))
    if kind == "duration":
        amount, unit = cast("tuple[Any, str]", value)
        return f"{amount} {unit}"
    return value


def display(kind: str, value: object, lang: str, enum_label: Callable[[str], Mapping[str, str]] | None = None,
            unit: Mapping[str, str] | None = None) -> str:
    """The text a reader sees for a value in `lang`; a count or number with a `unit` (its labels by
    language) is followed by the unit's label, as the handbook shows it: `1000 人`, `1,000 followers`."""
    if value is NOT_OPEN:
        return i18n.t("not_open", lang)
    if kind == "count":
        text = i18n.t("value.count", lang).format(n=value)  # the template filled directly: a count shown is hot
        return text if unit is None else f"{text} {unit[lang]}"
    if kind == "money":
        whole, _, frac = money_text(value).partition(".")  # type: ignore[arg-type]
        return i18n.t("value.money", lang).format(whole=Decimal(whole), frac=f".{frac}" if frac else "")  # keeps "-0"
    if kind == "percent":
        return percent_text(value)  # type: ignore[arg-type]
    if kind == "number":
        text = plain(value)  # type: ignore[arg-type]
        return text if unit is None else f"{text} {unit[lang]}"
    if kind == "bool":
        return i18n.t("true" if value else "false", lang)
    if kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "enum" and enum_label is not None:
        return enum_label(value)[lang]  # type: ignore[arg-type]
    if kind == "set" and enum_label is not None:
        if not value:
            return i18n.t("value.none", lang)
        return i18n.t("list.sep", lang).join(enum_label(v)[lang] for v in sorted(cast("Iterable[str]", value)))
    if kind == "duration":
        amount, step = cast("tuple[Any, str]", value)
        return i18n.t(f"duration.{step}", lang, n=amount)
    return str(value)
