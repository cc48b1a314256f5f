"""A decision: outcome, computed values, reasons and warnings with sources, and the trace that explains it."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterator, Mapping

import attrs


class LazyText(Mapping[str, str]):
    """A {"zh", "en"} text rendered per language on first use: most callers of evaluate() look only
    at the outcome, so messages are not formatted until someone reads them."""

    __slots__ = ("_render", "_cache")

    def __init__(self, render: Callable[[str], str]) -> None:
        self._render = render
        self._cache: dict[str, str] = {}

    def __getitem__(self, lang: str) -> str:
        if lang not in ("zh", "en"):
            raise KeyError(lang)
        if lang not in self._cache:
            self._cache[lang] = self._render(lang)
        return self._cache[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(("zh", "en"))

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        return repr(dict(self))


@attrs.frozen(kw_only=True)
class Reason:
    rule: str
    code: str
    outcome: str
    message: Mapping[str, str]
    source: Mapping[str, str] | None

    def to_dict(self) -> dict:
        return {"rule": self.rule, "code": self.code, "message": dict(self.message),
                "source": dict(self.source) if self.source else None}


@attrs.frozen(kw_only=True)
class TraceEvent:
    """One rule considered: its status and the facts and values it read."""

    rule: str
    status: str  # not_in_force | out_of_scope | overridden | satisfied | fired | missing
    reads: Mapping[str, Any]
    detail: str | None = None


@attrs.frozen(kw_only=True)
class Decision:
    policy: str
    at: dt.date
    outcome: str  # allow | deny
    values: Mapping[str, Any]
    value_kinds: Mapping[str, str] = attrs.field(repr=False, eq=False)  # path -> kind, for value_json
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...]
    trace: tuple[TraceEvent, ...] = attrs.field(repr=False)
    coverage: frozenset[str] = attrs.field(default=frozenset(), repr=False)  # items reached, when recorded

    @property
    def value_json(self) -> dict[str, Any]:
        """The values as decision JSON shows them: money and percentages as strings, dates ISO."""
        from policydsl.runtime.values import to_json

        return {k: to_json(self.value_kinds[k], v) for k, v in self.values.items()}

    def to_dict(self) -> dict:
        return {
            "policy": self.policy, "at": self.at.isoformat(), "outcome": self.outcome,
            "values": dict(self.value_json),
            "reasons": [r.to_dict() for r in self.reasons],
            "warnings": [w.to_dict() for w in self.warnings],
        }
