"""`policydsl explain-code`: a diagnostic code explained with a wrong and a right example, in Chinese and English."""
from __future__ import annotations

import sys
from typing import NoReturn

import click

from policydsl import i18n
from policydsl.commands.common import LANG, guarded, help_text, lang_of


def fail(lang: str, text: str, *hints: str) -> NoReturn:
    """Bad usage: the message and its hints on stderr, exit 2."""
    click.echo(i18n.t("E.prefix", lang) + text, err=True)
    for hint in hints:
        click.echo(hint, err=True)
    sys.exit(2)


@click.command("explain-code", help=help_text("explain-code", "explain-code.2"))
@click.argument("code", required=False)
@click.option("--list", "list_codes", is_flag=True, help=help_text("explain-code.list"))
@LANG
@guarded
def explain_code(code: str | None, list_codes: bool, lang: str | None) -> None:
    from policydsl.authoring import EXPLANATIONS, closest_code, explanation_codes, message, render_explanation, s

    langs = (lang,) if lang else i18n.LANGS
    if list_codes:
        for known in explanation_codes():
            click.echo(f"{known:<13}" + " / ".join(message(known, x) for x in langs))
        return
    if not code:
        fail(lang_of(lang), s("need_code", lang_of(lang)))
    wanted = code.strip().upper().replace(".VALUES", ".values")
    if wanted not in EXPLANATIONS:
        closest = closest_code(wanted)
        hints = [s("did_you_mean", lang_of(lang), code=closest)] if closest else []
        fail(lang_of(lang), s("unknown", lang_of(lang), code=code), *hints, s("list_hint", lang_of(lang)))
    click.echo("\n\n".join(render_explanation(wanted, x) for x in langs))


COMMANDS = [explain_code]
