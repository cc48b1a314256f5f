"""`policydsl lsp`: the language server over stdio (the [lsp] extra)."""
from __future__ import annotations

import os

import click

from policydsl import i18n
from policydsl.commands.common import LANG, guarded, help_text, lang_of


@click.command("lsp", help=help_text("lsp"))
@LANG
@guarded
def lsp(lang: str | None) -> None:
    from policydsl.lsp import make_server

    env = os.environ.get("POLICYDSL_LANG")
    chosen = lang or (env if env in i18n.LANGS else None)  # else the client's choice, or both languages
    make_server(lang_of(lang), chosen).start_io()


COMMANDS = [lsp]
