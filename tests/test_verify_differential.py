"""The solver against the evaluator: on random policies over a small, finite domain of facts and
days, `verify` proves a property exactly when brute-force evaluation of every fact set in the
domain finds no violation, and every counterexample it reports violates the property when the
real evaluator runs it.

The policies are generated from a seed (so a failure names the seed that reproduces it) and use
the constructs whose encoding could go wrong: short-circuits, errors (a not-stated cell,
arithmetic on a not-open cell, an empty max, a value with no case on a day), dated and
conditional values, first-hit tables, exceptions, warnings, sets and aggregates, +N months,
+N working days (across the New Year holiday) and month_end.
"""
from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

import pytest
import z3

from policydsl.loader import load
from policydsl.runtime.properties import check_property
from policydsl.verify.encode import Encoding, PolicyEncoder
from policydsl.verify.engine import Budget, Limits, search

DAYS = [dt.date(2023, 12, 29) + dt.timedelta(days=i) for i in range(5)]  # Fri 29 Dec … Tue 2 Jan (1 Jan a holiday)
FACT_DATES = [dt.date(2023, 12, 29), dt.date(2023, 12, 31), dt.date(2024, 1, 31)]
COUNTS = [0, 1, 2, 3]
MONEY = [Decimal(0), Decimal("1.5"), Decimal(3)]
KINDS = ["a", "b", "c"]
SETS = [list(c) for n in range(3) for c in itertools.combinations(["a", "b"], n)]

HEADER = '''enum kind "类别" / "Kind"
  value a "甲" / "A"
  value b "乙" / "B"
  value c "丙" / "C"

policy gen
  title "生成" / "Generated"

input x.n: count "数" / "N"
input x.m: money "额" / "M"
input x.k: kind "类" / "K"
input x.f: bool "旗" / "F"
input x.d: date "日" / "D"
input x.s: set of kind "集" / "S"
'''

COMPARE = ["<", "<=", ">", ">=", "==", "!="]


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def pick(self, items):
        return self.r.choice(items)

    def atom(self, depth: int, values: bool = True) -> str:
        r = self.r
        choices = [
            lambda: f"x.n {self.pick(COMPARE)} {self.pick(COUNTS)}",
            lambda: f"x.m {self.pick(COMPARE)} ¥{self.pick(MONEY)}",
            lambda: f"x.k == {self.pick(KINDS)}",
            lambda: f"x.k in {{{', '.join(sorted(set(r.sample(KINDS, r.randint(1, 2)))))}}}",
            lambda: "x.f",
            lambda: f"{self.pick(['a', 'b'])} in x.s",
            lambda: f"today {self.pick(COMPARE)} {self.pick(DAYS).isoformat()}",
            lambda: f"v.total {self.pick(COMPARE)} {self.pick(COUNTS)}",
            lambda: f"v.fee {self.pick(COMPARE)} ¥{self.pick(MONEY)}",
            lambda: "v.fee == not_open",
            lambda: f"v.due {self.pick(COMPARE)} {self.pick(DAYS).isoformat()}",
            lambda: f"tier(x.n) {self.pick(COMPARE)} {self.pick(COUNTS)}",
            lambda: f"any(y == {self.pick(KINDS)} for y in x.s)",
            lambda: f"max(tier_of(y) for y in x.s) {self.pick(COMPARE)} {self.pick(COUNTS)}",
            lambda: f"x.d + 1 months {self.pick(COMPARE)} {self.pick(FACT_DATES).isoformat()}",
            lambda: f"month_end(x.d) == {self.pick(FACT_DATES).isoformat()}",
        ]
        choices += choices[7:11] + choices[13:14]  # the atoms that can fail weigh double
        text = self.pick(choices)()
        while not values and "v." in text:  # a value's own `when` reads facts only (no cycles)
            text = self.pick(choices)()
        return text

    def cond(self, depth: int = 0, values: bool = True) -> str:
        if depth >= 2 or self.r.random() < 0.4:
            return self.atom(depth, values)
        op = self.pick(["and", "or", "not"])
        if op == "not":
            return f"not ({self.cond(depth + 1, values)})"
        return f"({self.cond(depth + 1, values)}) {op} ({self.cond(depth + 1, values)})"

    def policy(self) -> str:
        r = self.r
        lines = [HEADER]
        # a range table under `hit first` whose rows may overlap (the first one wins)
        split = r.choice([1, 2])
        lines.append('table tier(n: count) -> count "档" / "Tier"\n  hit first\n'
                     f'  row [0, {split}]: {r.choice(COUNTS)}\n  row [1, inf): {r.choice(COUNTS)}\n')
        lines.append('table tier_of(k: kind) -> count "类档" / "Kind tier"\n'
                     f'  row a: {r.choice(COUNTS)}\n  row b: {r.choice(COUNTS)}\n  row c: {r.choice(COUNTS)}\n')
        fee_cells = [r.choice(["¥1.5", "¥3", "not_open", "not_stated"]) for _ in range(3)]
        lines.append('table fee_for(k: kind) -> money "费" / "Fee"\n' +
                     "".join(f"  row {k}: {c}\n" for k, c in zip(KINDS, fee_cells)))
        lines.append('define v.total: count "合计" / "Total"\n'
                     f'  = x.n + {r.choice(COUNTS)} when {self.cond(1, values=False)}\n'
                     f'  = {r.choice(COUNTS)} from 2024-01-01\n' +
                     ('  = 0 until 2023-12-31\n' if r.random() < 0.5 else ''))  # without it, no case before 2024 when the when fails
        lines.append('define v.fee: money "费用" / "Fee"\n  = fee_for(x.k)\n')
        lines.append('define v.due: date "期限" / "Due"\n'
                     f'  = x.d + {r.choice([1, 2])} working days when x.d <= 2023-12-31\n'
                     '  = month_end(x.d)\n')
        names = []
        for i in range(r.randint(2, 4)):
            name = f"r{i}"
            names.append(name)
            outcome = r.choice(["deny", "deny", "allow", "warn"])
            when = f"  when {self.cond()}\n" if r.random() < 0.6 else ""
            eff = "  effective from 2024-01-01\n" if r.random() < 0.2 else ""
            if outcome == "allow" or r.random() < 0.3:
                body = f"  {outcome} c{i} \"原因\" / \"reason\"\n"
            else:
                body = f"  require {self.cond()}\n    else {outcome} c{i} \"原因\" / \"reason\"\n"
            lines.append(f'rule {name} "规则" / "Rule"\n{eff}{when}{body}  source "doc.txt" quote "q"\n')
        if r.random() < 0.5:
            base = r.choice(names)
            lines.append(f'rule ex "例外" / "Exception"\n  exception to {base}\n  when {self.cond()}\n'
                         '  allow ex_ok "例外" / "exception"\n  source "doc.txt" quote "q"\n')
            names.append("ex")
        claims = ["outcome == deny", "outcome == allow", f"fires({r.choice(names)})", self.cond(),
                  f"not fires({r.choice(names)}) or outcome == deny"]
        for i in range(3):
            premise = f"  when {self.cond()}\n" if r.random() < 0.7 else ""
            claim = r.choice(claims)
            if r.random() < 0.5:
                claim = f"({claim}) or ({self.cond()})"
            lines.append(f'property p{i} "性质" / "Property"\n{premise}  expect {claim}\n')
        return "\n".join(lines)


def domain_constraints(enc: Encoding) -> list:
    f = enc.facts
    day = enc.day
    return [
        z3.Or(*[day == d.toordinal() for d in DAYS]),
        z3.Or(*[f["x.n"].val == n for n in COUNTS]),
        z3.Or(*[f["x.m"].val == z3.Q(*m.as_integer_ratio()) for m in MONEY]),
        z3.Or(*[f["x.d"].val == d.toordinal() for d in FACT_DATES]),
        z3.Not(f["x.s"].val["c"]),
    ]


def every_fact_set():
    for n, m, k, flag, d, s in itertools.product(COUNTS, MONEY, KINDS, [False, True], FACT_DATES, SETS):
        yield {"x": {"n": n, "m": f"¥{m}", "k": k, "f": flag, "d": d.isoformat(), "s": s}}


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_solver_agrees_with_brute_force(seed: int, tmp_path) -> None:
    text = Gen(seed).policy()
    path = tmp_path / "gen.policy"
    path.write_text(text, encoding="utf-8")
    book = load(path)
    policy = book.model.policies["gen"]
    compiled = book.compiled["gen"]
    facts = list(every_fact_set())
    for prop, cprop in zip(policy.properties, compiled.properties):
        violations = [(f, day) for day in DAYS for f in facts
                      if not check_property(compiled, cprop, f, day).holds]
        enc = Encoding(book.model)
        encoder = PolicyEncoder(enc, policy)
        terms = encoder.property_terms(prop)
        enc.domain += domain_constraints(enc)
        goal = z3.And(terms["domain"], terms["premise"], z3.Not(terms["holds"]))
        outcome = search(enc, goal, lambda w: not check_property(compiled, cprop, w.facts, w.at).holds,
                         encoders=(encoder,), budget=Budget.start(Limits()))
        context = f"seed {seed}, property {prop.name.value}\n{text}"
        assert outcome.status != "unknown", context
        if violations:
            assert outcome.status == "found", context + f"\nbrute force found {violations[0]}"
            w = outcome.witness
            assert not check_property(compiled, cprop, w.facts, w.at).holds, context
        else:
            assert outcome.status == "unsat", context + f"\nsolver found {outcome.witness}"


def pin(enc: Encoding, facts: dict, day: dt.date) -> list:
    """Constraints fixing every fact and the day to the given values."""
    f, x = enc.facts, facts["x"]
    sort_consts = enc.enum("kind")[1]
    out = [enc.day == day.toordinal(), f["x.n"].val == x["n"],
           f["x.m"].val == z3.Q(*Decimal(x["m"][1:]).as_integer_ratio()), f["x.k"].val == sort_consts[x["k"]],
           f["x.f"].val == x["f"], f["x.d"].val == dt.date.fromisoformat(x["d"]).toordinal()]
    out += [f["x.s"].val[k] == (k in x["s"]) for k in KINDS]
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_the_encoding_computes_what_the_evaluator_computes(seed: int, tmp_path) -> None:
    """Pointwise: with the facts and the day pinned (and the calendar functions at their real
    values), the encoding's decision (error or not, outcome, every rule's firing, every value)
    equals the evaluator's, on a sample of the domain."""
    from policydsl.errors import PolicyDslError
    from policydsl.runtime.evaluate import evaluate
    from policydsl.runtime.values import NOT_OPEN

    path = tmp_path / "gen.policy"
    path.write_text(Gen(seed).policy(), encoding="utf-8")
    book = load(path)
    policy, compiled = book.model.policies["gen"], book.compiled["gen"]
    enc = Encoding(book.model)
    encoder = PolicyEncoder(enc, policy)
    sample = list(every_fact_set())[seed % 5::5]
    for facts, day in zip(sample, itertools.cycle(DAYS)):
        solver = z3.Solver()
        solver.add(*enc.domain, *pin(enc, facts, day))
        while True:
            assert solver.check() == z3.sat
            model = solver.model()
            fixes = []
            for app in enc.apps:
                arg = model.eval(app.arg, model_completion=True).as_long()
                real = app.func.value(arg) if app.func.low <= arg <= app.func.high else None
                if real is not None and model.eval(app.result, model_completion=True).as_long() != real:
                    fixes.append(z3.Implies(app.arg == arg, app.result == real))
            if not fixes:
                break
            solver.add(*fixes)
        context = f"seed {seed}, facts {facts}, day {day}"
        try:
            decision = evaluate(compiled, facts, day, trace=True)
        except PolicyDslError:
            assert z3.is_false(model.eval(encoder.decision_ok, model_completion=True)), context
            continue
        assert z3.is_true(model.eval(encoder.decision_ok, model_completion=True)), context
        assert z3.is_true(model.eval(encoder.deny, model_completion=True)) == (decision.outcome == "deny"), context
        fired = {ev.rule for ev in decision.trace if ev.status == "fired"}
        for name, terms in encoder.rules.items():
            assert z3.is_true(model.eval(terms["fired"], model_completion=True)) == (name in fired), (name, context)
        for path_, v in encoder.defines.items():
            present = z3.is_true(model.eval(v.present, model_completion=True))
            assert present == (path_ in decision.values), (path_, context)
            if not present:
                continue
            value = decision.values[path_]
            no = v.no is not None and z3.is_true(model.eval(v.no, model_completion=True))
            assert no == (value is NOT_OPEN), (path_, context)
            if no:
                continue
            got = model.eval(v.val, model_completion=True)
            if v.kind == "date":
                assert got.as_long() == value.toordinal(), (path_, context)
            elif v.kind == "count":
                assert got.as_long() == value, (path_, context)
            else:
                assert (got.numerator_as_long(), got.denominator_as_long()) == Decimal(value).as_integer_ratio(), \
                    (path_, context)


def test_the_generated_properties_are_not_all_alike() -> None:
    """The differential test means something only if both verdicts occur often."""
    verdicts = {"holds": 0, "fails": 0}
    facts = list(every_fact_set())[::7]
    for seed in SEEDS:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "gen.policy"
            path.write_text(Gen(seed).policy(), encoding="utf-8")
            compiled = load(path).compiled["gen"]
        for cprop in compiled.properties:
            bad = any(not check_property(compiled, cprop, f, day).holds for day in DAYS for f in facts)
            verdicts["fails" if bad else "holds"] += 1
    assert verdicts["holds"] >= 10 and verdicts["fails"] >= 10, verdicts
