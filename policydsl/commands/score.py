"""`policydsl score`: decide every record of a file with one or more policies on DuckDB (or, with
`--engine spark`, on Apache Spark: policydsl.score.spark_backend), and write one row per record and policy
(policydsl.score.files). A record that cannot be decided gets its error code in the
`error` column and the batch goes on; the counts per policy and outcome or error are printed at the end."""
from __future__ import annotations

from typing import Any

import click

from policydsl import i18n
from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of
from policydsl.errors import PolicyDslError

STRINGS: dict[str, tuple[str, str]] = {
    "engine": ("运行评分的引擎：duckdb（内嵌，默认）或 spark（pyspark，需安装 policydsl[spark] 与 Java 17+）",
               "engine that runs the plan: duckdb (embedded, the default) or spark (pyspark: needs policydsl[spark] "
               "and Java 17+)"),
    "spark_master": ("Spark 主节点 URL（local[N]、spark://…、yarn、k8s://…；默认 local[2]，或 spark-submit 给的），需 --engine spark",
                     "Spark master URL (local[N], spark://…, yarn, k8s://…; default local[2], or spark-submit's); "
                     "needs --engine spark"),
}
i18n.register("help.score", STRINGS)
USAGE: dict[str, tuple[str, str]] = {
    "master_without_spark": ("--spark-master 需要 --engine spark", "--spark-master needs --engine spark"),
}
usage = i18n.register("score.cli", USAGE)


@click.command("score", help=help_text("score"))
@click.argument("policies", nargs=-1, required=True)
@click.option("--input", "input_path", required=True, metavar="FILE", help=help_text("score.input"))
@click.option("--out", "out_path", required=True, metavar="FILE", help=help_text("score.out"))
@click.option("--at", "at_text", metavar="YYYY-MM-DD", help=help_text("score.at"))
@click.option("--key", "keys", multiple=True, metavar="COLUMN", help=help_text("score.key"))
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help=help_text("score.engine"))
@click.option("--spark-master", "spark_master", metavar="URL", help=help_text("score.spark_master"))
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True,
              help=help_text("score.policies"))
@LANG
@guarded
def score(policies: tuple[str, ...], input_path: str, out_path: str, at_text: str | None, keys: tuple[str, ...],
          engine: str, spark_master: str | None, policies_dir: str, lang: str | None) -> None:
    from policydsl.commands.eval import _parse_date
    from policydsl.loader import load
    from policydsl.runtime.calendar import today_in_shanghai
    from policydsl.score import files

    lang = lang_of(lang)
    if spark_master is not None and engine != "spark":
        raise click.UsageError(usage("master_without_spark", lang))
    at = _parse_date(at_text) if at_text is not None else today_in_shanghai()
    files.file_format(input_path)  # an unknown extension is refused before the book is loaded
    files.file_format(out_path)
    existing(policies_dir)
    book = load(policies_dir)  # the whole checked model: a cached book holds only the compiled policies
    ids = [book.find(policy).id for policy in policies]
    if engine == "spark":
        counts = spark_score_file()(book.model, ids, input_path, out_path, at, tuple(keys), spark_master)
    else:
        counts = files.score_file(book.model, ids, input_path, out_path, at, tuple(keys))
    for line in files.summary(counts, lang):
        click.echo(line)
    click.echo(files.s("written", lang, rows=sum(sum(c.values()) for c in counts.values()), path=out_path), err=True)



def spark_score_file() -> Any:
    """spark_backend.score_file; pyspark missing: the `spark` extra named (pyspark is no extra of `all`)."""
    try:
        from policydsl.score import spark_backend
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "pyspark":
            raise
        raise PolicyDslError("E.missing_extra", command="score --engine spark", module="pyspark", extra="spark") from None
    return spark_backend.score_file


COMMANDS = [score]
