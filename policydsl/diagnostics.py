"""Diagnostics as data: a code, a severity, a span, bilingual message and hint; text and JSON rendering."""
from __future__ import annotations

from typing import Iterable, Literal

import attrs

from policydsl import i18n
from policydsl.source import Span, visible

Severity = Literal["error", "warning", "info"]
"""`info` is a note, not a problem: `check` neither counts nor shows it unless asked (`--info`)."""
MAX_SHOWN = 50


@attrs.frozen(kw_only=True)
class Related:
    span: Span
    message: dict[str, str]


@attrs.frozen(kw_only=True)
class Diagnostic:
    """One problem an author can fix. `message`/`hint` map language -> text."""

    code: str
    severity: Severity
    span: Span
    message: dict[str, str]
    hint: dict[str, str] | None = None
    related: tuple[Related, ...] = ()
    suggestion: str | None = None  # the did-you-mean its hint names: what an editor's quick fix writes

    @property
    def is_problem(self) -> bool:
        """Errors and warnings are problems; an `info` note is not."""
        return self.severity != "info"

    @property
    def file(self) -> str:
        return self.span.file

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def sort_key(self) -> tuple:
        return (self.span.file, self.span.start, self.code)

    def render(self, lang: str) -> str:
        sev = i18n.t(f"severity.{self.severity}", lang)
        out = [f"{self.file}:{self.line}:{self.column}: {sev}[{self.code}]: {self.message[lang]}",
               self.span.snippet()]
        for rel in self.related:
            out += [f"  {rel.span.file}:{rel.span.line}:{rel.span.column}: {rel.message[lang]}", rel.span.snippet()]
        if self.hint:
            out.append(f"     = {i18n.t('diagnostic.hint', lang)}: {self.hint[lang]}")
        return visible("\n".join(out))  # a name or text quoted in a message may hold control characters too

    def to_dict(self) -> dict:
        end_line, end_col = self.span.source.position(self.span.end)
        return {
            "code": self.code, "severity": self.severity, "file": self.file,
            "line": self.line, "column": self.column, "end_line": end_line, "end_column": end_col,
            "text": self.span.text, "message": self.message, "hint": self.hint,
        }


def make(code: str, span: Span, *, severity: Severity = "error", hint_args: dict | None = None,
         related: Iterable[tuple[Span, str]] = (), **args: object) -> Diagnostic:
    """Build a diagnostic whose texts come from the catalog entries `code` and `code.hint`.

    The hint is formatted with the message arguments plus `hint_args`; a hint whose
    placeholders are not all given (e.g. no did-you-mean candidate) is left out.
    """
    fill = {**args, **(hint_args or {})}
    hint, suggestion = None, None
    for key in (f"{code}.hint", f"{code}.hint0"):  # .hint0: the advice when `.hint`'s arguments are missing
        if key in i18n.MESSAGES:
            try:
                hint = i18n.both(key, **fill)
            except KeyError:
                continue
            suggestion = str(fill["suggestion"]) if "{suggestion}" in i18n.MESSAGES[key][1] else None
            break
    rel = tuple(Related(span=s, message=i18n.both(key)) for s, key in related)
    return Diagnostic(code=code, severity=severity, span=span, message=i18n.both(code, **args),
                      hint=hint, related=rel, suggestion=suggestion)


@attrs.define
class DiagnosticBag:
    """Collects diagnostics from every stage; never stops at the first."""

    items: list[Diagnostic] = attrs.field(factory=list)

    def add(self, diag: Diagnostic) -> None:
        self.items.append(diag)

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    @property
    def infos(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "info"]

    def sorted(self) -> list[Diagnostic]:
        """The diagnostics in file order, each reported once (the first of equal ones kept)."""
        unique: dict[tuple, Diagnostic] = {}
        for d in sorted(self.items, key=Diagnostic.sort_key):
            unique.setdefault((d.code, d.file, d.span.start, d.span.end, d.message["en"]), d)
        return list(unique.values())

    def render(self, lang: str, cap: int = MAX_SHOWN) -> str:
        items = self.sorted()
        parts = [d.render(lang) for d in items[:cap]]
        if len(items) > cap:
            parts.append(i18n.t("summary.capped", lang, count=len(items) - cap))
        return "\n\n".join(parts)
