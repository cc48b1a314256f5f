"""Shared fixtures: repository paths and an in-memory checker for policy snippets."""
from __future__ import annotations

from pathlib import Path

import pytest

from policydsl.loader import analyse_sources
from policydsl.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture
def repo_root() -> Path:
    return ROOT


def diagnostics_of(text: str, path: str = "snippet.policy", *, with_common: bool = True):
    """Parse and check `text` (plus the shared enums of policies/common.policy); sorted diagnostics."""
    sources = [SourceFile(path=path, text=text)]
    if with_common:
        sources.append(SourceFile.read(POLICIES / "common.policy"))
    return analyse_sources(sources).diagnostics


# The files that take longest (summed test time of a `--durations=0` run, 2026-12-05: 35 s to 210 s each), longest
# first. `make test` runs files whole on each worker (`--dist loadfile`) in this order (`--no-loadscope-reorder`),
# so that no worker is left running a long file alone at the end while the others are idle: the longest files
# start first, and the many short ones fill the gaps after.
LONGEST_FIRST = ("test_score_spark.py", "test_score_duckdb.py", "test_score_stream.py", "test_verify_differential.py",
                 "test_diff.py", "test_nesting.py", "test_book_cache.py", "test_cli.py", "test_serve_api.py",
                 "test_lsp.py", "test_score_aggregates.py", "test_score_cli.py", "test_verify_book.py",
                 "test_verify.py", "test_properties.py", "test_docs_browser.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of the LONGEST_FIRST files before the others, in its order; otherwise in collection order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
