"""`policydsl test`: run Gherkin features through pytest-bdd (the [bdd] extra)."""
from __future__ import annotations

import importlib.util
import os
import sys

import click

from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of


@click.command(context_settings={"ignore_unknown_options": True}, help=help_text("test"))
@click.argument("features", nargs=-1, type=click.Path())
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True)
@click.option("-k", "keyword", help=help_text("test.k"))
@click.option("-m", "markexpr", help=help_text("test.m"))
@click.option("-q", "quiet", is_flag=True, help=help_text("test.q"))
@click.option("--coverage", "coverage", type=click.FloatRange(0, 100), default=None, metavar="PCT",
              help=help_text("test.coverage"))
@LANG
@guarded
def test(features: tuple[str, ...], policies_dir: str, keyword: str | None, markexpr: str | None, quiet: bool, coverage: float | None,
         lang: str | None) -> None:
    import pytest

    # the plugin needs pytest-bdd: a missing [bdd] extra is reported before pytest starts. Found, not imported:
    # imported before pytest registers it, its asserts could not be rewritten (a warning in every run).
    if importlib.util.find_spec("pytest_bdd") is None:
        raise ModuleNotFoundError("No module named 'pytest_bdd'", name="pytest_bdd")

    lang = lang_of(lang)
    targets = list(features) or ["features"]
    existing(*targets, policies_dir)  # a missing policies folder: exit 2, not every scenario failing (exit 1)
    args = [*targets, f"--policies={policies_dir}", f"--policydsl-lang={lang}", "-p", "no:cacheprovider",
            "--rootdir", os.getcwd(), "-o", "python_files=__no_python_tests__.py", "-o", "testpaths=",
            "-o", "disable_test_id_escaping_and_forfeit_all_rights_to_community_support=true",
            # this process imported policydsl before pytest could mark the plugin's package for assert
            # rewriting; the steps raise their own bilingual errors, so there is nothing to rewrite
            "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    args += ["-q"] if quiet else ["-v"]
    if keyword:
        args += ["-k", keyword]
    if markexpr:
        args += ["-m", markexpr]
    if coverage is not None:
        args += [f"--policydsl-coverage={coverage:g}"]
    code = pytest.main(args)
    sys.exit({0: 0, 1: 1, 5: 1}.get(int(code), 2))


COMMANDS = [test]
