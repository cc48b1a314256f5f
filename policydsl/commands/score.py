"""`policydsl score`: decide every record of a file with one or more policies (or the whole book) on DuckDB (or,
with `--engine spark`, on Apache Spark: policydsl.score.spark_backend), and write one row per record and policy
(policydsl.score.files). A record that cannot be decided gets its error code in the `error` column and the
batch goes on; the counts per policy and outcome or error are printed at the end. On a terminal a progress
bar follows a DuckDB run; in a pipe it stays quiet."""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Callable

import click

from policydsl import i18n
from policydsl.commands.common import existing, guarded, help_text, lang_of, languages, parse_date
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
    "summary_needs_book": ("--summary 需要 --book（且目前只用 DuckDB）", "--summary needs --book (and DuckDB, for now)"),
    "master_without_spark": ("--spark-master 需要 --engine spark", "--spark-master needs --engine spark"),
    "summary_same": ("--summary 须是与 --out、--input 不同的文件", "--summary must name a file other than --out's and --input's"),
}
usage = i18n.register("score.cli", USAGE)


@click.command("score", help=help_text("score"))
@click.argument("policies", nargs=-1)
@click.option("--book", is_flag=True, help=help_text("score.book"))
@click.option("--summary", "summary_path", metavar="FILE", help=help_text("score.summary"))
@click.option("--input", "input_path", required=True, metavar="FILE", help=help_text("score.input"))
@click.option("--out", "out_path", required=True, metavar="FILE", help=help_text("score.out"))
@click.option("--at", "at_text", metavar="YYYY-MM-DD", help=help_text("score.at"))
@click.option("--at-column", "at_column", metavar="COLUMN", help=help_text("score.at-column"))
@click.option("--key", "keys", multiple=True, metavar="COLUMN", help=help_text("score.key"))
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help=help_text("score.engine"))
@click.option("--spark-master", "spark_master", metavar="URL", help=help_text("score.spark_master"))
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True,
              help=help_text("score.policies"))
@click.option("--memory-limit", default="1GB", show_default=True, metavar="SIZE", help=help_text("score.memory-limit"))
@click.option("--progress/--no-progress", default=None, help=help_text("score.progress"))
@click.option("--lang", "langs", metavar="zh,en", help=help_text("score.lang"))
@guarded
def score(policies: tuple[str, ...], book: bool, summary_path: str | None, input_path: str, out_path: str, at_text: str | None,
          at_column: str | None, keys: tuple[str, ...], engine: str, spark_master: str | None, policies_dir: str,
          memory_limit: str, progress: bool | None, langs: str | None) -> None:
    from policydsl.loader import load
    from policydsl.runtime.calendar import today_in_shanghai
    from policydsl.score import files

    chosen = languages(langs, lang_of(None)) if langs is not None else ()
    lang = lang_of(chosen[0] if chosen else None)
    if bool(policies) == book:
        raise click.UsageError(i18n.t("score.policies_and_book", lang))
    if summary_path is not None and (not book or engine == "spark"):
        raise click.UsageError(usage("summary_needs_book", lang))
    if summary_path is not None and os.path.realpath(summary_path) in {os.path.realpath(p) for p in (out_path, input_path)}:
        raise click.UsageError(usage("summary_same", lang))  # one of the two files written would replace the other
    if at_text is not None and at_column is not None:
        raise click.UsageError(i18n.t("score.at_both", lang))
    if spark_master is not None and engine != "spark":
        raise click.UsageError(usage("master_without_spark", lang))
    at = None if at_column else parse_date(at_text) if at_text is not None else today_in_shanghai()
    files.file_format(input_path)  # an unknown extension is refused before the book is loaded
    files.file_format(out_path)
    if summary_path is not None:
        files.file_format(summary_path)
    existing(policies_dir)
    loaded = load(policies_dir)  # the whole checked model: a cached book holds only the compiled policies
    ids = sorted(loaded.model.policies) if book else [loaded.find(policy).id for policy in policies]
    if engine == "spark":
        counts = spark_score_file()(loaded.model, ids, input_path, out_path, at, tuple(keys), spark_master,
                                    at_column=at_column, whole_book=book, langs=chosen, policies_dir=policies_dir)
    else:
        shown = sys.stderr.isatty() if progress is None else progress
        with _bar(input_path) if shown else contextlib.nullcontext() as bar:
            counts = files.score_file(loaded, ids, input_path, out_path, at, tuple(keys), at_column=at_column,
                                      progress=_advance(bar) if bar is not None else None, whole_book=book,
                                      langs=chosen, memory_limit=memory_limit, summary_path=summary_path)
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


def _bar(label: str) -> Any:
    """A tqdm progress bar on standard error, in percent of the input DuckDB has read."""
    from tqdm import tqdm

    return tqdm(total=100, desc=label, unit="%", file=sys.stderr, bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}")


def _advance(bar: Any) -> Callable[[float], None]:
    """A progress callback (percent done) moving the bar to that point."""
    def move(done: float) -> None:
        step = int(done) - bar.n
        if step > 0:
            bar.update(step)
    return move


COMMANDS = [score]
