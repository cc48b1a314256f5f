"""The pytest plugin (entry point `pytest11`): collects .feature files and loads the step library.

Each .feature file becomes one pytest module whose tests are pytest-bdd scenarios; the steps of
steps.py are registered as a plugin so every feature sees them.
"""
from __future__ import annotations

import importlib.util
import re
import types
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from policydsl.bdd.coverage import COVERAGE
from policydsl.errors import PolicyDslError
from policydsl.loader import load

if TYPE_CHECKING:  # pytest-bdd is imported only when a feature is collected
    from pytest_bdd.exceptions import GherkinParseError

HAVE_BDD = importlib.util.find_spec("pytest_bdd") is not None
"""pytest-bdd (the [bdd] extra) is installed: without it this plugin, loaded by every pytest run through the
`pytest11` entry point, adds its options and nothing else, so pytest keeps working for everyone. (Found, not
imported: importing it here, before pytest registers it as a plugin, would keep pytest from rewriting its
asserts and print a PytestAssertRewriteWarning in every run.)"""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("policydsl")
    group.addoption("--policies", dest="policydsl_policies", default=None,
                    help="folder of .policy files the features evaluate (default: ./policies)")
    group.addoption("--policydsl-coverage", dest="policydsl_coverage", default=None, metavar="PCT",
                    help="report rule coverage per policy and fail when any policy is below PCT percent")
    group.addoption("--policydsl-lang", dest="policydsl_lang", default=None, choices=("zh", "en"),
                    help="language of failure messages")
    parser.addini("policydsl_policies", "folder of .policy files the features evaluate", default="policies")


def pytest_configure(config: pytest.Config) -> None:
    if not HAVE_BDD:
        return
    from policydsl.bdd import steps

    if not config.pluginmanager.is_registered(steps):
        config.pluginmanager.register(steps, "policydsl.bdd.steps")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix == ".feature" and HAVE_BDD:
        return FeatureModule.from_parent(parent, path=file_path)
    return None


class FeatureModule(pytest.Module):
    """A .feature file standing in for a test module: one test function per scenario."""

    def _getobj(self):
        from pytest_bdd import scenario
        from pytest_bdd.exceptions import GherkinParseError
        from pytest_bdd.feature import get_features

        module = types.ModuleType(self.path.stem)
        module.__file__ = str(self.path)
        try:
            feature = get_features([str(self.path)])[0]
        except (GherkinParseError, UnicodeDecodeError, KeyError) as exc:  # a broken feature: a message, no traceback
            raise self.CollectError(_feature_error(self.path, exc, GherkinParseError)) from None
        for index, name in enumerate(feature.scenarios, start=1):
            @scenario(self.path.name, name, features_base_dir=str(self.path.parent))
            def _run() -> None:
                pass
            setattr(module, f"test_{index:03d}_{name}", _run)
        return module


def _feature_error(path: Path, exc: Exception, gherkin_error: type[GherkinParseError]) -> str:
    """A bilingual message for a .feature file that cannot be parsed."""
    if isinstance(exc, gherkin_error):
        where = f"{path}:{exc.line}: {exc.line_content.strip()}"
        return f"Gherkin 语法错误 / Gherkin syntax error: {where}\n  {exc.message}"
    if isinstance(exc, UnicodeDecodeError):
        return f"无法读取 {path}：不是 UTF-8 文本 / cannot read {path}: not UTF-8 text"
    return f"{path}：缺少 `功能:` / `Feature:` 行 / {path}: no `Feature:` line"


@pytest.fixture(scope="session")
def policydsl_policy_set(request: pytest.FixtureRequest):
    """The rule book under test, loaded once; a load error is handed to each scenario to report."""
    try:
        return load(_policies_path(request.config))
    except PolicyDslError as exc:  # PolicyLoadError (diagnostics) or no .policy files at all
        return exc


def _policies_path(config: pytest.Config) -> Path:
    folder = config.getoption("policydsl_policies") or config.getini("policydsl_policies")
    path = Path(folder)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


VERDICT = pytest.StashKey[tuple]()


def _threshold(config: pytest.Config):
    from decimal import Decimal, InvalidOperation

    raw = config.getoption("policydsl_coverage")
    if raw is None:
        return None
    try:
        return Decimal(str(raw).rstrip("%"))
    except InvalidOperation:
        raise pytest.UsageError(f"--policydsl-coverage expects a percentage, got {raw!r}") from None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from policydsl.bdd.coverage import report
    from policydsl.i18n import default_lang

    config = session.config
    threshold = _threshold(config)
    if threshold is None:
        return
    lang = config.getoption("policydsl_lang") or default_lang()
    coverages = list(config.stash.get(COVERAGE, {}).values())
    if not coverages:  # no scenario evaluated anything: load the book to report every policy at 0%
        try:
            book = load(_policies_path(config))
        except Exception:  # noqa: BLE001 - the scenarios already reported why the book does not load
            return
        from policydsl.bdd.coverage import PolicyCoverage
        coverages = [PolicyCoverage(policy=c) for c in book.compiled.values()]
    text, ok = report(coverages, lang, threshold)
    config.stash[VERDICT] = (text, ok)
    if not ok and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    verdict = config.stash.get(VERDICT, None)
    if verdict is not None:
        terminalreporter.write_sep("-", "policydsl")
        terminalreporter.write_line(verdict[0])


INVENTORY_TAG = re.compile(r"^R\d{3}\.\d+$")


@pytest.hookimpl(optionalhook=True)  # a pytest-bdd hook: unknown to pytest when the [bdd] extra is missing
def pytest_bdd_apply_tag(tag: str, function) -> bool | None:
    """Inventory ids as scenario tags (`@R004.2`) trace document → rule → scenario; they are
    not pytest marks (which would warn as unknown)."""
    if INVENTORY_TAG.match(tag):
        return True
    return None
