"""The pytest plugin (entry point `pytest11`): collects .feature files and loads the step library.

Each .feature file becomes one pytest module whose tests are pytest-bdd scenarios; the steps of
steps.py are registered as a plugin so every feature sees them.
"""
from __future__ import annotations

import contextlib
import importlib.util
import re
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from policydsl.bdd.coverage import BOOK, COVERAGE, PolicyCoverage, report, s as coverage_s
from policydsl.bdd.phrases import closest
from policydsl.bdd.world import CURRENT_STEP, s
from policydsl.errors import PolicyDslError
from policydsl.i18n import default_lang
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


FEATURE_ENCODING = "utf-8-sig"
"""UTF-8 with a byte-order mark read and dropped, as policy files are (an editor's BOM was a Gherkin syntax error
at line 1, "Unexpected token", and the file's scenarios were missing from the handbook and the inventory)."""


class FeatureModule(pytest.Module):
    """A .feature file standing in for a test module: one test function per scenario."""

    def _getobj(self):
        from pytest_bdd import scenario
        from pytest_bdd.exceptions import GherkinParseError
        from pytest_bdd.feature import get_features

        module = types.ModuleType(self.path.stem)
        module.__file__ = str(self.path)
        try:
            feature = get_features([str(self.path)], encoding=FEATURE_ENCODING)[0]
        except (GherkinParseError, UnicodeDecodeError, KeyError) as exc:  # a broken feature: a message, no traceback
            raise self.CollectError(_feature_error(self.path, exc, GherkinParseError, _lang(self.config))) from None
        for tag in sorted(_tags(feature)):  # a tag is a mark (`-m R004.2`, `-k slow`), declared by the feature
            self.config.addinivalue_line("markers", f"{tag}: a Gherkin tag")
        for index, name in enumerate(feature.scenarios, start=1):
            @scenario(self.path.name, name, encoding=FEATURE_ENCODING, features_base_dir=str(self.path.parent))
            def _run() -> None:
                pass
            _run.pytestmark = [_readable_ids(mark) for mark in getattr(_run, "pytestmark", [])]
            setattr(module, f"test_{index:03d}_{name}", _run)
        return module


def _tags(feature) -> set[str]:
    tags = set(feature.tags)
    for template in feature.scenarios.values():
        tags |= template.tags | (template.rule.tags if template.rule is not None else set())
        for examples in template.examples:
            tags |= examples.tags or set()
    return tags


def _readable_ids(mark):
    """An outline's examples without pytest-bdd's ids, which pytest would escape (`\\u4e2a…`): their ids are
    made again by pytest_make_parametrize_id below, which pytest takes as they are."""
    if mark.name != "parametrize" or mark.args[0] != EXAMPLE:
        return mark
    return pytest.mark.parametrize(EXAMPLE, [p._replace(id=None) for p in mark.args[1]]).mark


EXAMPLE = "_pytest_bdd_example"


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """An example row's id: its values joined by "-", in the feature's own script."""
    if argname == EXAMPLE and isinstance(val, dict):
        return "-".join(str(v) for v in val.values())
    return None


def _feature_error(path: Path, exc: Exception, gherkin_error: type[GherkinParseError], lang: str) -> str:
    """The message for a .feature file that cannot be parsed."""
    if isinstance(exc, UnicodeDecodeError):
        return s("feature.not_utf8", lang, path=path)
    if not isinstance(exc, gherkin_error):
        return s("feature.no_feature", lang, path=path)
    text = s("feature.syntax", lang, where=f"{path}:{exc.line}: {exc.line_content.strip()}", message=exc.message)
    head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    if "# language:" not in head and re.search(r"^\s*(功能|场景|背景)\s*[:：]", head, flags=re.M):
        text += "\n  " + s("feature.language", lang)
    return text


@pytest.fixture(scope="session")
def policydsl_policy_set(request: pytest.FixtureRequest):
    """The rule book under test, loaded once; a load error is handed to each scenario to report."""
    try:
        return load(_policies_path(request.config))
    except PolicyDslError as exc:  # PolicyLoadError (diagnostics) or no .policy files at all
        return exc


def _lang(config: pytest.Config) -> str:
    return config.getoption("policydsl_lang") or default_lang()


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
    config = session.config
    threshold = _threshold(config)
    if threshold is None:
        return
    lang = _lang(config)
    recorded: dict = config.stash.get(COVERAGE, {})
    coverages = dict(recorded)
    selected = _selected(config)
    if not selected:  # the whole suite: a policy no scenario evaluated counts 0%
        book: Any = config.stash.get(BOOK, None)
        if book is None:
            try:
                book = load(_policies_path(config))
            except Exception:  # noqa: BLE001 - the scenarios already reported why the book does not load
                return
        for pid, compiled in book.compiled.items():
            coverages.setdefault(pid, PolicyCoverage(policy=compiled))
    text, ok = report(list(coverages.values()), lang, threshold)
    if selected:
        text += "\n" + coverage_s("selected", lang)
    config.stash[VERDICT] = (text, ok)
    if not ok and session.exitstatus == 0:
        session.exitstatus = 1


def _selected(config: pytest.Config) -> bool:
    """The run chose some scenarios (feature files, node ids, -k or -m) rather than whole folders."""
    narrowed = any(not Path(arg.split("::", 1)[0]).is_dir() or "::" in arg for arg in config.args)
    return narrowed or bool(config.option.keyword) or bool(config.option.markexpr)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    verdict = config.stash.get(VERDICT, None)
    if verdict is not None:
        terminalreporter.write_sep("-", "policydsl")
        terminalreporter.write_line(verdict[0])


@pytest.hookimpl(optionalhook=True)  # pytest-bdd's hooks: unknown to pytest when the [bdd] extra is missing
def pytest_bdd_before_step(request: pytest.FixtureRequest, feature, step) -> None:
    """Where the running step is written, for its failure message (`file:line: 那么 …`)."""
    request.node.stash[CURRENT_STEP] = _where(request.config, feature, step)


@pytest.hookimpl(optionalhook=True)
def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, feature, step) -> None:
    """A step no phrase matches: where it is written and the closest phrases, instead of pytest-bdd's
    StepDefinitionNotFoundError (the failure raised here replaces it)."""
    lang = _lang(request.config)
    lines = [_where(request.config, feature, step), s("step.unknown", lang)]
    script = "zh" if not step.keyword.isascii() else "en"  # examples in the feature's own language
    lines += [f"    {example}" for example in closest(step.name, script)] or [f"    {s('step.list', lang)}"]
    pytest.fail("\n".join(lines), pytrace=False)


def _where(config: pytest.Config, feature, step) -> str:
    path = Path(feature.filename)
    with contextlib.suppress(ValueError):
        path = path.relative_to(config.invocation_params.dir)
    return f"{path}:{step.line_number}: {step.keyword} {step.name}"
