"""Instruction counts per decision under callgrind: a machine-noise-free companion to the timing benchmarks.

Run `.venv/bin/python benchmarks/instructions.py [--root DIR] [--policy cart.opening|shop.deposit]` (needs
valgrind). For each policy (both by default) it runs the same 2,000 random fact sets through policydsl
(`evaluate`, trace=False and trace=True) and through a hand-written function (bench_cart_opening.py,
bench_shop_deposit.py) that gives the same output (outcome; reasons with rule, code, source and both
messages filled, as hand-written code fills them; values: the benchmarks assert equality on every
case), reading the outcome and the reason codes of each; a fourth run also reads policydsl's
messages, which it renders only when read. Each runs in its own process under `valgrind --tool=callgrind`,
once with 0 and once with N decisions, and reports (instructions(N) - instructions(0)) / N for each and the
ratios to the hand-written function. The two processes do exactly the same work up to the loop (load the rule
book, then build all N cases) with the same string hashes and arguments of the same length, so that they
differ only by the loop: otherwise dict layouts and the malloc heap differ from run to run by thousands of
instructions per decision. Even so, where a run's objects land can still move the count of the same loop by
about 15%: the hand-written shop.deposit, the same code at the same commit, counted 15,185 per decision from
one checkout and 17,372 to 17,516 (three seeds) from another. So each count is taken under
several string-hash seeds (`--hash-seeds`, PYTHONHASHSEED 0, 1 and 2 by default), which lay dicts and the heap
out differently, and the median is reported with the range. The generated-code cache is filled before (else the
runs race to fill it). `--root` measures another checkout of the project (say, an earlier commit unpacked
with `git archive`) with the same driver.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
N = 2000

BENCHES = {"cart.opening": "bench_cart_opening", "shop.deposit": "bench_shop_deposit"}
MODES = ("baseline", "fast", "messages", "traced")

DRIVER = """
import sys
from itertools import islice
sys.path.insert(0, {here!r})
sys.path.insert(0, {root!r})
import importlib
import policydsl
bench, mode, n = importlib.import_module(sys.argv[1]), sys.argv[2], int(sys.argv[3])
book = policydsl.load(bench.POLICIES)
cases = bench.random_cases({total}, 20231220)  # always load and generate everything: only the loop differs
import gc
gc.collect()
gc.freeze()  # the loaded book out of the collector's way: else whether a full collection falls in the loop decides thousands of instructions per decision
if mode == "fast":
    for facts, at in islice(cases, n):
        decision = book.evaluate(bench.POLICY, facts, at, trace=False)
        decision.outcome, [r.code for r in decision.reasons]
elif mode == "messages":
    for facts, at in islice(cases, n):
        decision = book.evaluate(bench.POLICY, facts, at, trace=False)
        decision.outcome, [(r.code, r.message["zh"], r.message["en"]) for r in decision.reasons]
elif mode == "traced":
    for facts, at in islice(cases, n):
        decision = book.evaluate(bench.POLICY, facts, at, trace=True)
        decision.outcome, [r.code for r in decision.reasons]
else:
    for facts, at in islice(cases, n):
        outcome, reasons, values = bench.baseline(facts, at)
        outcome, [r[1] for r in reasons]
"""


def instructions(runs: list[tuple[str, str, int]], root: Path, seed: int = 0) -> list[int]:
    """Instructions of each (bench, mode, n) run with PYTHONHASHSEED `seed`, the runs under valgrind two at a
    time (the count does not depend on what else the machine does)."""
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.py"
        driver.write_text(DRIVER.format(here=str(HERE), root=str(root), total=N), encoding="utf-8")
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        # One run outside valgrind first fills the generated-code cache: else the side-by-side runs
        # race to generate and store it, and each does a different share of that work.
        for bench in dict.fromkeys(b for b, _, _ in runs):
            subprocess.run([sys.executable, str(driver), bench, "fast", f"{0:06d}"], check=True, env=env)
        counts = []
        for start in range(0, len(runs), 2):
            procs = [subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/callgrind.{i}",
                                       sys.executable, str(driver), bench, mode, f"{n:06d}"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                     for i, (bench, mode, n) in enumerate(runs[start:start + 2], start=start)]
            for proc in procs:
                _, err = proc.communicate()
                match = re.search(r"Collected : (\d+)", err)
                if proc.returncode != 0 or not match:
                    raise SystemExit(err[-2000:])
                counts.append(int(match.group(1)))
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE.parent, help="the project checkout to measure")
    parser.add_argument("--policy", choices=sorted(BENCHES), action="append",
                        help="the policy to measure (repeatable; default: all)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ",".join(MODES))
    parser.add_argument("--hash-seeds", default="0,1,2",
                        help="comma-separated PYTHONHASHSEED values: the median over them is reported")
    args = parser.parse_args()
    root = args.root.resolve()
    modes = [m for m in args.modes.split(",") if m]
    seeds = [int(s) for s in args.hash_seeds.split(",") if s]
    for policy in args.policy or list(BENCHES):
        bench = BENCHES[policy]
        per: dict[str, list[float]] = {mode: [] for mode in modes}
        for seed in seeds:
            counts = instructions([(bench, mode, n) for mode in modes for n in (N, 0)], root, seed)
            for i, mode in enumerate(modes):
                per[mode].append((counts[2 * i] - counts[2 * i + 1]) / N)
        print(f"{policy}, {N:,} random fact sets, instructions per decision (callgrind), median over "
              f"PYTHONHASHSEED {args.hash_seeds} (range), {root}")
        labels = {"baseline": "hand-written Python function", "fast": "policydsl evaluate(trace=False)",
                  "messages": "  the same, messages read", "traced": "policydsl evaluate(trace=True)"}
        for mode in modes:
            middle = statistics.median(per[mode])
            ratio = f"{middle / statistics.median(per['baseline']):6.1f}x" if "baseline" in per else ""
            spread = f"({min(per[mode]):,.0f} to {max(per[mode]):,.0f})"
            print(f"  {labels[mode]:<34}{middle:>12,.0f}  {ratio}  {spread}")


if __name__ == "__main__":
    main()
