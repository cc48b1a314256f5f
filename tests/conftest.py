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
