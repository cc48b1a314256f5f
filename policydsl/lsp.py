"""Editor requests in, LSP answers out: the server behind `policydsl lsp` (policydsl.commands.lsp) serves
diagnostics, hover, completion, definitions, references, outline and formatting over stdio, reading everything
from the checked model."""
from __future__ import annotations

import contextlib
import functools
import re
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import attrs
from lsprotocol import types as lt
from pygls import uris
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from policydsl import i18n
from policydsl.errors import InternalError
from policydsl.diagnostics import Diagnostic
from policydsl.formatter import FormatError, format_expr, format_text
from policydsl.loader import Analysis, analyse_sources
from policydsl.lsp_rpc import PolicyProtocol, serve, strict_converter
from policydsl.semantics.analyses import notes as model_notes
from policydsl.semantics.check import CONSEQUENCE_KINDS
from policydsl.semantics.model import BookOverlap, Define, Input, Model, Policy
from policydsl.source import SourceFile, Span
from policydsl.syntax import ast

# ------------------------------------------------------------------ strings (zh / en)
STRINGS: dict[str, tuple[str, str]] = {
    "kind.policy": ("政策", "policy"),
    "kind.input": ("事实", "fact"),
    "kind.fact": ("事实", "fact"),
    "kind.entity": ("实体", "entity"),
    "field.facts": ("事实", "facts"),
    "field.consequence": ("后果", "consequence"),
    "field.readers": ("读取它的政策", "read by"),
    "field.nobody": ("（尚无政策读取）", "(no policy reads it yet)"),
    "kind.define": ("取值", "value"),
    "kind.rule": ("规则", "rule"),
    "kind.table": ("表格", "table"),
    "kind.rollout": ("逐步放开", "rollout"),
    "kind.enum": ("枚举", "enum"),
    "kind.value": ("枚举值", "enum value"),
    "kind.unit": ("单位", "unit"),
    "kind.assume": ("假设", "assumption"),
    "kind.note": ("说明", "note"),
    "kind.property": ("性质", "property"),
    "kind.overlap": ("两条政策共同回答的问题（overlap）", "a question two policies answer (overlap)"),
    "field.between": ("比较的政策", "policies compared"),
    "field.agree": ("一致的含义", "agreement means"),
    "field.same_outcome": ("两条政策的结论相同", "the two outcomes are the same"),
    "field.resolution": ("冲突的处理", "resolution"),
    "resolution.prevails": ("以 {policy} 为准", "{policy} prevails"),
    "resolution.known": ("已知冲突（文档本身无法决定）", "a known conflict (the documents cannot settle it)"),
    "resolution.none": ("尚未决定（`check --deep` 会搜索冲突）", "not decided yet (`check --deep` searches for a conflict)"),
    "field.explained_by": ("理由", "explained by"),
    "kind.outcome": ("决定的结论（allow 或 deny）", "the decision's outcome (allow or deny)"),
    "kind.outcome_value": ("结论", "outcome"),
    "kind.fires": ("规则是否给出了理由或警告", "whether a rule gave its reason or warning"),
    "kind.keyword": ("关键字", "keyword"),
    "field.type": ("类型", "type"),
    "field.unit": ("单位", "unit"),
    "field.effective": ("生效期", "effective"),
    "field.source": ("来源", "source"),
    "field.cases": ("取值情形", "cases"),
    "field.outcome": ("结论", "outcome"),
    "field.values": ("取值", "values"),
    "field.enum": ("所属枚举", "enum"),
    "field.hit": ("命中策略", "hit policy"),
    "field.key": ("分桶键", "bucket key"),
    "field.phases": ("阶段", "phases"),
    "field.hint": ("提示", "hint"),
    "field.premise": ("前提", "premise"),
    "field.claim": ("断言", "claim"),
    "field.verify": ("验证", "verify"),
    "period.policy": ("{period}（政策的生效期）", "{period} (the policy's period)"),
    "period.always": ("始终", "always"),
    "period.from": ("自 {start} 起", "from {start}"),
    "period.until": ("至 {end} 止", "until {end}"),
    "period.between": ("{start} 至 {end}", "{start} to {end}"),
    "log.internal": ("policydsl 语言服务器内部错误（这是我们的缺陷，请报告）：{error}", "policydsl language server internal error (our bug, please report it): {error}"),
    "log.started": ("policydsl 语言服务器已启动", "policydsl language server started"),
}


s = i18n.register("lsp", STRINGS)


def both(key: str, lang: str, **args: object) -> str:
    """`primary / other` in the server's language first."""
    other = "en" if lang == "zh" else "zh"
    return f"{s(key, lang, **args)} / {s(key, other, **args)}"


KEYWORDS = ("policy", "title", "implements", "source", "quote", "effective", "from", "until", "unit", "enum",
            "value", "input", "define", "rule", "exception", "to", "priority", "supersedes", "when", "require",
            "else", "allow", "deny", "warn", "table", "hit", "unique", "first", "collect", "sum", "min", "max",
            "any", "all", "for", "in", "not", "and", "or", "row", "columns", "rollout", "key", "phase", "ramp",
            "assume", "note", "about", "set", "of", "today", "covered", "not_open", "count", "number", "money",
            "percent", "bool", "text", "date", "days", "months", "working", "property", "expect", "entity", "fact",
            "applies", "consequence", "amount", "permanent", "overlap", "between", "agree", "prevails", "known",
            "conflict", "because", *CONSEQUENCE_KINDS)
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


# ------------------------------------------------------------------ positions
def to_position(source: SourceFile, offset: int) -> lt.Position:
    """A character offset as an LSP position: 0-based line, UTF-16 code units."""
    line, col = source.position(offset)
    prefix = source.line_text(line)[: col - 1]
    return lt.Position(line=line - 1, character=utf16_len(prefix))


def to_range(span: Span) -> lt.Range:
    return lt.Range(start=to_position(span.source, span.start), end=to_position(span.source, span.end))


def utf16_len(text: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def to_offset(text: str, position: lt.Position) -> int:
    """An LSP position as a character offset into `text` (clamped to the line and the text)."""
    lines = text.split("\n")
    if position.line >= len(lines):
        return len(text)
    start = sum(len(line) + 1 for line in lines[: position.line])
    units = 0
    for i, ch in enumerate(lines[position.line]):
        if units >= position.character:
            return start + i
        units += 2 if ord(ch) > 0xFFFF else 1
    return start + len(lines[position.line])


# ------------------------------------------------------------------ the index over one analysis
Key = tuple[str, ...]  # ("input", policy, path), ("enum", name), ("value", enum, value), …


@attrs.define
class Occurrence:
    span: Span
    key: Key
    is_def: bool


@attrs.define
class Index:
    """Every declaration and use of a name in one folder's analysis, by key and by file."""

    analysis: Analysis
    defs: dict[Key, Span] = attrs.field(factory=dict)
    occurrences: list[Occurrence] = attrs.field(factory=list)
    policy_of_file: dict[str, str] = attrs.field(factory=dict)

    @property
    def model(self) -> Model | None:
        return self.analysis.model

    def module(self, path: str) -> ast.Module | None:
        return next((m for m in self.analysis.modules if m.path == path), None)

    def at(self, path: str, offset: int) -> Occurrence | None:
        hits = [o for o in self.occurrences if o.span.file == path and o.span.start <= offset <= o.span.end]
        return min(hits, key=lambda o: o.span.end - o.span.start) if hits else None

    def uses(self, key: Key) -> list[Occurrence]:
        return [o for o in self.occurrences if o.key == key]

    def resolve_word(self, word: str, policy: str | None) -> Key | None:
        """A bare name as written, looked up without a parse of the current text (for broken buffers)."""
        model = self.model
        if model is None:
            return None
        pol = model.policies.get(policy) if policy else None
        if word in model.facts and (pol is None or word not in pol.inputs or pol.inputs[word] is model.facts[word]):
            return ("fact", word)
        if pol is not None:
            for kind, names in (("input", pol.inputs), ("define", pol.defines), ("table", pol.tables),
                                ("rollout", pol.rollouts), ("rule", {r.name: r for r in pol.rules}),
                                ("property", {p.name.value: p for p in pol.properties})):
                if word in names:
                    return (kind, pol.id, word)
        for kind, shared in (("policy", model.policies), ("enum", model.enums), ("unit", model.units)):
            if word in shared:
                return (kind, word)
        owners = [e for e, d in model.enums.items() if any(v.name.value == word for v in d.values)]
        return ("value", owners[0], word) if owners else None


def build_index(analysis: Analysis) -> Index:
    index = Index(analysis=analysis)
    model = analysis.model
    if model is None:
        return index

    def add(span: Span, key: Key, is_def: bool = False) -> None:
        index.occurrences.append(Occurrence(span=span, key=key, is_def=is_def))
        if is_def:
            index.defs.setdefault(key, span)

    for name, enum in model.enums.items():
        add(enum.name.span, ("enum", name), True)
        for value in enum.values:
            add(value.name.span, ("value", name, value.name.value), True)
    for name, unit in model.units.items():
        add(unit.name.span, ("unit", name), True)
    for name, entity in model.entities.items():
        add(entity.name.span, ("entity", name), True)
    for path, fact in model.facts.items():
        add(fact.decl.path.span, ("fact", path), True)
        _index_decl(fact.decl, "", {}, model, add)
    for policy in model.policies.values():
        index.policy_of_file[policy.file] = policy.id
        _index_policy(policy, model, add)
    for prop in model.book_properties:
        _index_book_property(prop.decl, model, add)
    for overlap in model.overlaps:
        if not overlap.implicit:
            _index_overlap(overlap, model, add)
    return index


def _index_overlap(overlap: BookOverlap, model: Model, add: Callable[..., None]) -> None:
    """An overlap: its name (defined here, referred to by the `about` of the assumes that explain it),
    the policies it compares and the one that prevails, and what its `when` and `agree` read."""
    decl = overlap.overlap
    add(decl.name.span, ("overlap", decl.name.value), True)
    for name in (*decl.policies, *([decl.prevails] if decl.prevails else [])):
        if name.value in model.policies:
            add(name.span, ("policy", name.value))
    for pid, assume in overlap.explained_by:  # `because NAME`: the assume of one of the two policies
        if decl.because is not None:
            add(decl.because.span, ("assume", pid, assume.name.value))
    for expr in (decl.premise, decl.agree):
        if expr is not None:
            _index_book_property(expr, model, add)
            for node in ast.walk(expr):
                resolved = model.lookup(node) if isinstance(node, ast.Ref) else None
                if resolved is not None and resolved.kind == "book_define":
                    pid, path = resolved.target.split(" ", 1)
                    add(node.span, ("define", pid, path))


def _index_book_property(decl: ast.PropertyDecl | ast.Expr, model: Model, add: Callable[..., None]) -> None:
    """A property outside any policy: the policies it names (`outcome(P)`, `fires(P, R)`), their rules and
    the vocabulary facts it reads, so that hover, go-to-definition and references work on it."""
    for node in ast.walk(decl):
        if isinstance(node, ast.OutcomeRef) and node.policy is not None and node.policy.value in model.policies:
            add(node.policy.span, ("policy", node.policy.value))
        elif isinstance(node, ast.Call) and node.func.value == "fires" and len(node.args) == 2:
            owner, rule = node.args
            policy = model.policies.get(owner.path) if isinstance(owner, ast.Ref) else None
            if policy is not None:
                add(owner.span, ("policy", policy.id))
                if isinstance(rule, ast.Ref) and any(r.name == rule.path for r in policy.rules):
                    add(rule.span, ("rule", policy.id, rule.path))
        elif isinstance(node, ast.Ref) and node.path in model.facts and \
                getattr(model.lookup(node), "kind", None) == "input":
            add(node.span, ("fact", node.path))


def _index_policy(policy: Policy, model: Model, add: Callable[..., None]) -> None:
    pid = policy.id
    add(policy.decl.id.span, ("policy", pid), True)
    local: dict[str, Key] = {}
    for path, inp in policy.inputs.items():
        if model.facts.get(path) is inp:  # the book's vocabulary: one key across every policy
            local[path] = ("fact", path)
            continue
        local[path] = ("input", pid, path)
        add(inp.decl.path.span, local[path], True)
    named: tuple[tuple[str, dict[str, ast.Name]], ...] = (
        ("define", {path: d.decl.path for path, d in policy.defines.items()}),
        ("rule", {r.name: r.decl.name for r in policy.rules}),
        ("table", {name: t.decl.name for name, t in policy.tables.items()}),
        ("rollout", {name: r.name for name, r in policy.rollouts.items()}))
    for kind, names in named:
        for name, decl_name in names.items():
            local[name] = (kind, pid, name)
            add(decl_name.span, local[name], True)
    for prop in policy.properties:  # not in `local`: nothing refers to a property by name
        add(prop.name.span, ("property", pid, prop.name.value), True)
    for assume in policy.assumptions:  # an overlap's `because` refers to one
        add(assume.name.span, ("assume", pid, assume.name.value), True)
    decls: list[Any] = [i.decl for p, i in policy.inputs.items() if local[p][0] == "input"] + [d.decl for d in policy.defines.values()] + \
        [r.decl for r in policy.rules] + [t.decl for t in policy.tables.values()] + list(policy.rollouts.values()) + \
        list(policy.assumptions) + list(policy.notes) + list(policy.properties) + \
        ([policy.decl.applies] if policy.decl.applies is not None else [])
    for decl in decls:
        _index_decl(decl, pid, local, model, add)


def _index_decl(decl: Any, pid: str, local: dict[str, Key], model: Model, add: Callable[..., None]) -> None:
    if isinstance(decl, (ast.InputDecl, ast.DefineDecl)):
        _type_use(decl.type, model, add)
        if decl.unit is not None and decl.unit.value in model.units:
            add(decl.unit.span, ("unit", decl.unit.value))
    if isinstance(decl, ast.RuleDecl):
        for name in (*decl.exception_to, *([decl.supersedes] if decl.supersedes else [])):
            if name.value in local:
                add(name.span, local[name.value])
    if isinstance(decl, (ast.AssumeDecl, ast.NoteDecl)):
        for name in decl.about:
            if name.value in local:
                add(name.span, local[name.value])
    if isinstance(decl, ast.RolloutDecl) and decl.key.value in local:
        add(decl.key.span, local[decl.key.value])
    if isinstance(decl, ast.TableDecl):
        for ref in (*(p.type for p in decl.params), decl.result):
            _type_use(ref, model, add)
        for enum, name in model.policies[pid].tables[decl.name.value].enum_names():
            if enum is not None and any(v.name.value == name.value for v in model.enums[enum].values):
                add(name.span, ("value", enum, name.value))
    for node in ast.walk(decl):
        resolved = model.lookup(node) if isinstance(node, ast.Ref) else None
        if resolved is not None:
            kind, target = resolved.kind, resolved.target
            if kind in ("input", "define"):
                add(node.span, local.get(target, (kind, pid, target)))
            elif kind == "enum":
                owner, _, value = target.partition(".")
                add(node.span, ("value", owner, value))
            elif kind == "rule" and target in local:  # the argument of `fires(rule)` in a property
                add(node.span, local[target])
        elif isinstance(node, ast.Call) and node.func.value in local:
            add(node.func.span, local[node.func.value])
        elif isinstance(node, ast.Covered) and node.rollout.value in local:
            add(node.rollout.span, local[node.rollout.value])


def _type_use(ref: ast.TypeRef, model: Model, add: Callable[..., None]) -> None:
    if ref.name in model.enums and ref.span.text.endswith(ref.name):
        add(ref.span.source.span(ref.span.end - len(ref.name), ref.span.end), ("enum", ref.name))


# ------------------------------------------------------------------ hover text
def _period(start: Any, end: Any, lang: str) -> str:
    if start and end:
        return s("period.between", lang, start=start, end=end)
    if start:
        return s("period.from", lang, start=start)
    if end:
        return s("period.until", lang, end=end)
    return s("period.always", lang)


def _plain(text: str) -> str:
    """Type names as shown inside a Markdown code span (which cannot hold backticks)."""
    return text.replace("`", "")


def _quotes(sources: tuple[ast.SourceRef, ...], lang: str) -> list[str]:
    return [f"- {s('field.source', lang)}: `{src.document}`\n\n  > {src.quote}" for src in sources]


def _header(kind: str, ident: str, label: ast.Text, lang: str) -> list[str]:
    return [f"**{both('kind.' + kind, lang)}** `{ident}`", "", f"{label.zh} / {label.en}", ""]


def hover_markdown(key: Key, model: Model, lang: str) -> str | None:
    kind = key[0]
    if kind in ("enum", "unit", "value"):
        return _hover_shared(key, model, lang)
    if kind == "overlap":
        overlap = next((o for o in model.overlaps if o.name == key[1]), None)
        return _hover_overlap(overlap, lang) if overlap is not None else None
    if kind in ("fact", "entity"):
        return _hover_vocabulary(key, model, lang)
    policy = model.policies.get(key[1])
    if policy is None:
        return None
    if kind == "policy":
        eff = policy.effective
        return "\n".join([*_header("policy", policy.id, policy.title, lang),
                          f"- {s('field.effective', lang)}: {_period(eff[0], eff[1], lang)}",
                          *_quotes(policy.decl.sources, lang)])
    hover = _HOVERS.get(kind)
    return hover(policy, kind, key[2], lang) if hover is not None else None


def _hover_value(policy: Policy, kind: str, name: str, lang: str) -> str:
    item: Input | Define = (policy.inputs if kind == "input" else policy.defines)[name]
    lines = [*_header(kind, name, item.label, lang), f"- {s('field.type', lang)}: `{_plain(item.type.display()[lang])}`"]
    if item.unit is not None:
        lines.append(f"- {s('field.unit', lang)}: `{item.unit.name.value}` ({item.unit.label.zh} / {item.unit.label.en})")
    if isinstance(item, Define):
        lines.append(f"- {s('field.cases', lang)}:")
        lines += [f"  - `{c.span.text.strip()}` — {_period(c.start, c.end, lang)}" for c in item.decl.cases]
        lines += _quotes(item.decl.sources, lang)
    return "\n".join(lines)


def _hover_rule(policy: Policy, kind: str, name: str, lang: str) -> str:
    decl = policy.rule(name).decl
    eff = decl.effective
    body = decl.body
    consequences = [f"- {s('field.consequence', lang)}: `{c.span.text.split(chr(34))[0].strip()}` — "
                    f"{c.text.zh} / {c.text.en}" for c in decl.consequences]
    return "\n".join([*_header("rule", name, decl.label, lang),
                      f"- {s('field.effective', lang)}: {_period(eff.start if eff else None, eff.end if eff else None, lang)}",
                      f"- {s('field.outcome', lang)}: `{body.outcome} {body.code.value}` — {body.message.zh} / {body.message.en}",
                      *consequences, *_quotes(decl.sources, lang)])


def _hover_table(policy: Policy, kind: str, name: str, lang: str) -> str:
    decl = policy.tables[name].decl
    params = ", ".join(f"{p.name.value}: {p.type.span.text}" for p in decl.params)
    hit = decl.hit + (f" {decl.aggregator}" if decl.aggregator else "")
    return "\n".join([*_header("table", name, decl.label, lang),
                      f"- {s('field.type', lang)}: `({params}) -> {decl.result.span.text}`",
                      f"- {s('field.hit', lang)}: `{hit}`"])


def _hover_rollout(policy: Policy, kind: str, name: str, lang: str) -> str:
    decl = policy.rollouts[name]
    phases = [f"  - `{p.name.value}` {p.label.zh} / {p.label.en}: {_period(p.start, p.end, lang)}, "
              f"{p.ramp_from:%} → {p.ramp_to:%}" for p in decl.phases]
    return "\n".join([*_header("rollout", name, decl.label, lang), f"- {s('field.key', lang)}: `{decl.key.value}`",
                      f"- {s('field.phases', lang)}:", *phases])


def _hover_policy_property(policy: Policy, kind: str, name: str, lang: str) -> str | None:
    prop = next((p for p in policy.properties if p.name.value == name), None)
    return _hover_property(prop, policy, lang) if prop is not None else None


def _hover_assume(policy: Policy, kind: str, name: str, lang: str) -> str | None:
    assume = next((a for a in policy.assumptions if a.name.value == name), None)
    return "\n".join([*_header("assume", name, assume.text, lang), *_quotes(assume.sources, lang)]) if assume else None


_HOVERS: dict[str, Callable[[Policy, str, str, str], str | None]] = {
    "input": _hover_value, "define": _hover_value, "rule": _hover_rule, "table": _hover_table,
    "rollout": _hover_rollout, "property": _hover_policy_property, "assume": _hover_assume}


def _hover_overlap(overlap: BookOverlap, lang: str) -> str:
    decl = overlap.overlap
    agree = f"`{decl.agree.span.text.strip()}`" if decl.agree is not None else s("field.same_outcome", lang)
    lines = [*_header("overlap", overlap.name, decl.label, lang),
             f"- {s('field.between', lang)}: `{overlap.policies[0]}`, `{overlap.policies[1]}`"]
    if decl.premise is not None:
        lines.append(f"- {s('field.premise', lang)}: `{decl.premise.span.text.strip()}`")
    lines += [f"- {s('field.agree', lang)}: {agree}",
              f"- {s('field.resolution', lang)}: {s('resolution.' + overlap.resolution, lang, policy=overlap.prevails or '')}"]
    lines += [f"- {s('field.explained_by', lang)}: `{pid}` `{a.name.value}` — {a.text.get(lang)}"
              for pid, a in overlap.explained_by]
    return "\n".join(lines)


def _hover_vocabulary(key: Key, model: Model, lang: str) -> str | None:
    """A vocabulary fact with its type, unit and the policies that read it; an entity with its facts."""
    if key[0] == "entity":
        entity = model.entities.get(key[1])
        if entity is None:
            return None
        facts = [f"  - `{f.path.value}` {f.label.zh} / {f.label.en}" for f in entity.facts]
        return "\n".join([*_header("entity", key[1], entity.label, lang), f"- {s('field.facts', lang)}:", *facts])
    fact = model.facts.get(key[1])
    if fact is None:
        return None
    lines = [*_header("fact", fact.path, fact.label, lang), f"- {s('field.type', lang)}: `{_plain(fact.type.display()[lang])}`"]
    if fact.unit is not None:
        lines.append(f"- {s('field.unit', lang)}: `{fact.unit.name.value}` ({fact.unit.label.zh} / {fact.unit.label.en})")
    readers = ", ".join(f"`{p.id}`" for p in model.readers(fact.path)) or s("field.nobody", lang)
    lines.append(f"- {s('field.readers', lang)}: {readers}")
    return "\n".join(lines)


def _hover_property(prop: ast.PropertyDecl, policy: Policy, lang: str) -> str:
    """Labels, the days it speaks of (its own period, else the policy's), premise, claim and how to prove it."""
    eff = prop.effective
    period = _period(eff.start, eff.end, lang) if eff is not None else s(
        "period.policy", lang, period=_period(policy.effective[0], policy.effective[1], lang))
    premise = [f"- {s('field.premise', lang)}: `when {_expr_text(prop.premise)}`"] if prop.premise is not None else []
    return "\n".join([*_header("property", prop.name.value, prop.label, lang),
                      f"- {s('field.effective', lang)}: {period}", *premise,
                      f"- {s('field.claim', lang)}: `expect {_expr_text(prop.claim)}`",
                      f"- {s('field.verify', lang)}: `policydsl verify {policy.id} --property {prop.name.value}`"])


def _expr_text(expr: Any) -> str:
    """An expression as the formatter prints it (comments left out), on one line."""
    return _plain(format_expr(expr))


def _hover_shared(key: Key, model: Model, lang: str) -> str | None:
    if key[0] == "unit":
        unit = model.units.get(key[1])
        return "\n".join(_header("unit", key[1], unit.label, lang)) if unit else None
    enum = model.enums.get(key[1])
    if enum is None:
        return None
    if key[0] == "enum":
        values = [f"  - `{v.name.value}` {v.label.zh} / {v.label.en}" for v in enum.values]
        return "\n".join([*_header("enum", enum.name.value, enum.label, lang), f"- {s('field.values', lang)}:", *values])
    value = next((v for v in enum.values if v.name.value == key[2]), None)
    owner = f"- {s('field.enum', lang)}: `{enum.name.value}` ({enum.label.zh} / {enum.label.en})"
    return "\n".join([*_header("value", value.name.value, value.label, lang), owner]) if value else None


# ------------------------------------------------------------------ diagnostics
def to_lsp_diagnostic(diag: Diagnostic, lang: str) -> lt.Diagnostic:
    other = "en" if lang == "zh" else "zh"
    message = f"{diag.message[lang]}\n{diag.message[other]}"
    if diag.hint:
        message += f"\n{s('field.hint', lang)}: {diag.hint[lang]}\n{s('field.hint', other)}: {diag.hint[other]}"
    related = [lt.DiagnosticRelatedInformation(location=location(rel.span), message=rel.message[lang])
               for rel in diag.related]
    severity = {"error": lt.DiagnosticSeverity.Error, "info": lt.DiagnosticSeverity.Information}.get(
        diag.severity, lt.DiagnosticSeverity.Warning)
    return lt.Diagnostic(range=to_range(diag.span), message=message, severity=severity, code=diag.code,
                         source="policydsl", related_information=related or None)


# ------------------------------------------------------------------ the server
class PolicyServer(LanguageServer):
    """Keeps, per folder, the latest analysis and, per document, the last index in which it parsed."""

    def __init__(self, lang: str) -> None:
        super().__init__("policydsl", "0.1", protocol_cls=PolicyProtocol, converter_factory=strict_converter)
        self.lang = lang
        self.latest: dict[str, Index] = {}  # folder -> newest index
        self.good: dict[str, Index] = {}  # document path -> last index where that document parsed

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """Serve stdin/stdout until `exit` (exit code 0 after `shutdown`, else 1) or the end of the input (exit
        code 1: the client left without `exit`). pygls' own loop is not used: see policydsl.lsp_rpc."""
        protocol = self.protocol
        if not isinstance(protocol, PolicyProtocol):  # __init__ asks pygls for exactly this class
            raise InternalError(f"unexpected protocol {type(protocol).__name__}")
        protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            serve(protocol, stdin or sys.stdin.buffer)
        finally:
            self.shutdown()
        sys.exit(1)

    # -- analysis
    def folder_sources(self, path: Path) -> list[SourceFile]:
        open_docs = {self.doc_path(uri): doc.source for uri, doc in self.workspace.text_documents.items()}
        files = sorted(path.parent.glob("*.policy")) if path.parent.is_dir() else []
        names = dict.fromkeys([*map(str, files), str(path), *(p for p in open_docs if Path(p).parent == path.parent)])
        sources = []
        for name in names:
            if name in open_docs:
                sources.append(SourceFile(path=name, text=open_docs[name]))
                continue
            with contextlib.suppress(OSError, UnicodeDecodeError):  # a file gone or unreadable is left out
                sources.append(SourceFile.read(name))
        return sources

    def refresh(self, uri: str) -> None:
        path = Path(self.doc_path(uri))
        index = build_index(analyse_sources(self.folder_sources(path)))
        self.latest[str(path.parent)] = index
        parsed = {m.path for m in index.analysis.modules}
        found = [*index.analysis.diagnostics, *model_notes(index.model)]  # `info` notes: DiagnosticSeverity.Information
        for doc_uri in list(self.workspace.text_documents):
            doc_path = self.doc_path(doc_uri)
            if Path(doc_path).parent != path.parent:
                continue
            if doc_path in parsed and index.model is not None:
                self.good[doc_path] = index
            diags = [to_lsp_diagnostic(d, self.lang) for d in found if d.file == doc_path]
            self.text_document_publish_diagnostics(lt.PublishDiagnosticsParams(uri=doc_uri, diagnostics=diags))

    @staticmethod
    def doc_path(uri: str) -> str:
        return uris.to_fs_path(uri) or uri

    def index_for(self, uri: str) -> Index | None:
        path = self.doc_path(uri)
        return self.good.get(path) or self.latest.get(str(Path(path).parent))

    def text_of(self, uri: str) -> str | None:
        """The open buffer's text, else the file's on disk; None for a document that is neither."""
        try:
            return self.workspace.get_text_document(uri).source
        except (OSError, UnicodeDecodeError):
            return None

    def current(self, uri: str, position: lt.Position) -> tuple[Index | None, str, int, str] | None:
        """The index, path, offset and text of a position; None when the document cannot be read."""
        text = self.text_of(uri)
        if text is None:
            return None
        return self.index_for(uri), self.doc_path(uri), to_offset(text, position), text

    def key_at(self, uri: str, position: lt.Position) -> tuple[Index | None, Key | None]:
        here = self.current(uri, position)
        if here is None:
            return None, None
        index, path, offset, text = here
        if index is None:
            return None, None
        module = index.module(path)
        if module is not None and _same_text(module, text):
            occ = index.at(path, offset)
            if occ is not None:
                return index, occ.key
        word = word_at(text, offset)
        return index, (index.resolve_word(word, index.policy_of_file.get(path)) if word else None)

    def log(self, message: str, kind: lt.MessageType = lt.MessageType.Error) -> None:
        try:
            self.window_log_message(lt.LogMessageParams(type=kind, message=message))
        except Exception:  # noqa: BLE001 - logging must never raise
            pass


def _same_text(module: ast.Module, text: str) -> bool:
    return module.span.source.text == text


def word_at(text: str, offset: int) -> str | None:
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start: len(text) if line_end < 0 else line_end]
    col = offset - line_start
    for match in WORD.finditer(line):
        if match.start() <= col <= match.end():
            return match.group()
    return None


def _safe(default: Any = None) -> Callable:
    """Every handler: an internal error is logged to the client and answered with `default`, never fatal."""
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(ls: PolicyServer, params: Any) -> Any:
            try:
                return fn(ls, params)
            except Exception as exc:  # noqa: BLE001 - the server must survive any edit
                ls.log(s("log.internal", ls.lang, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
                return default() if callable(default) else default
        return wrapper
    return decorate


def make_server(lang: str) -> PolicyServer:
    server = PolicyServer(lang)

    def feature(name: str, default: Any = None, options: Any = None) -> Callable:
        """Serve the LSP method `name` with the handler it decorates, made `_safe`."""
        def register(fn: Callable) -> Callable:
            return server.feature(name, options)(_safe(default)(fn))
        return register

    @feature(lt.INITIALIZED)
    def initialized(ls: PolicyServer, params: lt.InitializedParams) -> None:
        ls.log(s("log.started", ls.lang), lt.MessageType.Info)

    def did_edit(ls: PolicyServer, params: lt.DidOpenTextDocumentParams | lt.DidChangeTextDocumentParams
                 | lt.DidSaveTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    for event in (lt.TEXT_DOCUMENT_DID_OPEN, lt.TEXT_DOCUMENT_DID_CHANGE, lt.TEXT_DOCUMENT_DID_SAVE):
        feature(event)(did_edit)

    @feature(lt.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PolicyServer, params: lt.DidCloseTextDocumentParams) -> None:
        path = Path(ls.doc_path(params.text_document.uri))
        ls.good.pop(str(path), None)
        ls.text_document_publish_diagnostics(lt.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))
        sibling = next((uri for uri in ls.workspace.text_documents if Path(ls.doc_path(uri)).parent == path.parent), None)
        if sibling is not None:  # the closed buffer's unsaved text no longer counts: the disk does again
            ls.refresh(sibling)

    @feature(lt.TEXT_DOCUMENT_HOVER)
    def hover(ls: PolicyServer, params: lt.HoverParams) -> lt.Hover | None:
        index, key = ls.key_at(params.text_document.uri, params.position)
        if index is None or key is None or index.model is None:
            return None
        text = hover_markdown(key, index.model, ls.lang)
        return lt.Hover(contents=lt.MarkupContent(kind=lt.MarkupKind.Markdown, value=text)) if text else None

    @feature(lt.TEXT_DOCUMENT_COMPLETION, list, lt.CompletionOptions(trigger_characters=[".", "{", "("]))
    def completion(ls: PolicyServer, params: lt.CompletionParams) -> list[lt.CompletionItem]:
        here = ls.current(params.text_document.uri, params.position)
        if here is None:
            return []
        index, path, offset, text = here
        policy = index.policy_of_file.get(path) if index else None
        items = completions(index.model if index else None, policy, ls.lang)
        where = property_context(text, offset)
        if where == "fires":
            return fires_completions(items, text, ls.lang)
        items = rank(items, text[text.rfind("\n", 0, offset) + 1: offset])
        return property_completions(items, ls.lang) if where == "expr" else items

    @feature(lt.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: PolicyServer, params: lt.DefinitionParams) -> lt.Location | None:
        index, key = ls.key_at(params.text_document.uri, params.position)
        if index is None or key is None or key not in index.defs:
            return None
        return location(index.defs[key])

    @feature(lt.TEXT_DOCUMENT_REFERENCES, list)
    def references(ls: PolicyServer, params: lt.ReferenceParams) -> list[lt.Location]:
        index, key = ls.key_at(params.text_document.uri, params.position)
        if index is None or key is None:
            return []
        include = params.context.include_declaration
        return [location(o.span) for o in index.uses(key) if include or not o.is_def]

    @feature(lt.TEXT_DOCUMENT_DOCUMENT_SYMBOL, list)
    def document_symbol(ls: PolicyServer, params: lt.DocumentSymbolParams) -> list[lt.DocumentSymbol]:
        index = ls.index_for(params.text_document.uri)
        module = index.module(ls.doc_path(params.text_document.uri)) if index else None
        return outline(module) if module is not None else []

    @feature(lt.TEXT_DOCUMENT_FORMATTING, list)
    def formatting(ls: PolicyServer, params: lt.DocumentFormattingParams) -> list[lt.TextEdit]:
        text = ls.text_of(params.text_document.uri)
        return format_edits(text, ls.doc_path(params.text_document.uri)) if text is not None else []

    return server


def location(span: Span) -> lt.Location:
    return lt.Location(uri=uris.from_fs_path(span.file) or span.file, range=to_range(span))


# ------------------------------------------------------------------ completion, outline, formatting
def completions(model: Model | None, policy_id: str | None, lang: str) -> list[lt.CompletionItem]:
    items = [lt.CompletionItem(label=k, kind=lt.CompletionItemKind.Keyword, detail=both("kind.keyword", lang))
             for k in KEYWORDS]
    if model is None:
        return items

    def item(label: str, kind: lt.CompletionItemKind, what: str, text: ast.Text | None, extra: str = "") -> None:
        detail = f"{both('kind.' + what, lang)}{extra}" + (f" — {text.zh} / {text.en}" if text else "")
        items.append(lt.CompletionItem(label=label, kind=kind, detail=detail))

    policy = model.policies.get(policy_id) if policy_id else None
    for path, inp in {**model.facts, **(policy.inputs if policy is not None else {})}.items():
        what = "fact" if model.facts.get(path) is inp else "input"
        item(path, lt.CompletionItemKind.Field, what, inp.label, f": {_plain(inp.type.display()[lang])}")
    if policy is not None:
        for path, define in policy.defines.items():
            item(path, lt.CompletionItemKind.Constant, "define", define.label, f": {_plain(define.type.display()[lang])}")
        for rule in policy.rules:
            item(rule.name, lt.CompletionItemKind.Function, "rule", rule.decl.label)
        for name, table in policy.tables.items():
            item(name, lt.CompletionItemKind.Struct, "table", table.decl.label)
        for name, rollout in policy.rollouts.items():
            item(name, lt.CompletionItemKind.Event, "rollout", rollout.label)
    for name, enum in model.enums.items():
        item(name, lt.CompletionItemKind.Enum, "enum", enum.label)
        for value in enum.values:
            item(value.name.value, lt.CompletionItemKind.EnumMember, "value", value.label, f" ({name})")
    for name, unit in model.units.items():
        item(name, lt.CompletionItemKind.Unit, "unit", unit.label)
    for pid, pol in model.policies.items():
        item(pid, lt.CompletionItemKind.Module, "policy", pol.decl.title)
    return items


# what the start of the line asks for -> the completion kinds offered first
CONTEXTS: tuple[tuple[re.Pattern, frozenset[lt.CompletionItemKind]], ...] = (
    (re.compile(r"^\s*(supersedes|exception\s+to)\b"), frozenset({lt.CompletionItemKind.Function})),
    (re.compile(r"^\s*about\b"), frozenset({lt.CompletionItemKind.Function, lt.CompletionItemKind.Event,
                                              lt.CompletionItemKind.Struct, lt.CompletionItemKind.Field,
                                              lt.CompletionItemKind.Constant})),
    (re.compile(r"^\s*(input|define)\s+\S+\s*:\s*(set\s+of\s+)?\w*$"), frozenset({lt.CompletionItemKind.Enum})),
    (re.compile(r"^\s*(input|define)\s.*\bunit\s+\w*$"), frozenset({lt.CompletionItemKind.Unit})),
    (re.compile(r"^\s*(when|require|=|key|row|columns|expect)\b|[{(=<>!]|\b(and|or|not|in)\s"),
     frozenset({lt.CompletionItemKind.Field, lt.CompletionItemKind.Constant, lt.CompletionItemKind.EnumMember,
                lt.CompletionItemKind.Struct, lt.CompletionItemKind.Event})),
)


_DECL_LINE = re.compile(r"^[^\s#]")
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*')
_FIRES_OPEN = re.compile(r"\bfires\s*\(\s*[A-Za-z0-9_]*$")
_RULE_DECL = re.compile(r"^rule[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)


def property_context(text: str, offset: int) -> str | None:
    """Where `offset` is inside a property block, read from the text alone (it may not parse):
    "fires" right after `fires(`, "expr" in its `when`/`expect`, else None."""
    lines = text[:offset].split("\n")
    start = next((i for i in range(len(lines) - 1, -1, -1) if _DECL_LINE.match(lines[i])), None)
    if start is None or not re.match(r"property\b", lines[start]):
        return None
    body = _STRING_OR_COMMENT.sub(" ", "\n".join(lines[start:]))
    if _FIRES_OPEN.search(body):
        return "fires"
    return "expr" if re.search(r"\b(when|expect)\b", body) else None


def fires_completions(items: list[lt.CompletionItem], text: str, lang: str) -> list[lt.CompletionItem]:
    """Inside `fires(`: the policy's rules only (those of the last good model, and any declared in the text)."""
    rules = [item for item in items if item.kind == lt.CompletionItemKind.Function]
    known = {item.label for item in rules}
    for name in _RULE_DECL.findall(text):
        if name not in known:
            known.add(name)
            rules.append(lt.CompletionItem(label=name, kind=lt.CompletionItemKind.Function,
                                           detail=both("kind.rule", lang)))
    for item in rules:
        item.sort_text = f"0{item.label}"
    return rules


def property_completions(items: list[lt.CompletionItem], lang: str) -> list[lt.CompletionItem]:
    """In a property's `when`/`expect`: its own words first (`outcome`, `allow`, `deny`, `fires(`); no `warn`."""
    words = [lt.CompletionItem(label="outcome", kind=lt.CompletionItemKind.Variable, detail=both("kind.outcome", lang)),
             *(lt.CompletionItem(label=o, kind=lt.CompletionItemKind.Value, detail=both("kind.outcome_value", lang))
               for o in ("allow", "deny")),
             lt.CompletionItem(label="fires(", kind=lt.CompletionItemKind.Function, insert_text="fires(",
                               detail=both("kind.fires", lang),
                               command=lt.Command(title="rule", command="editor.action.triggerSuggest"))]
    for item in words:
        item.sort_text = f"0{item.label}"
    kept = [item for item in items
            if not (item.kind == lt.CompletionItemKind.Keyword and item.label in ("allow", "deny", "warn"))]
    return words + kept


def rank(items: list[lt.CompletionItem], line_prefix: str) -> list[lt.CompletionItem]:
    """Order the items by what the line so far asks for: the fitting kinds first, keywords after them."""
    wanted = next((kinds for pattern, kinds in CONTEXTS if pattern.search(line_prefix)), frozenset())
    for item in items:
        group = "0" if item.kind in wanted else "2" if item.kind == lt.CompletionItemKind.Keyword else "1"
        item.sort_text = f"{group}{item.label}"
    return items


def _symbol(name: str, detail: str, kind: lt.SymbolKind, span: Span, name_span: Span,
            children: list[lt.DocumentSymbol] | None = None) -> lt.DocumentSymbol:
    return lt.DocumentSymbol(name=name, detail=detail, kind=kind, range=to_range(span),
                             selection_range=to_range(name_span), children=children or None)


def outline(module: ast.Module) -> list[lt.DocumentSymbol]:
    """The policy with its declarations as children; shared enums and units at the top level."""
    top: list[lt.DocumentSymbol] = []
    children: list[lt.DocumentSymbol] | None = None  # the policy's, once its `policy` line is met
    for item in module.items:
        if isinstance(item, ast.PolicyDecl):
            title = f"{item.title.zh} / {item.title.en}" if item.title else ""
            policy = _symbol(item.id.value, title, lt.SymbolKind.Module, module.span, item.id.span)
            policy.children = children = []
            top.append(policy)
            continue
        symbol = _item_symbol(item)
        if symbol is None:
            continue
        if children is not None and not isinstance(item, (ast.EnumDecl, ast.UnitDecl, ast.EntityDecl)):
            children.append(symbol)
        else:
            top.append(symbol)
    return top


def _item_symbol(item: Any) -> lt.DocumentSymbol | None:
    kinds = {ast.InputDecl: lt.SymbolKind.Field, ast.DefineDecl: lt.SymbolKind.Constant,
             ast.RuleDecl: lt.SymbolKind.Function, ast.TableDecl: lt.SymbolKind.Struct,
             ast.RolloutDecl: lt.SymbolKind.Event, ast.AssumeDecl: lt.SymbolKind.String,
             ast.NoteDecl: lt.SymbolKind.String, ast.EnumDecl: lt.SymbolKind.Enum,
             ast.UnitDecl: lt.SymbolKind.TypeParameter, ast.PropertyDecl: lt.SymbolKind.Boolean,
             ast.EntityDecl: lt.SymbolKind.Class, ast.OverlapDecl: lt.SymbolKind.Interface}
    kind = kinds.get(type(item))
    if kind is None:
        return None
    name = item.path if isinstance(item, (ast.InputDecl, ast.DefineDecl)) else item.name
    text = item.label if hasattr(item, "label") else item.text
    children = None
    if isinstance(item, ast.EnumDecl):
        children = [_symbol(v.name.value, f"{v.label.zh} / {v.label.en}", lt.SymbolKind.EnumMember, v.span, v.name.span)
                    for v in item.values]
    if isinstance(item, ast.EntityDecl):
        children = [_symbol(f.path.value, f"{f.label.zh} / {f.label.en}", lt.SymbolKind.Field, f.span, f.path.span)
                    for f in item.facts]
    return _symbol(name.value, f"{text.zh} / {text.en}", kind, item.span, name.span, children)


def format_edits(text: str, path: str) -> list[lt.TextEdit]:
    """One whole-document edit from policydsl.formatter; none when the text does not parse or is already formatted."""
    try:
        formatted = format_text(text, path)
    except FormatError:  # a syntax error: leave the buffer alone
        return []
    if formatted == text:
        return []
    end = to_position(SourceFile(path=path, text=text), len(text))
    return [lt.TextEdit(range=lt.Range(start=lt.Position(line=0, character=0), end=end), new_text=formatted)]
