"""`policydsl lsp`: the language server over stdio (the [lsp] extra)."""
from __future__ import annotations

import click

from policydsl.commands.common import LANG, guarded, help_text, lang_of


@click.command("lsp", help=help_text("lsp"))
@LANG
@guarded
def lsp(lang: str | None) -> None:
    from policydsl.lsp import make_server

    make_server(lang_of(lang)).start_io()


COMMANDS = [lsp]
