"""Decisions' coverage items in, a per-policy report out: which rules (both sides), table cells,
value cases and rollout phases the feature suite exercised, and whether a threshold is met."""
from __future__ import annotations

from decimal import Decimal

import attrs
import pytest

from policydsl.runtime.program import CompiledPolicy


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
    zh = lang == "zh"
    if kind == "rule":
        label = policy.rule_index[name].label[lang]
        side = {"fired": ("触发", "fired"), "passed": ("满足（未触发）", "passed without firing")}[detail]
        return f"{'规则' if zh else 'rule'} {name} ({label}) {side[0 if zh else 1]}"
    if kind == "cell":
        return f"{'表' if zh else 'table'} {name} {'单元格' if zh else 'cell'} {detail}"
    if kind == "case":
        return f"{'取值' if zh else 'value'} {name} {'第' if zh else 'case '}{detail}{'种情形' if zh else ''}"
    phase = {"before": ("开始之前", "before it starts"), "after": ("结束之后", "after it ends")}.get(detail)
    shown = phase[0 if zh else 1] if phase else f"{'阶段' if zh else 'phase'} {detail}"
    return f"{'灰度' if zh else 'rollout'} {name} {shown}"


def report(coverages: list[PolicyCoverage], lang: str, threshold: Decimal | None) -> tuple[str, bool]:
    """The printed report and whether every policy meets `threshold` (percent)."""
    zh = lang == "zh"
    lines = ["政策规则覆盖率" if zh else "policy rule coverage"]
    ok = True
    for cov in sorted(coverages, key=lambda c: c.policy.id):
        covered = len(cov.items) - len(cov.missed)
        below = threshold is not None and cov.percent < threshold
        ok = ok and not below
        mark = "✗" if below else "✓"
        lines.append(f"  {mark} {cov.policy.id} ({cov.policy.title[lang]}): {covered}/{len(cov.items)} = {cov.percent}%")
        if below or threshold is None:
            for item in cov.missed:
                lines.append(f"      {'未覆盖' if zh else 'not exercised'}: {describe(item, cov.policy, lang)}")
    if threshold is not None:
        verdict = ("达到" if ok else "未达到") if zh else ("meets" if ok else "is below")
        lines.append(f"{'覆盖率' if zh else 'coverage'} {verdict} {threshold}%" if zh else f"coverage {verdict} {threshold}%")
    return "\n".join(lines), ok


COVERAGE = pytest.StashKey[dict]()
"""policy id -> PolicyCoverage, in the pytest run's stash."""


def record_coverage(config: pytest.Config, policy_set, policy_id: str, reached: frozenset[str]) -> None:
    """Called by each scenario's evaluation: remember the coverage items it reached (also when
    the evaluation ended in an error the scenario may expect)."""
    table = config.stash.setdefault(COVERAGE, {})
    if not table:
        for pid, compiled in policy_set.compiled.items():
            table[pid] = PolicyCoverage(policy=compiled)
    table[policy_id].reached |= reached
