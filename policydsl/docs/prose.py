"""Checked expressions in, plain language out: `account.fans >= 1000` reads "粉丝数不少于 1000 人" /
"Followers is at least 1,000 followers".

The result is a tuple of segments (plain text, a term linked to its declaration, a value, code), so
the HTML and Markdown templates can style terms and values without re-reading any text.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import attrs

from policydsl import i18n
from policydsl.errors import InternalError
from policydsl.docs.strings import STRINGS, s
from policydsl.runtime import values as rv
from policydsl.semantics.model import Model, Policy
from policydsl.semantics.types import Type
from policydsl.syntax import ast


@attrs.frozen
class Seg:
    text: str
    role: str = ""  # "" plain | term | value | code
    href: str = ""  # an anchor on the policy page, for terms
    page: str = ""  # the page of the anchor, when it is not the page being rendered (whole-book prose)


Prose = tuple[Seg, ...]

COMPARE_KEYS = {">=": "ge", ">": "gt", "<=": "le", "<": "lt", "==": "eq", "!=": "ne"}
NEGATED = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}
ARITH = {"+": "+", "-": "−", "*": "×", "/": "÷"}
PRECEDENCE = {"or": 1, "and": 2, "+": 4, "-": 4, "*": 5, "/": 5}
BUILTINS = {"days_between": "x.days_between", "next_half_month": "x.next_half_month", "month_end": "x.month_end"}


def policy_page(policy: str) -> str:
    return f"policies/{policy}"


def plain(prose: Iterable[Seg]) -> str:
    return "".join(seg.text for seg in prose)


def anchor(kind: str, name: str) -> str:
    """The HTML id of a declaration on its policy page (`rule-fans_2023`, `input-account.fans`)."""
    return f"{kind}-{name}"


def period_text(start: dt.date | None, end: dt.date | None, lang: str) -> str:
    if start and end:
        return s("period.between", lang, start=start.isoformat(), end=end.isoformat())
    if start:
        return s("period.from", lang, start=start.isoformat())
    if end:
        return s("period.until", lang, end=end.isoformat())
    return s("period.always", lang)


def literal_text(kind: str, value: object, lang: str) -> str:
    """A literal of the language as a reader sees it (money with ¥, percentages with %, counts grouped in English)."""
    shown_kind = {"int": "count", "decimal": "number"}.get(kind, kind)
    if kind == "text":
        return s("x.quote_open", lang) + str(value) + s("x.quote_close", lang)
    return rv.display(shown_kind, value, lang)


class Renderer:
    """Renders the expressions of one policy in one language."""

    def __init__(self, model: Model, policy: Policy | None, lang: str) -> None:
        self.model = model
        self.policy = policy
        self.lang = lang
        self.period: tuple[dt.date | None, dt.date | None] = (None, None)

    # ------------------------------------------------------------ small pieces
    def own_policy(self) -> Policy:
        """The policy whose expressions these are (the book's renderer has none: it overrides what needs one)."""
        if self.policy is None:
            raise InternalError("a policy's own expression rendered outside any policy")
        return self.policy

    def t(self, string_key: str, /, **args: object) -> str:
        return s(string_key, self.lang, **args)

    def label_of_path(self, path: str) -> str | None:
        if self.policy is None:
            return None
        item = self.policy.inputs.get(path) or self.policy.defines.get(path)
        return item.label.get(self.lang) if item else None

    def input_term(self, path: str) -> Prose:
        """An input of the policy by its label, linked to its declaration."""
        return (Seg(self.label_of_path(path) or path, "term", anchor("input", path)),)

    def enum_label(self, enum: str | None) -> str:
        decl = self.model.enums.get(enum or "")
        return decl.label.get(self.lang) if decl else str(enum)

    def enum_value_label(self, enum: str | None, value: str) -> str:
        own = self.model.enums.get(enum or "")
        # its own enum first, then (an untyped enum literal) the only enum that has it
        return next((item.label.get(self.lang) for decl in (*([own] if own else []), *self.model.enums.values())
                     for item in decl.values if item.name.value == value), value)

    def unit_label(self, unit: str | None) -> str:
        decl = self.model.units.get(unit or "")
        return decl.label.get(self.lang) if decl else ""

    def type_text(self, type_: Type) -> str:
        key = f"type.{type_.kind}"
        if type_.kind in ("enum", "set"):
            return self.t(key, label=self.enum_label(type_.enum))
        return self.t(key) if key in STRINGS else type_.kind

    def with_unit(self, text: str, unit: str | None) -> str:
        label = self.unit_label(unit)
        return f"{text} {label}" if label else text

    def join(self, parts: list[Prose], sep: str, last: str | None = None) -> Prose:
        out: list[Seg] = []
        for index, part in enumerate(parts):
            if index:
                out.append(Seg(last if last is not None and index == len(parts) - 1 else sep))
            out.extend(part)
        return tuple(out)

    def paren(self, prose: Prose) -> Prose:
        return (Seg(self.t("x.paren_open")), *prose, Seg(self.t("x.paren_close")))

    def quoted(self, text: str, href: str = "", page: str = "") -> Prose:
        return (Seg(self.t("x.quote_open")), Seg(text, "term", href, page), Seg(self.t("x.quote_close")))

    def statement(self, prop: ast.PropertyDecl) -> Prose:
        """A property in plain language: "for every set of facts and every day where PREMISE: CLAIM"."""
        claim = self.expr(prop.claim)
        if prop.premise is None:
            return self.template("property.for_all", claim=claim)
        return self.template("property.for_all_when", premise=self.expr(prop.premise), claim=claim)

    def template(self, template_key: str, /, **parts: Prose) -> Prose:
        """A string-table template whose `{name}` slots are filled with rendered prose."""
        text = self.t(template_key, **{name: "\0" + name + "\0" for name in parts})
        out: list[Seg] = []
        for index, piece in enumerate(text.split("\0")):
            if index % 2:
                out.extend(parts[piece])
            elif piece:
                out.append(Seg(piece))
        return tuple(out)

    # ------------------------------------------------------------ expressions
    def expr(self, expr: object, unit: str | None = None) -> Prose:
        """`unit` is the unit of the value this expression is compared with or assigned to."""
        method = getattr(self, "_" + type(expr).__name__.lower(), None)
        if method is None:  # a construct newer than this renderer: show its code
            return (Seg(source_text(expr), "code"),)
        return method(expr, unit)

    def _literal(self, expr: ast.Literal, unit: str | None) -> Prose:
        text = literal_text(expr.kind, expr.value, self.lang)
        if expr.kind in ("int", "decimal", "money", "percent"):
            text = self.with_unit(text, unit)
        return (Seg(text, "value"),)

    def _durationlit(self, expr: ast.DurationLit, unit: str | None) -> Prose:
        return (Seg(rv.display("duration", (expr.amount, expr.unit), self.lang), "value"),)

    def _today(self, expr: ast.Today, unit: str | None) -> Prose:
        return (Seg(self.t("x.today"), "term"),)

    def _ref(self, expr: ast.Ref, unit: str | None) -> Prose:
        resolved = self.model.resolve(expr)
        kind, target = resolved.kind, resolved.target
        if kind == "input":
            return (Seg(self.own_policy().inputs[target].label.get(self.lang), "term", anchor("input", target)),)
        if kind == "define":
            return self._define_ref(target)
        if kind == "enum":
            enum, _, value = target.rpartition(".")
            return (Seg(self.enum_value_label(enum, value), "value"),)
        if kind == "var":
            return (Seg(self.t("x.var", label=self.enum_label(self.model.type_of(expr).enum)), "term"),)
        return (Seg(expr.path, "code"),)

    def _define_ref(self, path: str) -> Prose:
        define = self.own_policy().defines[path]
        term = Seg(define.label.get(self.lang), "term", anchor("define", path))
        constant = self._constant_in_period(define.decl)
        if constant is None:
            return (term,)
        return (term, Seg(self.t("x.aside_open")), *self.expr(constant, define.type.unit), Seg(self.t("x.aside_close")))

    def _constant_in_period(self, decl: ast.DefineDecl) -> ast.Literal | None:
        """The literal a define has throughout the current period, when exactly one plain case applies."""
        start, end = self.period
        cases = [c for c in decl.cases if _overlaps(c.start, c.end, start, end)]
        if len(cases) == 1 and cases[0].when is None and isinstance(cases[0].expr, ast.Literal):
            return cases[0].expr
        return None

    def _notopen(self, expr: ast.NotOpen, unit: str | None) -> Prose:
        return (Seg(i18n.t("not_open", self.lang), "value"),)

    def _notstated(self, expr: ast.NotStated, unit: str | None) -> Prose:
        return (Seg(self.t("table.not_stated"), "value"),)

    def _setlit(self, expr: ast.SetLit, unit: str | None) -> Prose:
        if not expr.items:
            return (Seg(s("table.empty_set", self.lang), "value"),)
        return self.join([self.expr(item) for item in expr.items], self.t("x.list_sep"))

    def _binary(self, expr: ast.Binary, unit: str | None) -> Prose:
        if expr.op in ("and", "or"):
            parts = [self._operand(part, expr.op) for part in _flatten(expr, expr.op)]
            return self.join(parts, " " + self.t(f"x.{expr.op}") + " ")
        if expr.op in COMPARE_KEYS:
            return self._compare(expr.op, expr.left, expr.right)
        result_unit = self.model.type_of(expr).unit
        left = self._operand(expr.left, expr.op, unit=result_unit)
        right = self._operand(expr.right, expr.op, right=True, unit=result_unit)
        return (*left, Seg(f" {ARITH.get(expr.op, expr.op)} "), *right)

    def _operand(self, expr: object, op: str, *, right: bool = False, unit: str | None = None) -> Prose:
        inner = expr.op if isinstance(expr, ast.Binary) else None
        prose = self.expr(expr, unit)
        if inner in PRECEDENCE and (PRECEDENCE[inner] < PRECEDENCE[op] or (right and inner != op and
                                                                          PRECEDENCE[inner] == PRECEDENCE[op])):
            return self.paren(prose)
        if isinstance(expr, ast.Aggregate) and op in PRECEDENCE:
            return self.paren(prose)
        if op in ("and", "or") and self._is_iff(expr):
            return self.paren(prose)  # "(A exactly when B) and C"
        return prose

    def _is_iff(self, expr: object) -> bool:
        return isinstance(expr, ast.Binary) and self._iff_parts(expr.op, expr.left, expr.right)

    def _iff_parts(self, op: str, left: ast.Expr, right: ast.Expr) -> bool:
        """Two conditions (neither a yes/no literal) compared with == or !=."""
        return op in ("==", "!=") and all(self.model.type_of(x).kind == "bool"
                                          and not isinstance(x, ast.Literal) for x in (left, right))

    def _compare(self, op: str, left: ast.Expr, right: ast.Expr) -> Prose:
        special = self._outcome_compare(op, left, right) or self._bool_compare(op, left, right)
        if special is not None:
            return special
        left_type, right_type = self.model.type_of(left), self.model.type_of(right)
        if isinstance(right, ast.SetLit) and not right.items and op in ("==", "!="):
            return self._glued(self.expr(left), self.t("x.empty" if op == "==" else "x.not_empty"), ())
        words = COMPARE_KEYS[op]
        if op not in ("==", "!=") and left_type.kind == "date":
            words = "date." + words
        left_prose = self._side(left, right_type.unit)
        right_prose = self._side(right, left_type.unit)
        return self._glued(left_prose, self.t(f"x.{words}"), right_prose)

    def _outcome_compare(self, op: str, left: ast.Expr, right: ast.Expr) -> Prose | None:
        """`outcome == deny` in a property: "结果为拒绝" / "the decision is deny" (either way round)."""
        if op not in ("==", "!=") or not isinstance(left, (ast.OutcomeRef, ast.OutcomeLit)):
            return None
        if isinstance(left, ast.OutcomeLit) and isinstance(right, ast.OutcomeRef):
            left, right = right, left
        if not (isinstance(left, ast.OutcomeRef) and isinstance(right, ast.OutcomeLit)):
            return None
        return self.template("x.outcome_eq" if op == "==" else "x.outcome_ne", outcome=self.expr(right))

    def _bool_compare(self, op: str, left: ast.Expr, right: ast.Expr) -> Prose | None:
        """Two conditions compared: `fires(r) == (grade == alert)` reads "rule … fires exactly when …";
        `fires(r) == false` reads "rule … does not fire"."""
        if op not in ("==", "!=") or any(self.model.type_of(x).kind != "bool" for x in (left, right)):
            return None
        if self._iff_parts(op, left, right):
            return self.template("x.iff" if op == "==" else "x.iff_not", a=self.expr(left), b=self.expr(right))
        literal = [x for x in (left, right) if isinstance(x, ast.Literal) and x.kind == "bool"]
        if literal:
            other = right if literal[0] is left else left
            if self._fired_rule(other) is None:
                return None  # `shop.vip == true` keeps the ordinary wording ("白名单商家为 是")
            holds = bool(literal[0].value) == (op == "==")
            return self._fires(other, negated=not holds)
        return None

    def _side(self, expr: object, unit: str | None) -> Prose:
        """One side of a comparison; a sum or product is bracketed so the verb clearly takes all of it."""
        prose = self.expr(expr, unit)
        return self.paren(prose) if isinstance(expr, ast.Binary) and expr.op in ARITH else prose

    def _glued(self, subject: Prose, verb: str, rest: Prose) -> Prose:
        """Chinese glues the verb to its subject ("粉丝数不少于 1000"); English spaces it."""
        return (*subject, Seg(self.t("x.word_gap") + verb + (" " if rest else "")), *rest)

    def _unary(self, expr: ast.Unary, unit: str | None) -> Prose:
        operand = expr.operand
        if expr.op == "neg":
            return (Seg("−"), *self._operand(operand, "*", unit=unit))
        if isinstance(operand, ast.Binary) and operand.op in NEGATED:
            return self._compare(NEGATED[operand.op], operand.left, operand.right)
        if isinstance(operand, ast.Member):
            # ast.node applies attrs.frozen inside a function, so mypy's attrs plugin does not see an attrs class
            return self._member(attrs.evolve(operand, negated=not operand.negated), unit)  # type: ignore[misc]
        if self._fired_rule(operand) is not None:
            return self._fires(operand, negated=True)
        if isinstance(operand, ast.Ref) and self.model.type_of(operand).kind == "bool":
            return self._glued(self.expr(operand), self.t("x.eq"), (Seg(rv.display("bool", False, self.lang), "value"),))
        inner = self.expr(operand)
        if isinstance(operand, ast.Binary) and operand.op in ("and", "or"):
            inner = self.paren(inner)
        return (Seg(self.t("x.not") + self.t("x.word_gap")), *inner)

    def _member(self, expr: ast.Member, unit: str | None) -> Prose:
        item = self.expr(expr.item)
        if isinstance(expr.collection, ast.SetLit):
            choices = [self.expr(c) for c in expr.collection.items]
            if not expr.negated:
                return self._glued(item, self.t("x.in_list"), self._choice_list(choices, "x.list_or"))
            key = "x.not_in_one" if len(choices) == 1 else "x.not_in_list"
            return self._glued(item, self.t(key), self._choice_list(choices, "x.list_and"))
        verb = self.t("x.not_includes" if expr.negated else "x.includes")
        return self._glued(self.expr(expr.collection), verb, item)

    def _choice_list(self, choices: list[Prose], last_key: str) -> Prose:
        if len(choices) <= 1:
            return choices[0] if choices else ()
        return self.join(choices, self.t("x.list_sep"), self.t(last_key))

    def _call(self, expr: ast.Call, unit: str | None) -> Prose:
        name = expr.func.value
        table = self.policy.tables.get(name) if self.policy is not None else None
        if table is not None:
            args = self.join([self.expr(a) for a in expr.args], self.t("x.list_sep"))
            label = self.quoted(table.decl.label.get(self.lang), anchor("table", name))
            return self.template("x.table", table=label, args=args)
        if self._fired_rule(expr) is not None:
            return self._fires(expr)
        if name == "consequence" and len(expr.args) == 1 and isinstance(expr.args[0], ast.Ref) and \
                self.model.resolve(expr.args[0]).kind == "consequence":
            kind = expr.args[0].path
            return self.template("x.consequence", kind=(Seg(i18n.t(f"consequence.{kind}", self.lang), "value"),))
        if name in BUILTINS and len(expr.args) in (1, 2):
            parts = dict(zip(("a", "b"), (self.expr(a) for a in expr.args)))
            return self.template(BUILTINS[name], **parts)
        return (Seg(source_text(expr), "code"),)

    def _fired_rule(self, expr: object) -> str | None:
        """The rule of a checked `fires(rule)` in a property, else None."""
        if not (isinstance(expr, ast.Call) and expr.func.value == "fires" and len(expr.args) == 1):
            return None
        arg = expr.args[0]
        if not (isinstance(arg, ast.Ref) and self.model.resolve(arg).kind == "rule"):
            return None
        return arg.path if any(r.name == arg.path for r in self.own_policy().rules) else None

    def _fires(self, expr: object, *, negated: bool = False) -> Prose:
        """`fires(r)`: "规则「label」触发" / "rule “label” fires", the label linked to the rule (`expr` is one:
        the caller asked `_fired_rule`)."""
        name = self._fired_rule(expr)
        if name is None:
            raise InternalError("_fires on an expression that is not a checked fires(...)")
        label = self.quoted(self.own_policy().rule(name).decl.label.get(self.lang), anchor("rule", name))
        return self.template("x.not_fires" if negated else "x.fires", rule=label)

    def _outcomeref(self, expr: ast.OutcomeRef, unit: str | None) -> Prose:
        return (Seg(self.t("x.outcome"), "term"),)

    def _outcomelit(self, expr: ast.OutcomeLit, unit: str | None) -> Prose:
        return (Seg(i18n.t(f"outcome.{expr.value}", self.lang), "value"),)

    def _aggregate(self, expr: ast.Aggregate, unit: str | None) -> Prose:
        coll_type = self.model.type_of(expr.iterable)
        var = (Seg(self.enum_label(coll_type.enum), "term"),)
        key = f"x.{expr.func}" if expr.func in ("all", "any") else f"x.agg.{expr.func}"
        head = self.template(key, set=self.expr(expr.iterable), var=var)
        return (*head, *self.expr(expr.body, unit))

    def _covered(self, expr: ast.Covered, unit: str | None) -> Prose:
        rollout = self.policy.rollouts.get(expr.rollout.value) if self.policy is not None else None
        if rollout is None:
            return (Seg(source_text(expr), "code"),)
        label = self.quoted(rollout.label.get(self.lang), anchor("rollout", rollout.name.value))
        return self.template("x.covered", rollout=label, key=self.input_term(rollout.key.value))


class BookRenderer(Renderer):
    """Renders the expressions written outside any policy (book properties, overlaps) in one language:
    a fact links to its row of the data dictionary; a policy's value, decision or rule to its page."""

    def __init__(self, model: Model, lang: str) -> None:
        super().__init__(model, None, lang)

    def policy_term(self, pid: str) -> Prose:
        """「title」, linking to the policy page."""
        return self.quoted(self.model.policies[pid].title.get(self.lang), "overview", policy_page(pid))

    def _ref(self, expr: ast.Ref, unit: str | None) -> Prose:
        resolved = self.model.resolve(expr)
        kind, target = resolved.kind, resolved.target
        if kind == "input":
            fact = self.model.facts.get(target)
            return (Seg(fact.label.get(self.lang) if fact else target, "term", f"fact-{target}", "dictionary"),)
        if kind == "book_define":  # "POLICY PATH": a value that policy computes
            pid, _, path = target.partition(" ")
            define = self.model.policies[pid].defines[path]
            value = (Seg(define.label.get(self.lang), "term", anchor("define", path), policy_page(pid)),)
            return self.template("x.policy_value", policy=self.policy_term(pid), value=value)
        return super()._ref(expr, unit)

    def _outcomeref(self, expr: ast.OutcomeRef, unit: str | None) -> Prose:
        if expr.policy is None:
            return super()._outcomeref(expr, unit)
        return self.template("x.policy_outcome", policy=self.policy_term(expr.policy.value))

    def _outcome_compare(self, op: str, left: ast.Expr, right: ast.Expr) -> Prose | None:
        """`outcome(P) == deny`: "「P」的决定为拒绝"; `outcome(A) == outcome(B)`: "「A」与「B」的决定相同"."""
        if op not in ("==", "!=") or not isinstance(left, (ast.OutcomeRef, ast.OutcomeLit)):
            return None
        if isinstance(left, ast.OutcomeLit):
            left, right = right, left
        if not isinstance(left, ast.OutcomeRef) or left.policy is None:
            return None
        policy = self.policy_term(left.policy.value)
        if isinstance(right, ast.OutcomeRef) and right.policy is not None:
            key = "x.policy_outcomes_same" if op == "==" else "x.policy_outcomes_differ"
            return self.template(key, a=policy, b=self.policy_term(right.policy.value))
        if not isinstance(right, ast.OutcomeLit):
            return None
        key = "x.policy_outcome_eq" if op == "==" else "x.policy_outcome_ne"
        return self.template(key, policy=policy, outcome=self.expr(right))

    def _fired_rule(self, expr: object) -> str | None:
        """The rule of a checked `fires(POLICY, RULE)`, else None."""
        if not (isinstance(expr, ast.Call) and expr.func.value == "fires" and len(expr.args) == 2):
            return None
        owner, rule = expr.args
        if not isinstance(owner, ast.Ref) or not isinstance(rule, ast.Ref):
            return None
        found = self.model.resolve(owner).kind == "policy" and self.model.resolve(rule).kind == "rule"
        return rule.path if found and owner.path in self.model.policies else None

    def _fires(self, expr: object, *, negated: bool = False) -> Prose:
        """`fires(P, r)`: "「P」的规则「label」触发" / "rule “label” of “P” fires"."""
        name = self._fired_rule(expr)
        if name is None or not isinstance(expr, ast.Call) or not isinstance(expr.args[0], ast.Ref):
            raise InternalError("_fires on an expression that is not a checked fires(...)")
        pid = self.model.resolve(expr.args[0]).target
        label = self.quoted(self.model.policies[pid].rule(name).decl.label.get(self.lang), anchor("rule", name),
                            policy_page(pid))
        key = "x.policy_not_fires" if negated else "x.policy_fires"
        return self.template(key, policy=self.policy_term(pid), rule=label)


def _flatten(expr: object, op: str) -> list[object]:
    if isinstance(expr, ast.Binary) and expr.op == op:
        return [*_flatten(expr.left, op), *_flatten(expr.right, op)]
    return [expr]


def _overlaps(a_start, a_end, b_start, b_end) -> bool:
    lo = max(a_start or dt.date.min, b_start or dt.date.min)
    hi = min(a_end or dt.date.max, b_end or dt.date.max)
    return lo <= hi


def source_text(node: object) -> str:
    span = getattr(node, "span", None)
    return " ".join(span.text.split()) if span is not None else type(node).__name__

