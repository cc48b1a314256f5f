"""Policy model plus a folder of source documents in, provenance diagnostics out (verbatim quotes).

Source documents may come from anyone (a pull request can add a policy naming any file), so a
document name must be a plain relative path that resolves inside the sources folder; anything else
is a diagnostic that shows nothing of the file it names. Documents are read with a size bound and
must be UTF-8 text.
"""
from __future__ import annotations

import difflib
import os
import stat
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Iterator

import attrs

from policydsl import diagnostics as dg
from policydsl import i18n
from policydsl.errors import clip
from policydsl.semantics.model import Model
from policydsl.source import BOM, read_text, unreadable_reason
from policydsl.syntax import ast

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
"""A source document larger than this is refused (the seeds are tens of kilobytes)."""

_NOT_REGULAR = i18n.both("file.not_regular")


def all_sources(model: Model) -> Iterator[ast.SourceRef]:
    for policy in model.policies.values():
        yield from policy.decl.sources
        for rule in policy.rules:
            yield from rule.decl.sources
        for define in policy.defines.values():
            yield from define.decl.sources
        notes: tuple[ast.AssumeDecl | ast.NoteDecl, ...] = (*policy.assumptions, *policy.notes)
        for note in notes:
            yield from note.sources


def plain_name(document: str) -> bool:
    """A relative path of ordinary names: no `..`, no absolute path or drive, no control characters."""
    if not document or document.startswith(("/", "\\")) or "\\" in document or ":" in document:
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in document):
        return False
    parts = PurePosixPath(document).parts
    return bool(parts) and all(part not in (".", "..") for part in parts) and not document.endswith("/")


def check_document_names(model: Model) -> list[dg.Diagnostic]:
    """P0707 for every cited document name that could leave a sources folder (no folder needed)."""
    return [dg.make("P0707", ref.span, document=_shown(ref.document))
            for ref in all_sources(model) if not plain_name(ref.document)]


def verify_quotes(model: Model, folder: Path) -> list[dg.Diagnostic]:
    """Each cited document must be a file inside `folder` and contain its quote verbatim."""
    root = Path(os.path.realpath(folder))
    texts: dict[str, str | Unreadable] = {}
    out = []
    for ref in all_sources(model):
        if not plain_name(ref.document):
            continue  # reported by check_document_names, whatever the folder holds
        if ref.document not in texts:
            texts[ref.document] = read_document(root, ref.document)
        text = texts[ref.document]
        if isinstance(text, Unreadable):
            out.append(dg.make(text.code, ref.span, document=_shown(ref.document), reason=text.reason))
        elif ref.quote not in text:
            out.append(dg.make("P0702", ref.quote_span, document=ref.document,
                               hint_args={"closest": closest(ref.quote, text)}))
    return out


@attrs.frozen
class Unreadable:
    """Why a cited document gives no text: P0701 (absent), P0707 (outside the folder), P0708 (a reason)."""

    code: str
    reason: dict[str, str] | str = ""


def read_document(root: Path, document: str) -> str | Unreadable:
    """The text of `root/document` (a byte-order mark dropped), read only when it resolves inside `root`."""
    path = Path(os.path.realpath(root / document))
    if os.path.commonpath([root, path]) != str(root):  # a symlink leading out
        return Unreadable("P0707")
    try:
        info = path.stat()
    except OSError:
        return Unreadable("P0701")
    if not stat.S_ISREG(info.st_mode):  # a folder, a FIFO (opening it would block), a device
        return Unreadable("P0708", _NOT_REGULAR)
    try:
        return read_text(path, MAX_DOCUMENT_BYTES).removeprefix(BOM)
    except (OSError, UnicodeDecodeError) as exc:
        return Unreadable("P0708", unreadable_reason(exc))


def _shown(document: str) -> str:
    """The name as written, with control characters made visible and its length bounded."""
    visible = document.encode("unicode_escape").decode("ascii") if not document.isprintable() else document
    return clip(visible, 120)


# ------------------------------------------------------------------ the closest passage
ANCHOR_WIDTHS = (4, 2)
"""Lengths of the quote's pieces looked up in the document to find where a similar passage may be."""
MAX_QUOTE = 4000
"""A quote longer than this gets no closest-text hint (comparing it would cost too much)."""
MAX_ANCHORS = 48
MAX_HITS = 200
CANDIDATES = 4


def closest(quote: str, text: str) -> str:
    """The passage of `text` most similar to `quote`, to show the author what the document says.

    Pieces of the quote are looked up in the document (C-speed `str.find`); each hit votes for where
    the passage would start, and only the few best-voted regions are compared with difflib, so the
    cost grows with the number of hits, not with the length of the document times the quote."""
    size = len(quote)
    if not size or not text or size > MAX_QUOTE:
        return "—"
    starts = _candidate_starts(quote, text)
    best, best_score = "", 0.0
    for start in starts:
        region = text[max(0, start - size // 2):start + size + size // 2]
        passage, score = _best_in_region(quote, region)
        if score > best_score:
            best, best_score = passage, score
    return f"“{best.strip()}”" if best.strip() else "—"


def _candidate_starts(quote: str, text: str) -> list[int]:
    """Where a passage like `quote` may start in `text`, best-voted first: pieces of four characters,
    or of two when no piece of four occurs."""
    for width in ANCHOR_WIDTHS:
        votes = _votes(quote, text, min(width, len(quote)))
        if votes:
            return [start for start, _ in votes.most_common(CANDIDATES)]
    return []


def _votes(quote: str, text: str, width: int) -> Counter[int]:
    """Each occurrence of a piece of `quote` in `text` votes for a start, rounded to a quarter quote."""
    offsets = range(0, max(1, len(quote) - width + 1))
    step = max(1, len(offsets) // MAX_ANCHORS)
    bucket = max(1, len(quote) // 4)
    votes: Counter[int] = Counter()
    for offset in offsets[::step]:
        piece = quote[offset:offset + width]
        if not piece.strip():
            continue
        found, hits = text.find(piece), 0
        while found >= 0 and hits < MAX_HITS:
            votes[max(0, found - offset) // bucket * bucket] += 1
            found, hits = text.find(piece, found + 1), hits + 1
    return votes


def _best_in_region(quote: str, region: str) -> tuple[str, float]:
    """The stretch of `region` between the first and last text it shares with `quote`, and its similarity."""
    matcher = difflib.SequenceMatcher(None, quote, region, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return "", 0.0
    passage = region[blocks[0].b:blocks[-1].b + blocks[-1].size]
    score = difflib.SequenceMatcher(None, quote, passage, autojunk=False).ratio()
    return passage, score
