"""`policydsl replay LOG…`: a decision log's requests decided again with another book (see policydsl.serve.replay)."""
from __future__ import annotations

import json
import sys

import click

from policydsl import i18n
from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of

i18n.register("help", {
    "replay": ("用另一版政策库重新决定决策日志（serve --log）中的每个请求，并以 diff --sample 的报告说明哪些决策会改变",
               "decide every request of a decision log (serve --log) again with another book and report what would "
               "change, in the report of diff --sample"),
    "replay.policies": ("用来重新决策的政策库目录", "the book to decide with"),
    "replay.json": ("输出 JSON（diff --sample --json 的报告，加上记录数、掩码与跳过的行）",
                    "print JSON (diff --sample --json's report, with the records, masked facts and skipped lines)"),
})


@click.command("replay", help=help_text("replay"))
@click.argument("logs", nargs=-1, required=True, metavar="LOG [LOG.1 …]")
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True,
              help=help_text("replay.policies"))
@click.option("--json", "as_json", is_flag=True, help=help_text("replay.json"))
@click.option("--examples", "examples", type=click.IntRange(min=0), default=3, show_default=True,
              help=help_text("diff.examples"))
@LANG
@guarded
def replay(logs: tuple[str, ...], policies_dir: str, as_json: bool, examples: int, lang: str | None) -> None:
    from policydsl.diff import render_text
    from policydsl.loader import load
    from policydsl.serve import replay as engine

    lang = lang_of(lang)
    existing(*logs)
    existing(policies_dir, folder=True)
    book = load(policies_dir)
    done = engine.replay(book, logs, examples, lambda bad: click.echo(bad.text(lang), err=True))
    if as_json:
        click.echo(json.dumps(done.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        titles = {p: book.policies[p].title.get(lang) for p in book.policies}
        titles[engine.WHOLE_BOOK] = engine.s("book_title", lang)
        click.echo("\n".join([render_text(done.report(), titles, lang), *done.notes(len(logs), lang)]))
    sys.exit(2 if done.bad else 1 if done.report().changed else 0)


COMMANDS = [replay]
