"""The step library: registers every phrase of phrases.py in both languages as pytest-bdd steps."""
from __future__ import annotations

import datetime as dt
from typing import Callable

import pytest
from pytest_bdd import given, parsers, then, when

from policydsl.bdd.coverage import record_coverage
from policydsl.bdd.phrases import PHRASES, Phrase
from policydsl.bdd.words import unquote
from policydsl.i18n import default_lang
from policydsl.bdd.world import CURRENT_STEP, World
from policydsl.errors import PolicyDslError
from policydsl.runtime.facts import iso_date

DECORATORS = {"given": given, "when": when, "then": then}


def _register(phrase: Phrase, fn) -> None:
    for pattern in (phrase.zh, phrase.en):
        # stacklevel=2: pytest-bdd injects the step fixture into this module, not into _register.
        DECORATORS[phrase.kind](parsers.re(pattern), stacklevel=2)(fn)


def _facts_table(policydsl_world: World, datatable: list[list[str]]) -> None:
    rows = datatable[1:] if datatable and datatable[0][0].strip() in ("事实", "fact", "Fact") else datatable
    for row in rows:
        policydsl_world.given(row[0].strip(), unquote(row[1]))


def _date(policydsl_world: World, text: str) -> dt.date:
    """The step's day; a day no calendar has (2023-02-30: the phrase takes any digits) fails the step, saying so."""
    try:
        return iso_date(text)
    except ValueError:
        pass
    policydsl_world.fail_with(PolicyDslError("E.bad_date", value=text).message(policydsl_world.lang))  # (unchained)


# phrase key -> its step: pytest-bdd passes the fixture `policydsl_world` and the phrase's named groups by name.
STEPS: dict[str, Callable[..., None]] = {
    "fact": lambda policydsl_world, name, value: policydsl_world.given(name.strip(), unquote(value)),
    "facts_table": _facts_table,
    "evaluate_on": lambda policydsl_world, policy, date: policydsl_world.evaluate(policy, _date(policydsl_world, date)),
    "evaluate_book": lambda policydsl_world, date: policydsl_world.evaluate_book(_date(policydsl_world, date)),
    "book_outcome": lambda policydsl_world, outcome: policydsl_world.expect_book_outcome(outcome),
    "book_part": lambda policydsl_world, policy: policydsl_world.select_part(policy),
    "not_applicable": lambda policydsl_world, policy: policydsl_world.expect_status(policy, "not_applicable"),
    "not_in_force": lambda policydsl_world, policy: policydsl_world.expect_status(policy, "not_in_force"),
    "conflict": lambda policydsl_world, overlap, policy: policydsl_world.expect_conflict(overlap, policy),
    "known_conflict": lambda policydsl_world, overlap: policydsl_world.expect_conflict(overlap, None),
    "no_conflicts": lambda policydsl_world: policydsl_world.expect_no_conflicts(),
    "outcome": lambda policydsl_world, outcome: policydsl_world.expect_outcome(outcome),
    "reason": lambda policydsl_world, name: policydsl_world.expect_reason(name, present=True),
    "no_reason": lambda policydsl_world, name: policydsl_world.expect_reason(name, present=False),
    "message": lambda policydsl_world, text: policydsl_world.expect_message(text),
    "warning": lambda policydsl_world, name: policydsl_world.expect_warning(name),
    "no_warning": lambda policydsl_world, name: policydsl_world.expect_warning(name, present=False),
    "no_warnings": lambda policydsl_world: policydsl_world.expect_no_warnings(),
    "consequence": lambda policydsl_world, name: policydsl_world.find_consequence(name),
    "no_consequences": lambda policydsl_world: policydsl_world.expect_no_consequences(),
    "consequence_until":
        lambda policydsl_world, name, date: policydsl_world.expect_consequence_until(name, _date(policydsl_world, date)),
    "consequence_amount":
        lambda policydsl_world, name, amount: policydsl_world.expect_consequence_amount(name, unquote(amount)),
    "value": lambda policydsl_world, name, value: policydsl_world.expect_value(name.strip(), unquote(value)),
    "fails": lambda policydsl_world, text: policydsl_world.expect_failure(text),
}
for _p in PHRASES:
    _register(_p, STEPS[_p.key])


@pytest.fixture
def policydsl_world(request: pytest.FixtureRequest) -> World:
    """The scenario's state (facts given, the decision, the checks): see "Your own steps" in the README."""
    return World(policy_set_or_error=request.getfixturevalue("policydsl_policy_set"),
                 lang=request.config.getoption("policydsl_lang") or default_lang(),
                 on_decision=lambda book, policy_id, reached: record_coverage(request.config, book, policy_id, reached),
                 where=lambda: request.node.stash.get(CURRENT_STEP, None))

