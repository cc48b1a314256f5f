"""Shared fixtures: repository paths and an in-memory checker for policy snippets."""
from __future__ import annotations

import os
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


# The JVMs Spark's tests start in this process (test_score_spark.py's session, test_score_aggregates.py's): each
# lives a few minutes and plans a hundred small queries, so the JIT's optimising tier and a parallel collector
# cost more than they return. Measured on the two files run alone (2026-12-06, 2 cores): 293 s of the machine's
# CPU with Java's defaults, 235 s with these (the wall time alone 185 s → 203 s; in the whole suite every core is
# busy, so CPU is what counts). SPARK_SUBMIT_OPTS is the environment variable of Spark's launcher for the local
# driver's JVM; a test that runs the command in a process of its own gives it an environment without it, so
# the command is also run on Java's defaults, as a user runs it.
os.environ.setdefault("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
