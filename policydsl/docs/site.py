"""The loaded rule book, the features and the languages in; every file of the handbook out, page by
page, through Jinja templates (HTML autoescaped, Markdown escaped by a finalizer, StrictUndefined).

`pages()` yields (relative path, text) one file at a time, so a failure while rendering stops the
stream and whatever wrote the earlier files (see output.py) can throw them away.
"""
from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import attrs
import jinja2
from markupsafe import Markup, escape

from policydsl.docs import book as whole
from policydsl.docs.examples import Example, collect
from policydsl.docs.prose import Seg, plain
from policydsl.docs.strings import HTML_LANG, LANGS, s, table
from policydsl.docs.view import PolicyView, policy_page
from policydsl.loader import PolicySet

FORMATS = {"html": ".html", "md": ".md"}
BOOK_PAGES = ("inventory", "glossary", "dictionary", "changes", "steps")
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~])")


class MdText(str):
    """Markdown that is already escaped (prose, code spans, links): the finalizer leaves it alone."""


def md_escape(value: Any) -> str:
    """Policy text as literal Markdown: every character Markdown would read as syntax is escaped."""
    if isinstance(value, MdText):
        return value
    text = "" if value is None else str(value)
    return MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def _environment(**options: Any) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("policydsl.docs", "templates"),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, **options)


CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _code_spans(text: str, code: Callable[[str], str], other: Callable[[str], str]) -> str:
    """A message's `quoted` names (as error messages write them) as code, the rest as text."""
    parts = CODE_SPAN.split(str(text))  # text, code, text, code, …, text
    return "".join(code(part) if i % 2 else other(part) for i, part in enumerate(parts))


def html_environment() -> jinja2.Environment:
    env = _environment(autoescape=True)
    env.filters["prose"] = _html_prose
    env.filters["spans"] = lambda text: Markup(_code_spans(text, lambda c: f"<code>{escape(c)}</code>", escape))
    return env


def md_environment() -> jinja2.Environment:
    env = _environment(autoescape=False, finalize=md_escape)
    env.filters["prose"] = _md_prose
    env.filters["spans"] = lambda text: MdText(_code_spans(text, lambda c: f"`{c}`", md_escape))
    env.filters["code"] = lambda text: MdText("`" + str(text).replace("`", "'") + "`")
    env.filters["raw"] = lambda text: MdText(text)
    return env


@jinja2.pass_context
def _html_prose(context: jinja2.runtime.Context, prose: tuple[Seg, ...]) -> Markup:
    out = []
    for seg in prose:
        text = escape(seg.text)
        if seg.role == "term" and seg.page:  # whole-book prose: a term on another page
            out.append(Markup('<a class="term" href="{}">{}</a>').format(context["link"](seg.page, seg.href), text))
        elif seg.role == "term" and seg.href:
            out.append(Markup('<a class="term" href="#{}">{}</a>').format(seg.href, text))
        elif seg.role in ("term", "value"):
            out.append(Markup('<span class="{}">{}</span>').format(seg.role, text))
        elif seg.role == "code":
            out.append(Markup("<code>{}</code>").format(text))
        else:
            out.append(text)
    return Markup("").join(out)


@jinja2.pass_context
def _md_prose(context: jinja2.runtime.Context, prose: tuple[Seg, ...]) -> MdText:
    """Plain Markdown; only a term on another page (whole-book prose) is a link."""
    return MdText("".join(_md_seg(seg, context["link"]) for seg in prose))


def _md_seg(seg: Seg, link: Callable[..., str]) -> str:
    if seg.role == "code":
        return f"`{seg.text}`"
    if seg.role == "term" and seg.page:
        return f"[{md_escape(seg.text)}]({link(seg.page, seg.href)})"
    return md_escape(seg.text)


@attrs.define
class Site:
    """One rendering of the handbook."""

    book: PolicySet
    features: Path
    policies_dir: str
    langs: tuple[str, ...] = LANGS
    html: jinja2.Environment = attrs.field(factory=html_environment)
    md: jinja2.Environment = attrs.field(factory=md_environment)
    examples: dict[str, list[Example]] = attrs.field(factory=dict)

    def pages(self) -> Iterator[tuple[str, str]]:
        self.examples = {}
        for example in collect(self.book, self.features):
            self.examples.setdefault(example.policy, []).append(example)
        yield "index.html", self.render(self.html, "root.html", {"langs": self.langs})
        yield "README.md", self.render(self.md, "root.md", {"langs": self.langs})
        for lang in self.langs:
            yield from self.language(lang)

    def language(self, lang: str) -> Iterator[tuple[str, str]]:
        views = {pid: PolicyView(self.book, self.book.model.policies[pid], lang, self.policies_dir,
                                 self.examples.get(pid, [])).build() for pid in sorted(self.book.model.policies)}
        book_views = {
            "index": whole.index_view(self.book, lang, self.examples),
            "inventory": whole.inventory_view(self.book, self.features, lang, self.examples),
            "glossary": whole.glossary_view(self.book, lang),
            "dictionary": whole.dictionary_view(self.book, lang),
            "changes": whole.changes_view(self.book, lang),
            "steps": whole.steps_view(lang),
        }
        subjects = book_views["index"]["subjects"]
        for fmt in FORMATS:
            env = self.html if fmt == "html" else self.md
            for name, view in book_views.items():
                yield self.page(env, lang, fmt, name, f"{name}.{fmt}", {"view": view, "subjects": subjects})
            for pid, view in views.items():
                yield self.page(env, lang, fmt, policy_page(pid), f"policy.{fmt}", {"view": view, "subjects": subjects})
        for view in views.values():
            if view["timeline"] is not None:
                yield f"{lang}/md/policies/{view['timeline_file']}", self.timeline_svg(view["timeline"], lang)
        for view in views.values():
            for chart in (rollout["chart"] for rollout in view["rollouts"]):
                if chart is not None:
                    yield f"{lang}/md/policies/{chart['file']}", XML_DECLARATION + str(chart["svg"]) + "\n"
        if book_views["changes"]["timeline"] is not None:
            yield f"{lang}/md/changes.svg", self.timeline_svg(book_views["changes"]["timeline"], lang)
        yield f"{lang}/html/assets/search-index.js", search_index(lang, views, book_views)
        for asset in ("style.css", "search.js", "page.js", "tryit.js"):
            yield f"{lang}/html/assets/{asset}", self.render(self.html, f"assets/{asset}", {})

    def page(self, env: jinja2.Environment, lang: str, fmt: str, page: str, template: str,
             extra: dict[str, Any]) -> tuple[str, str]:
        ext = FORMATS[fmt]
        root = "../" * page.count("/")
        other = [x for x in self.langs if x != lang]
        link = _linker(page, ext, fmt)
        context = {
            "t": table(lang), "lang": lang, "html_lang": HTML_LANG[lang], "fmt": fmt, "page": page, "root": root,
            "link": link, "other_lang": (root + f"../../{other[0]}/{fmt}/{page}{ext}") if other else "",
            "nav": [(key, s(f"nav.{key}", lang)) for key in ("index", *BOOK_PAGES)],
            **extra,
        }
        if fmt == "md":
            context.update(_md_helpers(link))
        return f"{lang}/{fmt}/{page}{ext}", self.render(env, template, context)

    def timeline_svg(self, tl: dict, lang: str) -> str:
        """A timeline as a file of its own, next to the Markdown page that shows it."""
        return self.render(self.html, "timeline.svg", {"tl": tl, "standalone": True, "link": None, "lang": lang})

    @staticmethod
    def render(env: jinja2.Environment, template: str, context: dict[str, Any]) -> str:
        return env.get_template(template).render(context)


def _linker(page: str, ext: str, fmt: str) -> Callable[..., str]:
    """link(target_page, anchor) -> a URL relative to `page` (same page: just the #anchor)."""
    here = posixpath.dirname(page) or "."

    def link(target: str, anchor: str = "") -> str:
        url = "" if target in ("", page) else posixpath.relpath(target + ext, here)
        if anchor:
            url += "#" + anchor
        return MdText(url) if fmt == "md" else url
    return link


def _md_helpers(link: Callable[..., str]) -> dict[str, Callable[..., MdText]]:
    """Markdown links and lists of links, already escaped (Jinja macros would be escaped twice)."""
    def ref(item: dict) -> MdText:
        text = f"`{item['text']}`" if item.get("role") == "code" else md_escape(item["text"])
        if item.get("page") or item.get("anchor"):
            return MdText(f"[{text}]({link(item['page'], item['anchor'])})")
        return MdText(text)

    def refs(items: list[dict], sep: str) -> MdText:
        return MdText(md_escape(sep).join(ref(item) for item in items))

    def quote(text: str) -> MdText:
        return MdText("> " + md_escape(text))

    return {"ref": ref, "refs": refs, "quote": quote}


def search_index(lang: str, views: dict[str, dict], book_views: dict[str, dict]) -> str:
    """The offline search index: a script assigning [url, kind, title, text] rows to a global."""
    rows: list[list[str]] = []

    def add(url: str, kind: str, title: str, *text: str) -> None:
        rows.append([url, s(f"kind.{kind}", lang), title, " ".join(" ".join(t.split()) for t in text if t)])

    for pid, view in views.items():
        page = f"policies/{pid}.html"
        add(page, "policy", view["title"], pid, view["period"])
        for rule in view["rules"]:
            parts = [plain(p) for p in (rule["scope"] or (), rule["condition"] or (), rule["message"])]
            add(f"{page}#{rule['anchor']}", "rule", f"{rule['label']} — {view['title']}", rule["name"], rule["code"],
                *parts, *(q["quote"] for q in rule["sources"]))
        for item in view["properties"]:
            add(f"{page}#{item['anchor']}", "property", f"{item['label']} — {view['title']}", item["name"],
                item["period"] or "", plain(item["statement"]))
        for kind, key in (("input", "path"), ("define", "path"), ("table", "name"), ("rollout", "name")):
            for item in view[f"{kind}s"]:
                add(f"{page}#{item['anchor']}", kind, f"{item['label']} — {view['title']}", item[key])
        for kind, items in (("assumption", view["assumptions"]), ("note", view["notes"])):
            for item in items:
                add(f"{page}#{item['anchor']}", kind, f"{item['name']} — {view['title']}", item["text"])
        for item in view["examples"]:
            add(f"{page}#{item['anchor']}", "example", f"{item['title']} — {view['title']}", item["summary"])
    for item in book_views["index"]["book_properties"]:
        add(f"index.html#{item['anchor']}", "property", item["label"], item["name"], plain(item["statement"]))
    for item in book_views["index"]["overlaps"]:
        add(f"index.html#{item['anchor']}", "overlap", item["label"], item["name"], plain(item["scope"]),
            plain(item["agree"]), plain(item["resolution"]))
    for enum in book_views["glossary"]["enums"]:
        add(f"glossary.html#{enum['anchor']}", "enum", enum[lang], enum["id"],
            *(f"{v['id']} {v['zh']} {v['en']}" for v in enum["values"]))
    # Facts are found at their rows of the data dictionary (one entry per fact, with its entity, type and
    # unit); the glossary's fact rows, which repeat those names, would only duplicate them. Computed values
    # have no dictionary row: the glossary's table stays their entry.
    for section in book_views["dictionary"]["sections"]:
        if section["name"]:
            add(f"dictionary.html#{section['anchor']}", "entity", section["label"], section["name"],
                section["other_label"])
        for fact in section["facts"]:
            add(f"dictionary.html#{fact['anchor']}", "fact", f"{fact['label']} — {section['label']}", fact["id"],
                fact["other_label"], fact["type"], fact["unit"])
    for term in book_views["glossary"]["facts"]:
        if term["link"] is None:
            add("glossary.html#facts", "term", term[lang], term["path"], term["zh"], term["en"])
    for phrase in book_views["steps"]["phrases"]:
        add("steps.html", "step", phrase[f"example_{lang}"], phrase["example_zh"],
            phrase["example_en"], phrase["meaning"])
    data = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return "window.POLICYDSL_SEARCH = " + data + ";\n"
