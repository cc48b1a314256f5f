"""shop.deposit by hand, for benchmarks/instructions.py: a table of deposits by subject and category,
the deposit the highest over the categories chosen, and a personal subject denied a category that is
not open to it.

`random_cases(n, seed)` draws records the policy decides (no not-stated cell, at least one category);
`check_agreement(book, cases)` asserts that policydsl and `baseline` give the same output on every one
(outcome; each reason's rule, code, source and zh/en message; the deposit). Run it directly for a quick timing: `.venv/bin/python
benchmarks/bench_shop_deposit.py [--n 2000]`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
POLICY = "shop.deposit"
FIRST_DAY, LAST_DAY = dt.date(2020, 4, 7), dt.date(2024, 12, 31)
NOT_OPEN = "not_open"  # the baseline's own marker of a category not open to the subject
STATED = ("apparel_underwear", "jewellery_collectibles", "mother_baby")
CATEGORIES = STATED + ("sports_outdoor", "shoes_boots", "kitchenware", "other_primary")
TABLE = {
    "individual_business": dict(zip(STATED, (Decimal(2000), Decimal(20000), Decimal(5000)))),
    "enterprise": dict(zip(STATED, (Decimal(4000), Decimal(20000), Decimal(10000)))),
    "personal": dict(zip(CATEGORIES, (Decimal(500), NOT_OPEN, NOT_OPEN, Decimal(500), Decimal(500), Decimal(500),
                                      NOT_OPEN))),
}


LABELS = {"apparel_underwear": ("服饰内衣", "Apparel & underwear"), "jewellery_collectibles": ("珠宝文玩", "Jewellery & collectibles"),
          "mother_baby": ("母婴", "Mother & baby"), "sports_outdoor": ("运动户外", "Sports & outdoor"),
          "shoes_boots": ("鞋靴", "Shoes & boots"), "kitchenware": ("厨具", "Kitchenware"),
          "other_primary": ("其余一级类目", "Any other primary category")}
SOURCE = {"document": "002_aade72db7b1d0545.txt", "quote": "至于其余的一级类目对个人主体是处暂不招商的状态"}


def baseline(facts: dict[str, Any], at: dt.date) -> tuple[str, list[tuple], dict[str, Any]]:
    """shop.deposit by hand, with the output policydsl gives: (outcome, reasons, values), a reason
    (rule, code, source, {"zh", "en"} message with the chosen categories' labels filled in); the
    deposit is the highest cell over the categories, or not open when one of them is."""
    if at < FIRST_DAY:
        raise ValueError(f"shop.deposit is not in force on {at}")
    kind = facts["account"]["kind"]
    categories = facts["shop"]["categories"]
    row = TABLE[kind]
    cells = [row[c] for c in categories]
    closed = NOT_OPEN in cells
    deposit = NOT_OPEN if closed else max(cells)
    reasons = []
    if kind == "personal" and closed:
        chosen = sorted(set(categories))
        zh = "、".join(LABELS[c][0] for c in chosen)
        en = ", ".join(LABELS[c][1] for c in chosen)
        reasons.append(("personal_categories_not_open", "category_not_open_to_personal", SOURCE, {
            "zh": f"个人主体仅可在服饰内衣、运动户外、鞋靴、厨具一级类目开店，其余的一级类目对个人主体是处暂不招商的状态（所选：{zh}）",
            "en": "A personal subject may open a shop only in Apparel & underwear, Sports & outdoor, Shoes & boots or "
                  f"Kitchenware; every other primary category is not open to personal subjects (chosen: {en})"}))
    return ("deny" if reasons else "allow"), reasons, {"shop.deposit": deposit}


def random_cases(n: int, seed: int) -> list[tuple[dict[str, Any], dt.date]]:
    rng = random.Random(seed)
    span = (LAST_DAY - FIRST_DAY).days
    cases = []
    for _ in range(n):
        kind = rng.choice(tuple(TABLE))
        choices = CATEGORIES if kind == "personal" else STATED
        categories = rng.sample(choices, rng.randint(1, min(3, len(choices))))
        facts = {"account": {"kind": kind}, "shop": {"categories": categories}}
        cases.append((facts, FIRST_DAY + dt.timedelta(days=rng.randint(0, span))))
    return cases


def check_agreement(book: Any, cases: list[tuple[dict[str, Any], dt.date]]) -> dict[str, int]:
    from policydsl.runtime.values import NOT_OPEN as DSL_NOT_OPEN

    counts = {"allow": 0, "deny": 0}
    for facts, at in cases:
        decision = book.evaluate(POLICY, facts, at, trace=False)
        expected = baseline(facts, at)
        value = decision.values["shop.deposit"]
        got = (decision.outcome, [(r.rule, r.code, r.source, dict(r.message)) for r in decision.reasons],
               {"shop.deposit": NOT_OPEN if value is DSL_NOT_OPEN else value})
        assert got == expected, f"disagreement on {facts} @ {at}: {got} vs {expected}"
        outcome = expected[0]
        counts[outcome] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20231220)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from policydsl import load

    book = load(POLICIES)
    cases = random_cases(args.n, args.seed)
    print("agreement:", check_agreement(book, cases))
    for name, fn in (("hand-written", lambda: [baseline(f, at) for f, at in cases]),
                     ("evaluate(trace=False)", lambda: [book.evaluate(POLICY, f, at, trace=False) for f, at in cases]),
                     ("evaluate(trace=True)", lambda: [book.evaluate(POLICY, f, at, trace=True) for f, at in cases])):
        best = min(_time(fn) for _ in range(5))
        print(f"{name:<24}{best / args.n * 1e6:8.2f} µs/decision")


def _time(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
