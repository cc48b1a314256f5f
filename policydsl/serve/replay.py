"""`policydsl replay LOG…`: every request of a decision log (policydsl.serve.log) decided again with another book,
and what would change, in `diff --sample`'s own report (policydsl.diff): the old side is what the log says the
caller was told, the new side what the book decides now for the same facts and day, the way the service does.

A log is untrusted input: a line is at most MAX_LINE_BYTES, nests at most facts' depth (plus the record's own
level), and each field has its type; a bad line is reported by file and line and skipped, the rest replayed.
Needs no web framework (nothing of the [serve] extra): it reads files and decides with the loaded book."""
from __future__ import annotations

import datetime as dt
import json
import os
import stat
from decimal import Decimal
from typing import Any, Iterable, Iterator

import attrs

from policydsl import i18n
from policydsl.diff import PolicyDiff, Report, Result
from policydsl.errors import PolicyDslError
from policydsl.runtime.facts import MAX_DEPTH, HugeExponent, exact_number, iso_date, too_deep
from policydsl.source import RefusedFile, unreadable_reason

STRINGS = {
    "line": ("{path}:{line}：{reason}", "{path}:{line}: {reason}"),
    "too_long": ("这一行超过 {limit} 字节，已跳过", "the line is longer than {limit} bytes, skipped"),
    "not_utf8": ("这一行不是 UTF-8", "the line is not UTF-8"),
    "json": ("不是有效的 JSON（{detail}）", "not valid JSON ({detail})"),
    "deep": ("嵌套超过 {limit} 层", "nested deeper than {limit} levels"),
    "record": ("应为决策日志的一条记录（JSON 对象）", "expected a record of a decision log (a JSON object)"),
    "field": ("字段 \"{field}\" 缺失或不是 {expected}", "the field \"{field}\" is missing or not {expected}"),
    "decision": ("字段 \"decision\" 不是服务给出的决策", "the field \"decision\" is not a decision the service answers"),
    "book_title": ("整个政策库（请求整体出错）", "the whole book (the request failed as a whole)"),
    "summary": ("重放了 {records} 条记录（{files} 个文件）", "replayed {records} records ({files} files)"),
    "masked": ("其中 {count} 条含被掩码的事实（{facts}）：以哈希代替原值重新决策，结果可能仅因此而不同",
               "{count} of them had masked facts ({facts}): re-decided with the hashes in place of the values, "
               "their decisions may differ for that reason alone"),
    "skipped": ("跳过了 {count} 行无效记录（见标准错误）", "{count} bad lines were skipped (see standard error)"),
}
s = i18n.register("replay", STRINGS)

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A longer line is skipped unread: a request body is at most 1 MiB, its decision a few times that."""
WHOLE_BOOK = "*"
"""The key of a whole-book request that failed as a whole (unknown facts): it has no parts to compare."""
PART_OUTCOMES = {"not_in_force", "not_applicable"}
FIELDS: dict[str, tuple[Any, str]] = {
    "id": (str, '"…"'), "revision": (str, '"…"'), "endpoint": (("policy", "book"), '"policy" | "book"'),
    "at": (dt.date, '"YYYY-MM-DD"'), "status": (int, "200 | 404 | 422"), "facts": (dict, "{…}"),
    "decision": (dict, "{…}"),
}
"""Each field a record must have: its type (or its values) and how the error message names what was expected."""


@attrs.frozen
class Logged:
    """One logged request: what to decide again, and what the caller was told (policy id -> diff Result)."""

    path: str
    line: int
    id: str
    policy: str | None  # None: the whole book
    at: dt.date
    facts: dict[str, Any]
    told: dict[str, Result]
    masked: tuple[str, ...]


@attrs.frozen
class BadLine:
    path: str
    line: int
    reason: dict[str, str]

    def text(self, lang: str) -> str:
        return s("line", lang, path=self.path, line=self.line, reason=self.reason[lang])


class _Bad(Exception):
    def __init__(self, key: str, /, **args: object) -> None:
        self.reason = i18n.both(f"replay.{key}", **args)


def read_log(path: str) -> Iterator[Logged | BadLine]:
    """The records of one log file in order, a bad line as a BadLine. An unreadable file is a PolicyDslError, and
    so is a device (a link to /dev/zero was read in pieces forever, one endless line); a pipe is read."""
    try:
        handle = open(path, "rb")
        mode = os.fstat(handle.fileno()).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            handle.close()
            raise RefusedFile()
    except OSError as exc:
        raise PolicyDslError("E.unreadable", path=path, reason=unreadable_reason(exc)) from None
    with handle:
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            try:
                if len(raw) > MAX_LINE_BYTES:
                    while raw and not raw.endswith(b"\n"):  # the rest of the line, read and dropped in pieces
                        raw = handle.readline(1 << 20)
                    raise _Bad("too_long", limit=MAX_LINE_BYTES)
                if raw.strip():
                    yield parse(path, number, raw)
            except _Bad as bad:
                yield BadLine(path, number, bad.reason)


def parse(path: str, number: int, raw: bytes) -> Logged:
    """One line of a log, every field checked (raises _Bad)."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=exact_number)
    except UnicodeDecodeError:
        raise _Bad("not_utf8") from None
    except json.JSONDecodeError as exc:
        raise _Bad("json", detail=f"{exc.msg}, column {exc.colno}") from None
    except HugeExponent as exc:
        raise _Bad("json", detail=str(exc)) from None
    except (ValueError, RecursionError) as exc:  # an integer past Python's digit limit, absurd nesting
        raise _Bad("json", detail=type(exc).__name__) from None
    if not isinstance(data, dict):
        raise _Bad("record")
    if too_deep(data, MAX_DEPTH + 1):  # the facts may nest MAX_DEPTH levels inside the record
        raise _Bad("deep", limit=MAX_DEPTH)
    for field, (kind, expected) in FIELDS.items():
        if not _fits(data.get(field), kind):
            raise _Bad("field", field=field, expected=expected)
    policy = data.get("policy")
    if (data["endpoint"] == "policy") != isinstance(policy, str):
        raise _Bad("field", field="policy", expected='"…" | null')
    masked = data.get("masked", [])
    if not isinstance(masked, list) or not all(isinstance(fact, str) for fact in masked):
        raise _Bad("field", field="masked", expected='["…"]')
    try:
        told = results(data["decision"], policy)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _Bad("decision") from None
    return Logged(path, number, data["id"], policy, dt.date.fromisoformat(data["at"]), data["facts"], told,
                  tuple(masked))


def _fits(value: Any, kind: Any) -> bool:
    if kind is dt.date:
        try:
            return bool(iso_date(value))
        except ValueError:  # not a string, not a day of the calendar
            return False
    if isinstance(kind, tuple):
        return value in kind
    return isinstance(value, kind) and not isinstance(value, bool)


def results(decision: dict[str, Any], policy: str | None) -> dict[str, Result]:
    """A response of the service as diff Results: one for a policy's decision (or error), one per policy of a
    whole-book decision, WHOLE_BOOK for a whole-book request that failed. Raises on a malformed decision."""
    if "error" in decision:
        return {policy if policy is not None else WHOLE_BOOK: _error(decision["error"])}
    if policy is not None:
        return {policy: _decided(decision)}
    parts = {}
    for part in decision["policies"]:
        status = part["status"]
        parts[str(part["policy"])] = _decided(part["decision"]) if status == "decided" else \
            _error(part["error"]) if status == "error" else Result(outcome=_one_of(status, PART_OUTCOMES))
    return parts


def _decided(decision: dict[str, Any]) -> Result:
    reasons = tuple({"rule": str(r["rule"]), "code": str(r["code"]), "message": _texts(r["message"])}
                    for r in decision["reasons"])
    values, unresolved = decision["values"], decision.get("unresolved", {})
    if not isinstance(values, dict) or not isinstance(unresolved, dict):
        raise ValueError("values")
    return Result(outcome=_one_of(decision["outcome"], {"allow", "deny"}), reasons=reasons, values=values,
                  unresolved=unresolved)


def _error(error: dict[str, Any]) -> Result:
    return Result(outcome="error", error=_texts(error["message"]))


def _texts(message: dict[str, Any]) -> dict[str, str]:
    texts = {lang: message[lang] for lang in i18n.LANGS}
    if not all(isinstance(text, str) for text in texts.values()):
        raise ValueError("message")
    return texts


def _one_of(value: Any, allowed: set[str]) -> str:
    if value not in allowed:
        raise ValueError(value)
    return str(value)


def redecide(book: Any, logged: Logged) -> dict[str, Result]:
    """What the service with `book` would answer now to the logged request, read back as the log reads it."""
    try:
        decided = book.evaluate(logged.policy, logged.facts, logged.at) if logged.policy is not None else \
            book.evaluate_all(logged.facts, logged.at)
        answer = decided.to_dict()
    except PolicyDslError as exc:
        answer = exc.to_dict()
    return results(json.loads(json.dumps(answer, ensure_ascii=False, default=str), parse_float=Decimal),
                   logged.policy)


@attrs.define
class Replay:
    """The report so far: diff's PolicyDiffs, how many records, how many of them with masked facts, the bad lines."""

    examples: int
    diffs: dict[str, PolicyDiff] = attrs.field(factory=dict)
    records: int = 0
    masked: dict[str, int] = attrs.field(factory=dict)  # fact -> records
    masked_records: int = 0
    bad: list[BadLine] = attrs.field(factory=list)

    def add(self, book: Any, logged: Logged) -> None:
        self.records += 1
        if logged.masked:
            self.masked_records += 1
            for fact in logged.masked:
                self.masked[fact] = self.masked.get(fact, 0) + 1
        now = redecide(book, logged)
        absent = Result(outcome="absent")
        for ident in sorted({*logged.told, *now}):
            diff = self.diffs.setdefault(ident, PolicyDiff(policy=ident))
            diff.add(logged.id, logged.at, logged.told.get(ident, absent), now.get(ident, absent), self.examples)

    def report(self) -> Report:
        return Report(policies=tuple(self.diffs[p] for p in sorted(self.diffs)), added=(), removed=())

    def notes(self, files: int, lang: str) -> list[str]:
        lines = [s("summary", lang, records=self.records, files=files)]
        if self.masked_records:
            lines.append(s("masked", lang, count=self.masked_records, facts=", ".join(sorted(self.masked))))
        if self.bad:
            lines.append(s("skipped", lang, count=len(self.bad)))
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {**self.report().to_dict(), "records": self.records,
                "masked": {"records": self.masked_records, "facts": dict(sorted(self.masked.items()))},
                "skipped": [{"path": bad.path, "line": bad.line, "reason": bad.reason} for bad in self.bad]}


def replay(book: Any, paths: Iterable[str], examples: int, on_bad: Any = lambda bad: None) -> Replay:
    """Every record of the logs in `paths` decided again with `book`; `on_bad` is told of each bad line at once."""
    done = Replay(examples)
    for path in paths:
        for item in read_log(path):
            if isinstance(item, BadLine):
                done.bad.append(item)
                on_bad(item)
            else:
                done.add(book, item)
    return done
