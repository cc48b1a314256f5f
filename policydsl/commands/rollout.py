"""`policydsl rollout`: simulate a policy's rollouts day by day over a synthetic population of stable ids."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import click

from policydsl.commands.common import LANG, NO_SUCH_PATH, guarded, lang_of
from policydsl.errors import PolicyDslError
from policydsl.simulate import (DEFAULT_POPULATION, DEFAULT_PREFIX, SimulationError, render_svg, render_table, s,
                                select_rollouts, simulate, to_records)


def _parse_date(text: str) -> dt.date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SimulationError("E.bad_date", value=text) from None


@click.command("rollout")
@click.argument("policy")
@click.option("--rollout", "rollout_name", metavar="NAME",
              help="只模拟这一个灰度放开（名称或标签） / simulate only this rollout (name or label)")
@click.option("--from", "start_text", required=True, metavar="YYYY-MM-DD", help="起始日期 / first day")
@click.option("--to", "end_text", required=True, metavar="YYYY-MM-DD", help="结束日期（含） / last day (inclusive)")
@click.option("--population", type=int, default=DEFAULT_POPULATION, show_default=True,
              help="模拟 ID 的数量 / number of simulated ids")
@click.option("--seed-prefix", default=DEFAULT_PREFIX, show_default=True,
              help="模拟 ID 的前缀（ID 为 前缀+六位序号） / prefix of the simulated ids (prefix + six-digit index)")
@click.option("--svg", "svg_path", type=click.Path(dir_okay=False),
              help="把图表写入 SVG 文件 / write the chart to this SVG file")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON / print JSON")
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True,
              help="政策文件夹 / folder of policies")
@LANG
@guarded
def rollout(policy: str, rollout_name: str | None, start_text: str, end_text: str, population: int,
            seed_prefix: str, svg_path: str | None, as_json: bool, policies_dir: str, lang: str | None) -> None:
    """逐日模拟灰度放开的阶段、目标份额与覆盖比例 / simulate a rollout day by day: phase, target and covered share."""
    from policydsl.loader import load

    lang = lang_of(lang)
    if population < 1:
        raise click.BadParameter(s("E.population", lang, value=population), param_hint="'--population'")
    start, end = _parse_date(start_text), _parse_date(end_text)
    # simulate() raises the same error, but only after the policy is loaded and found: checking here keeps a bad
    # range reported first (before an unknown policy, a missing folder or a policy without rollouts).
    if start > end:
        raise SimulationError("E.range", start=start.isoformat(), end=end.isoformat())
    if not Path(policies_dir).exists():
        raise PolicyDslError("E.unreadable", path=policies_dir, reason=NO_SUCH_PATH)
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
