"""Proofs and counterexamples: the solver proposes, the real evaluator decides.

`search` looks for facts and a day satisfying a formula. Every candidate the solver finds is
turned into a facts JSON object and a date and checked with the real evaluator; a candidate that
only holds because of an abstracted calendar function (or a rounding the evaluator does not
do) is refined away and the search goes on. "unsat" is a proof: the abstraction only ever
admits more behaviours than the real functions have.
"""
from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Mapping

import attrs
import z3

from policydsl import i18n
from policydsl.compile.compiler import phase_specs
from policydsl.runtime import rollout as ro
from policydsl.runtime.values import plain
from policydsl.verify.encode import REAL_KINDS, Encoding, PolicyEncoder

MAX_ROUNDS = 60
ID_SEARCH = 200_000
SCALES = (1, 100, 10_000, 1_000_000)  # denominators tried when a rational has no finite decimal form
Z3_MAX = 2 ** 32 - 1  # z3's `timeout` (milliseconds) and `rlimit` (steps) are unsigned 32-bit counts
DEFAULT_STEPS = 60_000_000  # z3 resource steps per question (`--steps`): about a minute on one core here; the
# book's heaviest property (settlement.window_holds_confirmation) spends 17.1 million in `verify`
DEFAULT_SECONDS = 600.0  # the wall-clock backstop per question (`--timeout`)


@attrs.frozen(kw_only=True)
class Witness:
    facts: dict[str, Any]  # nested JSON-ready facts, as `policydsl eval --facts` reads them
    at: dt.date


@attrs.frozen(kw_only=True)
class Limits:
    """What one question (a property, an analysis, one policy's equivalence) may spend. `steps` counts
    z3's resource steps, which for one z3 version come out the same on any machine and under any load,
    so whether a question is decided does not depend on how busy the machine is (as `rlimit` in F* and
    Verus, `--resource-limit` in Dafny); `seconds` is a wall-clock backstop for solver work the steps do
    not count."""
    steps: int = DEFAULT_STEPS
    seconds: float = DEFAULT_SECONDS


@attrs.frozen(kw_only=True)
class Budget:
    """The limits of one question, shared by every solver call and refinement round: each call gets at
    most what is left of both, and nothing starts once either is spent."""
    limits: Limits
    deadline: float  # on the time.monotonic() clock
    step_cap: int  # the count of steps spent at which this budget (or this half of it) ends
    meter: list[int]  # steps spent so far, shared with the halves of this budget

    @classmethod
    def start(cls, limits: Limits) -> Budget:
        return cls(limits=limits, deadline=time.monotonic() + limits.seconds, step_cap=limits.steps, meter=[0])

    def left_ms(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def left_steps(self) -> int:
        return max(0, self.step_cap - self.meter[0])

    @property
    def spent_steps(self) -> int:
        return self.meter[0]

    def half(self) -> Budget:
        """Half of what is left of both limits (the same limits in messages)."""
        return attrs.evolve(self, deadline=self.deadline - (self.deadline - time.monotonic()) / 2,
                            step_cap=self.meter[0] + self.left_steps() // 2)

    def check(self, solver: z3.Solver) -> Any:
        """`solver.check()` within what is left, counting the steps it spends (called only while neither limit is
        spent: to z3 a limit of 0 is none)."""
        solver.set("timeout", min(max(self.left_ms(), 1), Z3_MAX))
        solver.set("rlimit", min(max(self.left_steps(), 1), Z3_MAX))
        before = _steps(solver)
        try:
            return solver.check()
        finally:
            self.meter[0] += _steps(solver) - before

    def reached(self) -> str | None:
        """The limit that is spent: "steps", "seconds" or None."""
        return "steps" if not self.left_steps() else "seconds" if not self.left_ms() else None

    def reason(self, limit: str) -> dict[str, str]:
        if limit == "steps":
            return i18n.both("solver.step_limit", steps=f"{self.limits.steps:,}")
        return i18n.both("solver.time_limit", seconds=f"{self.limits.seconds:g}")


def _steps(solver: z3.Solver) -> int:
    """z3's count of resource steps: one counter for the whole context, so what a call spends is the
    difference across it."""
    stats = solver.statistics()
    return next((int(stats.get_key_value(k)) for k in stats.keys() if k == "rlimit count"), 0)


@attrs.frozen(kw_only=True)
class Outcome:
    status: str  # "unsat" (no such facts: proved), "found" (a real witness), "unknown"
    witness: Witness | None = None
    reason: dict[str, str] | None = None  # why unknown, zh/en
    limit: str | None = None  # unknown because this limit was spent ("steps", "seconds"), not because the solver gave up
    rounds: int = 0


def search(enc: Encoding, goal: Any, confirm: Callable[[Witness], bool], *,
           encoders: tuple[PolicyEncoder, ...] = (), budget: Budget) -> Outcome:
    """Facts and a day where `goal` holds and `confirm` agrees when the real evaluator runs them.

    A first pass looks among everyday facts (dates within the working-day calendar's years,
    modest counts and amounts) so counterexamples read naturally; only when there is none there
    does the second pass search every fact set, and only that pass can prove anything.

    `budget` bounds the whole search (the first pass may use half of it, the second pass what is
    left) and ends it as unknown, with the `limit` that was spent."""
    first = _search(enc, goal, confirm, encoders, budget.half(), enc.everyday())
    if first.status == "found":
        return first
    second = _search(enc, goal, confirm, encoders, budget, [])
    return attrs.evolve(second, rounds=first.rounds + second.rounds)


def _search(enc: Encoding, goal: Any, confirm: Callable[[Witness], bool], encoders: tuple[PolicyEncoder, ...],
            budget: Budget, hints: list[Any]) -> Outcome:
    def done(status: str, rounds: int, **found: Any) -> Outcome:
        return Outcome(status=status, rounds=rounds, **found)

    def spent(rounds: int, limit: str) -> Outcome:
        return done("unknown", rounds, reason=budget.reason(limit), limit=limit)
    solver = z3.Solver()
    solver.add(*enc.domain)
    solver.add(goal, *hints)
    excluded: list[Any] = []  # candidates the evaluator did not confirm (this search only)
    scale = 0  # index into SCALES: real facts restricted to multiples of 1/SCALES[scale] (0: none)
    for rounds in range(1, MAX_ROUNDS + 1):
        if limit := budget.reached():  # spent: start no other call
            return spent(rounds - 1, limit)
        solver.push()
        solver.add(*enc.lemmas, *excluded)
        if scale:
            solver.add(*[z3.IsInt(v.val * SCALES[scale]) for v in enc.facts.values() if v.kind in REAL_KINDS])
        result = budget.check(solver)
        if result == z3.unsat:
            solver.pop()
            if scale:  # no witness on this decimal grid: try a finer one
                if scale + 1 < len(SCALES):
                    scale += 1
                    continue
                return done("unknown", rounds, reason=i18n.both("solver.no_finite_decimals"))
            if excluded:  # a set-aside candidate might still be real: no proof
                return done("unknown", rounds, reason=i18n.both("solver.unconfirmed", count=len(excluded)))
            return done("unsat", rounds)
        if result != z3.sat:
            why = solver.reason_unknown()
            solver.pop()
            if limit := budget.reached():
                return spent(rounds, limit)
            return done("unknown", rounds, reason=i18n.both("solver.gave_up", why=why))
        model = solver.model()
        solver.pop()
        if _has_inexact_real(enc, model):
            scale = max(scale, 1)
            continue
        if _refine(enc, model):
            continue
        witness = concretize(enc, model, encoders)
        if witness is not None and confirm(witness):
            return done("found", rounds, witness=witness)
        # The evaluator disagrees with a model that used the real calendar values: a rollout
        # id could not be found, or decimal rounding. Exclude this exact candidate and go on.
        excluded.append(z3.Not(z3.And(*[var == model.eval(var, model_completion=True)
                                          for var in _fact_vars(enc)], enc.day == model.eval(enc.day))))
    return done("unknown", MAX_ROUNDS, reason=i18n.both("solver.rounds", rounds=MAX_ROUNDS))


def _fact_vars(enc: Encoding) -> list[Any]:
    out = []
    for v in enc.facts.values():
        out += list(v.val.values()) if isinstance(v.val, dict) else [v.val]
    return out + list(enc.buckets.values())


def _has_inexact_real(enc: Encoding, model: z3.ModelRef) -> bool:
    """Whether a real fact's value in the model has no finite decimal form (1/3): such a value
    cannot be written as a fact, so the search asks for values on a decimal grid instead."""
    return any(not _finite_decimal(_fraction(model.eval(v.val, model_completion=True)))
               for v in enc.facts.values() if v.kind in REAL_KINDS)


REFINE_WINDOW = 400  # days either side of a wrong value whose real values are stated at once; it
# doubles each time the same function is wrong again, so a claim over decades needs a handful of rounds


def _refine(enc: Encoding, model: z3.ModelRef) -> bool:
    """State the real calendar function on a window around every application whose value in the
    model is wrong (as runs where it is `day + k` or constant, looked up by a balanced if-then-else
    tree over the runs); True when any was wrong."""
    wrong = False
    for app in list(enc.apps):
        arg = model.eval(app.arg, model_completion=True).as_long()
        func = app.func
        if not func.low <= arg <= func.high:
            continue
        if func.value(arg) == model.eval(app.result, model_completion=True).as_long():
            continue
        wrong = True
        times = enc.refinements[func.name] = enc.refinements.get(func.name, -1) + 1
        window = REFINE_WINDOW << min(times, 8)
        runs = func.stretches(arg - window, arg + window)
        for other in enc.apps:
            if other.func is func:
                inside = z3.And(other.arg >= runs[0][0], other.arg <= runs[-1][1])
                enc.lemmas.append(z3.Implies(inside, other.result == _lookup(runs, other.arg)))
    return wrong


def _lookup(runs: list[tuple[int, int, str, int]], arg: Any) -> Any:
    """The real function on the days the runs cover, as a balanced if-then-else tree on `arg`."""
    if len(runs) == 1:
        _, _, mode, target = runs[0]
        return arg + target if mode == "shift" else z3.IntVal(target)
    middle = len(runs) // 2
    return z3.If(arg <= runs[middle - 1][1], _lookup(runs[:middle], arg), _lookup(runs[middle:], arg))


def _fraction(value: Any) -> Fraction:
    if z3.is_int_value(value):
        return Fraction(value.as_long())
    if z3.is_rational_value(value):
        return Fraction(value.numerator_as_long(), value.denominator_as_long())
    if z3.is_algebraic_value(value):
        return Fraction(value.approx(20).as_fraction())
    raise ValueError(str(value))


def _finite_decimal(value: Fraction) -> bool:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def _decimal(value: Fraction) -> Decimal:
    """An exact Decimal for a fraction with a finite decimal form."""
    digits = 0
    while (value * 10 ** digits).denominator != 1:
        digits += 1
    scaled = int(value * 10 ** digits)
    return Decimal(scaled).scaleb(-digits)


def concretize(enc: Encoding, model: z3.ModelRef, encoders: tuple[PolicyEncoder, ...] = ()) -> Witness | None:
    """The model as nested facts JSON and a date; None when a rollout id cannot be found."""
    day = dt.date.fromordinal(model.eval(enc.day, model_completion=True).as_long())
    flat: dict[str, Any] = {}
    for path, v in enc.facts.items():
        kind = v.kind
        if kind == "set":
            flat[path] = sorted(name for name, b in v.val.items() if z3.is_true(model.eval(b, model_completion=True)))
            continue
        value = model.eval(v.val, model_completion=True)
        if kind == "count":
            flat[path] = value.as_long()
        elif kind == "date":
            flat[path] = dt.date.fromordinal(value.as_long()).isoformat()
        elif kind == "bool":
            flat[path] = z3.is_true(value)
        elif kind == "text":
            flat[path] = value.as_string()
        elif kind == "enum":
            flat[path] = str(value).split("#")[0] if "#" in str(value) else str(value)
        else:
            exact_value = _decimal(_fraction(value))
            if kind == "money":
                flat[path] = "¥" + plain(exact_value)
            elif kind == "percent":
                flat[path] = plain(exact_value * 100) + "%"
            else:
                flat[path] = plain(exact_value)
    if not _choose_ids(enc, model, day, flat, encoders):
        return None
    return Witness(facts=nest(flat), at=day)


def _choose_ids(enc: Encoding, model: z3.ModelRef, day: dt.date, flat: dict[str, Any],
                encoders: tuple[PolicyEncoder, ...]) -> bool:
    """For each id a rollout is keyed by, an id whose SHA-256 buckets put it on the same side of
    every rollout's share on `day` as the solver's bucket values do."""
    by_key: dict[str, list[tuple[str, Fraction, bool]]] = {}
    rollouts = {d.name.value: d for e in encoders for d in e.policy.rollouts.values()}
    for (rollout, key), var in enc.buckets.items():
        decl = rollouts.get(rollout)
        if decl is None:
            continue
        phases = phase_specs(decl)
        share, _ = ro.share(phases, day)
        bucket = _fraction(model.eval(var, model_completion=True))
        by_key.setdefault(key, []).append((rollout, share, bucket < share))
    for key, wants in by_key.items():
        kind = enc.facts[key].kind if key in enc.facts else "text"
        if kind == "text":
            candidates: list[Any] = [flat.get(key) or ""] + [f"id-{n:06d}" for n in range(ID_SEARCH)]
        elif kind == "count":
            candidates = [flat.get(key, 0)] + list(range(ID_SEARCH))
        else:  # an id of another kind: keep the solver's value; the evaluator has the last word
            candidates = [flat.get(key)]
        for candidate in candidates:
            text = str(candidate)  # the evaluator hashes the id's text (runtime/rollout.py)
            if all(share >= 1 or (ro.bucket(rollout, text) < share) == want for rollout, share, want in wants):
                flat[key] = candidate
                break
        else:
            return False
    return True


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """{"account.fans": 1} -> {"account": {"fans": 1}}"""
    out: dict[str, Any] = {}
    for path, value in sorted(flat.items()):
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
