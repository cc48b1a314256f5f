"""The command line: thin faces over the API (check, eval, test); exit codes 0 ok, 1 problem found, 2 bad input."""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import click

from policydsl import i18n
from policydsl.errors import InternalError, PolicyDslError
from policydsl.loader import PolicyLoadError, analyse, load, policy_files, with_shared

LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
                    help="输出语言 / output language (default: POLICYDSL_LANG or the locale)")


NO_SUCH_PATH = i18n.both("E.no_path")
NOT_A_FOLDER = {"zh": "不是文件夹", "en": "not a directory"}


def _lang(value: str | None) -> str:
    return value or i18n.default_lang()


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn author and input errors into messages and exit codes; never show a traceback for them."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        lang = _lang(kwargs.get("lang"))
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:  # `policydsl … | head`: the reader went away; not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except PolicyLoadError as exc:
            click.echo(_render_diagnostics(exc.diagnostics, lang), err=True)
            click.echo(exc.message(lang), err=True)
            sys.exit(2)
        except PolicyDslError as exc:
            click.echo(("错误：" if lang == "zh" else "error: ") + exc.message(lang), err=True)
            sys.exit(2)
        except (InternalError, Exception) as exc:  # noqa: BLE001 - the last guard
            if isinstance(exc, (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt)):
                raise
            if os.environ.get("POLICYDSL_DEBUG"):
                traceback.print_exc()
            msg = ("policydsl 内部错误（这是我们的缺陷，请报告）：" if lang == "zh"
                   else "policydsl internal error (our bug, please report it): ")
            click.echo(msg + f"{type(exc).__name__}: {exc}", err=True)
            click.echo("POLICYDSL_DEBUG=1 " + ("显示调用栈" if lang == "zh" else "shows the traceback"), err=True)
            sys.exit(3)
    return wrapper


def _render_diagnostics(diags, lang: str) -> str:
    from policydsl.diagnostics import DiagnosticBag

    return DiagnosticBag(list(diags)).render(lang)


class _LazyGroup(click.Group):
    """A click group whose tool commands (TOOL_COMMANDS) are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *TOOL_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in TOOL_COMMANDS:
            from importlib import import_module

            for command in getattr(import_module(TOOL_COMMANDS[name]), "COMMANDS", ()):
                self.commands.setdefault(command.name, command)
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="policydsl")
def main() -> None:
    """policydsl：用中文业务规则写成的政策即代码 / policy-as-code for rules written in Chinese business prose."""


# ------------------------------------------------------------------ check
@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--sources", "sources_dir", type=click.Path(file_okay=False),
              help="来源文件夹：逐字核对引文 / folder of source documents: verify quotes verbatim")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--info", "show_info", is_flag=True,
              help="同时列出信息（不算问题，例如没有被提到的枚举值） / also list notes (not problems, e.g. enum values nothing mentions)")
@click.option("--deep", "deep", is_flag=True,
              help="再用 SMT 求解器分析：永不触发的规则、不起作用的例外、与 deny 同时触发的 allow、文档之间的冲突 / "
                   "also run the SMT solver's analyses: rules that never fire, exceptions that never act, allows that "
                   "meet denies, conflicts between documents")
@LANG
@guarded
def check(paths: tuple[str, ...], sources_dir: str | None, fmt: str, show_info: bool, deep: bool,
          lang: str | None) -> None:
    """解析、类型检查并分析政策 / parse, type-check and analyse policies."""
    lang = _lang(lang)
    targets = list(paths) or ["policies"]
    for target in targets:
        if not Path(target).exists():
            raise PolicyDslError("E.unreadable", path=target, reason=NO_SUCH_PATH)
    if sources_dir is not None and not Path(sources_dir).is_dir():
        raise PolicyDslError("E.unreadable", path=sources_dir, reason=NOT_A_FOLDER)
    files = with_shared(policy_files(targets))
    if not files:
        raise PolicyDslError("E.no_policies", path=", ".join(targets))
    analysis = analyse(files, sources_dir=Path(sources_dir) if sources_dir else None, deep=deep)
    problems = [d for d in analysis.diagnostics if d.is_problem]
    errors = sum(d.severity == "error" for d in problems)
    warnings = len(problems) - errors
    # `info` notes are never problems: not counted, and shown only when asked for, except that `--deep`
    # always lists the conflicts between documents the book resolves or keeps as known
    from policydsl.verify.conflicts import NOTES as CONFLICT_NOTES

    notes = [d for d in analysis.diagnostics if not d.is_problem and d.code in CONFLICT_NOTES]
    if show_info:
        from policydsl.semantics.analyses import notes as model_notes

        notes = [*(d for d in analysis.diagnostics if not d.is_problem), *model_notes(analysis.model)]
    if fmt == "json":
        from policydsl.diagnostics import DiagnosticBag

        click.echo(json.dumps([d.to_dict() for d in DiagnosticBag([*problems, *notes]).sorted()],
                              ensure_ascii=False, indent=2))
    else:
        # problems first, then notes: many notes never push a problem past the display cap
        blocks = [_render_diagnostics(block, lang) for block in (problems, notes) if block]
        if blocks:
            click.echo("\n\n".join(blocks))
        if errors or warnings:
            click.echo(i18n.t("summary.problems", lang, errors=errors, warnings=warnings))
        else:
            policies = len(analysis.model.policies) if analysis.model else 0
            click.echo(i18n.t("summary.clean", lang, files=len(files), policies=policies))
        if notes:
            click.echo(i18n.t("summary.notes", lang, count=len(notes)))
    unreadable = any(d.code == "P0104" for d in problems)  # unreadable input: exit 2, as every command
    sys.exit(2 if unreadable else 1 if errors else 0)


# ------------------------------------------------------------------ eval
@main.command("eval")
@click.argument("policy", required=False)
@click.option("--book", is_flag=True, help="评估整本规则书：每条生效且适用于该记录的政策 / decide every policy in force "
                                           "that applies to the record")
@click.option("--facts", "facts_path", required=True, help="事实 JSON 文件，或 - 表示标准输入 / facts JSON file, or - for stdin")
@click.option("--at", "at_text", help="评估日期 YYYY-MM-DD（默认上海今日） / evaluation date (default: today in Shanghai)")
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True)
@LANG
@click.option("--json", "as_json", is_flag=True, help="输出决策 JSON / print the decision as JSON")
@click.option("--explain", is_flag=True, help="打印每条规则的判断过程 / print the trace of every rule")
@click.option("--ignore-unknown", is_flag=True,
              help="忽略规则库不认识的字段（例如数据仓库导出的其他列） / skip fields the rule book does not know "
                   "(e.g. other columns of a warehouse export)")
@guarded
def eval_(policy: str | None, book: bool, facts_path: str, at_text: str | None, policies_dir: str, lang: str | None,
          as_json: bool, explain: bool, ignore_unknown: bool) -> None:
    """在某日依据事实评估政策（或用 --book 评估整本规则书） / evaluate a policy (or with --book the whole book)
    against facts on a date."""
    from policydsl.runtime.calendar import today_in_shanghai
    from policydsl.runtime.explain import explain as render_explain
    from policydsl.runtime.facts import loads

    lang = _lang(lang)
    try:
        if book == (policy is not None):
            raise PolicyDslError("E.eval_target")
        at = _parse_date(at_text) if at_text is not None else today_in_shanghai()
        facts = loads(_read_facts(facts_path))
        if not Path(policies_dir).exists():
            raise PolicyDslError("E.unreadable", path=policies_dir, reason=NO_SUCH_PATH)
        policy_set = load(policies_dir)
        if book:
            whole = policy_set.evaluate_all(facts, at, trace=explain, ignore_unknown=ignore_unknown)
        else:
            decision = policy_set.evaluate(policy, facts, at, ignore_unknown=ignore_unknown)
    except PolicyDslError as exc:
        if not as_json:
            raise
        click.echo(json.dumps(exc.to_dict(), ensure_ascii=False, indent=2))  # errors are data: one object on stdout
        sys.exit(2)
    if book:
        _print_book(whole, policy_set, lang, as_json, explain)
        sys.exit(2 if whole.errors else 0)  # a policy the record cannot be decided for: bad input, as in `eval`
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
    from policydsl.runtime.explain import explain as render_explain

    if explain:
        for part in whole.parts:
            if part.decision is not None:
                click.echo(render_explain(part.decision, policy_set.compiled[part.policy], lang), err=as_json)
    if as_json:
        click.echo(json.dumps(whole.to_dict(), ensure_ascii=False, indent=2))
        return
    if explain:
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
    from policydsl.runtime.explain import conflict_line

    for conflict in whole.conflicts:
        click.echo("  " + conflict_line(conflict, lang))
    summary = whole.summary
    click.echo(i18n.t("book.summary", lang, **{k: len(summary[k]) for k in
                                               ("denied", "allowed", "not_applicable", "not_in_force", "errors")}))


def _decision_lines(decision: Any, compiled: Any, lang: str) -> list[str]:
    """A decision's reasons, warnings, values and the values it could not compute, as `eval` prints them."""
    from policydsl.runtime import values as rv
    from policydsl.runtime.explain import consequence_line, unresolved_lines

    lines = [f"- [{reason.code}] {reason.message[lang]}" for reason in (*decision.reasons, *decision.warnings)]
    lines += [consequence_line(c, lang) for c in decision.consequences]
    for path, value in decision.values.items():
        label = compiled.defines[path].label[lang]
        lines.append(f"{label} = {rv.display(compiled.value_kinds[path], value, lang, compiled.labeler(path))}")
    return lines + list(unresolved_lines(decision, compiled, lang))


def _parse_date(text: str) -> dt.date:
    try:
        from policydsl.runtime.facts import DATE_TEXT  # one rule for --at and date facts

        if not DATE_TEXT.fullmatch(text):  # fromisoformat also takes 20231220 and 2023-W51-3
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PolicyDslError("E.bad_date", value=text) from None


MAX_FACTS_BYTES = 64 * 1024 * 1024
"""A facts file (or standard input) larger than this is refused: one record's facts are kilobytes."""


def _read_facts(path: str) -> str:
    from policydsl.source import read_bytes, read_limited, unreadable_reason

    try:
        data = read_limited(sys.stdin.buffer, MAX_FACTS_BYTES, path) if path == "-" else read_bytes(path, MAX_FACTS_BYTES)
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyDslError("E.unreadable", path=path, reason=unreadable_reason(exc)) from None


# ------------------------------------------------------------------ test
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("features", nargs=-1, type=click.Path())
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True)
@click.option("-k", "keyword", help="只运行名称匹配的场景 / run only scenarios matching this expression")
@click.option("-q", "quiet", is_flag=True, help="安静输出 / quieter output")
@click.option("--coverage", "coverage", type=click.FloatRange(0, 100), default=None, metavar="PCT",
              help="报告各政策的规则覆盖率，低于 PCT% 即失败 / report rule coverage per policy; fail below PCT%")
@LANG
@guarded
def test(features: tuple[str, ...], policies_dir: str, keyword: str | None, quiet: bool, coverage: float | None,
         lang: str | None) -> None:
    """运行 Gherkin 特性文件（底层为 pytest-bdd） / run Gherkin features (pytest-bdd underneath)."""
    import pytest

    lang = _lang(lang)
    targets = list(features) or ["features"]
    for target in targets:
        if not Path(target).exists():
            raise PolicyDslError("E.unreadable", path=target, reason=NO_SUCH_PATH)
    if not Path(policies_dir).exists():  # otherwise every scenario would fail (exit 1) instead of exit 2
        raise PolicyDslError("E.unreadable", path=policies_dir, reason=NO_SUCH_PATH)
    args = [*targets, f"--policies={policies_dir}", f"--policydsl-lang={lang}", "-p", "no:cacheprovider",
            "--rootdir", os.getcwd(), "-o", "python_files=__no_python_tests__.py", "-o", "testpaths=",
            "-o", "disable_test_id_escaping_and_forfeit_all_rights_to_community_support=true"]
    args += ["-q"] if quiet else ["-v"]
    if keyword:
        args += ["-k", keyword]
    if coverage is not None:
        args += [f"--policydsl-coverage={coverage:g}"]
    code = pytest.main(args)
    sys.exit({0: 0, 1: 1, 5: 1}.get(int(code), 2))


# ------------------------------------------------------------------ inventory
@main.command()
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True)
@click.option("--features", "features_dir", default="features", type=click.Path(), show_default=True)
@click.option("--inventory", "inventory_file", type=click.Path(dir_okay=False),
              help="来源清单 INVENTORY.md：列出未编码的编号 / the source inventory: also list ids not encoded")
@click.option("--update", "update_file", type=click.Path(dir_okay=False),
              help="改写该文件中 inventory 标记之间的表格 / rewrite the table between the inventory markers of this file")
@click.option("--check", "check_file", type=click.Path(dir_okay=False),
              help="该文件中的表格过期则失败 / fail when the table in this file is stale")
@click.option("--strict", is_flag=True, help="有编号未编码、未测试或 ⚠ 未解决则失败 / fail when an id is missing, untested or an unresolved ⚠")
@LANG
@guarded
def inventory(policies_dir: str, features_dir: str, inventory_file: str | None, update_file: str | None,
              check_file: str | None, strict: bool, lang: str | None) -> None:
    """来源编号 → 政策 → 规则 → 场景的追溯表 / the traceability table: inventory id → policy → rules → scenarios."""
    from policydsl import inventory as inv
    from policydsl.fsutil import os_reason, write_atomic

    lang = _lang(lang)
    book = load(policies_dir)
    rows = inv.build(book.model, Path(features_dir), Path(inventory_file) if inventory_file else None)
    table = inv.markdown(rows)
    code = 0
    for target, writing in ((update_file, True), (check_file, False)):
        if target is None:
            continue
        try:
            current = Path(target).read_text(encoding="utf-8")
            fresh = inv.replace_block(current, table)
        except (OSError, ValueError) as exc:
            text = os_reason(exc) if isinstance(exc, OSError) else str(exc)
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


# ------------------------------------------------------------------ docs
@main.command()
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True)
@click.option("--features", "features_dir", default="features", type=click.Path(), show_default=True,
              help="特性文件夹：场景作为手册中的示例 / folder of features: their scenarios become worked examples")
@click.option("--out", "out_dir", default="generated_docs", type=click.Path(), show_default=True,
              help="手册文件夹，每次整体替换 / the handbook folder, replaced as a whole on every render")
@click.option("--lang", "langs", default="zh,en", show_default=True,
              help="渲染的语言，逗号分隔 / languages to render, comma-separated")
@click.option("--check", "check_only", is_flag=True,
              help="手册过期、缺少或多出文件则失败，不写入 / fail when a file is stale, missing or extra; write nothing")
@guarded
def docs(policies_dir: str, features_dir: str, out_dir: str, langs: str, check_only: bool) -> None:
    """渲染中英双语规则手册（Markdown 与 HTML） / render the bilingual rule handbook (Markdown and HTML)."""
    from policydsl import docs as handbook
    from policydsl.docs.strings import s

    lang = i18n.default_lang()
    chosen = tuple(dict.fromkeys(x.strip() for x in langs.split(",") if x.strip()))
    if not chosen or any(x not in handbook.LANGS for x in chosen):
        raise click.BadParameter(s("cli.bad_lang", lang, value=langs), param_hint="--lang")
    for target in (policies_dir, features_dir):
        if not Path(target).exists():
            raise PolicyDslError("E.unreadable", path=target, reason=NO_SUCH_PATH)
    book = load(policies_dir)
    files = handbook.render(book, features=Path(features_dir), policies_dir=policies_dir, langs=chosen)
    if check_only:
        differences = handbook.check(Path(out_dir), files)
        for diff in differences:
            click.echo(f"{s(f'cli.{diff.status}', lang)}: {Path(out_dir, diff.path).as_posix()}", err=True)
        click.echo(s("cli.stale_summary" if differences else "cli.fresh", lang, out=out_dir, count=len(differences)),
                   err=bool(differences))
        sys.exit(1 if differences else 0)
    count = handbook.write(Path(out_dir), files)  # its refusals and OS failures are PolicyDslErrors (exit 2)
    click.echo(s("cli.written", lang, out=out_dir, count=count))


# ------------------------------------------------------------------ commands in their own modules
# Imported only when one of their commands runs (or for --help), so `policydsl check` does not pay
# for the language server, the formatter or the simulators at start-up.
TOOL_COMMANDS = {
    "fmt": "policydsl.formatter", "lsp": "policydsl.lsp", "explain-code": "policydsl.authoring",
    "init": "policydsl.authoring", "rollout": "policydsl.simulate", "diff": "policydsl.diff",
    "verify": "policydsl.verify.command",
}


if __name__ == "__main__":  # pragma: no cover
    main()
