"""`policydsl diff OLD NEW [--sample FILE]`: what a rule-book change does, proved and sampled (see policydsl.diff)."""
from __future__ import annotations

import json
import sys

import click

from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of, parse_date


def _load(folder: str):
    from policydsl.diff import DiffError
    from policydsl.loader import load

    existing(folder, folder=True, error=DiffError)
    return load(folder)


@click.command("diff", help=help_text("diff"))
@click.argument("old", type=click.Path())
@click.argument("new", type=click.Path())
@click.option("--sample", "sample_path", default=None, metavar="FILE.jsonl|FILE.csv",
              help=help_text("diff.sample"))
@click.option("--prove/--no-prove", "prove_it", default=True, show_default=True,
              help=help_text("diff.prove"))
@click.option("--policy", "policy_names", multiple=True, metavar="ID",
              help=help_text("diff.policy"))
@click.option("--at", "at_text", metavar="YYYY-MM-DD",
              help=help_text("diff.at"))
@click.option("--examples", "examples", type=int, default=3, show_default=True,
              help=help_text("diff.examples"))
@click.option("--steps", "steps_text", default=None, metavar="N",
              help=help_text("diff.steps"))
@click.option("--timeout", "timeout_text", default=None, metavar="SECONDS",
              help=help_text("diff.timeout"))
@click.option("--json", "as_json", is_flag=True, help=help_text("diff.json"))
@LANG
@guarded
def diff(old: str, new: str, sample_path: str | None, prove_it: bool, policy_names: tuple[str, ...],
         at_text: str | None, examples: int, steps_text: str | None, timeout_text: str | None, as_json: bool,
         lang: str | None) -> None:
    from policydsl.diff import (DiffError, Report, compare, input_kinds, prove, proofs_to_dict,
                                read_sample, render_proofs, render_text, scope)
    from policydsl.runtime.calendar import today_in_shanghai

    lang = lang_of(lang)
    if examples < 0:
        raise DiffError("E.examples", value=examples)
    from policydsl.commands.verify import parse_limits  # the same rules and messages as verify's

    limits = parse_limits(steps_text, timeout_text, lang)
    at = parse_date(at_text, DiffError) if at_text is not None else today_in_shanghai()
    old_book, new_book = _load(old), _load(new)
    shared, added, removed, _ = scope(old_book, new_book, policy_names)
    if sample_path is not None:
        records = read_sample(sample_path, input_kinds(new_book, old_book))
        report = compare(old_book, new_book, records, policies=policy_names, at=at, examples=examples,
                         path=sample_path)
    else:
        report = Report(policies=(), added=added, removed=removed)
    proofs = prove(old_book, new_book, shared, limits) if prove_it else {}
    if as_json:
        out = report.to_dict()
        if sample_path is None:
            del out["policies"]
        if prove_it:
            out["proofs"] = proofs_to_dict(proofs)
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        if sample_path is not None or report.added or report.removed:
            titles = {p: book.policies[p].title.get(lang) for book in (new_book, old_book) for p in book.policies}
            click.echo(render_text(report, titles, lang))
        if prove_it:
            click.echo(render_proofs(proofs, lang))
    proved_alike = all(eq.status == "equivalent" for eq in proofs.values())
    sys.exit(1 if report.changed or report.added or report.removed or not proved_alike else 0)


COMMANDS = [diff]
