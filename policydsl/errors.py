"""The two worlds of failure: author mistakes (reported as data) and our own bugs."""
from __future__ import annotations

from typing import Any, Iterable

from policydsl import i18n


def clip(text: str, limit: int = 80) -> str:
    """User text quoted in a message, at most `limit` characters (a hostile input is not echoed whole)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


class InternalError(Exception):
    """A broken invariant inside policydsl: reaching one is our bug, never the author's."""


class PolicyDslError(Exception):
    """A user-facing failure carrying bilingual text; the CLI prints it and exits 2.

    It is data too: `code` is stable (the catalogue key without its `E.`), `facts` names the facts
    it is about (missing, ill-typed, unknown), and `to_dict()` is what `--json` prints."""

    def __init__(self, key: str, /, *, facts: Iterable[str] = (), **args: object) -> None:
        self.key = key
        self.args_map = args
        self.facts = tuple(facts)
        super().__init__(i18n.t(key, "en", **args))

    def message(self, lang: str) -> str:
        return i18n.t(self.key, lang, **self.args_map)

    @property
    def code(self) -> str:
        """`missing_facts` for `E.missing_facts`; a tool's own `verify.E.timeout` is `verify.timeout`."""
        return self.key.removeprefix("E.").replace(".E.", ".")

    def to_dict(self) -> dict[str, Any]:
        """`{"error": {"code", "message": {"zh", "en"}, "facts": [...]}}`."""
        return {"error": {"code": self.code, "message": {lang: self.message(lang) for lang in ("zh", "en")},
                          "facts": list(self.facts)}}
