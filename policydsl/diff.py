"""What a rule-book change does, proved and sampled (`policydsl diff OLD NEW [--sample FILE]`, in
policydsl.commands.diff).

For every policy in both versions the SMT solver either proves the two versions decide alike on
every fact set and day, or gives facts and a date on which they differ, confirmed by evaluating
both versions (policydsl/verify/equivalence.py). With a sample, every sample record is evaluated with both versions of each policy present in both; a decision changed
when its outcome, the set of its reason codes or its computed values differ (an evaluation that raises
a PolicyDslError has the outcome "error"). The report counts the old→new outcome pairs and shows a few
example records per kind of change. Exit 0 when nothing changed, 1 when a decision changed or a policy
was added or removed, or the solver found a difference or could not decide; 2 for unreadable input.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import io
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Sequence

import attrs

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.runtime.facts import exact_number, iso_date
from policydsl.source import read_bytes, unreadable_reason

# key -> (zh, en): every user-facing string of this command.
STRINGS: dict[str, tuple[str, str]] = {
    "heading": ("{title}（`{policy}`）：{records} 条记录，{changed} 条决策改变",
                "{title} (`{policy}`): {records} records, {changed} decisions changed"),
    "transition": ("  {change}：{count}", "  {change}: {count}"),
    "examples": ("  示例（{change}）：", "  examples ({change}):"),
    "example": ("    - {id} @ {at}：{old} → {new}", "    - {id} @ {at}: {old} → {new}"),
    "side.old": ("旧", "old"),
    "value": ("        计算值 {path}：{old} → {new}", "        value {path}: {old} → {new}"),
    "side.new": ("新", "new"),
    "not_computed": ("未能计算", "not computed"),
    "added": ("新增政策：{policy}", "added policy: {policy}"),
    "removed": ("删除政策：{policy}", "removed policy: {policy}"),
    "summary.same": ("没有决策改变", "no decision changed"),
    "summary.changed": ("共 {changed} 条决策改变", "{changed} decisions changed in all"),
    "proof.heading": ("求解器逐条政策比较（所有事实与日期）：", "the solver, policy by policy (every fact set and day):"),
    "proof.equivalent": ("  ✓ {policy}：决策等价（已证明）", "  ✓ {policy}: decides alike (proved)"),
    "proof.different": ("  ✗ {policy}：决策不同，例如 {at} 的事实 {facts}", "  ✗ {policy}: decides differently, e.g. {facts} on {at}"),
    "proof.change": ("      {old} → {new}（不同之处：{differs}）", "      {old} → {new} (differs in: {differs})"),
    "proof.unknown": ("  ? {policy}：未能判定（{reason}）", "  ? {policy}: undecided ({reason})"),
    "proof.incomparable": ("  ? {policy}：无法比较（{reason}）", "  ? {policy}: cannot be compared ({reason})"),
    "differs.outcome": ("结果", "outcome"),
    "differs.reasons": ("原因", "reasons"),
    "differs.values": ("计算值", "values"),
    "outcome.allow": ("允许", "allow"),
    "outcome.deny": ("拒绝", "deny"),
    "outcome.error": ("错误", "error"),
    "outcome.not_in_force": ("未生效", "not in force"),
    "outcome.not_applicable": ("不适用", "not applicable"),
    "outcome.absent": ("不在政策库中", "not in the book"),
    "E.unreadable": ("无法读取 {path}：{reason}", "cannot read {path}: {reason}"),
    "E.sample_kind": ("样本文件 {path} 应为 .jsonl 或 .csv", "the sample {path} must be a .jsonl or .csv file"),
    "E.line": ("{path} 第 {line} 行：{reason}", "{path} line {line}: {reason}"),
    "E.json": ("不是有效的 JSON（{detail}）", "not valid JSON ({detail})"),
    "E.record": ("应为包含 \"facts\" 对象的 JSON 对象", "expected a JSON object with a \"facts\" object"),
    "E.field": ("字段 \"{field}\" 应为字符串", "the field \"{field}\" must be a string"),
    "E.bad_date": ("日期 `{value}` 无效，应为 YYYY-MM-DD", "invalid date `{value}`, expected YYYY-MM-DD"),
    "E.unknown_policy": ("两个版本中都没有政策 `{policy}`", "neither version has the policy `{policy}`"),
    "E.csv": ("CSV 无效（{detail}）", "invalid CSV ({detail})"),
    "E.csv_width": ("单元格比表头多", "more cells than header columns"),
    "E.csv_header": ("CSV 缺少表头或有重复/空的列名", "the CSV lacks a header or has duplicate or empty column names"),
    "E.examples": ("示例数不能为负：{value}", "the number of examples cannot be negative: {value}"),
    "side_error": ("{outcome}（{error}）", "{outcome} ({error})"),
}


s = i18n.register("diff", STRINGS)


def both(key: str, /, **args: object) -> dict[str, str]:
    return i18n.both(f"diff.{key}", **args)


class DiffError(PolicyDslError):
    """A bilingual input error of this command (the CLI prints it and exits 2)."""

    def __init__(self, key: str, /, *, facts: Iterable[str] = (), **args: object) -> None:
        super().__init__(f"diff.{key}", facts=facts, **args)


# ------------------------------------------------------------------ sample
@attrs.frozen(kw_only=True)
class Record:
    line: int
    id: str
    at: dt.date | None
    policy: str | None
    facts: dict


def _line_error(path: str, line: int, key: str, **args: object) -> DiffError:
    return DiffError("E.line", path=path, line=line, reason=both(key, **args))


def _date_field(path: str, line: int, value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return iso_date(value)
    except ValueError:
        raise _line_error(path, line, "E.bad_date", value=value) from None


def read_jsonl(path: str, text: str) -> list[Record]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line, parse_float=exact_number)
        except json.JSONDecodeError as exc:
            raise _line_error(path, number, "E.json", detail=f"{exc.msg}, column {exc.colno}") from None
        except (ValueError, RecursionError) as exc:  # an integer beyond Python's digit limit, absurd nesting
            raise _line_error(path, number, "E.json", detail=str(exc)) from None
        if not isinstance(data, dict) or not isinstance(data.get("facts"), dict):
            raise _line_error(path, number, "E.record")
        for field in ("policy", "id"):
            if field in data and data[field] is not None and not isinstance(data[field], (str, int)):
                raise _line_error(path, number, "E.field", field=field)
        ident = data.get("id")
        records.append(Record(line=number, id=str(ident) if ident is not None else f"#{number}",
                              at=_date_field(path, number, data.get("at")),
                              policy=data.get("policy") or None, facts=data["facts"]))
    return records


NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def csv_cell(text: str, kind: str | None) -> Any:
    """A CSV cell as a JSON scalar would read it; a set-valued fact as `a;b`; text facts stay text."""
    if kind == "set":
        return [part.strip() for part in text.split(";") if part.strip()]
    if kind == "text":
        return text
    stripped = text.strip()
    if stripped in ("true", "false"):
        return stripped == "true"
    if NUMBER.fullmatch(stripped):
        try:
            return int(stripped) if re.fullmatch(r"-?\d+", stripped) else Decimal(stripped)
        except (ValueError, InvalidOperation):
            return stripped
    return text


def read_csv(path: str, text: str, kinds: dict[str, str]) -> list[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        header = [h.strip() for h in header] if header is not None else None
        if not header or any(not h for h in header) or len(set(header)) != len(header):
            raise DiffError("E.line", path=path, line=1, reason=both("E.csv_header"))
        records = []
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise _line_error(path, number, "E.csv_width")
            cells = dict(zip(header, row))
            facts = {column: csv_cell(cell, kinds.get(column)) for column, cell in cells.items()
                     if column not in ("policy", "at", "id") and cell.strip()}
            ident = cells.get("id", "").strip()
            records.append(Record(line=number, id=ident or f"#{number}",
                                  at=_date_field(path, number, cells.get("at", "").strip()),
                                  policy=cells.get("policy", "").strip() or None, facts=facts))
    except csv.Error as exc:
        raise _line_error(path, reader.line_num, "E.csv", detail=str(exc)) from None
    return records


SAMPLE_LIMIT = 64 * 1024 * 1024
"""Bytes of a --sample file: records to compare both books on, held in memory (millions are `score`'s work)."""


def read_sample(path: str, kinds: dict[str, str]) -> list[Record]:
    suffix = Path(path).suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise DiffError("E.sample_kind", path=path)
    try:  # bounded: a sample is held in memory whole (a link to /dev/zero is refused, not read to exhaustion)
        text = read_bytes(path, SAMPLE_LIMIT).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DiffError("E.unreadable", path=path, reason=unreadable_reason(exc)) from None
    return read_jsonl(path, text) if suffix == ".jsonl" else read_csv(path, text, kinds)


# ------------------------------------------------------------------ comparison
@attrs.frozen(kw_only=True)
class Result:
    outcome: str  # allow | deny | error; a whole-book decision's part may be not_in_force | not_applicable | absent
    reasons: tuple[dict, ...] = ()
    values: dict = attrs.field(factory=dict)
    error: dict | None = None
    unresolved: dict = attrs.field(factory=dict)  # value path -> the facts it lacks (a record may be incomplete)

    def differences(self, other: "Result") -> list[str]:
        """What differs from `other`: "outcome", "reasons" (the set of codes, or the error), "values"
        (a value, or which values could not be computed for lack of facts)."""
        out = []
        if self.outcome != other.outcome:
            out.append("outcome")
        if ({r["code"] for r in self.reasons} != {r["code"] for r in other.reasons}
                or (self.error or {}).get("en") != (other.error or {}).get("en")):
            out.append("reasons")
        if _canonical(self.values) != _canonical(other.values) or set(self.unresolved) != set(other.unresolved):
            out.append("values")
        return out

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"outcome": self.outcome, "reasons": list(self.reasons), "values": self.values}
        if self.unresolved:
            out["unresolved"] = self.unresolved
        if self.error is not None:
            out["error"] = self.error
        return out


def _canonical(values: dict) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)


def run(book, policy_id: str, record: Record, at: dt.date) -> Result:
    try:
        decision = book.evaluate(policy_id, record.facts, at, trace=False, ignore_unknown=True)  # a sample's other columns
    except PolicyDslError as exc:
        return Result(outcome="error", error={lang: exc.message(lang) for lang in ("zh", "en")})
    reasons = tuple({"rule": r.rule, "code": r.code, "message": dict(r.message)} for r in decision.reasons)
    return Result(outcome=decision.outcome, reasons=reasons, values=dict(decision.value_json),
                  unresolved={path: list(facts) for path, facts in decision.unresolved.items()})


@attrs.define
class PolicyDiff:
    policy: str
    records: int = 0
    changed: int = 0
    transitions: dict[str, int] = attrs.field(factory=dict)
    examples: list[dict] = attrs.field(factory=list)

    def add(self, ident: str, when: dt.date, before: Result, after: Result, examples: int) -> None:
        """Count one record decided `before` and `after` (the old and the new side), kept as an example while
        its kind of change has fewer than `examples`."""
        self.records += 1
        change = f"{before.outcome}→{after.outcome}"
        self.transitions[change] = self.transitions.get(change, 0) + 1
        differs = before.differences(after)
        if not differs:
            return
        self.changed += 1
        if sum(e["change"] == change for e in self.examples) < examples:
            self.examples.append({"id": ident, "at": when.isoformat(), "change": change, "differs": differs,
                                  "old": before.to_dict(), "new": after.to_dict()})

    def to_dict(self) -> dict:
        return {"policy": self.policy, "records": self.records, "changed": self.changed,
                "transitions": dict(sorted(self.transitions.items())), "examples": self.examples}


@attrs.frozen(kw_only=True)
class Report:
    policies: tuple[PolicyDiff, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changed(self) -> int:
        return sum(p.changed for p in self.policies)

    def to_dict(self) -> dict:
        return {"policies": [p.to_dict() for p in self.policies], "added": list(self.added),
                "removed": list(self.removed)}


def _resolve(old, new, name: str) -> str:
    """A policy id by id or title in either version."""
    for book in (old, new):
        with contextlib.suppress(PolicyDslError):
            return book.find(name).id
    return ""


def scope(old, new, policies: Iterable[str] = ()) -> tuple[list[str], tuple[str, ...], tuple[str, ...], list[str]]:
    """(shared, added, removed, named) policy ids: the named ones, or all of both versions."""
    old_ids, new_ids = set(old.policies), set(new.policies)
    wanted = []
    for name in policies:
        ident = _resolve(old, new, name)
        if not ident:
            raise DiffError("E.unknown_policy", policy=name)
        wanted.append(ident)
    ids = list(dict.fromkeys(wanted)) if wanted else sorted(old_ids | new_ids)
    added = tuple(p for p in ids if p in new_ids and p not in old_ids)
    removed = tuple(p for p in ids if p in old_ids and p not in new_ids)
    shared = [p for p in ids if p in old_ids and p in new_ids]
    return shared, added, removed, wanted


def compare(old, new, records: Sequence[Record], *, policies: Iterable[str] = (), at: dt.date,
            examples: int = 3, path: str = "") -> Report:
    """Evaluate every record with both versions of every policy in scope (all shared ones by default)."""
    shared, added, removed, wanted = scope(old, new, policies)
    diffs = {p: PolicyDiff(policy=p) for p in shared}
    resolve = functools.cache(functools.partial(_resolve, old, new))  # a record's policy name -> id, once per name
    for record in records:
        if record.policy is not None:
            ident = resolve(str(record.policy))
            if not ident:
                raise _line_error(path, record.line, "E.unknown_policy", policy=record.policy)
            targets = [ident] if ident in diffs else []
        else:
            targets = shared
        when = record.at or at
        for ident in targets:
            diffs[ident].add(record.id, when, run(old, ident, record, when), run(new, ident, record, when), examples)
    # A policy no record reached is left out, unless it was named.
    shown = tuple(diffs[p] for p in shared if diffs[p].records or p in wanted)
    return Report(policies=shown, added=added, removed=removed)


# ------------------------------------------------------------------ text
def _side(result: dict, lang: str) -> str:
    word = s(f"outcome.{result['outcome']}", lang)
    if result.get("error"):
        return s("side_error", lang, outcome=word, error=result["error"][lang])
    if result["reasons"]:
        codes = ", ".join(r["code"] for r in result["reasons"])
        return f"{word} [{codes}]"
    return word


def _shown(side: dict, key: str, lang: str) -> str:
    if key in side["values"]:
        return json.dumps(side["values"][key], ensure_ascii=False, default=str)
    return s("not_computed", lang) if key in side.get("unresolved", ()) else "—"


def _value_lines(before: dict, after: dict, lang: str) -> list[str]:
    """One line per computed value that differs between two decisions (their to_dict()), by path: a
    value, none on the day (—), or one that could not be computed for lack of facts."""
    def state(side: dict, key: str) -> str:
        return _canonical({"v": side["values"][key]}) if key in side["values"] else \
            "unresolved" if key in side.get("unresolved", ()) else "absent"
    keys = {*before["values"], *after["values"], *before.get("unresolved", ()), *after.get("unresolved", ())}
    return [s("value", lang, path=key, old=_shown(before, key, lang), new=_shown(after, key, lang))
            for key in sorted(keys) if state(before, key) != state(after, key)]


def render_text(report: Report, titles: dict[str, str], lang: str) -> str:
    lines = []
    for diff in report.policies:
        lines.append(s("heading", lang, title=titles.get(diff.policy, diff.policy), policy=diff.policy,
                       records=diff.records, changed=diff.changed))
        lines += [s("transition", lang, change=c, count=n) for c, n in sorted(diff.transitions.items())]
        kinds = list(dict.fromkeys(e["change"] for e in diff.examples))
        for kind in kinds:
            lines.append(s("examples", lang, change=kind))
            for example in (e for e in diff.examples if e["change"] == kind):
                lines.append(s("example", lang, id=example["id"], at=example["at"],
                               old=_side(example["old"], lang), new=_side(example["new"], lang)))
                lines += [f"        {s('side.' + side, lang)}: [{reason['code']}] {reason['message'][lang]}"
                          for side in ("old", "new") for reason in example[side]["reasons"]]
                lines.extend(_value_lines(example["old"], example["new"], lang))
    lines += [s("added", lang, policy=ident) for ident in report.added]
    lines += [s("removed", lang, policy=ident) for ident in report.removed]
    changed = report.changed
    lines.append(s("summary.changed", lang, changed=changed) if changed else s("summary.same", lang))
    return "\n".join(lines)


def prove(old, new, policy_ids: Sequence[str], limits: dict[str, Any] | None = None) -> dict:
    """policy id -> verify.equivalence.Equivalence, for each policy in both versions (each proof
    within verify.engine.Limits, `limits` overriding its defaults)."""
    from policydsl.verify.equivalence import prove_equivalent

    def decide(book, pid: str, facts: dict, at: dt.date) -> Result:
        return run(book, pid, Record(line=0, id="counterexample", at=at, policy=pid, facts=facts), at)
    from policydsl.verify.engine import Limits

    return {pid: prove_equivalent(old, new, pid, Limits(**(limits or {})), decide=decide) for pid in policy_ids}


def proofs_to_dict(proofs: dict) -> list[dict]:
    out = []
    for pid, eq in proofs.items():
        item: dict[str, Any] = {"policy": pid, "status": eq.status, "reason": eq.reason, "counterexample": None,
                                "seconds": round(eq.seconds, 3), "steps": eq.steps}
        if eq.witness is not None:
            item["counterexample"] = {"facts": eq.witness.facts, "at": eq.witness.at.isoformat(),
                                      "old": eq.before.to_dict(), "new": eq.after.to_dict(),
                                      "differs": eq.before.differences(eq.after)}
        out.append(item)
    return out


def render_proofs(proofs: dict, lang: str) -> str:
    lines = [s("proof.heading", lang)]
    for pid, eq in proofs.items():
        if eq.status == "equivalent":
            lines.append(s("proof.equivalent", lang, policy=pid))
        elif eq.status == "different":
            facts = json.dumps(eq.witness.facts, ensure_ascii=False, separators=(",", ":"))
            lines.append(s("proof.different", lang, policy=pid, at=eq.witness.at.isoformat(), facts=facts))
            differs = ", ".join(s(f"differs.{d}", lang) for d in eq.before.differences(eq.after))
            lines.append(s("proof.change", lang, old=_side(eq.before.to_dict(), lang), new=_side(eq.after.to_dict(), lang),
                           differs=differs))
            lines.extend(_value_lines(eq.before.to_dict(), eq.after.to_dict(), lang))
        else:
            lines.append(s(f"proof.{eq.status}", lang, policy=pid, reason=(eq.reason or {}).get(lang, "")))
    return "\n".join(lines)


def input_kinds(*books) -> dict[str, str]:
    """Fact path -> kind over every policy of the books (for reading CSV cells)."""
    kinds: dict[str, str] = {}
    for book in books:
        for compiled in book.compiled.values():
            for path, spec in compiled.inputs.items():
                kinds.setdefault(path, spec.kind)
    return kinds
