"""The checked model in, one Python function per policy and variant (fast, traced) out.

The functions are built as `ast` nodes and compiled with `compile()`: names and literals from
policy files become `ast.Constant` nodes or subscripts of the constants tuple `K`, so nothing from a
policy file reaches eval/exec as text. One generator emits both variants; `traced` decides whether
trace events and coverage hits are emitted. Each function first converts the facts: the common case
(every fact given, a plain dict, already of its own Python type) inline, anything else through the
one general conversion; with every fact given, expressions are plain Python, else they follow
Kleene's logic over missing facts (runtime/program.py).
"""
from __future__ import annotations

import ast as py
import datetime as dt
import functools
from typing import Any, Iterator

from policydsl.errors import InternalError
from policydsl.semantics.model import MAX_CODE_NODES, Model, Policy
from policydsl.syntax import ast

MAX_RUNS = 8
NEVER = py.Constant(value=False)  # a date test false on every day of the run being generated
FAST_KINDS = {"bool": "bool", "count": "int", "text": "str", "enum": "str"}
COMPARE = {"==": py.Eq, "!=": py.NotEq, "<": py.Lt, "<=": py.LtE, ">": py.Gt, ">=": py.GtE}


def name(n: str) -> py.Name:
    return py.Name(id=n, ctx=py.Load())


def store(n: str) -> py.Name:
    return py.Name(id=n, ctx=py.Store())


def call(fn: py.expr | str, *args: py.expr) -> py.Call:
    return py.Call(func=name(fn) if isinstance(fn, str) else fn, args=list(args), keywords=[])


def attr(value: py.expr | str, field: str) -> py.Attribute:
    return py.Attribute(value=name(value) if isinstance(value, str) else value, attr=field, ctx=py.Load())


def assign(target: str, value: py.expr) -> py.Assign:
    return py.Assign(targets=[store(target)], value=value)


def thunk(body: py.expr, *params: str) -> py.Lambda:
    return py.Lambda(args=py.arguments(posonlyargs=[], args=[py.arg(arg=p) for p in params], kwonlyargs=[],
                                       kw_defaults=[], defaults=[]), body=body)


def tup(items: list[py.expr]) -> py.Tuple:
    return py.Tuple(elts=items, ctx=py.Load())


def is_(a: py.expr, b: py.expr, negated: bool = False) -> py.Compare:
    return py.Compare(left=a, ops=[py.IsNot() if negated else py.Is()], comparators=[b])


def and_(*values: py.expr) -> py.expr:
    return values[0] if len(values) == 1 else py.BoolOp(op=py.And(), values=list(values))


def try_(body: list[py.stmt], exc: str, handler: list[py.stmt]) -> py.Try:
    return py.Try(body=body, handlers=[py.ExceptHandler(type=name(exc), name="e", body=handler)],
                  orelse=[], finalbody=[])


def define_fn(fn: str, params: list[str], body: list[py.stmt]) -> py.FunctionDef:
    optional: list[py.expr] = [py.Constant(value=None)] if params[-1] == "VOCAB" else []  # the one optional parameter
    args = py.arguments(posonlyargs=[], args=[py.arg(arg=p) for p in params], kwonlyargs=[], kw_defaults=[],
                        defaults=optional)
    return py.FunctionDef(name=fn, args=args, body=body, decorator_list=[], returns=None)


class Generator:
    """One policy: `module()` is the ast.Module defining fast, traced, applies and the properties'
    premise and claim; `spec` the plain data (constants, tables, operations) it reads at run time."""

    def __init__(self, model: Model, policy: Policy) -> None:
        self.model, self.policy = model, policy
        self.consts: list[Any] = []
        self.tables = {n: i for i, n in enumerate(policy.tables)}
        self.ops: list[tuple[str, str]] = []
        self.phases: list[tuple[str, tuple[Any, ...]]] = []
        self.inputs = {path: f"i{i}" for i, path in enumerate(policy.inputs)}
        self.defines = {path: f"d{i}" for i, path in enumerate(policy.defines)}
        self.vars: dict[str, str] = {}
        self.aggregates = 0  # aggregates generated so far: each one's variable is named by its number
        self.cells: list[str] = []  # the locals inline table reads assign
        self.iterable = False  # generating a comprehension's iterable (no assignment expression there)
        # Statements an expression being generated needs first: an aggregate evaluated unconditionally
        # (not under `and`/`or`, not a case's `when`) becomes a for loop here rather than a
        # comprehension (in Python 3.11 one function call more per evaluation). None: no lowering.
        self.prelude: list[py.stmt] | None = None
        self.sorted_inputs: dict[str, str] = {}  # set input -> the local holding it sorted (untraced, lowered)
        self.kleene = False
        self.traced = False
        self.day: dt.date | None = None  # the first day of the run of days being generated for
        self.sure: set[str] = set()  # the define locals that hold a value (never a Fail) in this run
        self.no_ms = False
        self.not_open: dict[str, bool] = {}  # a value -> whether it may be a not-open cell (may_not_open)

    # ------------------------------------------------------------ constants
    def const(self, value: Any) -> py.expr:
        if value is None or type(value) in (str, int, bool):
            return py.Constant(value=value)
        self.consts.append(value)
        return py.Subscript(value=name("K"), slice=py.Constant(value=len(self.consts) - 1), ctx=py.Load())

    def hit(self, item: str) -> py.stmt:
        return py.If(test=is_(name("H"), py.Constant(value=None), negated=True),
                     body=[py.Expr(value=call(attr("H", "add"), py.Constant(value=item)))], orelse=[])

    # ------------------------------------------------------------ the modules
    def modules(self) -> Iterator[py.Module]:
        """One module per function, generated as it is asked for: compiled one at a time, only one function's
        syntax tree is held at once (a policy of thousands of rules: hundreds of MB each)."""
        def module(fn: py.FunctionDef) -> py.Module:
            return py.fix_missing_locations(py.Module(body=[fn], type_ignores=[]))
        p = self.policy
        for traced in (False, True):
            self.traced = traced
            fn = "traced" if traced else "fast"
            yield module(define_fn(fn, ["facts", "at", "H", "VOCAB"], self.convert() + self.decide(False)))
            yield module(define_fn(fn + "_k", ["V", "at", "H"], self.bind() + self.decide(True)))
        self.traced, self.kleene = False, True
        exprs = [("applies", p.decl.applies)] + [
            (f"p{i}_{part}", e) for i, prop in enumerate(p.properties)
            for part, e in (("premise", prop.premise), ("claim", prop.claim))]
        for fn, e in exprs:
            if e is not None:  # only the facts and values it reads (a property reads few of many: with every value,
                facts, values = reads(self.model, p, e)  # N properties and N values made code quadratic in N)
                yield module(define_fn(fn, ["V", "at", "decision"], [assign("H", py.Constant(value=None))]
                                       + self.bind(facts) + self.values(values) + [py.Return(value=self.guarded(e))]))

    def convert(self) -> list[py.stmt]:
        """Fetch every fact of a plain nested dict into a local and check its type inline; if any is
        absent, unusual or ill-typed, hand the facts to the general conversion and the Kleene body."""
        fetch: list[py.stmt] = []
        checks: list[py.expr] = [py.Compare(left=call("type", name("facts")), ops=[py.Is()], comparators=[name("dict")])]
        nodes: dict[str, str] = {"": "facts"}
        after: list[py.stmt] = []
        for path, spec in self.policy.inputs.items():
            parts, prefix = path.split("."), ""
            for part in parts[:-1]:
                parent, prefix = nodes[prefix], f"{prefix}.{part}" if prefix else part
                if prefix not in nodes:
                    nodes[prefix] = f"g{len(nodes)}"
                    fetch.append(assign(nodes[prefix], py.Subscript(value=name(parent), slice=py.Constant(value=part),
                                                                   ctx=py.Load())))
                    checks.append(py.Compare(left=call("type", name(nodes[prefix])), ops=[py.Is()],
                                             comparators=[name("dict")]))
            local, kind = self.inputs[path], spec.type.kind
            raw = py.Subscript(value=name(nodes[prefix]), slice=py.Constant(value=parts[-1]), ctx=py.Load())
            if kind in FAST_KINDS and (kind != "enum" or spec.type.enum is not None):
                fetch.append(assign(local, raw))
                checks.append(py.Compare(left=call("type", name(local)), ops=[py.Is()], comparators=[name(FAST_KINDS[kind])]))
                if kind == "count":
                    checks.append(py.Compare(left=name(local), ops=[py.GtE()], comparators=[py.Constant(value=0)]))
                if kind == "enum" and spec.type.enum is not None:  # (it is, for an enum: see above)
                    ids = frozenset(v.name.value for v in self.model.enums[spec.type.enum].values)
                    checks.append(py.Compare(left=name(local), ops=[py.In()], comparators=[self.const(ids)]))
            elif kind == "set" and spec.type.enum is not None:  # a list of enum ids, as a frozenset
                ids = frozenset(v.name.value for v in self.model.enums[spec.type.enum].values)
                fetch.append(assign(local, raw))
                fetch.append(assign(local, py.IfExp(test=py.Compare(left=call("type", name(local)), ops=[py.Is()],
                                                                    comparators=[name("list")]),
                                                    body=call("frozenset", name(local)), orelse=py.Constant(value=None))))
                checks.append(is_(name(local), py.Constant(value=None), negated=True))
                checks.append(py.Compare(left=name(local), ops=[py.LtE()], comparators=[self.const(ids)]))
            else:
                converter = py.Subscript(value=name("CONVERTERS"), slice=py.Constant(value=kind), ctx=py.Load())
                spec_ref = py.Subscript(value=name("SPECS"), slice=py.Constant(value=path), ctx=py.Load())
                fetch.append(assign(local, call(converter, spec_ref, raw)))
                checks.append(is_(py.Subscript(value=name(local), slice=py.Constant(value=1), ctx=py.Load()),
                                  py.Constant(value=None)))
                after.append(assign(local, py.Subscript(value=name(local), slice=py.Constant(value=0), ctx=py.Load())))
        body = f"{'traced' if self.traced else 'fast'}_k"

        def to_body(record: py.expr) -> py.Return:  # the period checked before the facts are converted
            return py.Return(value=call(body, call("convert", name("SPECS"), call("PERIOD", record, name("at"))),
                                        name("at"), name("H")))
        fallback = to_body(py.IfExp(test=is_(name("VOCAB"), py.Constant(value=None)), body=name("facts"),
                                    orelse=call("VOCAB", name("facts"))))
        # With every fact fetched, a record holding exactly this policy's facts (counted per object)
        # holds no dotted key and only names the book knows; otherwise a dotted key may restate a fact
        # (the general conversion), and the book's vocabulary check (VOCAB) names any unknown one.
        children: dict[str, set[str]] = {}
        for path in self.policy.inputs:
            parts = path.split(".")
            for depth in range(len(parts)):
                children.setdefault(".".join(parts[:depth]), set()).add(parts[depth])
        exact = and_(*[py.Compare(left=call("len", name(nodes[prefix])), ops=[py.Eq()],
                                  comparators=[py.Constant(value=len(names))]) for prefix, names in children.items()]
                     or [py.UnaryOp(op=py.Not(), operand=name("facts"))])  # type: ignore[list-item]  # mypy types the `or` by its left list (of Compares)
        dotted = frozenset(p for p in self.policy.inputs if "." in p)
        inexact: list[py.stmt] = [py.If(test=py.UnaryOp(op=py.Not(), operand=call(attr(self.const(dotted), "isdisjoint"),
                                                                                  name("facts"))),
                                        body=[fallback], orelse=[])] if dotted else []
        inexact.append(py.If(test=is_(name("VOCAB"), py.Constant(value=None), negated=True), body=[
            assign("REC", call("VOCAB", name("facts"))),
            py.If(test=is_(name("REC"), name("facts"), negated=True), body=[to_body(name("REC"))], orelse=[])], orelse=[]))
        fetched: list[py.stmt] = [py.Try(
            body=fetch, handlers=[py.ExceptHandler(type=tup([name("KeyError"), name("TypeError")]), name=None,
                                                   body=[fallback])],
            orelse=[], finalbody=[])] if fetch else [py.Pass()]  # a policy may read no fact
        guard = py.If(test=checks[0], body=fetched, orelse=[fallback])
        rest = checks[1:]
        start, end = self.policy.effective
        period: list[py.expr] = [t for t in ([py.Compare(left=name("at"), ops=[py.Lt()], comparators=[self.const(start)])] if start else [])
                                 + ([py.Compare(left=self.const(end), ops=[py.Lt()], comparators=[name("at")])] if end else [])]
        in_force = [py.If(test=py.BoolOp(op=py.Or(), values=period) if len(period) > 1 else period[0],
                          body=[py.Expr(value=call("PERIOD", name("facts"), name("at")))], orelse=[])] if period else []
        return [guard] + ([py.If(test=py.UnaryOp(op=py.Not(), operand=and_(*rest)), body=[fallback], orelse=[])]
                          if rest else []) + [py.If(test=py.UnaryOp(op=py.Not(), operand=exact), body=inexact, orelse=[])] \
            + in_force + after

    def bind(self, only: frozenset[str] | None = None) -> list[py.stmt]:
        """The facts (those in `only`) into IN, the values' list DV made (see `local`)."""
        facts: list[py.expr] = [call(attr("V", "get"), py.Constant(value=path), name("M"))
                                if only is None or path in only else py.Constant(value=None) for path in self.inputs]
        nones = py.BinOp(left=py.List(elts=[py.Constant(value=None)], ctx=py.Load()), op=py.Mult(),
                         right=py.Constant(value=len(self.defines)))
        return [assign("IN", py.List(elts=facts, ctx=py.Load())), assign("DV", nones)]

    def local(self, local: str, store: bool = False) -> py.expr:
        """A fact's local `iN` or a value's `dN`; under Kleene item N of the list IN or DV (as `slot` keeps the
        rules'): CPython compiles a function's nested scopes, the Kleene thunks, each in time growing with the
        function's locals, so a local per value made it quadratic (8,000 values: 35 s for fast_k, 3 s as lists)."""
        ctx = py.Store() if store else py.Load()
        if self.kleene:
            return py.Subscript(value=name("IN" if local[0] == "i" else "DV"), slice=py.Constant(value=int(local[1:])),
                                ctx=ctx)
        return py.Name(id=local, ctx=ctx)

    def put(self, local: str, value: py.expr) -> py.Assign:
        return py.Assign(targets=[self.local(local, store=True)], value=value)

    # ------------------------------------------------------------ the decision
    def decide(self, kleene: bool) -> list[py.stmt]:
        """The decision's statements. The untraced fast variant is specialised per run of days on which
        the same rules and value cases are in force (at most MAX_RUNS runs, whose copies together hold no more
        than a policy's largest size): within a run no rule's or case's dates are tested, and a rule not in
        force leaves no code."""
        self.kleene = kleene
        days = self.run_starts()
        if kleene or len(days) > MAX_RUNS or len(days) * self.policy.code_size > MAX_CODE_NODES:
            return self.decide_body()
        chain = self.decide_run(days[-1])
        for k in range(len(days) - 1, 0, -1):
            test = py.Compare(left=name("at"), ops=[py.Lt()], comparators=[self.const(days[k])])
            chain = [py.If(test=test, body=self.decide_run(days[k - 1]), orelse=chain)]
        return chain

    def run_starts(self) -> list[dt.date]:
        """The first day of each run: the policy's start, then each later day of its period (PERIOD refuses
        the others) on which a rule or value case comes into force, or the day after one lapses."""
        start, end = self.policy.effective
        periods = [effective(r.decl) for r in self.policy.rules] + [
            (c.start, c.end) for d in self.policy.defines.values() for c in d.decl.cases]
        bounds = {a for a, _ in periods if a is not None} | {
            b + dt.timedelta(days=1) for _, b in periods if b is not None and b < dt.date.max}
        inside = sorted(day for day in bounds if (start is None or start < day) and (end is None or day <= end))
        return [start or dt.date.min, *inside]

    def decide_run(self, day: dt.date) -> list[py.stmt]:
        self.day = day
        try:
            return self.decide_body()
        finally:
            self.day = None

    def decide_body(self) -> list[py.stmt]:
        kleene = self.kleene
        # every rule's status first, then the fired rules' reasons: a consequence computed only after every
        # condition (the traced order), so both variants meet the same first error
        statuses = self.traced or any(r.exceptions or r.decl.exception_to or r.decl.consequences for r in self.policy.rules)
        # MS collects missing facts: untraced with no exceptions and no consequences, nothing can note one
        self.no_ms = not kleene and not statuses and not any(r.decl.consequences for r in self.policy.rules)
        ordered: list[py.stmt] = []
        self.sorted_inputs = {}
        if not kleene and not self.traced:  # a set the policy aggregates over, sorted once
            for path in self.aggregated_inputs():
                self.sorted_inputs[path] = f"q{self.inputs[path][1:]}"
                ordered.append(assign(self.sorted_inputs[path], call("sorted", name(self.inputs[path]))))
        body = ordered + self.values() + ([] if self.no_ms else [assign("MS", py.Dict(keys=[], values=[]))]) + \
            [assign("FIRED", py.List(elts=[], ctx=py.Load()))]
        if not kleene and not self.traced and {r.decl.body.outcome for r in self.policy.rules} - {"deny"}:
            body.append(assign("OTHER", py.Constant(value=False)))
        if statuses:
            body += self.statuses()
        else:
            for index, rule in enumerate(self.policy.rules):
                body += self.direct(index, rule.decl)
        trace = call("tuple", name("TR")) if self.traced else tup([])
        finish = py.Return(value=call(attr("D", "finish"), name("at"), name("FIRED"),
                                      tup([self.local(d) for d in self.defines.values()]),
                                      py.Constant(value=None) if self.no_ms else name("MS"), trace, name("H")))
        if kleene or self.traced:
            return body + [finish]
        quick = self.quick_finish()
        return body + quick + ([finish] if isinstance(quick[0], py.If) else [])

    def aggregated_inputs(self) -> list[str]:
        """The set inputs some aggregate of the policy's rules or values iterates over directly."""
        roots = [e for r in self.policy.rules for e in (r.decl.scope, r.decl.body.condition)] + \
            [e for d in self.policy.defines.values() for c in d.decl.cases for e in (c.expr, c.when)]
        found = {n.iterable.path for n in ast.walk(tuple(e for e in roots if e is not None))
                 if isinstance(n, ast.Aggregate) and isinstance(n.iterable, ast.Ref)
                 and self.model.resolve(n.iterable).kind == "input"}
        return sorted(found)

    def quick_finish(self) -> list[py.stmt]:
        """The untraced common case built inline: no fact missing, every value computed, only deny
        rules fired (or none); anything else goes through `D.finish`."""
        tests: list[py.expr] = [] if self.no_ms else [py.UnaryOp(op=py.Not(), operand=name("MS"))]
        tests += [py.Compare(left=call("type", name(d)), ops=[py.IsNot()], comparators=[name("Fail")])
                  for d in self.defines.values() if d not in self.sure]
        outcomes = {r.decl.body.outcome for r in self.policy.rules}
        if outcomes - {"deny"}:  # a warn or allow rule fired: D.finish sorts the reasons
            tests.append(py.UnaryOp(op=py.Not(), operand=name("OTHER")))
        values = py.Dict(keys=[py.Constant(value=p) for p in self.defines], values=[name(d) for d in self.defines.values()])
        fields = [py.Constant(value=self.policy.id), name("at"),
                  py.IfExp(test=name("FIRED"), body=py.Constant(value="deny"), orelse=py.Constant(value="allow")),
                  values, name("KINDS"), call("tuple", name("FIRED")), tup([]), tup([]), name("NO_COVERAGE"),
                  name("NO_UNRESOLVED")]  # Decision's fields, in order
        new: list[py.stmt] = [py.Return(value=call("TN", name("Decision"), tup(fields)))]
        return [py.If(test=and_(*tests), body=new, orelse=[])] if tests else new

    def in_force(self, start: Any, end: Any) -> py.expr | None:
        """The test that `at` is in [start, end]: None when always true (or true all the run), NEVER
        when false all the run."""
        if self.day is not None:
            return None if (start is None or start <= self.day) and (end is None or self.day <= end) else NEVER
        tests = ([py.Compare(left=self.const(start), ops=[py.LtE()], comparators=[name("at")])] if start else []) + \
                ([py.Compare(left=name("at"), ops=[py.LtE()], comparators=[self.const(end)])] if end else [])
        return and_(*tests) if tests else None

    def values(self, only: frozenset[str] | None = None) -> list[py.stmt]:
        """Every define (those in `only`), in dependency order, to a local: its value, or a Fail that raises when read."""
        out: list[py.stmt] = []
        self.sure = set()
        for path in self.define_order:
            if only is not None and path not in only:
                continue
            local, cases = self.defines[path], self.policy.defines[path].decl.cases
            if self.day is not None:  # in a run, a literal in force on every day of it cannot fail
                first = next((c for c in cases if self.in_force(c.start, c.end) is not NEVER), None)
                if first is not None and first.when is None and isinstance(first.expr, ast.Literal):
                    out.append(self.put(local, self.expr(first.expr)))
                    if self.traced and len(cases) > 1:
                        out.append(self.hit(f"case:{path}:{cases.index(first) + 1}"))
                    self.sure.add(local)
                    continue
            chain: list[py.stmt] = [self.put(local, call("Fail", py.Constant(value=None), py.Constant(value=path)))]
            for index in range(len(cases), 0, -1):
                case = cases[index - 1]
                if self.in_force(case.start, case.end) is NEVER:
                    continue
                tests = [t for t in (self.in_force(case.start, case.end),
                                     self.guarded(case.when) if case.when is not None else None) if t is not None]
                before, value = self.lowered(case.expr, value=True)
                then = before + [self.put(local, value)]
                if self.traced and len(cases) > 1:
                    then.append(self.hit(f"case:{path}:{index}"))
                chain = [py.If(test=and_(*tests), body=then, orelse=chain)] if tests else then
            out.append(py.Try(body=chain, handlers=[py.ExceptHandler(
                type=tup([name("MissingFact"), name("PolicyDslError")]), name="e",
                body=[self.put(local, call("Fail", name("e"), py.Constant(value=path)))])], orelse=[], finalbody=[]))
        return out

    @functools.cached_property
    def define_order(self) -> list[str]:
        """Found once (every function computes values: a policy of N values and N properties ordered them
        2N + 4 times, each in time quadratic in N)."""
        return define_order(self.model, self.policy)

    def fire(self, index: int, decl: ast.RuleDecl) -> list[py.stmt]:
        """Append the rule's reason to FIRED; a consequence lacking facts notes them instead."""
        reason = self.reason(index, decl)
        stmts: list[py.stmt] = [py.Expr(value=call(attr("FIRED", "append"), reason))]
        if not self.kleene and not self.traced and decl.body.outcome != "deny":
            stmts.append(assign("OTHER", py.Constant(value=True)))
        if not decl.consequences:
            return stmts
        return [try_(stmts, "MissingFact", [py.Expr(value=call("note", name("MS"), name("e")))])]

    def reason(self, index: int, decl: ast.RuleDecl) -> py.expr:
        info = rule_placeholders(self.policy, decl)
        if not info and not decl.consequences:
            return py.Subscript(value=name("S"), slice=py.Constant(value=index), ctx=py.Load())
        shown: list[py.expr] = [self.local(self.inputs[p]) if p in self.inputs else self.local(self.defines[p]) if p in self.defines
                                else py.Constant(value=None) for p in info]
        if not decl.consequences:  # the message is filled when read
            said = py.Subscript(value=name("R"), slice=py.Constant(value=index), ctx=py.Load())
            return call("TN", name("Reason"), tup([said, tup(shown), tup([])]))
        conseq = tup([tup([thunk(self.guarded(c.end)) if c.end is not None else py.Constant(value=None),
                               thunk(self.guarded(c.amount)) if c.amount is not None else py.Constant(value=None)])
                      for c in decl.consequences])
        return call(attr("D", "reason"), py.Constant(value=index), name("at"), tup(shown), conseq)

    def lowered(self, e: ast.Expr, value: bool = False) -> tuple[list[py.stmt], py.expr]:
        """`e` (guarded, unless it is a `value` case) as (the statements it needs first, the expression);
        statements only untraced and not under Kleene."""
        generate = self.expr if value else self.guarded
        if self.kleene or self.traced:
            return [], generate(e)
        saved, self.prelude = self.prelude, []
        try:
            code = generate(e)
            return self.prelude, code
        finally:
            self.prelude = saved

    def direct(self, index: int, decl: ast.RuleDecl) -> list[py.stmt]:
        """A rule without exceptions, untraced: fire when in force, in scope and (require) not satisfied."""
        stmt: list[py.stmt] = self.fire(index, decl)
        before: list[py.stmt] = []
        tests: list[py.expr] = []
        if decl.body.kind == "require" and decl.body.condition is not None:  # (a require always has one)
            before, condition = self.lowered(decl.body.condition)
            tests.append(py.UnaryOp(op=py.Not(), operand=condition))
        if decl.scope is not None:  # the condition, and what it needs first, only within the scope
            scope_before, scope = self.lowered(decl.scope)
            if before:
                stmt, before, tests = before + [py.If(test=and_(*tests), body=stmt, orelse=[])], [], []
            before, tests = scope_before, [scope, *tests]
        if tests:
            stmt = before + [py.If(test=and_(*tests), body=stmt, orelse=[])]
        if self.kleene:
            stmt = [try_(stmt, "MissingFact", [py.Expr(value=call("note", name("MS"), name("e")))])]
        force = self.in_force(*effective(decl))
        if force is NEVER:
            return []
        return [py.If(test=force, body=stmt, orelse=[])] if force is not None else stmt

    def statuses(self) -> list[py.stmt]:
        rules = self.policy.rules
        index_of = {r.name: i for i, r in enumerate(rules)}
        out: list[py.stmt] = [assign("TR", py.List(elts=[], ctx=py.Load()))] if self.traced else []
        if self.kleene:  # the lists `slot` reads
            nones = py.BinOp(left=py.List(elts=[py.Constant(value=None)], ctx=py.Load()), op=py.Mult(),
                             right=py.Constant(value=len(rules)))
            out += [assign("ST", nones), assign("BY", nones)]
        for i, rule in enumerate(rules):
            out += self.status(i, rule.decl, [(n, rules[index_of[n]].decl) for n in rule.exceptions])
        for i, rule in enumerate(rules):
            if rule.decl.exception_to:  # an exception speaks only when it overrides a rule that applied (one it names)
                bys = tup([self.slot("b", index_of[t.value]) for t in rule.decl.exception_to])
                test = and_(py.Compare(left=self.slot("s", i), ops=[py.Eq()], comparators=[py.Constant(value="fired")]),
                            py.Compare(left=py.Constant(value=rule.name), ops=[py.NotIn()], comparators=[bys]))
                out.append(py.If(test=test, body=[py.Assign(targets=[self.slot("s", i, store=True)],
                                                            value=py.Constant(value="not_needed"))], orelse=[]))
        for i, rule in enumerate(rules):
            out += self.record(i, rule.decl)
        return out

    def slot(self, kind: str, i: int, store: bool = False) -> py.expr:
        """Rule i's status (`kind` "s") or the exception that overrode it ("b"): a local per rule, or under
        Kleene an item of the lists ST and BY. (A function with thousands of locals and thousands of Kleene
        thunks, each a nested scope, takes CPython's compiler quadratic time: 5,000 rules took 27 s.)"""
        ctx = py.Store() if store else py.Load()
        if self.kleene:
            return py.Subscript(value=name({"s": "ST", "b": "BY"}[kind]), slice=py.Constant(value=i), ctx=ctx)
        return py.Name(id=f"{kind}{i}", ctx=ctx)

    def status(self, i: int, decl: ast.RuleDecl, exceptions: list[tuple[str, ast.RuleDecl]]) -> list[py.stmt]:
        def put(kind: str, value: str | None) -> py.stmt:
            return py.Assign(targets=[self.slot(kind, i, store=True)], value=py.Constant(value=value))

        def set_(status: str, by: str | None = None) -> list[py.stmt]:
            return [put("s", status), *([put("b", by)] if by else [])]
        chain = set_("fired")
        if decl.body.kind == "require" and decl.body.condition is not None:  # (a require always has one)
            chain = [py.If(test=self.guarded(decl.body.condition), body=set_("satisfied"), orelse=chain)]
        for name_, exc in reversed(exceptions):
            if self.in_force(*effective(exc)) is NEVER:
                continue
            applies = [t for t in (self.in_force(*effective(exc)),
                                   self.guarded(exc.scope) if exc.scope is not None else None) if t is not None]
            chain = [py.If(test=and_(*applies), body=set_("overridden", name_), orelse=chain)] if applies else \
                set_("overridden", name_)
        if decl.scope is not None:
            chain = [py.If(test=py.UnaryOp(op=py.Not(), operand=self.guarded(decl.scope)), body=set_("out_of_scope"),
                           orelse=chain)]
        chain = [try_(chain, "MissingFact", [py.Expr(value=call("note", name("MS"), name("e")))] + set_("missing"))]
        force = self.in_force(*effective(decl))
        head = [put("b", None)] + set_("not_in_force")
        if force is NEVER:
            return head
        return head + ([py.If(test=force, body=chain, orelse=[])] if force is not None else chain)

    def record(self, i: int, decl: ast.RuleDecl) -> list[py.stmt]:
        s, rule = self.slot("s", i), decl.name.value
        out: list[py.stmt] = []
        if self.traced:
            paths = sorted(reads(self.model, self.policy, decl.scope, decl.body.condition)[0])
            if self.kleene:  # a fact not given is left out of the reads
                given = tup([tup([py.Constant(value=p), self.local(self.inputs[p])]) for p in paths])
                out.append(py.Expr(value=call(attr("TR", "append"), call(attr("D", "event"), py.Constant(value=i), s,
                                                                        given, self.slot("b", i)))))
            else:  # every fact given: the event built inline
                reads_dict = py.Dict(keys=[py.Constant(value=p) for p in paths], values=[name(self.inputs[p]) for p in paths])
                event = call("TN", name("TraceEvent"), tup([py.Constant(value=rule), s, reads_dict, self.slot("b", i)]))
                out.append(py.Expr(value=call(attr("TR", "append"), event)))
        fired = ([self.hit(f"rule:{rule}:fired")] if self.traced else []) + self.fire(i, decl)
        passed = [self.hit(f"rule:{rule}:passed")] if self.traced else []
        test = py.Compare(left=s, ops=[py.Eq()], comparators=[py.Constant(value="fired")])
        other: list[py.stmt] = [py.If(test=py.Compare(left=s, ops=[py.Eq()], comparators=[py.Constant(value="satisfied")]),
                                      body=passed, orelse=[])] if passed else []
        return out + [py.If(test=test, body=fired, orelse=other)]

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr) -> py.expr:
        method = getattr(self, f"e_{type(e).__name__}", None)
        if method is None:
            raise InternalError(f"no code generator for {type(e).__name__}")
        return method(e)

    def guarded(self, e: ast.Expr) -> py.expr:
        """`e`, failing with E.not_open_arith when it yields a not-open cell (only when it can)."""
        code = self.expr(e)
        return call("open_", code, py.Constant(value=e.span.text)) \
            if may_not_open(self.model, self.policy, e, self.not_open) else code

    def strict(self, combine: Any, *operands: py.expr) -> py.expr:
        """`combine(*operands)`; under Kleene, every operand's missing facts are named."""
        if not self.kleene or len(operands) < 2:
            return combine(*operands)
        params = [f"o{i}" for i in range(len(operands))]
        return py.Call(func=thunk(combine(*[name(p) for p in params]), *params), keywords=[],
                       args=[py.Starred(value=call("k_all", *[thunk(o) for o in operands]), ctx=py.Load())])

    def input_read(self, path: str) -> py.expr:
        local = self.local(self.inputs[path])
        if not self.kleene:
            return local
        return py.IfExp(test=is_(local, name("M"), negated=True), body=self.local(self.inputs[path]),
                        orelse=call("miss", py.Constant(value=path)))

    def e_Literal(self, e: ast.Literal) -> py.expr:
        return self.const(e.value)

    def e_DurationLit(self, e: ast.DurationLit) -> py.expr:
        return self.const((e.amount, e.unit))

    def e_NotOpen(self, e: ast.NotOpen) -> py.expr:
        return name("NOT_OPEN")

    def e_Today(self, e: ast.Today) -> py.expr:
        return name("at")

    def e_OutcomeLit(self, e: ast.OutcomeLit) -> py.expr:
        return py.Constant(value=e.value)

    def e_Ref(self, e: ast.Ref) -> py.expr:
        resolved = self.model.resolve(e)
        kind, target = resolved.kind, resolved.target
        if kind == "input":
            return self.input_read(target)
        if kind == "define":
            local = self.defines[target]
            if local in self.sure:
                return self.local(local)
            return py.IfExp(test=py.Compare(left=call("type", self.local(local)), ops=[py.IsNot()], comparators=[name("Fail")]),
                            body=self.local(local), orelse=call(attr(self.local(local), "read"), name("at")))
        if kind == "var":
            return name(self.vars[target])
        if kind == "book_define":
            pid, path = target.split(" ", 1)
            return call("book_value", name("decision"), py.Constant(value=pid), py.Constant(value=path))
        return py.Constant(value=target.split(".", 1)[1])

    def constant_set(self, e: ast.Expr) -> frozenset[str] | None:
        if isinstance(e, ast.SetLit) and all(isinstance(i, ast.Ref) and self.model.resolve(i).kind == "enum"
                                             for i in e.items):
            return frozenset(self.model.resolve(i).target.split(".", 1)[1] for i in e.items if isinstance(i, ast.Ref))
        return None

    def e_SetLit(self, e: ast.SetLit) -> py.expr:
        constant = self.constant_set(e)
        if constant is not None:
            return self.const(constant)
        items = [self.guarded(i) for i in e.items]  # a not_open item is computed with: E.not_open_arith
        if self.kleene and len(items) > 1:
            return call("frozenset", call("k_all", *[thunk(i) for i in items]))
        return call("frozenset", tup(items))

    def e_Unary(self, e: ast.Unary) -> py.expr:
        operand = self.guarded(e.operand)
        return py.UnaryOp(op=py.Not(), operand=operand) if e.op == "not" else call("negate", operand)

    def e_Member(self, e: ast.Member) -> py.expr:
        op = py.NotIn() if e.negated else py.In()
        return self.strict(lambda a, b: py.Compare(left=a, ops=[op], comparators=[b]),
                           self.guarded(e.item), self.expr(e.collection))

    def e_Binary(self, e: ast.Binary) -> py.expr:
        op = e.op
        if op in ("==", "!="):  # not_open is one object: compared by identity
            compare = (py.Is if op == "==" else py.IsNot) if isinstance(e.right, ast.NotOpen) else COMPARE[op]
            return self.strict(lambda a, b: py.Compare(left=a, ops=[compare()], comparators=[b]),
                               self.expr(e.left), self.expr(e.right))
        if op in ("and", "or"):  # the right operand is evaluated only sometimes: nothing of it runs first
            left = self.guarded(e.left)
            saved, self.prelude = self.prelude, None
            right = self.guarded(e.right)
            self.prelude = saved
            if self.kleene:
                return call("k_bool", thunk(left), thunk(right), py.Constant(value=op == "or"))
            return py.BoolOp(op=py.And() if op == "and" else py.Or(), values=[left, right])
        left, right = self.guarded(e.left), self.guarded(e.right)
        lt, rt = self.model.type_of(e.left), self.model.type_of(e.right)
        if op in COMPARE:
            return self.strict(lambda a, b: py.Compare(left=a, ops=[COMPARE[op]()], comparators=[b]), left, right)
        if lt.kind == "date" and rt.kind == "duration":
            return self.strict(lambda a, b: call("shift", a, b, py.Constant(value=1 if op == "+" else -1)), left, right)
        if lt.kind == rt.kind == "date":
            return self.strict(lambda a, b: call("days", a, b), left, right)
        if op == "/":
            return self.strict(lambda a, b: call("divide", a, b, py.Constant(value=e.span.text)), left, right)
        self.ops.append(("count" + op if lt.kind == rt.kind == "count" else op, e.span.text))
        fn = py.Subscript(value=name("X"), slice=py.Constant(value=len(self.ops) - 1), ctx=py.Load())
        return self.strict(lambda a, b: call(fn, a, b), left, right)

    def e_OutcomeRef(self, e: ast.OutcomeRef) -> py.expr:
        return attr(self.decision_of(e.policy.value if e.policy is not None else None), "outcome")

    def decision_of(self, pid: str | None) -> py.expr:
        if pid is None:
            return name("decision")
        return attr(call(attr("decision", "part"), py.Constant(value=pid)), "decision")

    def e_Call(self, e: ast.Call) -> py.expr:
        fn = e.func.value
        if fn == "fires" and fn not in self.tables:
            pid = e.args[0].path if len(e.args) == 2 else None  # type: ignore[union-attr]
            return call("fires", self.decision_of(pid), py.Constant(value=e.args[-1].path))  # type: ignore[union-attr]
        if fn == "consequence" and fn not in self.tables:
            kinds = py.SetComp(elt=attr("c", "kind"), generators=[py.comprehension(
                target=store("c"), iter=attr("decision", "consequences"), ifs=[], is_async=0)])
            return py.Compare(left=py.Constant(value=e.args[0].path), ops=[py.In()], comparators=[kinds])  # type: ignore[union-attr]
        args = [self.guarded(a) for a in e.args]
        if fn in self.tables:
            table = py.Subscript(value=name("T"), slice=py.Constant(value=self.tables[fn]), ctx=py.Load())
            lookup = lambda *xs: call(attr(table, "lookup"), name("H"), *xs)  # noqa: E731
            if self.kleene or self.traced or self.iterable or self.policy.tables[fn].kind == "range":
                return self.strict(lookup, *args)
            # untraced: a stated cell read inline (T[i].stated), anything else through `lookup`
            cell = f"c{len(self.cells)}"
            self.cells.append(cell)
            key = args[0] if len(args) == 1 else tup(args)
            read = py.NamedExpr(target=store(cell), value=call(attr(f"TS{self.tables[fn]}", "get"), key, name("NS")))
            return py.IfExp(test=is_(read, name("NS"), negated=True), body=name(cell), orelse=lookup(*args))
        return self.strict(lambda *xs: call(fn, *xs), *args)

    def e_Aggregate(self, e: ast.Aggregate) -> py.expr:
        var = f"a{len(self.vars)}_{self.aggregates}"
        self.aggregates += 1
        saved, self.vars = self.vars, {**self.vars, e.var.value: var}
        outer = self.prelude
        inner: list[py.stmt] | None = [] if outer is not None else None
        self.prelude = inner
        body = self.guarded(e.body) if e.func in ("any", "all") else self.expr(e.body)
        self.prelude, self.vars = outer, saved
        function = e.func if e.func in ("any", "all") else {"max": "largest", "min": "smallest", "sum": "total"}[e.func]
        if outer is not None and inner is not None:  # a loop filling a list, then the function of it
            ordered = self.sorted_inputs.get(e.iterable.path) if isinstance(e.iterable, ast.Ref) and \
                self.model.resolve(e.iterable).kind == "input" else None
            items: py.expr = name(ordered) if ordered else call("sorted", self.expr(e.iterable))
            acc = f"L{len(self.cells)}"
            self.cells.append(acc)
            outer.append(assign(acc, py.List(elts=[], ctx=py.Load())))
            outer.append(py.For(target=store(var), iter=items,
                                body=inner + [py.Expr(value=call(attr(acc, "append"), body))], orelse=[]))
            if e.func in ("max", "min"):  # not_open found by identity (`==` with a Decimal is slow), empty: the error
                found = py.Compare(left=name("NOID"), ops=[py.In()], comparators=[call("map", name("id"), name(acc))])
                value = py.IfExp(test=found, body=name("NOT_OPEN"), orelse=call(e.func, name(acc)))
                return py.IfExp(test=name(acc), body=value, orelse=call(function, name(acc)))
            return call(function, name(acc))
        was_iterable, self.iterable = self.iterable, True
        items = self.expr(e.iterable)
        self.iterable = was_iterable
        if self.kleene:
            return call("k_aggregate", py.Constant(value=e.func), items, thunk(body, var))
        comp = py.ListComp(elt=body, generators=[py.comprehension(target=store(var), iter=call("sorted", items),
                                                                  ifs=[], is_async=0)])
        return call(function, comp)  # every item evaluated (a later one may fail), then the function

    def e_Covered(self, e: ast.Covered) -> py.expr:
        decl = self.policy.rollouts[e.rollout.value]
        self.phases.append((decl.name.value, tuple((p.name.value, p.start, p.end, p.ramp_from, p.ramp_to)
                                                   for p in decl.phases)))
        key_code = self.input_read(decl.key.value)
        phases = py.Subscript(value=name("P"), slice=py.Constant(value=len(self.phases) - 1), ctx=py.Load())
        return call("covered", name("H"), py.Constant(value=decl.name.value), phases, key_code, name("at"))


def reads(model: Model, policy: Policy, *exprs: ast.Expr | None) -> tuple[frozenset[str], frozenset[str]]:
    """Every input the expressions may read, through values and rollouts, and every value they may read."""
    out: set[str] = set()
    seen: set[str] = set()
    todo = [e for e in exprs if e is not None]
    while todo:
        for node in ast.walk(todo.pop()):
            if isinstance(node, ast.Covered):
                out.add(policy.rollouts[node.rollout.value].key.value)
            kind, target = (model.resolve(node).kind, node.path) if isinstance(node, ast.Ref) else ("", "")
            if kind == "input":
                out.add(target)
            elif kind == "define" and target not in seen:
                seen.add(target)
                todo += [e for c in policy.defines[target].decl.cases for e in (c.expr, c.when) if e]
    return frozenset(out), frozenset(seen)


def define_order(model: Model, policy: Policy) -> list[str]:
    """The policy's values in dependency order: each after the values it reads (found right to left in each
    case, as the generated code has always ordered them; the scoring plan layers its columns so too)."""
    order: dict[str, None] = {}  # (a dict: a list's `in` made this quadratic in the values)

    def visit(path: str) -> None:
        if path in order:
            return
        for case in policy.defines[path].decl.cases:
            for e in (case.expr, case.when):
                for node in reversed([*ast.walk(e)]):
                    if isinstance(node, ast.Ref) and node.path not in order and model.resolve(node).kind == "define":
                        visit(node.path)
        order[path] = None
    for path in policy.defines:
        visit(path)
    return list(order)


def may_not_open(model: Model, policy: Policy, e: ast.Expr, known: dict[str, bool]) -> bool:
    """Whether `e` may yield a not-open cell: a table's, max/min/sum of one, or a value one of whose cases
    may. Each value's answer is kept in `known`: a value that several cases read is walked once, not once per
    path to it (values of two cases each reading the one before: 2^N walks)."""
    if isinstance(e, ast.Call):
        table = policy.tables.get(e.func.value)
        return table is not None and table.result.maybe_not_open
    if isinstance(e, ast.Aggregate):
        return e.func in ("max", "min", "sum") and may_not_open(model, policy, e.body, known)
    if isinstance(e, ast.Ref) and model.resolve(e).kind == "define":
        if e.path not in known:
            known[e.path] = False  # (values in a circle are refused by the checker: this only ends the walk)
            known[e.path] = any(may_not_open(model, policy, c.expr, known) for c in policy.defines[e.path].decl.cases)
        return known[e.path]
    return False


def effective(decl: Any) -> tuple[Any, Any]:
    eff = decl.effective
    return (eff.start, eff.end) if eff else (None, None)


def rule_placeholders(policy: Policy, decl: ast.RuleDecl, message_only: bool = False) -> tuple[str, ...]:
    """The paths a rule's message (and consequences) show, in order of first mention."""
    texts = [decl.body.message, *(() if message_only else (c.text for c in decl.consequences))]
    return tuple(dict.fromkeys(p.path for text in texts for p in text.placeholders()))
