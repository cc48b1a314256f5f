"""The benchmarks' hand-written functions give the same output as policydsl (outcome; each reason's rule,
code, source and zh/en message; the values) on their random cases: the instruction and timing figures
in the README compare like with like. Their speed is measured by the scripts, never here."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import policydsl

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def book():
    return policydsl.load(BENCHMARKS.parent / "policies")


@pytest.mark.parametrize("module", ["bench_cart_opening", "bench_shop_deposit"])
def test_the_hand_written_function_gives_policydsls_output(book, module, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = __import__(module)
    try:
        counts = bench.check_agreement(book, bench.random_cases(600, 7))
    finally:
        sys.modules.pop(module, None)
    assert sum(counts[k] for k in ("allow", "deny")) == 600 and counts["allow"] and counts["deny"]
