"""Instruction counts per decision under callgrind: a machine-noise-free companion to the timing benchmark.

Run `.venv/bin/python benchmarks/instructions.py` (needs valgrind). It runs the same 10,000 random
cart.opening fact sets through policydsl and through the hand-written function, each in its own
process under `valgrind --tool=callgrind`, once with 0 and once with N decisions, and reports
(instructions(N) - instructions(0)) / N for both and their ratio.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
N = 2000

DRIVER = """
import sys
sys.path.insert(0, {here!r})
import bench_cart_opening as b
import policydsl
mode, n = sys.argv[1], int(sys.argv[2])
cases = b.random_cases({total}, 20231220)[:n]  # always generate all cases: only the loop differs
book = policydsl.load(b.POLICIES)
if mode == "policydsl":
    for facts, at in cases:
        book.evaluate(b.POLICY, facts, at, trace=False).outcome
else:
    for facts, at in cases:
        b.baseline(facts, at)
"""


def instructions(mode: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.py"
        driver.write_text(DRIVER.format(here=str(HERE), total=N), encoding="utf-8")
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                               sys.executable, str(driver), mode, str(n)], capture_output=True, text=True)
        match = re.search(r"Collected : (\d+)", proc.stderr)
        if proc.returncode != 0 or not match:
            raise SystemExit(proc.stderr[-2000:])
        return int(match.group(1))


def main() -> None:
    per = {}
    for mode in ("baseline", "policydsl"):
        per[mode] = (instructions(mode, N) - instructions(mode, 0)) / N
    print(f"cart.opening, {N:,} random fact sets, instructions per decision (callgrind)")
    print(f"  hand-written Python function  {per['baseline']:>12,.0f}")
    print(f"  policydsl evaluate(trace=False) {per['policydsl']:>10,.0f}")
    print(f"  ratio policydsl/baseline: {per['policydsl'] / per['baseline']:.1f}×")


if __name__ == "__main__":
    main()
