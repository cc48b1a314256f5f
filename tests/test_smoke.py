"""The real rule book checks clean and its quotes occur verbatim in the source documents."""
from __future__ import annotations

import pytest

from policydsl.loader import analyse, policy_files, with_shared

from conftest import POLICIES, SEEDS


def test_rule_book_checks_clean():
    analysis = analyse(with_shared(policy_files([POLICIES])))
    assert [d.render("en") for d in analysis.diagnostics] == []
    assert {"cart.opening", "official_account.own_store_only"} <= set(analysis.model.policies)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="source documents not beside the project")
def test_rule_book_quotes_are_verbatim():
    analysis = analyse(with_shared(policy_files([POLICIES])), sources_dir=SEEDS)
    assert [d.render("en") for d in analysis.diagnostics] == []
