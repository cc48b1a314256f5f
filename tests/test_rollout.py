"""Rollout buckets are stable across processes; shares follow the linear ramp exactly."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction

import pytest

import policydsl
from policydsl.runtime.rollout import PhaseSpec, bucket, covered, share

from conftest import POLICIES, ROOT

D = dt.date
ROLLOUT = "own_store_rollout"
PHASES = (
    PhaseSpec(name="pilot", start=D(2023, 11, 11), end=D(2023, 12, 20), ramp_from=Decimal("0"),
              ramp_to=Decimal("1")),
    PhaseSpec(name="full", start=D(2023, 12, 21), end=D(2023, 12, 31), ramp_from=Decimal("1"),
              ramp_to=Decimal("1")),
)
KEYS = [f"dy{i:05d}" for i in range(10_000)]


# ------------------------------------------------------------------ buckets
def test_bucket_is_the_first_eight_bytes_of_sha256_as_a_fraction():
    value = bucket(ROLLOUT, "dy0007")
    digest = hashlib.sha256(b"own_store_rollout\x00dy0007").digest()
    assert value == Fraction(int.from_bytes(digest[:8], "big"), 2 ** 64)
    assert str(value) == "4589391920604869101/4611686018427387904"  # golden: must never drift


def test_bucket_lies_in_the_unit_interval():
    for key in KEYS[:2000] + ["", "账号", "\x00", "a" * 1000]:
        value = bucket(ROLLOUT, key)
        assert isinstance(value, Fraction)
        assert 0 <= value < 1


def test_bucket_depends_on_rollout_and_key():
    assert bucket(ROLLOUT, "dy0007") != bucket(ROLLOUT, "dy0008")
    assert bucket(ROLLOUT, "dy0007") != bucket("other_rollout", "dy0007")
    # the separator keeps ("ab", "c") and ("a", "bc") apart
    assert bucket("ab", "c") != bucket("a", "bc")


@pytest.mark.parametrize("hash_seed", ["1", "4242"])
def test_bucket_is_stable_in_a_separate_process(hash_seed):
    code = ("from policydsl.runtime.rollout import bucket; "
            "print(bucket('own_store_rollout', 'dy0007'))")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            cwd=str(ROOT), timeout=60, check=True)
    assert result.stdout.strip() == str(bucket(ROLLOUT, "dy0007"))
    assert result.stdout.strip() == "4589391920604869101/4611686018427387904"


# ------------------------------------------------------------------ share
@pytest.mark.parametrize("day, expected, phase", [
    (D(2023, 1, 1), Fraction(0), None),
    (D(2023, 11, 10), Fraction(0), None),         # before the first phase
    (D(2023, 11, 11), Fraction(0), "pilot"),      # pilot start
    (D(2023, 11, 12), Fraction(1, 39), "pilot"),  # 1/39 of the way to 100%
    (D(2023, 11, 25), Fraction(14, 39), "pilot"),
    (D(2023, 12, 10), Fraction(29, 39), "pilot"),
    (D(2023, 12, 11), Fraction(30, 39), "pilot"),  # the first day of mid-December is still ramping
    (D(2023, 12, 19), Fraction(38, 39), "pilot"),
    (D(2023, 12, 20), Fraction(1), "pilot"),      # pilot end: the last day of mid-December, 100%
    (D(2023, 12, 21), Fraction(1), "full"),       # full start
    (D(2023, 12, 31), Fraction(1), "full"),       # full end
    (D(2024, 1, 1), Fraction(1), None),           # after the last phase: the final ramp value
    (D(2030, 6, 1), Fraction(1), None),
])
def test_share_of_the_two_phase_ramp(day, expected, phase):
    assert share(PHASES, day) == (expected, phase)


def test_share_without_phases_is_zero():
    assert share((), D(2023, 12, 1)) == (Fraction(0), None)


def test_share_keeps_the_previous_value_in_a_hole_and_handles_a_one_day_phase():
    phases = (
        PhaseSpec(name="a", start=D(2024, 1, 1), end=D(2024, 1, 1), ramp_from=Decimal("0.1"),
                  ramp_to=Decimal("0.2")),
        PhaseSpec(name="b", start=D(2024, 1, 10), end=D(2024, 1, 20), ramp_from=Decimal("0.3"),
                  ramp_to=Decimal("0.9")),
    )
    assert share(phases, D(2024, 1, 1)) == (Fraction(1, 5), "a")   # zero-length span: the end value
    assert share(phases, D(2024, 1, 5)) == (Fraction(1, 5), None)  # the hole keeps the last value
    assert share(phases, D(2024, 1, 15)) == (Fraction(3, 5), "b")
    assert share(phases, D(2024, 2, 1)) == (Fraction(9, 10), None)


def test_the_real_policy_declares_the_phases_tested_here():
    rule_book = policydsl.load(POLICIES)
    declared = rule_book.policies["official_account.own_store_only"].rollouts[ROLLOUT]
    assert declared.key.value == "account.id"
    assert [(p.name.value, p.start, p.end, p.ramp_from, p.ramp_to) for p in declared.phases] == [
        (p.name, p.start, p.end, p.ramp_from, p.ramp_to) for p in PHASES]


# ------------------------------------------------------------------ covered
def _days(start: dt.date, end: dt.date):
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def test_dy0007_is_first_covered_on_the_last_day_of_mid_december():
    # its bucket is ≈ 0.99517, above every share before the ramp reaches 100% on 2023-12-20
    covered_days = [d for d in _days(D(2023, 11, 1), D(2024, 1, 5)) if covered(ROLLOUT, PHASES, "dy0007", d)]
    assert covered_days[0] == D(2023, 12, 20)
    assert covered_days == list(_days(D(2023, 12, 20), D(2024, 1, 5)))


def test_nobody_is_covered_before_the_pilot_or_on_its_first_day_and_everybody_after():
    for key in KEYS[:500]:
        assert not covered(ROLLOUT, PHASES, key, D(2023, 11, 10))
        assert not covered(ROLLOUT, PHASES, key, D(2023, 11, 11))  # share 0 covers nobody
        assert covered(ROLLOUT, PHASES, key, D(2023, 12, 20))
        assert covered(ROLLOUT, PHASES, key, D(2023, 12, 31))
        assert covered(ROLLOUT, PHASES, key, D(2024, 3, 1))


def test_covered_is_monotone_in_the_date_for_each_key():
    days = list(_days(D(2023, 11, 1), D(2024, 1, 10)))
    for key in KEYS[:300] + ["dy0007"]:
        flags = [covered(ROLLOUT, PHASES, key, d) for d in days]
        first = flags.index(True)
        assert flags == [False] * first + [True] * (len(flags) - first), key
        # the first covered day is the first day the share passes the key's bucket
        assert share(PHASES, days[first])[0] > bucket(ROLLOUT, key) or share(PHASES, days[first])[0] == 1
        if first:
            assert share(PHASES, days[first - 1])[0] <= bucket(ROLLOUT, key)


@pytest.mark.parametrize("day, expected_count", [
    (D(2023, 11, 25), 3594),   # share 14/39 ≈ 35.90%
    (D(2023, 12, 1), 5134),    # share 20/39 ≈ 51.28%
    (D(2023, 12, 19), 9735),   # share 38/39 ≈ 97.44%
    (D(2023, 12, 20), 10_000),
])
def test_covered_fraction_over_ten_thousand_keys_tracks_the_share(day, expected_count):
    count = sum(covered(ROLLOUT, PHASES, key, day) for key in KEYS)
    assert count == expected_count  # the key set is fixed, so the count is exact and repeatable
    target = share(PHASES, day)[0]
    assert abs(Fraction(count, len(KEYS)) - target) <= Fraction(2, 100)


def test_covered_through_the_rule_book_matches_the_runtime():
    rule_book = policydsl.load(POLICIES)
    facts = {"shop": {"type": "individual_store", "cross_border": False, "closed": False},
             "account": {"role": "authorised", "id": "dy0007"}, "product": {"own_store": False, "scene": "live"}}
    outcomes = {d: rule_book.evaluate("official_account.own_store_only", facts, at=d).outcome
                for d in (D(2023, 11, 20), D(2023, 12, 11), D(2023, 12, 19), D(2023, 12, 20), D(2024, 2, 1))}
    assert outcomes == {D(2023, 11, 20): "allow", D(2023, 12, 11): "allow", D(2023, 12, 19): "allow",
                        D(2023, 12, 20): "deny", D(2024, 2, 1): "deny"}


def test_a_buckets_bits_below_the_shares_bound_are_exactly_the_buckets_below_the_share() -> None:
    """simulate sorts buckets as integers over 2^64 and counts those below `below(share)`: the same ids as
    `bucket < share`, at shares that are a bucket exactly, one 2^-64 off it either way, and ordinary ramps."""
    from policydsl.runtime.rollout import below, bucket_bits

    keys = [f"dy{i:04d}" for i in range(2000)]
    exact = [bucket(ROLLOUT, k) for k in keys[:20]]
    shares = [Fraction(0), Fraction(1, 3), Fraction(1, 2), Fraction(999, 1000), *exact,
              *(b + Fraction(1, 1 << 64) for b in exact), *(b - Fraction(1, 1 << 64) for b in exact if b > 0),
              *(b + Fraction(1, 1 << 66) for b in exact)]
    for s in shares:
        assert [bucket_bits(ROLLOUT, k) < below(s) for k in keys] == [bucket(ROLLOUT, k) < s for k in keys], s
    assert bucket(ROLLOUT, "dy0007") == Fraction(bucket_bits(ROLLOUT, "dy0007"), 1 << 64)
