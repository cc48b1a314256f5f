"""`policydsl serve`: the decision service over HTTP (the [serve] extra), run by uvicorn."""
from __future__ import annotations

import click

from policydsl import i18n
from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of, parse_date

i18n.register("help", {
    "serve": ("以 HTTP 服务提供政策决策（POST /v1/policies/{id}/decide 等，见 README「决策服务」）",
              "serve decisions over HTTP (POST /v1/policies/{id}/decide and more: README, \"Decision service\")."),
    "serve.host": ("监听地址（默认只在本机）", "address to listen on (this machine only by default)"),
    "serve.port": ("监听端口", "port to listen on"),
    "serve.token-file": ("含令牌的文件：决策接口需 Authorization: Bearer <令牌>",
                         "file holding a token the decide endpoints then require as Authorization: Bearer <token>"),
    "serve.log": ("决策日志文件：每个决策一行 JSON（README「Decision log and replay」）",
                  "decision log file: one JSON line per decision (README, \"Decision log and replay\")"),
    "serve.mask": ("在日志中以带密钥的哈希代替这个事实的值（可重复，如 account.real_name）",
                   "log this fact's value as a keyed hash (repeatable, e.g. account.real_name)"),
    "serve.mask-key-file": ("掩码用的 HMAC 密钥文件（默认：每次启动随机生成，不写出）",
                            "file holding the HMAC key for --mask (default: a random key made at start, never written)"),
    "serve.log-max-bytes": ("日志超过这个大小就轮转", "rotate the log before it grows past this size"),
    "serve.log-backups": ("保留的旧日志个数（FILE.1 … FILE.K）", "how many rotated logs to keep (FILE.1 … FILE.K)"),
    "serve.watch": ("监视政策目录（并每 2 秒比较一次版本），修改无错误时即换用新政策库；SIGHUP 随时重新加载",
                    "watch the policies folder (and compare its revision every 2 s) and swap in a clean edit; "
                    "SIGHUP reloads at any time"),
    "serve.request-timeout": ("每个请求须在连接或其首字节之后这么多秒内发完，否则关闭连接（请求头未完时答 408）",
                              "seconds a request has to arrive whole from the connection or its first byte; a late one "
                              "has its connection closed (answered 408 if its headers are not complete)"),
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
@click.option("--log", "log_path", metavar="FILE", help=help_text("serve.log"))
@click.option("--mask", "masks", multiple=True, metavar="FACT", help=help_text("serve.mask"))
@click.option("--mask-key-file", "mask_key_file", metavar="FILE", help=help_text("serve.mask-key-file"))
@click.option("--log-max-bytes", "log_max_bytes", type=int, default=100 * 1024 * 1024, show_default=True,
              help=help_text("serve.log-max-bytes"))
@click.option("--log-backups", "log_backups", type=click.IntRange(0, 1000), default=5, show_default=True,
              help=help_text("serve.log-backups"))
@click.option("--request-timeout", "request_timeout", type=click.FloatRange(0, 86400, min_open=True), default=30.0,
              show_default=True, metavar="SECONDS", help=help_text("serve.request-timeout"))
@LANG
@guarded
def serve(policies_dir: str, host: str, port: int, token_file: str | None, watch: bool, docs_dir: str | None,
          log_path: str | None, masks: tuple[str, ...], mask_key_file: str | None, log_max_bytes: int,
          log_backups: int, request_timeout: float, lang: str | None) -> None:
    from policydsl.serve.app import create_app
    from policydsl.serve.book import Library, load_served
    from policydsl.serve.log import open_log
    from policydsl.serve.server import bind, read_token, run, s

    token = read_token(token_file) if token_file is not None else None
    if docs_dir is not None:
        from policydsl.serve.handbook import check_handbook
        check_handbook(docs_dir)  # no handbook there: said now, before the book loads
    existing(policies_dir, folder=True)
    served = load_served(policies_dir)  # a broken book is refused here, with its diagnostics, before listening
    log = open_log(log_path, served.book, masks, mask_key_file, log_max_bytes, log_backups)
    sock = bind(host, port)
    click.echo(s("serving", lang_of(lang), revision=served.revision[:12], count=len(served.book.compiled), host=host,
                 port=sock.getsockname()[1]), err=True)
    run(create_app(Library(policies_dir, served), parse_date, token, watching=watch, docs=docs_dir, log=log), sock,
        request_timeout)


COMMANDS = [serve]
