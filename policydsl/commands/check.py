"""`policydsl check`: parse, type-check and analyse policies; exit 0 clean, 1 problems, 2 unreadable input."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from policydsl import i18n
from policydsl.commands.common import LANG, guarded, help_text, lang_of, policy_paths, render_diagnostics


@click.command(help=help_text("check"))
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--sources", "sources_dir", type=click.Path(file_okay=False),
              help=help_text("check.sources"))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--info", "show_info", is_flag=True,
              help=help_text("check.info"))
@click.option("--deep", "deep", is_flag=True,
              help=help_text("check.deep"))
@LANG
@guarded
def check(paths: tuple[str, ...], sources_dir: str | None, fmt: str, show_info: bool, deep: bool,
          lang: str | None) -> None:
    from policydsl.loader import analyse

    lang = lang_of(lang)
    files = policy_paths(paths, folders=[sources_dir] if sources_dir is not None else [], shared=True)
    analysis = analyse(files, sources_dir=Path(sources_dir) if sources_dir else None)
    if deep:
        from policydsl.verify.analyses import deepen

        analysis = deepen(analysis)
    problems = [d for d in analysis.diagnostics if d.is_problem]
    errors = sum(d.severity == "error" for d in problems)
    notes = _notes(analysis, show_info, deep)
    if fmt == "json":
        from policydsl.diagnostics import DiagnosticBag

        click.echo(json.dumps([d.to_dict() for d in DiagnosticBag([*problems, *notes]).sorted()],
                              ensure_ascii=False, indent=2))
    else:
        _print_text(analysis, files, problems, notes, errors, lang)
    unreadable = any(d.code == "P0104" for d in problems)  # unreadable input: exit 2, as every command
    sys.exit(2 if unreadable else 1 if errors else 0)


def _notes(analysis: Any, show_info: bool, deep: bool) -> list:
    """`info` notes are never problems: not counted, and shown only when asked for, except that `--deep`
    always lists the conflicts between documents the book resolves or keeps as known."""
    if show_info:
        from policydsl.semantics.analyses import notes as model_notes

        return [*(d for d in analysis.diagnostics if not d.is_problem), *model_notes(analysis.model)]
    if not deep:  # only the solver's analyses find conflicts between documents
        return []
    from policydsl.verify.conflicts import NOTES as CONFLICT_NOTES

    return [d for d in analysis.diagnostics if not d.is_problem and d.code in CONFLICT_NOTES]


def _print_text(analysis: Any, files: list[Path], problems: list, notes: list, errors: int, lang: str) -> None:
    # problems first, then notes: many notes never push a problem past the display cap
    blocks = [render_diagnostics(block, lang) for block in (problems, notes) if block]
    if blocks:
        click.echo("\n\n".join(blocks))
    if problems:
        click.echo(i18n.t("summary.problems", lang, errors=errors, warnings=len(problems) - errors))
    else:
        policies = len(analysis.model.policies) if analysis.model else 0
        click.echo(i18n.t("summary.clean", lang, files=len(files), policies=policies))
    if notes:
        click.echo(i18n.t("summary.notes", lang, count=len(notes)))


COMMANDS = [check]
