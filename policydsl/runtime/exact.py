"""Decimal operands in, exact sums, differences and products out — or an error, never a rounded value.

Python's default decimal context keeps 28 significant digits and rounds silently past them (a base of
¥12345678901234567890123456789.01 at 50% lost its last digits). Evaluation instead computes in a
context of PRECISION digits that traps Inexact: a result that would need rounding is an error naming
the expression. Division alone rounds, by definition of `/`: to DIVISION_DIGITS significant digits,
half to even, whatever the caller's thread context is.
"""
from __future__ import annotations

import decimal
import operator
from decimal import Decimal
from typing import Any, Callable, Iterable

from policydsl.errors import PolicyDslError, clip

PRECISION = 100
DIVISION_DIGITS = 28
_TRAPS = [decimal.Inexact, decimal.Overflow, decimal.Underflow, decimal.InvalidOperation, decimal.DivisionByZero]
EXACT = decimal.Context(prec=PRECISION, rounding=decimal.ROUND_HALF_EVEN, Emax=10 ** 6, Emin=-10 ** 6,
                        traps=_TRAPS)
DIVISION = decimal.Context(prec=DIVISION_DIGITS, rounding=decimal.ROUND_HALF_EVEN, Emax=10 ** 6, Emin=-10 ** 6,
                           traps=[decimal.Overflow, decimal.InvalidOperation, decimal.DivisionByZero])

WIDE = decimal.Context(prec=10_000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
"""For exact conversions (normalize, quantize) of any value policydsl can hold: never rounds them."""

OPERATIONS: dict[str, Callable[[Any, Any], Decimal]] = {"+": EXACT.add, "-": EXACT.subtract, "*": EXACT.multiply}
WHOLE: dict[str, Callable[[int, int], int]] = {"count+": operator.add, "count-": operator.sub, "count*": operator.mul}
"""Arithmetic of two counts: ints, held to PRECISION digits as decimals are (a count squared again and again
grows past what Python will print)."""


def operation(op: str, text: str) -> Callable[[Any, Any], Any]:
    """The exact `op` on two numbers (int or Decimal); `text` names the expression in the error."""
    if op in WHOLE:
        return _whole(WHOLE[op], text)
    fn = OPERATIONS[op]

    def exact(a: Any, b: Any) -> Decimal:
        try:
            return fn(a, b)
        except decimal.DecimalException:
            raise precision_error(text) from None
    return exact


def _whole(fn: Callable[[int, int], int], text: str) -> Callable[[int, int], int]:
    def exact(a: int, b: int) -> int:
        result = fn(a, b)
        if -_WHOLE_LIMIT < result < _WHOLE_LIMIT:
            return result
        raise precision_error(text)
    return exact


_WHOLE_LIMIT = 10 ** PRECISION


def divide(a: Any, b: Any, text: str) -> Decimal:
    try:
        return DIVISION.divide(a, b)
    except decimal.DecimalException:
        raise precision_error(text) from None


def total(values: Iterable[Any], text: str) -> Decimal:
    """The exact sum of numbers, starting from Decimal 0."""
    result = Decimal(0)
    try:
        for value in values:
            result = EXACT.add(result, value)
    except decimal.DecimalException:
        raise precision_error(text) from None
    return result


def precision_error(text: str) -> PolicyDslError:
    return PolicyDslError("E.precision", name=clip(text), digits=PRECISION)
