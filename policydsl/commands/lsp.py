"""`policydsl lsp`: the language server over stdio (the [lsp] extra)."""
from __future__ import annotations

import click

from policydsl.commands.common import LANG, guarded, lang_of


@click.command("lsp")
@LANG
@guarded
def lsp(lang: str | None) -> None:
    """启动语言服务器（标准输入输出） / start the language server (stdio)."""
    from policydsl.lsp import make_server

    make_server(lang_of(lang)).start_io()


COMMANDS = [lsp]
