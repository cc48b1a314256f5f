"""Random policies, as text, for the differential test of the generated code (test_codegen_differential).

`policy_text(seed)` writes one policy that the checker accepts by construction: an enum, typed inputs
(count, money, percent, bool, date, the enum, a set of it), range / matrix / enum tables with stated,
not_stated and not_open cells, values with several dated and conditional cases, and rules (deny, warn,
allow; `when` scopes, `require` conditions, exceptions with priorities, effective periods,
consequences, placeholders). Expressions are drawn by type, to a bounded depth, from every construct
the language has for that type: arithmetic on counts, money and percents, dates and durations, the
built-ins, comparisons, membership, `and`/`or`/`not`, aggregates (also nested, also over set
literals), table calls (also with a table call as argument) and comparisons with not_open.
The text only depends on the seed (a `random.Random` of its own), so every policy is reproducible.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

NUM_TYPES = ("count", "money", "percent")
FIRST, LAST = dt.date(2023, 1, 1), dt.date(2024, 12, 31)


def text(zh: str, en: str) -> str:
    return f'"{zh}" / "{en}"'


class PolicyGen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pid = f"gen.p{seed}"
        self.enum = "kind"
        self.values = ["a", "b", "c", "d"][:self.rng.randint(2, 4)]
        self.inputs: dict[str, str] = {}
        self.tables: dict[str, tuple[tuple[str, ...], str, bool]] = {}  # name -> (params, result, may be not_open)
        self.defines: dict[str, str] = {}  # the values declared so far (a value reads only earlier ones)
        self.vars: list[str] = []
        self.priorities: dict[str, set[int]] = {}  # a rule's exceptions' priorities (distinct)
        self.with_exceptions = False  # the aggregate variables in scope (of the enum type)
        self.anchors = sorted({self.date() for _ in range(4)})

    # ------------------------------------------------------------ small things
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def date(self) -> dt.date:
        return FIRST + dt.timedelta(days=self.rng.randint(0, (LAST - FIRST).days))

    def anchor(self) -> dt.date:
        return self.rng.choice(self.anchors) if self.chance(0.7) else self.date()

    def literal(self, t: str) -> str:
        r = self.rng
        if t == "count":
            return str(r.choice([0, 1, 2, 3, 5, 10, r.randint(0, 50)]))
        if t == "money":
            return "¥" + r.choice(["0", "1", "5", "10", "100", "0.5", "2.25", str(r.randint(0, 500))])
        if t == "percent":
            return r.choice(["0%", "5%", "10%", "50%", "100%", "12.5%", f"{r.randint(0, 100)}%"])
        if t == "bool":
            return r.choice(["true", "false"])
        if t == "date":
            return self.anchor().isoformat()
        if t == "enum":
            return r.choice(self.values)
        if t == "set":
            return "{" + ", ".join(r.sample(self.values, r.randint(1, len(self.values)))) + "}"
        raise AssertionError(t)

    def cell(self, t: str, may_not_open: bool = True) -> str:
        roll = self.rng.random()
        if roll < 0.12:
            return "not_stated"
        if roll < 0.24 and may_not_open:
            return "not_open"
        return self.literal(t)

    # ------------------------------------------------------------ expressions
    def expr(self, t: str, depth: int) -> str:
        if depth <= 0 or self.chance(0.25):
            return self.leaf(t)
        options = getattr(self, "x_" + t)(depth - 1)
        return self.rng.choice(options)()

    def leaf(self, t: str) -> str:
        names = [n for n, ty in self.inputs.items() if ty == t]
        if t == "enum":
            names += self.vars
        if names and self.chance(0.75):
            return self.rng.choice(names)
        if t == "set" and self.chance(0.3) and (self.vars or self.inputs):
            items = [self.leaf("enum") for _ in range(self.rng.randint(1, 3))]  # a leaf is never not_open
            return "{" + ", ".join(items) + "}"
        if t == "date" and self.chance(0.2):
            return "today"
        return self.literal(t)

    def defined(self, t: str) -> list[Any]:
        names = [n for n, ty in self.defines.items() if ty == t]
        return [lambda: self.rng.choice(names)] if names else []

    def calls(self, t: str, depth: int) -> list[Any]:
        out = []
        for tname, (params, result, _) in self.tables.items():
            if result == t:
                out.append(lambda tname=tname, params=params:
                           f"{tname}({', '.join(self.expr(p, depth) for p in params)})")
        return out

    def aggregate(self, funcs: tuple[str, ...], body_t: str, depth: int) -> str:
        func = self.rng.choice(funcs)
        var = f"it{len(self.vars)}"
        items = self.expr("set", depth)
        self.vars.append(var)
        try:
            body = self.expr(body_t, depth)
        finally:
            self.vars.pop()
        return f"{func}({body} for {var} in {items})"

    def binary(self, lt: str, op: str, rt: str, depth: int) -> str:
        return f"({self.expr(lt, depth)} {op} {self.expr(rt, depth)})"

    def x_count(self, d: int) -> list[Any]:
        return [lambda: self.binary("count", self.rng.choice("+-*"), "count", d),
                lambda: self.aggregate(("max", "min", "sum"), "count", d),
                lambda: f"days_between({self.expr('date', d)}, {self.expr('date', d)})",
                lambda: f"({self.expr('date', d)} - {self.expr('date', d)})",
                *self.calls("count", d), *self.calls("count", d), *self.defined("count")]

    def x_money(self, d: int) -> list[Any]:
        return [lambda: self.binary("money", self.rng.choice("+-"), "money", d),
                lambda: self.binary("money", "*", "percent", d),
                lambda: self.binary("money", "*", "count", d),
                lambda: self.aggregate(("max", "min", "sum"), "money", d),
                *self.calls("money", d), *self.calls("money", d), *self.defined("money")]

    def x_percent(self, d: int) -> list[Any]:
        return [lambda: self.binary("percent", self.rng.choice("+-"), "percent", d),
                lambda: self.aggregate(("max", "min"), "percent", d),
                *self.calls("percent", d), *self.defined("percent")]

    def x_date(self, d: int) -> list[Any]:
        def shifted() -> str:
            unit = self.rng.choice(["days", "months", "day", "working days"])
            amount = 1 if unit == "day" else self.rng.randint(0, 40 if unit != "months" else 13)
            return f"({self.expr('date', d)} {self.rng.choice('+-')} {amount} {unit})"
        return [shifted, lambda: f"month_end({self.expr('date', d)})",
                lambda: f"next_half_month({self.expr('date', d)})", *self.defined("date")]

    def x_enum(self, d: int) -> list[Any]:
        return [lambda: self.leaf("enum"), *self.calls("enum", d), *self.calls("enum", d),
                *self.defined("enum")]

    def x_set(self, d: int) -> list[Any]:
        return [lambda: self.leaf("set"), lambda: "{" + ", ".join(self.item(d) for _ in range(
            self.rng.randint(1, 3))) + "}", *self.defined("set")]

    def item(self, d: int) -> str:
        """An enum set literal's item, sometimes a table call (a not_open one is an error)."""
        calls = [n for n, (ps, r, m) in self.tables.items() if r == "enum"]
        if calls and d > 0 and self.chance(0.4):
            tname = self.rng.choice(calls)
            return f"{tname}({', '.join(self.expr(p, d - 1) for p in self.tables[tname][0])})"
        return self.leaf("enum")

    def x_bool(self, d: int) -> list[Any]:
        def compare() -> str:
            t = self.rng.choice([*NUM_TYPES, "count", "money", "date"])
            return self.binary(t, self.rng.choice(["<", "<=", ">", ">=", "==", "!="]), t, d)

        def equal() -> str:
            t = self.rng.choice(["enum", "bool", "set"])
            return self.binary(t, self.rng.choice(["==", "!="]), t, d)

        def member() -> str:
            return f"({self.expr('enum', d)} {self.rng.choice(['in', 'not in'])} {self.expr('set', d)})"

        def not_open() -> str:
            maybe = [n for n, (_, r, m) in self.tables.items() if m and r != "bool"]
            if not maybe:
                return self.leaf("bool")
            tname = self.rng.choice(maybe)
            params = self.tables[tname][0]
            return f"({tname}({', '.join(self.expr(p, d) for p in params)}) {self.rng.choice(['==', '!='])} not_open)"
        return [compare, compare, compare, equal, member, member, not_open, not_open,
                lambda: f"(not {self.expr('bool', d)})",
                lambda: self.binary("bool", "and", "bool", d), lambda: self.binary("bool", "or", "bool", d),
                lambda: self.binary("bool", "and", "bool", d), lambda: self.binary("bool", "or", "bool", d),
                lambda: self.aggregate(("any", "all"), "bool", d),
                lambda: self.aggregate(("any", "all"), "bool", d),
                *self.calls("bool", d), *self.defined("bool")]

    # ------------------------------------------------------------ declarations
    def enum_decl(self) -> list[str]:
        return [f"enum {self.enum} {text('类', 'Kind')}"] + [
            f"  value {v} {text('值' + v, 'Value ' + v)}" for v in self.values]

    def input_decls(self) -> list[str]:
        kinds = ["count", "count", "money", "money", "percent", "bool", "bool", "date", "enum", "enum", "set", "set"]
        for i, t in enumerate(k for k in kinds if self.chance(0.8)):
            self.inputs[f"f{i}" if self.chance(0.7) else f"g.f{i}"] = t
        out = []
        for path, t in self.inputs.items():
            ty = self.enum if t == "enum" else f"set of {self.enum}" if t == "set" else t
            out.append(f"input {path}: {ty} {text('事实' + path, 'Fact ' + path)}")
        return out

    def range_table(self, tname: str) -> list[str]:
        result = self.rng.choice(["count", "money", "percent", "bool"])
        hit = self.rng.choice(["unique", "first", "priority", "collect"])
        if hit == "collect" and result == "bool":
            hit = "first"
        cuts = sorted(self.rng.sample(range(1, 40), self.rng.randint(1, 4)))
        bounds = [0] + cuts + ["inf"]
        lines = [f"table {tname}(x: count) -> {result} {text('表', 'Table')}"]
        agg = self.rng.choice(["sum", "min", "max"]) if hit == "collect" else None
        if agg == "sum" and result == "percent":
            agg = "max"
        lines.append(f"  hit {hit}" + (f" {agg}" if agg else ""))
        rows: list[tuple[str, Any, Any, str]] = []
        closed_low = self.chance(0.5)  # [l, h) rows, else [0, h] then (l, h]
        for low, high in zip(bounds, bounds[1:]):
            if hit == "collect" and self.chance(0.2):
                continue  # a gap: no row (only a collect table may have one)
            lo = "[" if closed_low or low == 0 else "("
            hi = ")" if high == "inf" or closed_low else "]"
            rows.append((lo, low, high, hi))
        if hit != "unique":  # overlapping rows
            for _ in range(self.rng.randint(0, 2)):
                low = self.rng.randint(0, 30)
                high: Any = self.rng.choice(["inf", low + self.rng.randint(0, 15)])
                rows.insert(self.rng.randint(0, len(rows)), ("[", low, high, ")" if high == "inf" else "]"))
        if not rows:
            rows.append(("[", 0, "inf", ")"))
        may = False
        for lo, low, high, hi in rows:
            cell = self.cell(result, may_not_open=True)
            may = may or cell == "not_open"
            prio = f" priority {self.rng.randint(0, 3)}" if hit == "priority" and self.chance(0.8) else ""
            lines.append(f"  row {lo}{low}, {high}{hi}: {cell}{prio}")
        self.tables[tname] = (("count",), result, may)
        return lines

    def matrix_table(self, tname: str) -> list[str]:
        result = self.rng.choice(["count", "money", "bool", "enum", "percent"])
        ty = self.enum if result == "enum" else result
        lines = [f"table {tname}(k: {self.enum}, j: {self.enum}) -> {ty} {text('矩阵', 'Matrix')}",
                 f"  columns {', '.join(self.values)}"]
        may = False
        for v in self.values:
            cells = [self.cell(result) for _ in self.values]
            may = may or "not_open" in cells
            lines.append(f"  row {v}: {', '.join(cells)}")
        self.tables[tname] = (("enum", "enum"), result, may)
        return lines

    def enum_table(self, tname: str) -> list[str]:
        result = self.rng.choice(["count", "money", "bool", "enum", "percent"])
        ty = self.enum if result == "enum" else result
        lines = [f"table {tname}(k: {self.enum}) -> {ty} {text('枚举表', 'Enum table')}"]
        may = False
        for v in self.values:
            cell = self.cell(result)
            may = may or cell == "not_open"
            lines.append(f"  row {v}: {cell}")
        self.tables[tname] = (("enum",), result, may)
        return lines

    def define_decl(self, path: str) -> list[str]:
        t = self.rng.choice(["count", "count", "money", "money", "percent", "bool", "bool", "date", "enum"])
        ty = self.enum if t == "enum" else t
        lines = [f"define {path}: {ty} {text('值' + path, 'Value ' + path)}"]
        # cases with `when` (dated or not) anywhere; the unconditional ones in force on disjoint periods
        plain: list[str] = []
        mode = self.rng.choice(["none", "undated", "undated", "dated"])
        if mode == "undated":
            plain.append("")
        elif mode == "dated":
            cut = self.anchor()
            first = f" until {cut.isoformat()}" if self.chance(0.5) else \
                f" from {(cut - dt.timedelta(days=self.rng.randint(0, 200))).isoformat()} until {cut.isoformat()}"
            plain.append(first)
            if self.chance(0.7):
                start = cut + dt.timedelta(days=self.rng.randint(1, 3))
                plain.append(f" from {start.isoformat()}" + (
                    f" until {(start + dt.timedelta(days=self.rng.randint(0, 300))).isoformat()}" if self.chance(0.3) else ""))
        conditional = []
        for i in range(self.rng.choice([0, 1, 1, 2]) if plain else self.rng.choice([1, 2])):
            case = f" when {self.expr('bool', 2)}"
            if self.chance(0.3):
                start = self.anchor()
                case += f" from {start.isoformat()}"
                if self.chance(0.5):
                    case += f" until {(start + dt.timedelta(days=self.rng.randint(0, 300))).isoformat()}"
            elif self.chance(0.15):
                case += f" until {self.anchor().isoformat()}"
            conditional.append(case)
        clauses = plain + conditional
        self.rng.shuffle(clauses)
        if "" in clauses and self.chance(0.7):  # an undated unconditional case last, mostly
            clauses.remove("")
            clauses.append("")
        for clause in clauses:
            lines.append(f"  = {self.expr(t, self.rng.randint(0, 3))}{clause}")
        self.defines[path] = t
        return lines + ['  source "doc.txt" quote "原文"']

    def shown(self) -> str:
        names = [*self.inputs, *self.defines]
        picked = self.rng.sample(names, min(len(names), self.rng.randint(0, 2)))
        return " ".join("{" + n + "}" for n in picked)

    def rule_decl(self, index: int, earlier: list[str]) -> list[str]:
        rname = f"r{index}"
        lines = [f"rule {rname} {text('规则' + str(index), 'Rule ' + str(index))}"]
        exception = bool(earlier) and self.with_exceptions and (index == 1 or self.chance(0.3))
        if self.chance(0.25):
            start = self.anchor()
            eff = f"  effective from {start.isoformat()}"
            if self.chance(0.5):
                eff += f" until {(start + dt.timedelta(days=self.rng.randint(0, 400))).isoformat()}"
            lines.append(eff)
        if exception:
            bases = self.rng.sample(earlier, self.rng.randint(1, min(2, len(earlier))))
            zero = not any(0 in self.priorities.get(b, ()) for b in bases) and self.chance(0.6)
            priority = 0 if zero else index + 1
            for b in bases:
                self.priorities.setdefault(b, set()).add(priority)
            lines.append(f"  exception to {', '.join(bases)}" + ("" if zero and self.chance(0.7) else f" priority {priority}"))
        if self.chance(0.6) or exception:
            lines.append(f"  when {self.expr('bool', self.rng.randint(1, 3))}")
        outcome = self.rng.choice(["deny", "deny", "warn", "allow"])
        shown = self.shown()
        message = text(f"原因{index} {shown}", f"reason {index} {shown}")
        if self.chance(0.6) and not exception:
            lines.append(f"  require {self.expr('bool', self.rng.randint(1, 4))}")
            lines.append(f"    else {outcome} c{index} {message}")
        else:
            lines.append(f"  {outcome} c{index} {message}")
        for _ in range(self.rng.choice([0, 0, 0, 1, 2])):
            kind = self.rng.choice(["demotion", "restriction", "suspension", "ban", "deduction"])
            period = self.rng.choice(["", f" for {self.rng.randint(1, 30)} {self.rng.choice(['days', 'working days', 'months'])}",
                                      f" until {self.expr('date', 1)}", " permanent"])
            amount = f" amount {self.expr('money', 2)}" if kind == "deduction" or self.chance(0.2) else ""
            lines.append(f"  consequence {kind}{period}{amount} {text('后果', 'Consequence')}")
        lines.append('  source "doc.txt" quote "原文"')
        return lines

    def policy(self) -> str:
        head = [f"policy {self.pid}", f"  title {text('生成的政策', 'Generated policy')}"]
        if self.chance(0.3):
            start = self.anchor()
            head.append(f"  effective from {start.isoformat()}"
                        + (f" until {(start + dt.timedelta(days=self.rng.randint(30, 500))).isoformat()}"
                           if self.chance(0.5) else ""))
        blocks = [head, self.enum_decl(), self.input_decls()]
        makers = [self.range_table, self.matrix_table, self.enum_table]
        for i in range(self.rng.randint(1, 4)):
            blocks.append(self.rng.choice(makers)(f"t{i}"))
        for i in range(self.rng.randint(0, 4)):
            blocks.append(self.define_decl(f"v{i}" if self.chance(0.7) else f"w.v{i}"))
        names: list[str] = []
        count = self.rng.randint(1, 5)
        self.with_exceptions = count > 1 and self.chance(0.5)
        for i in range(count):
            blocks.append(self.rule_decl(i, names))
            names.append(f"r{i}")
        return "\n\n".join("\n".join(b) for b in blocks) + "\n"


def policy_text(seed: int) -> tuple[str, str]:
    """(policy id, text) of the policy drawn from `seed`."""
    gen = PolicyGen(seed)
    return gen.pid, gen.policy()
