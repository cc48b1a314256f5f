"""Editor requests in, LSP answers out: the server behind `policydsl lsp` (policydsl.commands.lsp) serves
diagnostics, hover, completion, definitions, references, outline and formatting over stdio, reading everything
from the checked model."""
from __future__ import annotations

import bisect
import contextlib
import difflib
import functools
import itertools
import logging
import re
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Collection, Iterator
from urllib.parse import unquote

from lsprotocol import types as lt
from pygls import uris
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from policydsl import i18n
from policydsl.errors import InternalError
from policydsl.diagnostics import Diagnostic, make
from policydsl.formatter import FormatError, format_expr, format_text
from policydsl.loader import Analysis, analyse_sources
from policydsl.lsp_rpc import PolicyProtocol, serve, strict_converter
from policydsl.semantics.analyses import notes as model_notes
from policydsl.semantics.check import CONSEQUENCE_KINDS
from policydsl.semantics.model import BookOverlap, Define, Input, Key, Model, Occurrence, Policy
from policydsl.source import MAX_FILE_BYTES, FileTooLarge, SourceFile, Span, read_policy
from policydsl.syntax import ast
from policydsl.syntax.parser import parse

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
    "kind.code": ("理由代码", "reason code"),
    "field.given_by": ("给出它的规则", "given by"),
    "format.syntax": ("无法格式化：文件有语法错误（第 {line} 行）", "cannot format: the file has syntax errors (line {line})"),
    "rename.not_here": ("这里没有可以重命名的名称", "there is no name to rename here"),
    "rename.not_renamable": ("{what} `{name}` 不能重命名", "the {what} `{name}` cannot be renamed"),
    "rename.broken": ("文件有错误，修正后才能重命名", "the file has errors: fix them before renaming"),
    "rename.invalid": ("`{name}` 不是合法的名称（{expected}）", "`{name}` is not a valid name ({expected})"),
    "rename.plain": ("字母或下划线开头，之后是字母、数字、下划线", "a letter or underscore, then letters, digits, underscores"),
    "rename.dotted": ("由点分隔的名称，如 `cart.min_fans`", "names separated by dots, such as `cart.min_fans`"),
    "rename.entity": ("事实须留在实体 `{entity}` 中", "the fact must stay in entity `{entity}`"),
    "rename.keyword": ("`{name}` 是关键字", "`{name}` is a keyword"),
    "rename.taken": ("`{name}` 已被使用：{what}", "`{name}` is already taken: {what}"),
    "fix.apply": ("改为 `{suggestion}`", "change to `{suggestion}`"),
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
    """The text's length in UTF-16 code units (a lone surrogate, which JSON can carry, counts one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


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
        units += utf16_len(ch)
    return start + len(lines[position.line])


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
    if kind == "code":
        return _hover_code(policy, key[2], lang)
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


def _hover_code(policy: Policy, code: str, lang: str) -> str | None:
    """A reason or warning code: every rule of the policy that gives it, with its outcome and its message in `lang`."""
    rules = [r for r in policy.rules if r.decl.body.code.value == code]
    if not rules:
        return None
    given = [f"  - `{r.name}` {r.decl.label.get(lang)}: `{r.decl.body.outcome} {code}` — "
             f"{r.decl.body.message.get(lang)}" for r in rules]
    return "\n".join([f"**{both('kind.code', lang)}** `{code}`", "", f"- {s('field.given_by', lang)}:", *given])


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


def _hover_assume(policy: Policy, kind: str, name: str, lang: str) -> str | None:
    assume = next((a for a in policy.assumptions if a.name.value == name), None)
    return "\n".join([*_header("assume", name, assume.text, lang), *_quotes(assume.sources, lang)]) if assume else None


def _hover_property(policy: Policy, kind: str, name: str, lang: str) -> str | None:
    """Labels, the days it speaks of (its own period, else the policy's), premise, claim and how to prove it."""
    prop = next((p for p in policy.properties if p.name.value == name), None)
    if prop is None:
        return None
    eff = prop.effective
    period = _period(eff.start, eff.end, lang) if eff is not None else s(
        "period.policy", lang, period=_period(policy.effective[0], policy.effective[1], lang))
    premise = [f"- {s('field.premise', lang)}: `when {_expr_text(prop.premise)}`"] if prop.premise is not None else []
    return "\n".join([*_header("property", prop.name.value, prop.label, lang),
                      f"- {s('field.effective', lang)}: {period}", *premise,
                      f"- {s('field.claim', lang)}: `expect {_expr_text(prop.claim)}`",
                      f"- {s('field.verify', lang)}: `policydsl verify {policy.id} --property {prop.name.value}`"])


_HOVERS: dict[str, Callable[[Policy, str, str, str], str | None]] = {
    "input": _hover_value, "define": _hover_value, "rule": _hover_rule, "table": _hover_table,
    "rollout": _hover_rollout, "property": _hover_property, "assume": _hover_assume}


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
def to_lsp_diagnostic(diag: Diagnostic, lang: str, single: bool = False) -> lt.Diagnostic:
    """The diagnostic in `lang`, then in the other language unless `single` (a language was chosen)."""
    langs = (lang,) if single else (lang, "en" if lang == "zh" else "zh")
    message = "\n".join(diag.message[code] for code in langs)
    if diag.hint:
        message += "".join(f"\n{s('field.hint', code)}: {diag.hint[code]}" for code in langs)
    suggestion = diag.suggestion
    related = [lt.DiagnosticRelatedInformation(location=location(rel.span), message=rel.message[lang])
               for rel in diag.related]
    severity = {"error": lt.DiagnosticSeverity.Error, "info": lt.DiagnosticSeverity.Information}.get(
        diag.severity, lt.DiagnosticSeverity.Warning)
    return lt.Diagnostic(range=to_range(diag.span), message=message, severity=severity, code=diag.code,
                         source="policydsl", related_information=related or None,
                         data={"suggestion": suggestion} if suggestion else None)


def replacement(span_text: str, suggestion: str) -> str:
    """What replaces the text a diagnostic marks: the suggestion, keeping the braces of a placeholder and the
    leading path of a dotted name when the suggestion is its last part only."""
    if span_text.startswith("{") and span_text.endswith("}"):
        return "{" + suggestion + "}"
    if "." in span_text and "." not in suggestion:
        return span_text.rsplit(".", 1)[0] + "." + suggestion
    return suggestion


# ------------------------------------------------------------------ the server
class PolicyServer(LanguageServer):
    """Keeps, per folder, the latest analysis and, per document, the last analysis in which it parsed."""

    def __init__(self, lang: str, chosen: str | None = None) -> None:
        super().__init__("policydsl", "0.1", protocol_cls=PolicyProtocol, converter_factory=strict_converter)
        self.lang = chosen or lang
        self.chosen = chosen  # a language the user chose: diagnostics in it alone (None: both, `lang` first)
        self.latest: dict[str, Analysis] = {}  # folder -> newest analysis
        self.good: dict[str, Analysis] = {}  # document path -> last analysis where that document parsed

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
    def folder_sources(self, path: Path) -> tuple[list[SourceFile], list[Diagnostic]]:
        """The folder's policy files, an open one as its buffer holds it; a buffer larger than `check` reads a file
        (MAX_FILE_BYTES) is not analysed: P0104 "larger than 8 MiB", as `check` says of such a file (opened or
        edited to that size, it was parsed and checked whole, up to the 64 MiB of a message)."""
        open_docs = {self.doc_path(uri): doc.source for uri, doc in self.workspace.text_documents.items()}
        files = sorted(path.parent.glob("*.policy")) if path.parent.is_dir() else []
        names = dict.fromkeys([*map(str, files), str(path), *(p for p in open_docs if Path(p).parent == path.parent)])
        sources, refused = [], []
        for name in names:
            if name in open_docs:
                text = open_docs[name]
                if len(text) > MAX_FILE_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
                    empty = SourceFile(path=name, text="")
                    refused.append(make("P0104", empty.span(0, 0), reason=FileTooLarge(name, MAX_FILE_BYTES).reason))
                else:
                    sources.append(SourceFile(path=name, text=text))
                continue
            with contextlib.suppress(OSError, UnicodeDecodeError):  # a file gone or unreadable is left out
                sources.append(SourceFile.read(name))
        return sources, refused

    def refresh(self, uri: str) -> None:
        path = Path(self.doc_path(uri))
        sources, refused = self.folder_sources(path)
        analysis = analyse_sources(sources, diagnostics=refused)
        self.latest[str(path.parent)] = analysis
        parsed = {m.path for m in analysis.modules}
        found = [*analysis.diagnostics, *model_notes(analysis.model)]  # `info` notes: DiagnosticSeverity.Information
        for doc_uri in list(self.workspace.text_documents):
            doc_path = self.doc_path(doc_uri)
            if Path(doc_path).parent != path.parent:
                continue
            if doc_path in parsed and analysis.model is not None:
                self.good[doc_path] = analysis
            diags = [to_lsp_diagnostic(d, self.lang, self.chosen is not None) for d in found if d.file == doc_path]
            self.text_document_publish_diagnostics(lt.PublishDiagnosticsParams(uri=doc_uri, diagnostics=diags))

    @staticmethod
    def doc_path(uri: str) -> str:
        return uris.to_fs_path(uri) or uri

    def analysis_for(self, uri: str) -> Analysis | None:
        path = self.doc_path(uri)
        return self.good.get(path) or self.latest.get(str(Path(path).parent))

    def text_of(self, uri: str) -> str | None:
        """The open buffer's text, else the file's on disk, read as `check` reads a policy file (pygls would read a
        FIFO or /dev/zero without end, and the server with it); None for a document that is neither."""
        opened = self.workspace.text_documents.get(unquote(uri))
        if opened is not None:
            return opened.source
        try:
            return read_policy(self.doc_path(uri))
        except (OSError, UnicodeDecodeError):
            return None

    def current(self, uri: str, position: lt.Position) -> tuple[Model | None, str, int, str] | None:
        """The model, path, offset and text of a position; None when the document cannot be read."""
        text = self.text_of(uri)
        if text is None:
            return None
        analysis = self.analysis_for(uri)
        return analysis.model if analysis else None, self.doc_path(uri), to_offset(text, position), text

    def key_at(self, uri: str, position: lt.Position) -> tuple[Model | None, Key | None]:
        """What the name at `position` names: as the checker resolved it where the buffer is what was checked,
        else the word there looked up in the last good model."""
        model, path, offset, text = self.current(uri, position) or (None, "", 0, "")
        if model is None:
            return None, None
        occ = model.occurrence_at(path, offset) if self.module_as_typed(uri) is not None else None
        if occ is not None:
            return model, occ.key
        word = word_at(text, offset)
        return model, (model.resolve_word(word, model.policy_in(path)) if word else None)

    def choose_language(self, params: lt.InitializeParams) -> None:
        """The language of the initialize params: `initializationOptions.lang`, else the client's locale; else the one
        chosen at the start (`--lang`, POLICYDSL_LANG); else none."""
        options = params.initialization_options
        wanted = options.get("lang") if isinstance(options, dict) else None
        locale = (params.locale or "").lower()[:2]
        chosen = next((code for code in (wanted, locale) if code in i18n.LANGS), None)
        if chosen is not None:
            self.lang = self.chosen = chosen

    def module_as_typed(self, uri: str) -> tuple[Analysis, ast.Module, str] | None:
        """The analysis, module and text of a document whose buffer is exactly what the analysis parsed."""
        text = self.text_of(uri)
        analysis = self.analysis_for(uri)
        module = module_of(analysis, self.doc_path(uri)) if analysis is not None else None
        if text is None or analysis is None or module is None or module.span.source.text != text:
            return None
        return analysis, module, text

    def log(self, message: str, kind: lt.MessageType = lt.MessageType.Error) -> None:
        with contextlib.suppress(Exception):  # logging must never raise
            self.window_log_message(lt.LogMessageParams(type=kind, message=message))


def module_of(analysis: Analysis, path: str) -> ast.Module | None:
    return next((m for m in analysis.modules if m.path == path), None)


def word_at(text: str, offset: int) -> str | None:
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start: len(text) if line_end < 0 else line_end]
    col = offset - line_start
    return next((match.group() for match in WORD.finditer(line) if match.start() <= col <= match.end()), None)


def _safe(default: Any = None) -> Callable:
    """Every handler: an internal error is logged to the client and answered with `default`, never fatal."""
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(ls: PolicyServer, params: Any) -> Any:
            try:
                return fn(ls, params)
            except Refusal:
                raise
            except Exception as exc:  # noqa: BLE001 - the server must survive any edit
                ls.log(s("log.internal", ls.lang, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
                return default() if callable(default) else default
        return wrapper
    return decorate


class Refusal(JsonRpcException):
    """A request the server declines, with the reason in the server's language (LSP RequestFailed)."""

    CODE = -32803


def _not_a_refusal(record: logging.LogRecord) -> bool:
    """pygls logs every exception a handler raises with its traceback: a Refusal is an answer, not a failure (a
    refused rename wrote some 20 lines of traceback to the server's standard error)."""
    return not (record.exc_info and isinstance(record.exc_info[1], Refusal))


logging.getLogger("pygls.protocol.json_rpc").addFilter(_not_a_refusal)


def make_server(lang: str, chosen: str | None = None) -> PolicyServer:
    server = PolicyServer(lang, chosen)

    def feature(name: str, default: Any = None, options: Any = None) -> Callable:
        """Serve the LSP method `name` with the handler it decorates, made `_safe`."""
        def register(fn: Callable) -> Callable:
            return server.feature(name, options)(_safe(default)(fn))
        return register

    @feature(lt.INITIALIZE)
    def initialize(ls: PolicyServer, params: lt.InitializeParams) -> None:
        ls.choose_language(params)

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
        model, key = ls.key_at(params.text_document.uri, params.position)
        if model is None or key is None:
            return None
        text = hover_markdown(key, model, ls.lang)
        return lt.Hover(contents=lt.MarkupContent(kind=lt.MarkupKind.Markdown, value=text)) if text else None

    @feature(lt.TEXT_DOCUMENT_COMPLETION, list, lt.CompletionOptions(trigger_characters=[".", "{", "("]))
    def completion(ls: PolicyServer, params: lt.CompletionParams) -> list[lt.CompletionItem]:
        here = ls.current(params.text_document.uri, params.position)
        if here is None:
            return []
        model, path, offset, text = here
        items = completions(model, model.policy_in(path) if model else None, ls.lang)
        where = property_context(text, offset)
        if where == "fires":
            return fires_completions(items, text, ls.lang)
        line_prefix = text[text.rfind("\n", 0, offset) + 1: offset]
        dotted = under_prefix(items, line_prefix, params.position)
        if dotted is not None:
            return dotted
        items = rank(items, line_prefix)
        items = property_completions(items, ls.lang) if where == "expr" else items
        return narrow(items, line_prefix, where == "expr")

    @feature(lt.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: PolicyServer, params: lt.DefinitionParams) -> lt.Location | None:
        model, key = ls.key_at(params.text_document.uri, params.position)
        declared = model.definitions.get(key) if model is not None and key is not None else None
        return location(declared) if declared is not None else None

    @feature(lt.TEXT_DOCUMENT_REFERENCES, list)
    def references(ls: PolicyServer, params: lt.ReferenceParams) -> list[lt.Location]:
        model, key = ls.key_at(params.text_document.uri, params.position)
        if model is None or key is None:
            return []
        include = params.context.include_declaration
        return [location(o.span) for o in model.uses(key) if include or not o.is_def]

    @feature(lt.TEXT_DOCUMENT_DOCUMENT_SYMBOL, list)
    def document_symbol(ls: PolicyServer, params: lt.DocumentSymbolParams) -> list[lt.DocumentSymbol]:
        analysis = ls.analysis_for(params.text_document.uri)
        module = module_of(analysis, ls.doc_path(params.text_document.uri)) if analysis else None
        return outline(module) if module is not None else []

    def formatted(ls: PolicyServer, uri: str) -> tuple[str, str] | None:
        """The document's text and its canonical layout; None, and a message saying why, when it does not parse."""
        text = ls.text_of(uri)
        if text is None:
            return None
        try:
            return text, format_text(text, ls.doc_path(uri))
        except FormatError as error:
            line = min((d.line for d in error.diagnostics if d.severity == "error"), default=1)
            ls.window_show_message(lt.ShowMessageParams(type=lt.MessageType.Warning,
                                                        message=s("format.syntax", ls.lang, line=line)))
            return None

    @feature(lt.TEXT_DOCUMENT_FORMATTING, list)
    def formatting(ls: PolicyServer, params: lt.DocumentFormattingParams) -> list[lt.TextEdit]:
        done = formatted(ls, params.text_document.uri)
        return whole_edit(*done, ls.doc_path(params.text_document.uri)) if done is not None else []

    @feature(lt.TEXT_DOCUMENT_RANGE_FORMATTING, list)
    def range_formatting(ls: PolicyServer, params: lt.DocumentRangeFormattingParams) -> list[lt.TextEdit]:
        done = formatted(ls, params.text_document.uri)
        if done is None:
            return []
        text, layout = done
        module, _ = parse(SourceFile(path=ls.doc_path(params.text_document.uri), text=text))
        lines = declaration_lines(module, params.range) if module is not None else None
        return line_edits(text, layout, lines) if lines is not None else []

    @feature(lt.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare_rename(ls: PolicyServer, params: lt.PrepareRenameParams) -> lt.PrepareRenamePlaceholder:
        _, occ = renamable_at(ls, params.text_document.uri, params.position)
        return lt.PrepareRenamePlaceholder(range=to_range(occ.span), placeholder=occ.span.text)

    @feature(lt.TEXT_DOCUMENT_RENAME)
    def rename(ls: PolicyServer, params: lt.RenameParams) -> lt.WorkspaceEdit:
        model, occ = renamable_at(ls, params.text_document.uri, params.position)
        full = check_new_name(occ.key, params.new_name, model, ls.lang)
        changes: dict[str, list[lt.TextEdit]] = {}
        for use in model.uses(occ.key):
            new_text = full if "." in use.span.text or "." not in full else full.rsplit(".", 1)[1]
            uri = uris.from_fs_path(use.span.file) or use.span.file
            changes.setdefault(uri, []).append(lt.TextEdit(range=to_range(use.span), new_text=new_text))
        return lt.WorkspaceEdit(changes=changes)

    @feature(lt.TEXT_DOCUMENT_CODE_ACTION, list, lt.CodeActionOptions(code_action_kinds=[lt.CodeActionKind.QuickFix]))
    def code_action(ls: PolicyServer, params: lt.CodeActionParams) -> list[lt.CodeAction]:
        text = ls.text_of(params.text_document.uri)
        if text is None:
            return []
        actions = []
        for diag in params.context.diagnostics:
            suggestion = diag.data.get("suggestion") if isinstance(diag.data, dict) else None
            if not isinstance(suggestion, str) or diag.source != "policydsl":
                continue
            start, end = to_offset(text, diag.range.start), to_offset(text, diag.range.end)
            new_text = replacement(text[start:end], suggestion)
            edit = lt.WorkspaceEdit(changes={params.text_document.uri: [lt.TextEdit(range=diag.range, new_text=new_text)]})
            actions.append(lt.CodeAction(title=s("fix.apply", ls.lang, suggestion=new_text), kind=lt.CodeActionKind.QuickFix,
                                         diagnostics=[diag], edit=edit, is_preferred=True))
        return actions

    @feature(lt.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, options=lt.SemanticTokensLegend(
        token_types=list(TOKEN_TYPES), token_modifiers=list(TOKEN_MODIFIERS)))
    def semantic_tokens(ls: PolicyServer, params: lt.SemanticTokensParams) -> lt.SemanticTokens:
        text = ls.text_of(params.text_document.uri)
        if text is None:
            return lt.SemanticTokens(data=[])
        typed = ls.module_as_typed(params.text_document.uri)
        path = ls.doc_path(params.text_document.uri)
        model = typed[0].model if typed is not None else None
        occurrences = [o for o in model.names if o.span.file == path] if model is not None else []
        return lt.SemanticTokens(data=encode_tokens(text, semantic_tokens_of(text, occurrences)))

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
_STRING_OR_COMMENT = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"?|#[^\n]*')
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


def whole_edit(text: str, formatted: str, path: str) -> list[lt.TextEdit]:
    """One whole-document edit to the formatter's layout; none when the text is already formatted."""
    if formatted == text:
        return []
    end = to_position(SourceFile(path=path, text=text), len(text))
    return [lt.TextEdit(range=lt.Range(start=lt.Position(line=0, character=0), end=end), new_text=formatted)]


def declaration_lines(module: ast.Module, selection: lt.Range) -> tuple[int, int] | None:
    """The 0-based first and last line of the declarations `selection` touches (whole declarations, as the
    formatter lays them out); None when it touches none (blank lines or comments between them)."""
    touched = [item.span for item in module.items
               if item.span.line - 1 <= selection.end.line and _last_line(item.span) - 1 >= selection.start.line]
    if not touched:
        return None
    return min(span.line for span in touched) - 1, max(_last_line(span) for span in touched) - 1


def _last_line(span: Span) -> int:
    """The 1-based line of the span's last character (not of the line after a span ending in a newline)."""
    return span.source.position(max(span.start, span.end - 1))[0]


def line_edits(text: str, formatted: str, lines: tuple[int, int]) -> list[lt.TextEdit]:
    """The edits, line by line, that turn `text` into `formatted`, kept to those on `lines` (0-based, inclusive):
    the whole file is formatted, only the selected declarations change."""
    old, new = text.splitlines(keepends=True), formatted.splitlines(keepends=True)
    starts = [0, *itertools.accumulate(map(len, old))]
    source = SourceFile(path="<range>", text=text)
    first, last = lines
    edits = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        inside = first <= i1 <= last if i1 == i2 else i1 <= last and i2 - 1 >= first
        if op == "equal" or not inside:
            continue
        edits.append(lt.TextEdit(range=lt.Range(start=to_position(source, starts[i1]), end=to_position(source, starts[i2])),
                                 new_text="".join(new[j1:j2])))
    return edits


# ------------------------------------------------------------------ completion by prefix
_DOTTED_TAIL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.([A-Za-z0-9_]*)$")
_WORD_TAIL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_CLAUSE_START = re.compile(r"^\s*[A-Za-z_]*$")
_AFTER_ELSE = re.compile(r"\belse\s+[A-Za-z_]*$")
EXPR_KEYWORDS = ("not", "and", "or", "in", "today", "covered", "not_open", "any", "all")
OUTCOME_KEYWORDS = ("allow", "deny", "warn")


def under_prefix(items: list[lt.CompletionItem], line_prefix: str, position: lt.Position) -> list[lt.CompletionItem] | None:
    """After `account.` (or `account.fa`): only the names under that prefix, those starting with the whole typed
    path first, each replacing the whole path; None when the cursor is not after a dotted prefix."""
    match = _DOTTED_TAIL.search(line_prefix)
    if match is None or _inside_string_or_comment(line_prefix):
        return None
    head, typed = match.group(1), match.group(0)
    start = lt.Position(line=position.line, character=position.character - utf16_len(typed))
    kept = []
    for item in items:
        if item.kind == lt.CompletionItemKind.Keyword or not item.label.startswith(head + "."):
            continue
        item.sort_text = ("0" if item.label.startswith(typed) else "1") + item.label
        item.filter_text = item.label
        item.text_edit = lt.TextEdit(range=lt.Range(start=start, end=position), new_text=item.label)
        kept.append(item)
    return kept


def _inside_string_or_comment(line_prefix: str) -> bool:
    rest = _STRING_OR_COMMENT.sub("", line_prefix)
    return '"' in rest or "#" in rest


def narrow(items: list[lt.CompletionItem], line_prefix: str, in_property: bool) -> list[lt.CompletionItem]:
    """Keywords only where one can stand (the start of a clause; an outcome after `else`; an operator in an
    expression), and, once part of a word is typed, only the items with a name or a segment starting with it."""
    if _CLAUSE_START.match(line_prefix):
        allowed: tuple[str, ...] | None = None  # every keyword
    elif _AFTER_ELSE.search(line_prefix):
        allowed = OUTCOME_KEYWORDS
    else:
        allowed = EXPR_KEYWORDS
    word = _WORD_TAIL.search(line_prefix)
    typed = word.group().lower() if word else ""
    kept = []
    for item in items:
        if item.kind == lt.CompletionItemKind.Keyword and allowed is not None and item.label not in allowed:
            continue
        if typed and not any(part.lower().startswith(typed) for part in (item.label, *item.label.split("."))):
            continue
        kept.append(item)
    return kept



# ------------------------------------------------------------------ rename
RENAMABLE = frozenset({"rule", "input", "fact", "define", "table", "enum", "value", "rollout", "code"})
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def renamable_at(ls: PolicyServer, uri: str, position: lt.Position) -> tuple[Model, Occurrence]:
    """The model and the occurrence of a renamable name at `position`; a Refusal saying why there is none."""
    typed = ls.module_as_typed(uri)
    model = typed[0].model if typed is not None else None
    if typed is None or model is None:
        raise Refusal(s("rename.broken", ls.lang))
    occ = model.occurrence_at(ls.doc_path(uri), to_offset(typed[2], position))
    if occ is None:
        raise Refusal(s("rename.not_here", ls.lang))
    if occ.key[0] not in RENAMABLE:
        raise Refusal(s("rename.not_renamable", ls.lang, what=s("kind." + occ.key[0], ls.lang), name=occ.key[-1]))
    return model, occ


def check_new_name(key: Key, new_name: str, model: Model, lang: str) -> str:
    """The new name in full (a fact's with its entity), or a Refusal: not a valid name, a keyword, or taken."""
    kind, name = key[0], key[-1]
    dotted = kind in ("input", "fact", "define")
    if not (WORD if dotted else _PLAIN_NAME).fullmatch(new_name):
        expected = s("rename.dotted" if dotted else "rename.plain", lang)
        raise Refusal(s("rename.invalid", lang, name=new_name, expected=expected))
    if any(part in KEYWORDS for part in new_name.split(".")):
        raise Refusal(s("rename.keyword", lang, name=new_name))
    full = new_name
    if kind == "fact":
        entity = name.rsplit(".", 1)[0]
        full = new_name if new_name.startswith(entity + ".") else f"{entity}.{new_name}"
        if full.rsplit(".", 1)[0] != entity:
            raise Refusal(s("rename.entity", lang, entity=entity))
    if full != name:
        taken = _taken(key, full, model)
        if taken is not None:
            raise Refusal(s("rename.taken", lang, name=full, what=s("kind." + taken, lang)))
    return full


def _taken(key: Key, name: str, model: Model) -> str | None:
    """The kind of what already bears `name` where `key` lives; None when the name is free."""
    kind = key[0]
    if kind == "enum":
        return "enum" if name in model.enums else None
    if kind == "value":
        return "value" if any(v.name.value == name for v in model.enums[key[1]].values) else None
    policies = model.policies.values() if kind == "fact" else [model.policies[key[1]]]
    kinds = ("fact", "input", "define") if kind in ("input", "define", "fact") else (kind,)  # one namespace
    for policy in policies:
        names: dict[str, Collection[str]] = {
            "fact": model.facts, "input": policy.inputs, "define": policy.defines, "table": policy.tables,
            "rollout": policy.rollouts, "rule": [r.name for r in policy.rules],
            "code": [r.decl.body.code.value for r in policy.rules]}
        taken = next((k for k in kinds if name in names[k]), None)
        if taken is not None:
            return taken
    return None


# ------------------------------------------------------------------ semantic tokens
TOKEN_TYPES = ("namespace", "type", "class", "enum", "enumMember", "property", "variable", "function", "event",
               "macro", "keyword", "string", "number", "comment")
TOKEN_MODIFIERS = ("declaration", "readonly", "date")
_TOKEN_OF_KIND = {"policy": "namespace", "unit": "type", "entity": "class", "enum": "enum", "value": "enumMember",
                  "fact": "property", "input": "property", "define": "variable", "rule": "function",
                  "table": "function", "rollout": "event", "code": "macro", "property": "macro", "assume": "macro",
                  "overlap": "macro"}
_LEXEME = re.compile(r'''(?P<string>"[^"\\\n]*(?:\\.[^"\\\n]*)*"?)|(?P<comment>\#[^\n]*)
    |(?P<date>\b\d{4}-\d{2}-\d{2}\b)|(?P<number>\b\d+(?:\.\d+)?%?)|(?P<word>[A-Za-z_][A-Za-z0-9_]*)''', re.X)
_KEYWORD_SET = frozenset(KEYWORDS)

Token = tuple[int, int, str, tuple[str, ...]]  # start and end offsets, type, modifiers


def semantic_tokens_of(text: str, occurrences: list[Occurrence]) -> list[Token]:
    """The tokens of `text`: every name the checker resolved (declarations marked), then keywords, strings, numbers,
    dates and comments around them (a string is split around the placeholders it holds)."""
    named: list[Token] = []
    for occ in occurrences:
        kind = occ.key[0]
        mods = (("declaration",) if occ.is_def else ()) + (("readonly",) if kind == "define" else ())
        named.append((occ.span.start, occ.span.end, _TOKEN_OF_KIND.get(kind, "variable"), mods))
    kept: list[Token] = []
    for tok in sorted(named):  # no overlaps, no repeats
        if not kept or tok[0] >= kept[-1][1]:
            kept.append(tok)
    named = kept
    ends = [end for _, end, _, _ in named]  # ascending, as the starts are: the named tokens do not overlap
    tokens: list[Token] = []
    for match in _LEXEME.finditer(text):
        kind = match.lastgroup or ""
        first = bisect.bisect_right(ends, match.start())  # the first named token ending after the lexeme starts
        if kind == "word":
            if match.group() not in _KEYWORD_SET or (first < len(named) and named[first][0] <= match.start()):
                continue
            kind = "keyword"
        mods = ("date",) if kind == "date" else ()
        kind = "number" if kind == "date" else kind
        start = match.start()
        for a, b, _, _ in _overlapping(named, first, match.end()):  # the pieces of the lexeme outside them
            if a > start:
                tokens.append((start, a, kind, mods))
            start = max(start, b)
        if start < match.end():
            tokens.append((start, match.end(), kind, mods))
    return sorted(named + tokens)


def _overlapping(named: list[Token], first: int, end: int) -> Iterator[Token]:
    """The named tokens from index `first` on that start before `end`."""
    while first < len(named) and named[first][0] < end:
        yield named[first]
        first += 1


def encode_tokens(text: str, tokens: list[Token]) -> list[int]:
    """LSP's relative encoding (line delta, start delta, length, type, modifier bits), in UTF-16 units, each token
    cut at line ends. The tokens come in order, so each position is found from the one before, not from the line's
    start (many tokens on one long line cost as much as one)."""
    data: list[int] = []
    last_line, last_char = 0, 0
    here = (0, 0, 0)  # a line, an offset on it and that offset's UTF-16 column
    for start, end, kind, mods in tokens:
        while start < end:
            stop = text.find("\n", start, end)
            stop = end if stop < 0 else stop
            if stop > start:
                here = _walk(text, here, start)
                line, _, character = here
                delta = line - last_line
                data += [delta, character - (last_char if delta == 0 else 0), utf16_len(text[start:stop]),
                         TOKEN_TYPES.index(kind), sum(1 << TOKEN_MODIFIERS.index(m) for m in mods)]
                last_line, last_char = line, character
            start = stop + 1
    return data


def _walk(text: str, here: tuple[int, int, int], offset: int) -> tuple[int, int, int]:
    """The line, offset and UTF-16 column of `offset`, from those of an offset before it (else from the start)."""
    line, at, column = here if here[1] <= offset else (0, 0, 0)
    newlines = text.count("\n", at, offset)
    if newlines:
        at = text.rfind("\n", at, offset) + 1
        return line + newlines, offset, utf16_len(text[at:offset])
    return line, offset, column + utf16_len(text[at:offset])
