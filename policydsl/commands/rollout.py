"""`policydsl rollout`: simulate a policy's rollouts day by day over a synthetic population of stable ids."""
from __future__ import annotations

import json

import click

from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of, parse_date
from policydsl.simulate import (DEFAULT_POPULATION, DEFAULT_PREFIX, SimulationError, render_svg, render_table, s,
                                select_rollouts, simulate, to_records)


@click.command("rollout", help=help_text("rollout"))
@click.argument("policy")
@click.option("--rollout", "rollout_name", metavar="NAME",
              help=help_text("rollout.rollout"))
@click.option("--from", "start_text", required=True, metavar="YYYY-MM-DD", help=help_text("rollout.from"))
@click.option("--to", "end_text", required=True, metavar="YYYY-MM-DD", help=help_text("rollout.to"))
@click.option("--population", type=int, default=DEFAULT_POPULATION, show_default=True,
              help=help_text("rollout.population"))
@click.option("--seed-prefix", default=DEFAULT_PREFIX, show_default=True,
              help=help_text("rollout.seed-prefix"))
@click.option("--svg", "svg_path", type=click.Path(dir_okay=False),
              help=help_text("rollout.svg"))
@click.option("--json", "as_json", is_flag=True, help=help_text("rollout.json"))
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True,
              help=help_text("rollout.policies"))
@LANG
@guarded
def rollout(policy: str, rollout_name: str | None, start_text: str, end_text: str, population: int,
            seed_prefix: str, svg_path: str | None, as_json: bool, policies_dir: str, lang: str | None) -> None:
    from policydsl.loader import load

    lang = lang_of(lang)
    if population < 1:
        raise click.BadParameter(s("E.population", lang, value=population), param_hint="'--population'")
    start, end = parse_date(start_text, SimulationError), parse_date(end_text, SimulationError)
    # simulate() raises the same error, but only after the policy is loaded and found: checking here keeps a bad
    # range reported first (before an unknown policy, a missing folder or a policy without rollouts).
    if start > end:
        raise SimulationError("E.range", start=start.isoformat(), end=end.isoformat())
    existing(policies_dir)
    found = load(policies_dir).find(policy)
    sims = [simulate(decl, start, end, population=population, seed_prefix=seed_prefix)
            for decl in select_rollouts(found, rollout_name)]
    if svg_path is not None:
        from policydsl.fsutil import write_atomic

        write_atomic(svg_path, render_svg(found, sims, lang))  # a write it cannot make is a clear exit-2 error
    if as_json:
        click.echo(json.dumps(to_records(sims, lang), ensure_ascii=False, indent=2))
    else:
        click.echo(render_table(found, sims, lang))
        if svg_path is not None:
            click.echo(s("written", lang, path=svg_path), err=True)


COMMANDS = [rollout]
