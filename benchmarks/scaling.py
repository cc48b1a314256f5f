"""Benchmark: does the cost grow with the book, not faster?

Run with `.venv/bin/python benchmarks/scaling.py [--copies 1,4,16] [--repeat 1] [--shell 5]`.

It builds books of 1×, 4× and 16× the rule book (policies/) in a temporary folder: copy k renames every
name the book declares at the top level (policy ids, entities, enums, units, tables, rollouts, assumptions,
notes, properties, overlaps) to `NAME_cK`, in the code and in the {placeholders} of its texts, and adds
` _cK` to the labels of its facts and values (as distinct concepts have distinct labels), so each book checks
clean and its copies are distinct rules, not one concept declared 16 times. For each size it measures, in one run:

- `load`   wall time of `policydsl.loader.load(folder)` in this process (parse, check, compile), after a
           first, untimed load has filled the cache of generated code (compile/cache.py), as for any book
           loaded before;
- `check`  wall time of `policydsl check FOLDER` (a fresh process, as a user runs it);
- `docs`   wall time of `policydsl docs` rendering the handbook (a fresh process, no features);
- `memory` the memory a loaded book holds (tracemalloc: traced bytes after `load`, the PolicySet alive),

then prints the ratios of the largest size to the one before it (target: at most 4.4 for 4× the book).
With `--shell N` it also times, interleaved N times, `python -c pass`, `policydsl --help` and one
`policydsl eval` on the real book with the book cache warm (compile/book_cache.py: one untimed `eval` first),
and prints each as a multiple of `python -c pass` (target: at most 5×). With `--rules N1,N2,…` it also builds
one policy of N rules (each with an exception, as a hostile or generated file might) and times a cold `load`
of it in a fresh process (POLICYDSL_NO_CACHE=1: parse, check, generate and compile), with the process's peak
resident memory, and prints the ratios between sizes (linear: the ratio of the sizes). The package's bytecode is compiled
first (`compileall`), as `pip install` does: an editable checkout run with PYTHONDONTWRITEBYTECODE would
otherwise compile every module it imports on every start (`--no-bytecode` skips this, to see that cost).
This is a script, not a test: timings are never asserted.
"""
from __future__ import annotations

import argparse
import gc
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
PYTHON = sys.executable
CLI = [PYTHON, "-m", "policydsl.cli"] if not (Path(PYTHON).parent / "policydsl").exists() else [str(Path(PYTHON).parent / "policydsl")]

_DECLARED = re.compile(r"^\s*(?:entity|enum|unit|table|rollout|assume|note|property|overlap|policy)\s+([A-Za-z_]\w*)", re.M)
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|(?<![.\w])(?<!fact )[A-Za-z_]\w*')
# Facts and values share no label across copies: two facts with one label are P0213, and two policies' values
# with one label and type are read as one concept, an implicit overlap per pair: a quadratic count of questions
# for `check --deep` (deciding compiles none of them), not what this script measures.
_FACT_LINE = re.compile(r"^\s*(?:fact|define) .*$", re.M)
_LABEL = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)")


# ------------------------------------------------------------------ building the books
def declared_names(texts: list[str]) -> set[str]:
    """The top-level names of the book (for a dotted policy id, its first part)."""
    return {m.group(1) for text in texts for m in _DECLARED.finditer(text)}


def renamed(text: str, names: set[str], suffix: str) -> str:
    """`text` with every declared name (not after a dot) renamed to NAME+suffix; in strings, only placeholders."""
    def token(m: re.Match) -> str:
        word = m.group(0)
        if word.startswith("#"):
            return word
        if word.startswith('"'):
            return _PLACEHOLDER.sub(lambda p: "{" + p.group(1) + suffix if p.group(1) in names else p.group(0), word)
        return word + suffix if word in names else word
    return _FACT_LINE.sub(lambda m: _LABEL.sub(lambda s: s.group(0)[:-1] + suffix + '"', m.group(0)),
                          _TOKEN.sub(token, text))


def build_book(folder: Path, copies: int) -> Path:
    """A book of `copies` renamed copies of policies/ (copy 0 keeps its names)."""
    files = sorted(POLICIES.glob("*.policy"))
    texts = {f.name: f.read_text(encoding="utf-8") for f in files}
    names = declared_names(list(texts.values()))
    book = folder / f"book_{copies}x"
    book.mkdir()
    for k in range(copies):
        suffix = f"_c{k}" if k else ""
        for name, text in texts.items():
            (book / f"{Path(name).stem}{suffix}.policy").write_text(renamed(text, names, suffix) if k else text,
                                                                    encoding="utf-8")
    return book


# ------------------------------------------------------------------ measuring
def timed_run(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def measure_load(book: Path) -> tuple[float, float]:
    """Wall seconds of `load`, and MiB the loaded book holds (tracemalloc, measured in a second load)."""
    from policydsl.loader import load

    load(book)  # fills the cache of generated code
    gc.collect()
    start = time.perf_counter()
    policy_set = load(book)
    elapsed = time.perf_counter() - start
    del policy_set
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    policy_set = load(book)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del policy_set
    return elapsed, held / 2**20


def measure(book: Path, tmp: Path, repeat: int) -> dict[str, float]:
    empty = tmp / "no_features"
    empty.mkdir(exist_ok=True)
    loads, mems, checks, docs = [], [], [], []
    for _ in range(repeat):
        seconds, mib = measure_load(book)
        loads.append(seconds)
        mems.append(mib)
        checks.append(timed_run([*CLI, "check", str(book)]))
        out = tmp / f"docs_{book.name}"
        shutil.rmtree(out, ignore_errors=True)
        docs.append(timed_run([*CLI, "docs", "--policies", str(book), "--features", str(empty), "--out", str(out),
                               "--lang", "zh,en"]))
    return {"load": min(loads), "check": min(checks), "docs": min(docs), "memory": min(mems)}


def shell(times: int, bytecode: bool = True) -> dict[str, float]:
    """`python -c pass`, `policydsl --help` and one `policydsl eval` on the real book, interleaved."""
    facts = ROOT / "examples" / "merchant.json"
    runs = {"python -c pass": [PYTHON, "-c", "pass"], "policydsl --help": [*CLI, "--help"],
            "policydsl eval": [*CLI, "eval", "cart.opening", "--policies", str(POLICIES), "--facts", str(facts), "--ignore-unknown",
                               "--at", "2024-06-01"]}
    if bytecode:
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "policydsl")], capture_output=True, check=True)
    timed_run(runs["policydsl eval"])  # the book cache warm
    seen: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(times):
        for name, args in runs.items():
            seen[name].append(timed_run(args))
    return {name: statistics.median(values) for name, values in seen.items()}


def many_rules(folder: Path, n: int) -> Path:
    """A folder holding one policy of `n` rules, each with an exception (19 syntax nodes a pair: beyond 1,052,
    P0124 refuses the policy)."""
    lines = ['policy many', '  title "多" / "Many"', '  effective from 2024-01-01', '',
             'input shop.hours: count "时长" / "Hours"', 'input shop.exempt: bool "豁免" / "Exempt"', '']
    for i in range(n):
        lines += [f'rule r{i} "规则{i}" / "Rule {i}"', f'  require shop.hours <= {i}',
                  f'    else deny c{i} "超过 {i}：{{shop.hours}}" / "over {i}: {{shop.hours}}"', '  source "x.txt" quote "x"',
                  '', f'rule e{i} "例外{i}" / "Exception {i}"', f'  exception to r{i} priority 1', '  when shop.exempt',
                  f'  allow x{i} "豁免 {i}" / "exempt {i}"', '  source "x.txt" quote "x"', '']
    book = folder / f"rules_{n}"
    book.mkdir()
    (book / "many.policy").write_text("\n".join(lines), encoding="utf-8")
    return book


def cold_load(book: Path) -> tuple[float, float]:
    """Wall seconds and peak MiB of a fresh process loading `book` with no cache of generated code."""
    script = ("import resource, sys, time; import policydsl; t = time.perf_counter(); policydsl.load(sys.argv[1]); "
              "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    env = {**__import__("os").environ, "POLICYDSL_NO_CACHE": "1"}
    done = subprocess.run([PYTHON, "-c", script, str(book)], capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"{book.name}: {done.stderr.strip().splitlines()[-1]}")
    seconds, kib = done.stdout.split()
    return float(seconds), int(kib) / 1024


# ------------------------------------------------------------------ reporting
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", default="1,4,16")
    parser.add_argument("--repeat", type=int, default=1, help="best of N for each measurement")
    parser.add_argument("--shell", type=int, default=5, help="interleaved shell runs (0: skip)")
    parser.add_argument("--no-bytecode", action="store_true", help="do not compile the package's bytecode first")
    parser.add_argument("--rules", default="", help="sizes of a one-policy book to load cold, e.g. 500,1000,2000")
    opts = parser.parse_args()
    sizes = [int(c) for c in opts.copies.split(",")]
    with tempfile.TemporaryDirectory(prefix="policydsl-scaling-") as tmp_name:
        tmp = Path(tmp_name)
        results = {n: measure(build_book(tmp, n), tmp, opts.repeat) for n in sizes}
    print(f"{'book':>6} {'load s':>8} {'check s':>8} {'docs s':>8} {'memory MiB':>11}")
    for n, r in results.items():
        print(f"{n:>5}× {r['load']:>8.2f} {r['check']:>8.2f} {r['docs']:>8.2f} {r['memory']:>11.1f}")
    if len(sizes) >= 2:
        big, small = sizes[-1], sizes[-2]
        ratios = "  ".join(f"{k} {results[big][k] / results[small][k]:.2f}" for k in ("load", "check", "docs", "memory"))
        print(f"{big}×/{small}× (target ≤ {1.1 * big / small:.1f}): {ratios}")
    if opts.rules:
        counts = [int(c) for c in opts.rules.split(",")]
        with tempfile.TemporaryDirectory(prefix="policydsl-rules-") as tmp_name:
            cold = {n: cold_load(many_rules(Path(tmp_name), n)) for n in counts}
        print(f"\n{'rules':>6} {'cold load s':>12} {'peak MiB':>9}   ratios to the size before")
        for before, n in zip([None, *counts], counts):
            ratio = "" if before is None else (f"size {n / before:.1f}: time {cold[n][0] / cold[before][0]:.2f}, "
                                               f"memory {cold[n][1] / cold[before][1]:.2f}")
            print(f"{n:>6} {cold[n][0]:>12.2f} {cold[n][1]:>9.0f}   {ratio}")
    if opts.shell:
        times = shell(opts.shell, bytecode=not opts.no_bytecode)
        base = times["python -c pass"]
        print(f"\n{'command':<18} {'median s':>9} {'× python -c pass':>17}")
        for name, seconds in times.items():
            print(f"{name:<18} {seconds:>9.3f} {seconds / base:>17.1f}")


if __name__ == "__main__":
    main()
