#!/usr/bin/env python3
"""A reproducible hostile-input probe of policydsl: the probes that once found crashes, re-run with figures.

    .venv/bin/python tools/probe_hostile.py              # every section (about 8 minutes on 2 cores)
    .venv/bin/python tools/probe_hostile.py --quick      # a reduced run (under 2 minutes)
    .venv/bin/python tools/probe_hostile.py --only facts --only lsp --json

Sections: mutants-inprocess, mutants-cli, nesting, facts, sources, injection, docs-kill, fs, threads, lsp.
For each one it prints the inputs tried, a histogram of exit codes (or outcomes), the internal errors
(exit 3, a traceback, or an exception other than PolicyDslError in process) and the hangs (a run
exceeding its timeout), plus the section's own figures. It exits 0 when there are no internal errors
and no hangs, else 1 (with --strict, also 1 when a section reports findings such as an unescaped
payload, a leftover staging folder or a decision that differs between threads).

Deterministic: every random choice comes from `random.Random` seeded with --seed and the section name.
Needs only the standard library and policydsl's own dependencies; every temporary file lives in a
`tempfile.TemporaryDirectory`. The source documents (`../shared/seeds`, or --sources DIR) are needed by
the `sources` section only, which is skipped with a note when the folder is missing. The `fs` section
mounts a tmpfs and is skipped with a note when that is not permitted (it needs root).
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import datetime as dt
import hashlib
import html.parser
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
FEATURES = ROOT / "features"
DEFAULT_SOURCES = ROOT.parent / "shared" / "seeds"
SECTIONS = ["mutants-inprocess", "mutants-cli", "nesting", "facts", "sources", "injection", "docs-kill", "fs",
            "threads", "lsp"]
ENV = {**os.environ, "POLICYDSL_LANG": "en", "POLICYDSL_DEBUG": "1", "PYTHONIOENCODING": "utf-8"}
ENV.pop("PYTHONHASHSEED", None)


# ====================================================================== running things
@dataclasses.dataclass
class Run:
    """One subprocess: its exit code (None when it exceeded its timeout), output and time."""

    args: list[str]
    code: int | None
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def hang(self) -> bool:
        return self.code is None

    @property
    def internal(self) -> bool:
        """Exit 3, death by a signal, or a traceback / internal error message on stderr."""
        if self.code is None:
            return False
        return (self.code == 3 or self.code < 0 or b"Traceback (most recent call last)" in self.stderr
                or b"internal error" in self.stderr)

    @property
    def label(self) -> str:
        if self.code is None:
            return "hang"
        return f"exit {self.code}" if self.code >= 0 else f"signal {-self.code}"

    def brief(self) -> str:
        """The command and the last lines of stderr (the exception, with POLICYDSL_DEBUG=1)."""
        err = self.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = " | ".join(line.strip() for line in err[-2:])[:300]
        return f"{' '.join(_short_arg(a) for a in self.args)} -> {self.label}: {tail}"


def _short_arg(arg: str) -> str:
    return arg if len(arg) <= 60 else arg[:57] + "…"


def cli(args: list[str], *, stdin: bytes | None = None, timeout: float, cwd: Path | None = None) -> Run:
    """`python -m policydsl.cli ARGS` with a timeout (a timeout is a hang; the process is killed)."""
    command = [sys.executable, "-m", "policydsl.cli", *args]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, input=stdin if stdin is not None else b"", capture_output=True,
                              timeout=timeout, cwd=cwd, env=ENV)
        return Run(args, done.returncode, done.stdout, done.stderr, time.perf_counter() - start)
    except subprocess.TimeoutExpired as exc:
        return Run(args, None, exc.stdout or b"", exc.stderr or b"", time.perf_counter() - start)


def pmap(fn: Callable[[Any], Any], items: Iterable[Any], jobs: int) -> list[Any]:
    """fn over items on `jobs` threads (each mostly waits for a subprocess); results in input order."""
    items = list(items)
    if jobs <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, items))


class ProbeTimeout(BaseException):
    """Raised by SIGALRM when an in-process call exceeds its timeout (a BaseException: no product
    `except Exception` swallows it)."""


class alarm:
    """A wall-clock limit on the main thread (SIGALRM); a no-op elsewhere."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")

    def __enter__(self) -> "alarm":
        if self.active:
            def fire(signum, frame):  # noqa: ANN001
                raise ProbeTimeout()
            self.previous = signal.signal(signal.SIGALRM, fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


# ====================================================================== reporting
@dataclasses.dataclass
class Section:
    name: str
    inputs: int = 0
    histograms: dict[str, collections.Counter] = dataclasses.field(default_factory=dict)
    internal: list[str] = dataclasses.field(default_factory=list)
    internal_count: int = 0
    hangs: list[str] = dataclasses.field(default_factory=list)
    hang_count: int = 0
    findings: list[str] = dataclasses.field(default_factory=list)
    finding_count: int = 0
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0

    def count(self, histogram: str, key: str, n: int = 1) -> None:
        self.histograms.setdefault(histogram, collections.Counter())[key] += n

    def add_internal(self, text: str) -> None:
        self.internal_count += 1
        if len(self.internal) < 10:
            self.internal.append(text)

    def add_hang(self, text: str) -> None:
        self.hang_count += 1
        if len(self.hangs) < 10:
            self.hangs.append(text)

    def add_finding(self, text: str) -> None:
        self.finding_count += 1
        if len(self.findings) < 10:
            self.findings.append(text)

    def record(self, histogram: str, run: Run, what: str = "") -> None:
        """Count a subprocess in a histogram; note it when it is an internal error or a hang."""
        self.count(histogram, run.label)
        if run.hang:
            self.add_hang(f"{what}{run.brief()}")
        elif run.internal:
            self.add_internal(f"{what}{run.brief()}")

    def to_json(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "histograms": {k: dict(sorted(v.items())) for k, v in self.histograms.items()},
                "internal_errors": self.internal_count, "internal_error_examples": self.internal,
                "hangs": self.hang_count, "hang_examples": self.hangs, "findings": self.finding_count,
                "finding_examples": self.findings, "metrics": self.metrics, "notes": self.notes,
                "skipped": self.skipped, "seconds": round(self.seconds, 1)}

    def render(self) -> str:
        out = [f"== [{self.name}] " + (f"skipped: {self.skipped}" if self.skipped else
                                       f"{self.inputs} inputs, {self.seconds:.1f} s")]
        for title, counter in self.histograms.items():
            if not counter:
                continue
            width = max(len(title), *(len(str(k)) + 2 for k in counter))
            out.append(f"   {title:<{width}}  count")
            for key, n in sorted(counter.items(), key=lambda kv: str(kv[0])):
                out.append(f"     {str(key):<{width - 2}}  {n:>5}")
        for key, value in self.metrics.items():
            out.append(f"   {key}: {value}")
        if not self.skipped:
            out.append(f"   internal errors: {self.internal_count}    hangs: {self.hang_count}    "
                       f"findings: {self.finding_count}")
        for title, items in (("internal error", self.internal), ("hang", self.hangs), ("finding", self.findings)):
            for item in items:
                out.append(f"     ! {title}: {item}")
        for note in self.notes:
            out.append(f"   note: {note}")
        return "\n".join(out)


class Context:
    def __init__(self, args: argparse.Namespace) -> None:
        self.seed: int = args.seed
        self.quick: bool = args.quick
        self.timeout: float = args.timeout
        self.jobs: int = args.jobs
        self.sources: Path = Path(args.sources)
        self.save: Path | None = Path(args.save_failures) if args.save_failures else None
        self.verbose = not args.json

    def rng(self, section: str) -> random.Random:
        return random.Random(f"{self.seed}:{section}")  # str seeds are hashed with SHA-512: stable everywhere

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def progress(self, section: str, text: str) -> None:
        print(f"[{section}] {text}", file=sys.stderr, flush=True)

    def keep(self, section: str, name: str, data: bytes | str) -> None:
        """Save a failing input under --save-failures (for a reproducer)."""
        if self.save is None:
            return
        folder = self.save / section
        folder.mkdir(parents=True, exist_ok=True)
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        (folder / name).write_bytes(raw)


# ====================================================================== the rule book, as data
def load_book(folder: Path = POLICIES):
    import policydsl
    return policydsl.load(folder)


PLAIN = {"count": 1, "number": "1.5", "money": "1000", "percent": "50%", "bool": True, "text": "x",
         "date": "2023-12-20"}


def complete_record(book: Any, policy: Any) -> dict[str, Any]:
    """One plain value per input of `policy` by its type (enum: its first value, set: [first])."""
    facts: dict[str, Any] = {}
    for path, spec in policy.inputs.items():
        kind, enum = spec.type.kind, spec.type.enum
        if kind in ("enum", "set"):
            decl = book.model.enums.get(enum)
            first = decl.values[0].name.value if decl is not None and decl.values else "x"
            facts[path] = first if kind == "enum" else [first]
        else:
            facts[path] = PLAIN.get(kind, "x")
    return facts


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted fact paths as nested objects ({"account.fans": 1} -> {"account": {"fans": 1}})."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *heads, last = path.split(".")
        for head in heads:
            node = node.setdefault(head, {})
        node[last] = value
    return out


# ====================================================================== mutations
LITERAL = re.compile(r"¥\d+(?:\.\d+)?|\d{4}-\d{2}-\d{2}|\d+(?:\.\d+)?%?")
# (piece, repetitions): what an author (or an attacker) puts in the wrong place
PIECES: list[tuple[str, int]] = [
    ("today", 1), ("not ", 1), ("-", 1), ("(", 1), (")", 1), ("{", 1), ("}", 1), ("¥1,000", 1), ('"', 1), ("「", 1),
    ("」", 1), ("inf", 1), ('"../../etc/passwd"', 1), ("-", 400), ("not ", 500), (" and x", 300), ("\ufeff", 1),
    ("\x00", 1), ("\u202e", 1), ("9" * 40, 1), ("2023-W51-3", 1), ("2023-02-30", 1), ("row ", 1), ("when ", 1),
    ("and ", 1), ("not_open", 1), ("not_stated", 1), ("1e999999", 1), ("0." + "0" * 40 + "1", 1), ("/ 0", 1),
    ("* 50%", 1), ("+ 3 working days", 1), ("- 2 months", 1), ("max(x for x in y)", 1), ("covered(r)", 1),
    ("outcome", 1), ("fires(x)", 1), ("exception to r ", 1), ("supersedes x ", 1), ("priority 1", 1),
    ("{a, b}", 1), ("set of ", 1), ("(", 300), (" + 1", 400), ("- ", 500), ("“", 1), ("\t", 1), ("\r", 1),
    ("\u2028", 1), ("#", 1), ("\\", 1), ('source "/etc/passwd" quote "root"', 1)]
VALUES = ["today", "not_open", "not_stated", "9" * 40, "¥1,000", '"2024-03-01"']
DEEPEN = ["not ", "-", "("]
DEPTHS = [99, 150, 400, 5000]
CURLY = ["“", "”", "「", "」", "'"]
MUTATIONS = ["delete", "duplicate", "insert", "replace_value", "deepen", "swap_quote", "truncate", "noise"]
NOISE_RANGES = [(0x20, 0x7E), (0x4E00, 0x9FFF), (0x300, 0x36F), (0x1F600, 0x1F64F), (0x0, 0x1F), (0x2000, 0x206F),
                (0xFF00, 0xFFEF), (0xE000, 0xF8FF), (0x10000, 0x10FFFF), (0xD800, 0xDFFF)]


def _shown(piece: str, times: int = 1) -> str:
    shown = ascii(piece) if len(piece) <= 24 else ascii(piece[:21]) + "…"
    return f"{shown}×{times}" if times > 1 else shown


def noise(rng: random.Random) -> str:
    chars = []
    for _ in range(rng.randint(1, 40)):
        low, high = rng.choice(NOISE_RANGES[:-1] if rng.random() > 0.05 else NOISE_RANGES)
        chars.append(chr(rng.randint(low, high)))
    return "".join(chars)


def mutate(rng: random.Random, text: str) -> tuple[str, str]:
    """One mutation (sometimes two) of a policy file's text, and a description of what was done."""
    lines = text.splitlines(keepends=True) or [""]
    done = []
    for _ in range(rng.choice((1, 1, 1, 2))):
        kind = rng.choice(MUTATIONS)
        if kind == "deepen":
            fits = [i for i, ln in enumerate(lines) if "require " in ln or ln.lstrip().startswith("= ")]
        elif kind == "replace_value":
            fits = [i for i, ln in enumerate(lines) if LITERAL.search(ln) and not ln.lstrip().startswith("#")]
        elif kind == "swap_quote":
            fits = [i for i, ln in enumerate(lines) if '"' in ln]
        else:
            fits = list(range(len(lines)))
        at = rng.choice(fits or [0])
        at = min(at, len(lines) - 1)
        line = lines[at]
        where = f"line {at + 1}"
        if kind == "delete":
            del lines[at]
            lines = lines or [""]
            done.append(f"delete {where}")
        elif kind == "duplicate":
            lines.insert(at, line)
            done.append(f"duplicate {where}")
        elif kind == "insert":
            piece, times = rng.choice(PIECES)
            col = rng.randint(0, len(line.rstrip("\n")))
            lines[at] = line[:col] + piece * times + line[col:]
            done.append(f"insert {_shown(piece, times)} at {at + 1}:{col + 1}")
        elif kind == "replace_value":
            value = rng.choice(VALUES)
            found = LITERAL.search(line)
            lines[at] = LITERAL.sub(lambda m: value, line, count=1)
            done.append(f"replace {found.group() if found else '(nothing)'!r} by {_shown(value)} on {where}")
        elif kind == "deepen":
            prefix, times = rng.choice(DEEPEN), rng.choice(DEPTHS)
            lines[at] = line.replace("require ", "require " + prefix * times, 1).replace("= ", "= " + prefix * times, 1)
            done.append(f"deepen {where} with {_shown(prefix, times)}")
        elif kind == "swap_quote":
            quotes = [i for i, ch in enumerate(line) if ch == '"'] or [0]
            i, curly = rng.choice(quotes), rng.choice(CURLY)
            lines[at] = line[:i] + curly + line[i + 1:] if line[i:i + 1] == '"' else line
            done.append(f"swap quote {i + 1} of {where} for {curly}")
        elif kind == "truncate":
            whole = "".join(lines)
            cut = rng.randint(0, len(whole))
            lines = [whole[:cut]]
            done.append(f"truncate at character {cut}")
        else:
            junk = noise(rng)
            col = rng.randint(0, len(line.rstrip("\n")))
            lines[at] = line[:col] + junk + line[col:]
            done.append(f"noise {_shown(junk)} at {at + 1}:{col + 1}")
    return "".join(lines), "; ".join(done)


def rule_book_files() -> list[Path]:
    return sorted(p for p in POLICIES.glob("*.policy") if p.name != "common.policy")


def write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))  # a lone surrogate from the noise stays a bad byte


# ====================================================================== 1. mutants, in process
def sec_mutants_inprocess(ctx: Context, sec: Section) -> None:
    from policydsl.errors import PolicyDslError
    from policydsl.formatter import format_text
    from policydsl.loader import analyse_sources, load
    from policydsl.source import SourceFile

    rng = ctx.rng(sec.name)
    total = ctx.size(6100, 400)
    files = rule_book_files()
    texts = {p.name: p.read_text(encoding="utf-8") for p in files}
    common_path = POLICIES / "common.policy"
    days = (dt.date(2020, 4, 7), dt.date(2023, 12, 20))
    kinds = collections.Counter()
    slowest = (0.0, "")
    with tempfile.TemporaryDirectory(prefix="probe-mutants-") as tmp:
        folder = Path(tmp) / "book"
        folder.mkdir()
        shutil.copy(common_path, folder / "common.policy")
        for i in range(total):
            name = rng.choice(sorted(texts))
            text, how = mutate(rng, texts[name])
            for part in how.split("; "):
                kinds[part.split(" ", 1)[0]] += 1
            what = f"mutant #{i} of {name} ({how})"
            stage = "analyse"
            start = time.perf_counter()
            try:
                with alarm(ctx.timeout):
                    try:
                        analysis = analyse_sources([SourceFile(str(folder / name), text), SourceFile.read(common_path)])
                        sec.count("analysis", "ok" if analysis.ok else "errors")
                    except PolicyDslError as exc:
                        analysis = None
                        sec.count("analysis", f"PolicyDslError {exc.key}")
                    if analysis is not None and analysis.ok:
                        stage = "load"
                        write_text(folder / name, text)
                        try:
                            book = load(folder)
                        except PolicyDslError as exc:  # e.g. P0104: a lone surrogate is not UTF-8 on disk
                            book = None
                            codes = sorted({d.code for d in getattr(exc, "diagnostics", []) if d.severity == "error"})
                            sec.count("load+evaluate", f"load refused: {exc.key} {','.join(codes)}".strip())
                        finally:
                            (folder / name).unlink()
                        if book is not None:
                            stage = "evaluate"
                            for pid, policy in book.policies.items():
                                record = complete_record(book, policy)
                                for day in days:
                                    try:
                                        book.evaluate(pid, record, at=day)
                                        sec.count("load+evaluate", "decided")
                                    except PolicyDslError as exc:
                                        sec.count("load+evaluate", f"PolicyDslError {exc.key}")
                    stage = "format"
                    try:
                        format_text(text, str(folder / name))
                        sec.count("format_text", "formatted")
                    except PolicyDslError as exc:
                        sec.count("format_text", type(exc).__name__)
            except ProbeTimeout:
                sec.add_hang(f"{what}: {stage} exceeded {ctx.timeout:g} s")
                ctx.keep(sec.name, f"hang-{i}-{name}", text)
            except RecursionError as exc:
                sec.add_internal(f"{what}: {stage}: RecursionError: {exc}")
                ctx.keep(sec.name, f"internal-{i}-{name}", text)
            except Exception as exc:  # noqa: BLE001 - anything but PolicyDslError is our bug
                frame = traceback.extract_tb(exc.__traceback__)[-1]
                sec.add_internal(f"{what}: {stage}: {type(exc).__name__}: {str(exc)[:160]} "
                                 f"(at {Path(frame.filename).name}:{frame.lineno})")
                ctx.keep(sec.name, f"internal-{i}-{name}", text)
            took = time.perf_counter() - start
            if took > slowest[0]:
                slowest = (took, what)
            sec.inputs += 1
            if ctx.verbose and (i + 1) % 1000 == 0:
                ctx.progress(sec.name, f"{i + 1}/{total}")
    sec.histograms["mutations applied"] = kinds
    sec.metrics["slowest mutant"] = f"{slowest[0]:.2f} s ({slowest[1][:140]})"


# ====================================================================== 2. mutants through the CLI
def sec_mutants_cli(ctx: Context, sec: Section) -> None:
    rng = ctx.rng(sec.name)
    total = ctx.size(300, 20)
    texts = {p.name: p.read_text(encoding="utf-8") for p in rule_book_files()}
    common = (POLICIES / "common.policy").read_bytes()
    with tempfile.TemporaryDirectory(prefix="probe-cli-") as tmp:
        jobs = []
        for i in range(total):
            name = rng.choice(sorted(texts))
            text, how = mutate(rng, texts[name])
            folder = Path(tmp) / f"m{i:04d}"
            folder.mkdir()
            (folder / "common.policy").write_bytes(common)
            write_text(folder / name, text)
            jobs.append((i, name, how, folder, text))

        def one(job):
            i, name, how, folder, text = job
            return (cli(["check", str(folder)], timeout=ctx.timeout, cwd=Path(tmp)),
                    cli(["fmt", "--check", str(folder / name)], timeout=ctx.timeout, cwd=Path(tmp)))

        results = pmap(one, jobs, ctx.jobs)
        for (i, name, how, folder, text), (checked, formatted) in zip(jobs, results):
            what = f"mutant #{i} of {name} ({how}): "
            sec.record("check FOLDER", checked, what)
            sec.record("fmt --check FILE", formatted, what)
            if checked.internal or checked.hang or formatted.internal or formatted.hang:
                ctx.keep(sec.name, f"{i}-{name}", text)
            sec.inputs += 1


# ====================================================================== 3. deep nesting
NEST_HEAD = ('policy demo.deep\n  title "深" / "Deep"\n\n'
             'input account.fans: count "粉丝数" / "Followers"\n'
             'input shop.scenes: set of selling_scene "带货场景" / "Selling scenes"\n\n')
NEST_RULE = ('rule fans "粉丝门槛" / "Follower threshold"\n  require {cond}\n'
             '    else deny fans_low "粉丝不足" / "Too few followers"\n  source "doc.txt" quote "1000粉丝"\n\n'
             'property decided "有结论" / "Decided"\n  expect outcome == allow or outcome == deny\n')
NEST_KINDS = ["and", "or", "plus", "times", "not", "neg", "neg_spaced", "parens", "max"]
NEST_DEPTHS = [10, 100, 101, 500, 1000, 5000]


def nested_condition(kind: str, levels: int) -> str:
    """A condition whose expression tree is `levels` deep (parentheses: `levels` pairs, which add no depth)."""
    n, fans = levels - 1, "account.fans"
    if kind == "and":
        return " and ".join([f"{fans} >= 1"] * levels)
    if kind == "or":
        return " or ".join([f"{fans} >= 1"] * levels)
    if kind == "plus":
        return " + ".join([fans] * levels) + " >= 1"
    if kind == "times":
        return " * ".join([fans] * levels) + " >= 1"
    if kind == "not":
        return "not " * n + f"{fans} >= 1"
    if kind == "neg":
        return "-" * n + f"{fans} <= 1"
    if kind == "neg_spaced":
        return "- " * n + f"{fans} <= 1"
    if kind == "parens":
        return "(" * levels + f"{fans} >= 1" + ")" * levels
    if kind == "max":
        return "max(" * n + fans + "".join(f" for s{i} in shop.scenes)" for i in range(n)) + " >= 1"
    raise ValueError(kind)


def sec_nesting(ctx: Context, sec: Section) -> None:
    depths = NEST_DEPTHS
    quick = {("and", 101), ("not", 101), ("parens", 101)} | {(kind, 5000) for kind in NEST_KINDS}
    common = (POLICIES / "common.policy").read_bytes()
    record = json.dumps({"account": {"fans": 3}, "shop": {"scenes": ["live"]}}).encode()
    outcome = collections.defaultdict(dict)
    with tempfile.TemporaryDirectory(prefix="probe-nesting-") as tmp:
        jobs = []
        for kind in NEST_KINDS:
            for depth in depths:
                if ctx.quick and (kind, depth) not in quick:
                    continue
                folder = Path(tmp) / f"{kind}-{depth}"
                folder.mkdir()
                (folder / "common.policy").write_bytes(common)
                write_text(folder / "deep.policy", NEST_HEAD + NEST_RULE.format(cond=nested_condition(kind, depth)))
                jobs.append((kind, depth, folder, "check", ["check", str(folder)], None))
                jobs.append((kind, depth, folder, "fmt --check", ["fmt", "--check", str(folder / "deep.policy")], None))
                jobs.append((kind, depth, folder, "eval", ["eval", "demo.deep", "--facts", "-", "--policies", str(folder),
                                                           "--at", "2024-01-01", "--json"], record))
        runs = pmap(lambda job: cli(job[4], stdin=job[5], timeout=ctx.timeout, cwd=Path(tmp)), jobs, ctx.jobs)
        for (kind, depth, folder, command, _, _), run in zip(jobs, runs):
            sec.record(command, run, f"{kind}×{depth}: ")
            outcome[f"{kind}"][f"{command}@{depth}"] = run.label
            if run.internal or run.hang:
                ctx.keep(sec.name, f"{kind}-{depth}.policy", (folder / "deep.policy").read_bytes())
        sec.inputs = len(jobs) // 3
    # one line per kind: the exit codes of check / fmt --check / eval at each depth
    for kind in NEST_KINDS:
        cells = []
        for depth in depths:
            if f"check@{depth}" in outcome[kind]:
                codes = [outcome[kind][f"{c}@{depth}"].replace("exit ", "") for c in ("check", "fmt --check", "eval")]
                cells.append(f"{depth}:{'/'.join(codes)}")
        sec.metrics[f"{kind:<10} (check/fmt/eval)"] = "  ".join(cells)


# ====================================================================== 4. hostile facts
def facts_cases(book: Any, tmp: Path) -> list[tuple[str, str, str, bytes | None]]:
    """(label, policy, --facts argument, stdin bytes) for every hostile facts input."""
    chosen = ["cart.opening", "shop.deposit", "deposit.stage", "cart.metrics", "settlement", "product.sharing",
              "listing.approval", "identity.verification"]
    policies = {pid: book.policies[pid] for pid in chosen if pid in book.policies}
    records = {pid: complete_record(book, p) for pid, p in policies.items()}

    def read_on_the_day(pid: str, path: str) -> bool:
        """Whether evaluating the complete record without this fact fails (the fact is read on 2023-12-20)."""
        from policydsl.errors import PolicyDslError
        record = {k: v for k, v in records[pid].items() if k != path}
        try:
            book.evaluate(pid, nest(record), at=dt.date(2023, 12, 20))
        except PolicyDslError:
            return True
        return False

    def find(kind: str) -> tuple[str, str] | None:
        """The first input of this kind (among the chosen policies) that the evaluation actually reads."""
        spots = [(pid, path) for pid, p in policies.items() for path, spec in p.inputs.items()
                 if spec.type.kind == kind]
        return next((spot for spot in spots if read_on_the_day(*spot)), spots[0] if spots else None)

    def with_raw(pid: str, path: str, raw: str) -> bytes:
        rec = dict(records[pid])
        rec[path] = "@@RAW@@"
        return json.dumps(nest(rec), ensure_ascii=False).replace('"@@RAW@@"', raw).encode("utf-8")

    base_pid = "cart.opening"
    base = json.dumps(nest(records[base_pid]), ensure_ascii=False)
    cases: list[tuple[str, str, bytes]] = []
    # nesting: the whole record wrapped in objects, and an array nested in place of a fact
    for depth in (65, 1000, 5000, 100_000):
        cases.append((f"record inside {depth} objects", base_pid, ('{"x":' * depth + base + "}" * depth).encode()))
        cases.append((f"fact as {depth} nested arrays", base_pid,
                      with_raw(base_pid, "account.fans", "[" * depth + "1" + "]" * depth)))
    # numbers
    for kind in ("count", "money", "percent", "number"):
        spot = find(kind)
        if spot is None:
            continue
        for raw in ("9e999999", "1e-40", "9" * 40, '"NaN"', "NaN", "Infinity", "-Infinity"):
            shown = raw if len(raw) <= 12 else f"{len(raw)} digits"
            cases.append((f"{kind} {spot[1]} = {shown}", spot[0], with_raw(*spot, raw)))
    money = find("money")
    if money:
        for raw in ("-1", '"-¥5"', '"¥-5"', "-0.0"):
            cases.append((f"money {money[1]} = {raw}", money[0], with_raw(*money, raw)))
    date = find("date")
    if date:
        for raw in ('"2023-W51-3"', '"20231220"', "20231220", '"2023-02-30"', '"2023-12-20T10:00:00"',
                    '"２０２３-12-20"', '""'):
            cases.append((f"date {date[1]} = {raw}", date[0], with_raw(*date, raw)))
    # a wrong type for every kind
    wrong = {"true": "bool", '"abc"': "text", "[]": None, "{}": None, "null": None}
    for kind in ("count", "number", "money", "percent", "bool", "text", "date", "enum", "set"):
        spot = find(kind)
        if spot is None:
            continue
        for raw, right_for in wrong.items():
            if right_for != kind:
                cases.append((f"{kind} {spot[1]} = {raw}", spot[0], with_raw(*spot, raw)))
    enum, group = find("enum"), find("set")
    if enum:
        cases.append((f"enum {enum[1]} = an unknown value", enum[0], with_raw(*enum, '"no_such_value"')))
    if group:
        cases.append((f"set {group[1]} with an unknown value", group[0], with_raw(*group, '["no_such_value"]')))
        first = json.dumps(records[group[0]][group[1]][0])
        cases.append((f"set {group[1]} with a duplicate", group[0], with_raw(*group, f"[{first}, {first}]")))
    # shapes
    cases.append(("top-level []", base_pid, b"[]"))
    cases.append(("top-level [record]", base_pid, f"[{base}]".encode()))
    cases.append(('{"account": [...]}', base_pid, b'{"account": [{"fans": 1}]}'))
    raw = base.encode("utf-8")
    for cut in (1, len(raw) // 3, len(raw) // 2, len(raw) - 1):
        cases.append((f"truncated at byte {cut}", base_pid, raw[:cut]))
    cases.append(("UTF-8 BOM", base_pid, "\ufeff".encode() + raw))
    cases.append(("two BOMs", base_pid, "\ufeff\ufeff".encode() + raw))
    zh = dict(records[base_pid])
    kind_spec = book.policies[base_pid].inputs["account.kind"]
    zh["account.kind"] = book.model.enums[kind_spec.type.enum].values[0].label.zh  # Chinese text: not ASCII
    cases.append(("GBK bytes", base_pid, json.dumps(nest(zh), ensure_ascii=False).encode("gbk")))
    cases.append(("the same record in UTF-8 (control)", base_pid, json.dumps(nest(zh), ensure_ascii=False).encode()))
    # dotted and nested keys for the same fact
    flat = dict(records[base_pid])
    cases.append(("dotted and nested, same value", base_pid,
                  json.dumps({**nest(flat), "account.fans": flat["account.fans"]}).encode()))
    cases.append(("dotted and nested, different values", base_pid,
                  json.dumps({**nest(flat), "account.fans": 5}).encode()))
    cases.append(("dotted key over an object", base_pid, json.dumps({**flat, "account.fans.x": 1}).encode()))
    cases.append(("dotted keys only", base_pid, json.dumps(flat).encode()))
    out: list[tuple[str, str, str, bytes | None]] = []
    for i, (label, pid, data) in enumerate(cases):
        if i % 2:  # every other one through a file, the rest through standard input
            path = tmp / f"facts-{i:03d}.json"
            path.write_bytes(data)
            out.append((label, pid, str(path), None))
        else:
            out.append((label, pid, "-", data))
    # files that are not facts
    big = tmp / "big-enum.json"
    with big.open("w", encoding="utf-8") as handle:
        value = "个" * (50 * 1024 * 1024 // 3)  # a 50 MB enum value
        rec = dict(records[base_pid])
        rec["account.kind"] = "@@BIG@@"
        head, tail = json.dumps(nest(rec), ensure_ascii=False).split("@@BIG@@")
        handle.write(head + value + tail)
    out.append(("50 MB enum value", base_pid, str(big), None))
    empty = tmp / "empty.json"
    empty.write_bytes(b"")
    out.append(("/dev/zero", base_pid, "/dev/zero", None))
    out.append(("empty file", base_pid, str(empty), None))
    out.append(("empty standard input", base_pid, "-", b""))
    out.append(("a directory", base_pid, str(tmp), None))
    out.append(("missing file", base_pid, str(tmp / "no-such-file.json"), None))
    return out


def sec_facts(ctx: Context, sec: Section) -> None:
    book = load_book()
    with tempfile.TemporaryDirectory(prefix="probe-facts-") as tmp:
        cases = facts_cases(book, Path(tmp))
        if ctx.quick:
            cases = cases[::4] + [c for c in cases[-6:] if c not in cases[::4]]

        def one(case):
            label, pid, facts, stdin = case
            return cli(["eval", pid, "--facts", facts, "--policies", str(POLICIES), "--at", "2023-12-20", "--json"],
                       stdin=stdin, timeout=ctx.timeout, cwd=Path(tmp))

        runs = pmap(one, cases, ctx.jobs)
        largest = (0, "")
        accepted = []
        for (label, pid, facts, stdin), run in zip(cases, runs):
            sec.record("eval --facts", run, f"{label} ({pid}): ")
            sec.inputs += 1
            if run.code == 0:
                accepted.append(label)
            if len(run.stderr) > largest[0]:
                largest = (len(run.stderr), label)
            if label == "50 MB enum value":
                sec.metrics["stderr of the 50 MB enum value"] = f"{len(run.stderr)} bytes ({run.label})"
            if run.internal or run.hang:
                ctx.keep(sec.name, f"{len(sec.internal) + len(sec.hangs)}-{pid}.json",
                         stdin if stdin is not None else b"(file) " + facts.encode())
        sec.metrics["largest stderr"] = f"{largest[0]} bytes ({largest[1]})"
        sec.metrics["accepted (exit 0)"] = "; ".join(accepted) or "none"
        if largest[0] > 64 * 1024:
            sec.add_finding(f"stderr of {largest[1]!r} is {largest[0]} bytes (over 64 KiB)")


# ====================================================================== 5. source documents
def sec_sources(ctx: Context, sec: Section) -> None:
    from policydsl.semantics.sources import closest

    if not ctx.sources.is_dir():
        sec.skipped = f"no source documents at {ctx.sources} (give --sources DIR)"
        return
    rng = ctx.rng(sec.name)
    marker = "PROBE-MARKER-" + "".join(rng.choice("0123456789abcdef") for _ in range(24))
    with tempfile.TemporaryDirectory(prefix="probe-sources-") as tmp:
        root = Path(tmp)
        docs = root / "docs"
        shutil.copytree(ctx.sources, docs, symlinks=False)
        (root / "secret.txt").write_text(marker + "\n", encoding="utf-8")
        (docs / "leak.txt").symlink_to(root / "secret.txt")
        (docs / "up").symlink_to(root)
        (docs / "sub").mkdir()
        (docs / "sub" / "deeper.txt").symlink_to(Path("..") / ".." / "secret.txt")
        os.mkfifo(docs / "fifo.txt")
        (docs / "gbk.txt").write_bytes(("完成实名认证" + marker).encode("gbk"))
        (docs / "folder.txt").mkdir()
        with (docs / "big.txt").open("w", encoding="utf-8") as handle:
            handle.write((marker + " 完成实名认证\n") * (20 * 1024 * 1024 // 50))
        # a 200,000-character document with a 400-character passage, and a near-quote of it
        filler = "".join(chr(0x4E00 + rng.randrange(20000)) for _ in range(200_000))
        passage = "".join(chr(0x4E00 + rng.randrange(20000)) for _ in range(400))
        (docs / "near.txt").write_text(filler[:120_000] + passage + filler[120_000:], encoding="utf-8")
        near_quote = "".join("某" if i % 40 == 20 else ch for i, ch in enumerate(passage))
        names = {
            "../secret.txt": "P0707", "./../secret.txt": "P0707", "a/../../secret.txt": "P0707",
            str(root / "secret.txt"): "P0707", "/etc/passwd": "P0707", "..\\\\secret.txt": "P0707",
            "leak.txt": "P0707", "up/secret.txt": "P0707", "sub/deeper.txt": "P0707",
            "fifo.txt": "P0708", "gbk.txt": "P0708", "folder.txt": "P0708", "big.txt": "P0708",
            "%2e%2e/secret.txt": "P0701", "": "P0707", ".": "P0707",
        }
        common = (POLICIES / "common.policy").read_bytes()

        def book_for(i: int, document: str, quote: str) -> Path:
            folder = root / f"book{i:02d}"
            folder.mkdir()
            (folder / "common.policy").write_bytes(common)
            (folder / "demo.policy").write_text(
                'policy demo.cart\n  title "演示" / "Demo"\n'
                f'  source "{document}" quote "{quote[:-1]}"\n'
                'input account.fans: count "粉丝数" / "Followers"\n'
                'rule fans "粉丝门槛" / "Follower threshold"\n  require account.fans >= 1\n'
                '    else deny low "粉丝不足" / "Too few followers"\n'
                f'  source "{document}" quote "{quote[:-1]}{"X" * 12}"\n', encoding="utf-8")
            return folder

        # the quotes are the marker's start (verbatim in the file: reading it would confirm it) and a near miss
        # of the whole marker (reading the file would print it as the closest text); the marker itself is
        # written nowhere but in the files outside the folder
        jobs = [(name, expected, book_for(i, name, marker[:-12] + "Z")) for i, (name, expected) in enumerate(names.items())]
        runs = pmap(lambda job: cli(["check", str(job[2]), "--sources", str(docs)], timeout=ctx.timeout, cwd=root),
                    jobs, ctx.jobs)
        leaks = 0
        for (name, expected, folder), run in zip(jobs, runs):
            sec.inputs += 1
            sec.record("check --sources", run, f"document {name!r}: ")
            out = run.stdout.decode("utf-8", "replace")
            codes = collections.Counter(re.findall(r"error\[(P07\d\d)\]", out))
            for code, n in codes.items():
                sec.count("P07xx diagnostics", code, n)
            if marker in (run.stdout + run.stderr).decode("utf-8", "replace"):
                leaks += 1
                sec.add_finding(f"the marker of a file outside the folder was printed for document {name!r}")
            if codes.get(expected, 0) != 2:
                sec.add_finding(f"document {name!r}: expected two {expected}, got {dict(codes)} ({run.label})")
        sec.metrics["marker printed"] = f"{leaks} of {len(jobs)} runs"
        # the real rule book against the untouched copy of the documents: its quotes still verify
        whole = cli(["check", str(POLICIES), "--sources", str(docs)], timeout=ctx.timeout, cwd=root)
        sec.inputs += 1
        sec.record("check rule book --sources", whole)
        # the closest-text hint: in process, and through the CLI
        text = (docs / "near.txt").read_text(encoding="utf-8")
        start = time.perf_counter()
        hint = closest(near_quote, text)
        sec.metrics["closest() for a 400-char near-quote in 200,000 chars"] = (
            f"{(time.perf_counter() - start) * 1000:.0f} ms (found the passage: {hint == f'“{passage}”'})")
        folder = book_for(99, "near.txt", near_quote + "Z")
        run = cli(["check", str(folder), "--sources", str(docs)], timeout=ctx.timeout, cwd=root)
        sec.inputs += 1
        sec.record("check --sources (near-quote)", run)
        shown = "closest text in the document" in run.stdout.decode("utf-8", "replace")
        sec.metrics["check with that near-quote (whole command)"] = f"{run.seconds * 1000:.0f} ms, hint shown: {shown}"


# ====================================================================== 6. injection into the handbook
INJECT_COMMON = '''unit follower "人" / "{unit_label}"

enum account_kind "{enum_label}" / "Account type"
  value personal "个人账号" / "{enum_value_label}"
  value enterprise "企业号" / "Enterprise account"
'''
INJECT_POLICY = '''policy example
  title "示例：购物车开通" / "{policy_title}"
  implements R000.1
  source "example.txt" quote "{quote}"
  effective from 2024-01-01

input account.kind: account_kind "账号类型" / "{input_label}"
input account.fans: count "粉丝数" / "Followers" unit follower

define example.min_fans: count "粉丝门槛" / "{define_label}" unit follower
  = 1000
  source "example.txt" quote "粉丝数达到1000人"

table bonus(fans: count) -> count "{table_label}" / "Bonus"
  hit unique
  row [0, 999]: 0
  row (999, inf): 1

define example.bonus: count "奖励" / "Bonus"
  = bonus(account.fans)

rule personal_fans "{rule_title}" / "Follower threshold for personal accounts"
  implements R000.1
  when account.kind == personal
  require account.fans >= example.min_fans
    else deny fans_below_threshold "粉丝数 {{account.fans}}，未达到 {{example.min_fans}}" / "{{account.fans}}, below {{example.min_fans}}: {rule_message}"
  source "example.txt" quote "个人账号粉丝数达到1000人，方可开通购物车。"

property personal_low_fans_denied "{property_label}" / "A personal account under 1,000 followers is denied"
  when account.kind == personal and account.fans < 1000
  expect outcome == deny and fires(personal_fans)

assume enterprise_unlimited "原文只对个人账号设粉丝门槛。" / "{assume_text}"
  about R000.1, personal_fans
  source "example.txt" quote "企业号不受粉丝数限制。"

note fans_note "{note_text}" / "A note on followers" about R000.1
'''
INJECT_FEATURE = '''# language: zh-CN
功能: 示例：购物车开通

  @R000.1
  场景: {scenario_name}
    假如 账号类型 为 个人账号
    而且 粉丝数 为 999
    当 在 2024-06-01 评估 "example"
    那么 结果为 "拒绝"
'''
PLACES = ["unit_label", "enum_label", "enum_value_label", "policy_title", "quote", "input_label", "define_label",
          "table_label", "rule_title", "rule_message", "property_label", "assume_text", "note_text", "scenario_name"]
PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "{{7*7}}", "{% raw %}",
            "[x](javascript:alert(1))", "`", "a | b | c", "\u202e"]


class HtmlScan(html.parser.HTMLParser):
    """What matters in rendered HTML/SVG: tags, event-handler attributes, javascript: URLs, text and script text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags = collections.Counter()
        self.event_attrs = 0
        self.js_urls = 0
        self.text: list[str] = []
        self.script: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.event_attrs += 1
            if name in ("href", "src", "action", "formaction", "xlink:href") and value and \
                    re.sub(r"\s", "", value).lower().startswith("javascript:"):
                self.js_urls += 1
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.script.append(data)
        elif self._in is None:
            self.text.append(data)


def scan_handbook(out: Path) -> dict[str, Any]:
    tags, events, js, text, script, md_raw, md_js, md_broken = collections.Counter(), 0, 0, [], [], 0, 0, 0
    for path in sorted(out.rglob("*")):
        if path.suffix in (".html", ".svg"):
            scan = HtmlScan()
            scan.feed(path.read_text(encoding="utf-8"))
            scan.close()
            tags.update(scan.tags)
            events += scan.event_attrs
            js += scan.js_urls
            text.append("".join(scan.text))
            script.append("".join(scan.script))
        elif path.suffix == ".md":
            md = prose_of(path.read_text(encoding="utf-8"))
            inline = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", md.replace("\\`", ""))  # code spans are inert too
            md_raw += len(re.findall(r"(?<!\\)<(?:script|img|svg)", inline))
            md_js += len(re.findall(r"(?<!\\)\]\(\s*javascript:", inline))
            md_broken += broken_table_rows(md)
    return {"tags": tags, "events": events, "js": js, "text": "\n".join(text), "script": "\n".join(script),
            "md_raw": md_raw, "md_js": md_js, "md_broken": md_broken}


FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)


def prose_of(md: str) -> str:
    """Markdown without its fenced code blocks (policy source shown verbatim there is inert text)."""
    return FENCE.sub("", md)


def broken_table_rows(md: str) -> int:
    """Rows of Markdown tables whose cell count differs from their header's (a `|` that was not escaped)."""
    broken, header = 0, None
    for line in md.splitlines():
        if line.startswith("|"):
            cells = len(re.findall(r"(?<!\\)\|", re.sub(r"`[^`]*`", "", line.replace("\\`", ""))))
            if header is None:
                header = cells
            elif cells != header:
                broken += 1
        else:
            header = None
    return broken


def policy_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def sec_injection(ctx: Context, sec: Section) -> None:
    payloads = PAYLOADS[:2] if ctx.quick else PAYLOADS
    markers = {place: f"ZQX{i:02d}MARK" for i, place in enumerate(PLACES)}
    with tempfile.TemporaryDirectory(prefix="probe-injection-") as tmp:
        root = Path(tmp)

        def render(tag: str, values: dict[str, str]) -> tuple[Run, Path]:
            book, feats, out = root / tag / "policies", root / tag / "features", root / tag / "handbook"
            book.mkdir(parents=True)
            feats.mkdir()
            strings = {k: (v if k == "scenario_name" else policy_string(v)) for k, v in values.items()}
            (book / "common.policy").write_text(INJECT_COMMON.format(**strings), encoding="utf-8")
            (book / "example.policy").write_text(INJECT_POLICY.format(**strings), encoding="utf-8")
            (feats / "example.zh.feature").write_text(INJECT_FEATURE.format(**strings), encoding="utf-8")
            run = cli(["docs", "--policies", str(book), "--features", str(feats), "--out", str(out)],
                      timeout=ctx.timeout, cwd=root)
            return run, out

        base_run, base_out = render("baseline", markers)
        sec.record("docs (baseline)", base_run)
        if base_run.code != 0:
            sec.add_finding(f"the baseline book does not render: {base_run.brief()}")
            return
        base = scan_handbook(base_out)
        shown = {place: base["text"].count(marker) for place, marker in markers.items()}
        sec.metrics["places shown in the HTML (baseline)"] = f"{sum(1 for n in shown.values() if n)} of {len(PLACES)}"
        for place, n in shown.items():
            if not n:
                sec.notes.append(f"place {place} does not appear in the HTML text (nothing to compare)")
        jobs = [(place, payload) for place in PLACES for payload in payloads]
        runs = pmap(lambda job: render(f"{PLACES.index(job[0]):02d}-{payloads.index(job[1])}",
                                       {**markers, job[0]: job[1]}), jobs, ctx.jobs)
        failed_places = set()
        for (place, payload), (run, out) in zip(jobs, runs):
            sec.inputs += 1
            what = f"{place} = {payload!r}: "
            sec.record("docs", run, what)
            if run.code == 2:
                codes = sorted(set(re.findall(r"error\[(P\d+)\]", run.stderr.decode("utf-8", "replace"))))
                sec.count("refused by check (exit 2)", f"{place}: {','.join(codes) or 'no code'}")
                continue
            if run.code != 0:
                continue
            got = scan_handbook(out)
            problems = []
            if got["events"] > base["events"]:
                problems.append(f"{got['events'] - base['events']} event-handler attribute(s)")
            if got["js"] > base["js"]:
                problems.append("a javascript: URL")
            for tag in ("script", "img", "svg", "iframe", "a"):
                if got["tags"][tag] > base["tags"][tag]:
                    problems.append(f"{got['tags'][tag] - base['tags'][tag]} extra <{tag}>")
            if "alert(1)" in got["script"]:
                problems.append("alert(1) inside a <script>")
            if got["md_raw"] > base["md_raw"]:
                problems.append("a raw tag in the Markdown")
            if got["md_js"] > base["md_js"]:
                problems.append("a javascript: link in the Markdown")
            if got["md_broken"] > base["md_broken"]:
                problems.append(f"{got['md_broken'] - base['md_broken']} broken Markdown table row(s)")
            if got["text"].count("49") > base["text"].count("49"):
                problems.append("{{7*7}} rendered as 49")
            count = got["text"].count(payload)
            if shown[place] and count < shown[place]:
                problems.append(f"payload shown {count} times, the marker {shown[place]} times (altered or lost)")
            if problems:
                failed_places.add(place)
                sec.add_finding(what + "; ".join(problems))
                sec.count("renders", "failed")
            else:
                sec.count("renders", "clean")
        sec.metrics["places"] = len(PLACES)
        sec.metrics["payloads"] = len(payloads)
        sec.metrics["places with a failure"] = len(failed_places)


# ====================================================================== 7. docs killed mid-render
def tree(folder: Path) -> dict[str, str]:
    """relative path -> SHA-256 of every file under folder."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def sec_docs_kill(ctx: Context, sec: Section) -> None:
    rng = ctx.rng(sec.name)
    tries = ctx.size(13, 3)
    args = ["docs", "--policies", str(POLICIES), "--features", str(FEATURES)]
    with tempfile.TemporaryDirectory(prefix="probe-docs-kill-") as tmp:
        root = Path(tmp)
        clean = cli([*args, "--out", str(root / "clean" / "handbook")], timeout=ctx.timeout, cwd=root)
        sec.record("clean render", clean)
        if clean.code != 0:
            sec.add_finding(f"the rule book does not render: {clean.brief()}")
            return
        reference = tree(root / "clean" / "handbook")
        site = root / "site"
        site.mkdir()
        out = site / "handbook"
        leftovers_total = 0
        for i in range(tries):
            delay = rng.uniform(0, 1.5)
            proc = subprocess.Popen([sys.executable, "-m", "policydsl.cli", *args, "--out", str(out)], cwd=root,
                                    env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            finished = proc.poll() is not None
            if not finished:
                os.kill(proc.pid, signal.SIGKILL)  # kill -9 the render we started, by its id
            proc.wait(ctx.timeout)
            sec.count("first render", "finished before the kill" if finished else "killed")
            sec.inputs += 1
            staged = sorted(name for name in os.listdir(site) if name != "handbook")
            sec.count("the kill left beside the handbook", "a staging folder and/or lock file" if staged else "nothing")
            state = "absent" if not out.exists() else "complete" if tree(out) == reference else "INCOMPLETE"
            sec.count("handbook after the kill", state)
            if state == "INCOMPLETE":
                sec.add_finding(f"try {i} (killed after {delay:.2f} s): the handbook folder is incomplete or mixed")
            again = cli([*args, "--out", str(out)], timeout=ctx.timeout, cwd=root)
            sec.record("second render", again, f"try {i}: ")
            left = sorted(name for name in os.listdir(site) if name != "handbook")
            leftovers_total += len(left)
            if left:
                sec.add_finding(f"try {i} (killed after {delay:.2f} s): left beside the handbook: {left}")
            state = "complete" if out.exists() and tree(out) == reference else "INCOMPLETE"
            sec.count("handbook after the second render", state)
            if state != "complete":
                sec.add_finding(f"try {i}: after the second render the handbook differs from a clean render")
        sec.metrics["leftover staging/lock files after the second runs"] = leftovers_total


# ====================================================================== 8. full disk, read-only filesystem
def sec_fs(ctx: Context, sec: Section) -> None:
    with tempfile.TemporaryDirectory(prefix="probe-fs-") as tmp:
        root = Path(tmp)
        mnt = root / "mnt"
        mnt.mkdir()
        try:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True,
                                  timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            sec.skipped = f"cannot mount a tmpfs ({exc})"
            return
        if done.returncode != 0:
            sec.skipped = f"cannot mount a tmpfs: {done.stderr.decode('utf-8', 'replace').strip()} (needs root)"
            return
        try:
            fs_probe(ctx, sec, root, mnt)
        finally:
            subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30)
            if os.path.ismount(mnt):
                subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)
                sec.notes.append("the tmpfs needed a lazy unmount")


def fs_probe(ctx: Context, sec: Section, root: Path, mnt: Path) -> None:
    book, feats = mnt / "book", root / "features"
    book.mkdir()
    feats.mkdir()
    for shared in ("common.policy", "vocabulary.policy"):  # the shared enums and the book's vocabulary of facts
        shutil.copy(POLICIES / shared, book / shared)
    # a policy file fmt wants to rewrite: every rule's `require` indented one space too far
    messy = (POLICIES / "cart_opening.policy").read_text(encoding="utf-8").replace("\n  require ", "\n   require ")
    (book / "cart_opening.policy").write_text(messy, encoding="utf-8")
    shutil.copy(FEATURES / "cart_opening.zh.feature", feats / "cart_opening.zh.feature")
    readme = mnt / "README.md"
    readme.write_text("# book\n\n<!-- inventory:start -->\nstale\n<!-- inventory:end -->\n", encoding="utf-8")
    handbook = mnt / "handbook"
    commands = {
        "fmt": ["fmt", str(book / "cart_opening.policy")],
        "inventory --update": ["inventory", "--policies", str(book), "--features", str(feats), "--update", str(readme)],
        "docs": ["docs", "--policies", str(book), "--features", str(feats), "--out", str(handbook)],
    }
    first = cli(commands["docs"], timeout=ctx.timeout, cwd=root)
    sec.record("setup", first, "first render: ")
    # controls: each command has something to write (else an exit 2 below would prove nothing)
    wants = cli(["fmt", "--check", str(book / "cart_opening.policy")], timeout=ctx.timeout, cwd=root)
    if wants.code != 1:
        sec.add_finding(f"control: fmt --check of the messy file gave {wants.label}, not exit 1")
    stale = cli(["inventory", "--policies", str(book), "--features", str(feats), "--check", str(readme)],
                timeout=ctx.timeout, cwd=root)
    if stale.code != 1:
        sec.add_finding(f"control: inventory --check of the stale table gave {stale.label}, not exit 1")
    sec.metrics["controls (fmt --check, inventory --check, first docs)"] = (
        f"{wants.label}, {stale.label}, {first.label} (expected exit 1, exit 1, exit 0)")
    before = tree(mnt)

    def check_all(condition: str) -> None:
        for name, args in commands.items():
            run = cli(args, timeout=ctx.timeout, cwd=root)
            sec.inputs += 1
            sec.record(f"{condition}", run, f"{condition}, {name}: ")
            sec.count(f"{condition}: expected exit 2", f"{name}: {'yes' if run.code == 2 else 'NO (' + run.label + ')'}")
            err = run.stderr.decode("utf-8", "replace")
            reason = next((r for r in ("No space left on device", "Read-only file system") if r in err), None)
            sec.count(f"{condition}: reason named on stderr", f"{name}: {reason or 'NO: ' + err.strip()[-120:]}")
            if run.code != 2:
                sec.add_finding(f"{condition}: {name} gave {run.label}, expected exit 2")
            after = {k: v for k, v in tree(mnt).items() if k != "filler"}
            if after != before:
                changed = sorted(set(after) ^ set(before) | {k for k in after if k in before and after[k] != before[k]})
                sec.add_finding(f"{condition}: {name} changed the files: {changed[:5]}")
            left = sorted(n for n in os.listdir(mnt) if n not in ("book", "README.md", "handbook", "filler"))
            left += sorted(f"book/{n}" for n in os.listdir(book) if n not in ("common.policy", "vocabulary.policy", "cart_opening.policy"))
            if left:
                sec.add_finding(f"{condition}: {name} left {left}")

    # a full disk
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for chunk in (1 << 20, 1 << 12, 1):  # unbuffered: fill to the last byte
            try:
                while os.write(fd, b"\0" * chunk):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    sec.metrics["free bytes on the full tmpfs"] = shutil.disk_usage(mnt).free
    check_all("full tmpfs")
    filler.unlink()
    # a read-only filesystem
    ro = subprocess.run(["mount", "-o", "remount,ro", str(mnt)], capture_output=True, timeout=30)
    if ro.returncode != 0:
        sec.notes.append(f"read-only remount failed: {ro.stderr.decode('utf-8', 'replace').strip()}")
        return
    try:
        check_all("read-only tmpfs")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(mnt)], capture_output=True, timeout=30)


# ====================================================================== 9. threads
def random_record(rng: random.Random, book: Any, policy: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for path, spec in policy.inputs.items():
        kind, enum = spec.type.kind, spec.type.enum
        if kind in ("enum", "set"):
            decl = book.model.enums[enum]
            names = [v.name.value for v in decl.values]
            if kind == "enum":
                value = decl.values[rng.randrange(len(decl.values))]
                facts[path] = rng.choice([value.name.value, value.name.value, value.label.zh, value.label.en])
            else:
                facts[path] = rng.sample(names, rng.randint(0, len(names)))
        elif kind == "count":
            facts[path] = rng.choice([0, 1, 2, 7, 10, 29, 30, 90, 91, 180, 181, 999, 1000, 1001, rng.randint(0, 10 ** 6)])
        elif kind == "number":
            facts[path] = rng.choice(["0", "4.5", "4.7", "4.8", "5", f"{rng.randint(0, 100)}.{rng.randint(0, 99)}"])
        elif kind == "money":
            facts[path] = rng.choice([0, 500, 1000, 2000, 4000, 20000, f"¥{rng.randint(0, 100000)}",
                                      f"{rng.randint(0, 10 ** 6)}.{rng.randint(0, 99):02d}"])
        elif kind == "percent":
            facts[path] = rng.choice(["0%", "3%", "5%", "8%", "50%", "80%", "100%", f"{rng.randint(0, 100)}%",
                                      f"0.{rng.randint(0, 99):02d}"])
        elif kind == "bool":
            facts[path] = rng.random() < 0.8
        elif kind == "date":
            facts[path] = (dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(2200))).isoformat()
        else:
            facts[path] = rng.choice(["x", "abc", "商品"])
    return facts


def sec_threads(ctx: Context, sec: Section) -> None:
    from policydsl.errors import PolicyDslError

    import policydsl
    total = ctx.size(160_000, 16_000)
    threads = 8
    book = policydsl.load(str(POLICIES))
    pids = sorted(book.policies)
    periods = {}
    for pid in pids:
        start, end = book.policies[pid].effective
        start = max(start or dt.date(2019, 1, 1), dt.date(2019, 1, 1))
        end = min(end or dt.date(2024, 12, 31), dt.date(2024, 12, 31))
        periods[pid] = (start, (end - start).days)
    # the records, drawn once (seeded) and kept compact: (policy index, facts as JSON, day)
    rng = ctx.rng(sec.name)
    work = []
    for _ in range(total):
        pid = pids[rng.randrange(len(pids))]
        start, span = periods[pid]
        day = start + dt.timedelta(days=rng.randint(0, span))
        work.append((pid, json.dumps(random_record(rng, book, book.policies[pid]), ensure_ascii=False), day))

    def decide(i: int) -> tuple[bytes, str | None, bool]:
        """(digest of the decision's to_dict() or of its PolicyDslError, an unexpected error, refused)."""
        pid, facts, day = work[i]
        refused = False
        try:
            result: Any = book.evaluate(pid, json.loads(facts), at=day).to_dict()
        except PolicyDslError as exc:
            result, refused = {"error": exc.key, "message": str(exc)}, True
        except Exception as exc:  # noqa: BLE001
            return b"", f"{type(exc).__name__}: {exc}", False
        canonical = json.dumps(result, sort_keys=True, default=str, ensure_ascii=False).encode()
        return hashlib.sha256(canonical).digest(), None, refused

    start = time.perf_counter()
    single = [b""] * total
    refused = 0
    errors_one = 0
    for i in range(total):
        digest, error, was_refused = decide(i)
        single[i] = digest
        refused += was_refused
        if error:
            errors_one += 1
            sec.add_internal(f"one thread, decision #{i} ({work[i][0]} on {work[i][2]}): {error}")
    one_thread = time.perf_counter() - start
    mismatches: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(t, total, threads):
            digest, error, _ = decide(i)
            with lock:
                if error:
                    errors.append(f"thread {t}, decision #{i} ({work[i][0]} on {work[i][2]}): {error}")
                elif digest != single[i]:
                    mismatches.append(i)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # switch threads often: races show up sooner
    start = time.perf_counter()
    try:
        pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
        for thread in pool:
            thread.start()
        deadline = time.monotonic() + max(ctx.timeout, 600)
        for thread in pool:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = sum(thread.is_alive() for thread in pool)
    finally:
        sys.setswitchinterval(previous)
    eight_threads = time.perf_counter() - start
    if stuck:
        sec.add_hang(f"{stuck} of {threads} threads still running after {max(ctx.timeout, 600):g} s")
    for error in errors:
        sec.add_internal(error)
    for i in mismatches[:10]:
        sec.add_finding(f"decision #{i} ({work[i][0]} on {work[i][2]}) differs between 8 threads and one thread")
    sec.finding_count = len(mismatches)
    sec.inputs = total
    sec.count("decisions", "compared", total)
    sec.count("decisions", "refused with a PolicyDslError (both runs alike)", refused)
    sec.metrics["threads"] = threads
    sec.metrics["mismatches"] = len(mismatches)
    sec.metrics["errors (not PolicyDslError)"] = f"one thread {errors_one}, {threads} threads {len(errors)}"
    sec.metrics["time"] = f"one thread {one_thread:.1f} s, {threads} threads {eight_threads:.1f} s"


# ====================================================================== 10. the language server
class LspServer:
    """A real `python -m policydsl.cli lsp` over pipes: Content-Length framing, a reader thread, replies by id."""

    def __init__(self, cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "policydsl.cli", "lsp"], cwd=cwd, env=ENV,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.replies: dict[Any, dict] = {}
        self.logs: list[str] = []
        self.bad_frames = 0
        self.null_id_replies = 0
        self.null_id_errors: list[str] = []
        self.stderr = bytearray()
        self.closed = False
        self.cond = threading.Condition()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
            self.stderr += chunk

    def _read(self) -> None:
        stream = self.proc.stdout
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    with self.cond:
                        self.closed = True
                        self.cond.notify_all()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii", "replace").partition(":")
                headers[name.strip().lower()] = value.strip()
            try:
                body = json.loads(stream.read(int(headers["content-length"])).decode("utf-8"))
            except (KeyError, ValueError):
                self.bad_frames += 1
                continue
            if not isinstance(body, dict):
                self.bad_frames += 1
                continue
            method = body.get("method")
            if method is None and body.get("id") is None:  # an error reply that names no request
                self.null_id_replies += 1
                self.null_id_errors.append(str((body.get("error") or {}).get("message", ""))[:120])
            elif method is None and "id" in body:
                with self.cond:
                    self.replies[body["id"]] = body
                    self.cond.notify_all()
            elif method in ("window/logMessage", "window/showMessage"):
                self.logs.append(str((body.get("params") or {}).get("message", "")))
            elif method is not None and "id" in body:  # a request from the server: answer it
                self.send({"id": body["id"], "result": None})

    def send_bytes(self, data: bytes) -> bool:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def send(self, message: dict) -> bool:
        data = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode("utf-8")
        return self.send_bytes(b"Content-Length: %d\r\n\r\n" % len(data) + data)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def request(self, method: str, params: Any) -> int:
        ident = self.new_id()
        self.send({"id": ident, "method": method, "params": params})
        return ident

    def wait(self, ident: Any, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while ident not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return self.replies.get(ident)
                self.cond.wait(left)
            return self.replies[ident]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # the server we started, by its handle
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:: |:?$)")


def stderr_records(err: str) -> list[tuple[str, str, bool]]:
    """A server's stderr as log records: (first line, the exception it ends with, whether it has a traceback)."""
    records: list[list[str]] = []
    for line in err.splitlines():
        starts_record = line and not line[0].isspace() and not line.startswith(
            ("|", "+", "Traceback", "The above exception", "During handling")) and not EXCEPTION_LINE.match(line)
        if starts_record or not records:
            records.append([line])
        else:
            records[-1].append(line)
    out = []
    for lines in records:
        body = "\n".join(lines)
        exceptions = [ln for ln in lines[1:] if EXCEPTION_LINE.match(ln)]
        inner = re.findall(r"^\s*\|\s*([A-Za-z_][\w.]*(?:Error|Exception)\b.*)$", body, re.M)
        exception = exceptions[-1] if exceptions else inner[-1] if inner else ""
        out.append((lines[0], exception.strip(), "Traceback (most recent call last)" in body))
    return out


MALFORMED = ["content-length not a number", "negative content-length", "huge content-length", "no blank line",
             "no content-length", "invalid JSON body", "params null", "negative position", "unknown method",
             "request on an unopened file"]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def sec_lsp(ctx: Context, sec: Section) -> None:
    rng = ctx.rng(sec.name)
    messages = ctx.size(300, 40)
    repeats = ctx.size(3, 1)
    wait = ctx.size(10, 3)  # seconds for an answer (a valid request is answered in milliseconds)
    plan = [kind for kind in MALFORMED for _ in range(repeats)]
    plan += [rng.choice(["request"] * 2 + ["edit"]) for _ in range(max(0, messages - len(plan)))]
    rng.shuffle(plan)
    with tempfile.TemporaryDirectory(prefix="probe-lsp-") as tmp:
        folder = Path(tmp)
        for name in ("common.policy", "cart_opening.policy"):
            shutil.copy(POLICIES / name, folder / name)
        path = folder / "cart_opening.policy"
        original = path.read_text(encoding="utf-8")
        uri = path.as_uri()
        stats = collections.Counter()
        after = collections.defaultdict(collections.Counter)
        servers: list[LspServer] = []
        state = {"text": original, "version": 1}

        def start() -> LspServer | None:
            server = LspServer(folder)
            servers.append(server)
            ident = server.request("initialize", {"processId": os.getpid(), "rootUri": folder.as_uri(),
                                                  "capabilities": {}})
            if server.wait(ident, 60) is None:
                sec.add_hang("the language server did not answer initialize within 60 s")
                server.stop()
                return None
            server.send({"method": "initialized", "params": {}})
            state["text"], state["version"] = original, 1
            server.send({"method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": uri, "languageId": "policydsl", "version": 1, "text": original}}})
            return server

        def position(valid: bool = True) -> dict:
            lines = state["text"].split("\n")
            line = rng.randrange(len(lines))
            char = rng.randint(0, utf16_len(lines[line]))
            if not valid or rng.random() < 0.05:  # now and then past the end of the line or the file
                return {"line": line + rng.choice([0, 5, 10 ** 6]), "character": char + rng.choice([1, 200, 10 ** 6])}
            return {"line": line, "character": char}

        def valid_request(server: LspServer) -> tuple[str, int]:
            method = rng.choice(["textDocument/hover", "textDocument/completion", "textDocument/definition",
                                 "textDocument/references", "textDocument/documentSymbol", "textDocument/formatting"])
            params: dict[str, Any] = {"textDocument": {"uri": uri}}
            if method == "textDocument/documentSymbol":
                pass
            elif method == "textDocument/formatting":
                params["options"] = {"tabSize": 2, "insertSpaces": True}
            else:
                params["position"] = position()
                if method == "textDocument/references":
                    params["context"] = {"includeDeclaration": True}
            return method, server.request(method, params)

        def answered(server: LspServer, ident: int, method: str) -> bool:
            stats["requests sent"] += 1
            reply = server.wait(ident, wait)
            if reply is None:
                stats["requests unanswered"] += 1
                return False
            stats["requests answered"] += 1
            if "error" in reply:
                code = (reply.get("error") or {}).get("code")
                sec.count("error replies", f"{method}: code {code}")
            return True

        def malformed(server: LspServer, kind: str) -> int | None:
            """Send one malformed message; the id of the request inside it, if any (it should be answered)."""
            ident = server.new_id()
            body = json.dumps({"jsonrpc": "2.0", "id": ident, "method": "textDocument/hover",
                               "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}})
            data = body.encode("utf-8")
            if kind == "content-length not a number":
                server.send_bytes(b"Content-Length: abc\r\n\r\n" + data)
            elif kind == "negative content-length":
                server.send_bytes(b"Content-Length: -5\r\n\r\n" + data)
            elif kind == "huge content-length":
                server.send_bytes(b"Content-Length: 99999999999999\r\n\r\n" + data)
            elif kind == "no blank line":
                server.send_bytes(b"Content-Length: %d\r\n" % len(data) + data)
            elif kind == "no content-length":
                server.send_bytes(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + data)
            elif kind == "invalid JSON body":
                junk = b'{"jsonrpc": "2.0", "id": %d, "method": "textDocument/hover", "params": {' % ident
                server.send_bytes(b"Content-Length: %d\r\n\r\n" % len(junk) + junk)
            elif kind == "params null":
                server.send({"id": ident, "method": rng.choice(["textDocument/hover", "textDocument/completion",
                                                                "textDocument/documentSymbol"]), "params": None})
                return ident
            elif kind == "negative position":
                server.send({"id": ident, "method": "textDocument/hover", "params": {
                    "textDocument": {"uri": uri}, "position": {"line": -1, "character": -rng.randint(1, 10 ** 9)}}})
                return ident
            elif kind == "unknown method":
                server.send({"id": ident, "method": "policydsl/noSuchThing", "params": {}})
                return ident
            elif kind == "request on an unopened file":
                server.send({"id": ident, "method": rng.choice(["textDocument/hover", "textDocument/definition"]),
                             "params": {"textDocument": {"uri": (folder / "never_opened.policy").as_uri()},
                                        "position": {"line": 0, "character": 0}}})
                return ident
            return None

        server = start()
        edits = 0
        for step, kind in enumerate(plan):
            if server is None:
                break
            if kind == "edit":
                text, _ = mutate(rng, original if rng.random() < 0.5 else state["text"])
                if len(text) > 200_000:
                    text = text[:200_000]
                state["version"] += 1
                state["text"] = re.sub("[\ud800-\udfff]", "?", text)  # JSON over the pipe must be valid UTF-8
                server.send({"method": "textDocument/didChange", "params": {
                    "textDocument": {"uri": uri, "version": state["version"]},
                    "contentChanges": [{"text": state["text"]}]}})
                edits += 1
                continue
            if kind == "request":
                method, ident = valid_request(server)
                if not answered(server, ident, method):
                    if server.alive():
                        sec.add_hang(f"message {step}: {method} unanswered within {wait} s (server alive)")
                    else:
                        stats["server crashes"] += 1
                        sec.add_internal(f"message {step}: the server exited (code {server.proc.returncode}) "
                                         f"before answering {method}")
                    stats["server restarts"] += 1
                    server.stop()
                    server = start()
                continue
            stats["malformed sent"] += 1
            inner = malformed(server, kind)
            method, ident = valid_request(server)
            ok = answered(server, ident, method)
            if inner is not None:
                stats["requests sent"] += 1
                if server.wait(inner, 1 if ok else 0.1) is not None:
                    stats["requests answered"] += 1
                else:
                    stats["requests unanswered"] += 1
                    if ok:
                        sec.add_hang(f"message {step}: the {kind} request itself got no answer")
            if ok:
                after[kind]["next request answered"] += 1
                continue
            dead = not server.alive()
            after[kind]["server died" if dead else "server stopped answering"] += 1
            if dead:
                stats["server crashes"] += 1
                sec.add_internal(f"message {step}: after a {kind} message the server exited "
                                 f"(code {server.proc.returncode})")
            else:
                sec.add_hang(f"message {step}: after a {kind} message, {method} got no answer within {wait} s")
            server.stop()
            stats["server restarts"] += 1
            if stats["server restarts"] > 40:
                sec.notes.append("stopped after 40 restarts of the server")
                break
            server = start()
        # shutdown and exit
        if server is not None:
            ident = server.request("shutdown", None)
            stats["requests sent"] += 1
            if server.wait(ident, wait) is not None:
                stats["requests answered"] += 1
                sec.count("shutdown", "answered")
            else:
                stats["requests unanswered"] += 1
                sec.count("shutdown", "unanswered")
            server.send({"method": "exit"})
            try:
                server.proc.wait(wait)
                sec.count("exit", f"process exited with code {server.proc.returncode}")
            except subprocess.TimeoutExpired:
                sec.count("exit", "process still running")
                sec.add_hang(f"the server did not exit within {wait} s of the exit notification")
        for each in servers:
            each.stop()
        # internal errors: a crash (counted above), each traceback on stderr, each internal-error log message,
        # and an "internal error" line on the stderr of a server that did not crash
        tracebacks = internal_stderr = internal_logs = 0
        for each in servers:
            err = bytes(each.stderr).decode("utf-8", "replace")
            records = stderr_records(err)
            crashed = each.proc.returncode not in (0, None, -signal.SIGKILL)
            for at, (header, exception, has_traceback) in enumerate(records):
                follows = records[at + 1][0] if at + 1 < len(records) else ""
                if has_traceback and follows.startswith("policydsl internal error"):
                    continue  # POLICYDSL_DEBUG's traceback of a crash, which is counted once, above
                if has_traceback:
                    tracebacks += 1
                    sec.add_internal(f"stderr: {header[:90]} -> {exception[:150]}")
                elif "internal error" in header:
                    internal_stderr += 1
                    if not crashed:  # a crash is counted once, above
                        sec.add_internal(f"stderr: {header[:200]}")
            logs = [log for log in each.logs if "internal error" in log]
            internal_logs += len(logs)
            for log in logs:
                sec.add_internal("window/logMessage: " + log.strip().splitlines()[0][:200])
            for message in each.null_id_errors:
                sec.count("error replies", f"id null: {message}")
        sec.metrics["stderr log records with a traceback (crashes aside)"] = tracebacks
        sec.metrics["'internal error' on stderr / in log messages"] = f"{internal_stderr} / {internal_logs}"
        sec.metrics["server processes started"] = len(servers)
        sec.inputs = len(plan)
        stats["messages planned"] = len(plan)
        stats["edits (didChange)"] = edits
        stats["frames from the server that did not parse"] = sum(s.bad_frames for s in servers)
        sec.histograms["messages"] = stats
        sec.histograms["after each malformed kind"] = collections.Counter(
            {f"{kind}: {what}": n for kind in MALFORMED for what, n in after[kind].items()})


# ====================================================================== main
RUNNERS: dict[str, Callable[[Context, Section], None]] = {
    "mutants-inprocess": sec_mutants_inprocess, "mutants-cli": sec_mutants_cli, "nesting": sec_nesting,
    "facts": sec_facts, "sources": sec_sources, "injection": sec_injection, "docs-kill": sec_docs_kill,
    "fs": sec_fs, "threads": sec_threads, "lsp": sec_lsp}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a reduced run (under two minutes)")
    parser.add_argument("--only", action="append", choices=SECTIONS, metavar="SECTION",
                        help=f"run only this section (repeatable): {', '.join(SECTIONS)}")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    parser.add_argument("--sources", default=str(DEFAULT_SOURCES),
                        help="folder of source documents for the sources section (default: ../shared/seeds)")
    parser.add_argument("--seed", type=int, default=10, help="seed of every random choice (default 10)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as a hang (60)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="subprocesses run at once")
    parser.add_argument("--save-failures", metavar="DIR", help="save the inputs of internal errors and hangs here")
    parser.add_argument("--strict", action="store_true",
                        help="also exit 1 when a section reports findings (not only internal errors and hangs)")
    args = parser.parse_args(argv)
    ctx = Context(args)
    chosen = [name for name in SECTIONS if not args.only or name in args.only]
    results: list[Section] = []
    started = time.perf_counter()
    for name in chosen:
        sec = Section(name)
        if ctx.verbose:
            ctx.progress(name, "running")
        start = time.perf_counter()
        try:
            RUNNERS[name](ctx, sec)
        except Exception as exc:  # noqa: BLE001 - a failure of the probe itself is reported, not hidden
            sec.add_internal(f"the probe itself failed: {type(exc).__name__}: {exc} "
                             f"({traceback.format_exc().strip().splitlines()[-3].strip()})")
            sec.notes.append("PROBE FAILURE: this count is the probe's own error, not necessarily policydsl's")
        sec.seconds = time.perf_counter() - start
        results.append(sec)
        if not args.json:
            print(sec.render(), flush=True)
            print(flush=True)
    internal = sum(s.internal_count for s in results)
    hangs = sum(s.hang_count for s in results)
    findings = sum(s.finding_count for s in results)
    failed = internal > 0 or hangs > 0 or (args.strict and findings > 0)
    if args.json:
        print(json.dumps({"seed": args.seed, "quick": args.quick, "timeout": args.timeout,
                          "python": sys.version.split()[0], "sections": {s.name: s.to_json() for s in results},
                          "totals": {"inputs": sum(s.inputs for s in results), "internal_errors": internal,
                                     "hangs": hangs, "findings": findings,
                                     "seconds": round(time.perf_counter() - started, 1)},
                          "exit": 1 if failed else 0}, ensure_ascii=False, indent=2))
    else:
        print("== summary")
        print(f"   {'section':<18} {'inputs':>7} {'internal':>9} {'hangs':>6} {'findings':>9} {'seconds':>8}")
        for s in results:
            if s.skipped:
                print(f"   {s.name:<18} {'skipped':>7}")
                continue
            print(f"   {s.name:<18} {s.inputs:>7} {s.internal_count:>9} {s.hang_count:>6} {s.finding_count:>9} "
                  f"{s.seconds:>8.1f}")
        print(f"   {'total':<18} {sum(s.inputs for s in results):>7} {internal:>9} {hangs:>6} {findings:>9} "
              f"{time.perf_counter() - started:>8.1f}")
        print(f"   seed {args.seed}{', quick' if args.quick else ''}; exit {1 if failed else 0} "
              f"({'internal errors or hangs found' if internal or hangs else 'no internal errors, no hangs'}"
              f"{'; findings count (--strict)' if args.strict and findings else ''})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
