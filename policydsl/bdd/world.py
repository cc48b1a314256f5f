"""The state of one scenario: given facts, the decision or error, and the checks of Then steps.

Failure messages show the decision and its reasons, never a bare `assert False`.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
from typing import Any, Mapping, NoReturn

import attrs
import pytest

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.loader import PolicyLoadError, PolicySet
from policydsl.runtime import values as rv
from policydsl.runtime.book import BookDecision
from policydsl.runtime.decision import Decision
from policydsl.runtime.explain import facts_text, unresolved_lines
from policydsl.bdd.words import OUTCOMES, find_input, raw_fact
from policydsl.runtime.facts import InputSpec, convert_value
from policydsl.semantics.model import Policy
from policydsl.semantics.names import suggest

BOOK_OUTCOMES = {**OUTCOMES, "undecided": "undecided", "无法完全决定": "undecided"}

# ------------------------------------------------------------------ a scenario's messages (zh, en)
STRINGS: dict[str, tuple[str, str]] = {
    "outcome.allow": ("允许", "allow"),
    "outcome.deny": ("拒绝", "deny"),
    "outcome.undecided": ("无法完全决定", "undecided"),
    "status.decided": ("已决定", "decided"),
    "status.not_applicable": ("不适用", "does not apply"),
    "status.not_in_force": ("未生效", "not in force"),
    "status.error": ("无法决定", "cannot be decided"),
    "summary.facts": ("事实：", "facts: "),
    "summary.book": ("整本规则书：", "whole book: "),
    "summary.error": ("评估错误：", "evaluation error: "),
    "summary.decision": ("决策：", "decision: "),
    "summary.consequence": ("  后果：", "  consequence: "),
    "summary.values": ("取值：", "values: "),
    "no_decision": ("没有可检查的决策（评估失败或尚未评估）", "no decision to check (evaluation failed or did not run)"),
    "no_book": ("没有整本规则书的决策（请先“评估整本规则书”）", "no whole-book decision (evaluate the whole book first)"),
    "unknown_book_outcome": ("未知结果 `{outcome}`：请写 允许/拒绝/无法完全决定",
                             "unknown outcome `{outcome}`: write allow/deny/undecided"),
    "book_outcome": ("期望整本规则书的结果为 {outcome}，实际为 {got}", "expected the whole book's outcome {outcome}, got {got}"),
    "no_part_decision": ("`{policy}` 在整本评估中{status}，没有决策可检查",
                         "`{policy}` {status} in the whole-book decision: there is no decision to check"),
    "status": ("期望 `{policy}`：{want}；实际：{got}", "expected `{policy}`: {want}; actually: {got}"),
    "no_overlap": ("整本规则书没有名为 `{name}` 的 overlap{hint}", "the book has no overlap named `{name}`{hint}"),
    "conflict_not_listed": ("整本评估没有列出冲突 `{name}`（列出的冲突：{listed}）",
                            "the whole-book decision lists no conflict `{name}` (listed: {listed})"),
    "none_listed": ("无", "none"),
    "not_known_conflict": ("冲突 `{name}` 不是已知冲突（以 {prevails} 为准）",
                           "conflict `{name}` is not a known conflict ({prevails} prevails)"),
    "prevails_unknown": ("？", "undecided"),
    "prevails": ("期望冲突 `{name}` 以 {wanted} 为准，实际：{got}",
                 "expected conflict `{name}` settled in favour of {wanted}, actually: {got}"),
    "known_conflict": ("已知冲突", "a known conflict"),
    "undecided": ("未决定", "undecided"),
    "conflicts": ("期望没有冲突，实际有：{listed}", "expected no conflicts, got: {listed}"),
    "whose.policy": ("本政策", "the policy"),
    "whose.book": ("规则书", "the rule book"),
    "no_fact": ("{whose}没有名为 `{name}` 的事实{hint}", "{whose} has no fact named `{name}`{hint}"),
    "unknown_outcome": ("未知结果 `{outcome}`：请写 允许/拒绝", "unknown outcome `{outcome}`: write allow/deny"),
    "outcome": ("期望结果为 {outcome}，实际为 {got}", "expected outcome {outcome}, got {got}"),
    "no_message": ("没有提示信息为“{text}”的原因", "no reason has the message “{text}”"),
    "what.reason": ("原因", "reason"),
    "what.warning": ("警告", "warning"),
    "not_named": ("{what}中没有 `{name}`", "no {what} names `{name}`"),
    "cannot_name": ("`{policy}` 的任何规则都不会给出名为 `{name}` 的{what}（规则名或代码）{hint}",
                    "no rule of `{policy}` can give a {what} named `{name}` (a rule name or code){hint}"),
    "can_name": ("；可写的有：{names}", "; these can: {names}"),
    "named": ("{what}中不应有 `{name}`", "a {what} unexpectedly names `{name}`"),
    "warnings": ("期望没有警告", "expected no warnings"),
    "no_consequence": ("后果中没有 `{name}`（现有：{shown}）", "no consequence is `{name}` (there are: {shown})"),
    "consequences": ("期望没有后果，实际有：{shown}", "expected no consequences, got: {shown}"),
    "until": ("期望后果 `{name}` 至 {day}，实际为 {got}", "expected the consequence `{name}` to last until {day}, got {got}"),
    "permanent": ("永久", "permanent"),
    "no_end": ("无期限", "no end date"),
    "not_money": ("无法把“{expected}”读作金额", "cannot read “{expected}” as money"),
    "amount": ("期望后果 `{name}` 金额为 {expected}，实际为 {got}",
               "expected the consequence `{name}` to amount to {expected}, got {got}"),
    "no_failure": ("期望评估失败并提示“{text}”，但评估成功", "expected the evaluation to fail with “{text}”, but it succeeded"),
    "error_text": ("错误信息中没有“{text}”", "the error does not mention “{text}”"),
    "no_value": ("本政策没有名为 `{name}` 的取值{hint}", "the policy has no value named `{name}`{hint}"),
    "no_value_today": ("`{name}` 在此日期没有取值", "`{name}` has no value on this date"),
    "not_kind": ("无法把“{expected}”读作 {kind}", "cannot read “{expected}” as {kind}"),
    "value": ("期望 {name} 为 {expected}，实际为 {shown}", "expected {name} to be {expected}, got {shown}"),
    "feature.syntax": ("Gherkin 语法错误：{where}\n  {message}", "Gherkin syntax error: {where}\n  {message}"),
    "feature.language": ("中文特性文件的第一行要写 `# language: zh-CN`，否则 功能/场景/假如 等关键字不会被识别",
                         "a feature in Chinese needs `# language: zh-CN` as its first line, else 功能/场景/假如 "
                         "are not read as keywords"),
    "feature.not_utf8": ("无法读取 {path}：不是 UTF-8 文本", "cannot read {path}: not UTF-8 text"),
    "feature.no_feature": ("{path}：缺少 `功能:` / `Feature:` 行", "{path}: no `Feature:` line"),
    "step.unknown": ("没有与这一步匹配的短语。最接近的是：", "no phrase matches this step. The closest are:"),
    "step.list": ("全部短语见 README 的短语表或手册的“步骤”页", "every phrase is listed in the README's phrase table "
                  "and on the handbook's steps page"),
    "did_you_mean": ("（是不是 `{ident}`？）", " (did you mean `{ident}`?)"),
    "did_you_mean_label": ("（是不是 `{offer}`（{ident}）？）", " (did you mean `{offer}` ({ident})?)"),
}

s = i18n.register("scenario", STRINGS)


def both(key: str, /, **args: object) -> dict[str, str]:
    """A scenario string in every language: an argument of a message, resolved in the scenario's language."""
    return i18n.both(f"scenario.{key}", **args)
CURRENT_STEP = pytest.StashKey[str]()
"""Where the running step is written (`file:line: 那么 …`), in its test item's stash (the plugin sets it)."""
NOT_OPEN_WORDS = {"not_open", "not open", "暂不开放", "暂不招商"}


@attrs.define
class World:
    policy_set_or_error: PolicySet | PolicyDslError
    lang: str = "zh"
    givens: list[tuple[str, str]] = attrs.field(factory=list)
    decision: Decision | None = None
    error: PolicyDslError | None = None
    facts: dict[str, Any] = attrs.field(factory=dict)
    book: BookDecision | None = None  # a whole-book decision, when the scenario asked for one
    on_decision: Any = None  # called with (policy_set, policy id, coverage reached): the plugin's recorder
    where: Any = None  # () -> where the running step is written (`file:line: 那么 …`), or None

    # ------------------------------------------------------------ helpers
    def fail(self, key: str, /, **args: object) -> NoReturn:
        """Fail the scenario with the message `key` (its arguments may be {lang: text} dicts) and the summary."""
        self.fail_with(s(key, self.lang, **args))

    def fail_with(self, text: str) -> NoReturn:
        """Fail the scenario with `text`, after where the step is written and before the summary."""
        where = self.where() if self.where is not None else None
        pytest.fail("\n".join((*([where] if where else []), text, self.summary())), pytrace=False)

    @property
    def policy_set(self) -> PolicySet:
        if isinstance(self.policy_set_or_error, PolicyLoadError):
            from policydsl.diagnostics import DiagnosticBag
            pytest.fail(DiagnosticBag(self.policy_set_or_error.diagnostics).render(self.lang), pytrace=False)
        if isinstance(self.policy_set_or_error, PolicyDslError):
            pytest.fail(self.policy_set_or_error.message(self.lang), pytrace=False)
        return self.policy_set_or_error

    def summary(self) -> str:
        lang = self.lang
        lines = [s("summary.facts", lang) + json.dumps(self.facts, ensure_ascii=False, default=str)]
        if self.book is not None:
            word = s(f"outcome.{self.book.outcome}", lang)
            lines.append(s("summary.book", lang) + f"@ {self.book.at.isoformat()} → {word}")
            for part in self.book.parts:
                shown = s(f"status.{part.status}", lang)
                if part.decision is not None:
                    shown = s(f"outcome.{part.decision.outcome}", lang)
                lines.append(f"  - {part.policy}: {shown}")
        if self.error is not None:
            lines.append(s("summary.error", lang) + self.error.message(self.lang))
        if self.decision is not None:
            d = self.decision
            word = s(f"outcome.{d.outcome}", lang)
            lines.append(s("summary.decision", lang) + f"{d.policy} @ {d.at.isoformat()} → {word}")
            lines += [f"  - {r.outcome} {r.rule} [{r.code}] {r.message[self.lang]}" for r in (*d.reasons, *d.warnings)]
            lines += [s("summary.consequence", lang) + json.dumps(c.to_dict(), ensure_ascii=False)
                      for c in d.consequences]
            if d.value_json:
                lines.append(s("summary.values", lang) + json.dumps(dict(d.value_json), ensure_ascii=False))
            if d.unresolved:
                policy = self.policy_set.compiled[d.policy]
                lines.extend(unresolved_lines(d, policy, self.lang))
        return "\n".join(lines)

    def need_decision(self) -> Decision:
        if self.decision is None:
            self.fail("no_decision")
        return self.decision

    # ------------------------------------------------------------ given / when
    def given(self, name: str, value: str) -> None:
        self.givens.append((name, value))

    def _find(self, name: str) -> Policy:
        """The policy `name` (id or title) names; else the step fails with why."""
        try:
            return self.policy_set.find(name)
        except PolicyDslError as exc:
            problem = exc
        self.fail_with(problem.message(self.lang))  # outside the except block: the report has no chained errors

    def evaluate(self, policy_name: str, at: dt.date) -> None:
        policy_set = self.policy_set
        policy = self._find(policy_name)
        compiled = policy_set.compiled[policy.id]
        for name, text in self.givens:
            spec = self._input(compiled.inputs, name)
            self.facts[spec.path] = raw_fact(spec, text)
        try:
            self.decision = policy_set.evaluate(policy.id, self.facts, at, coverage=True)
        except PolicyDslError as exc:
            self.error = exc
        reached = self.decision.coverage if self.decision else getattr(self.error, "coverage", frozenset())
        if self.on_decision is not None:
            self.on_decision(policy_set, policy.id, reached)

    def evaluate_book(self, at: dt.date) -> None:
        """The whole book for the given facts, named by the book's vocabulary; coverage counts for
        every policy decided (or reached before an error)."""
        policy_set = self.policy_set
        for name, text in self.givens:
            spec = self._input(policy_set.vocabulary.specs, name, whose=both("whose.book"))
            self.facts[spec.path] = raw_fact(spec, text)
        try:
            self.book = policy_set.evaluate_all(self.facts, at, coverage=True)
        except PolicyDslError as exc:  # the record itself is bad (an unknown or doubly given fact)
            self.error = exc
            return
        if self.on_decision is not None:
            for part in self.book.parts:
                reached = part.decision.coverage if part.decision else getattr(part.error, "coverage", frozenset())
                if part.status in ("decided", "error"):
                    self.on_decision(policy_set, part.policy, reached)

    def need_book(self) -> BookDecision:
        if self.book is None:
            self.fail("no_book")
        return self.book

    def _part(self, name: str):
        return self.need_book().part(self._find(name).id)

    def expect_book_outcome(self, outcome: str) -> None:
        book = self.need_book()
        wanted = BOOK_OUTCOMES.get(outcome.strip().lower())
        if wanted is None:
            self.fail("unknown_book_outcome", outcome=outcome)
        if book.outcome != wanted:
            self.fail("book_outcome", outcome=outcome, got=both(f"outcome.{book.outcome}"))

    def select_part(self, name: str) -> None:
        """The steps that follow check this policy's part: its decision, or the error it met."""
        part = self._part(name)
        if part.status in ("not_applicable", "not_in_force"):
            self.fail("no_part_decision", policy=part.policy, status=both(f"status.{part.status}"))
        self.decision, self.error = part.decision, part.error

    def expect_status(self, name: str, status: str) -> None:
        part = self._part(name)
        if part.status != status:
            self.fail("status", policy=part.policy, want=both(f"status.{status}"), got=both(f"status.{part.status}"))

    def expect_conflict(self, name: str, policy: str | None) -> None:
        """The whole-book decision lists the conflict of overlap `name` (id or title), settled in favour
        of `policy` (id or title), or (None) kept as a known conflict."""
        book = self.need_book()
        overlaps = {o.name: o for o in self.policy_set.model.overlaps if not o.implicit}
        found = next((o for o in overlaps.values() if name in (o.name, o.overlap.label.zh, o.overlap.label.en)), None)
        if found is None:
            hint = suggest(name, [(o.name, (o.overlap.label.zh, o.overlap.label.en)) for o in overlaps.values()])
            self.fail("no_overlap", name=name,
                      hint=_did_you_mean(hint, overlaps[hint].overlap.label.as_dict() if hint else None, name))
        conflict = next((c for c in book.conflicts if c.overlap == found.name), None)  # type: ignore[union-attr]
        if conflict is None:
            listed = ", ".join(c.overlap for c in book.conflicts)
            self.fail("conflict_not_listed", name=found.name, listed=listed or both("none_listed"))
        if policy is None:
            if conflict.resolution != "known":
                self.fail("not_known_conflict", name=conflict.overlap, prevails=conflict.prevails or both("prevails_unknown"))
            return
        wanted = self._find(policy).id
        if conflict.prevails != wanted:
            got = conflict.prevails or both("known_conflict" if conflict.resolution == "known" else "undecided")
            self.fail("prevails", name=conflict.overlap, wanted=wanted, got=got)

    def expect_no_conflicts(self) -> None:
        book = self.need_book()
        if book.conflicts:
            listed = ", ".join(c.overlap for c in book.conflicts)
            self.fail("conflicts", listed=listed)

    def _input(self, inputs: Mapping[str, InputSpec], name: str,
               whose: dict[str, str] | None = None) -> InputSpec:
        spec = find_input(inputs, name)
        if spec is not None:
            return spec
        hint = suggest(name, [(p, (spec.label["zh"], spec.label["en"])) for p, spec in inputs.items()])
        self.fail("no_fact", whose=whose or both("whose.policy"), name=name,
                  hint=_did_you_mean(hint, inputs[hint].label if hint else None, name))

    # ------------------------------------------------------------ then
    def expect_outcome(self, outcome: str) -> None:
        decision = self.need_decision()
        wanted = OUTCOMES.get(outcome.strip().lower())
        if wanted is None:
            self.fail("unknown_outcome", outcome=outcome)
        if decision.outcome != wanted:
            self.fail("outcome", outcome=outcome, got=both(f"outcome.{decision.outcome}"))

    def expect_reason(self, name: str, *, present: bool) -> None:
        self._expect_named(name, present, warning=False)

    def expect_message(self, text: str) -> None:
        decision = self.need_decision()
        if not any(text in r.message.values() for r in (*decision.reasons, *decision.warnings)):
            self.fail("no_message", text=text)

    def expect_warning(self, name: str, *, present: bool = True) -> None:
        self._expect_named(name, present, warning=True)

    def _expect_named(self, name: str, present: bool, *, warning: bool) -> None:
        """Some reason (or warning) names `name` as its rule or code — or, with present=False, none does.
        A name no rule of the policy can give fails either way, with the closest one: a misspelt code
        would otherwise make "does not include" pass for ever."""
        decision = self.need_decision()
        reasons = decision.warnings if warning else decision.reasons
        what = both("what.warning" if warning else "what.reason")
        rules = [r for r in self.policy_set.compiled[decision.policy].rules if (r.outcome == "warn") == warning]
        if not any(name in (r.name, r.code) for r in rules):
            hint = suggest(name, [(r.code, (r.name,)) for r in rules])
            names = ", ".join(dict.fromkeys(r.code for r in rules))
            self.fail("cannot_name", policy=decision.policy, name=name, what=what,
                      hint=_did_you_mean(hint, dict.fromkeys(i18n.LANGS, hint), name) if hint
                      else both("can_name", names=names) if names else dict.fromkeys(i18n.LANGS, ""))
        if any(name in (r.rule, r.code) for r in reasons) == present:
            return
        if present:
            self.fail("not_named", what=what, name=name)
        self.fail("named", what=what, name=name)

    def expect_no_warnings(self) -> None:
        if self.need_decision().warnings:
            self.fail("warnings")

    # ------------------------------------------------------------ consequences
    def find_consequence(self, name: str):
        """The first consequence whose kind (id or Chinese name), rule or code is `name`."""
        decision = self.need_decision()
        for c in decision.consequences:
            if name in (c.kind, i18n.t(f"consequence.{c.kind}", "zh"), c.rule, c.code):
                return c
        shown = ", ".join(f"{c.kind} [{c.code}]" for c in decision.consequences) or "—"
        self.fail("no_consequence", name=name, shown=shown)

    def expect_no_consequences(self) -> None:
        consequences = self.need_decision().consequences
        if consequences:
            shown = ", ".join(f"{c.kind} [{c.code}]" for c in consequences)
            self.fail("consequences", shown=shown)

    def expect_consequence_until(self, name: str, day: dt.date) -> None:
        c = self.find_consequence(name)
        if c.until != day:
            got = c.until.isoformat() if c.until else both("permanent") if c.permanent else both("no_end")
            self.fail("until", name=name, day=day.isoformat(), got=got)

    def expect_consequence_amount(self, name: str, expected: str) -> None:
        c = self.find_consequence(name)
        spec = InputSpec(path=name, kind="money", label=dict.fromkeys(i18n.LANGS, name))  # its id in every language
        want, problem = convert_value(spec, raw_fact(spec, expected))
        if problem is not None:
            self.fail("not_money", expected=expected)
        if c.amount != want:
            amount = rv.display("money", c.amount, self.lang, None) if c.amount is not None else "—"
            self.fail("amount", name=name, expected=expected, got=amount)

    def expect_failure(self, text: str) -> None:
        if self.error is None:
            self.fail("no_failure", text=text)
        if not any(text in self.error.message(lang) for lang in ("zh", "en")):
            self.fail("error_text", text=text)

    def expect_value(self, name: str, expected: str) -> None:
        decision = self.need_decision()
        policy = self.policy_set.compiled[decision.policy]
        path = next((p for p, d in policy.defines.items() if name in (p, d.label["zh"], d.label["en"])), None)
        if path is None:
            hint = suggest(name, [(p, (d.label["zh"], d.label["en"])) for p, d in policy.defines.items()])
            self.fail("no_value", name=name, hint=_did_you_mean(hint, policy.defines[hint].label if hint else None, name))
        if path in decision.unresolved:
            lacking = decision.unresolved[path]
            self.fail_with(i18n.t("unresolved.step", self.lang, name=name, facts=facts_text(policy, lacking, self.lang)))
        if path not in decision.values:
            self.fail("no_value_today", name=name)
        actual = decision.values[path]
        kind = policy.value_kinds[path]
        spec = InputSpec(path=path, kind=kind, label=policy.defines[path].label,
                         enum_values=policy.enum_labels.get(policy.value_enums.get(path, ""), {}))
        if expected.strip().lower() in NOT_OPEN_WORDS:
            ok = actual is rv.NOT_OPEN
        else:
            want, problem = convert_value(spec, raw_fact(spec, expected))
            if problem is not None:
                self.fail("not_kind", expected=expected, kind=kind)
            ok = actual is not rv.NOT_OPEN and actual == want
        if not ok:
            shown = policy.show(path, actual, self.lang)
            self.fail("value", name=name, expected=expected, shown=shown)


def _did_you_mean(ident: str | None, label: Any, written: str) -> dict[str, str]:
    """The did-you-mean tail in each language, offering the spelling closest to what the author
    wrote (the id, the Chinese label or the English label), with the id beside a label."""
    if ident is None:
        return dict.fromkeys(i18n.LANGS, "")
    offer = max((ident, label["zh"], label["en"]),
                key=lambda option: difflib.SequenceMatcher(None, written.lower(), option.lower()).ratio())
    if offer == ident:
        return both("did_you_mean", ident=ident)
    return both("did_you_mean_label", offer=offer, ident=ident)
