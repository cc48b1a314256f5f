"""policydsl: policy-as-code for platform rules written in Chinese business prose.

The public API: `load(path) -> PolicySet`; `PolicySet.evaluate(policy_id, facts, at=date) -> Decision`.
"""
from policydsl.diagnostics import Diagnostic
from policydsl.errors import InternalError, PolicyDslError
from policydsl.loader import PolicyLoadError, PolicySet, load
from policydsl.runtime.decision import Decision, Reason

__all__ = ["Decision", "Diagnostic", "InternalError", "PolicyDslError", "PolicyLoadError", "PolicySet", "Reason",
           "load"]
