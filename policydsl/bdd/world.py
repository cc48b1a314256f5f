"""The state of one scenario: given facts, the decision or error, and the checks of Then steps.

Failure messages show the decision and its reasons, never a bare `assert False`.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
from typing import Any, Mapping

import attrs
import pytest

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.loader import PolicyLoadError, PolicySet
from policydsl.runtime import values as rv
from policydsl.runtime.book import BookDecision
from policydsl.runtime.decision import Decision
from policydsl.bdd.words import OUTCOMES, find_input, raw_fact
from policydsl.runtime.facts import InputSpec
from policydsl.semantics.names import suggest

OUTCOME_WORDS = {"allow": ("允许", "allow"), "deny": ("拒绝", "deny"), "undecided": ("无法完全决定", "undecided")}
BOOK_OUTCOMES = {**OUTCOMES, "undecided": "undecided", "无法完全决定": "undecided"}
STATUS_WORDS = {"decided": ("已决定", "decided"), "not_applicable": ("不适用", "does not apply"),
                "not_in_force": ("未生效", "not in force"), "error": ("无法决定", "cannot be decided")}
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

    # ------------------------------------------------------------ helpers
    def fail(self, zh: str, en: str) -> None:
        text = zh if self.lang == "zh" else en
        pytest.fail(text + "\n" + self.summary(), pytrace=False)

    @property
    def policy_set(self) -> PolicySet:
        if isinstance(self.policy_set_or_error, PolicyLoadError):
            from policydsl.diagnostics import DiagnosticBag
            pytest.fail(DiagnosticBag(self.policy_set_or_error.diagnostics).render(self.lang), pytrace=False)
        if isinstance(self.policy_set_or_error, PolicyDslError):
            pytest.fail(self.policy_set_or_error.message(self.lang), pytrace=False)
        return self.policy_set_or_error

    def summary(self) -> str:
        zh = self.lang == "zh"
        lines = [("事实：" if zh else "facts: ") + json.dumps(self.facts, ensure_ascii=False, default=str)]
        if self.book is not None:
            word = OUTCOME_WORDS[self.book.outcome][0 if zh else 1]
            lines.append(("整本规则书：" if zh else "whole book: ") + f"@ {self.book.at.isoformat()} → {word}")
            for part in self.book.parts:
                shown = STATUS_WORDS[part.status][0 if zh else 1]
                if part.decision is not None:
                    shown = OUTCOME_WORDS[part.decision.outcome][0 if zh else 1]
                lines.append(f"  - {part.policy}: {shown}")
        if self.error is not None:
            lines.append(("评估错误：" if zh else "evaluation error: ") + self.error.message(self.lang))
        if self.decision is not None:
            d = self.decision
            word = OUTCOME_WORDS[d.outcome][0 if zh else 1]
            lines.append(("决策：" if zh else "decision: ") + f"{d.policy} @ {d.at.isoformat()} → {word}")
            for r in (*d.reasons, *d.warnings):
                lines.append(f"  - {r.outcome} {r.rule} [{r.code}] {r.message[self.lang]}")
            for c in d.consequences:
                lines.append(("  后果：" if zh else "  consequence: ") + json.dumps(c.to_dict(), ensure_ascii=False))
            if d.value_json:
                lines.append(("取值：" if zh else "values: ") + json.dumps(dict(d.value_json), ensure_ascii=False))
            if d.unresolved:
                from policydsl.runtime.explain import unresolved_lines

                policy = self.policy_set.compiled[d.policy]
                lines.extend(unresolved_lines(d, policy, self.lang))
        return "\n".join(lines)

    def need_decision(self) -> Decision:
        if self.decision is None:
            self.fail("没有可检查的决策（评估失败或尚未评估）", "no decision to check (evaluation failed or did not run)")
        assert self.decision is not None
        return self.decision

    # ------------------------------------------------------------ given / when
    def given(self, name: str, value: str) -> None:
        self.givens.append((name, value))

    def evaluate(self, policy_name: str, at: dt.date) -> None:
        policy_set = self.policy_set
        problem: PolicyDslError | None
        try:
            policy = policy_set.find(policy_name)
        except PolicyDslError as exc:
            problem = exc
        else:
            problem = None
        if problem is not None:  # failing outside the except block keeps the report free of chained errors
            self.fail(problem.message("zh"), problem.message("en"))
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
            spec = self._input(policy_set.vocabulary.specs, name, whose=("规则书", "the rule book"))
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
            self.fail("没有整本规则书的决策（请先“评估整本规则书”）",
                      "no whole-book decision (evaluate the whole book first)")
        assert self.book is not None
        return self.book

    def _part(self, name: str):
        book = self.need_book()
        try:
            policy = self.policy_set.find(name)
        except PolicyDslError as exc:
            problem = exc
        else:
            return book.part(policy.id)
        self.fail(problem.message("zh"), problem.message("en"))

    def expect_book_outcome(self, outcome: str) -> None:
        book = self.need_book()
        wanted = BOOK_OUTCOMES.get(outcome.strip().lower())
        if wanted is None:
            self.fail(f"未知结果 `{outcome}`：请写 允许/拒绝/无法完全决定", f"unknown outcome `{outcome}`: write allow/deny/undecided")
        if book.outcome != wanted:
            self.fail(f"期望整本规则书的结果为 {outcome}，实际为 {OUTCOME_WORDS[book.outcome][0]}",
                      f"expected the whole book's outcome {outcome}, got {OUTCOME_WORDS[book.outcome][1]}")

    def select_part(self, name: str) -> None:
        """The steps that follow check this policy's part: its decision, or the error it met."""
        part = self._part(name)
        if part.status in ("not_applicable", "not_in_force"):
            word = STATUS_WORDS[part.status]
            self.fail(f"`{part.policy}` 在整本评估中{word[0]}，没有决策可检查",
                      f"`{part.policy}` {word[1]} in the whole-book decision: there is no decision to check")
        self.decision, self.error = part.decision, part.error

    def expect_status(self, name: str, status: str) -> None:
        part = self._part(name)
        if part.status != status:
            want, got = STATUS_WORDS[status], STATUS_WORDS[part.status]
            self.fail(f"期望 `{part.policy}`：{want[0]}；实际：{got[0]}", f"expected `{part.policy}`: {want[1]}; actually: {got[1]}")

    def expect_conflict(self, name: str, policy: str | None) -> None:
        """The whole-book decision lists the conflict of overlap `name` (id or title), settled in favour
        of `policy` (id or title), or (None) kept as a known conflict."""
        book = self.need_book()
        overlaps = {o.name: o for o in self.policy_set.model.overlaps if not o.implicit}
        found = next((o for o in overlaps.values() if name in (o.name, o.overlap.label.zh, o.overlap.label.en)), None)
        if found is None:
            hint = suggest(name, [(o.name, (o.overlap.label.zh, o.overlap.label.en)) for o in overlaps.values()])
            zh, en = _did_you_mean(hint, overlaps[hint].overlap.label.as_dict() if hint else None, name)
            self.fail(f"整本规则书没有名为 `{name}` 的 overlap{zh}", f"the book has no overlap named `{name}`{en}")
        conflict = next((c for c in book.conflicts if c.overlap == found.name), None)  # type: ignore[union-attr]
        if conflict is None:
            listed = ", ".join(c.overlap for c in book.conflicts)
            self.fail(f"整本评估没有列出冲突 `{found.name}`（列出的冲突：{listed or '无'}）",  # type: ignore[union-attr]
                      f"the whole-book decision lists no conflict `{found.name}` (listed: {listed or 'none'})")  # type: ignore[union-attr]
        assert conflict is not None
        if policy is None:
            if conflict.resolution != "known":
                self.fail(f"冲突 `{conflict.overlap}` 不是已知冲突（以 {conflict.prevails or '？'} 为准）",
                          f"conflict `{conflict.overlap}` is not a known conflict ({conflict.prevails or 'undecided'} prevails)")
            return
        try:
            wanted = self.policy_set.find(policy).id
        except PolicyDslError as exc:
            self.fail(exc.message("zh"), exc.message("en"))
        if conflict.prevails != wanted:
            got = conflict.prevails or ("已知冲突" if conflict.resolution == "known" else "未决定")
            got_en = conflict.prevails or ("a known conflict" if conflict.resolution == "known" else "undecided")
            self.fail(f"期望冲突 `{conflict.overlap}` 以 {wanted} 为准，实际：{got}",
                      f"expected conflict `{conflict.overlap}` settled in favour of {wanted}, actually: {got_en}")

    def expect_no_conflicts(self) -> None:
        book = self.need_book()
        if book.conflicts:
            listed = ", ".join(c.overlap for c in book.conflicts)
            self.fail(f"期望没有冲突，实际有：{listed}", f"expected no conflicts, got: {listed}")

    def _input(self, inputs: Mapping[str, InputSpec], name: str,
               whose: tuple[str, str] = ("本政策", "the policy")) -> InputSpec:
        spec = find_input(inputs, name)
        if spec is not None:
            return spec
        hint = suggest(name, [(p, (s.label["zh"], s.label["en"])) for p, s in inputs.items()])
        zh, en = _did_you_mean(hint, inputs[hint].label if hint else None, name)
        self.fail(f"{whose[0]}没有名为 `{name}` 的事实{zh}", f"{whose[1]} has no fact named `{name}`{en}")
        raise AssertionError  # unreachable: fail() raises

    # ------------------------------------------------------------ then
    def expect_outcome(self, outcome: str) -> None:
        decision = self.need_decision()
        wanted = OUTCOMES.get(outcome.strip().lower())
        if wanted is None:
            self.fail(f"未知结果 `{outcome}`：请写 允许/拒绝", f"unknown outcome `{outcome}`: write allow/deny")
        if decision.outcome != wanted:
            actual = {"zh": OUTCOME_WORDS[decision.outcome][0], "en": OUTCOME_WORDS[decision.outcome][1]}
            self.fail(f"期望结果为 {outcome}，实际为 {actual['zh']}", f"expected outcome {outcome}, got {actual['en']}")

    def expect_reason(self, name: str, *, present: bool) -> None:
        self._expect_named(self.need_decision().reasons, name, present, ("原因", "reason"))

    def expect_message(self, text: str) -> None:
        decision = self.need_decision()
        if not any(text in r.message.values() for r in (*decision.reasons, *decision.warnings)):
            self.fail(f"没有提示信息为“{text}”的原因", f"no reason has the message “{text}”")

    def expect_warning(self, name: str, *, present: bool = True) -> None:
        self._expect_named(self.need_decision().warnings, name, present, ("警告", "warning"))

    def _expect_named(self, reasons, name: str, present: bool, what: tuple[str, str]) -> None:
        """Some reason (or warning) names `name` as its rule or code — or, with present=False, none does."""
        if any(name in (r.rule, r.code) for r in reasons) == present:
            return
        if present:
            self.fail(f"{what[0]}中没有 `{name}`", f"no {what[1]} names `{name}`")
        self.fail(f"{what[0]}中不应有 `{name}`", f"a {what[1]} unexpectedly names `{name}`")

    def expect_no_warnings(self) -> None:
        if self.need_decision().warnings:
            self.fail("期望没有警告", "expected no warnings")

    # ------------------------------------------------------------ consequences
    def find_consequence(self, name: str):
        """The first consequence whose kind (id or Chinese name), rule or code is `name`."""
        from policydsl import i18n

        decision = self.need_decision()
        for c in decision.consequences:
            if name in (c.kind, i18n.t(f"consequence.{c.kind}", "zh"), c.rule, c.code):
                return c
        shown = ", ".join(f"{c.kind} [{c.code}]" for c in decision.consequences) or "—"
        self.fail(f"后果中没有 `{name}`（现有：{shown}）", f"no consequence is `{name}` (there are: {shown})")

    def expect_no_consequences(self) -> None:
        consequences = self.need_decision().consequences
        if consequences:
            shown = ", ".join(f"{c.kind} [{c.code}]" for c in consequences)
            self.fail(f"期望没有后果，实际有：{shown}", f"expected no consequences, got: {shown}")

    def expect_consequence_until(self, name: str, day: dt.date) -> None:
        c = self.find_consequence(name)
        if c.until != day:
            zh, en = (c.until.isoformat(),) * 2 if c.until else ("永久", "permanent") if c.permanent \
                else ("无期限", "no end date")
            self.fail(f"期望后果 `{name}` 至 {day.isoformat()}，实际为 {zh}",
                      f"expected the consequence `{name}` to last until {day.isoformat()}, got {en}")

    def expect_consequence_amount(self, name: str, expected: str) -> None:
        from policydsl.runtime.facts import convert_value

        c = self.find_consequence(name)
        spec = InputSpec(path=name, kind="money", label={"zh": name, "en": name})
        want, problem = convert_value(spec, raw_fact(spec, expected))
        if problem is not None:
            self.fail(f"无法把“{expected}”读作金额", f"cannot read “{expected}” as money")
        if c.amount != want:
            got = {lang: rv.display("money", c.amount, lang, None) if c.amount is not None else "—" for lang in ("zh", "en")}
            self.fail(f"期望后果 `{name}` 金额为 {expected}，实际为 {got['zh']}",
                      f"expected the consequence `{name}` to amount to {expected}, got {got['en']}")

    def expect_failure(self, text: str) -> None:
        if self.error is None:
            self.fail(f"期望评估失败并提示“{text}”，但评估成功", f"expected the evaluation to fail with “{text}”, but it succeeded")
        assert self.error is not None
        if not any(text in self.error.message(lang) for lang in ("zh", "en")):
            self.fail(f"错误信息中没有“{text}”", f"the error does not mention “{text}”")

    def expect_value(self, name: str, expected: str) -> None:
        decision = self.need_decision()
        policy = self.policy_set.compiled[decision.policy]
        path = next((p for p, d in policy.defines.items() if name in (p, d.label["zh"], d.label["en"])), None)
        if path is None:
            hint = suggest(name, [(p, (d.label["zh"], d.label["en"])) for p, d in policy.defines.items()])
            zh, en = _did_you_mean(hint, policy.defines[hint].label if hint else None, name)
            self.fail(f"本政策没有名为 `{name}` 的取值{zh}", f"the policy has no value named `{name}`{en}")
        assert path is not None
        if path in decision.unresolved:
            from policydsl.runtime.explain import facts_text

            lacking = decision.unresolved[path]
            zh, en = (i18n.t("unresolved.step", lang, name=name, facts=facts_text(policy, lacking, lang))
                      for lang in ("zh", "en"))
            self.fail(zh, en)
        if path not in decision.values:
            self.fail(f"`{name}` 在此日期没有取值", f"`{name}` has no value on this date")
        actual = decision.values[path]
        kind = policy.value_kinds[path]
        spec = InputSpec(path=path, kind=kind, label=policy.defines[path].label,
                         enum_values=policy.enum_labels.get(policy.value_enums.get(path, ""), {}))
        if expected.strip().lower() in NOT_OPEN_WORDS:
            ok = actual is rv.NOT_OPEN
        else:
            from policydsl.runtime.facts import convert_value
            want, problem = convert_value(spec, raw_fact(spec, expected))
            if problem is not None:
                self.fail(f"无法把“{expected}”读作 {kind}", f"cannot read “{expected}” as {kind}")
            ok = actual is not rv.NOT_OPEN and actual == want
        if not ok:
            shown = rv.display(kind, actual, self.lang, policy.labeler(path))
            self.fail(f"期望 {name} 为 {expected}，实际为 {shown}", f"expected {name} to be {expected}, got {shown}")


def _did_you_mean(ident: str | None, label: Any, written: str) -> tuple[str, str]:
    """The did-you-mean tail in each language, offering the spelling closest to what the author
    wrote (the id, the Chinese label or the English label), with the id beside a label."""
    if ident is None:
        return "", ""
    offer = max((ident, label["zh"], label["en"]),
                key=lambda option: difflib.SequenceMatcher(None, written.lower(), option.lower()).ratio())
    if offer == ident:
        return f"（是不是 `{ident}`？）", f" (did you mean `{ident}`?)"
    return f"（是不是 `{offer}`（{ident}）？）", f" (did you mean `{offer}` ({ident})?)"
