"""The whole rule book and a language in, the view models of the whole-book pages out: the index by
subject, the inventory table, the glossary, the data dictionary, the change timeline and the step phrase
reference."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from policydsl import i18n
from policydsl import inventory as inv
from policydsl.bdd.phrases import PHRASES
from policydsl.docs import timeline
from policydsl.docs.examples import Example
from policydsl.docs.prose import BookRenderer, Prose, Renderer, Seg, anchor, period_text, plain, source_text
from policydsl.docs.strings import HTML_LANG, LANGS, s
from policydsl.docs.view import enum_link, fact_link, fact_reads, inventory_link, link, overlap_anchor, policy_page
from policydsl.loader import PolicySet
from policydsl.semantics.model import BookOverlap, BookProperty, Input, Policy

SHOWN_SCENARIOS = 3  # per inventory row; the policy page lists every worked example


def policy_link(book: PolicySet, pid: str, lang: str, anchor_: str = "") -> dict:
    return link(book.model.policies[pid].title.get(lang), policy_page(pid), anchor_)


# ---------------------------------------------------------------- the index
def index_view(book: PolicySet, lang: str, examples: dict[str, list[Example]]) -> dict:
    groups: dict[str, list[dict]] = {}
    for pid in sorted(book.model.policies):
        policy = book.model.policies[pid]
        groups.setdefault(pid.split(".")[0], []).append({
            "link": policy_link(book, pid, lang), "id": pid, "period": period_text(*policy.effective, lang),
            "implements": [inventory_link(n.value) for n in policy.decl.implements], "rules": len(policy.rules),
            "properties": len(policy.properties)})
    rules = sum(len(p.rules) for p in book.model.policies.values())
    count = sum(len(v) for v in examples.values())
    prose = BookRenderer(book.model, lang)
    book_properties = [_book_property(book, bp, prose) for bp in book.model.book_properties]
    overlaps = [_overlap(book, o, prose) for o in book.model.overlaps if not o.implicit]
    return {"book_properties": book_properties, "overlaps": overlaps,
            "subjects": [{"key": key, "anchor": f"subject-{key}", "policies": groups[key]} for key in sorted(groups)],
            "stats": s("book.stats", lang, policies=len(book.model.policies), rules=rules, examples=count)}


def _book_property(book: PolicySet, bp: BookProperty, prose: BookRenderer) -> dict:
    """A book property in plain language, as a policy's properties are, with its code underneath."""
    decl, lang = bp.decl, prose.lang
    premise = f"when {source_text(decl.premise)} " if decl.premise is not None else ""
    return {"anchor": f"book-property-{bp.name}", "name": bp.name, "label": decl.label.get(lang),
            "period": period_text(decl.effective.start, decl.effective.end, lang) if decl.effective else None,
            "statement": prose.statement(decl), "code": f"{premise}expect {source_text(decl.claim)}",
            "policies": [policy_link(book, pid, lang) for pid in bp.policies]}


def _overlap(book: PolicySet, o: BookOverlap, prose: BookRenderer) -> dict:
    """A declared overlap: its two policies, the question's scope, what agreement means, the resolution
    and the assumptions that explain it (linked to the policy page's assumptions)."""
    decl, lang = o.overlap, prose.lang
    return {"anchor": overlap_anchor(o.name), "name": o.name, "label": decl.label.get(lang),
            "period": period_text(decl.effective.start, decl.effective.end, lang) if decl.effective else None,
            "policies": [policy_link(book, pid, lang) for pid in o.policies],
            "scope": prose.expr(decl.premise) if decl.premise is not None else (Seg(s("overlap.scope_all", lang)),),
            "agree": prose.expr(decl.agree) if decl.agree is not None else (Seg(s("overlap.same_decision", lang)),),
            "resolution": _resolution(o, prose),
            "explained_by": [{"link": link(a.name.value, policy_page(pid), anchor("assume", a.name.value), "code"),
                              "policy": policy_link(book, pid, lang), "text": a.text.get(lang)}
                             for pid, a in o.explained_by]}


def _resolution(o: BookOverlap, prose: BookRenderer) -> Prose:
    """"以「X」为准" / "“X” prevails", "已知冲突" / "known conflict", or "尚未处理" / "not resolved"."""
    if o.resolution == "prevails" and o.prevails:  # the one implies the other
        return prose.template("overlap.prevails", policy=prose.policy_term(o.prevails))
    return (Seg(prose.t("overlap.known" if o.resolution == "known" else "overlap.unresolved")),)


# ---------------------------------------------------------------- the inventory
def inventory_view(book: PolicySet, features: Path, lang: str, examples: dict[str, list[Example]]) -> dict:
    rows = inv.build(book.model, features)
    located = _example_index(examples)
    return {"rows": [{
        "id": row.id, "anchor": f"inv-{row.id}",
        "documents": sorted(row.documents),
        "policies": [policy_link(book, p, lang) for p in dict.fromkeys(row.policies) if p in book.model.policies],
        "rules": [_item_link(book, x, "rule", lang) for x in row.rules],
        "notes": [_item_link(book, x, "note", lang) for x in row.notes],
        "assumptions": [_item_link(book, x, "assume", lang) for x in dict.fromkeys(row.assumptions)],
        "scenarios": [_scenario_link(x, located, lang) for x in row.scenarios[:SHOWN_SCENARIOS]],
        "more_scenarios": _more(row, lang),
        "scenario_count": s("inventory.scenario_count", lang, count=len(row.scenarios)),
        "status": s(f"status.{row.status}", lang), "status_class": "ok" if row.status in ("ok", "note") else "bad",
    } for row in rows]}


def _more(row: inv.Row, lang: str) -> dict | None:
    """"另有 N 个场景", linking to the worked examples of the row's policy."""
    hidden = len(row.scenarios) - SHOWN_SCENARIOS
    if hidden <= 0:
        return None
    return link(s("inventory.more", lang, count=hidden), policy_page(row.policies[0]) if row.policies else "",
                "examples" if row.policies else "")


def _item_link(book: PolicySet, ref: str, kind: str, lang: str) -> dict:
    pid, _, name = ref.partition(":")
    policy = book.model.policies.get(pid)
    if kind == "rule" and policy is not None and any(r.name == name for r in policy.rules):
        return link(policy.rule(name).decl.label.get(lang), policy_page(pid), anchor("rule", name))
    return link(name, policy_page(pid) if policy else "", anchor(kind, name), "code")


def _example_index(examples: dict[str, list[Example]]) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(feature file name, scenario name) -> (policy, example anchor, feature language), first row of an outline."""
    out: dict[tuple[str, str], tuple[str, str, str]] = {}
    for pid in sorted(examples):
        for index, example in enumerate(examples[pid], start=1):
            out.setdefault((Path(example.file).name, example.name), (pid, f"example-{index}", example.lang))
    return out


def _scenario_link(scenario: str, located: dict, lang: str) -> dict:
    file, _, name = scenario.partition(": ")
    found = located.get((file, name))
    feature_lang = found[2] if found else ("zh" if ".zh." in file else "en")
    text = name if feature_lang == lang else s("inventory.other_lang_scenario", lang, file=file)
    if found:
        return link(text, policy_page(found[0]), found[1])
    return link(text)


# ---------------------------------------------------------------- the glossary
def glossary_view(book: PolicySet, lang: str) -> dict:
    """Enums, facts and computed values, units: every name in both languages. Its facts are the data
    dictionary's (every fact of the vocabulary, read or not, and every policy's own inputs); a fact's id
    links to its dictionary row, and "used in" names the same policies as the dictionary's "read by"."""
    model = book.model
    enums = [{"id": name, "anchor": f"enum-{name}", "zh": decl.label.zh, "en": decl.label.en,
              "values": [{"id": v.name.value, "zh": v.label.zh, "en": v.label.en} for v in decl.values]}
             for name, decl in sorted(model.enums.items())]
    facts: dict[tuple[str, str, str, str], list[dict]] = {}
    for path, fact in model.facts.items():
        facts.setdefault((path, fact.label.zh, fact.label.en, "input"), [])
    for pid in sorted(model.policies):
        policy = model.policies[pid]
        for kind, items in (("input", policy.inputs), ("define", policy.defines)):
            for path, item in items.items():
                key = (path, item.label.zh, item.label.en, kind)
                facts.setdefault(key, []).append(policy_link(book, pid, lang, anchor(kind, path)))
    terms = [{"path": path, "zh": zh, "en": en, "kind": s(f"kind.{kind}", lang), "used_in": used,
              "link": fact_link(path) if kind == "input" else None}
             for (path, zh, en, kind), used in sorted(facts.items())]
    units = [{"id": name, "zh": decl.label.zh, "en": decl.label.en} for name, decl in sorted(model.units.items())]
    return {"enums": enums, "facts": terms, "units": units}


# ---------------------------------------------------------------- the data dictionary
def dictionary_view(book: PolicySet, lang: str) -> dict:
    """Every fact of the book: a section per entity of the vocabulary (in declaration order), then the
    facts policies declare themselves (`input`, by id). A row has the fact's labels, type and unit, and
    who reads it: each policy whose inputs hold it (Model.readers), with those of its rules that read it
    (view.fact_reads). A policy none of whose rules reads the fact says so, and names its computed values
    and properties that do (if any: the fact may only be named by an assumption)."""
    model = book.model
    other = next((x for x in LANGS if x != lang), lang)
    prose = Renderer(model, None, lang)  # only its type and label helpers: no policy's expressions
    reads = {pid: fact_reads(model, model.policies[pid]) for pid in sorted(model.policies)}
    by_fact: dict[str, list[Policy]] = {}  # Model.readers of every fact at once: one pass over the policies
    own: dict[str, list[Input]] = {}  # the facts of no entity, as each policy declares them
    for pid in sorted(model.policies):
        for path, item in model.policies[pid].inputs.items():
            by_fact.setdefault(path, []).append(model.policies[pid])
            if path not in model.facts:
                own.setdefault(path, []).append(item)

    def readers(path: str) -> list[dict]:
        out = []
        for policy in by_fact.get(path, ()):
            page, read = policy_page(policy.id), reads[policy.id]
            rules = [link(r.decl.label.get(lang), page, anchor("rule", r.name))
                     for r in policy.rules if path in read["rule"][r.name]]
            # `applies when` decides whether a whole-book decision decides the policy at all: always named
            applies = [link(s("policy.applies", lang), page, "overview")] if path in read["applies"][""] else []
            others = applies if rules else [
                *applies,
                *(link(d.label.get(lang), page, anchor("define", d.path))
                  for d in policy.defines.values() if path in read["define"][d.path]),
                *(link(x.label.get(lang), page, anchor("property", x.name.value))
                  for x in policy.properties if path in read["property"][x.name.value])]
            out.append({"policy": policy_link(book, policy.id, lang), "rules": rules, "others": others})
        return out

    def row(path: str, declared: list[Input]) -> dict:
        fact = declared[0]  # the checker gives a fact one type and unit across the book (P0210)
        labels = list(dict.fromkeys(d.label for d in declared))  # a policy's own input: as each policy names it
        return {"id": path, "anchor": f"fact-{path}",
                "label": s("x.list_sep", lang).join(x.get(lang) for x in labels),
                "other_label": s("x.list_sep", other).join(x.get(other) for x in labels),
                "type": prose.type_text(fact.type), "type_link": enum_link(prose, fact.type),
                "unit": fact.unit.label.get(lang) if fact.unit else "", "readers": readers(path)}

    sections = [{"anchor": f"entity-{name}", "name": name, "label": entity.label.get(lang),
                 "other_label": entity.label.get(other), "intro": "",
                 "facts": [row(f.path.value, [model.facts[f.path.value]]) for f in entity.facts]}
                for name, entity in model.entities.items()]
    if own:
        sections.append({"anchor": "other-facts", "name": "", "label": s("dictionary.other_facts", lang),
                         "other_label": "", "intro": s("dictionary.other_intro", lang),
                         "facts": [row(path, own[path]) for path in sorted(own)]})
    return {"sections": sections, "other_lang": HTML_LANG[other]}


# ---------------------------------------------------------------- the change timeline
def changes_view(book: PolicySet, lang: str) -> dict:
    events: list[tuple[dt.date, str, int, str, dict]] = []
    lanes: list[timeline.Lane] = []
    undated = []
    for pid in sorted(book.model.policies, key=lambda p: (book.model.policies[p].effective[0] or dt.date.min, p)):
        found = list(_policy_events(book, pid, lang))
        events += found
        policy = book.model.policies[pid]
        start, end = policy.effective
        marks = tuple(timeline.Mark(day=d, title=f"{d.isoformat()} {t}")
                      for d, t in sorted({(e[0], e[3]) for e in found if e[0] not in (start, end)}))
        dated = bool(start or end)
        if not dated:
            undated.append(policy_link(book, pid, lang))
        if dated or marks:  # an undated policy has a lane only for its dated rules, values and phases
            bars = (timeline.Bar(start=start, end=end, kind="policy"),) if dated else ()
            lanes.append(timeline.Lane(label=policy.title.get(lang), href=(policy_page(pid), ""), bars=bars,
                                       marks=marks, undated=not dated))
    rows = [{"date": day.isoformat(), "policy": policy_link(book, pid, lang), "change": text, "link": target}
            for day, pid, _, text, target in sorted(events, key=lambda e: (e[0], e[1], e[2], e[3]))]
    return {"timeline": timeline.layout(lanes, lang), "rows": rows, "undated": undated}


def _policy_events(book: PolicySet, pid: str, lang: str):
    policy = book.model.policies[pid]
    page = policy_page(pid)
    title = policy.title.get(lang)
    start, end = policy.effective
    if start:
        yield start, pid, 0, s("change.policy_start", lang, label=title), link("", page, "overview")
    if end:
        yield end, pid, 9, s("change.policy_end", lang, label=title), link("", page, "overview")
    for rule in policy.rules:
        eff = rule.decl.effective
        label = rule.decl.label.get(lang)
        target = link("", page, anchor("rule", rule.name))
        if eff and eff.start and eff.start != start:
            yield eff.start, pid, 1, s("change.rule_start", lang, label=label), target
        if eff and eff.end and eff.end != end:
            yield eff.end, pid, 8, s("change.rule_end", lang, label=label), target
    prose = Renderer(book.model, policy, lang)
    for define in policy.defines.values():
        for case in define.decl.cases:
            value = plain(prose.expr(case.expr, define.type.unit))
            label = define.label.get(lang)
            target = link("", page, anchor("define", define.path))
            if case.start and case.start != start:
                yield case.start, pid, 2, s("change.value_start", lang, label=label, value=value), target
            if case.end and case.end != end:
                yield case.end, pid, 7, s("change.value_end", lang, label=label, value=value), target
    for rollout in policy.rollouts.values():
        label = rollout.label.get(lang)
        target = link("", page, anchor("rollout", rollout.name.value))
        for phase in rollout.phases:
            ramp = timeline.ramp_text(phase.ramp_from, phase.ramp_to, lang)
            yield phase.start, pid, 3, s("change.phase_start", lang, label=label, phase=phase.label.get(lang),
                                         ramp=ramp), target
            yield phase.end, pid, 6, s("change.phase_end", lang, label=label, phase=phase.label.get(lang)), target


# ---------------------------------------------------------------- the step phrases
def steps_view(lang: str) -> dict:
    return {"language_line": "# language: zh-CN",
            "phrases": [{"kind": s(f"step.{p.kind}", lang), "key": p.key, "example_zh": p.example_zh,
                         "example_en": p.example_en, "meaning": i18n.t(f"phrase.{p.key}", lang)}
                        for p in PHRASES]}
