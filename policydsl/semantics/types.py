"""The value types of the language and the typing rules of its operators."""
from __future__ import annotations

import attrs

from policydsl import i18n

NUMERIC = ("count", "number", "money", "percent")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


@attrs.frozen
class Type:
    kind: str  # count number money percent bool text date duration enum set enumlit
    enum: str | None = None  # for enum / set-of-enum
    unit: str | None = attrs.field(default=None, eq=False)
    maybe_not_open: bool = attrs.field(default=False, eq=False)

    def display(self) -> dict[str, str]:
        if self.kind in ("enum", "set"):
            return i18n.both(f"type.{self.kind}", enum=self.enum)
        key = f"type.{self.kind}"
        # a kind the catalogue does not name is shown as its id, the same in every language
        return i18n.both(key) if key in i18n.MESSAGES else {lang: self.kind for lang in i18n.LANGS}

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC


COUNT = Type("count")
NUMBER = Type("number")
MONEY = Type("money")
PERCENT = Type("percent")
BOOL = Type("bool")
TEXT = Type("text")
DATE = Type("date")
NOT_OPEN = Type("notopen")
OUTCOME = Type("outcome")  # a decision's outcome, inside properties only
BUILTIN_TYPES = {"count": COUNT, "number": NUMBER, "money": MONEY, "percent": PERCENT, "bool": BOOL,
                 "text": TEXT, "date": DATE}
LITERAL_TYPES = {"int": COUNT, "decimal": NUMBER, "money": MONEY, "percent": PERCENT, "bool": BOOL,
                 "text": TEXT, "date": DATE}


def enum_type(name: str) -> Type:
    return Type("enum", enum=name)


def set_type(name: str) -> Type:
    return Type("set", enum=name)


def arithmetic(op: str, left: Type, right: Type) -> Type | None:
    """Result type of `left op right`, or None when the operands do not combine."""
    a, b = left.kind, right.kind
    not_open = left.maybe_not_open or right.maybe_not_open
    result: Type | None = None
    if op in "+-":
        if a == b and a in NUMERIC:
            result = Type(a, unit=left.unit or right.unit)
        elif {a, b} == {"count", "number"}:
            result = NUMBER
        elif a == "date" and b == "duration":
            result = DATE
        elif op == "-" and a == b == "date":
            result = COUNT
    elif op == "*":
        pair = {a, b}
        if a == b == "count":
            result = COUNT
        elif pair <= {"count", "number"}:
            result = NUMBER
        elif "money" in pair and pair - {"money"} <= {"percent", "count", "number"} and pair != {"money"}:
            result = MONEY
        elif a == b == "percent" or pair == {"percent", "count"} or pair == {"percent", "number"}:
            result = PERCENT if a == b == "percent" else NUMBER
    elif op == "/":
        if a == "money" and b in ("count", "number", "percent"):
            result = MONEY
        elif a in NUMERIC and b in NUMERIC:
            result = NUMBER if a == b or b in ("count", "number") else None
            if a == "percent" and b in ("count", "number"):
                result = PERCENT
    return None if result is None else attrs.evolve(result, maybe_not_open=not_open)


def comparable(op: str, left: Type, right: Type) -> bool:
    if "notopen" in (left.kind, right.kind):  # only (in)equality with a table value
        return op in ("==", "!=") and {left.kind, right.kind} - {"notopen"} <= {"count", "number", "money", "percent", "enum", "set", "text", "notopen"}
    return ({left.kind, right.kind} <= {"count", "number"}
            or left == right and (op in ("==", "!=") or left.kind in ("money", "percent", "date")))


def assignable(target: Type, value: Type) -> bool:
    return target == value or (target.kind == "number" and value.kind == "count")


def type_names() -> str:
    return ", ".join([*BUILTIN_TYPES, "ENUM", "set of ENUM"])

