"""`policydsl fmt`: rewrite policy files in the one canonical layout (or --check / --diff them)."""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from policydsl import i18n
from policydsl.commands.common import LANG, guarded, help_text, lang_of, policy_paths
from policydsl.errors import PolicyDslError


@click.command("fmt", help=help_text("fmt"))
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--check", "check_only", is_flag=True,
              help=help_text("fmt.check"))
@click.option("--diff", "show_diff", is_flag=True,
              help=help_text("fmt.diff"))
@LANG
@guarded
def fmt(paths: tuple[str, ...], check_only: bool, show_diff: bool, lang: str | None) -> None:
    from policydsl.formatter import FormatError

    lang = lang_of(lang)
    changed, same, failures, refused = 0, 0, [], 0
    for path in policy_paths(paths):
        try:
            did_change = _format_one(path, check_only, show_diff, lang)
        except FormatError as exc:
            failures.extend(exc.diagnostics)
            continue
        except PolicyDslError as exc:  # a file that cannot be read or written: said, and the others still formatted
            click.echo(i18n.t("E.prefix", lang) + exc.message(lang), err=True)
            refused += 1
            continue
        changed, same = changed + did_change, same + (not did_change)
    if failures:
        raise FormatError(failures)
    if refused:
        sys.exit(2)
    summary = "fmt.summary_check" if (check_only or show_diff) else "fmt.summary_write"
    click.echo(i18n.t(summary, lang, changed=changed, same=same))
    sys.exit(1 if check_only and changed else 0)


def _format_one(path: Path, check_only: bool, show_diff: bool, lang: str) -> bool:
    """Format one file as asked; whether its layout changes."""
    from policydsl.formatter import format_text
    from policydsl.fsutil import write_atomic
    from policydsl.source import BOM, read_policy, unreadable_reason

    try:
        original = read_policy(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyDslError("E.unreadable", path=str(path), reason=unreadable_reason(exc)) from None
    bom = BOM if original.startswith(BOM) else ""  # kept as the author saved it
    formatted = bom + format_text(original.removeprefix(BOM), str(path))
    if formatted == original:
        return False
    if show_diff:
        click.echo("".join(difflib.unified_diff(original.splitlines(keepends=True),
                                                formatted.splitlines(keepends=True),
                                                fromfile=f"{path}", tofile=f"{path} (formatted)")), nl=False)
    if check_only:
        click.echo(i18n.t("fmt.would_change", lang, path=path))
    elif not show_diff:  # --check and --diff only read: they work on read-only files too
        write_atomic(path, formatted)  # keeps mode, owner and links; refuses a read-only file (exit 2)
        click.echo(i18n.t("fmt.changed", lang, path=path))
    return True


COMMANDS = [fmt]
