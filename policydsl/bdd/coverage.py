"""Decisions' coverage items in, a per-policy report out: which rules (both sides), table cells,
value cases and rollout phases the feature suite exercised, and whether a threshold is met."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from policydsl import i18n
from policydsl.runtime.program import CompiledPolicy

# ------------------------------------------------------------------ the report's strings (zh, en)
STRINGS: dict[str, tuple[str, str]] = {
    "title": ("政策规则覆盖率", "policy rule coverage"),
    "rule.fired": ("规则 {name} ({label}) 触发", "rule {name} ({label}) fired"),
    "rule.passed": ("规则 {name} ({label}) 满足（未触发）", "rule {name} ({label}) passed without firing"),
    "cell": ("表 {name} 单元格 {detail}", "table {name} cell {detail}"),
    "case": ("取值 {name} 第{detail}种情形", "value {name} case {detail}"),
    "rollout.before": ("灰度 {name} 开始之前", "rollout {name} before it starts"),
    "rollout.after": ("灰度 {name} 结束之后", "rollout {name} after it ends"),
    "rollout.phase": ("灰度 {name} 阶段 {detail}", "rollout {name} phase {detail}"),
    "not_exercised": ("未覆盖", "not exercised"),
    "meets": ("覆盖率 达到 {threshold}%", "coverage meets {threshold}%"),
    "below": ("覆盖率 未达到 {threshold}%", "coverage is below {threshold}%"),
    "selected": ("（只计入所选场景评估过的政策：运行的是部分特性文件或场景）",
                 "(only the policies the selected scenarios evaluated count: the run chose some features or scenarios)"),
}

s = i18n.register("coverage", STRINGS)


@attrs.define
class PolicyCoverage:
    policy: CompiledPolicy
    reached: set[str] = attrs.field(factory=set)

    @property
    def items(self) -> tuple[str, ...]:
        return self.policy.coverage_items

    @property
    def missed(self) -> list[str]:
        return [item for item in self.items if item not in self.reached]

    @property
    def percent(self) -> Decimal:
        if not self.items:
            return Decimal(100)
        covered = len(self.items) - len(self.missed)
        return (Decimal(covered) * 100 / len(self.items)).quantize(Decimal("0.1"))


def describe(item: str, policy: CompiledPolicy, lang: str) -> str:
    """One coverage item in words, e.g. `rule fans_2023 (粉丝门槛) fired`."""
    kind, name, detail = item.split(":", 2)
    if kind == "rule":
        return s(f"rule.{detail}", lang, name=name, label=policy.rule_index[name].label[lang])
    if kind in ("cell", "case"):
        return s(kind, lang, name=name, detail=detail)
    if detail in ("before", "after"):
        return s(f"rollout.{detail}", lang, name=name)
    return s("rollout.phase", lang, name=name, detail=detail)


def report(coverages: list[PolicyCoverage], lang: str, threshold: Decimal | None) -> tuple[str, bool]:
    """The printed report and whether every policy meets `threshold` (percent)."""
    lines = [s("title", lang)]
    ok = True
    for cov in sorted(coverages, key=lambda c: c.policy.id):
        covered = len(cov.items) - len(cov.missed)
        below = threshold is not None and cov.percent < threshold
        ok = ok and not below
        mark = "✗" if below else "✓"
        lines.append(f"  {mark} {cov.policy.id} ({cov.policy.title[lang]}): {covered}/{len(cov.items)} = {cov.percent}%")
        if below or threshold is None:
            lines += [f"      {s('not_exercised', lang)}: {describe(item, cov.policy, lang)}" for item in cov.missed]
    if threshold is not None:
        lines.append(s("meets" if ok else "below", lang, threshold=threshold))
    return "\n".join(lines), ok


COVERAGE = pytest.StashKey[dict]()
"""policy id -> PolicyCoverage, in the pytest run's stash."""


BOOK = pytest.StashKey[Any]()
"""The rule book the scenarios evaluated (a PolicySet), in the pytest run's stash."""


def record_coverage(config: pytest.Config, policy_set, policy_id: str, reached: frozenset[str]) -> None:
    """Called by each scenario's evaluation: remember the coverage items it reached (also when
    the evaluation ended in an error the scenario may expect)."""
    table = config.stash.setdefault(COVERAGE, {})
    if policy_id not in table:
        table[policy_id] = PolicyCoverage(policy=policy_set.compiled[policy_id])
    table[policy_id].reached |= reached
    config.stash[BOOK] = policy_set
