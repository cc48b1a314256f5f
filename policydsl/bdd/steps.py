"""The step library: registers every phrase of phrases.py in both languages as pytest-bdd steps."""
from __future__ import annotations

import datetime as dt

import pytest
from pytest_bdd import given, parsers, then, when

from policydsl.bdd.coverage import record_coverage
from policydsl.bdd.phrases import PHRASES, Phrase
from policydsl.bdd.words import unquote
from policydsl.i18n import default_lang
from policydsl.bdd.world import CURRENT_STEP, World

DECORATORS = {"given": given, "when": when, "then": then}


def _register(phrase: Phrase, fn) -> None:
    for pattern in (phrase.zh, phrase.en):
        # stacklevel=2: pytest-bdd injects the step fixture into this module, not into _register.
        DECORATORS[phrase.kind](parsers.re(pattern), stacklevel=2)(fn)


def step_fact(policydsl_world: World, name: str, value: str) -> None:
    policydsl_world.given(name.strip(), unquote(value))


def step_facts_table(policydsl_world: World, datatable: list[list[str]]) -> None:
    rows = datatable[1:] if datatable and datatable[0][0].strip() in ("事实", "fact", "Fact") else datatable
    for row in rows:
        policydsl_world.given(row[0].strip(), unquote(row[1]))


def step_evaluate_on(policydsl_world: World, policy: str, date: str) -> None:
    policydsl_world.evaluate(policy, dt.date.fromisoformat(date))


def step_evaluate_book(policydsl_world: World, date: str) -> None:
    policydsl_world.evaluate_book(dt.date.fromisoformat(date))


def step_book_outcome(policydsl_world: World, outcome: str) -> None:
    policydsl_world.expect_book_outcome(outcome)


def step_book_part(policydsl_world: World, policy: str) -> None:
    policydsl_world.select_part(policy)


def step_not_applicable(policydsl_world: World, policy: str) -> None:
    policydsl_world.expect_status(policy, "not_applicable")


def step_not_in_force(policydsl_world: World, policy: str) -> None:
    policydsl_world.expect_status(policy, "not_in_force")


def step_conflict(policydsl_world: World, overlap: str, policy: str) -> None:
    policydsl_world.expect_conflict(overlap, policy)


def step_known_conflict(policydsl_world: World, overlap: str) -> None:
    policydsl_world.expect_conflict(overlap, None)


def step_no_conflicts(policydsl_world: World) -> None:
    policydsl_world.expect_no_conflicts()


def step_outcome(policydsl_world: World, outcome: str) -> None:
    policydsl_world.expect_outcome(outcome)


def step_reason(policydsl_world: World, name: str) -> None:
    policydsl_world.expect_reason(name, present=True)


def step_no_reason(policydsl_world: World, name: str) -> None:
    policydsl_world.expect_reason(name, present=False)


def step_message(policydsl_world: World, text: str) -> None:
    policydsl_world.expect_message(text)


def step_warning(policydsl_world: World, name: str) -> None:
    policydsl_world.expect_warning(name)


def step_no_warning(policydsl_world: World, name: str) -> None:
    policydsl_world.expect_warning(name, present=False)


def step_no_warnings(policydsl_world: World) -> None:
    policydsl_world.expect_no_warnings()


def step_consequence(policydsl_world: World, name: str) -> None:
    policydsl_world.find_consequence(name)


def step_no_consequences(policydsl_world: World) -> None:
    policydsl_world.expect_no_consequences()


def step_consequence_until(policydsl_world: World, name: str, date: str) -> None:
    policydsl_world.expect_consequence_until(name, dt.date.fromisoformat(date))


def step_consequence_amount(policydsl_world: World, name: str, amount: str) -> None:
    policydsl_world.expect_consequence_amount(name, unquote(amount))


def step_value(policydsl_world: World, name: str, value: str) -> None:
    policydsl_world.expect_value(name.strip(), unquote(value))


def step_fails(policydsl_world: World, text: str) -> None:
    policydsl_world.expect_failure(text)


for _p in PHRASES:
    _register(_p, globals()[f"step_{_p.key}"])


@pytest.fixture
def policydsl_world(request: pytest.FixtureRequest) -> World:
    """The scenario's state (facts given, the decision, the checks): see "Your own steps" in the README."""
    return World(policy_set_or_error=request.getfixturevalue("policydsl_policy_set"),
                 lang=request.config.getoption("policydsl_lang") or default_lang(),
                 on_decision=lambda book, policy_id, reached: record_coverage(request.config, book, policy_id, reached),
                 where=lambda: request.node.stash.get(CURRENT_STEP, None))

