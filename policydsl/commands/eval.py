"""`policydsl eval`: decide a policy (or with --book the whole book) for one record's facts on a date."""
from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from policydsl import i18n
from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of, parse_date
from policydsl.errors import PolicyDslError


@click.command("eval", help=help_text("eval"))
@click.argument("policy", required=False)
@click.option("--book", is_flag=True, help=help_text("eval.book"))
@click.option("--facts", "facts_path", required=True, help=help_text("eval.facts"))
@click.option("--at", "at_text", help=help_text("eval.at"))
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True)
@LANG
@click.option("--json", "as_json", is_flag=True, help=help_text("eval.json"))
@click.option("--explain", is_flag=True, help=help_text("eval.explain"))
@click.option("--ignore-unknown", is_flag=True, help=help_text("eval.ignore-unknown"))
@guarded
def eval_(policy: str | None, book: bool, facts_path: str, at_text: str | None, policies_dir: str, lang: str | None,
          as_json: bool, explain: bool, ignore_unknown: bool) -> None:
    lang = lang_of(lang)
    try:
        policy_set, at, result = _decide(policy, book, facts_path, at_text, policies_dir, explain, ignore_unknown)
    except PolicyDslError as exc:
        if not as_json:
            raise
        click.echo(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2))  # errors are data: one object on stdout
        sys.exit(2)
    if book:
        _print_book(result, policy_set, lang, as_json, explain)
        sys.exit(2 if result.errors else 0)  # a policy the record cannot be decided for: bad input, as in `eval`
    _print_decision(result, policy_set, at, lang, as_json, explain)


def _decide(policy: str | None, book: bool, facts_path: str, at_text: str | None, policies_dir: str, explain: bool,
            ignore_unknown: bool) -> tuple[Any, dt.date, Any]:
    """The book, the date and the decision (with `book`, the whole book's) the command prints."""
    from policydsl.loader import load
    from policydsl.runtime.calendar import today_in_shanghai
    from policydsl.runtime.facts import loads

    if book == (policy is not None):
        raise PolicyDslError("E.eval_target")
    at = parse_date(at_text) if at_text is not None else today_in_shanghai()
    facts = loads(_read_facts(facts_path))
    existing(policies_dir)
    policy_set = load(policies_dir, cached=True)  # an unchanged book: from the cache, neither parsed nor checked
    if policy is None:  # with --book (the check above)
        return policy_set, at, policy_set.evaluate_all(facts, at, trace=explain, ignore_unknown=ignore_unknown)
    return policy_set, at, policy_set.evaluate(policy, facts, at, trace=explain, ignore_unknown=ignore_unknown)


def _print_decision(decision: Any, policy_set: Any, at: dt.date, lang: str, as_json: bool, explain: bool) -> None:
    from policydsl.runtime.explain import explain as render_explain

    compiled = policy_set.compiled[decision.policy]
    if explain:
        click.echo(render_explain(decision, compiled, lang), err=as_json)
    if as_json:
        click.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    elif not explain:
        word = i18n.t(f"outcome.{decision.outcome}", lang)
        click.echo(f"{compiled.title[lang]} @ {at.isoformat()}: {word}")
        for line in _decision_lines(decision, compiled, lang):
            click.echo("  " + line)


def _print_book(whole: Any, policy_set: Any, lang: str, as_json: bool, explain: bool) -> None:
    """A whole-book decision: every policy's part, then the summary (or all of it as JSON)."""
    from policydsl.runtime.explain import conflict_line, explain as render_explain

    if explain:
        for part in whole.parts:
            if part.decision is not None:
                click.echo(render_explain(part.decision, policy_set.compiled[part.policy], lang), err=as_json)
    if as_json:
        click.echo(json.dumps(whole.to_dict(), ensure_ascii=False, indent=2))
    if as_json or explain:
        return
    click.echo(f"{i18n.t('book.title', lang)} @ {whole.at.isoformat()}: {i18n.t(f'outcome.{whole.outcome}', lang)}")
    for part in whole.parts:
        compiled = policy_set.compiled[part.policy]
        name = f"{part.policy} ({compiled.title[lang]})"
        if part.decision is not None:
            click.echo(f"  {i18n.t(f'outcome.{part.decision.outcome}', lang)}  {name}")
            for line in _decision_lines(part.decision, compiled, lang):
                click.echo("    " + line)
        elif part.status == "error":
            click.echo(f"  {i18n.t('book.error', lang)}  {name}")
            for line in part.error.message(lang).splitlines():
                click.echo("    " + line)
        elif part.status == "not_in_force":
            start, end = part.period
            period = f"{start or '…'} – {end or '…'}"
            click.echo(f"  {i18n.t('book.not_in_force', lang, period=period)}  {name}")
        else:
            click.echo(f"  {i18n.t('book.not_applicable', lang)}  {name}")
    for conflict in whole.conflicts:
        click.echo("  " + conflict_line(conflict, lang))
    summary = whole.summary
    click.echo(i18n.t("book.summary", lang, **{k: len(summary[k]) for k in
                                               ("denied", "allowed", "not_applicable", "not_in_force", "errors")}))


def _decision_lines(decision: Any, compiled: Any, lang: str) -> list[str]:
    """A decision's reasons, warnings, values and the values it could not compute, as `eval` prints them."""
    from policydsl.runtime.explain import consequence_line, unresolved_lines

    lines = [f"- [{reason.code}] {reason.message[lang]}" for reason in (*decision.reasons, *decision.warnings)]
    lines += [consequence_line(c, lang) for c in decision.consequences]
    for path, value in decision.values.items():
        label = compiled.defines[path].label[lang]
        lines.append(f"{label} = {compiled.show(path, value, lang)}")  # with its unit, as messages show it
    return lines + list(unresolved_lines(decision, compiled, lang))


MAX_FACTS_BYTES = 64 * 1024 * 1024
"""A facts file (or standard input) larger than this is refused: one record's facts are kilobytes."""


def _read_facts(path: str) -> str:
    from policydsl.source import read_bytes, read_limited, unreadable_reason

    try:
        data = read_limited(sys.stdin.buffer, MAX_FACTS_BYTES, path) if path == "-" else read_bytes(path, MAX_FACTS_BYTES)
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyDslError("E.unreadable", path=path, reason=unreadable_reason(exc)) from None


COMMANDS = [eval_]
