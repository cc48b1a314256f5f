"""The package type-checks: mypy, configured by pyproject.toml's [tool.mypy] (files, Python version, the
third-party packages without types), reports nothing. It runs as a real process from the project root."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed (it comes with the test extra: pip install -e '.[all,test]')")
def test_mypy_is_clean():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYPY")}
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=env)
    assert result.returncode == 0, f"mypy found problems:\n{result.stdout}{result.stderr}"
    assert "Success: no issues found" in result.stdout, result.stdout + result.stderr
