"""policydsl: policy-as-code for platform rules written in Chinese business prose.

The public API: `load(path) -> PolicySet`; `PolicySet.evaluate(policy_id, facts, at=date) -> Decision`.
The names below are imported on first use, so `policydsl --help` and a command's start-up do not pay
for the parser and the checker before they need them.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policydsl.diagnostics import Diagnostic
    from policydsl.errors import InternalError, PolicyDslError
    from policydsl.loader import PolicyLoadError, PolicySet, load
    from policydsl.runtime.decision import Decision, Reason

_HOMES = {"Diagnostic": "policydsl.diagnostics", "InternalError": "policydsl.errors",
          "PolicyDslError": "policydsl.errors", "PolicyLoadError": "policydsl.loader", "PolicySet": "policydsl.loader",
          "load": "policydsl.loader", "Decision": "policydsl.runtime.decision", "Reason": "policydsl.runtime.decision"}

__all__ = ["Decision", "Diagnostic", "InternalError", "PolicyDslError", "PolicyLoadError", "PolicySet", "Reason",
           "load"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'policydsl' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
