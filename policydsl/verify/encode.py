"""A checked policy in, SMT terms out: every fact a solver variable, every rule and value a term.

The encoding follows the evaluator (runtime/evaluate.py and compile/compiler.py) construct by
construct, errors included: each term carries `ok`, the condition under which computing it raises
no error (a table with no row, a not-stated cell, arithmetic on a not-open cell, an empty max,
a date out of range), with the same short-circuits as the evaluator (`a and b` computes `b` only
when `a` holds). Counts are integers, money, percentages and numbers exact rationals, dates day
numbers (proleptic ordinals), enums finite sorts, sets of enum values one boolean per value.

Calendar functions (+N months, +N working days, month_end, next_half_month) are uninterpreted
functions constrained by facts that are true of the real functions (exact domain, offset bounds,
monotonicity); the search in engine.py refines them with exact stretches of the real function
whenever a candidate counterexample relies on a wrong value. A rollout's share on a day is exact;
the SHA-256 bucket of an id is a free number in [0, 1), made concrete by searching for an id.
"""
from __future__ import annotations

import datetime as dt
import functools
import itertools
from decimal import Decimal
from typing import Any, Callable

import attrs
import z3

from policydsl import i18n
from policydsl.errors import InternalError, PolicyDslError
from policydsl.runtime import calendar as cal
from policydsl.runtime.facts import MAX_SIGNIFICANT
from policydsl.semantics.model import Model, Policy
from policydsl.syntax import ast

i18n.register("verify", {
    "E.enum_changed": ("两个版本中枚举 `{name}` 的取值不同，无法用求解器比较", "enum `{name}` has different values in the two versions; the solver cannot compare them"),
    "E.input_changed": ("两个版本中输入 `{name}` 的类型不同，无法比较", "input `{name}` has different types in the two versions; they cannot be compared"),
})
MIN_DAY = dt.date.min.toordinal()
MAX_DAY = dt.date.max.toordinal()
TRUE, FALSE = z3.BoolVal(True), z3.BoolVal(False)
REAL_KINDS = ("number", "money", "percent")
_sort_counter = itertools.count()


@attrs.define
class V:
    """One encoded value: `val` (a z3 term; a dict value -> Bool for sets), `ok` (no error
    computing it), `no` (it is a not-open cell; None when it never can be) and, for a define,
    `present` (some case applies on that day)."""

    kind: str
    val: Any
    ok: Any = TRUE
    no: Any = None
    present: Any = None


@attrs.define
class CalendarApp:
    """One application of an uninterpreted calendar function, for refinement."""

    func: "CalendarFunction"
    arg: Any
    result: Any


class CalendarFunction:
    """A real date function on day numbers, its exact domain, sound offset bounds, and a z3 symbol."""

    def __init__(self, name: str, real: Callable[[dt.date], dt.date]) -> None:
        self.name = name
        self.real = real
        self.symbol = z3.Function(f"{name}#{next(_sort_counter)}", z3.IntSort(), z3.IntSort())
        self._values: dict[int, int | None] = {}
        self.low, self.high = self._domain()
        self.min_offset, self.max_offset = self._offsets()

    def value(self, day: int) -> int | None:
        """The real result as a day number, or None where the evaluator raises an error."""
        if day not in self._values:
            try:
                self._values[day] = self.real(dt.date.fromordinal(day)).toordinal()
            except (PolicyDslError, OverflowError, ValueError):
                self._values[day] = None
        return self._values[day]

    def _domain(self) -> tuple[int, int]:
        """The interval of day numbers the function accepts: errors only happen at the extremes
        (outside the calendar's years, or past 0001/9999), and the accepted days are contiguous."""
        years = cal.calendar_years()
        middle = dt.date(years[0] + 1, 6, 15).toordinal()
        if self.value(middle) is None:
            raise InternalError(f"{self.name} fails on {dt.date.fromordinal(middle)}")

        def edge(lo: int, hi: int, ok_at_hi: bool) -> int:
            # the boundary between failing and succeeding days within [lo, hi]
            while lo < hi:
                mid = (lo + hi + (0 if ok_at_hi else 1)) // 2
                good = self.value(mid) is not None
                if ok_at_hi:
                    lo, hi = (lo, mid) if good else (mid + 1, hi)
                else:
                    lo, hi = (mid, hi) if good else (lo, mid - 1)
            return lo
        low = MIN_DAY if self.value(MIN_DAY) is not None else edge(MIN_DAY, middle, True)
        high = MAX_DAY if self.value(MAX_DAY) is not None else edge(middle, MAX_DAY, False)
        return low, high

    def _offsets(self) -> tuple[int, int]:
        """Least and greatest result - day over a window that holds every case that matters: every
        day of the working-day calendar, or 24 Gregorian years (leap and common years, all months)."""
        years = cal.calendar_years()
        start = max(self.low, dt.date(years[0], 1, 1).toordinal())
        end = min(self.high, max(dt.date(years[1], 12, 31).toordinal(), start + 366 * 24))
        offsets = [r - d for d in range(start, end + 1) if (r := self.value(d)) is not None]
        return min(offsets), max(offsets)

    def stretches(self, first: int, last: int) -> list[tuple[int, int, str, int]]:
        """The real function on [first, last] (clipped to its domain) as maximal runs where it is
        `day + k` ("shift", k) or a constant c ("flat", c), left to right."""
        first, last = max(first, self.low), min(last, self.high)
        out = []
        day = first
        while day <= last:
            result = self.value(day)
            if result is None:  # first..last lie inside the function's domain
                raise InternalError(f"{self.name}: no value on day {day}")
            best = None
            for mode, target in (("shift", result - day), ("flat", result)):
                end = day
                while end + 1 <= last:
                    r = self.value(end + 1)
                    if r is None or (r - (end + 1) != target if mode == "shift" else r != target):
                        break
                    end += 1
                if best is None or end > best[1]:
                    best = (day, end, mode, target)
            if best is None:  # the loop runs twice
                raise InternalError(f"{self.name}: no stretch from day {day}")
            out.append(best)
            day = best[1] + 1
        return out


@functools.cache  # one per process: its domain and offsets take a scan of the calendar to find
def calendar_function(kind: str, amount: int = 0) -> CalendarFunction:
    """month_end, next_half_month, or `+ amount` months or working days."""
    if kind in ("month_end", "next_half_month"):
        return CalendarFunction(kind, getattr(cal, kind))
    return CalendarFunction(f"plus_{amount}_{kind}", lambda d: cal.add_duration(d, amount, kind))


def exact(value: Decimal | int) -> Any:
    """A z3 rational equal to a Decimal or int, with no float anywhere."""
    num, den = Decimal(value).as_integer_ratio()
    return z3.Q(num, den)


class Encoding:
    """The fact variables, the evaluation day and the enum sorts shared by the policies encoded
    over them (one policy for a property, two versions of one for a semantic diff)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.day = z3.Int("today")
        self.facts: dict[str, V] = {}
        self.fact_kinds: dict[str, tuple[str, str | None]] = {}
        self.domain: list[Any] = [self.day >= MIN_DAY, self.day <= MAX_DAY]
        self.enum_sorts: dict[str, tuple[Any, dict[str, Any]]] = {}
        self.buckets: dict[tuple[str, str], Any] = {}  # (rollout, key input) -> bucket variable
        self.apps: list[CalendarApp] = []
        self.lemmas: list[Any] = []
        self.refinements: dict[str, int] = {}  # function name -> how often it was refined

    def enum(self, name: str | None, model: Model | None = None) -> tuple[Any, dict[str, Any]]:
        """The sort of an enum; another version of the book must declare the same values. (`name` is
        the `enum` of an enum or set type, which the checker always sets.)"""
        if name is None:
            raise InternalError("an enum or set type without its enum")
        if model is not None and model is not self.model and name in self.model.enums:
            mine = [v.name.value for v in self.model.enums[name].values]
            theirs = [v.name.value for v in model.enums[name].values]
            if set(mine) != set(theirs):  # the order of the values does not matter
                raise PolicyDslError("verify.E.enum_changed", name=name)
        if name not in self.enum_sorts:
            decl = self.model.enums.get(name) or (model.enums[name] if model is not None else None)
            if decl is None:
                raise InternalError(f"unknown enum {name}")
            values = [v.name.value for v in decl.values]
            sort, consts = z3.EnumSort(f"{name}#{next(_sort_counter)}", values)
            self.enum_sorts[name] = (sort, dict(zip(values, consts)))
        return self.enum_sorts[name]

    def fact(self, path: str, kind: str, enum: str | None) -> V:
        if path in self.facts:
            if self.fact_kinds[path] != (kind, enum):
                raise PolicyDslError("verify.E.input_changed", name=path)
            return self.facts[path]
        name = f"fact:{path}"
        if kind == "count":
            val = z3.Int(name)
            self.domain.append(val >= 0)
        elif kind in REAL_KINDS:  # within what facts accept: amounts are never negative, magnitudes < 10^34
            val = z3.Real(name)
            bound = z3.RealVal(10 ** MAX_SIGNIFICANT)
            self.domain += [val >= 0 if kind == "money" else val > -bound, val < bound]
        elif kind == "bool":
            val = z3.Bool(name)
        elif kind == "text":
            val = z3.String(name)
        elif kind == "date":
            val = z3.Int(name)
            self.domain += [val >= MIN_DAY, val <= MAX_DAY]
        elif kind == "enum":
            val = z3.Const(name, self.enum(enum)[0])
        elif kind == "set":
            val = {v: z3.Bool(f"{name}:{v}") for v in self.enum(enum)[1]}
        else:
            raise InternalError(f"no encoding for facts of kind {kind}")
        self.facts[path] = V(kind=kind, val=val)
        self.fact_kinds[path] = (kind, enum)
        return self.facts[path]

    def everyday(self) -> list[Any]:
        """Constraints that keep a first search among ordinary facts (not a restriction of any proof)."""
        first, last = cal.calendar_years()
        lo, hi = dt.date(max(first, 2018), 1, 1).toordinal(), dt.date(last, 12, 31).toordinal()
        out = [self.day >= lo, self.day <= hi]
        for v in self.facts.values():
            if v.kind == "date":
                out += [v.val >= lo, v.val <= hi]
            elif v.kind == "count":
                out.append(v.val <= 1_000_000)
            elif v.kind in REAL_KINDS:
                out += [v.val >= -10_000_000, v.val <= 10_000_000]
        return out

    def bucket(self, rollout: str, key: str) -> Any:
        if (rollout, key) not in self.buckets:
            var = z3.Real(f"bucket:{rollout}:{key}")
            self.buckets[(rollout, key)] = var
            self.domain += [var >= 0, var < 1]
        return self.buckets[(rollout, key)]

    def apply(self, func: CalendarFunction, arg: Any) -> tuple[Any, Any]:
        """func(arg) and the condition that the evaluator computes it without error; the
        bounds and monotonicity facts go into the domain."""
        result = func.symbol(arg)
        ok = z3.And(arg >= func.low, arg <= func.high)
        self.domain.append(z3.Implies(ok, z3.And(result - arg >= func.min_offset, result - arg <= func.max_offset)))
        for other in self.apps:
            if other.func is func:
                self.domain.append(z3.Implies(arg <= other.arg, result <= other.result))
                self.domain.append(z3.Implies(other.arg <= arg, other.result <= result))
        self.apps.append(CalendarApp(func=func, arg=arg, result=result))
        return result, ok


class PolicyEncoder:
    """Terms for one policy over an Encoding: values of defines, rule statuses, the decision."""

    def __init__(self, enc: Encoding, policy: Policy, model: Model | None = None) -> None:
        self.enc = enc
        self.model = model or enc.model  # another version of the rule book, for a semantic diff
        self.policy = policy
        self.defines: dict[str, V] = {}
        self._in_progress: set[str] = set()
        for i in policy.inputs.values():
            if i.type.enum:
                self.enum_of(i.type.enum)
        self.facts = {path: enc.fact(path, i.type.kind, i.type.enum) for path, i in policy.inputs.items()}
        start, end = policy.effective
        self.in_force = self.period(start, end)
        self.rules: dict[str, dict[str, Any]] = {}
        self._encode_rules()
        values_ok = [self.define(path).ok for path in policy.defines]
        self.decision_ok = z3.And(*[r["ok"] for r in self.rules.values()], *values_ok)
        self.deny = z3.Or(FALSE, *[r["fired"] for name, r in self.rules.items()
                                   if self.policy.rule(name).decl.body.outcome == "deny"])

    # ------------------------------------------------------------ helpers
    def enum_of(self, name: str | None) -> tuple[Any, dict[str, Any]]:
        return self.enc.enum(name, self.model)

    def period(self, start: dt.date | None, end: dt.date | None) -> Any:
        day = self.enc.day
        parts = [day >= start.toordinal()] if start else []
        parts += [day <= end.toordinal()] if end else []
        return z3.And(*parts) if parts else TRUE

    def default(self, kind: str, enum: str | None) -> Any:
        if kind == "count" or kind == "date":
            return z3.IntVal(0)
        if kind in REAL_KINDS:
            return z3.RealVal(0)
        if kind == "bool":
            return FALSE
        if kind == "text":
            return z3.StringVal("")
        if kind == "enum":
            return next(iter(self.enum_of(enum)[1].values()))
        if kind == "set":
            return {v: FALSE for v in self.enum_of(enum)[1]}
        if kind == "outcome":
            return FALSE
        raise InternalError(f"no default for {kind}")

    @staticmethod
    def ite(cond: Any, a: V, b: V) -> V:
        if isinstance(a.val, dict) or isinstance(b.val, dict):
            val = {k: z3.If(cond, a.val[k], b.val[k]) for k in a.val}
        elif a.val is None:
            val = b.val
        elif b.val is None:
            val = a.val
        else:
            val = z3.If(cond, a.val, b.val)
        no = None
        if a.no is not None or b.no is not None:
            no = z3.If(cond, a.no if a.no is not None else FALSE, b.no if b.no is not None else FALSE)
        kind = a.kind if a.kind != "notopen" else b.kind
        return V(kind=kind, val=val, ok=z3.If(cond, a.ok, b.ok), no=no)

    @staticmethod
    def guard(v: V) -> V:
        """The evaluator's `guarded`: computing with a not-open cell is an error."""
        if v.no is None:
            return v
        return V(kind=v.kind, val=v.val, ok=z3.And(v.ok, z3.Not(v.no)))

    # ------------------------------------------------------------ values
    def define(self, path: str) -> V:
        """The first case in force whose `when` holds; `present` False when none does."""
        if path in self.defines:
            return self.defines[path]
        if path in self._in_progress:
            raise InternalError(f"cyclic define {path}")  # check rejects cycles (P0604)
        self._in_progress.add(path)
        define = self.policy.defines[path]
        kind, enum = define.type.kind, define.type.enum
        acc = V(kind=kind, val=self.default(kind, enum), ok=TRUE, no=None, present=FALSE)
        for case in reversed(define.decl.cases):
            in_period = self.period(case.start, case.end)
            value = self.expr(case.expr, {})
            if value.kind == "notopen":
                value = V(kind=kind, val=self.default(kind, enum), ok=TRUE, no=TRUE)
            when = self.guard(self.expr(case.when, {})) if case.when is not None else V(kind="bool", val=TRUE)
            taken = z3.And(in_period, when.val)
            merged = self.ite(taken, value, acc)
            merged.ok = z3.If(in_period, z3.And(when.ok, z3.If(when.val, value.ok, acc.ok)), acc.ok)
            merged.present = z3.Or(taken, acc.present)
            merged.kind = kind
            acc = merged
        self._in_progress.discard(path)
        self.defines[path] = acc
        return acc

    # ------------------------------------------------------------ rules and the decision
    def _encode_rules(self) -> None:
        applies: dict[str, Any] = {}
        raw: dict[str, dict[str, Any]] = {}
        for rule in self.policy.rules:
            decl = rule.decl
            eff = decl.effective
            in_force = self.period(eff.start if eff else None, eff.end if eff else None)
            scope = self.guard(self.expr(decl.scope, {})) if decl.scope is not None else V(kind="bool", val=TRUE)
            applies[rule.name] = z3.And(in_force, scope.val)
            raw[rule.name] = {"in_force": in_force, "scope": scope}
        for rule in self.policy.rules:
            decl, r = rule.decl, raw[rule.name]
            overridden = z3.Or(FALSE, *[applies[e] for e in rule.exceptions])
            body = decl.body
            cond = self.guard(self.expr(body.condition, {})) if body.condition is not None else None
            fired = z3.And(applies[rule.name], z3.Not(overridden), z3.Not(cond.val) if cond is not None else TRUE)
            ok = z3.Implies(r["in_force"], z3.And(r["scope"].ok, z3.Implies(
                z3.And(r["scope"].val, z3.Not(overridden)), cond.ok if cond is not None else TRUE)))
            # by[e]: exception e is the one that overrides this rule (the first that applies)
            by = {}
            earlier = FALSE
            for e in rule.exceptions:
                by[e] = z3.And(applies[rule.name], applies[e], z3.Not(earlier))
                earlier = z3.Or(earlier, applies[e])
            r.update(fired=fired, ok=ok, by=by)
        for rule in self.policy.rules:
            r = raw[rule.name]
            fired = r["fired"]
            if rule.decl.exception_to:  # an exception speaks only when it overrides a rule that applied
                speaks = z3.Or(FALSE, *[raw[b.name]["by"][rule.name] for b in self.policy.rules
                                        if rule.name in b.exceptions])
                fired = z3.And(fired, speaks)
            ok = r["ok"]
            if rule.decl.consequences:  # a fired rule computes its consequences: their errors are the decision's
                parts = [self.guard(self.expr(x, {})).ok for c in rule.decl.consequences
                         for x in (c.end, c.amount) if x is not None]
                ok = z3.And(ok, z3.Implies(fired, z3.And(TRUE, *parts)))
            self.rules[rule.name] = {"fired": fired, "ok": ok}

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr, scope: dict[str, V]) -> V:
        method = getattr(self, f"_e_{type(e).__name__}", None)
        if method is None:
            raise InternalError(f"no encoding for {type(e).__name__}")
        return method(e, scope)

    def literal(self, kind: str, value: Any) -> V:
        if kind in ("int", "count"):
            return V(kind="count", val=z3.IntVal(int(value)))
        if kind in ("decimal", "number", "money", "percent"):
            return V(kind="number" if kind == "decimal" else kind, val=exact(value))
        if kind == "bool":
            return V(kind="bool", val=z3.BoolVal(bool(value)))
        if kind == "text":
            return V(kind="text", val=z3.StringVal(str(value)))
        if kind == "date":
            return V(kind="date", val=z3.IntVal(value.toordinal()))
        raise InternalError(f"no literal of kind {kind}")

    def _e_Literal(self, e: ast.Literal, scope) -> V:
        return self.literal(e.kind, e.value)

    def _e_DurationLit(self, e: ast.DurationLit, scope) -> V:
        return V(kind="duration", val=(e.amount, e.unit))

    def _e_NotOpen(self, e, scope) -> V:
        return V(kind="notopen", val=None, no=TRUE)

    def _e_Today(self, e, scope) -> V:
        return V(kind="date", val=self.enc.day)

    def _e_OutcomeRef(self, e, scope) -> V:
        return V(kind="outcome", val=self.deny, ok=self.decision_ok)

    def _e_OutcomeLit(self, e: ast.OutcomeLit, scope) -> V:
        return V(kind="outcome", val=z3.BoolVal(e.value == "deny"))

    def _e_Ref(self, e: ast.Ref, scope) -> V:
        resolved = self.model.resolve(e)
        kind, target = resolved.kind, resolved.target
        if kind == "input":
            return self.facts[target]
        if kind == "define":
            v = self.define(target)
            return V(kind=v.kind, val=v.val, ok=z3.And(v.ok, v.present), no=v.no)
        if kind == "var":
            return scope[target]
        enum, value = target.split(".", 1)
        return V(kind="enum", val=self.enum_of(enum)[1][value])

    def _e_SetLit(self, e: ast.SetLit, scope) -> V:
        t = self.model.type_of(e)
        items = [self.expr(i, scope) for i in e.items]
        consts = self.enum_of(t.enum)[1]
        val = {name: z3.Or(FALSE, *[i.val == c for i in items]) for name, c in consts.items()}
        return V(kind="set", val=val, ok=z3.And(TRUE, *[i.ok for i in items]))

    def _e_Unary(self, e: ast.Unary, scope) -> V:
        inner = self.guard(self.expr(e.operand, scope))
        if e.op == "not":
            return V(kind="bool", val=z3.Not(inner.val), ok=inner.ok)
        return V(kind=inner.kind, val=-inner.val, ok=inner.ok)

    def _e_Member(self, e: ast.Member, scope) -> V:
        item = self.guard(self.expr(e.item, scope))
        coll = self.expr(e.collection, scope)
        consts = self.enum_of(self.model.type_of(e.collection).enum)[1]
        inside = z3.Or(FALSE, *[z3.And(item.val == c, coll.val[name]) for name, c in consts.items()])
        return V(kind="bool", val=z3.Not(inside) if e.negated else inside, ok=z3.And(item.ok, coll.ok))

    def equal(self, a: V, b: V) -> tuple[Any, Any]:
        ok = z3.And(a.ok, b.ok)
        if a.kind == "notopen" or b.kind == "notopen":
            other = b if a.kind == "notopen" else a
            if other.kind == "notopen":
                return TRUE, ok
            return (other.no if other.no is not None else FALSE), ok
        if isinstance(a.val, dict):
            same = z3.And(*[a.val[k] == b.val[k] for k in a.val]) if a.val else TRUE
        elif a.kind == "duration":
            same = z3.BoolVal(a.val == b.val)
        else:
            same = a.val == b.val
        if a.no is None and b.no is None:
            return same, ok
        ano = a.no if a.no is not None else FALSE
        bno = b.no if b.no is not None else FALSE
        return z3.Or(z3.And(ano, bno), z3.And(z3.Not(ano), z3.Not(bno), same)), ok

    def _e_Binary(self, e: ast.Binary, scope) -> V:
        op = e.op
        if op in ("==", "!="):
            same, ok = self.equal(self.expr(e.left, scope), self.expr(e.right, scope))
            return V(kind="bool", val=same if op == "==" else z3.Not(same), ok=ok)
        left = self.guard(self.expr(e.left, scope))
        if op in ("and", "or"):
            right = self.guard(self.expr(e.right, scope))
            if op == "and":
                return V(kind="bool", val=z3.And(left.val, right.val),
                         ok=z3.And(left.ok, z3.Implies(left.val, right.ok)))
            return V(kind="bool", val=z3.Or(left.val, right.val),
                     ok=z3.And(left.ok, z3.Implies(z3.Not(left.val), right.ok)))
        right = self.guard(self.expr(e.right, scope))
        ok = z3.And(left.ok, right.ok)
        if op in ("<", "<=", ">", ">="):
            a, b = left.val, right.val
            val = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
            return V(kind="bool", val=val, ok=ok)
        lt, rt = self.model.type_of(e.left), self.model.type_of(e.right)
        result = self.model.type_of(e)
        if lt.kind == "date" and rt.kind == "duration":
            amount, unit = right.val
            amount = amount if op == "+" else -amount
            return self.shift(left, amount, unit)
        if lt.kind == rt.kind == "date":
            return V(kind="count", val=left.val - right.val, ok=ok)
        a, b = left.val, right.val
        if op == "/":
            return V(kind=result.kind, val=z3.ToReal(a) / z3.ToReal(b) if z3.is_int(a) and z3.is_int(b) else a / b,
                     ok=z3.And(ok, b != 0))
        val = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b}[op]()
        return V(kind=result.kind, val=val, ok=ok)

    def shift(self, day: V, amount: int, unit: str) -> V:
        if unit == "days":
            val = day.val + amount
            return V(kind="date", val=val, ok=z3.And(day.ok, val >= MIN_DAY, val <= MAX_DAY))
        func = calendar_function(unit, amount)
        result, ok = self.enc.apply(func, day.val)
        return V(kind="date", val=result, ok=z3.And(day.ok, ok))

    def _e_Call(self, e: ast.Call, scope) -> V:
        name = e.func.value
        if name == "fires" and name not in self.policy.tables:
            return V(kind="bool", val=self.rules[e.args[0].path]["fired"], ok=self.decision_ok)  # type: ignore[union-attr]
        if name == "consequence" and name not in self.policy.tables:
            # the decision lists a consequence of this kind: a deny or warn rule carrying one fired, or an
            # allow rule carrying one fired in a decision that allows (only then are allow reasons given)
            kind = e.args[0].path  # type: ignore[union-attr]
            terms = []
            for rule in self.policy.rules:
                if any(c.kind.value == kind for c in rule.decl.consequences):
                    fired = self.rules[rule.name]["fired"]
                    allow_only = rule.decl.body.outcome == "allow"
                    terms.append(z3.And(fired, z3.Not(self.deny)) if allow_only else fired)
            return V(kind="bool", val=z3.Or(FALSE, *terms), ok=self.decision_ok)
        args = [self.guard(self.expr(a, scope)) for a in e.args]
        ok = z3.And(TRUE, *[a.ok for a in args])
        if name in self.policy.tables:
            out = self.table(name, args)
            return V(kind=out.kind, val=out.val, ok=z3.And(ok, out.ok), no=out.no)
        if name == "days_between":
            return V(kind="count", val=args[1].val - args[0].val, ok=ok)
        result, fok = self.enc.apply(calendar_function(name), args[0].val)
        return V(kind="date", val=result, ok=z3.And(ok, fok))

    def _e_Aggregate(self, e: ast.Aggregate, scope) -> V:
        coll = self.expr(e.iterable, scope)
        enum = self.model.type_of(e.iterable).enum
        consts = self.enum_of(enum)[1]
        members = []
        for name, const in consts.items():
            inner = {**scope, e.var.value: V(kind="enum", val=const)}
            body = self.expr(e.body, inner)
            if e.func in ("any", "all"):
                body = self.guard(body)
            members.append((coll.val[name], body))
        ok = z3.And(coll.ok, *[z3.Implies(m, b.ok) for m, b in members])
        if e.func == "any":
            return V(kind="bool", val=z3.Or(FALSE, *[z3.And(m, b.val) for m, b in members]), ok=ok)
        if e.func == "all":
            return V(kind="bool", val=z3.And(TRUE, *[z3.Implies(m, b.val) for m, b in members]), ok=ok)
        kind = self.model.type_of(e).kind
        no = None
        if any(b.no is not None for _, b in members):
            no = z3.Or(FALSE, *[z3.And(m, b.no) for m, b in members if b.no is not None])
        val = self.fold(e.func, kind, None, members)
        if e.func != "sum":  # max/min: an empty set is an error, unless a not-open member decided the result first
            ok = z3.And(ok, z3.Or(FALSE, *[m for m, _ in members]))
        return V(kind=kind, val=val, ok=ok, no=no)

    def fold(self, agg: str, kind: str, enum: str | None, members: list[tuple[Any, V]]) -> Any:
        """The `sum`, `max` or `min` of the values whose condition holds, of (condition, value) pairs
        (max or min of none: the kind's default)."""
        if agg == "sum":
            zero = z3.IntVal(0) if kind == "count" else z3.RealVal(0)
            return z3.Sum(zero, *[z3.If(m, v.val, zero) for m, v in members])
        val, have = self.default(kind, enum), FALSE
        for m, v in members:
            better = v.val > val if agg == "max" else v.val < val
            val = z3.If(m, z3.If(z3.Or(z3.Not(have), better), v.val, val), val)
            have = z3.Or(have, m)
        return val

    def _e_Covered(self, e: ast.Covered, scope) -> V:
        decl = self.policy.rollouts[e.rollout.value]
        bucket = self.enc.bucket(decl.name.value, decl.key.value)
        share = self.share(decl)
        return V(kind="bool", val=z3.Or(share >= 1, bucket < share))

    def share(self, decl: ast.RolloutDecl) -> Any:
        """The exact share covered on the evaluation day (runtime/rollout.py `share`)."""
        day = self.enc.day
        phases = decl.phases
        if not phases:
            return z3.RealVal(0)
        result = exact(phases[-1].ramp_to)  # after the last phase
        for index in range(len(phases) - 1, -1, -1):
            phase = phases[index]
            span = (phase.end - phase.start).days
            low, high = exact(phase.ramp_from), exact(phase.ramp_to)
            if span:
                inside = low + (high - low) * z3.ToReal(day - phase.start.toordinal()) / span
            else:
                inside = high
            hole = exact(phases[index - 1].ramp_to) if index else z3.RealVal(0)
            result = z3.If(day < phase.start.toordinal(), hole,
                           z3.If(day <= phase.end.toordinal(), inside, result))
        return result

    # ------------------------------------------------------------ tables
    def cell(self, cell: ast.Cell, kind: str, enum: str | None) -> V:
        if isinstance(cell, ast.NotOpen):
            return V(kind=kind, val=self.default(kind, enum), no=TRUE)
        if isinstance(cell, ast.NotStated):
            return V(kind=kind, val=self.default(kind, enum), ok=FALSE)
        if isinstance(cell, ast.EnumCell):
            return V(kind="enum", val=self.enum_of(enum)[1][cell.value.value])
        if isinstance(cell, ast.SetCell):
            names = {i.value for i in cell.items}
            return V(kind="set", val={v: z3.BoolVal(v in names) for v in self.enum_of(enum)[1]})
        v = self.literal(cell.kind, cell.value)
        return V(kind=kind, val=z3.ToReal(v.val) if kind in REAL_KINDS and z3.is_int(v.val) else v.val)

    def table(self, name: str, args: list[V]) -> V:
        table = self.policy.tables[name]
        decl = table.decl
        kind, enum = table.result.kind, table.result.enum
        cells_no = table.result.maybe_not_open

        def finish(v: V) -> V:
            if cells_no and v.no is None:
                v.no = FALSE
            return v
        out = V(kind=kind, val=self.default(kind, enum), ok=FALSE)  # no row matches: an error
        hits: list[tuple[Any, ast.Cell]]  # (the row matches, its cell): a later match wins
        if table.kind == "matrix":
            a, b = args
            row_consts = self.enum_of(table.param_types[0].enum)[1]
            col_consts = self.enum_of(table.param_types[1].enum)[1]
            hits = [(z3.And(a.val == row_consts[row.key.value], b.val == col_consts[col.value]), cell)
                    for row in decl.matrix for col, cell in zip(decl.columns, row.cells)]
        elif table.kind == "enum":
            consts = self.enum_of(table.param_types[0].enum)[1]
            if not all(isinstance(r.key, ast.Name) for r in decl.rows):  # the checker types its keys as names
                raise InternalError(f"table {name}: a row key is no name")
            hits = [(args[0].val == consts[r.key.value], r.cell) for r in decl.rows]  # type: ignore[union-attr]
        else:
            rows = [(index, row, inside(row.key, args[0].val)) for index, row in enumerate(decl.rows)
                    if isinstance(row.key, ast.Interval)]  # (a range table: the checker made every key one)
            if decl.hit == "collect":
                return finish(self.collect(decl, rows, kind, enum))
            if decl.hit == "priority":
                rows.sort(key=lambda r: (-(r[1].priority or 0), r[0]))
            hits = [(hit, row.cell) for _, row, hit in reversed(rows)]
        for hit, cell in hits:
            out = self.ite(hit, finish(self.cell(cell, kind, enum)), out)
        return finish(out)

    def collect(self, decl: ast.TableDecl, rows, kind: str, enum: str | None) -> V:
        """`hit collect sum|min|max`: every matching row; no match is an error, as is a not-stated one."""
        cells = [(hit, self.cell(row.cell, kind, enum)) for _, row, hit in rows]
        any_hit = z3.Or(FALSE, *[h for h, _ in cells])
        ok = z3.And(any_hit, *[z3.Implies(h, c.ok) for h, c in cells])
        no = z3.Or(FALSE, *[z3.And(h, c.no) for h, c in cells if c.no is not None])
        return V(kind=kind, val=self.fold(decl.aggregator or "sum", kind, enum, cells), ok=ok, no=no)

    # ------------------------------------------------------------ properties
    def property_terms(self, prop: ast.PropertyDecl) -> dict[str, Any]:
        """`domain` (day in both periods), `premise` (computable and true) and `holds` (the
        decision and the claim succeed and the claim is true)."""
        eff = prop.effective
        domain = z3.And(self.in_force, self.period(eff.start if eff else None, eff.end if eff else None))
        if prop.premise is not None:
            p = self.guard(self.expr(prop.premise, {}))
            premise = z3.And(p.ok, p.val)
        else:
            premise = TRUE
        c = self.guard(self.expr(prop.claim, {}))
        holds = z3.And(self.decision_ok, c.ok, c.val)
        return {"domain": domain, "premise": premise, "holds": holds}


class BookEncoder(PolicyEncoder):
    """The book properties over the same fact variables as the policies they name: `outcome(POLICY)`
    and `fires(POLICY, RULE)` are terms of that policy's encoder. Their domain is every day and record
    where each named policy is in force and applies (`applies when`); each named decision must succeed."""

    def __init__(self, enc: Encoding, model: Model, policies: tuple[str, ...],
                 prop: ast.PropertyDecl | None = None) -> None:
        self.parts = {pid: PolicyEncoder(enc, model.policies[pid]) for pid in policies}
        book = model.book_policy()
        if prop is not None:  # only the facts this property reads (a witness then shows no others)
            read = {node.path for node in ast.walk((prop.premise, prop.claim))
                    if isinstance(node, ast.Ref) and model.resolve(node).kind == "input"}
            book = attrs.evolve(book, inputs={p: i for p, i in book.inputs.items() if p in read})
        super().__init__(enc, book)
        self.applies: dict[str, V] = {}
        for pid, part in self.parts.items():
            decl = part.policy.decl
            self.applies[pid] = (part.guard(part.expr(decl.applies, {})) if decl.applies is not None
                                 else V(kind="bool", val=TRUE))

    def _e_OutcomeRef(self, e, scope) -> V:
        part = self.parts[e.policy.value]
        return V(kind="outcome", val=part.deny, ok=part.decision_ok)

    def _e_Ref(self, e: ast.Ref, scope) -> V:
        resolved = self.model.resolve(e)
        kind, target = resolved.kind, resolved.target
        if kind == "book_define":  # a value the named policy computes, over the same fact variables
            pid, path = target.split(" ", 1)
            v = self.parts[pid].define(path)
            return V(kind=v.kind, val=v.val, ok=z3.And(v.ok, v.present), no=v.no)
        return super()._e_Ref(e, scope)

    def _e_Call(self, e: ast.Call, scope) -> V:
        if e.func.value == "fires" and len(e.args) == 2:
            part = self.parts[e.args[0].path]  # type: ignore[union-attr]
            rule = part.rules[e.args[1].path]  # type: ignore[union-attr]
            return V(kind="bool", val=rule["fired"], ok=part.decision_ok)
        return super()._e_Call(e, scope)

    def property_terms(self, prop: ast.PropertyDecl) -> dict[str, Any]:
        terms = super().property_terms(prop)
        # inside: every named policy in force and not found inapplicable (an `applies when` that fails
        # to compute is that policy's error, so the decision fails there)
        inside = [z3.And(p.in_force, z3.Implies(self.applies[pid].ok, self.applies[pid].val))
                  for pid, p in self.parts.items()]
        decided = [z3.And(self.applies[pid].ok, p.decision_ok) for pid, p in self.parts.items()]
        return {"domain": z3.And(terms["domain"], *inside), "premise": terms["premise"],
                "holds": z3.And(terms["holds"], *decided)}

    def conflict_terms(self, prop: ast.PropertyDecl) -> dict[str, Any]:
        """An overlap's claim as a book property: `conflict` holds where both policies are in force,
        apply and decide, the premise holds, and the claim computes to false (a disagreement, not a
        failure to decide)."""
        terms = self.property_terms(prop)
        c = self.guard(self.expr(prop.claim, {}))
        return {"conflict": z3.And(terms["domain"], terms["premise"],
                                   *[z3.And(self.applies[pid].ok, p.decision_ok) for pid, p in self.parts.items()],
                                   self.decision_ok, c.ok, z3.Not(c.val)),
                "domain": terms["domain"], "premise": terms["premise"]}


def inside(iv: ast.Interval, x: Any) -> Any:
    parts = []
    if iv.low is not None:
        parts.append(x >= exact(iv.low) if iv.low_closed else x > exact(iv.low))
    if iv.high is not None:
        parts.append(x <= exact(iv.high) if iv.high_closed else x < exact(iv.high))
    return z3.And(*parts) if parts else TRUE
