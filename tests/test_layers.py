"""The layering the build enforces: import-linter's contract (pyproject.toml) holds, `policydsl --help` loads
no optional dependency, a command whose extra is missing names the extra to install, and pytest keeps
working without pytest-bdd. Every check runs a real process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

HEAVY = ("z3", "pygls", "lsprotocol", "jinja2", "pygments", "pytest", "_pytest", "pytest_bdd")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POLICYDSL_LANG", "POLICYDSL_DEBUG")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONUTF8="1")
    return env


def test_the_import_contract_holds():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300, env=_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    for name in ("Layers", "No import cycles", "The runtime needs", "never imports the command line"):
        assert name in result.stdout


def test_help_imports_no_optional_dependency():
    """`policydsl --help` lists every command (importing each command's module) and loads none of the extras."""
    script = ("import sys\nfrom policydsl.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
              "print('MODULES', *sorted(sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env=_env())
    assert result.returncode == 0, result.stderr
    for command in ("check", "eval", "test", "verify", "lsp", "docs", "diff", "rollout", "fmt", "explain-code", "init",
                    "inventory"):
        assert f"\n  {command} " in result.stdout
    loaded = set(result.stdout.rpartition("MODULES ")[2].split())
    assert {"click", "policydsl.commands.check", "policydsl.commands.verify", "policydsl.commands.lsp"} <= loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == [], heavy


HIDE = """import sys


class _Hidden:
    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def hide(names):
    sys.meta_path.insert(0, _Hidden(names))
"""
"""Code that makes packages unimportable in the process it runs in, as if they were not installed."""


def _without(modules: tuple[str, ...], *args: str, lang: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process where `modules` cannot be imported, as if their extra were not installed."""
    script = f"{HIDE}hide({modules!r})\nfrom policydsl.cli import main\nmain()\n"
    return subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**_env(), "POLICYDSL_LANG": lang})


@pytest.mark.parametrize("modules, args, extra", [
    (("z3",), ("verify", "--policies", "policies"), "verify"),
    (("z3",), ("check", "policies", "--deep"), "verify"),
    (("z3",), ("diff", "policies", "policies"), "verify"),
    (("pygls", "lsprotocol"), ("lsp",), "lsp"),
    (("pytest_bdd",), ("test", "features"), "bdd"),
    (("jinja2",), ("docs", "--check"), "docs"),
])
def test_a_command_whose_extra_is_missing_names_it(modules, args, extra):
    zh = _without(modules, *args, lang="zh")
    en = _without(modules, *args, lang="en")
    for result in (zh, en):
        assert result.returncode == 2, result.stderr
        assert f"pip install 'policydsl[{extra}]'" in result.stderr
        assert "Traceback" not in result.stderr + result.stdout
    assert zh.stderr.startswith(f"错误：`policydsl {args[0]}` 需要未安装的可选依赖 ")
    assert en.stderr.startswith(f"error: `policydsl {args[0]}` needs ")


def test_the_core_commands_need_no_extra():
    result = _without(HEAVY, "check", "policies", lang="en")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_pytest_runs_without_pytest_bdd(tmp_path):
    """The pytest11 entry point loads the plugin in every pytest run: without the [bdd] extra it stays quiet."""
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    script = (f"{HIDE}hide(['pytest_bdd'])\nimport pytest\n"  # pytest-bdd's own entry point would not exist either
              "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:pytest-bdd', sys.argv[1]]))\n")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env=_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
