"""One checked policy (plus its worked examples) and a language in, the view model of its page out:
plain dicts of display text, prose segments and links that the templates lay out and never compute.

Links are (page, anchor) pairs: page "" is the same page, otherwise a page key such as
"inventory" or "policies/cart.opening"; the templates turn them into relative URLs.
"""
from __future__ import annotations

import functools
import os
import re
from typing import Any, Iterable

from markupsafe import Markup

from policydsl import i18n, simulate
from policydsl.errors import PolicyDslError
from policydsl import inventory as inv
from policydsl.bdd.words import raw_fact
from policydsl.compile.compiler import phase_specs
from policydsl.docs import highlight, timeline, tryit
from policydsl.docs.examples import Example
from policydsl.docs.prose import BookRenderer, Renderer, Seg, anchor, literal_text, period_text, plain, policy_page
from policydsl.docs.strings import STRINGS, s
from policydsl.loader import PolicySet
from policydsl.runtime import values as rv
from policydsl.runtime.facts import convert
from policydsl.semantics.model import Model, Policy
from policydsl.syntax import ast

VERIFY = (Seg("policydsl verify", "code"),)  # the command that proves a policy's properties


def link(text: str, page: str = "", anchor_: str = "", role: str = "") -> dict:
    return {"text": text, "page": page, "anchor": anchor_, "role": role}


def overlap_anchor(name: str) -> str:
    """The id of an overlap's entry in the index's "Conflicts between documents" section."""
    return f"overlap-{name}"


def inventory_link(ident: str) -> dict:
    return link(ident, "inventory", f"inv-{ident}", "code")


def fact_link(path: str) -> dict:
    """The id of a fact, linking to its row of the data dictionary."""
    return link(path, "dictionary", f"fact-{path}", "code")


def enum_link(prose: Renderer, type_) -> dict | None:
    """An enum (or set-of-enum) type, linking to its entry in the glossary; None for other types."""
    if type_.kind in ("enum", "set") and type_.enum:
        return link(prose.type_text(type_), "glossary", f"enum-{type_.enum}")
    return None


@functools.lru_cache(maxsize=128)
def _chart_days(name: str, phases: tuple, start, end) -> tuple[simulate.Day, ...]:
    """A handbook chart's simulated days (10,000 SHA-256 buckets), computed once for every language: they depend
    only on these hashable arguments (simulate.simulate_days is pure)."""
    return simulate.simulate_days(name, phases, start, end)


class PolicyView:
    """Builds the page of one policy in one language."""

    def __init__(self, book: PolicySet, policy: Policy, lang: str, policies_dir: str,
                 examples: list[Example]) -> None:
        self.book = book
        self.model = book.model
        self.policy = policy
        self.lang = lang
        self.policies_dir = policies_dir
        self.examples = examples
        self.prose = Renderer(book.model, policy, lang)
        self.about: dict[str, list[ast.AssumeDecl]] = {}  # what each assumption is about -> the assumptions
        for assume in policy.assumptions:
            for about in assume.about:
                self.about.setdefault(about.value, []).append(assume)

    def t(self, string_key: str, /, **args: Any) -> str:
        return s(string_key, self.lang, **args)

    # ------------------------------------------------------------ the page
    def build(self) -> dict:
        p = self.policy
        return {
            "id": p.id, "page": policy_page(p.id), "title": p.title.get(self.lang),
            "period": period_text(*p.effective, self.lang),
            "applies": self.prose.expr(p.decl.applies) if p.decl.applies is not None else None,
            "implements": [inventory_link(n.value) for n in p.decl.implements],
            "file": self.file_name(),
            "timeline": timeline.layout(self.timeline_lanes(), self.lang),
            "timeline_file": f"{p.id}.timeline.svg",
            "inputs": [self.input_view(i) for i in p.inputs.values()],
            "defines": [self.define_view(d) for d in p.defines.values()],
            "rules": [self.rule_view(r) for r in p.rules],
            "properties": [self.property_view(x) for x in p.properties],
            "properties_heading": self.prose.template("policy.properties", command=VERIFY),
            "properties_intro": self.prose.template("property.intro", command=VERIFY),
            "tables": [self.table_view(t) for t in p.tables.values()],
            "rollouts": [self.rollout_view(r) for r in p.rollouts.values()],
            "assumptions": [self.note_view(a, "assume") for a in p.assumptions],
            "conflicts": self.conflicts(),
            "notes": [self.note_view(n, "note") for n in p.notes],
            "sources": self.sources_view(),
            "examples": [self.example_view(e, i) for i, e in enumerate(self.examples, start=1)],
            "source_lines": highlight.lines(p.decl.span.source.text),
            "fence": _fence(p.decl.span.source.text),
            "tryit": tryit.panel(self.prose, p, self.lang),
        }

    def file_name(self) -> str:
        """The policy file relative to the policies folder: never an absolute, machine-specific path."""
        base = os.path.abspath(self.policies_dir)
        if not os.path.isdir(base):  # a single policy file was named
            base = os.path.dirname(base)
        path = os.path.relpath(os.path.abspath(self.policy.file), base)
        return path.replace(os.sep, "/") if not path.startswith("..") else os.path.basename(self.policy.file)

    # ------------------------------------------------------------ declarations
    def input_view(self, item) -> dict:
        return {"anchor": anchor("input", item.path), "path": item.path, "fact_link": fact_link(item.path),
                "label": item.label.get(self.lang),
                "type": self.prose.type_text(item.type), "type_link": enum_link(self.prose, item.type),
                "unit": item.unit.label.get(self.lang) if item.unit else "",
                "assumptions": self.assumptions_about(item.path)}

    def define_view(self, item) -> dict:
        cases = []
        conditional = False
        for case in item.decl.cases:
            self.prose.period = (case.start, case.end)
            head: list[Seg] = []
            if case.start or case.end:
                head.append(Seg(period_text(case.start, case.end, self.lang)))
            if case.when is not None:
                conditional = True
                if head:
                    head.append(Seg(self.t("example.sep")))
                head += self.prose.template("define.when", cond=self.prose.expr(case.when))
            elif conditional and not head:
                head.append(Seg(self.t("define.otherwise")))
            cases.append({"when": tuple(head) or (Seg(self.t("define.always")),), "plain": not head,
                          "value": self.prose.expr(case.expr, item.type.unit)})
        self.prose.period = (None, None)
        single = cases[0]["value"] if len(cases) == 1 and cases[0]["plain"] else None
        return {"anchor": anchor("define", item.path), "path": item.path, "label": item.label.get(self.lang),
                "type": self.prose.type_text(item.type), "type_link": enum_link(self.prose, item.type),
                "unit": item.unit.label.get(self.lang) if item.unit else "", "cases": cases, "single": single,
                "sources": [self.quote(src) for src in item.decl.sources],
                "assumptions": self.assumptions_about(item.path)}

    def rule_view(self, rule) -> dict:
        decl = rule.decl
        eff = decl.effective
        start, end = (eff.start, eff.end) if eff else self.policy.effective
        self.prose.period = (start, end)
        body = decl.body
        view = {
            "anchor": anchor("rule", rule.name), "name": rule.name, "label": decl.label.get(self.lang),
            "kind": body.kind, "outcome": body.outcome, "outcome_word": i18n.t(f"outcome.{body.outcome}", self.lang),
            "code": body.code.value,
            "period": period_text(eff.start, eff.end, self.lang) if eff else self.t("period.policy"),
            "scope": self.prose.expr(decl.scope) if decl.scope is not None else None,
            "condition": self.prose.expr(body.condition) if body.condition is not None else None,
            "message": self.message(body.message),
            "supersedes": self.rule_link(decl.supersedes.value) if decl.supersedes else None,
            "superseded_by": [self.rule_link(r.name) for r in self.policy.rules
                              if r.decl.supersedes and r.decl.supersedes.value == rule.name],
            "exception_to": [self.rule_link(n.value) for n in decl.exception_to],
            "priority": decl.priority,
            "exceptions": [{"rule": self.rule_link(n), "priority": self.policy.rule(n).decl.priority}
                           for n in rule.exceptions if any(r.name == n for r in self.policy.rules)],
            "implements": [inventory_link(n.value) for n in decl.implements],
            "sources": [self.quote(src) for src in decl.sources],
            "assumptions": self.assumptions_about(rule.name),
            "consequences": [self.consequence(c) for c in decl.consequences],
        }
        self.prose.period = (None, None)
        return view

    def consequence(self, c: ast.Consequence) -> tuple[Seg, ...]:
        """`降权（7 天）：降权7天` — the kind, its period or amount, and its text."""
        out: list[Seg] = [Seg(i18n.t(f"consequence.{c.kind.value}", self.lang), "value")]  # the kind's name
        detail: list[tuple[Seg, ...]] = []
        if c.period in ("for", "until") and c.end is not None:
            detail.append((Seg(self.t(f"consequence.{c.period}")), *self.prose.expr(c.end)))
        elif c.period == "permanent":
            detail.append((Seg(self.t("consequence.permanent")),))
        if c.amount is not None:
            detail.append((Seg(self.t("consequence.amount")), *self.prose.expr(c.amount)))
        if detail:
            out += [Seg(self.t("consequence.open")), *self.prose.join(detail, self.t("x.list_sep")),
                    Seg(self.t("consequence.close"))]
        return (*out, Seg(self.t("example.colon")), *self.message(c.text))

    def property_view(self, prop: ast.PropertyDecl) -> dict:
        eff = prop.effective
        policy_start, policy_end = self.policy.effective
        # Defines read as constants over the days the property speaks of: its own period within the policy's.
        start = max((d for d in (eff and eff.start, policy_start) if d), default=None)
        end = min((d for d in (eff and eff.end, policy_end) if d), default=None)
        self.prose.period = (start, end)
        statement = self.prose.statement(prop)
        self.prose.period = (None, None)
        return {"anchor": anchor("property", prop.name.value), "name": prop.name.value,
                "label": prop.label.get(self.lang),
                "period": period_text(eff.start, eff.end, self.lang) if eff else None,
                "statement": statement}

    def rule_link(self, name: str) -> dict:
        rule = next((r for r in self.policy.rules if r.name == name), None)
        label = rule.decl.label.get(self.lang) if rule else name
        return link(label, "", anchor("rule", name))

    def message(self, text: ast.Text) -> tuple[Seg, ...]:
        """A message template with its placeholders shown as the labels of the values they name."""
        out: list[Seg] = []
        for piece, placeholder in text.string(self.lang).parts:
            if piece:
                out.append(Seg(piece))
            if placeholder is not None:
                path = placeholder.path
                label = self.prose.label_of_path(path) or path
                kind = "input" if path in self.policy.inputs else "define"
                out += [Seg(self.t("x.placeholder_open")), Seg(label, "term", anchor(kind, path)),
                        Seg(self.t("x.placeholder_close"))]
        return tuple(out)

    # ------------------------------------------------------------ tables
    def table_view(self, table) -> dict:
        decl = table.decl
        view = {"anchor": anchor("table", table.name), "name": table.name, "label": decl.label.get(self.lang),
                "kind": table.kind, "kind_text": self.t(f"table.kind.{table.kind}"), "hit": None,
                "assumptions": self.assumptions_about(table.name)}
        view.update(self.matrix(table) if table.kind == "matrix" else self.rows(table))
        if table.kind == "range":
            key = f"table.hit.{decl.hit}" + (f".{decl.aggregator}" if decl.aggregator else "")
            view["hit"] = self.t(key) if key in STRINGS else decl.hit
        view["has_special"] = any(c["cls"] in ("not-open", "not-stated") for row in view["body"] for c in row["cells"])
        return view

    def matrix(self, table) -> dict:
        row_enum, col_enum = (t.enum for t in table.param_types)
        corner = f"{self.prose.enum_label(row_enum)} \\ {self.prose.enum_label(col_enum)}"
        header = [corner] + [self.prose.enum_value_label(col_enum, c.value) for c in table.decl.columns]
        body = [{"head": self.prose.enum_value_label(row_enum, row.key.value),
                 "cells": [self.cell(c, table) for c in row.cells]} for row in table.decl.matrix]
        return {"header": header, "body": body}

    def rows(self, table) -> dict:
        decl = table.decl
        param = table.param_types[0]
        with_priority = any(r.priority is not None for r in decl.rows)
        param_label, param_unit = self.param_header(table)
        header = [param_label, decl.label.get(self.lang)]
        if with_priority:
            header.append(self.t("col.priority"))
        body = []
        for row in decl.rows:
            head = self.interval(row.key, param.unit or param_unit) if isinstance(row.key, ast.Interval) else \
                self.prose.enum_value_label(param.enum, row.key.value)
            cells = [self.cell(row.cell, table)]
            if with_priority:
                cells.append({"text": "" if row.priority is None else str(row.priority), "cls": ""})
            body.append({"head": head, "cells": cells})
        return {"header": header, "body": body}

    def param_header(self, table) -> tuple[str, str | None]:
        """The heading of a one-parameter table's key column and the unit of its bounds: the label
        of what the policy looks the table up with (`stage_ratio(shop.age)` -> 开店天数, 天)."""
        param = table.param_types[0]
        if param.kind == "enum":
            return self.prose.enum_label(param.enum), None
        for call in _calls(self.policy, table.name):
            resolved = self.model.resolve(call.args[0]) if call.args and isinstance(call.args[0], ast.Ref) else None
            if resolved is not None and resolved.kind in ("input", "define") and resolved.type is not None:
                return self.prose.label_of_path(resolved.target) or resolved.target, resolved.type.unit
        return table.decl.params[0].name.value, None

    def interval(self, key: ast.Interval, unit: str | None) -> str:
        def bound(value, kind):
            return self.prose.with_unit(literal_text(kind, value, self.lang), unit)
        if key.low is not None and key.high is not None and key.low_closed and key.high_closed:
            both = self.t("interval.closed", low=literal_text(key.low_kind, key.low, self.lang),
                          high=literal_text(key.high_kind, key.high, self.lang))
            return self.prose.with_unit(both, unit)  # "0 至 90 天", "0 to 90 days"
        parts = []
        if key.low is not None:
            parts.append(self.t("interval.ge" if key.low_closed else "interval.gt", low=bound(key.low, key.low_kind)))
        if key.high is not None:
            parts.append(self.t("interval.le" if key.high_closed else "interval.lt",
                                high=bound(key.high, key.high_kind)))
        if len(parts) == 2:
            return self.t("interval.and", a=parts[0], b=parts[1])
        return parts[0] if parts else self.t("interval.all")

    def cell(self, cell, table) -> dict:
        result = table.result
        if isinstance(cell, ast.NotOpen):
            return {"text": i18n.t("not_open", self.lang), "cls": "not-open"}
        if isinstance(cell, ast.NotStated):
            return {"text": self.t("table.not_stated"), "cls": "not-stated"}
        if isinstance(cell, ast.Literal):
            text = self.prose.with_unit(literal_text(cell.kind, cell.value, self.lang), result.unit)
            return {"text": text, "cls": "value"}
        if isinstance(cell, ast.EnumCell):
            return {"text": self.prose.enum_value_label(result.enum, cell.value.value), "cls": "value"}
        if isinstance(cell, ast.SetCell):
            items = [self.prose.enum_value_label(result.enum, n.value) for n in cell.items]
            return {"text": self.t("x.list_sep").join(items) or self.t("table.empty_set"), "cls": "value"}
        return {"text": "?", "cls": ""}

    # ------------------------------------------------------------ rollouts, assumptions, sources
    def rollout_view(self, rollout: ast.RolloutDecl) -> dict:
        phases = [{"name": p.name.value, "label": p.label.get(self.lang), "start": p.start.isoformat(),
                   "end": p.end.isoformat(), "ramp": timeline.ramp_text(p.ramp_from, p.ramp_to, self.lang),
                   "text": self.t("rollout.phase", start=p.start.isoformat(), end=p.end.isoformat(),
                                  ramp_from=rv.percent_text(p.ramp_from), ramp_to=rv.percent_text(p.ramp_to))}
                  for p in rollout.phases]
        return {"anchor": anchor("rollout", rollout.name.value), "name": rollout.name.value,
                "label": rollout.label.get(self.lang),
                "key_text": self.prose.template("rollout.key_text", key=self.prose.input_term(rollout.key.value)),
                "phases": phases, "assumptions": self.assumptions_about(rollout.name.value),
                "chart": self.rollout_chart(rollout)}

    def rollout_chart(self, rollout: ast.RolloutDecl) -> dict | None:
        """The simulated coverage of a rollout (simulate.py: the same buckets as evaluation) as an SVG chart:
        inline on the HTML page, a file next to the Markdown page; None for a rollout without phases."""
        if not rollout.phases:
            return None
        name, key = rollout.name.value, rollout.key.value
        start, end = simulate.chart_window(rollout)
        population = simulate.DEFAULT_POPULATION
        result = simulate.Simulation(decl=rollout, name=name, population=population,
                                     days=_chart_days(name, phase_specs(rollout), start, end))
        title = self.t("rollout.chart_title", rollout=rollout.label.get(self.lang))
        svg = simulate.chart_svg([result], self.lang, title=title, desc=simulate.describe(result, self.lang),
                                 headings=[title], ident=f"chart-{name}", css_class="rollout-chart-svg")
        caption = self.prose.template(
            "rollout.chart_caption", margin=(Seg(str(simulate.CHART_MARGIN_DAYS)),),
            population=(Seg(rv.display("count", population, self.lang)),),
            first=(Seg(simulate.population_id(0), "code"),),
            last=(Seg(simulate.population_id(population - 1), "code"),),
            key=self.prose.input_term(key),
            covered=(Seg(f"covered({name})", "code"),))
        return {"svg": Markup(svg.rstrip("\n")), "file": f"{self.policy.id}.{name}.rollout.svg", "alt": title,
                "caption": caption}

    def note_view(self, item, kind: str) -> dict:
        return {"anchor": anchor(kind, item.name.value), "name": item.name.value, "text": item.text.get(self.lang),
                "about": [self.about_link(a.value) for a in item.about],
                "sources": [self.quote(src) for src in item.sources]}

    def conflicts(self) -> tuple[Seg, ...] | None:
        """"与「Y」的冲突见「label」" per overlap, linking to its section of the index; None without any."""
        prose = BookRenderer(self.model, self.lang)
        parts = [prose.template("policy.conflict_with", policy=prose.policy_term(other),
                                overlap=prose.quoted(o.overlap.label.get(self.lang), overlap_anchor(o.name), "index"))
            for o in self.model.overlaps if not o.implicit and self.policy.id in o.policies
            for other in o.policies if other != self.policy.id]
        return prose.join(parts, self.t("policy.conflict_sep")) if parts else None

    def about_link(self, name: str) -> dict:
        p = self.policy
        if inv.ID.match(name):
            return inventory_link(name)
        if any(r.name == name for r in p.rules):
            return self.rule_link(name)
        tables = {n: table.decl for n, table in p.tables.items()}
        for kind, items in (("input", p.inputs), ("define", p.defines), ("table", tables), ("rollout", p.rollouts)):
            if name in items:
                return link(items[name].label.get(self.lang), "", anchor(kind, name))
        return link(name, "", "", "code")

    def assumptions_about(self, name: str) -> list[dict]:
        return [{"link": link(a.name.value, "", anchor("assume", a.name.value), "code"), "text": a.text.get(self.lang)}
                for a in self.about.get(name, [])]

    def quote(self, src: ast.SourceRef) -> dict:
        return {"document": src.document, "quote": src.quote}

    def sources_view(self) -> list[dict]:
        """Every quote of the policy, grouped by document, with what cites it and its inventory ids."""
        quotes: dict[tuple[str, str], dict] = {}
        for source, cited_by, ids in self._citations():
            entry = quotes.setdefault((source.document, source.quote),
                                      {"quote": source.quote, "cited_by": [], "ids": []})
            if cited_by not in entry["cited_by"]:
                entry["cited_by"].append(cited_by)
            entry["ids"] += [i for i in ids if i not in entry["ids"]]
        documents: dict[str, list[dict]] = {}
        for (document, _), entry in quotes.items():
            entry["ids"] = [inventory_link(i) for i in sorted(entry["ids"], key=inv.id_order)]
            documents.setdefault(document, []).append(entry)
        return [{"document": d, "anchor": f"source-{i}", "quotes": documents[d]}
                for i, d in enumerate(sorted(documents), start=1)]

    def _citations(self) -> Iterable[tuple[ast.SourceRef, dict, list[str]]]:
        p = self.policy
        declared = [n.value for n in p.decl.implements]

        def by_document(doc: str) -> list[str]:
            return [i for i in declared if doc.startswith(i[1:4] + "_")]

        for src in p.decl.sources:
            yield src, link(self.t("source.cited_by_policy")), by_document(src.document)
        for define in p.defines.values():
            for src in define.decl.sources:
                yield src, link(define.label.get(self.lang), "", anchor("define", define.path)), by_document(src.document)
        for rule in p.rules:
            own = [n.value for n in rule.decl.implements]
            for src in rule.decl.sources:
                yield src, self.rule_link(rule.name), own or by_document(src.document)
        for kind, items in (("assume", p.assumptions), ("note", p.notes)):
            for item in items:
                about = [a.value for a in item.about if inv.ID.match(a.value)]
                for src in item.sources:
                    yield src, link(item.name.value, "", anchor(kind, item.name.value), "code"), \
                        about or by_document(src.document)

    # ------------------------------------------------------------ timeline
    def timeline_lanes(self) -> list[timeline.Lane]:
        p = self.policy
        lanes: list[timeline.Lane] = []
        start, end = p.effective
        if start or end:
            lanes.append(timeline.Lane(label=self.t("timeline.policy"),
                                       bars=(timeline.Bar(start=start, end=end, kind="policy"),), href=("", "overview")))
        for rule in p.rules:
            eff = rule.decl.effective
            if eff and (eff.start or eff.end):
                lanes.append(timeline.Lane(label=rule.decl.label.get(self.lang), href=("", anchor("rule", rule.name)),
                                           bars=(timeline.Bar(start=eff.start, end=eff.end, kind="rule"),)))
        for define in p.defines.values():
            dated = [c for c in define.decl.cases if c.start or c.end]
            if dated:
                bars = tuple(timeline.Bar(start=c.start, end=c.end, kind="value conditional" if c.when else "value",
                                          text=self.case_text(c, define)) for c in dated)
                lanes.append(timeline.Lane(label=define.label.get(self.lang), bars=bars,
                                           href=("", anchor("define", define.path))))
        for rollout in p.rollouts.values():
            for phase in rollout.phases:
                kind = phase.name.value if phase.name.value in ("pilot", "full") else "phase"
                lanes.append(timeline.Lane(
                    label=f"{phase.label.get(self.lang)}{self.t('example.colon')}{rollout.label.get(self.lang)}",
                    href=("", anchor("rollout", rollout.name.value)),
                    bars=(timeline.Bar(start=phase.start, end=phase.end, kind=kind,
                                       text=timeline.ramp_text(phase.ramp_from, phase.ramp_to, self.lang),
                                       ramp=(phase.ramp_from, phase.ramp_to)),)))
        return lanes

    def case_text(self, case, define) -> str:
        """A dated value case's value and, for a case that holds only under a condition, that condition (a
        conditional case is drawn hatched: on its dates the value holds only where the condition does)."""
        value = plain(self.prose.expr(case.expr, define.type.unit))
        if case.when is None:
            return value
        return self.t("timeline.when", value=value, condition=plain(self.prose.expr(case.when)))

    # ------------------------------------------------------------ worked examples
    def example_view(self, example: Example, index: int) -> dict:
        compiled = self.book.compiled[example.policy]
        facts = []
        for path, text in example.givens:
            spec = compiled.inputs[path]
            value, problem = convert(spec, raw_fact(spec, text))
            shown = text if problem is not None else compiled.show(path, value, self.lang)
            facts.append({"label": spec.label[self.lang], "value": shown, "kind": spec.kind,
                          "anchor": anchor("input", path)})
        decision = example.decision
        named = example.lang == self.lang  # a scenario name is shown only on pages of its own language
        view = {"anchor": f"example-{index}", "file": example.file, "line": example.line,
                "title": example.name if named else self.t("example.untitled", file=example.file, line=example.line),
                "source": self.t("example.from", file=example.file, line=example.line) if named else "",
                "tags": [inventory_link(t) for t in example.tags], "date": example.at.isoformat(), "facts": facts,
                "outcome": decision.outcome if decision else "error",
                "outcome_word": (i18n.t(f"outcome.{decision.outcome}", self.lang) if decision
                                 else self.t("outcome.error")),
                "reasons": [], "warnings": [], "computed": [], "unresolved": [], "mismatch": example.mismatch,
                "expected": self.expected(example)}
        if decision is not None:
            view["reasons"] = [r.message[self.lang] for r in decision.reasons]
            view["warnings"] = [w.message[self.lang] for w in decision.warnings]
            view["computed"] = [{"label": compiled.defines[p].label[self.lang], "value": compiled.show(p, v, self.lang)}
                                for p, v in decision.values.items()]
            sep = self.t("x.list_sep")
            view["unresolved"] = [self.t("example.needs", label=compiled.defines[p].label[self.lang],
                                         facts=sep.join(compiled.inputs[f].label[self.lang] for f in facts))
                                  for p, facts in decision.unresolved.items()]
        elif example.unknown:
            view["reasons"] = [self.t("example.unknown_fact", name=n) for n in example.unknown]
        elif example.error is not None and example.error.code == "missing_facts":
            labels = [compiled.inputs[p].label[self.lang] for p in example.error.facts if p in compiled.inputs]
            view["reasons"] = [self.t("example.missing", facts=self.t("x.list_sep").join(labels))]
        elif example.error is not None and example.error.key == "E.not_stated":
            view["reasons"] = [self.not_stated(example.error)]
        elif example.error is not None:
            view["reasons"] = [" ".join(example.error.message(self.lang).split())]
        view["summary"] = self.summary(view)
        return view

    def not_stated(self, error: PolicyDslError) -> str:
        """A cell the sources leave empty, named by the table's label and its keys' labels (not ids)."""
        table = self.policy.tables[str(error.args_map["table"])]
        keys = str(error.args_map["key"]).split(", ")
        labels = [self.prose.enum_value_label(kind.enum, key) if kind.enum else key
                  for kind, key in zip(table.param_types, keys)]
        return self.t("example.not_stated", table=table.decl.label.get(self.lang),
                      cell=self.t("x.list_sep").join(labels))

    def expected(self, example: Example) -> str | None:
        if example.expects_failure:
            return self.t("example.expects_error")
        if example.expected_outcome:
            return self.t("example.expected", outcome=i18n.t(f"outcome.{example.expected_outcome}", self.lang))
        return None

    def summary(self, view: dict) -> str:
        """"个体工商户，粉丝数 999，2023-06-01 → 拒绝：粉丝数 999，未达到 1000 的门槛"."""
        sep = self.t("example.sep")
        colon = self.t("example.colon")
        facts = [f["value"] if f["kind"] == "enum" else f"{f['label']}{colon}{f['value']}" if f["kind"] == "bool"
                 else f"{f['label']} {f['value']}" for f in view["facts"]]
        head = sep.join([*facts, view["date"]])
        tail = view["outcome_word"]
        if view["reasons"]:
            tail += colon + self.t("example.reasons_sep").join(view["reasons"])
        return f"{head} {self.t('example.arrow')} {tail}"


def _fence(text: str) -> str:
    """A Markdown code fence longer than any run of backticks in `text`."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _calls(policy: Policy, name: str) -> Iterable[ast.Call]:
    roots: list[object] = []
    for define in policy.defines.values():
        for case in define.decl.cases:
            roots += [case.expr, case.when]
    for rule in policy.rules:
        roots += [rule.decl.scope, rule.decl.body.condition]
    yield from (node for node in ast.walk(tuple(roots)) if isinstance(node, ast.Call) and node.func.value == name)


def fact_reads(model: Model, policy: Policy) -> dict[str, dict[str, frozenset[str]]]:
    """The facts each rule, value (`define`) and property of `policy` reads: {"rule": {name: facts}, "define":
    {path: facts}, "property": {name: facts}}. A rule reads the facts its `when`, its `require` condition
    and its message placeholders (in either language) name, and, transitively, those of every value they
    use, its cases and their conditions included; a value and a property (premise and claim) likewise. A
    table is read through the arguments of its call (its rows hold only literals), a rollout through its key
    (`covered(r)` hashes the fact the rollout's `key` names); "applies" holds ("" →) the facts of the
    policy's `applies when`."""
    memo: dict[str, frozenset[str]] = {}

    def path(name: str, seen: frozenset[str]) -> frozenset[str]:
        if name in policy.inputs:
            return frozenset((name,))
        if name not in policy.defines or name in seen:  # the checker refuses cycles: never loop on one
            return frozenset()
        if name not in memo:
            cases = policy.defines[name].decl.cases
            memo[name] = frozenset().union(*(expr(e, seen | {name}) for c in cases for e in (c.expr, c.when)))
        return memo[name]

    def expr(root: object, seen: frozenset[str] = frozenset()) -> frozenset[str]:
        found: set[str] = set()
        for node in ast.walk(root):
            if isinstance(node, ast.Ref) and model.resolve(node).kind in ("input", "define"):
                found |= path(node.path, seen)
            elif isinstance(node, ast.Covered) and node.rollout.value in policy.rollouts:
                found |= path(policy.rollouts[node.rollout.value].key.value, seen)
        return frozenset(found)

    rules: dict[str, frozenset[str]] = {}
    for rule in policy.rules:
        decl = rule.decl
        named = {p.path for p in decl.body.message.placeholders()}
        rules[rule.name] = frozenset().union(expr(decl.scope), expr(decl.body.condition),
                                             *(path(p, frozenset()) for p in sorted(named)))
    return {"rule": rules, "define": {p: path(p, frozenset()) for p in policy.defines},
            "property": {x.name.value: expr(x.premise) | expr(x.claim) for x in policy.properties},
            "applies": {"": expr(policy.decl.applies)}}

