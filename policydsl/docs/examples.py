"""Gherkin features and the loaded rule book in, worked examples out: every scenario (every example
row of an outline) with its facts, its date and the decision computed by evaluating the real policy.

Steps are read with the same phrase table as the step library (bdd/phrases.py) and facts are
resolved by id or label exactly as a running feature resolves them (bdd/world.py).
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import attrs
from gherkin.parser import Parser
from gherkin.pickles.compiler import Compiler, GherkinDocumentWithURI

from policydsl import inventory as inv
from policydsl.bdd.phrases import ORDER, PHRASES
from policydsl.bdd.words import OUTCOMES, find_input, raw_fact, unquote
from policydsl.errors import PolicyDslError
from policydsl.loader import PolicySet
from policydsl.runtime.decision import Decision
from policydsl.source import BOM, read_text

STEP_KINDS = {"Context": "given", "Action": "when", "Outcome": "then"}
TABLE_HEADERS = ("事实", "fact", "Fact")
_PHRASES = [next(p for p in PHRASES if p.key == key) for key in ORDER]


@attrs.frozen(kw_only=True)
class Example:
    file: str  # the feature file, relative to the features folder
    line: int
    name: str
    lang: str  # the feature's language: zh | en
    tags: tuple[str, ...]  # inventory ids
    policy: str
    at: dt.date
    givens: tuple[tuple[str, str], ...]  # (path, feature text) in the order given
    unknown: tuple[str, ...]  # fact names the policy does not have
    expected_outcome: str | None  # allow | deny, when a Then step states it
    expects_failure: bool
    decision: Decision | None
    error: PolicyDslError | None

    @property
    def mismatch(self) -> bool:
        """The computed result differs from what the feature's Then steps state."""
        if self.expects_failure:
            return self.decision is not None
        if self.expected_outcome is None:
            return False
        return self.decision is None or self.decision.outcome != self.expected_outcome


@attrs.define
class _Reading:
    givens: list[tuple[str, str]] = attrs.field(factory=list)
    policy: str | None = None
    at: dt.date | None = None
    outcome: str | None = None
    fails: bool = False


def collect(book: PolicySet, features: Path) -> list[Example]:
    """Every scenario under `features` that evaluates a policy of `book`, in file and line order."""
    out: list[Example] = []
    files = sorted(features.rglob("*.feature")) if features.is_dir() else [features] if features.is_file() else []
    base = features if features.is_dir() else features.parent
    for path in files:
        try:
            document = Parser().parse(read_text(path).removeprefix(BOM))  # a regular file only (a FIFO would block)
        except Exception:  # noqa: BLE001 - a broken feature is reported by `policydsl test`, not here
            continue
        feature = document.get("feature") or {}
        lang = "zh" if str(feature.get("language", "en")).startswith("zh") else "en"
        with_uri: GherkinDocumentWithURI = {**document, "uri": path.name}
        rel = path.relative_to(base).as_posix()
        for pickle in Compiler().compile(with_uri):
            example = _example(book, pickle, rel, lang)
            if example is not None:
                out.append(example)
    return out


def _example(book: PolicySet, pickle: Mapping[str, Any], file: str, lang: str) -> Example | None:
    reading = _read_steps(pickle["steps"])
    if reading.policy is None or reading.at is None:
        return None
    try:
        policy = book.find(reading.policy)
    except PolicyDslError:
        return None
    compiled = book.compiled[policy.id]
    facts: dict[str, Any] = {}
    givens: dict[str, str] = {}
    unknown: list[str] = []
    for name, text in reading.givens:
        spec = find_input(compiled.inputs, name)
        if spec is None:
            unknown.append(name)
            continue
        facts[spec.path] = raw_fact(spec, text)
        givens[spec.path] = text
    decision, error = None, None
    if not unknown:
        try:
            decision = book.evaluate(policy.id, facts, reading.at, trace=False)
        except PolicyDslError as exc:
            error = exc
    names = {t["name"].lstrip("@") for t in pickle.get("tags", [])}
    tags = tuple(sorted(name for name in names if inv.ID.match(name)))
    return Example(file=file, line=int(pickle.get("location", {}).get("line", 0)), name=pickle["name"], lang=lang,
                   tags=tags, policy=policy.id, at=reading.at, givens=tuple(givens.items()),
                   unknown=tuple(unknown), expected_outcome=reading.outcome, expects_failure=reading.fails,
                   decision=decision, error=error)


def _read_steps(steps: Sequence[Mapping[str, Any]]) -> _Reading:
    reading = _Reading()
    for step in steps:
        key, groups = _match(step)
        if key == "fact" and reading.policy is None:
            reading.givens.append((groups["name"].strip(), unquote(groups["value"])))
        elif key == "facts_table" and reading.policy is None:
            reading.givens.extend(_table_facts(step))
        elif key == "evaluate_on" and reading.policy is None:
            try:
                reading.at = dt.date.fromisoformat(groups["date"])
            except ValueError:
                continue
            reading.policy = groups["policy"]
        elif key == "outcome":
            reading.outcome = OUTCOMES.get(groups["outcome"].strip().lower())
        elif key == "fails":
            reading.fails = True
    return reading


def _match(step: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    kind = STEP_KINDS.get(step.get("type", ""))
    text = step["text"]
    for phrase in _PHRASES:
        if kind is not None and phrase.kind != kind:
            continue
        for pattern in (phrase.zh, phrase.en):
            match = re.fullmatch(pattern, text)
            if match:
                return phrase.key, match.groupdict()
    return None, {}


def _table_facts(step: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [[cell["value"] for cell in row["cells"]]
            for row in step.get("argument", {}).get("dataTable", {}).get("rows", [])]
    if rows and rows[0] and rows[0][0].strip() in TABLE_HEADERS:
        rows = rows[1:]
    return [(row[0].strip(), unquote(row[1])) for row in rows if len(row) >= 2]
