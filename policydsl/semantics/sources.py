"""Policy model plus a folder of source documents in, provenance diagnostics out (verbatim quotes)."""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterator

from policydsl import diagnostics as dg
from policydsl.semantics.model import Model
from policydsl.syntax import ast


def all_sources(model: Model) -> Iterator[ast.SourceRef]:
    for policy in model.policies.values():
        yield from policy.decl.sources
        for rule in policy.rules:
            yield from rule.decl.sources
        for define in policy.defines.values():
            yield from define.decl.sources
        for note in (*policy.assumptions, *policy.notes):
            yield from note.sources


def verify_quotes(model: Model, folder: Path) -> list[dg.Diagnostic]:
    """Each cited document must exist in `folder` and contain its quote verbatim."""
    texts: dict[str, str | None] = {}
    out = []
    for ref in all_sources(model):
        if ref.document not in texts:
            path = folder / ref.document
            texts[ref.document] = path.read_text(encoding="utf-8") if path.is_file() else None
        text = texts[ref.document]
        if text is None:
            out.append(dg.make("P0701", ref.span, document=ref.document))
        elif ref.quote not in text:
            out.append(dg.make("P0702", ref.quote_span, document=ref.document,
                               hint_args={"closest": closest(ref.quote, text)}))
    return out


def closest(quote: str, text: str) -> str:
    """The window of `text` most similar to `quote`, to show the author what the document says."""
    size = len(quote)
    best, best_score, best_start = "", 0.0, 0
    step = max(1, size // 4)
    for start in range(0, max(1, len(text) - size + 1), step):
        window = text[start:start + size]
        score = difflib.SequenceMatcher(None, quote, window, autojunk=False).ratio()
        if score > best_score:
            best, best_score, best_start = window, score, start
    if best:  # the fixed-size window may cut the passage short: widen it to the matching text
        lo = max(0, best_start - size)
        region = text[lo:best_start + 2 * size]
        blocks = [b for b in difflib.SequenceMatcher(None, quote, region, autojunk=False).get_matching_blocks() if b.size]
        best = region[blocks[0].b:blocks[-1].b + blocks[-1].size] if blocks else best
    return f"“{best.strip()}”" if best else "—"
