"""`policydsl docs`: render the bilingual rule handbook (the [docs] extra)."""
from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from policydsl import i18n
from policydsl.commands.common import existing, guarded, help_text, languages


@click.command(help=help_text("docs"))
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True)
@click.option("--features", "features_dir", default="features", type=click.Path(), show_default=True,
              help=help_text("docs.features"))
@click.option("--out", "out_dir", default="generated_docs", type=click.Path(), show_default=True,
              help=help_text("docs.out"))
@click.option("--lang", "langs", default="zh,en", show_default=True,
              help=help_text("docs.lang"))
@click.option("--check", "check_only", is_flag=True,
              help=help_text("docs.check"))
@guarded
def docs(policies_dir: str, features_dir: str, out_dir: str, langs: str, check_only: bool) -> None:
    from policydsl import docs as handbook
    from policydsl.docs.strings import s

    from policydsl.loader import load

    lang = i18n.default_lang()
    chosen = languages(langs, lang)
    existing(policies_dir, features_dir)
    book = load(policies_dir)
    gc.freeze()  # the book lives as long as this command: rendering's full collections need not walk it again
    files = handbook.render(book, features=Path(features_dir), policies_dir=policies_dir, langs=chosen)
    if check_only:
        differences = handbook.check(Path(out_dir), files)
        for diff in differences:
            click.echo(f"{s(f'cli.{diff.status}', lang)}: {Path(out_dir, diff.path).as_posix()}", err=True)
        click.echo(s("cli.stale_summary" if differences else "cli.fresh", lang, out=out_dir, count=len(differences)),
                   err=bool(differences))
        sys.exit(1 if differences else 0)
    count = handbook.write(Path(out_dir), files)  # its refusals and OS failures are PolicyDslErrors (exit 2)
    click.echo(s("cli.written", lang, out=out_dir, count=count))


COMMANDS = [docs]
