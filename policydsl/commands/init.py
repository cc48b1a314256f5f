"""`policydsl init`: a new rule book, in a new or empty folder, that checks, tests and renders out of the box."""
from __future__ import annotations

from pathlib import Path

import click

from policydsl.commands.common import LANG, guarded, help_text, lang_of
from policydsl.commands.explain_code import fail as _fail
from policydsl.fsutil import os_reason


@click.command("init", help=help_text("init", "init.2"))
@click.argument("directory", type=click.Path())
@LANG
@guarded
def init(directory: str, lang: str | None) -> None:
    from policydsl.authoring import SCAFFOLD, s

    lang = lang_of(lang)
    root = Path(directory)
    try:
        if root.exists() and not root.is_dir():
            _fail(lang, s("not_folder", lang, path=directory))
        if root.is_dir() and any(root.iterdir()):
            _fail(lang, s("not_empty", lang, path=directory))
        for relative, text in SCAFFOLD.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    except OSError as exc:  # a name too long, a read-only or full disk, a folder we may not write in
        _fail(lang, s("cannot_create", lang, path=directory, reason=os_reason(exc)))
    click.echo(s("created", lang, path=directory, count=len(SCAFFOLD)))
    click.echo(f"  cd {directory}")
    for line in ("policydsl check policies --sources sources", "policydsl test features --coverage 100",
                 "policydsl docs"):
        click.echo(f"  {line}")


COMMANDS = [init]
