"""Instruction counts per decision under callgrind: a machine-noise-free companion to the timing benchmark.

Run `.venv/bin/python benchmarks/instructions.py [--root DIR]` (needs valgrind). It runs the same
2,000 random cart.opening fact sets through policydsl and through the hand-written function, each
in its own process under `valgrind --tool=callgrind`, once with 0 and once with N decisions, and
reports (instructions(N) - instructions(0)) / N for both and their ratio. The two processes do
exactly the same work up to the loop (load the rule book, then build all N cases) with the same
string hashes (PYTHONHASHSEED=0) and arguments of the same length, so that they differ only by the
loop: otherwise dict layouts and the malloc heap differ from run to run by thousands of
instructions per decision. `--root` measures another checkout of the project (say, an
earlier commit unpacked with `git archive`) with the same driver.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
N = 2000

DRIVER = """
import sys
from itertools import islice
sys.path.insert(0, {here!r})
sys.path.insert(0, {root!r})
import bench_cart_opening as b
import policydsl
mode, n = sys.argv[1], int(sys.argv[2])
book = policydsl.load(b.POLICIES)
cases = b.random_cases({total}, 20231220)  # always load and generate everything: only the loop differs
if mode == "policydsl":
    for facts, at in islice(cases, n):
        book.evaluate(b.POLICY, facts, at, trace=False).outcome
else:
    for facts, at in islice(cases, n):
        b.baseline(facts, at)
"""


def instructions(runs: list[tuple[str, int]], root: Path) -> list[int]:
    """Instructions of each (mode, n) run, the runs under valgrind side by side (the count does not
    depend on what else the machine does)."""
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.py"
        driver.write_text(DRIVER.format(here=str(HERE), root=str(root), total=N), encoding="utf-8")
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        # One run outside valgrind first fills the generated-code cache: else the side-by-side runs
        # race to generate and store it, and each does a different share of that work.
        subprocess.run([sys.executable, str(driver), "baseline", f"{0:06d}"], check=True, env=env)
        procs = [subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/callgrind.{i}",
                                   sys.executable, str(driver), mode, f"{n:06d}"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env)
                 for i, (mode, n) in enumerate(runs)]
        counts = []
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
    root = parser.parse_args().root.resolve()
    modes = ("baseline", "policydsl")
    counts = instructions([(mode, n) for mode in modes for n in (N, 0)], root)
    per = {mode: (counts[2 * i] - counts[2 * i + 1]) / N for i, mode in enumerate(modes)}
    print(f"cart.opening, {N:,} random fact sets, instructions per decision (callgrind), {root}")
    print(f"  hand-written Python function  {per['baseline']:>12,.0f}")
    print(f"  policydsl evaluate(trace=False) {per['policydsl']:>10,.0f}")
    print(f"  ratio policydsl/baseline: {per['policydsl'] / per['baseline']:.1f}×")


if __name__ == "__main__":
    main()
