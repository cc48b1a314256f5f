"""The evaluable form of a policy: plain data plus closures, built by compile/, run by evaluate.py."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Mapping

import attrs

from policydsl.runtime.facts import InputSpec

Fn = Callable[["Env"], Any]
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def split_template(template: str) -> tuple[tuple[str, str | None], ...]:
    """`"粉丝数 {account.fans}，不足"` -> (("粉丝数 ", "account.fans"), ("，不足", None))."""
    parts: list[tuple[str, str | None]] = []
    last = 0
    for match in PLACEHOLDER.finditer(template):
        parts.append((template[last:match.start()], match.group(1)))
        last = match.end()
    parts.append((template[last:], None))
    return tuple(parts)


class MissingFact(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@attrs.define(slots=True)
class Env:
    """One evaluation: the typed facts, the date, memoised values and bound aggregate variables."""

    facts: Mapping[str, Any]
    at: dt.date
    policy: "CompiledPolicy"
    cache: dict[str, Any] = attrs.field(factory=dict)
    vars: dict[str, Any] = attrs.field(factory=dict)
    hits: set[str] | None = None  # coverage items reached, when recording
    decision: Any = None  # the Decision a property's claim reads (`outcome`, `fires(rule)`)

    def fact(self, path: str) -> Any:
        try:
            return self.facts[path]
        except KeyError:
            raise MissingFact(path) from None


@attrs.frozen(kw_only=True)
class CompiledCase:
    value: Fn
    when: Fn | None
    start: dt.date | None
    end: dt.date | None


@attrs.frozen(kw_only=True)
class CompiledDefine:
    path: str
    kind: str
    label: Mapping[str, str]
    cases: tuple[CompiledCase, ...]
    reads: frozenset[str]


@attrs.frozen(kw_only=True)
class CompiledRule:
    name: str
    label: Mapping[str, str]
    kind: str  # require | fire
    outcome: str
    code: str
    message: Mapping[str, str]
    start: dt.date | None
    end: dt.date | None
    scope: Fn | None
    condition: Fn | None
    exceptions: tuple[str, ...]
    exception_to: tuple[str, ...]
    source: Mapping[str, str] | None
    reads: frozenset[str]
    message_parts: Mapping[str, tuple[tuple[str, str | None], ...]] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "message_parts", {lang: split_template(t) for lang, t in self.message.items()})

    def in_force(self, at: dt.date) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at <= self.end)


@attrs.frozen(kw_only=True)
class CompiledProperty:
    """A property's premise and claim as closures over an Env whose `decision` is set."""

    name: str
    label: Mapping[str, str]
    start: dt.date | None
    end: dt.date | None
    premise: Fn | None
    claim: Fn
    premise_reads_decision: bool

    def in_period(self, at: dt.date) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at <= self.end)


@attrs.frozen(kw_only=True)
class CompiledPolicy:
    id: str
    title: Mapping[str, str]
    start: dt.date | None
    end: dt.date | None
    inputs: Mapping[str, InputSpec]
    defines: Mapping[str, CompiledDefine]
    rules: tuple[CompiledRule, ...]
    value_kinds: Mapping[str, str]  # input or define path -> kind, for messages
    enum_labels: Mapping[str, Mapping[str, Mapping[str, str]]]  # enum -> value -> {"zh", "en"}
    value_enums: Mapping[str, str]  # input or define path of an enum or set type -> its enum
    coverage_items: tuple[str, ...] = ()
    properties: tuple[CompiledProperty, ...] = ()
    rule_index: Mapping[str, CompiledRule] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "rule_index", {r.name: r for r in self.rules})

    def labeler(self, path: str):
        """value -> {"zh", "en"} labels for the enum values of the input or define at `path`."""
        return self.enum_labels.get(self.value_enums.get(path, ""), {}).__getitem__
