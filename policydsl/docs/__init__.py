"""The handbook: a checked rule book and its features in, the bilingual Markdown and HTML handbook out.

    book = policydsl.load("policies")
    files = lambda: render(book, features=Path("features"), policies_dir="policies", langs=("zh", "en"))
    write(Path("generated_docs"), files())        # atomic: all of it or none of it
    check(Path("generated_docs"), files())        # [Difference(status, path), …]: empty when fresh

`render` yields the files one at a time (a generator: render anew for each use).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from policydsl.docs.output import Difference, HandbookError, check, write
from policydsl.docs.site import Site
from policydsl.docs.strings import LANGS
from policydsl.loader import PolicySet

__all__ = ["Difference", "HandbookError", "LANGS", "check", "render", "write"]


def render(book: PolicySet, *, features: Path, policies_dir: str | Path,
           langs: Sequence[str] = LANGS) -> Iterator[tuple[str, str]]:
    """Every file of the handbook as (relative path, text), rendered one at a time."""
    site = Site(book=book, features=Path(features), policies_dir=str(policies_dir), langs=tuple(langs))
    return site.pages()
