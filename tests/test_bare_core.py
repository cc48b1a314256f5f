"""The bare core: installed without any extra in a fresh virtualenv (from PyPI), policydsl decides a
policy of the real book, and `policydsl verify` says which extra to install."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import POLICIES, ROOT

FACTS = {"account": {"kind": "personal", "fans": 999, "real_name": True}, "product": {"special_category": False}}
OPTIONAL = ("z3-solver", "pygls", "lsprotocol", "pytest", "pytest-bdd", "jinja2", "pygments")


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> Path:
    """A virtualenv with `pip install <the project>` and nothing else; its bin folder."""
    root = tmp_path_factory.mktemp("bare")
    source = root / "src"  # a copy: building in the worktree would leave build/ and egg-info behind
    source.mkdir()
    shutil.copytree(ROOT / "policydsl", source / "policydsl", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    result = subprocess.run([*pip, str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return venv / "bin"


def run(bin_dir: Path, *args: str, stdin: str | None = None, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POLICYDSL_DEBUG", "VIRTUAL_ENV", "PYTHONPATH")}
    env.update(POLICYDSL_LANG=lang, PYTHONIOENCODING="utf-8", PYTHONUTF8="1")
    return subprocess.run([str(bin_dir / "policydsl"), *args], input=stdin, capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=ROOT, timeout=120)


def test_the_bare_core_installs_no_extra(bare):
    listed = subprocess.run([str(bare / "python"), "-m", "pip", "list", "--format=json",
                             "--disable-pip-version-check"], capture_output=True, text=True, timeout=120)
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "policydsl" in installed and "lark" in installed
    assert installed.isdisjoint(OPTIONAL), sorted(installed & set(OPTIONAL))


def test_the_bare_core_decides_a_policy_of_the_real_book(bare):
    result = run(bare, "eval", "cart.opening", "--facts", "-", "--at", "2023-12-20", "--policies", str(POLICIES),
                 "--json", stdin=json.dumps(FACTS))
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "deny"
    assert [r["code"] for r in decision["reasons"]] == ["fans_below_threshold"]


def test_the_bare_core_checks_the_book(bare):
    result = run(bare, "check", str(POLICIES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_bare_core_compares_two_books_without_proofs(bare):
    """`diff --no-prove` needs no solver, its limits (`--steps`, `--timeout`) checked all the same."""
    result = run(bare, "diff", str(POLICIES), str(POLICIES), "--no-prove", "--steps", "1000", "--timeout", "5")
    assert (result.returncode, result.stderr) == (0, ""), result.stdout + result.stderr
    bad = run(bare, "diff", str(POLICIES), str(POLICIES), "--no-prove", "--steps", "0")
    assert bad.returncode == 2 and "the step limit must be a positive whole number, not `0`" in bad.stderr


@pytest.mark.parametrize("lang, message", [
    ("en", "error: `policydsl verify` needs z3, an optional dependency that is not installed: "
           "run pip install 'policydsl[verify]'\n"),
    ("zh", "错误：`policydsl verify` 需要未安装的可选依赖 z3：请运行 pip install 'policydsl[verify]'\n"),
])
def test_verify_without_its_extra_names_the_extra(bare, lang, message):
    result = run(bare, "verify", "--policies", str(POLICIES), lang=lang)
    assert result.returncode == 2
    assert result.stderr == message
    assert result.stdout == ""


def test_score_without_its_extra_names_the_extra(bare, tmp_path):
    result = run(bare, "score", "cart.opening", "--input", str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"),
                 "--policies", str(POLICIES), lang="en")
    assert result.returncode == 2
    assert result.stderr == ("error: `policydsl score` needs duckdb, an optional dependency that is not installed: "
                             "run pip install 'policydsl[score]'\n")
