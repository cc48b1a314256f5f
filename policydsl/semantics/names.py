"""Did-you-mean suggestions over ids and their Chinese/English labels."""
from __future__ import annotations

from typing import Iterable


def suggest(name: str, candidates: Iterable[tuple[str, Iterable[str]]]) -> str | None:
    """The candidate id closest to `name`, matching ids by edit distance and labels exactly or closely."""
    import difflib  # (asked only when a name is not found)

    ids: list[str] = []
    by_label: dict[str, str] = {}
    for ident, labels in candidates:
        ids.append(ident)
        for label in labels:
            by_label.setdefault(label, ident)
    if name in by_label:
        return by_label[name]
    close = difflib.get_close_matches(name, ids, n=1, cutoff=0.6)
    if close:
        return close[0]
    tail = name.rsplit(".", 1)[-1]
    tails = {i.rsplit(".", 1)[-1]: i for i in ids}
    close = difflib.get_close_matches(tail, list(tails), n=1, cutoff=0.75)
    if close:
        return tails[close[0]]
    close = difflib.get_close_matches(name, list(by_label), n=1, cutoff=0.5)
    return by_label[close[0]] if close else None
