"""The checked model of one policy in, a relational plan out: a sqlglot SELECT over a relation of
records (one column per fact id) that decides every record as `PolicySet.evaluate` does.

The plan is built from sqlglot expression nodes (identifiers and literals are nodes; no SQL text
is pasted). It mirrors compile/codegen.py, the Python backend of the same model. Each expression
becomes a `V`: its value, its error code and (for a value that may be a not-open cell) whether it
is `not_open`. A missing fact is SQL NULL with no error, so SQL's three-valued AND/OR is exactly the
Kleene logic the row evaluator follows over missing facts (runtime/program.py); the errors follow
its order: the policy's period, ill-typed facts, the first rule (in order) whose evaluation fails,
a fired rule's consequence that fails, the values that failed (in declaration order), `missing_facts`.
Every compound expression is computed once, as columns of a layer of projections (Planner.hoist).
"""
from __future__ import annotations

import datetime as dt
import math
import sys
from decimal import Decimal
from typing import Any, Callable

import attrs
import sqlglot.expressions as exp

from policydsl import i18n
from policydsl.compile.codegen import define_order, effective, may_not_open
from policydsl.compile.compiler import phase_specs
from policydsl.errors import PolicyDslError
from policydsl.gcpause import paused
from policydsl.runtime import rollout as ro
from policydsl.semantics.model import Model, Policy
from policydsl.semantics.types import Type
from policydsl.syntax import ast

STRINGS: dict[str, tuple[str, str]] = {
    "unsupported": ("批量评分尚不支持政策 {policy} 中的{construct}：请逐条用 eval 判断该政策",
                    "batch scoring does not support {construct} in policy {policy} yet: decide it record by record with eval"),
    "range": ("超出批量评分的精确小数范围（{digits} 位整数、{scale} 位小数）：请用 eval 判断这条记录",
              "beyond the exact decimal range of batch scoring ({digits} integer digits, {scale} places): decide this record with eval"),
    "construct.consequence_period": ("计算得出的后果期限", "a computed consequence period"),
    "construct.expression": ("表达式 `{text}`", "the expression `{text}`"),
    "construct.reference": ("对 {kind} 的引用", "a reference to a {kind}"),
    "construct.computed_set": ("由计算值组成的集合", "a set of computed items"),
    "construct.computed_duration": ("计算得出的时长 `{text}`", "the computed duration `{text}`"),
    "construct.set_operation": ("集合运算 `{text}`", "the set operation `{text}`"),
    "construct.arithmetic": ("算术运算 `{text}`", "the arithmetic `{text}`"),
    "construct.minus_working_days": ("减去工作日", "subtracting working days"),
    "construct.builtin": ("内置函数 {name}()", "the built-in {name}()"),
    "construct.hit_collect": ("`hit collect` 表 {name}", "the `hit collect` table {name}"),
    "construct.sum": ("sum(…) 求和", "sum(…)"),
    "construct.too_large": ("超过 {limit} 个节点的 SQL 查询（此政策需要 {found} 个）",
                            "an SQL query of more than {limit} nodes (this policy needs {found})"),
    "construct.spark_aggregate_subquery": ("集合聚合体内的工作日推算（Spark 上；DuckDB 可以判断）",
                                           "a working-day shift inside an aggregate over a set (on Spark; DuckDB decides it)"),
    "scale": ("`{path}` 的值 {value} 超过 {scale} 位小数，批量评分无法不经舍入地表示",
              "`{path}` = {value} has more than {scale} decimal places: batch scoring cannot hold it without rounding"),
}
s = i18n.register("score", STRINGS)

# Money, percentages and decimals: 28 integer digits and 10 decimal places in DuckDB's widest exact
# decimal (38 digits). Cents, percentages to 0.00000001% and every amount of the book fit; a fact
# with more decimal places cannot be stated exactly and is refused by `to_arrow`, never rounded.
PRECISION, SCALE = 38, 10
DECIMAL = exp.DataType.build(f"DECIMAL({PRECISION}, {SCALE})")
DATE = exp.DataType.build("DATE")
EXACT_KINDS = ("money", "percent", "number")
RELATION = "records"
CALENDAR = "__calendar"  # day, workday, cum: the working days up to and including the day (duckdb_backend.calendar)
NO_CASE = "no_case"
APPLIES = "__applies"  # whether the policy's `applies when` holds (NULL: it lacks facts), and its error
CONSEQUENCES = exp.DataType.build("STRUCT(rule VARCHAR, code VARCHAR, kind VARCHAR, until DATE, permanent BOOLEAN, "
                                  "amount DECIMAL(38, 10))[]", dialect="duckdb")


class ScoreUnsupported(PolicyDslError):
    """A construct the relational plan does not express yet: refused, never decided wrongly."""

    def __init__(self, construct: dict[str, str], policy: str) -> None:
        super().__init__("score.unsupported", construct=construct, policy=policy)
        self.construct, self.policy = construct, policy  # construct: its name in each language


@attrs.frozen
class V:
    """An expression's value (NULL: missing or failed), its error code (NULL: none) and, for a value
    that may be a not-open cell, whether it is one (None: it cannot be)."""

    val: exp.Expr
    err: exp.Expr
    no: exp.Expr | None = None


@attrs.define
class Body:
    """An aggregate's body being planned with list functions: what it computes, as fields of a struct per item in
    layers of list transforms, the way the plan's own columns are layers of projections (Planner.add_columns).
    The layers read the item's struct of the layer before as `param`, the item itself as its field `i`."""

    param: str
    layers: list[list[tuple[str, exp.Expr]]] = attrs.field(factory=list)
    levels: dict[str, int] = attrs.field(factory=dict)

    def field(self, name: str) -> exp.Expr:
        return exp.StructExtract(this=col(self.param), expression=text(name))

    def reads(self, x: exp.Expr) -> set[str]:
        """The fields of this body `x` reads (an inner body's lambdas may read them too)."""
        return {f.expression.name for f in x.find_all(exp.StructExtract)
                if isinstance(f.this, exp.Column) and f.this.name == self.param}


@attrs.frozen(kw_only=True)
class Plan:
    """One policy's plan: `select` reads the relation `records` and yields `columns`."""

    policy: str
    select: exp.Select
    inputs: dict[str, Type]
    values: dict[str, Type]  # the defines, in declaration order: one output column each
    not_open_values: tuple[str, ...]  # defines that may be a not-open cell: a `not_open:PATH` column each
    keep: tuple[str, ...]
    calendar: bool = False  # reads the working-day calendar relation CALENDAR
    applies: bool = False  # the policy has an `applies when`: APPLIES and APPLIES_err follow the columns

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.keep, "outcome", "reasons", "warnings", "consequences", *self.values,
                *(f"not_open:{p}" for p in self.not_open_values), "error")

    def sql(self, dialect: str = "duckdb") -> str:
        return sql(self.select, dialect)


def sql(tree: exp.Expr, dialect: str) -> str:
    """The SQL text of a plan's tree. For DuckDB without the copy of the whole tree sqlglot makes by default
    before generating (40% of the time): DuckDB's generator leaves these trees as they were, so the text in
    either dialect is the same however often it was generated before (tests/test_score_duckdb.py). Spark's
    generator rewrites the tree as it goes (a struct literal, for one), so it works on a copy. Each layer of a
    plan is a subquery of the next, and sqlglot generates them recursively, about ten frames a layer: a plan as
    deep as the language allows (a value 100 levels deep read by a condition 100 levels deep) needs more than
    Python's default 1,000 (a condition of 100 `and`s was an internal error)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return tree.sql(dialect=dialect, copy=dialect != "duckdb")
    finally:
        sys.setrecursionlimit(limit)


# ------------------------------------------------------------------ node helpers
def struct(fields: dict[str, exp.Expr]) -> exp.Expr:
    return exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(k), expression=v.copy()) for k, v in fields.items()])


def col(name: str) -> exp.Column:
    return exp.Column(this=exp.Identifier(this=name, quoted=True))


def text(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def null() -> exp.Expr:
    return exp.Null()


def is_null(e: exp.Expr) -> exp.Expr:
    return exp.true() if isinstance(e, exp.Null) else exp.Is(this=e.copy(), expression=exp.Null())


def not_null(e: exp.Expr) -> exp.Expr:
    return exp.false() if isinstance(e, exp.Null) else exp.Not(this=is_null(e))


def is_true(e: exp.Expr) -> exp.Expr:
    return exp.Is(this=e.copy(), expression=exp.true())


def is_false(e: exp.Expr) -> exp.Expr:
    return exp.Is(this=e.copy(), expression=exp.false())


# The helpers copy what they are given once (an expression may be read in several places of a plan, and a
# sqlglot node has one parent) and build the new node in place: sqlglot's builders copy by default, and
# copying again what is already a fresh copy (the whole CASE so far, at each WHEN) made building a plan
# spend most of its time copying trees.
# Known truth values fold where they are built: an operand that cannot fail (an error that is the literal NULL)
# would otherwise add `NOT (NULL IS NULL)` to every test of it (and, inside a body of an aggregate planned as one
# expression, to each test that copies it). Each rule holds in SQL's three-valued logic: x AND TRUE is x, x AND FALSE is FALSE (NULL too), and so
# for OR; a WHEN that is FALSE is never taken (dropped when it gives NULL, so the CASE keeps its type).
def and_(*xs: exp.Expr) -> exp.Expr:
    if any(isinstance(x, exp.Boolean) and not x.this for x in xs):
        return exp.false()
    return joined(exp.And, kept) if (kept := tuple(x for x in xs if not isinstance(x, exp.Boolean))) else exp.true()


def or_(*xs: exp.Expr) -> exp.Expr:
    if any(isinstance(x, exp.Boolean) and x.this for x in xs):
        return exp.true()
    return joined(exp.Or, kept) if (kept := tuple(x for x in xs if not isinstance(x, exp.Boolean))) else exp.false()


def joined(op: type[exp.Connector], xs: tuple[exp.Expr, ...]) -> exp.Expr:
    """Copies of `xs` joined by AND or OR as a balanced tree, a connector among them in parentheses (as sqlglot's
    and_/or_ put it). sqlglot nests them to the left, a level per operand: a policy of 1,000 facts (each may be
    ill-typed or missing) or rules nested deeper than DuckDB parses (1,000 levels) or sqlglot generates."""
    items = [exp.Paren(this=x.copy()) if isinstance(x, exp.Connector) and len(xs) > 1 else x.copy() for x in xs]
    while len(items) > 1:
        items = [op(this=a, expression=b) for a, b in zip(items[::2], items[1::2])] + items[len(items) & ~1:]
    return items[0]


def case(branches: list[tuple[exp.Expr, exp.Expr]], default: exp.Expr | None = None) -> exp.Expr:
    branches = [(c, t) for c, t in branches if not (isinstance(c, exp.Boolean) and not c.this and isinstance(t, exp.Null))]
    if not branches:
        return (default or exp.Null()).copy()
    node = exp.Case()
    for cond, then in branches:
        node.when(cond.copy(), then.copy(), copy=False)
    return node.else_(default.copy(), copy=False) if default is not None else node


def over(columns: list[exp.Expr], rel: exp.Select, alias: str) -> exp.Select:
    """SELECT columns FROM (rel) AS alias, both moved into it, not copied: each is a tree of its own."""
    return exp.select(*columns, copy=False).from_(rel.subquery(alias, copy=False), copy=False)


def missing(v: V) -> exp.Expr:
    parts = [is_null(v.val), is_null(v.err)]
    if v.no is not None:
        parts.append(exp.Not(this=is_true(v.no)))
    return and_(*parts)


def choose(branches: list[tuple[exp.Expr, V]], default: V) -> V:
    """The V of the first branch whose condition holds, else `default`."""
    no = None
    if default.no is not None or any(v.no is not None for _, v in branches):
        no = case([(c, v.no if v.no is not None else exp.false()) for c, v in branches],
                  default.no if default.no is not None else exp.false())
    return V(case([(c, v.val) for c, v in branches], default.val), case([(c, v.err) for c, v in branches], default.err), no)


def error(code: str | exp.Expr) -> V:
    return V(null(), text(code) if isinstance(code, str) else code)


MISSING = V(exp.Null(), exp.Null())


def strict(operands: list[V], combine: Callable[..., exp.Expr], err: exp.Expr | None = None) -> V:
    """`combine` of operands evaluated left to right: the first error, else missing when one lacks facts
    (its later operands' errors are not raised), else the combined value (and `err`, the combination's own)."""
    branches: list[tuple[exp.Expr, V]] = []
    for v in operands:
        branches.append((not_null(v.err), error(v.err)))
        branches.append((missing(v), MISSING))
    ok = V(case([(is_null(err), combine(*[v.val for v in operands]))]) if err is not None
           else combine(*[v.val for v in operands]), err if err is not None else null())
    return choose(branches, ok)


def literal(value: Any, kind: str) -> exp.Expr:
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if kind in EXACT_KINDS or kind in ("decimal",) or isinstance(value, Decimal):
        return exp.cast(exp.Literal.number(str(value)), DECIMAL)
    if kind == "date":
        return exp.cast(text(value.isoformat()), DATE)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return text(value)
    raise TypeError(value)


OPERATORS = (exp.Binary, exp.Unary, exp.In, exp.Connector)  # (AND and OR are functions to sqlglot, too)


def parenthesize(tree: exp.Expr) -> exp.Expr:
    """Every compound operand of an operator in parentheses: the tree is built, not parsed, so nothing
    else says that `(NOT a) IS NULL` is not `NOT (a IS NULL)`."""
    for node in list(tree.walk()):
        if isinstance(node, OPERATORS) and not isinstance(node, exp.Paren):
            for key in ("this", "expression"):
                child = node.args.get(key)
                if isinstance(child, OPERATORS) and not isinstance(child, exp.Paren):
                    node.set(key, exp.Paren(this=child))
    return tree


def canonical(items: exp.Expr) -> exp.Expr:
    """A set as its sorted list of distinct items: sets compare as lists."""
    return exp.ArraySort(this=exp.ArrayDistinct(this=items))


def string_list(items: list[str]) -> exp.Expr:
    return exp.cast(exp.Array(expressions=[text(i) for i in sorted(set(items))]), exp.DataType.build("VARCHAR[]"))


NUMERIC = ("count", "money", "percent", "number")
RANGE = 10 ** 16  # operands and results of exact arithmetic stay below this (a product has 20 places: 18 digits left)
SPAN = {"days": (dt.date.max - dt.date.min).days, "months": 9999 * 12}  # a shift past these leaves every date
WHOLE_RANGE = 2 ** 62  # of arithmetic on two counts, 64-bit integers (with room for the DOUBLE estimate's error)
ARITH: dict[str, type[exp.Expr]] = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}


def as_double(x: exp.Expr) -> exp.Expr:
    return exp.Abs(this=exp.cast(x.copy(), exp.DataType.build("DOUBLE")))


def exact_op(op: str, a: exp.Expr, b: exp.Expr) -> exp.Expr:
    """`a op b` exactly, back to the plan's decimal type (range_error refuses what would not fit)."""
    both = [exp.cast(x.copy(), DECIMAL) for x in (a, b)]
    return exp.cast(ARITH[op](this=both[0], expression=both[1]), DECIMAL)


def range_error(op: str, a: exp.Expr, b: exp.Expr, whole: bool = False) -> exp.Expr:
    """`score.range` where `a op b` leaves the exact range of the plan's decimals (the row evaluator, exact
    to 100 digits, would still compute it: the record must be decided by `eval`), else NULL. Tested
    before anything is computed: a DuckDB decimal that overflows fails the whole query. `whole`: two counts,
    added or multiplied as 64-bit integers, which overflow just as a decimal does."""
    limit = exp.Literal.number(WHOLE_RANGE if whole else RANGE)
    approx = ARITH[op](this=exp.cast(a.copy(), exp.DataType.build("DOUBLE")), expression=exp.cast(b.copy(), exp.DataType.build("DOUBLE")))
    inside = and_(exp.LT(this=as_double(a), expression=limit), exp.LT(this=as_double(b), expression=limit),
                  exp.LT(this=exp.Abs(this=approx), expression=limit))
    branches: list[tuple[exp.Expr, exp.Expr]] = [(exp.Not(this=inside), text("score.range"))]
    if op == "*" and not whole:  # a product has up to twice the places: refused unless it fits the plan's scale exactly
        product = exp.Mul(this=exp.cast(a.copy(), DECIMAL), expression=exp.cast(b.copy(), DECIMAL))
        branches.append((exp.NEQ(this=product, expression=exp.cast(product.copy(), DECIMAL)), text("score.range")))
    return case(branches)


def add(d: exp.Expr, amount: int | exp.Expr, unit: str) -> exp.Expr:
    """The date `amount` days or months after `d` (months clamped to the month's end, in DuckDB and in
    Spark alike), as a DATE: DuckDB's date + interval is a timestamp."""
    n = exp.Literal.number(amount) if isinstance(amount, int) else amount
    return exp.cast(exp.DateAdd(this=d.copy(), expression=n, unit=exp.Var(this=unit)), DATE)


def days_between(a: exp.Expr, b: exp.Expr) -> exp.Expr:
    """Whole days from `a` to `b` (an integer in every dialect: Spark's date - date is an interval)."""
    return exp.DateDiff(this=b.copy(), expression=a.copy())


def next_half_month(d: exp.Expr) -> exp.Expr:
    """The 16th, or the 1st of the next month (runtime/calendar.py next_half_month)."""
    sixteenth = exp.DateFromParts(year=exp.Year(this=d.copy()), month=exp.Month(this=d.copy()), day=exp.Literal.number(16))
    first = exp.cast(exp.DateTrunc(this=d.copy(), unit=text("MONTH")), DATE)
    return case([(exp.LT(this=exp.Day(this=d.copy()), expression=exp.Literal.number(16)), sixteenth)], add(first, 1, "MONTH"))


BUILTINS: dict[str, Callable[..., exp.Expr]] = {
    "days_between": days_between,
    "month_end": lambda d: exp.LastDay(this=d),
    "next_half_month": next_half_month,
}


# ------------------------------------------------------------------ the planner
class Planner:
    """One policy of a checked model to its plan; `at` is the evaluation date as an expression."""

    def __init__(self, model: Model, policy: Policy, at: exp.Expr | dt.date) -> None:
        self.at_day = at if isinstance(at, dt.date) else None  # the one date of the batch, when it is one
        self.model, self.policy = model, policy
        self.at = literal(at, "date") if isinstance(at, dt.date) else at
        self.vars: dict[str, V] = {}
        self.defines = {path: f"__d{i}" for i, path in enumerate(policy.defines)}
        self.counter = 0
        self.calendar = False
        self.layers: list[list[exp.Expr]] = []  # the columns each projection over the records adds
        self.levels: dict[str, int] = {}  # a computed column -> the layer that adds it
        self.body: Body | None = None  # the aggregate body being planned, whose layers take what it computes
        self.inline = 0  # inside an aggregate's body planned as one expression (for a subquery over UNNEST)
        self.sets: dict[str, str] = {}  # a set-valued fact -> the column of its sorted distinct items
        self.consequences: dict[int, list[tuple[V, V, V]]] = {}  # rule index -> (whole, until, amount) each
        self.not_open: dict[str, bool] = {}  # a value -> whether it may be a not-open cell (codegen.may_not_open)

    def unsupported(self, construct: str, **args: object) -> ScoreUnsupported:
        """ScoreUnsupported naming the construct (`construct.NAME` in the catalogue) and the policy."""
        return ScoreUnsupported(i18n.both(f"score.construct.{construct}", **args), self.policy.id)

    # ------------------------------------------------------------ the plan
    def plan(self, keep: tuple[str, ...] = ()) -> Plan:
        p = self.policy
        for path in define_order(self.model, p):  # a value's columns, in the layer after what it reads
            self.hoist(self.define(path), self.defines[path])
        if p.decl.applies is not None:  # whether the policy applies to the record (whole-book scoring reads it)
            self.hoist(self.guarded(p.decl.applies), APPLIES)
        self.consequences = {i: [self.consequence(c) for c in rule.decl.consequences] for i, rule in enumerate(p.rules)}
        statuses = []
        for i, rule in enumerate(p.rules):
            status, err = self.status(rule)
            statuses += [exp.alias_(status, f"__s{i}", quoted=True), exp.alias_(err, f"__r{i}_err", quoted=True)]
        rel: exp.Select = exp.select(exp.Star()).from_(exp.to_table(RELATION))
        for k, layer in enumerate(self.layers):
            rel = over([exp.Star(), *layer], rel, f"__l{k}")
        rel = over([exp.Star(), *statuses], rel, "__statuses")
        rule_cols = []
        for i, rule in enumerate(p.rules):
            fired: exp.Expr = exp.EQ(this=col(f"__s{i}"), expression=text("fired"))
            if rule.decl.exception_to:  # an exception speaks only when it overrides a rule that applied
                overrides = [exp.EQ(this=col(f"__s{j}"), expression=text(f"overridden:{rule.name}"))
                             for j, other in enumerate(p.rules) if rule.name in other.exceptions]
                fired = and_(fired, or_(*overrides))
            rule_cols += [exp.alias_(exp.Coalesce(this=fired, expressions=[exp.false()]), f"__r{i}", quoted=True),
                          exp.alias_(exp.EQ(this=exp.Coalesce(this=col(f"__s{i}"), expressions=[text("")]),
                                            expression=text("missing")), f"__r{i}_miss", quoted=True)]
        rel = over([exp.Star(), *rule_cols], rel, "__rules")
        decided = over([exp.Star(), exp.alias_(self.error(), "__error", quoted=True, copy=False)], rel, "__decided")
        select = parenthesize(self.output(decided, keep))
        assert isinstance(select, exp.Select)
        return Plan(policy=p.id, select=select, inputs={k: i.type for k, i in p.inputs.items()},
                    values={k: d.type for k, d in p.defines.items()}, keep=keep,
                    not_open_values=tuple(filter(self.define_may_not_open, p.defines)),
                    calendar=self.calendar, applies=p.decl.applies is not None)

    def output(self, decided: exp.Select, keep: tuple[str, ...]) -> exp.Select:
        p = self.policy
        ok = is_null(col("__error"))
        fired = {o: [(i, r) for i, r in enumerate(p.rules) if r.decl.body.outcome == o] for o in ("deny", "allow", "warn")}

        def codes(rules: list[tuple[int, Any]]) -> exp.Expr:
            """The codes of the rules that fired, in rule order: one list of a code or NULL per rule, the
            NULLs filtered out (a list built once, not one list per rule concatenated)."""
            empty = exp.cast(exp.Array(expressions=[]), exp.DataType.build("VARCHAR[]"))
            if not rules:
                return empty
            item = exp.to_identifier("c")
            found = exp.Array(expressions=[case([(is_true(col(f"__r{i}")), text(r.decl.body.code.value))]) for i, r in rules])
            kept = exp.ArrayFilter(this=found, expression=exp.Lambda(this=not_null(exp.column(item.copy())), expressions=[item]))
            return exp.cast(kept, exp.DataType.build("VARCHAR[]"))
        denied = or_(*[is_true(col(f"__r{i}")) for i, _ in fired["deny"]])
        outs: list[exp.Expr] = [exp.alias_(col(k), k, quoted=True) for k in keep]
        outs.append(exp.alias_(case([(ok, case([(denied, text("deny"))], text("allow")))]), "outcome", quoted=True))
        outs.append(exp.alias_(case([(ok, case([(denied, codes(fired["deny"]))], codes(fired["allow"])))]),
                               "reasons", quoted=True))
        outs.append(exp.alias_(case([(ok, codes(fired["warn"]))]), "warnings", quoted=True))
        given = [(i, and_(is_true(col(f"__r{i}")), denied)) for i, _ in fired["deny"]] + \
            [(i, and_(is_true(col(f"__r{i}")), exp.Not(this=denied))) for i, _ in fired["allow"]] + \
            [(i, is_true(col(f"__r{i}"))) for i, _ in fired["warn"]]
        empty = exp.cast(exp.Array(expressions=[]), CONSEQUENCES)
        lists = [case([(cond, exp.Array(expressions=[self.consequence_struct(p.rules[i], c, until, amount)
                                                     for c, (_, until, amount) in zip(p.rules[i].decl.consequences,
                                                                                      self.consequences[i])]))], empty)
                 for i, cond in given if self.consequences[i]]
        outs.append(exp.alias_(case([(ok, exp.ArrayConcat(this=empty, expressions=lists) if lists else empty)]),
                               "consequences", quoted=True))
        for path, local in self.defines.items():
            value: exp.Expr = col(local)
            if p.defines[path].type.kind in EXACT_KINDS:
                value = exp.cast(value, DECIMAL)
            outs.append(exp.alias_(case([(and_(ok, is_null(col(f"{local}_err"))), value)]), path, quoted=True))
        for path in filter(self.define_may_not_open, p.defines):
            local = self.defines[path]
            known = or_(not_null(col(local)), is_true(col(f"{local}_no")))
            outs.append(exp.alias_(case([(and_(ok, is_null(col(f"{local}_err")), known), col(f"{local}_no"))]),
                                   f"not_open:{path}", quoted=True))
        outs.append(exp.alias_(col("__error"), "error", quoted=True))
        if p.decl.applies is not None:
            outs += [exp.alias_(col(APPLIES), APPLIES, quoted=True), exp.alias_(col(f"{APPLIES}_err"), f"{APPLIES}_err", quoted=True)]
        return over(outs, decided, "__out")

    def consequence_struct(self, rule: Any, c: ast.Consequence, until: V, amount: V) -> exp.Expr:
        fields = {"rule": text(rule.name), "code": text(rule.decl.body.code.value), "kind": text(c.kind.value),
                  "until": exp.cast(until.val, DATE),
                  "permanent": exp.true() if c.period == "permanent" else exp.false(),
                  "amount": exp.cast(amount.val, DECIMAL)}
        return exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(k), expression=v) for k, v in fields.items()])

    def define_may_not_open(self, path: str) -> bool:
        return any(self.may_not_open(c.expr) for c in self.policy.defines[path].decl.cases)

    def may_not_open(self, e: ast.Expr) -> bool:
        return may_not_open(self.model, self.policy, e, self.not_open)

    def error(self) -> exp.Expr:
        """The decision's error code: the period, the first failing rule, the failed values, missing facts."""
        p = self.policy
        start, end = p.effective
        outside = [t for t in ([exp.LT(this=self.at.copy(), expression=literal(start, "date"))] if start else [])
                   + ([exp.GT(this=self.at.copy(), expression=literal(end, "date"))] if end else [])]
        branches: list[tuple[exp.Expr, exp.Expr]] = []
        if outside:
            branches.append((or_(*outside), text("not_in_force")))
        ill = self.ill_typed()
        if ill:
            branches.append((or_(*ill), text("bad_facts")))
        for i in range(len(p.rules)):
            branches.append((not_null(col(f"__r{i}_err")), col(f"__r{i}_err")))
        for i, found in self.consequences.items():  # a fired rule's consequences, computed in rule order
            for whole, _, _ in found:
                branches.append((and_(is_true(col(f"__r{i}")), not_null(whole.err)), whole.err))
        for local in self.defines.values():  # a value no case gives is not an error unless read
            failed = and_(not_null(col(f"{local}_err")), exp.NEQ(this=col(f"{local}_err"), expression=text(NO_CASE)))
            branches.append((failed, col(f"{local}_err")))
        needed: list[exp.Expr] = [is_true(col(f"__r{i}_miss")) for i in range(len(p.rules))]
        needed += [and_(is_true(col(f"__r{i}")), missing(whole)) for i, found in self.consequences.items()
                   for whole, _, _ in found]
        denied = or_(*[is_true(col(f"__r{i}")) for i, r in enumerate(p.rules) if r.decl.body.outcome == "deny"])
        for i, rule in enumerate(p.rules):  # a value the message of a reason the decision gives shows is needed
            given = is_true(col(f"__r{i}"))
            if rule.decl.body.outcome == "allow":  # allow reasons are given only when no deny rule fired
                given = and_(given, exp.Not(this=denied))
            for path in dict.fromkeys(ph.path for ph in rule.decl.body.message.placeholders()):
                if path in self.defines:
                    local = self.defines[path]
                    shown = V(col(local), col(f"{local}_err"), col(f"{local}_no") if self.define_may_not_open(path) else None)
                    needed.append(and_(given, missing(shown)))
        branches.append((or_(*needed), text("missing_facts")))
        return case(branches)

    def ill_typed(self) -> list[exp.Expr]:
        """A test per fact that its value is not one the row evaluator accepts (runtime/facts.py): a
        negative count or money, a percent beyond ±100%, an enum value or set item the enum lacks."""
        tests: list[exp.Expr] = []
        for path, spec in self.policy.inputs.items():
            kind, c = spec.type.kind, col(path)
            if kind in ("count", "money"):
                tests.append(exp.LT(this=c, expression=exp.Literal.number(0)))
            elif kind == "percent":
                tests.append(exp.GT(this=exp.Abs(this=c), expression=exp.Literal.number(1)))
            elif kind in ("enum", "set") and spec.type.enum is not None:
                ids = [v.name.value for v in self.model.enums[spec.type.enum].values]
                if kind == "enum":
                    tests.append(exp.Not(this=exp.In(this=c, expressions=[text(i) for i in ids])))
                else:
                    outside = exp.ArrayExcept(this=c, expression=string_list(ids))  # the items the enum lacks
                    tests.append(exp.GT(this=exp.ArraySize(this=outside), expression=exp.Literal.number(0)))
        return tests

    def in_force(self, start: Any, end: Any) -> exp.Expr | None:
        tests = ([exp.LTE(this=literal(start, "date"), expression=self.at.copy())] if start else []) + \
                ([exp.LTE(this=self.at.copy(), expression=literal(end, "date"))] if end else [])
        return and_(*tests) if tests else None

    def define(self, path: str) -> V:
        """The first case in force whose `when` holds; a `when` failing or lacking facts fails the value."""
        result = error(NO_CASE)
        for c in reversed(self.policy.defines[path].decl.cases):
            value = self.expr(c.expr)
            branches: list[tuple[exp.Expr, V]] = []
            force = self.in_force(c.start, c.end)
            if c.when is not None:
                w = self.guarded(c.when)
                branches += [(not_null(w.err), error(w.err)), (missing(w), MISSING), (is_true(w.val), value)]
                inner = choose(branches, result)
            else:
                inner = value
            result = choose([(force, inner)], result) if force is not None else inner
        return result

    def consequence(self, c: ast.Consequence) -> tuple[V, V, V]:
        """(the consequence as a whole: its error or missing facts, its end date, its amount) as the row
        evaluator computes them when the rule fires (runtime/program.py Decide.consequences): the end and
        the amount as strict operands, then a `for` period counted from the evaluation date."""
        nothing = V(null(), null())  # (an end or amount the consequence does not have: not a missing fact)
        amount = self.guarded(c.amount) if c.amount is not None else nothing
        if c.period == "for":
            if not isinstance(c.end, ast.DurationLit):
                raise self.unsupported("consequence_period")
            until = self.shift(V(self.at.copy(), null()), c.end.amount, c.end.unit)
            parts = [amount, until]
        else:
            until = self.guarded(c.end) if c.end is not None else nothing
            parts = [until, amount]
        present = [v for v in parts if v is not nothing]
        whole = strict(present, lambda *xs: exp.true()) if present else V(exp.true(), null())
        return self.hoist(whole), until, amount

    def status(self, rule: Any) -> tuple[exp.Expr, exp.Expr]:
        """(status, error) of a rule as compile/codegen.py `status` finds it: NULL when not in force or
        failing, else out_of_scope, missing (lacks facts), `overridden:EXCEPTION` (the first exception,
        highest priority first, in force whose condition holds), satisfied or fired."""
        decl = rule.decl
        steps: list[tuple[exp.Expr, exp.Expr, exp.Expr]] = []  # (when, status, error): the first that holds

        def judge(v: V, holds: exp.Expr, status: str) -> None:
            steps.extend([(not_null(v.err), null(), v.err), (missing(v), text("missing"), null()),
                          (holds, text(status), null())])
        if decl.scope is not None:
            scope = self.guarded(decl.scope)
            judge(scope, is_false(scope.val), "out_of_scope")
        for name in rule.exceptions:
            exc = self.policy.rule(name).decl
            force = self.in_force(*effective(exc))
            applies = self.guarded(exc.scope) if exc.scope is not None else V(exp.true(), null())
            if force is not None:
                applies = choose([(exp.Not(this=force), V(exp.false(), null()))], applies)
            judge(applies, is_true(applies.val), f"overridden:{name}")
        if decl.body.kind == "require" and decl.body.condition is not None:
            cond = self.guarded(decl.body.condition)
            judge(cond, is_true(cond.val), "satisfied")
        force = self.in_force(*effective(decl))
        if force is not None:
            steps.insert(0, (exp.Not(this=force), null(), null()))
        return (case([(w, s) for w, s, _ in steps], text("fired")), case([(w, e) for w, _, e in steps]))

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr) -> V:
        method = getattr(self, f"e_{type(e).__name__}", None)
        if method is None:
            raise self.unsupported("expression", text=e.span.text)
        result: V = method(e)
        if self.inline or isinstance(e, (ast.Literal, ast.Ref, ast.SetLit, ast.Today)):
            return result
        return self.hoist(result)

    # ------------------------------------------------------------ layers
    def column(self, x: exp.Expr) -> exp.Expr:
        """`x` as a column of its own layer (in an aggregate's body, a field of its own layer; as it is, in a body
        planned as one expression)."""
        if self.inline:
            return x
        self.counter += 1
        name = f"__c{self.counter}"
        return self.place([(name, x)])[0]

    def hoist(self, v: V, name: str | None = None) -> V:
        """`v` computed once, as columns of the layer after the columns it reads, and read from there: an
        expression's operands appear in several places of what combines them (its value, its error),
        so without this the plan would grow exponentially with the nesting of the policy's expressions."""
        if name is None:
            self.counter += 1
            name = f"__e{self.counter}"
        refs = self.place([(name, v.val), (f"{name}_err", v.err)] + ([(f"{name}_no", v.no)] if v.no is not None else []))
        return V(refs[0], refs[1], refs[2] if v.no is not None else None)

    def place(self, columns: list[tuple[str, exp.Expr]]) -> list[exp.Expr]:
        """The named expressions computed once where they are planned, and what reads them: columns of the plan's
        layers, or, in an aggregate's body, fields of the body's layers (nothing that reads the item can leave it)."""
        body = self.body
        if body is None:
            self.add_columns(columns)
            return [col(name) for name, _ in columns]
        level = 1 + max((body.levels.get(f, -1) for _, x in columns for f in body.reads(x)), default=-1)
        while len(body.layers) <= level:
            body.layers.append([])
        for name, x in columns:
            body.layers[level].append((name, x))
            body.levels[name] = level
        return [body.field(name) for name, _ in columns]

    def add_columns(self, columns: list[tuple[str, exp.Expr]]) -> None:
        """The named expressions as columns of the layer after every computed column they read."""
        level = 1 + max((self.levels.get(c.name, -1) for _, x in columns for c in x.find_all(exp.Column)), default=-1)
        while len(self.layers) <= level:
            self.layers.append([])
        for name, x in columns:
            self.layers[level].append(exp.alias_(x, name, quoted=True))
            self.levels[name] = level

    def guarded(self, e: ast.Expr) -> V:
        """`e`, failing with not_open_arith when it yields a not-open cell."""
        v = self.expr(e)
        if v.no is None:
            return v
        return V(v.val, case([(not_null(v.err), v.err), (is_true(v.no), text("not_open_arith"))]))

    def canonical_input(self, path: str) -> exp.Expr:
        """A set-valued fact as its sorted list of distinct items, computed once per record in a column of
        the first layer, however often it is read: also inside an aggregate's body, where an item's body
        would otherwise sort the set again for every item."""
        name = self.sets.get(path)
        if name is None:
            self.counter += 1
            name = self.sets[path] = f"__set{self.counter}"
            self.add_columns([(name, canonical(col(path)))])
        return col(name)

    def e_Literal(self, e: ast.Literal) -> V:
        return V(literal(e.value, e.kind), null())

    def e_Today(self, e: ast.Today) -> V:
        return V(self.at.copy(), null())

    def e_Ref(self, e: ast.Ref) -> V:
        resolved = self.model.resolve(e)
        if resolved.kind == "input":
            if resolved.type is not None and resolved.type.kind == "set":
                return V(self.canonical_input(resolved.target), null())
            return V(col(resolved.target), null())
        if resolved.kind == "define":
            local = self.defines[resolved.target]
            return V(col(local), col(f"{local}_err"), col(f"{local}_no") if self.define_may_not_open(resolved.target) else None)
        if resolved.kind == "var":
            return self.vars[resolved.target]
        if resolved.kind == "enum":
            return V(text(resolved.target.split(".", 1)[1]), null())
        raise self.unsupported("reference", kind=resolved.kind)

    def constant_set(self, e: ast.Expr) -> list[str] | None:
        if isinstance(e, ast.SetLit) and all(isinstance(i, ast.Ref) and self.model.resolve(i).kind == "enum" for i in e.items):
            return sorted({self.model.resolve(i).target.split(".", 1)[1] for i in e.items if isinstance(i, ast.Ref)})
        return None

    def e_SetLit(self, e: ast.SetLit) -> V:
        constant = self.constant_set(e)
        if constant is None:
            raise self.unsupported("computed_set")
        return V(string_list(constant), null())

    def e_Covered(self, e: ast.Covered) -> V:
        """The rollout's SHA-256 bucket of the key (runtime/rollout.py) below the share covered on `at`: the
        first 16 hex digits of the digest against the share's hex threshold (numeric order is the order of
        equal-length hex strings; '' covers none, 'g' all). The threshold is fixed for a batch on one date;
        with a date per record it is looked up by day, exactly as the row evaluator computes each day's share."""
        decl = self.policy.rollouts[e.rollout.value]
        phases = phase_specs(decl)
        key = V(col(decl.key.value), null())  # the key is a fact (the checker says so)
        if self.at_day is not None:
            threshold: exp.Expr = text(hex_threshold(ro.share(phases, self.at_day)[0]))
        else:
            threshold = self.column(self.by_day(phases))

        def below(k: exp.Expr) -> exp.Expr:
            named = exp.DPipe(this=text(decl.name.value), expression=exp.Chr(expressions=[exp.Literal.number(0)]))
            digest = exp.SHA2(this=exp.DPipe(this=named, expression=exp.cast(k, exp.DataType.build("VARCHAR"))),
                              length=exp.Literal.number(256))  # hex digits, lower case: sha256() / sha2(…, 256)
            prefix = exp.Substring(this=digest, start=exp.Literal.number(1), length=exp.Literal.number(16))
            return exp.LT(this=prefix, expression=threshold.copy())
        return strict([key], below)

    def by_day(self, phases: tuple[ro.PhaseSpec, ...]) -> exp.Expr:
        """The hex threshold of the share covered on each record's date: one branch per run of days with
        the same share, from the first phase's start to the last one's end ('' before, the last share after)."""
        branches: list[tuple[exp.Expr, exp.Expr]] = []
        if phases:
            day, last = phases[0].start, phases[-1].end
            branches.append((exp.LT(this=self.at.copy(), expression=literal(day, "date")), text("")))
            while day <= last:
                value = hex_threshold(ro.share(phases, day)[0])
                end = day
                while end < last and hex_threshold(ro.share(phases, end + dt.timedelta(days=1))[0]) == value:
                    end += dt.timedelta(days=1)
                branches.append((exp.LTE(this=self.at.copy(), expression=literal(end, "date")), text(value)))
                day = end + dt.timedelta(days=1)
        return case(branches, text(hex_threshold(ro.share(phases, dt.date.max)[0])))

    def e_Unary(self, e: ast.Unary) -> V:
        v = self.guarded(e.operand)
        return V(exp.Not(this=v.val) if e.op == "not" else exp.Neg(this=v.val), v.err)

    def e_Member(self, e: ast.Member) -> V:
        item = self.guarded(e.item)
        constant = self.constant_set(e.collection)
        if constant is not None:
            node = lambda x: exp.In(this=x, expressions=[text(c) for c in constant])  # noqa: E731
            combine = (lambda x: exp.Not(this=node(x))) if e.negated else node
            return strict([item], combine)
        collection = self.expr(e.collection)
        contains = lambda x, xs: exp.ArrayContains(this=xs, expression=x)  # noqa: E731
        return strict([item, collection], (lambda x, xs: exp.Not(this=contains(x, xs))) if e.negated else contains)

    def e_Binary(self, e: ast.Binary) -> V:
        op = e.op
        if op in ("==", "!=") and (isinstance(e.right, ast.NotOpen) or isinstance(e.left, ast.NotOpen)):
            v = self.expr(e.left if isinstance(e.right, ast.NotOpen) else e.right)
            flag = v.no if v.no is not None else exp.false()
            value = flag if op == "==" else exp.Not(this=flag)
            present = or_(not_null(v.val), is_true(flag))
            return V(case([(and_(is_null(v.err), present), value)]), v.err)
        if op in ("and", "or"):
            return self.logic(self.guarded(e.left), self.guarded(e.right), op == "or")
        lt, rt = self.model.type_of(e.left), self.model.type_of(e.right)
        if lt.kind == "date" and rt.kind == "duration":
            if not isinstance(e.right, ast.DurationLit):
                raise self.unsupported("computed_duration", text=e.right.span.text)
            return self.shift(self.guarded(e.left), e.right.amount * (1 if op == "+" else -1), e.right.unit)
        left, right = self.guarded(e.left), self.guarded(e.right)
        if (lt.kind == "set" or rt.kind == "set") and op not in ("==", "!="):
            raise self.unsupported("set_operation", text=e.span.text)
        compare = {"==": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}
        if op in compare:
            return strict([left, right], lambda a, b: compare[op](this=a, expression=b))
        if lt.kind == rt.kind == "date" and op == "-":
            return strict([left, right], lambda a, b: days_between(b, a))
        if op in ARITH and {lt.kind, rt.kind} <= set(NUMERIC) and {lt.kind, rt.kind} != {"count"}:
            return strict([left, right], lambda a, b: exact_op(op, a, b), range_error(op, left.val, right.val))
        if lt.kind == rt.kind == "count" and op in ARITH:  # (an integer overflow would fail the whole query)
            return strict([left, right], lambda a, b: ARITH[op](this=a, expression=b),
                          range_error(op, left.val, right.val, whole=True))
        raise self.unsupported("arithmetic", text=e.span.text)

    def shift(self, day: V, amount: int, unit: str) -> V:
        """`day + amount unit` as runtime/calendar.py adds it: days, months clamped to the month's end, or
        working days on the mainland calendar (a day outside the years it covers: calendar_range)."""
        if unit in ("days", "months"):  # past 0001-01-01 – 9999-12-31: date_range, as the row evaluator says
            if abs(amount) > SPAN[unit]:  # (DuckDB would fail the whole query on an amount past 32 bits)
                return strict([day], lambda d: null(), text("date_range"))
            shifted = add(day.val, amount, unit[:-1].upper())
            outside = or_(exp.LT(this=shifted, expression=literal(dt.date.min, "date")),
                          exp.GT(this=shifted.copy(), expression=literal(dt.date.max, "date")))
            return strict([day], lambda d: add(d, amount, unit[:-1].upper()), case([(outside, text("date_range"))]))
        if amount < 0:
            raise self.unsupported("minus_working_days")
        self.calendar = True

        def lookup(wanted: str, where: exp.Expr) -> exp.Expr:
            """One calendar column where `where` holds: a scalar subquery correlated by one equality and
            aggregated (at most one day matches), the form Spark decorrelates into a join as DuckDB does."""
            return exp.Subquery(this=exp.select(exp.Max(this=col(wanted))).from_(exp.to_table(CALENDAR)).where(where))

        if amount == 0:
            return day
        # the day's count in a column of its own: the target's subquery then reads one outer column
        wanted = exp.Add(this=self.column(lookup("cum", exp.EQ(this=col("day"), expression=day.val.copy()))),
                         expression=exp.Literal.number(amount))
        found = self.column(lookup("day", and_(col("workday"), exp.EQ(this=col("cum"), expression=wanted))))
        return strict([day], lambda d: found, case([(is_null(found), text("calendar_range"))]))

    def logic(self, left: V, right: V, absorbing: bool) -> V:
        """`left and right` / `left or right` under Kleene's logic (runtime/program.py k_bool)."""
        sure = exp.true() if absorbing else exp.false()
        holds = is_true if absorbing else is_false
        when_missing = V(case([(and_(is_null(right.err), holds(right.val)), sure)]), null())
        return choose([(not_null(left.err), error(left.err)), (missing(left), when_missing),
                       (holds(left.val), V(sure, null()))], right)

    def e_Call(self, e: ast.Call) -> V:
        table = self.policy.tables.get(e.func.value)
        if table is None and e.func.value in BUILTINS:
            return strict([self.guarded(a) for a in e.args], BUILTINS[e.func.value])
        if table is None:
            raise self.unsupported("builtin", name=e.func.value)
        args = [self.guarded(a) for a in e.args]
        decl = table.decl
        rows: list[tuple[Callable[..., exp.Expr], ast.Cell]]
        if table.kind == "matrix":
            rows = [(lambda a, b, r=row.key.value, c=column.value: and_(exp.EQ(this=a, expression=text(r)),
                                                                       exp.EQ(this=b, expression=text(c))), cell)
                    for row in decl.matrix for column, cell in zip(decl.columns, row.cells)]
        elif decl.hit == "collect":
            raise self.unsupported("hit_collect", name=table.name)
        elif table.kind == "enum":
            rows = [(lambda a, k=r.key.value: exp.EQ(this=a, expression=text(k)), r.cell)  # type: ignore[union-attr]
                    for r in decl.rows]
        else:
            ordered = list(decl.rows)
            if decl.hit == "priority":
                ordered.sort(key=lambda r: -(r.priority or 0))
            rows = [(lambda a, k=r.key: self.inside(k, a), r.cell) for r in ordered]  # type: ignore[misc]
        result = table.result
        cells = [(match, self.cell(cell, result)) for match, cell in rows]
        vals = [a.val for a in args]
        found = choose([(m(*vals), v) for m, v in cells], error("no_row"))
        may_not_open = any(isinstance(cell, ast.NotOpen) for _, cell in rows)
        bad = choose([b for a in args for b in ((not_null(a.err), error(a.err)), (missing(a), MISSING))], found)
        return V(bad.val, bad.err, bad.no if may_not_open else None)

    def inside(self, iv: ast.Interval, x: exp.Expr) -> exp.Expr:
        tests: list[exp.Expr] = []
        if iv.low is not None:
            low = literal(iv.low, "decimal")
            tests.append(exp.GTE(this=x, expression=low) if iv.low_closed else exp.GT(this=x, expression=low))
        if iv.high is not None:
            high = literal(iv.high, "decimal")
            tests.append(exp.LTE(this=x, expression=high) if iv.high_closed else exp.LT(this=x, expression=high))
        return and_(*tests)

    def cell(self, cell: ast.Cell, result: Type) -> V:
        if isinstance(cell, ast.NotOpen):
            return V(null(), null(), exp.true())
        if isinstance(cell, ast.NotStated):
            return error("not_stated")
        if isinstance(cell, ast.EnumCell):
            return V(text(cell.value.value), null())
        if isinstance(cell, ast.SetCell):
            return V(string_list([item.value for item in cell.items]), null())
        return V(literal(cell.value, result.kind), null())

    def e_Aggregate(self, e: ast.Aggregate) -> V:
        """`any`/`all`/`max`/`min` over a set: the body once per item, as the row evaluator folds it (the items
        in sorted order; the first that fails or lacks facts decides, else the fold). Computed with list
        functions over the list of items, no subquery (`listed`), each part of the body once, in layers of
        list transforms (`rows`: planned as one expression, every operand was copied into each test that
        reads it, and the aggregate test's policy was 299 KB of SQL rather than 58); a body holding a subquery
        (a working-day lookup) is planned again as one expression and keeps the correlated subquery over
        UNNEST (`unnested`): neither engine takes a subquery inside a lambda."""
        if e.func == "sum":
            raise self.unsupported("sum")
        self.counter += 1
        var = f"__x{self.counter}"
        iterable = self.expr(e.iterable)
        body = None if self.inline else Body(param=f"{var}_b")
        full = self.body_of(e, var, body)
        if body is not None and any(x.find(exp.Subquery) is not None for layer in body.layers for _, x in layer):
            body, full = None, self.body_of(e, var, None)  # a subquery cannot sit in a lambda: planned again as one
        parts = [x for x in (full.val, full.err, full.no) if x is not None]
        if body is None and any(x.find(exp.Subquery) is not None for x in parts):
            found = self.unnested(e, var, full, iterable.val)
        else:
            found = self.listed(e, self.rows(var, body, full, iterable.val), full.no is not None)
        bad = found["bad"]
        lacking: exp.Expr = exp.EQ(this=bad, expression=text(""))
        failing = and_(not_null(bad), exp.NEQ(this=bad.copy(), expression=text("")))
        head = [(not_null(iterable.err), error(iterable.err)), (missing(iterable), MISSING), (failing, error(bad))]
        if e.func in ("any", "all"):
            # `hit`: some item's body is the absorbing value (true for any, false for all); never NULL
            absorbing = e.func == "any"
            sure = exp.true() if absorbing else exp.false()
            hit = found["hit"]
            return choose(head + [(lacking, V(case([(hit, sure)]), null()))],
                          V(hit if absorbing else exp.Not(this=hit.copy()), null()))
        extreme = found["extreme"]
        empty: exp.Expr = exp.EQ(this=found["n"], expression=exp.Literal.number(0))
        tail: list[tuple[exp.Expr, V]] = [(lacking, MISSING), (empty, error("empty_aggregate"))]
        if full.no is None:
            return choose(head + tail, V(extreme, null()))
        return choose(head + tail + [(found["any_no"], V(null(), null(), exp.true()))], V(extreme, null(), exp.false()))

    def body_of(self, e: ast.Aggregate, var: str, body: Body | None) -> V:
        """The aggregate's body planned for one item: in `body`'s layers of fields, or (None) as one expression
        reading the item as the column `var`."""
        saved, saved_body = self.vars, self.body
        item = body.field("i") if body is not None else col(var)
        self.vars = {**saved, e.var.value: V(item, null())}
        self.body = body
        self.inline += body is None
        try:
            return self.guarded(e.body) if e.func in ("any", "all") else self.expr(e.body)
        finally:
            self.inline -= body is None
            self.vars, self.body = saved, saved_body

    def rows(self, var: str, body: Body | None, full: V, items: exp.Expr) -> exp.Expr:
        """The items through the body: a list of structs {i: item, v: value, e: error[, n: not open]}. With layers,
        one list transform per layer, each struct carrying on only the fields a later layer reads."""
        final = [("i", body.field("i") if body is not None else col(var)), ("v", full.val), ("e", full.err),
                 *([("n", full.no)] if full.no is not None else [])]
        stages = [*(body.layers if body is not None else []), final]
        reads = [set().union(*(body.reads(x) for _, x in stage)) if body is not None else set() for stage in stages]
        item = body.field("i") if body is not None else None
        rows, made = items.copy(), ["i"]
        carried: list[tuple[str, exp.Expr]]
        for k, stage in enumerate(stages):
            later = set().union(*reads[k + 1:])
            if k == 0:  # the first layer reads the list's items themselves, as `var`
                param, carried = var, [("i", col(var))] if len(stages) > 1 else []
                stage = [(name, x.transform(lambda n: col(var) if n == item else n)) for name, x in stage]
            else:  # a later one, the struct of the layer before
                param = body.param if body is not None else var
                carried = [(f, body.field(f)) for f in made if f in later] if body is not None else []
            rows = exp.Transform(this=rows, expression=exp.Lambda(this=struct({**dict(carried), **dict(stage)}),
                                                                  expressions=[exp.to_identifier(param, quoted=True)]))
            made = [f for f, _ in carried] + [name for name, _ in stage]
        return rows

    def listed(self, e: ast.Aggregate, rows_of: exp.Expr, has_no: bool) -> dict[str, exp.Expr]:
        """The aggregate's parts with higher-order list functions, one tree for DuckDB and Spark alike
        (list_transform/transform, list_filter/filter, list_min/array_min, list_max/array_max, len/size):
        the items once through the body, as a list of structs {i: item, v: value, e: error[, n: not open]};
        then `bad`, the error of the least item (NULL items aside, as arg_min leaves them out) whose body
        fails, or '' when it lacks facts (NULL: none), the smallest of the structs {i, e} of those items;
        `n`, the number of items; `hit` (any, all), whether some item's value is the absorbing one;
        `extreme` (max, min), the greatest or least value; `any_no`, whether some value is a not-open cell."""
        self.counter += 1
        row = exp.to_identifier(f"__y{self.counter}", quoted=True)

        def each(body: exp.Expr) -> exp.Lambda:
            return exp.Lambda(this=body, expressions=[row.copy()])

        def field(key: str) -> exp.Expr:
            return exp.StructExtract(this=col(row.name), expression=text(key))

        def some(holds: exp.Expr) -> exp.Expr:
            return exp.GT(this=exp.ArraySize(this=exp.ArrayFilter(this=rows.copy(), expression=each(holds))),
                          expression=exp.Literal.number(0))
        rows = self.column(rows_of)
        body = V(field("v"), field("e"), field("n") if has_no else None)
        failing = exp.ArrayFilter(this=rows.copy(), expression=each(and_(not_null(field("i")), or_(not_null(body.err), missing(body)))))
        least = exp.ArrayMin(this=exp.Transform(this=failing, expression=each(
            struct({"i": field("i"), "e": exp.Coalesce(this=field("e"), expressions=[text("")])}))))
        found = {"bad": self.column(exp.StructExtract(this=least, expression=text("e")))}
        if e.func in ("any", "all"):
            found["hit"] = self.column(some(is_true(body.val) if e.func == "any" else is_false(body.val)))
        else:
            found["n"] = self.column(exp.ArraySize(this=rows.copy()))
            values = exp.Transform(this=rows.copy(), expression=each(body.val))
            found["extreme"] = self.column(exp.ArrayMax(this=values) if e.func == "max" else exp.ArrayMin(this=values))
            if body.no is not None:
                found["any_no"] = self.column(some(is_true(body.no)))
        return found

    def unnested(self, e: ast.Aggregate, var: str, full: V, items: exp.Expr) -> dict[str, exp.Expr]:
        """The aggregate's parts (as `listed` gives them) as a correlated scalar subquery over UNNEST(items):
        the body once per item in an inner projection, the aggregates over it packed in one struct."""
        alias = f"__u{var[3:]}"
        inner_cols = [exp.alias_(full.val, f"{var}_v", quoted=True), exp.alias_(full.err, f"{var}_e", quoted=True)]
        if full.no is not None:
            inner_cols.append(exp.alias_(full.no, f"{var}_n", quoted=True))
        body = V(col(f"{var}_v"), col(f"{var}_e"), col(f"{var}_n") if full.no is not None else None)
        aggregates: dict[str, exp.Expr] = {
            # the first item (in sorted order) that fails or lacks facts: its error, or '' when it lacks facts
            "bad": exp.Filter(this=exp.ArgMin(this=exp.Coalesce(this=body.err, expressions=[text("")]), expression=col(var)),
                              expression=exp.Where(this=or_(not_null(body.err), missing(body)))),
            "n": exp.Count(this=exp.Star()),
        }
        if e.func in ("any", "all"):
            aggregates["fold"] = exp.LogicalOr(this=body.val) if e.func == "any" else exp.LogicalAnd(this=body.val)
        else:
            aggregates["extreme"] = exp.Max(this=body.val) if e.func == "max" else exp.Min(this=body.val)
            if body.no is not None:
                aggregates["any_no"] = exp.LogicalOr(this=body.no)
        unnest = exp.Unnest(expressions=[items.copy()],
                            alias=exp.TableAlias(this=exp.to_identifier(alias), columns=[exp.to_identifier(var, quoted=True)]))
        inner = exp.select(col(var), *inner_cols).from_(unnest)
        packed = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(k), expression=v) for k, v in aggregates.items()])
        folded = self.column(exp.Subquery(this=exp.select(packed).from_(inner.subquery(f"{alias}_b"))))

        def get(key: str) -> exp.Expr:
            return exp.StructExtract(this=folded.copy(), expression=text(key))
        found = {"bad": get("bad"), "n": get("n")}
        if e.func in ("any", "all"):
            found["hit"] = (is_true if e.func == "any" else is_false)(get("fold"))
        else:
            found["extreme"] = get("extreme")
            if body.no is not None:
                found["any_no"] = is_true(get("any_no"))
        return found


def hex_threshold(value: Any) -> str:
    """A covered share as the hex string the first 16 hex digits of a bucket's digest must be below:
    `bucket < share` (runtime/rollout.py covered) is `int(prefix, 16) < ceil(share * 2**64)`."""
    if value >= 1:
        return "g"  # above every hex digit: all covered
    threshold = math.ceil(value * (1 << 64))
    return "" if threshold <= 0 else f"{threshold:016x}"


def plan(model: Model, policy_id: str, at: exp.Expr | dt.date, keep: tuple[str, ...] = ()) -> Plan:
    """The plan deciding `policy_id` on the date `at`: one date for the batch, or an expression (a
    column of dates; rollouts then are not supported yet). Built with the cyclic collector paused (see gcpause:
    a plan's tree is a web of parent links, and each full collection walked all of it again)."""
    with paused():
        made = Planner(model, model.policies[policy_id], at).plan(keep)
        size = sum(1 for _ in made.select.walk())
    if size > MAX_PLAN_NODES:
        raise ScoreUnsupported(i18n.both("score.construct.too_large", limit=f"{MAX_PLAN_NODES:,}", found=f"{size:,}"),
                               policy_id)
    return made


MAX_PLAN_NODES = 150_000
"""The sqlglot nodes a plan may hold: about 9 to 26 per syntax node of the book's policies, 66 with the nested
aggregates of the aggregate test's policy (the book's largest plan holds 5,395, that policy's 10,469). P0124 bounds a policy, not its SQL:
40 rules and cases each testing a chain of 95 `and`s (40 KB) made a plan of 939,433 nodes that DuckDB had not
decided after 9 minutes and 2.3 GB; one of 239,143 nodes took 34 s and 828 MB for two records. Refused beyond it,
by name, after planning (10 s for the million); `eval` decides such a policy record by record."""

