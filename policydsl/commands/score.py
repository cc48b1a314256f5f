"""`policydsl score`: decide every record of a file with one or more policies on DuckDB, and write one row
per record and policy (policydsl.score.files). A record that cannot be decided gets its error code in the
`error` column and the batch goes on; the counts per policy and outcome or error are printed at the end."""
from __future__ import annotations

import click

from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of


@click.command("score", help=help_text("score"))
@click.argument("policies", nargs=-1, required=True)
@click.option("--input", "input_path", required=True, metavar="FILE", help=help_text("score.input"))
@click.option("--out", "out_path", required=True, metavar="FILE", help=help_text("score.out"))
@click.option("--at", "at_text", metavar="YYYY-MM-DD", help=help_text("score.at"))
@click.option("--key", "keys", multiple=True, metavar="COLUMN", help=help_text("score.key"))
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True,
              help=help_text("score.policies"))
@LANG
@guarded
def score(policies: tuple[str, ...], input_path: str, out_path: str, at_text: str | None, keys: tuple[str, ...],
          policies_dir: str, lang: str | None) -> None:
    from policydsl.commands.eval import _parse_date
    from policydsl.loader import load
    from policydsl.runtime.calendar import today_in_shanghai
    from policydsl.score import files

    lang = lang_of(lang)
    at = _parse_date(at_text) if at_text is not None else today_in_shanghai()
    files.file_format(input_path)  # an unknown extension is refused before the book is loaded
    files.file_format(out_path)
    existing(policies_dir)
    book = load(policies_dir)  # the whole checked model: a cached book holds only the compiled policies
    ids = [book.find(policy).id for policy in policies]
    counts = files.score_file(book.model, ids, input_path, out_path, at, tuple(keys))
    for line in files.summary(counts, lang):
        click.echo(line)
    click.echo(files.s("written", lang, rows=sum(sum(c.values()) for c in counts.values()), path=out_path), err=True)


COMMANDS = [score]
