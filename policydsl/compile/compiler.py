"""The checked model in, CompiledPolicy closures out: each expression becomes one Python closure.

Nothing from a policy reaches eval/exec: closures are built by walking the typed model.
"""
from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any, Callable

from policydsl.errors import InternalError, PolicyDslError
from policydsl.runtime import calendar as cal
from policydsl.runtime import exact, rollout as ro
from policydsl.runtime.evaluate import _ABSENT, require_value
from policydsl.runtime.facts import InputSpec
from policydsl.runtime.program import (PLACEHOLDER, CompiledCase, CompiledConsequence, CompiledDefine, CompiledPolicy, CompiledProperty,
                                       CompiledRule, Env, Fn, MissingFact)
from policydsl.runtime.values import NOT_OPEN
from policydsl.semantics.model import Model, Policy, Table
from policydsl.syntax import ast

COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
           ">=": operator.ge}


def input_spec(model: Model, inp) -> InputSpec:
    """What the runtime needs of one fact: its kind, labels and enum values."""
    enum_values = None
    if inp.type.enum is not None:
        enum_values = {v.name.value: v.label.as_dict() for v in model.enums[inp.type.enum].values}
    return InputSpec(path=inp.path, kind=inp.type.kind, label=inp.label.as_dict(), enum_values=enum_values)


def compile_model(model: Model) -> dict[str, CompiledPolicy]:
    return {pid: PolicyCompiler(model, policy).compile() for pid, policy in model.policies.items()}


def compile_book(model: Model) -> CompiledPolicy | None:
    """The book properties (outside any policy) as a policy with no rules; their `outcome(POLICY)`
    and `fires(POLICY, RULE)` read the whole-book decision (a BookDecision) an Env carries. None
    when the book has none."""
    if not model.book_properties and not model.overlaps:
        return None
    return PolicyCompiler(model, model.book_policy()).compile()


class PolicyCompiler:
    def __init__(self, model: Model, policy: Policy) -> None:
        self.model = model
        self.policy = policy
        self.tables: dict[str, Callable[..., Any]] = {}

    def compile(self) -> CompiledPolicy:
        p = self.policy
        self.tables = {name: self._table(t) for name, t in p.tables.items()}
        inputs = {path: self._spec(i) for path, i in p.inputs.items()}
        defines = {path: CompiledDefine(
            path=path, kind=d.type.kind, label=d.label.as_dict(),
            cases=tuple(CompiledCase(value=self.expr(c.expr), when=self.guarded(c.when) if c.when else None,
                                     constant=self._constant(c.expr),
                                     start=c.start, end=c.end) for c in d.decl.cases),
            reads=self._reads(*[e for c in d.decl.cases for e in (c.expr, c.when) if e is not None]))
            for path, d in p.defines.items()}
        rules = tuple(self._rule(r.decl, r.exceptions) for r in p.rules)
        kinds = {**{k: i.type.kind for k, i in p.inputs.items()}, **{k: d.type.kind for k, d in p.defines.items()}}
        labels = {name: {v.name.value: v.label.as_dict() for v in enum.values}
                  for name, enum in self.model.enums.items()}
        enums = {**{k: i.type.enum for k, i in p.inputs.items() if i.type.enum},
                 **{k: d.type.enum for k, d in p.defines.items() if d.type.enum}}
        start, end = p.effective
        return CompiledPolicy(id=p.id, title=p.title.as_dict(), start=start, end=end, inputs=inputs,
                              defines=defines, rules=rules, value_kinds=kinds, enum_labels=labels, value_enums=enums,
                              coverage_items=self.coverage_items(),
                              properties=tuple(self._property(prop) for prop in p.properties),
                              applies=self.guarded(p.decl.applies) if p.decl.applies is not None else None)

    def _property(self, prop: ast.PropertyDecl) -> CompiledProperty:
        eff = prop.effective
        return CompiledProperty(
            name=prop.name.value, label=prop.label.as_dict(), start=eff.start if eff else None,
            end=eff.end if eff else None, premise=self.guarded(prop.premise) if prop.premise is not None else None,
            claim=self.guarded(prop.claim),
            premise_reads_decision=prop.premise is not None and reads_decision(prop.premise))

    def _spec(self, inp) -> InputSpec:
        return input_spec(self.model, inp)

    def _rule(self, decl: ast.RuleDecl, exceptions: tuple[str, ...]) -> CompiledRule:
        eff = decl.effective
        src = decl.sources[0] if decl.sources else None
        body = decl.body
        return CompiledRule(
            name=decl.name.value, label=decl.label.as_dict(), kind=body.kind, outcome=body.outcome,
            code=body.code.value, message=body.message.as_dict(),
            start=eff.start if eff else None, end=eff.end if eff else None,
            scope=self.guarded(decl.scope) if decl.scope is not None else None,
            condition=self.guarded(body.condition) if body.condition is not None else None,
            exceptions=exceptions, exception_to=tuple(t.value for t in decl.exception_to),
            source={"document": src.document, "quote": src.quote} if src else None,
            reads=self._reads(*[e for e in (decl.scope, body.condition) if e is not None]),
            placeholder_defines=tuple(path for path in self.policy.defines
                                      if any(path == m.group(1) for text in (body.message.zh, body.message.en)
                                             for m in PLACEHOLDER.finditer(text))),
            consequences=tuple(CompiledConsequence(
                kind=c.kind.value, period=c.period, end=self.guarded(c.end) if c.end is not None else None,
                amount=self.guarded(c.amount) if c.amount is not None else None, text=c.text.as_dict())
                for c in decl.consequences))

    # ------------------------------------------------------------ static reads
    def _reads(self, *exprs: ast.Expr, seen: set[str] | None = None) -> frozenset[str]:
        """Every input an expression may read, through defines, rollouts and tables."""
        seen = set() if seen is None else seen
        out: set[str] = set()
        for expr in exprs:
            for node in _walk(expr):
                if isinstance(node, ast.Ref):
                    kind, target = self.model.refs.get(id(node), ("?", ""))
                    if kind == "input":
                        out.add(target)
                    elif kind == "define" and target not in seen:
                        seen.add(target)
                        d = self.policy.defines[target].decl
                        out |= self._reads(*[e for c in d.cases for e in (c.expr, c.when) if e], seen=seen)
                elif isinstance(node, ast.Covered):
                    out.add(self.policy.rollouts[node.rollout.value].key.value)
        return frozenset(out)

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr) -> Fn:
        method = getattr(self, f"_e_{type(e).__name__}", None)
        if method is None:
            raise InternalError(f"no compiler for {type(e).__name__}")
        return method(e)

    def guarded(self, e: ast.Expr) -> Fn:
        """`e`, failing with E.not_open_arith when it yields a not-open cell; unwrapped when the
        expression can never yield one, so the common path pays nothing."""
        fn = self.expr(e)
        if not self.may_not_open(e):
            return fn
        return lambda env: _open(fn(env), e)

    def may_not_open(self, e: ast.Expr, seen: frozenset[str] = frozenset()) -> bool:
        """Whether `e` can evaluate to NOT_OPEN: a table with not-open cells, reached directly,
        through defines, or through max/min/sum (which propagate it)."""
        if isinstance(e, ast.Call):
            table = self.policy.tables.get(e.func.value)
            return table is not None and table.result.maybe_not_open
        if isinstance(e, ast.Aggregate):
            return e.func in ("max", "min", "sum") and self.may_not_open(e.body, seen)
        if isinstance(e, ast.Ref):
            kind, target = self.model.refs.get(id(e), ("?", ""))
            if kind != "define" or target in seen:
                return False
            cases = self.policy.defines[target].decl.cases
            return any(self.may_not_open(c.expr, seen | {target}) for c in cases)
        return False

    def _e_Literal(self, e: ast.Literal) -> Fn:
        value = e.value
        return lambda env: value

    def _e_DurationLit(self, e: ast.DurationLit) -> Fn:
        value = (e.amount, e.unit)
        return lambda env: value

    def _e_NotOpen(self, e: ast.NotOpen) -> Fn:
        return lambda env: NOT_OPEN

    def _e_Today(self, e: ast.Today) -> Fn:
        return lambda env: env.at

    # The closures below are the evaluator's inner loop, so the common shapes get their own:
    # a fact read inline (what Env.fact does), a memoised value read from the cache before
    # falling back to require_value, and comparisons and memberships with a constant side.
    # Each computes exactly what the general form computes, in the same order.

    def _input_path(self, e: ast.Expr) -> str | None:
        """The input path when `e` is a plain reference to an input."""
        if isinstance(e, ast.Ref):
            kind, target = self.model.refs.get(id(e), ("?", ""))
            if kind == "input":
                return target
        return None

    def _constant(self, e: ast.Expr) -> tuple[bool, Any]:
        """(True, value) when `e` is a literal, an enum value or a set of enum values."""
        if isinstance(e, ast.Literal):
            return True, e.value
        if isinstance(e, ast.Ref) and self.model.refs.get(id(e), ("?", ""))[0] == "enum":
            return True, self.model.refs[id(e)][1].split(".", 1)[1]
        if isinstance(e, ast.SetLit) and all(isinstance(i, ast.Ref) and self.model.refs[id(i)][0] == "enum"
                                              for i in e.items):
            return True, frozenset(self.model.refs[id(i)][1].split(".", 1)[1] for i in e.items)
        return False, None

    def _e_Ref(self, e: ast.Ref) -> Fn:
        kind, target = self.model.refs[id(e)]
        if kind == "input":
            def fact(env: Env) -> Any:
                try:
                    return env.facts[target]
                except KeyError:
                    raise MissingFact(target) from None
            return fact
        if kind == "define":
            def define(env: Env) -> Any:
                value = env.cache.get(target, _ABSENT)
                return require_value(env, target) if value is _ABSENT else value
            return define
        if kind == "var":
            return lambda env: env.vars[target]
        if kind == "book_define":  # a book property reads a value that policy's decision computed
            pid, path = target.split(" ", 1)

            def policy_value(env: Env) -> Any:
                part = env.decision.part(pid)
                if part.error is not None:  # that policy could not be decided for the record
                    raise part.error
                decision = part.decision
                if path in decision.values:
                    return decision.values[path]
                raise MissingFact(*decision.unresolved.get(path, (path,)))  # a value left out lacks facts
            return policy_value
        value = target.split(".", 1)[1]
        return lambda env: value

    def _e_SetLit(self, e: ast.SetLit) -> Fn:
        is_constant, constant = self._constant(e)
        if is_constant:
            return lambda env: constant
        items = tuple(self.expr(i) for i in e.items)
        return lambda env: frozenset(_operands(items, env))

    def _e_Unary(self, e: ast.Unary) -> Fn:
        inner = self.guarded(e.operand)
        if e.op == "not":
            path = self._input_path(e.operand)
            if path is not None:
                def not_fact(env: Env) -> bool:
                    try:
                        return not env.facts[path]
                    except KeyError:
                        raise MissingFact(path) from None
                return not_fact
            return lambda env: not inner(env)
        return lambda env: -inner(env)

    def _e_Member(self, e: ast.Member) -> Fn:
        item, coll = self.guarded(e.item), self.expr(e.collection)
        is_constant, constant = self._constant(e.collection)
        if is_constant:
            path, negated = self._input_path(e.item), e.negated
            if path is not None:
                def fact_in(env: Env) -> bool:
                    try:
                        value = env.facts[path]
                    except KeyError:
                        raise MissingFact(path) from None
                    return (value not in constant) if negated else (value in constant)
                return fact_in
            if negated:
                return lambda env: item(env) not in constant
            return lambda env: item(env) in constant
        if e.negated:
            return _strict(lambda a, b: a not in b, item, coll)
        return _strict(lambda a, b: a in b, item, coll)

    def _e_Binary(self, e: ast.Binary) -> Fn:
        op = e.op
        if op in ("==", "!="):
            left, right = self.expr(e.left), self.expr(e.right)
            return self._compare(COMPARE[op], e, left, right)
        left, right = self.guarded(e.left), self.guarded(e.right)
        if op == "and":
            return _and(left, right)
        if op == "or":
            return _or(left, right)
        lt, rt = self.model.type_of(e.left), self.model.type_of(e.right)
        if op in COMPARE:
            return self._compare(COMPARE[op], e, left, right)
        if lt.kind == "date" and rt.kind == "duration":
            sign = 1 if op == "+" else -1
            return _strict(lambda day, duration: _shift(day, duration, sign), left, right)
        if lt.kind == rt.kind == "date":
            return _strict(lambda a, b: (a - b).days, left, right)
        if op == "/":
            text = e.span.text
            return _strict(lambda a, b: _divide(a, b, text), left, right)
        if lt.kind == rt.kind == "count":  # Python ints are exact at any size
            fn = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op]
        else:
            fn = exact.operation(op, e.span.text)
        return _strict(fn, left, right)

    def _compare(self, fn: Callable[[Any, Any], Any], e: ast.Binary, left: Fn, right: Fn) -> Fn:
        """`fn(left(env), right(env))`, with an input on the left read inline and a constant on
        the right taken as it is (neither can be a not-open cell, so nothing is lost unguarded)."""
        path = self._input_path(e.left)
        is_constant, constant = self._constant(e.right)
        if path is not None and is_constant:
            def fact_vs_constant(env: Env) -> Any:
                try:
                    value = env.facts[path]
                except KeyError:
                    raise MissingFact(path) from None
                return fn(value, constant)
            return fact_vs_constant
        if path is not None:
            def fact_vs(env: Env) -> Any:
                try:
                    value = env.facts[path]
                except KeyError:
                    raise _missing_too(MissingFact(path), (right,), env) from None
                return fn(value, right(env))
            return fact_vs
        if is_constant:
            return lambda env: fn(left(env), constant)
        return _strict(fn, left, right)

    def _e_OutcomeRef(self, e: ast.OutcomeRef) -> Fn:
        if e.policy is not None:  # a book property: that policy's part of the whole-book decision
            pid = e.policy.value
            return lambda env: env.decision.part(pid).decision.outcome
        return lambda env: env.decision.outcome

    def _e_OutcomeLit(self, e: ast.OutcomeLit) -> Fn:
        value = e.value
        return lambda env: value

    def _e_Call(self, e: ast.Call) -> Fn:
        name = e.func.value
        if name == "fires" and name not in self.tables:
            rule = e.args[-1].path  # type: ignore[union-attr]
            if len(e.args) == 2:  # a book property: fires(POLICY, RULE)
                pid = e.args[0].path  # type: ignore[union-attr]
                return lambda env: any(ev.rule == rule and ev.status == "fired"
                                       for ev in env.decision.part(pid).decision.trace)
            return lambda env: any(ev.rule == rule and ev.status == "fired" for ev in env.decision.trace)
        if name == "consequence" and name not in self.tables:
            kind = e.args[0].path  # type: ignore[union-attr]
            return lambda env: any(c.kind == kind for c in env.decision.consequences)
        args = tuple(self.guarded(a) for a in e.args)
        if name in self.tables:
            lookup = self.tables[name]
            if len(args) == 1:
                b0 = args[0]
                return lambda env: lookup(env, b0(env))
            b0, b1 = args

            def lookup2(env: Env) -> Any:
                try:
                    a = b0(env)
                except MissingFact as missing:
                    raise _missing_too(missing, (b1,), env) from None
                return lookup(env, a, b1(env))
            return lookup2
        else:
            table = {"days_between": cal.days_between, "next_half_month": cal.next_half_month,
                     "month_end": cal.month_end}[name]
        if len(args) == 1:
            a0 = args[0]
            return lambda env: table(a0(env))
        if len(args) == 2:
            return _strict(table, *args)
        return lambda env: table(*_operands(args, env))

    def _e_Aggregate(self, e: ast.Aggregate) -> Fn:
        body = self.guarded(e.body) if e.func in ("any", "all") else self.expr(e.body)  # max/min/sum propagate
        items = self.expr(e.iterable)
        var, func = e.var.value, e.func

        def run(env: Env) -> Any:
            results = []
            missing: MissingFact | None = None  # the facts the bodies lacked, all of them
            saved = env.vars.get(var, _UNBOUND)
            try:
                for value in sorted(items(env)):
                    env.vars[var] = value
                    try:
                        results.append(body(env))
                    except MissingFact as exc:
                        missing = exc if missing is None else missing.joined(exc)
                    except PolicyDslError:
                        if missing is None:
                            raise
                        # else the result is unknown already; the error may hinge on a missing fact
            finally:
                if saved is _UNBOUND:
                    env.vars.pop(var, None)
                else:
                    env.vars[var] = saved
            if missing is not None:
                # Kleene: one true body decides `any`, one false body decides `all`
                if func == "any" and any(results) or func == "all" and not all(results):
                    return func == "any"
                raise missing
            return _aggregate(func, results)
        return run

    def _e_Covered(self, e: ast.Covered) -> Fn:
        decl = self.policy.rollouts[e.rollout.value]
        phases = phase_specs(decl)
        name, key = decl.name.value, decl.key.value

        def covered(env: Env) -> bool:
            if env.hits is not None:
                env.hits.add(f"phase:{name}:{ro.phase_at(phases, env.at)}")
            return ro.covered(name, phases, str(env.fact(key)), env.at)
        return covered

    # ------------------------------------------------------------ tables
    def _table(self, table: Table) -> Callable[..., Any]:
        """A lookup function `(env, *keys) -> value` that records the cell it used in env.hits."""
        decl = table.decl
        name = decl.name.value
        if table.kind == "matrix":
            cells = {(row.key.value, col.value): _cell(cell)
                     for row in decl.matrix for col, cell in zip(decl.columns, row.cells)}

            def matrix_lookup(env: Env, a: Any, b: Any) -> Any:
                if env.hits is not None:
                    env.hits.add(f"cell:{name}:{a},{b}")
                return _stated(cells[(a, b)], name, f"{a}, {b}")
            return matrix_lookup
        if table.kind == "enum":
            mapping = {row.key.value: _cell(row.cell) for row in decl.rows}

            def enum_lookup(env: Env, a: Any) -> Any:
                if a not in mapping:  # `hit collect` enum tables may leave values out
                    raise PolicyDslError("E.no_row", table=name, value=str(a))
                if env.hits is not None:
                    env.hits.add(f"cell:{name}:{a}")
                return _stated(mapping[a], name, a)
            return enum_lookup
        rows = [(index, r.key, _cell(r.cell), r.priority or 0) for index, r in enumerate(decl.rows, start=1)]
        hit, agg = decl.hit, decl.aggregator

        def range_lookup(env: Env, x: Any) -> Any:
            matches = [row for row in rows if _inside(row[1], x)]
            if not matches:
                raise PolicyDslError("E.no_row", table=name, value=str(x))
            if hit in ("unique", "first"):
                used = matches[:1]
            elif hit == "priority":
                used = [max(matches, key=lambda m: m[3])]
            else:
                used = matches
            if env.hits is not None:
                env.hits.update(f"cell:{name}:{row[0]}" for row in used)
            values = [_stated(row[2], name, x) for row in used]
            return values[0] if hit != "collect" else _aggregate(agg or "sum", values)
        return range_lookup

    def coverage_items(self) -> tuple[str, ...]:
        """Everything a feature suite should exercise: both sides of each rule, every table
        cell, every dated or conditional value case, and every phase of every rollout."""
        p, items = self.policy, []
        for rule in p.rules:
            items.append(f"rule:{rule.name}:fired")
            if rule.decl.body.kind == "require":
                items.append(f"rule:{rule.name}:passed")
        for name, table in p.tables.items():
            decl = table.decl
            if table.kind == "matrix":
                items += [f"cell:{name}:{row.key.value},{col.value}" for row in decl.matrix for col in decl.columns]
            elif table.kind == "enum":
                items += [f"cell:{name}:{row.key.value}" for row in decl.rows]
            else:
                items += [f"cell:{name}:{i}" for i in range(1, len(decl.rows) + 1)]
        for path, define in p.defines.items():
            if len(define.decl.cases) > 1:
                items += [f"case:{path}:{i}" for i in range(1, len(define.decl.cases) + 1)]
        for name, rollout in p.rollouts.items():
            items += [f"phase:{name}:before"] + [f"phase:{name}:{ph.name.value}" for ph in rollout.phases]
            items.append(f"phase:{name}:after")
        return tuple(items)


_UNBOUND = object()


# ------------------------------------------------------------ missing facts
# A missing fact raises MissingFact where it is read. `and`/`or` follow Kleene's three-valued
# logic: an operand that lacks facts does not decide when the other operand does (`missing and
# false` is false, `missing or true` is true), so a fact is needed only where the decision depends
# on it; otherwise the facts both operands lack are named together. A strict operator (comparison,
# arithmetic, membership, call) needs all its operands: when one lacks facts, the others are
# evaluated only to name theirs too, so that one evaluation names every fact it needs. The other
# operand is evaluated only after a MissingFact, so the path with every fact given is what it was.

def _and(left: Fn, right: Fn) -> Fn:
    def and_(env: Env) -> Any:
        try:
            a = left(env)
        except MissingFact as missing:
            return _decides(missing, right, env, False)
        return a and right(env)
    return and_


def _or(left: Fn, right: Fn) -> Fn:
    def or_(env: Env) -> Any:
        try:
            a = left(env)
        except MissingFact as missing:
            return _decides(missing, right, env, True)
        return a or right(env)
    return or_


def _decides(missing: MissingFact, other: Fn, env: Env, absorbing: bool) -> bool:
    """`missing and other` (absorbing False) or `missing or other` (absorbing True): the absorbing
    value when `other` is it; else the facts `missing` names, with those `other` lacks."""
    try:
        value = other(env)
    except MissingFact as also:
        raise missing.joined(also) from None
    except PolicyDslError:
        # `other` may fail only because the missing side would have guarded it (`x > 0 and y / x`):
        # its value is unknown, and what is known to be needed is the missing fact
        raise missing from None
    if bool(value) is absorbing:
        return absorbing
    raise missing


def _strict(fn: Callable[[Any, Any], Any], left: Fn, right: Fn) -> Fn:
    """`fn(left(env), right(env))`, naming the facts both operands lack when the left one lacks some."""
    def strict(env: Env) -> Any:
        try:
            a = left(env)
        except MissingFact as missing:
            raise _missing_too(missing, (right,), env) from None
        return fn(a, right(env))
    return strict


def _operands(fns: tuple[Fn, ...], env: Env) -> list[Any]:
    """Every operand's value, in order; when one lacks facts, those the later ones lack are named too."""
    out = []
    for index, fn in enumerate(fns):
        try:
            out.append(fn(env))
        except MissingFact as missing:
            raise _missing_too(missing, fns[index + 1:], env) from None
    return out


def _missing_too(missing: MissingFact, others: tuple[Fn, ...], env: Env) -> MissingFact:
    """`missing` joined with the facts `others` lack; they are evaluated only for that (their values,
    and any other error they raise, are dropped: the result is unknown anyway)."""
    for fn in others:
        try:
            fn(env)
        except MissingFact as also:
            missing = missing.joined(also)
        except PolicyDslError:
            pass
    return missing


def phase_specs(decl: ast.RolloutDecl) -> tuple[ro.PhaseSpec, ...]:
    """The runtime's phases of a declared rollout."""
    return tuple(ro.PhaseSpec(name=p.name.value, start=p.start, end=p.end, ramp_from=p.ramp_from, ramp_to=p.ramp_to)
                 for p in decl.phases)


def reads_decision(expr: ast.Expr) -> bool:
    """Whether a property expression reads the decision (`outcome`, `fires(rule)`)."""
    return any(isinstance(n, ast.OutcomeRef) or (isinstance(n, ast.Call) and n.func.value in ("fires", "consequence"))
               for n in _walk(expr))


def reads_rules(prop: ast.PropertyDecl) -> bool:
    """Whether a property asks which rules fired (`fires`): deciding for it needs the trace."""
    return any(isinstance(n, ast.Call) and n.func.value == "fires"
               for e in (prop.premise, prop.claim) if e is not None for n in _walk(e))


def _walk(expr: Any):
    """Every node of an expression tree (spans skipped)."""
    yield expr
    for field in getattr(type(expr), "__attrs_attrs__", ()):
        if field.name.endswith("span"):
            continue
        value = getattr(expr, field.name)
        for v in value if isinstance(value, tuple) else (value,):
            if hasattr(type(v), "__attrs_attrs__"):
                yield from _walk(v)


_NOT_STATED = object()


def _cell(cell: ast.Cell) -> Any:
    if isinstance(cell, ast.NotOpen):
        return NOT_OPEN
    if isinstance(cell, ast.NotStated):
        return _NOT_STATED
    if isinstance(cell, ast.EnumCell):
        return cell.value.value
    if isinstance(cell, ast.SetCell):
        return frozenset(item.value for item in cell.items)
    return cell.value


def _stated(value: Any, table: str, key: Any) -> Any:
    if value is _NOT_STATED:
        raise PolicyDslError("E.not_stated", table=table, key=str(key))
    return value


def _inside(iv: ast.Interval, x: Any) -> bool:
    if iv.low is not None and (x < iv.low or (x == iv.low and not iv.low_closed)):
        return False
    if iv.high is not None and (x > iv.high or (x == iv.high and not iv.high_closed)):
        return False
    return True


def _open(value: Any, expr: ast.Expr) -> Any:
    if value is NOT_OPEN:
        raise PolicyDslError("E.not_open_arith", name=expr.span.text)
    return value


def _divide(a: Any, b: Any, text: str) -> Any:
    if b == 0:
        raise PolicyDslError("E.division_by_zero")
    return exact.divide(a, b, text)


def _shift(day: Any, duration: tuple[int, str], sign: int) -> Any:
    amount, unit = duration
    return cal.add_duration(day, sign * amount, unit)


def _aggregate(func: str, results: list[Any]) -> Any:
    if func == "any":
        return any(results)
    if func == "all":
        return all(results)
    if any(r is NOT_OPEN for r in results):
        return NOT_OPEN
    if func == "sum":
        return exact.total(results, "sum") if results and isinstance(results[0], Decimal) else sum(results)
    if not results:
        raise PolicyDslError("E.empty_aggregate", agg=func)
    return max(results) if func == "max" else min(results)
