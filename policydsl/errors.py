"""The two worlds of failure: author mistakes (reported as data) and our own bugs."""
from __future__ import annotations


class InternalError(Exception):
    """A broken invariant inside policydsl: reaching one is our bug, never the author's."""


class PolicyDslError(Exception):
    """A user-facing failure carrying bilingual text; the CLI prints it and exits 2."""

    def __init__(self, key: str, /, **args: object) -> None:
        from policydsl import i18n

        self.key = key
        self.args_map = args
        super().__init__(i18n.t(key, "en", **args))

    def message(self, lang: str) -> str:
        from policydsl import i18n

        return i18n.t(self.key, lang, **self.args_map)
