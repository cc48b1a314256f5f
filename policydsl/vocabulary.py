"""The book's facts by id and label in, one checked record out: unknown names, conflicting spellings
and ambiguous labels are errors naming them; labels become ids.

A record is what a platform keeps for one account, shop or product: nested objects
(`{"account": {"fans": 999}}`), dotted keys (`{"account.fans": 999}`) or labels (`{"粉丝数": 999}`),
mixed as it comes. The vocabulary is every input of every policy of the book, so one record can be
decided by any policy; a name outside it is a mistake (`account.fanz`) unless the caller says the
record carries other columns (`ignore_unknown`).
"""
from __future__ import annotations

from collections import deque
from typing import Any, Iterable, Iterator, Mapping

from policydsl import i18n
from policydsl.errors import PolicyDslError, clip
from policydsl.runtime.facts import InputSpec, shorten
from policydsl.semantics.names import suggest


_NONE: frozenset[str] = frozenset()
MAX_LISTED = 20
"""An error lists this many unknown names with a did-you-mean, then says how many more: a request or a record of
60,000 unknown names took 80 s to be refused (blocking every other request of the service meanwhile)."""


class Vocabulary:
    """Every fact the book reads, with what a quick check of a plain record needs precomputed."""

    def __init__(self, specs: Iterable[InputSpec]) -> None:
        """`specs`: the inputs of every policy; a fact several policies read keeps every label they give it."""
        specs = list(specs)
        self.specs = {spec.path: spec for spec in specs}
        self.labels: dict[str, set[str]] = {}
        children: dict[str, set[str]] = {}  # entity -> the names of its facts two parts deep (`account` -> `fans`)
        for spec in specs:
            for label in spec.label.values():
                self.labels.setdefault(label, set()).add(spec.path)
            if len(spec.parts) == 2:
                children.setdefault(spec.parts[0], set()).add(spec.parts[1])
        self.prefixes = {".".join(spec.parts[:i]) for spec in self.specs.values() for i in range(1, len(spec.parts))}
        self.children = {head: frozenset(names) for head, names in children.items()}
        self.top = frozenset(p for p, s in self.specs.items() if len(s.parts) == 1)

    def check(self, record: Mapping[str, Any], *, ignore_unknown: bool = False) -> Mapping[str, Any]:
        """`record` itself when it is plain (nested ids, all known), else an equivalent flat
        {id: value}; raises PolicyDslError for unknown names (unless ignored), conflicting
        duplicates and ambiguous labels, each naming every offender."""
        if self._plain(record):
            return record
        return self._normalise(record, ignore_unknown)

    def _plain(self, record: Mapping[str, Any]) -> bool:
        """Nested objects of known ids two levels deep at most, no dotted key, no label: the common case,
        checked with set operations only."""
        if type(record) is not dict:
            return False
        children, top = self.children, self.top
        for head, node in record.items():
            if head in top:
                continue
            if type(node) is not dict or not node.keys() <= children.get(head, _NONE):
                return False
        return True

    def _normalise(self, record: Mapping[str, Any], ignore_unknown: bool) -> dict[str, Any]:
        found: dict[str, tuple[str, Any]] = {}  # id -> (the name it was given as, value)
        unknown: list[str] = []
        conflicts: list[tuple[str, str, str, Any, Any]] = []
        ambiguous: list[tuple[str, list[str]]] = []
        for name, spelled, value in _leaves(record, self):
            path = self.resolve(name)
            if path is None:
                paths = sorted(self.labels.get(name, ()))
                (ambiguous.append((name, paths)) if len(paths) > 1 else unknown.append(name))
                continue
            if path in found and found[path][1] != value:
                conflicts.append((path, found[path][0], spelled, found[path][1], value))
            found.setdefault(path, (spelled, value))
        if conflicts:
            raise self._conflict_error(conflicts)
        if ambiguous:
            raise self._ambiguous_error(ambiguous)
        if unknown and not ignore_unknown:
            raise self._unknown_error(unknown)
        return {path: value for path, (_, value) in found.items()}

    def walks_into(self, name: str, value: Any, *, top: bool) -> bool:
        """Whether the object `value` under the key path `name` holds more facts (`account` of `{"account": {…}}`)
        rather than being a fact's value: not when `name` names an input or a label; yes when it leads to inputs,
        or at the top level (`top`) when not empty (its keys are then read as names, and refused if unknown)."""
        return isinstance(value, Mapping) and name not in self.specs and name not in self.labels \
            and (name in self.prefixes or top and bool(value))

    def resolve(self, name: str) -> str | None:
        """The id `name` stands for: itself, a label (`粉丝数`), or a label under its entity (`account.粉丝数`)."""
        if name in self.specs:
            return name
        paths = self.labels.get(name, ())
        if not paths and "." in name:
            prefix, label = name.rsplit(".", 1)
            paths = {p for p in self.labels.get(label, ()) if p.startswith(prefix + ".")}
        return next(iter(paths)) if len(paths) == 1 else None

    def _unknown_error(self, names: list[str]) -> PolicyDslError:
        """The first MAX_LISTED unknown names, each with a did-you-mean (a few milliseconds each), then how many
        more; `facts` names them all."""
        candidates = [(p, tuple(s.label.values())) for p, s in self.specs.items()]
        hints = [(name, suggest(name, candidates)) for name in names[:MAX_LISTED]]

        def line(name: str, hint: str | None, lang: str) -> str:
            shown = clip(name, 60)
            if hint is None:
                return f"  - {shown}"
            return i18n.t("facts.unknown", lang, shown=shown, hint=hint, label=self.specs[hint].label[lang])
        more = len(names) - len(hints)
        items = {lang: "\n".join([*(line(n, h, lang) for n, h in hints),
                                  *([i18n.t("facts.more", lang, count=more)] if more else [])]) for lang in ("zh", "en")}
        return PolicyDslError("E.unknown_facts", facts=names, items=items)

    def _conflict_error(self, conflicts: list[tuple[str, str, str, Any, Any]]) -> PolicyDslError:
        def line(c: tuple[str, str, str, Any, Any], lang: str) -> str:
            path, first, second, a, b = c
            return i18n.t("facts.conflicting", lang, path=path, first=first, a=shorten(a), second=second, b=shorten(b))
        items = {lang: "\n".join(line(c, lang) for c in conflicts) for lang in ("zh", "en")}
        return PolicyDslError("E.conflicting_facts", facts=[c[0] for c in conflicts], items=items)

    def _ambiguous_error(self, ambiguous: list[tuple[str, list[str]]]) -> PolicyDslError:
        items = {lang: "\n".join(i18n.t("facts.ambiguous", lang, name=name, paths=i18n.t("list.sep", lang).join(
            f"`{p}`" for p in paths)) for name, paths in ambiguous) for lang in ("zh", "en")}
        return PolicyDslError("E.ambiguous_facts", facts=[name for name, _ in ambiguous], items=items)


def _leaves(record: Mapping[str, Any], vocabulary: Vocabulary) -> Iterator[tuple[str, str, Any]]:
    """(name, spelling, value) for every fact a record states, the spelling as written
    (`account → fans` nested, `account.fans` dotted): a key naming an input (or a label) ends the
    walk, an object under a name that leads to inputs is walked into, anything else is a leaf.
    Depth is bounded by facts.MAX_DEPTH, checked when the record was read."""
    queue: deque[tuple[str, str, Mapping[str, Any]]] = deque([("", "", record)])
    while queue:
        base, written, node = queue.popleft()
        for key, value in node.items():
            name = f"{base}.{key}" if base else str(key)
            spelled = f"{written} → {key}" if written else str(key)
            if vocabulary.walks_into(name, value, top=not base):
                queue.append((name, spelled, value))
            elif value is not None:  # null, like an absent key, states nothing
                yield name, spelled, value
