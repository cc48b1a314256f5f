"""A rollout, a stable id and a date in; whether the id is covered out, by a SHA-256 bucket and a linear ramp."""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from fractions import Fraction
from typing import Sequence

import attrs


@attrs.frozen(kw_only=True)
class PhaseSpec:
    name: str
    start: dt.date
    end: dt.date
    ramp_from: Decimal
    ramp_to: Decimal


def bucket(rollout: str, key: str) -> Fraction:
    """A number in [0, 1) fixed for (rollout, key): the first 8 bytes of SHA-256, as a fraction."""
    return Fraction(bucket_bits(rollout, key), 1 << 64)


def bucket_bits(rollout: str, key: str) -> int:
    """The bucket's numerator over 2^64: `bucket < share` is `bucket_bits < below(share)`."""
    return int.from_bytes(hashlib.sha256(f"{rollout}\x00{key}".encode("utf-8")).digest()[:8], "big")


def below(share: Fraction) -> int:
    """The least numerator over 2^64 not below `share`: a bucket is below `share` when its bits are below this."""
    return -(-share.numerator * (1 << 64) // share.denominator)


def share(phases: Sequence[PhaseSpec], at: dt.date) -> tuple[Fraction, str | None]:
    """The covered share on `at` and the phase in force (None before the first and after the last)."""
    if not phases or at < phases[0].start:
        return Fraction(0), None
    for phase in phases:
        if phase.start <= at <= phase.end:
            span = (phase.end - phase.start).days
            done = Fraction((at - phase.start).days, span) if span else Fraction(1)
            low, high = Fraction(phase.ramp_from), Fraction(phase.ramp_to)
            return low + (high - low) * done, phase.name
        if at < phase.start:  # a hole between phases keeps the previous share
            return Fraction(phases[phases.index(phase) - 1].ramp_to), None
    return Fraction(phases[-1].ramp_to), None


def covered(rollout: str, phases: Sequence[PhaseSpec], key: str, at: dt.date) -> bool:
    value, _ = share(phases, at)
    return value >= 1 or bucket(rollout, key) < value


def phase_at(phases: Sequence[PhaseSpec], at: dt.date) -> str:
    """The name of the phase in force on `at`, or "after" the whole rollout, or "before" (a hole between
    phases is "before" the next)."""
    return share(phases, at)[1] or ("after" if phases and at > phases[-1].end else "before")
