"""A Decision in, the human-readable `--explain` trace out, in Chinese or English."""
from __future__ import annotations

from typing import TYPE_CHECKING

from policydsl import i18n
from policydsl.runtime import values as rv
from policydsl.runtime.decision import Consequence, Decision
from policydsl.runtime.program import CompiledPolicy

if TYPE_CHECKING:
    from policydsl.runtime.book import Conflict

STATUS: dict[str, tuple[str, str]] = {
    "not_in_force": ("未生效", "not in force on this date"),
    "out_of_scope": ("不适用（when 条件不成立）", "does not apply (its `when` is false)"),
    "overridden": ("被例外 `{detail}` 覆盖", "overridden by exception `{detail}`"),
    "satisfied": ("条件满足，未触发", "condition met, did not fire"),
    "fired": ("触发", "fired"),
    "missing": ("缺少事实，无法判断", "cannot decide: facts missing"),
    "not_needed": ("例外条件成立，但没有需要覆盖的规则", "exception holds, but no rule it overrides applied"),
}
"""A rule's status in the trace (zh, en); registered in the catalogue as `explain.status.NAME`."""
STRINGS: dict[str, tuple[str, str]] = {
    **{f"status.{name}": pair for name, pair in STATUS.items()},
    "policy": ("政策", "policy"),
    "read": ("读取", "read"),
    "values": ("取值：", "values:"),
    "outcome.allow": ("结果：允许", "outcome: allow"),
    "outcome.deny": ("结果：拒绝", "outcome: deny"),
    "list_sep": ("，", ", "),
    "colon": ("：", ": "),
}
s = i18n.register("explain", STRINGS)
MARK = {"satisfied": "✓", "overridden": "↷", "out_of_scope": "·", "not_in_force": "·", "missing": "?",
        "not_needed": "·"}
FIRED_MARK = {"deny": "✗", "warn": "!", "allow": "✓"}


def explain(decision: Decision, policy: CompiledPolicy, lang: str) -> str:
    lines = [f"{s('policy', lang)} {policy.id} — {policy.title[lang]}  @ {decision.at.isoformat()}"]
    for event in decision.trace:
        rule = next(r for r in policy.rules if r.name == event.rule)
        status = s(f"status.{event.status}", lang, detail=event.detail)
        if event.status == "fired":
            status += f" → {rule.outcome} `{rule.code}`"
        mark = FIRED_MARK[rule.outcome] if event.status == "fired" else MARK[event.status]
        lines.append(f"  {mark} {rule.name} ({rule.label[lang]}): {status}")
        if event.status != "not_in_force":
            lines += [f"      {s('read', lang)} {path} ({policy.inputs[path].label[lang]}) = "
                      f"{policy.show(path, value, lang)}" for path, value in event.reads.items()]
    if decision.values:
        lines.append("  " + s("values", lang))
        lines += [f"      {path} ({policy.defines[path].label[lang]}) = {policy.show(path, value, lang)}"
                  for path, value in decision.values.items()]
    if decision.unresolved:
        lines.append("  " + i18n.t("unresolved.heading", lang))
        lines += ["      " + i18n.t("unresolved.explain", lang, path=path, label=policy.defines[path].label[lang],
                                    facts=facts_text(policy, facts, lang))
                  for path, facts in decision.unresolved.items()]
    lines.append(s(f"outcome.{decision.outcome}", lang))
    if decision.consequences:
        lines += ["  " + consequence_line(c, lang) for c in decision.consequences]
    return "\n".join(lines)


def facts_text(policy: CompiledPolicy, facts: tuple[str, ...], lang: str) -> str:
    """Facts by label and id: “基准金额（deposit.base）、…” / “Base amount (deposit.base), …”."""
    return i18n.t("unresolved.sep", lang).join(
        i18n.t("unresolved.fact", lang, label=policy.inputs[path].label[lang], path=path) for path in facts)


def unresolved_lines(decision: Decision, policy: CompiledPolicy, lang: str) -> list[str]:
    """One line per value the decision could not compute, with the facts it needs:
    “未能计算 应缴保证金：缺少 基准金额（deposit.base）” / “Not computed: Deposit required, needs …”."""
    return [i18n.t("unresolved.line", lang, label=policy.defines[path].label[lang],
                   facts=facts_text(policy, facts, lang)) for path, facts in decision.unresolved.items()]


def consequence_line(c: Consequence, lang: str) -> str:
    """`后果 [code] 降权，至 2024-01-04：降权7天` / `consequence [code] demotion, until 2024-01-04: …`."""
    parts = [i18n.t(f"consequence.{c.kind}", lang)]
    if c.until is not None:
        parts.append(i18n.t("consequence.until", lang, date=c.until.isoformat()))
    if c.permanent:
        parts.append(i18n.t("consequence.permanent", lang))
    if c.amount is not None:
        parts.append(i18n.t("consequence.amount", lang, amount=rv.display("money", c.amount, lang, None)))
    return (f"{i18n.t('consequence.title', lang)} [{c.code}] {s('list_sep', lang).join(parts)}{s('colon', lang)}"
            f"{c.message[lang]}")


def conflict_line(conflict: Conflict, lang: str) -> str:
    """One line for two policies that disagree on the record (a book overlap): which, and how the
    book resolves it."""
    shown = i18n.t("conflict.sep", lang).join(f"{pid} {i18n.t(f'outcome.{o}', lang)}"
                                              for pid, o in zip(conflict.policies, conflict.outcomes))
    key = {"prevails": "book.conflict_prevails", "known": "book.conflict_known"}.get(conflict.resolution,
                                                                                    "book.conflict_open")
    return i18n.t(key, lang, label=conflict.label[lang], name=conflict.overlap, outcomes=shown,
                  prevails=conflict.prevails or "", assume=", ".join(conflict.assumptions))
