"""Benchmark: cart.opening evaluated by policydsl versus a hand-written Python function, plus cold check time.

Run with `.venv/bin/python benchmarks/bench_cart_opening.py [--n 10000] [--seed 20231220] [--repeat 5]`.
It first asserts that both give the same output (outcome; each reason's rule, code, source and zh/en
message; the values) on every random fact set, then
times both in the same process (best of N repetitions, time.perf_counter) and prints a table. This is
a script, not a test: timings are never asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
POLICY = "cart.opening"
FIRST_DAY, LAST_DAY = dt.date(2020, 4, 7), dt.date(2024, 12, 31)
KINDS = ("personal", "enterprise", "individual_business")
BOOLS = ("phone_bound", "real_name", "business_licence", "industry_licence", "corporate_verified",
         "legal_person_face_verified")


# ------------------------------------------------------------------ the hand-written baseline
RULE_2020 = (dt.date(2020, 4, 7), dt.date(2022, 12, 31))
RULE_2023 = dt.date(2023, 1, 1)
MIN_FANS = 1000


D000, D001 = "000_48d28f6fa54ab537.txt", "001_a14ff54ea7c4ae32.txt"


def _rule(rule: str, code: str, document: str, quote: str, zh: str = "", en: str = "") -> tuple:
    """(rule, code, source, message): a reason whose message has no values is one constant."""
    return rule, code, {"document": document, "quote": quote}, {"zh": zh, "en": en}


FANS_2020 = _rule("fans_2020", "fans_below_threshold", D001, "1000粉丝且已发布10个以上公开原创视频的所有抖音用户,都可以提交申请")
VIDEOS_2020 = _rule("videos_2020", "too_few_videos", D001, "已发布10个以上公开原创视频")
PHONE_2020 = _rule("phone_2020", "phone_not_bound", D001, "至少需要绑定手机号,并完成实名认证",
                   "至少需要绑定手机号", "A phone number must be bound")
REAL_NAME_2020 = _rule("real_name_2020", "not_real_name_verified", D001, "至少需要绑定手机号,并完成实名认证",
                       "需完成实名认证", "Real-name verification is required")
FANS_2023 = _rule("fans_2023", "fans_below_threshold", D000, "个人账号 | ≥1000粉丝 | 强制 | 非必须 | 普通商品免提供 |")
REAL_NAME_2023 = _rule("real_name_2023", "not_real_name_verified", D000, "账号类型 | 粉丝要求 | 实名认证 | 营业执照 | 行业许可 |",
                       "需完成实名认证", "Real-name verification is required")
LICENCE_2023 = _rule("business_licence_2023", "business_licence_missing", D000, "企业号 | 无粉丝限制 | 强制 | 必须上传 | 特殊类目必选 |",
                     "企业号必须上传营业执照", "An enterprise account must upload its business licence")
INDUSTRY_2023 = _rule("industry_licence_2023", "industry_licence_missing", D000, "特殊类目(如美妆、食品)需额外提交行业许可证",
                      "特殊类目（如美妆、食品）需额外提交行业许可证", "Special categories (e.g. beauty, food) need an industry licence")
CORPORATE_2023 = _rule("corporate_verification_2023", "corporate_verification_missing", D000, "企业账号需完成对公账户验证",
                       "企业账号需完成对公账户验证", "An enterprise account must pass corporate-account verification")
INDIVIDUAL_2023 = _rule("individual_verification_2023", "individual_verification_missing", D000,
                        "个体工商户支持法人人脸认证替代对公验证", "个体工商户需完成对公验证或法人人脸认证",
                        "An individual business must pass corporate verification or legal-person face verification")


def _fans(rule: tuple, fans: int) -> tuple:
    return rule[0], rule[1], rule[2], {"zh": f"粉丝数 {fans} 人，未达到 {MIN_FANS} 人的门槛",
                                       "en": f"{fans:,} followers, below the threshold of {MIN_FANS:,} followers"}


def baseline(facts: dict[str, Any], at: dt.date) -> tuple[str, list[tuple], dict[str, Any]]:
    """cart.opening by hand, with the output policydsl gives: (outcome, reasons, values), each reason
    (rule, code, source, {"zh", "en"} message), messages filled in both languages; the 2020 rule
    (R001.1) and the 2023 rule (R000.1), same effective dates."""
    account, product = facts["account"], facts["product"]
    reasons: list[tuple] = []
    if at < RULE_2020[0]:
        raise ValueError(f"cart.opening is not in force on {at}")
    if at <= RULE_2020[1]:
        fans, videos = account["fans"], account["public_videos"]
        if not fans >= MIN_FANS:
            reasons.append(_fans(FANS_2020, fans))
        if not videos >= 10:
            reasons.append((*VIDEOS_2020[:3], {"zh": f"公开原创视频 {videos} 个，需 10 个以上",
                                               "en": f"Only {videos:,} videos are public and original; at least 10 are needed"}))
        if not account["phone_bound"]:
            reasons.append(PHONE_2020)
        if not account["real_name"]:
            reasons.append(REAL_NAME_2020)
    else:  # from 2023-01-01
        kind = account["kind"]
        if kind in ("personal", "individual_business") and not account["fans"] >= MIN_FANS:
            reasons.append(_fans(FANS_2023, account["fans"]))
        if not account["real_name"]:
            reasons.append(REAL_NAME_2023)
        if kind == "enterprise" and not account["business_licence"]:
            reasons.append(LICENCE_2023)
        if product["special_category"] and not account["industry_licence"]:
            reasons.append(INDUSTRY_2023)
        if kind == "enterprise" and not account["corporate_verified"]:
            reasons.append(CORPORATE_2023)
        if kind == "individual_business" and not (account["corporate_verified"]
                                                   or account["legal_person_face_verified"]):
            reasons.append(INDIVIDUAL_2023)
    return ("deny" if reasons else "allow"), reasons, {"cart.min_fans": MIN_FANS}


# ------------------------------------------------------------------ random cases
def random_cases(n: int, seed: int) -> list[tuple[dict[str, Any], dt.date]]:
    """n complete fact sets (nested JSON, as the API takes them) with dates across both rules."""
    rng = random.Random(seed)
    span = (LAST_DAY - FIRST_DAY).days
    cases = []
    for _ in range(n):
        account: dict[str, Any] = {
            "kind": rng.choice(KINDS),
            "fans": rng.choice((rng.randint(990, 1010), rng.randint(0, 2000))),
            "public_videos": rng.choice((rng.randint(8, 12), rng.randint(0, 30))),
        }
        account.update({name: rng.random() < 0.8 for name in BOOLS})
        facts = {"account": account, "product": {"special_category": rng.random() < 0.3}}
        cases.append((facts, FIRST_DAY + dt.timedelta(days=rng.randint(0, span))))
    return cases


# ------------------------------------------------------------------ timing
def best_of(repeat: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def check_agreement(policy_set, cases) -> dict[str, int]:
    outcomes = {"allow": 0, "deny": 0, "2020 rule": 0, "2023 rule": 0}
    for facts, at in cases:
        decision = policy_set.evaluate(POLICY, facts, at, trace=False)
        expected = baseline(facts, at)
        got = (decision.outcome, [(r.rule, r.code, r.source, dict(r.message)) for r in decision.reasons],
               dict(decision.values))
        assert got == expected, f"disagreement on {facts} @ {at}: policydsl {got}, baseline {expected}"
        outcome = expected[0]
        outcomes[outcome] += 1
        outcomes["2020 rule" if at <= RULE_2020[1] else "2023 rule"] += 1
    return outcomes


COLD_ANALYSE = """
import sys, time
t0 = time.perf_counter()
from policydsl.loader import analyse, policy_files, with_shared
t1 = time.perf_counter()
analysis = analyse(with_shared(policy_files([sys.argv[1]])))
t2 = time.perf_counter()
assert analysis.ok, [d.render("en") for d in analysis.diagnostics]
print(f"{t1 - t0:.6f} {t2 - t1:.6f}")
"""


def cold_timings(runs: int) -> dict[str, list[float]]:
    """Fresh interpreters: `policydsl check policies` wall time, and import vs analyse() measured inside."""
    script = Path(sys.executable).with_name("policydsl")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "policydsl.cli"]
    out: dict[str, list[float]] = {"check_wall": [], "python_wall": [], "import": [], "analyse": []}
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([*command, "check", "policies"], cwd=ROOT, capture_output=True, text=True)
        out["check_wall"].append(time.perf_counter() - start)
        assert done.returncode == 0, done.stdout + done.stderr
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", COLD_ANALYSE, str(POLICIES)], capture_output=True, text=True)
        out["python_wall"].append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr
        imported, analysed = map(float, done.stdout.split())
        out["import"].append(imported)
        out["analyse"].append(analysed)
    bare = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    out["bare_python"] = bare
    return out


# ------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of random fact sets")
    parser.add_argument("--seed", type=int, default=20231220)
    parser.add_argument("--repeat", type=int, default=5, help="timing repetitions (the best is reported)")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes for the cold check timings")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from policydsl import load

    policy_set = load(POLICIES)
    cases = random_cases(args.n, args.seed)
    counts = check_agreement(policy_set, cases)

    evaluate = policy_set.evaluate
    t_base = best_of(args.repeat, lambda: [baseline(f, at) for f, at in cases])
    t_fast = best_of(args.repeat, lambda: [evaluate(POLICY, f, at, trace=False) for f, at in cases])
    t_trace = best_of(args.repeat, lambda: [evaluate(POLICY, f, at, trace=True) for f, at in cases])
    cold = cold_timings(args.cold_runs)

    us = lambda seconds: seconds / args.n * 1e6  # noqa: E731 - per decision, microseconds
    print(f"cart.opening benchmark — {args.n:,} random fact sets (seed {args.seed}), "
          f"dates {FIRST_DAY}..{LAST_DAY}, Python {sys.version.split()[0]}")
    print(f"agreement: policydsl and the hand-written function agree on all {args.n:,} "
          f"(allow {counts['allow']:,}, deny {counts['deny']:,}; 2020 rule {counts['2020 rule']:,}, "
          f"2023 rule {counts['2023 rule']:,})")
    print()
    print(f"{'evaluation (best of ' + str(args.repeat) + ')':<40}{'total ms':>12}{'µs/decision':>14}{'× baseline':>12}")
    print("-" * 78)
    for name, seconds in (("hand-written Python function", t_base),
                          ("policydsl evaluate(trace=False)", t_fast),
                          ("policydsl evaluate(trace=True)", t_trace)):
        print(f"{name:<40}{seconds * 1e3:>12.1f}{us(seconds):>14.2f}{seconds / t_base:>12.1f}")
    print()
    print(f"ratio policydsl/baseline (trace=False): {t_fast / t_base:.1f}×   (trace=True): {t_trace / t_base:.1f}×")
    print()
    print(f"{'checking all policies, cold (' + str(args.cold_runs) + ' fresh processes)':<52}{'best ms':>12}{'median ms':>12}")
    print("-" * 76)
    rows = (("`policydsl check policies` wall time", cold["check_wall"]),
            ("python -c: import + analyse() wall time", cold["python_wall"]),
            ("  of which: import policydsl.loader", cold["import"]),
            ("  of which: analyse() of all files", cold["analyse"]),
            ("bare `python -c pass` (interpreter start)", cold["bare_python"]))
    for name, values in rows:
        print(f"{name:<52}{min(values) * 1e3:>12.1f}{statistics.median(values) * 1e3:>12.1f}")


if __name__ == "__main__":
    main()
