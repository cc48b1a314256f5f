"""`policydsl serve`: the decision service over HTTP (the [serve] extra), run by uvicorn."""
from __future__ import annotations

import click

from policydsl import i18n
from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of

i18n.register("help", {
    "serve": ("以 HTTP 服务提供政策决策（POST /v1/policies/{id}/decide 等，见 README「决策服务」）",
              "serve decisions over HTTP (POST /v1/policies/{id}/decide and more: README, \"Decision service\")."),
    "serve.host": ("监听地址（默认只在本机）", "address to listen on (this machine only by default)"),
    "serve.port": ("监听端口", "port to listen on"),
    "serve.token-file": ("含令牌的文件：决策接口需 Authorization: Bearer <令牌>",
                         "file holding a token the decide endpoints then require as Authorization: Bearer <token>"),
    "serve.watch": ("监视政策目录，修改无错误时即换用新政策库（默认开启）",
                    "watch the policies folder and swap in a clean edit (on by default)"),
    "serve.docs": ("同时在 /docs/ 提供该目录中渲染好的手册（policydsl docs --out 所写），其政策页可当场试算",
                   "also serve the rendered handbook in this folder (as policydsl docs --out writes it) under /docs/, "
                   "its policy pages with a \"try it\" panel"),
})


@click.command("serve", help=help_text("serve"))
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help=help_text("serve.host"))
@click.option("--port", default=8181, type=click.IntRange(0, 65535), show_default=True, help=help_text("serve.port"))
@click.option("--token-file", "token_file", help=help_text("serve.token-file"))
@click.option("--watch/--no-watch", default=True, show_default=True, help=help_text("serve.watch"))
@click.option("--docs", "docs_dir", type=click.Path(), help=help_text("serve.docs"))
@LANG
@guarded
def serve(policies_dir: str, host: str, port: int, token_file: str | None, watch: bool, docs_dir: str | None,
          lang: str | None) -> None:
    from policydsl.commands.eval import _parse_date
    from policydsl.serve.app import create_app
    from policydsl.serve.book import Library, load_served
    from policydsl.serve.server import bind, read_token, run, s

    token = read_token(token_file) if token_file is not None else None
    if docs_dir is not None:
        from policydsl.serve.handbook import check_handbook
        check_handbook(docs_dir)  # no handbook there: said now, before the book loads
    existing(policies_dir, folder=True)
    served = load_served(policies_dir)  # a broken book is refused here, with its diagnostics, before listening
    sock = bind(host, port)
    click.echo(s("serving", lang_of(lang), revision=served.revision[:12], count=len(served.book.compiled), host=host,
                 port=sock.getsockname()[1]), err=True)
    run(create_app(Library(policies_dir, served), _parse_date, token, watching=watch, docs=docs_dir), sock)


COMMANDS = [serve]
