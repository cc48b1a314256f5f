"""What every command shares: the --lang option, the error guard (messages and exit codes, never a
traceback for a user's error) and the missing-extra message."""
from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

import click

from policydsl import i18n
from policydsl.errors import InternalError, PolicyDslError


def help_text(*keys: str) -> str:
    """A command's or option's --help text from the catalogue's help section: each key a paragraph, "中文 / English"."""
    return "\n\n".join(" / ".join(i18n.t(f"help.{key}", lang) for lang in i18n.LANGS) for key in keys)


LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
                    help=help_text("lang"))

def existing(*paths: str, folder: bool = False, error: type[PolicyDslError] = PolicyDslError) -> None:
    """Each path exists (and is a folder, with `folder`), else `E.unreadable` naming it (exit 2)."""
    from policydsl.fsutil import os_reason

    for path in paths:
        try:
            os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise error("E.unreadable", path=path, reason=i18n.both("os.ENOENT")) from None
        except OSError as exc:  # the OS's own words: a name too long, a loop of links (Path.exists says False)
            raise error("E.unreadable", path=path, reason=os_reason(exc)) from None
        if folder and not Path(path).is_dir():
            raise error("E.unreadable", path=path, reason=i18n.both("E.not_folder"))


def policy_paths(paths: Iterable[str], *, folders: Iterable[str] = (), shared: bool = False) -> list[Path]:
    """The .policy files `paths` name (by default the folder `policies`), with `shared` also the shared declarations
    beside them: each path exists and each of `folders` is a folder (else exit 2), and some file is found."""
    from policydsl.loader import policy_files, with_shared

    targets = list(paths) or ["policies"]
    existing(*targets)
    existing(*folders, folder=True)
    files = with_shared(policy_files(targets)) if shared else policy_files(targets)
    if not files:
        raise PolicyDslError("E.no_policies", path=", ".join(targets))
    return files


def parse_date(text: str, error: type[PolicyDslError] = PolicyDslError) -> dt.date:
    """A YYYY-MM-DD option (`--at`, `--from`, `--to`), else `E.bad_date` naming it (exit 2)."""
    from policydsl.runtime.facts import iso_date  # one rule for dates in options and in facts

    try:
        return iso_date(text)
    except ValueError:
        raise error("E.bad_date", value=text) from None


EXTRAS = {"z3": "verify", "pygls": "lsp", "lsprotocol": "lsp", "pytest": "bdd", "pytest_bdd": "bdd",
          "jinja2": "docs", "pygments": "docs", "duckdb": "score", "sqlglot": "score", "pyarrow": "score", "tqdm": "score",
          "starlette": "serve", "uvicorn": "serve", "watchfiles": "serve", "prometheus_client": "serve"}
"""A third-party package an optional command needs -> the extra that installs it."""


def lang_of(value: str | None) -> str:
    return value or i18n.default_lang()


def error_lang(kwargs: dict[str, Any]) -> str:
    """The language of a command's errors: its `--lang`; where `--lang` lists languages (`score`, `docs`), the
    first one given on the command line; else the default."""
    given = kwargs.get("langs")
    context = click.get_current_context(silent=True)
    if kwargs.get("lang") is None and given and context is not None and \
            context.get_parameter_source("langs") is not click.core.ParameterSource.DEFAULT:
        first = given.split(",")[0].strip()
        return first if first in i18n.LANGS else lang_of(None)
    return lang_of(kwargs.get("lang"))


def languages(value: str, lang: str) -> tuple[str, ...]:
    """A `--lang zh,en` list: the languages in the order given, each once; anything else is a usage error."""
    chosen = tuple(dict.fromkeys(x.strip() for x in value.split(",") if x.strip()))
    if not chosen or any(x not in ("zh", "en") for x in chosen):
        raise click.BadParameter(i18n.t("cli.bad_lang", lang, value=value), param_hint="--lang")
    return chosen


def render_diagnostics(diags: Any, lang: str) -> str:
    from policydsl.diagnostics import DiagnosticBag

    return DiagnosticBag(list(diags)).render(lang)


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The extra that would install the module `exc` could not find (None: not one of ours)."""
    return EXTRAS.get((exc.name or "").partition(".")[0])


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn author and input errors into messages and exit codes; never show a traceback for them."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        lang = error_lang(kwargs)
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:  # `policydsl … | head`: the reader went away; not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except ModuleNotFoundError as exc:
            _missing(exc, lang)
            raise
        except PolicyDslError as exc:
            _user_error(exc, lang)
        except (InternalError, Exception) as exc:  # noqa: BLE001 - the last guard
            if isinstance(exc, (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt)):
                raise
            _internal_error(exc, lang)
    return wrapper


def _missing(exc: ModuleNotFoundError, lang: str) -> None:
    """An optional dependency is not installed: name the extra that installs it (exit 2)."""
    extra = missing_extra(exc)
    if extra is None:
        _internal_error(exc, lang)
    command = click.get_current_context(silent=True)
    name = command.info_name if command is not None else "policydsl"
    click.echo(i18n.t("E.prefix", lang) + i18n.t("E.missing_extra", lang, command=name, module=exc.name,
                                                  extra=extra), err=True)
    sys.exit(2)


def _user_error(exc: PolicyDslError, lang: str) -> None:
    from policydsl.loader import PolicyLoadError

    if isinstance(exc, PolicyLoadError):
        click.echo(render_diagnostics(exc.diagnostics, lang), err=True)
        click.echo(exc.message(lang), err=True)
    else:
        click.echo(i18n.t("E.prefix", lang) + exc.message(lang), err=True)
    sys.exit(2)


def _internal_error(exc: BaseException, lang: str) -> None:
    if os.environ.get("POLICYDSL_DEBUG"):
        import traceback

        traceback.print_exc()
    click.echo(i18n.t("E.internal", lang) + f"{type(exc).__name__}: {exc}", err=True)
    click.echo("POLICYDSL_DEBUG=1 " + i18n.t("E.internal_debug", lang), err=True)
    sys.exit(3)
