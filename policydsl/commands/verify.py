"""`policydsl verify [POLICY…]`: prove the properties of a rule book or print counterexamples (the [verify] extra).

Exit 0 when every property is proved, 1 when one fails or stays undecided (its step limit, `--steps`,
or its time limit, `--timeout`, reached included), 2 for bad usage.
A counterexample is a facts JSON object and a date; `policydsl eval` reproduces it (the command
line to do so is printed, and `--out DIR` writes the facts files).
"""
from __future__ import annotations

import json
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click

from policydsl import i18n
from policydsl.commands.common import LANG, existing, guarded, help_text, lang_of
from policydsl.errors import PolicyDslError

STRINGS: dict[str, tuple[str, str]] = {
    "heading": ("{title}（{policy}）", "{title} ({policy})"),
    "status.proved": ("已证明", "proved"),
    "status.failed": ("不成立", "FAILED"),
    "status.unknown": ("未判定", "UNKNOWN"),
    "status.vacuous": ("空洞", "VACUOUS"),
    "vacuous": ("      前提在任何事实和日期下都不成立：这个 property 什么也没有证明",
                "      no facts on any day satisfy the premise: the property proves nothing"),
    "line": ("  {mark} {status}  {name}：{label}（{seconds} 秒）", "  {mark} {status}  {name}: {label} ({seconds} s)"),
    "counterexample": ("      反例：{at} 的事实", "      counterexample: these facts on {at}"),
    "decision": ("      决策：{outcome}", "      decision: {outcome}"),
    "reason": ("        - [{code}] {message}", "        - [{code}] {message}"),
    "value": ("        {label} = {value}", "        {label} = {value}"),
    "decision_error": ("      决策出错：{message}", "      the decision fails: {message}"),
    "book_part": ("      {policy} 的决策：{outcome}", "      decision of {policy}: {outcome}"),
    "book_error": ("      {policy} 的决策出错：{message}", "      the decision of {policy} fails: {message}"),
    "claim_error": ("      断言无法计算：{message}", "      the claim cannot be computed: {message}"),
    "claim_false": ("      断言为假：{claim}", "      the claim is false: {claim}"),
    "reproduce": ("      复现：{command}", "      reproduce: {command}"),
    "written": ("      事实文件：{path}", "      facts file: {path}"),
    "unknown": ("      原因：{reason}", "      why: {reason}"),
    "no_properties": ("没有 property 的政策：{policies}", "policies with no property: {policies}"),
    "summary": ("{policies} 条政策，{total} 个 property：{proved} 个已证明，{failed} 个不成立，{unknown} 个未判定，{vacuous} 个空洞（{seconds} 秒）",
                "{policies} policies, {total} properties: {proved} proved, {failed} failed, {unknown} undecided, {vacuous} vacuous ({seconds} s)"),
    "E.no_such_property": ("没有名为 `{name}` 的 property", "no property named `{name}`"),
    "E.timeout": ("时间上限应为正的秒数，而不是 `{value}`",
                  "the time limit must be a positive number of seconds, not `{value}`"),
    "E.steps": ("求解步数上限应为正整数，而不是 `{value}`", "the step limit must be a positive whole number, not `{value}`"),
}
s = i18n.register("verify", STRINGS)
MARKS = {"proved": "✓", "failed": "✗", "unknown": "?", "vacuous": "!"}



@click.command("verify", help=help_text("verify"))
@click.argument("policies", nargs=-1)
@click.option("--policies", "policies_dir", default="policies", type=click.Path(), show_default=True,
              help=help_text("verify.policies"))
@click.option("--property", "names", multiple=True, metavar="NAME",
              help=help_text("verify.property"))
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help=help_text("verify.out"))
@click.option("--steps", "steps_text", default=None, metavar="N",
              help=help_text("verify.steps"))
@click.option("--timeout", "timeout_text", default=None, metavar="SECONDS",
              help=help_text("verify.timeout"))
@click.option("--json", "as_json", is_flag=True, help=help_text("verify.json"))
@click.option("--report", "report_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help=help_text("verify.report"))
@LANG
@guarded
def verify(policies: tuple[str, ...], policies_dir: str, names: tuple[str, ...], out_dir: str | None,
           steps_text: str | None, timeout_text: str | None, as_json: bool, report_file: str | None,
           lang: str | None) -> None:
    from policydsl.loader import load
    from policydsl.verify import BOOK_POLICY, verify_book, verify_policy
    from policydsl.verify.engine import Limits

    lang = lang_of(lang)
    limits = Limits(**parse_limits(steps_text, timeout_text, lang))
    existing(policies_dir)
    started = time.monotonic()
    book = load(policies_dir)
    # `book` (or no policy named) is the book properties: those outside any policy
    with_book = not policies or BOOK_POLICY in policies
    ids = [book.find(p).id for p in policies if p != BOOK_POLICY] if policies else list(book.model.policies)
    known = {prop.name.value for pid in ids for prop in book.model.policies[pid].properties}
    if with_book:
        known |= {p.name for p in book.model.book_properties}
    for name in names:
        if name not in known:
            raise PolicyDslError("verify.E.no_such_property", name=name)
    results = {pid: verify_policy(book, pid, names or None, limits) for pid in ids}
    if with_book and book.model.book_properties:
        results[BOOK_POLICY] = verify_book(book, names or None, limits)
    seconds = time.monotonic() - started
    files = _write_counterexamples(results, out_dir) if out_dir else {}
    report = json.dumps(_to_json(book, results, files, seconds, limits), ensure_ascii=False, indent=2)
    if report_file is not None:  # the JSON report beside the text one, from the same proofs (a CI artefact)
        from policydsl.fsutil import write_atomic

        write_atomic(report_file, report + "\n")
    if as_json:
        click.echo(report)
    else:
        click.echo(_render(book, results, files, policies_dir, seconds, lang, show_empty=not names))
    every = [r for rs in results.values() for r in rs]
    sys.exit(0 if all(r.status == "proved" for r in every) else 1)


def parse_limits(steps_text: str | None, timeout_text: str | None, lang: str) -> dict[str, Any]:
    """`--steps` (a positive whole number of z3 resource steps) and `--timeout` (a positive, finite
    number of seconds) as the fields of `verify.engine.Limits` they override; read here, not by click,
    so the message is in the user's language, and without the solver (`diff --no-prove` needs none)."""
    limits: dict[str, Any] = {}
    if steps_text is not None:
        text = steps_text.strip().replace("_", "")
        if not (text.isascii() and text.isdigit() and int(text) > 0):
            raise click.BadParameter(s("E.steps", lang, value=steps_text), param_hint="'--steps'")
        limits["steps"] = int(text)
    if timeout_text is not None:
        try:
            value = float(timeout_text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise click.BadParameter(s("E.timeout", lang, value=timeout_text), param_hint="'--timeout'")
        limits["seconds"] = value
    return limits


def _write_counterexamples(results, out_dir: str) -> dict[tuple[str, str], str]:
    from policydsl.fsutil import os_reason, write_atomic

    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, a read-only filesystem: exit 2, as any write we cannot make
        raise PolicyDslError("E.write", path=out_dir, reason=os_reason(exc)) from None
    files = {}
    for pid, rs in results.items():
        for r in rs:
            if r.witness is not None:
                path = folder / f"{pid}.{r.name}.json"
                write_atomic(path, json.dumps(r.witness.facts, ensure_ascii=False, indent=2) + "\n")
                files[(pid, r.name)] = str(path)
    return files


def _reproduce(pid: str, result, policies_dir: str, files: dict, lang: str) -> list[str]:
    """The facts file written for a counterexample (if any) and the `policydsl eval` command that reproduces it."""
    target = "--book" if pid == "book" else shlex.quote(pid)  # a book property: the whole-book decision
    rest = f"--at {result.witness.at.isoformat()} --policies {shlex.quote(policies_dir)}"
    if (pid, result.name) in files:
        command = f"policydsl eval {target} --facts {shlex.quote(files[(pid, result.name)])} {rest}"
        return [s("written", lang, path=files[(pid, result.name)]), s("reproduce", lang, command=command)]
    facts = json.dumps(result.witness.facts, ensure_ascii=False, separators=(",", ":"))
    return [s("reproduce", lang, command=f"echo {shlex.quote(facts)} | policydsl eval {target} --facts - {rest}")]


def _render(book, results, files, policies_dir: str, seconds: float, lang: str, show_empty: bool) -> str:
    lines: list[str] = []
    counts = {"proved": 0, "failed": 0, "unknown": 0, "vacuous": 0}
    empty = []
    for pid, rs in results.items():
        if pid == "book":
            lines += _render_book(book, rs, files, policies_dir, lang, counts)
            continue
        policy = book.model.policies[pid]
        if not policy.properties:
            empty.append(pid)
            continue
        if not rs:
            continue
        compiled = book.compiled[pid]
        lines.append(s("heading", lang, title=policy.title.get(lang), policy=pid))
        for r in rs:
            lines += _result_lines(r, lang, counts)
            if r.witness is None:
                continue
            check = r.check
            if check is not None and check.decision is not None:
                d = check.decision
                lines.append(s("decision", lang, outcome=i18n.t(f"outcome.{d.outcome}", lang)))
                lines += [s("reason", lang, code=r.code, message=r.message[lang]) for r in (*d.reasons, *d.warnings)]
                lines += [s("value", lang, label=compiled.defines[path].label[lang],
                            value=compiled.show(path, value, lang)) for path, value in d.values.items()]
            if check is not None and check.decision_error is not None and check.decision is None:
                lines.append(s("decision_error", lang, message=check.decision_error.message(lang)))
            elif check is not None and check.claim_error is not None:
                lines.append(s("claim_error", lang, message=check.claim_error.message(lang)))
            else:
                prop = next(p for p in policy.properties if p.name.value == r.name)
                lines.append(s("claim_false", lang, claim=prop.claim.span.text))
            lines += _reproduce(pid, r, policies_dir, files, lang)
        lines.append("")
    if empty and show_empty:
        lines.append(s("no_properties", lang, policies=", ".join(empty)))
    total = sum(counts.values())
    lines.append(s("summary", lang, policies=len([p for p in results if p != "book"]), total=total, seconds=f"{seconds:.1f}", **counts))
    return "\n".join(lines)


def _result_lines(r, lang: str, counts: dict) -> list[str]:
    """One property's status line (counted), why it is undecided or vacuous, and its counterexample's
    day and facts: what the report shows alike for a policy's property and a book property."""
    counts[r.status] += 1
    lines = [s("line", lang, mark=MARKS[r.status], status=s(f"status.{r.status}", lang), name=r.name,
               label=r.label[lang], seconds=f"{r.seconds:.2f}")]
    if r.status == "unknown" and r.reason:
        lines.append(s("unknown", lang, reason=r.reason[lang]))
    if r.status == "vacuous":
        lines.append(s("vacuous", lang))
    if r.witness is not None:
        lines.append(s("counterexample", lang, at=r.witness.at.isoformat()))
        text = json.dumps(r.witness.facts, ensure_ascii=False, indent=2)
        lines += ["        " + line for line in text.splitlines()]
    return lines


def _render_book(book, rs, files, policies_dir: str, lang: str, counts: dict) -> list[str]:
    """The book properties' part of the report: a counterexample shows each named policy's part."""
    lines = [s("heading", lang, title=i18n.t("book.title", lang), policy="book")] if rs else []
    for r in rs:
        lines += _result_lines(r, lang, counts)
        if r.witness is None:
            continue
        check = r.check
        bprop = next(p for p in book.model.book_properties if p.name == r.name)
        if check is not None:
            for pid in bprop.policies:
                part = check.book.part(pid)
                if part.decision is not None:
                    lines.append(s("book_part", lang, policy=pid, outcome=i18n.t(f"outcome.{part.decision.outcome}", lang)))
                    lines += [s("reason", lang, code=r.code, message=r.message[lang])
                              for r in (*part.decision.reasons, *part.decision.warnings)]
            if check.decision_error is not None:
                lines.append(s("book_error", lang, policy=check.failed_policy, message=check.decision_error.message(lang)))
            elif check.claim_error is not None:
                lines.append(s("claim_error", lang, message=check.claim_error.message(lang)))
            else:
                lines.append(s("claim_false", lang, claim=bprop.decl.claim.span.text))
        lines += _reproduce("book", r, policies_dir, files, lang)
    return lines + [""] if rs else lines


def _book_counterexample(book, r) -> dict:
    check = r.check
    bprop = next(p for p in book.model.book_properties if p.name == r.name)
    return {
        "policies": [check.book.part(pid).to_dict() for pid in bprop.policies] if check else None,
        "failed_policy": check.failed_policy if check else None,
        "claim_error": _both(check.claim_error) if check and check.claim_error else None,
    }


def _policy_counterexample(check) -> dict:
    return {"decision": check.decision.to_dict() if check and check.decision else None,
            "decision_error": _both(check.decision_error) if check and check.decision_error and not check.decision
            else None,
            "claim_error": _both(check.claim_error) if check and check.claim_error else None}


def _both(error: PolicyDslError) -> dict[str, str]:
    """An error's message in every language, as --json prints it."""
    return {lang: error.message(lang) for lang in i18n.LANGS}


def _to_json(book, results, files, seconds: float, limits) -> dict:
    out = []
    counts = {"proved": 0, "failed": 0, "unknown": 0, "vacuous": 0}
    book_items = None
    for pid, rs in results.items():
        items = []
        for r in rs:
            counts[r.status] += 1
            item = {"name": r.name, "label": r.label, "status": r.status, "seconds": round(r.seconds, 3),
                    "steps": r.steps, "reason": r.reason, "limit": r.limit, "timed_out": r.limit == "seconds",
                    "counterexample": None}
            if r.witness is not None:
                found = _book_counterexample(book, r) if pid == "book" else _policy_counterexample(r.check)
                item["counterexample"] = {"facts": r.witness.facts, "at": r.witness.at.isoformat(),
                                          "file": files.get((pid, r.name)), **found}
            items.append(item)
        if pid == "book":  # the book properties: a list of their own beside the policies
            book_items = items
            continue
        out.append({"policy": pid, "properties": items})
    summary = {**counts, "total": sum(counts.values()), "seconds": round(seconds, 3), "timeout": limits.seconds,
               "steps": sum(r.steps for rs in results.values() for r in rs), "step_limit": limits.steps}
    return {"policies": out, **({"book": book_items} if book_items is not None else {}), "summary": summary}


COMMANDS = [verify]
