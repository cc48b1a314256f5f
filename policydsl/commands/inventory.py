"""`policydsl inventory`: the traceability table, inventory id -> policy -> rules -> scenarios."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from policydsl import i18n
from policydsl.commands.common import LANG, guarded, help_text, lang_of
from policydsl.errors import PolicyDslError


@click.command(help=help_text("inventory"))
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True)
@click.option("--features", "features_dir", default="features", type=click.Path(), show_default=True)
@click.option("--inventory", "inventory_file", type=click.Path(dir_okay=False),
              help=help_text("inventory.inventory"))
@click.option("--update", "update_file", type=click.Path(dir_okay=False),
              help=help_text("inventory.update"))
@click.option("--check", "check_file", type=click.Path(dir_okay=False),
              help=help_text("inventory.check"))
@click.option("--strict", is_flag=True, help=help_text("inventory.strict"))
@LANG
@guarded
def inventory(policies_dir: str, features_dir: str, inventory_file: str | None, update_file: str | None,
              check_file: str | None, strict: bool, lang: str | None) -> None:
    from policydsl import inventory as inv
    from policydsl.fsutil import write_atomic
    from policydsl.source import read_bytes, unreadable_reason

    from policydsl.loader import load

    lang = lang_of(lang)
    book = load(policies_dir)
    rows = inv.build(book.model, Path(features_dir), Path(inventory_file) if inventory_file else None)
    table = inv.markdown(rows)
    code = 0
    for target, writing in ((update_file, True), (check_file, False)):
        if target is None:
            continue
        try:
            current = read_bytes(target).decode("utf-8")  # bounded: /dev/zero is refused, not read to exhaustion
            fresh = inv.replace_block(current, table)
        except (OSError, ValueError) as exc:
            text = unreadable_reason(exc) if isinstance(exc, (OSError, UnicodeDecodeError)) else str(exc)
            raise PolicyDslError("E.unreadable", path=target, reason=text) from None
        if writing and fresh != current:  # keeps mode, owner and links; refuses a read-only file
            write_atomic(target, fresh)
        elif fresh != current:
            click.echo(i18n.t("E.stale", lang, path=target), err=True)
            code = 1
    if update_file is None and check_file is None:
        click.echo(table)
    if strict:
        bad = [r for r in rows if r.status != "ok" and r.status != "note"]
        for r in bad:
            click.echo(f"{r.id}: {r.status}", err=True)
        code = code or (1 if bad else 0)
    sys.exit(code)


COMMANDS = [inventory]
