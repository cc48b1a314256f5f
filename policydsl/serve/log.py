"""The decision log of `policydsl serve --log FILE`: one JSON line per decision, for an SRE to audit and for
`policydsl replay` to decide again with another book (policydsl.serve.replay).

A line is `{"id", "time", "revision", "endpoint", "policy", "at", "status", ["masked",] "facts", "decision"}`:
`decision` is the response's own JSON text, copied in (not encoded twice), so the log says exactly what the
caller was told. Lines are written on the event loop, so the write is kept cheap: one `os.write` of the whole
encoded line to a file opened O_APPEND (no Python buffer: a crash loses at most the line being written), the
size tracked by counting rather than asking the file system. A write that fails (a full disk) never fails the
decision: it is counted (`/v1/status`), warned about once, and the next line starts on a line of its own."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from policydsl import i18n
from policydsl.errors import PolicyDslError, clip
from policydsl.fsutil import os_reason

if TYPE_CHECKING:
    from policydsl.loader import PolicySet
    from policydsl.runtime.decision import Decision
    from policydsl.runtime.program import CompiledPolicy

STRINGS = {
    "E.log_open": ("无法打开决策日志 {path}：{reason}", "cannot open the decision log {path}: {reason}"),
    "E.mask_unknown": ("--mask {fact}：政策库没有这个输入事实（已有的：{known}）",
                       "--mask {fact}: the book has no such input fact (it has: {known})"),
    "E.mask_key_short": ("掩码密钥文件 {path} 太短：至少需要 {least} 字节", "the mask key file {path} is too short: "
                         "at least {least} bytes are needed"),
    "E.mask_no_log": ("--mask 与 --mask-key-file 只在有 --log 时才有意义", "--mask and --mask-key-file need --log"),
    "log.fact_masked": ("  - {path}：（值已掩码）", "  - {path}: (value masked)"),
    "log.error_masked": ("（消息已掩码：它可能引用被掩码的事实的值）",
                         "(message masked: it may quote the value of a masked fact)"),
    "E.log_size": ("--log-max-bytes 至少为 {least}：{value}", "--log-max-bytes must be at least {least}: {value}"),
    "log_failed": ("写决策日志 {path} 失败（{reason}）：决策照常答复，失败的行只计数（GET /v1/status 的 log.failed），"
                   "不再重复警告", "writing the decision log {path} failed ({reason}): decisions are answered as "
                   "usual, lines that fail are only counted (log.failed in GET /v1/status), no further warning"),
}
s = i18n.register("serve", STRINGS)
LOG = logging.getLogger("policydsl.serve")

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_BACKUPS = 5
MIN_MAX_BYTES = 1024
"""A smaller --log-max-bytes would rotate on every line: refused at start."""
MIN_KEY_BYTES = 16
MASK_PREFIX = "hmac-sha256:"
SAFE_ERRORS = frozenset({"missing_facts", "unknown_facts", "ambiguous_facts", "unknown_policy", "not_in_force",
                         "no_case", "division_by_zero", "empty_aggregate", "not_open_arith"})
"""Error codes whose message quotes no fact's value (only names, labels, dates decided on): logged as they are."""
LINE_ERRORS = frozenset({"bad_facts", "conflicting_facts"})
"""Error codes whose `items` hold one line per fact of `facts`, quoting its value: a masked fact's line is replaced."""


_TOKEN = secrets.token_hex(16)  # unguessable: no caller's string can hold it, so unmarking touches only numbers


def _marked(value: Any) -> str:
    return f"{_TOKEN}{value}{_TOKEN}" if isinstance(value, Decimal) and value.is_finite() else str(value)


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_marked).encode


def dumps(value: Any) -> str:
    """Facts as compact JSON with their numbers exact: a Decimal (a float in the request) is written as the number
    it was, which `json` cannot do. The C encoder writes it as a marked string, unmarked after: a decision's facts
    are encoded in tens of microseconds, not the hundreds a Python walk of them costs."""
    text = _ENCODE(value)
    return text.replace(f'"{_TOKEN}', "").replace(f'{_TOKEN}"', "") if _TOKEN in text else text


def mask_value(key: bytes, value: Any) -> str:
    """The keyed hash a masked fact is logged as: HMAC-SHA256 of the value's compact JSON text (UTF-8)."""
    return MASK_PREFIX + hmac.new(key, dumps(value).encode("utf-8"), hashlib.sha256).hexdigest()


def open_log(path: str | None, book: Any, masks: Iterable[str] = (), key_file: str | None = None,
             max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS) -> DecisionLog | None:
    """The log `serve --log …` asked for (None without --log), every option checked before the server listens."""
    masks = tuple(masks)
    if path is None:
        if masks or key_file is not None:
            raise PolicyDslError("serve.E.mask_no_log")
        return None
    key = read_key(key_file) if key_file is not None else None
    known = sorted({fact for policy in book.compiled.values() for fact in policy.inputs})
    for fact in masks:  # each an input fact of the served book: a typo would silently log the real value
        if fact not in known:
            raise PolicyDslError("serve.E.mask_unknown", fact=clip(fact), known=clip(", ".join(known)))
    return DecisionLog(path, masks=dict.fromkeys(masks), key=key, max_bytes=max_bytes, backups=backups)


def read_key(path: str) -> bytes:
    """The masking key: the file's bytes, surrounding whitespace dropped, at least MIN_KEY_BYTES of them."""
    from policydsl.source import read_secret

    key = read_secret(path)
    if len(key) < MIN_KEY_BYTES:
        raise PolicyDslError("serve.E.mask_key_short", path=path, least=MIN_KEY_BYTES)
    return key


class DecisionLog:
    """An append-only JSON-lines file rotated by size: FILE -> FILE.1 -> … -> FILE.<backups>, the oldest dropped."""

    def __init__(self, path: str, *, masks: Iterable[str] = (), key: bytes | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS) -> None:
        if max_bytes < MIN_MAX_BYTES:
            raise PolicyDslError("serve.E.log_size", least=MIN_MAX_BYTES, value=max_bytes)
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        self.masks = tuple(masks)
        self.key = key if key is not None else secrets.token_bytes(32)  # never written: hashes correlate in one run
        self.written = self.failed = 0
        self._torn = False  # the last write was cut short: the next line starts with a newline of its own
        try:
            self._fd = self._open()
        except OSError as exc:
            raise PolicyDslError("serve.E.log_open", path=path, reason=os_reason(exc)) from None
        self._size = os.fstat(self._fd).st_size

    def status(self) -> dict[str, Any]:
        return {"path": self.path, "written": self.written, "failed": self.failed, "masked": list(self.masks)}

    def record(self, revision: str, policy: str | None, at: dt.date, facts: Mapping[str, Any], status: int,
               decision: bytes, book: PolicySet, result: Any) -> str:
        """Log one decision (`policy` None: the whole book; `decision`: the response body, JSON, of `result`: the
        Decision, BookDecision or PolicyDslError it was made from) and return its id. The masked facts are found
        by the vocabulary of the `book` that decided, as it reads the facts: by id, dotted or nested, or by a
        label, alone or under its entity (`{"account": {"已完成实名认证": true}}`). When the record gave some,
        the decision is logged with what it shows of them masked too (`masked_body`)."""
        ident = str(uuid.uuid4())
        head: dict[str, Any] = {"id": ident, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
                                "revision": revision, "endpoint": "book" if policy is None else "policy",
                                "policy": policy, "at": at.isoformat(), "status": status}
        if self.masks:
            found: list[str] = []
            change = lambda value: mask_value(self.key, value)  # noqa: E731
            facts = _masked(facts, "", set(self.masks), book.vocabulary, change, found)
            if found:
                head["masked"] = sorted(set(found))
                decision = masked_body(result, policy, book, frozenset(found), change, decision)
        line = f'{json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]},"facts":{dumps(facts)},"decision":'.encode("utf-8")
        self._write(line + decision + b"}\n")
        return ident

    def reopen(self) -> None:
        """Open FILE again (SIGHUP): after an outside tool (logrotate) has moved it away, lines go to a new FILE.
        A failure keeps the old file to write to, counted and warned as a failing write is."""
        try:
            fd = self._open()
        except OSError as exc:
            self._fail(exc)
            return
        os.close(self._fd)
        self._fd, self._size, self._torn = fd, os.fstat(fd).st_size, False

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def _write(self, data: bytes) -> None:
        if self._torn:
            data = b"\n" + data
        try:
            if self._size and self._size + len(data) > self.max_bytes:
                self._rotate()
            done = os.write(self._fd, data)
            self._size += done
            self._torn = done < len(data)
            if self._torn:
                raise OSError(f"{done} of {len(data)} bytes written")
            self.written += 1
        except OSError as exc:
            self._fail(exc)

    def _rotate(self) -> None:
        """Shift the backups up one (the oldest replaced), FILE becomes FILE.1, a new FILE is opened. The old file
        is renamed while still open and closed only once the new one is: a failure leaves a file to write to."""
        names = [self.path] + [f"{self.path}.{n}" for n in range(1, self.backups + 1)]
        if self.backups:
            for older, newer in reversed(list(zip(names, names[1:]))):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(older, newer)
        else:
            os.unlink(self.path)
        fd = self._open()
        os.close(self._fd)
        self._fd, self._size, self._torn = fd, 0, False

    def _fail(self, exc: OSError) -> None:
        self.failed += 1
        if self.failed == 1:
            LOG.warning(s("log_failed", i18n.default_lang(), path=self.path, reason=os_reason(exc)))


def policy_id(book: Any, name: str) -> str:
    """The id of the policy a request named (by id or title), or the name itself when the book has no such policy
    (the logged decision is then the error `unknown_policy`)."""
    try:
        return str(book.find(name).id)
    except PolicyDslError:
        return name


def _masked(node: Mapping[str, Any], base: str, masks: set[str], vocabulary: Any, change: Any,
            found: list[str]) -> Mapping[str, Any]:
    """`node` with the value of every fact in `masks` changed, walked as the vocabulary walks a record
    (Vocabulary.walks_into); only the objects on the way to a masked value are copied (the request's own facts
    are not touched), and `found` collects the masked ids. Depth is bounded by facts.MAX_DEPTH, as read."""
    out: dict[str, Any] | None = None
    for key, value in node.items():
        name = f"{base}.{key}" if base else str(key)
        path = vocabulary.resolve(name)
        if path in masks and value is not None:
            new = change(value)
            found.append(path)
        elif vocabulary.walks_into(name, value, top=not base):
            new = _masked(value, name, masks, vocabulary, change, found)
        else:
            continue
        if new is not value:
            out = dict(node) if out is None else out
            out[key] = new
    return node if out is None else out


def masked_body(result: Any, policy: str | None, book: PolicySet, found: frozenset[str],
                change: Callable[[Any], str], body: bytes) -> bytes:
    """The response `body` (the JSON of `result`) as the log keeps it when the record gave the masked facts `found`:
    `body` itself when it shows nothing of them. What a masked fact taints: the values computed from it (`DefineInfo.reads`, through other
    values and rollouts), logged as `change` of their JSON; the placeholders showing it or those values in reason,
    warning and consequence messages, filled again with “［已掩码］” / “[masked]”; a consequence's date and amount
    when they read it; an ill-typed or conflicting fact's line of an error; and the whole message of an error that
    may quote a value (a table's missing row) from a policy that reads a masked fact."""
    from policydsl.runtime.book import BookDecision

    if isinstance(result, BookDecision):
        shown = _book(result, book, found, change)
    elif isinstance(result, PolicyDslError):
        compiled = book.compiled.get(str(policy)) if policy is not None else None
        shown = {"error": _error(result, None if compiled is None else compiled.inputs, found)}
    elif not _tainted(book.compiled[result.policy], found):  # nothing of it shown: the body as answered
        return body
    else:
        shown = _decision(book.compiled[result.policy], result, found, change)
    masked = json.dumps(shown, ensure_ascii=False).encode("utf-8")  # as the response was encoded (app._json)
    return body if masked == body else masked


def _tainted(policy: CompiledPolicy, found: frozenset[str]) -> frozenset[str]:
    """The policy's facts and values that show something of the masked facts `found` (none: its decision shows
    nothing of them; nor when it has no filler, a book's properties)."""
    if policy.decide is None:
        return frozenset()
    return found.intersection(policy.inputs) | {path for path, d in policy.defines.items() if d.reads & found}


def _decision(policy: CompiledPolicy, decision: Decision, found: frozenset[str],
              change: Callable[[Any], str]) -> dict[str, Any]:
    from policydsl.runtime.program import MASKED

    out = decision.to_dict()
    tainted = _tainted(policy, found)
    if not tainted or policy.decide is None:  # (the second: for mypy, implied by the first)
        return out
    out["values"] = {path: change(value) if path in tainted else value for path, value in out["values"].items()}
    fill, items = policy.decide.fill, iter(out.get("consequences", ()))
    for reason, shown in zip((*decision.reasons, *decision.warnings), (*out["reasons"], *out["warnings"])):
        rule = policy.rule_index[reason.rule]
        values = {path: MASKED if path in tainted else value for path, value in zip(rule.placeholders, reason.shown_values)}
        refill = not tainted.isdisjoint(rule.placeholders)
        if refill:
            shown["message"] = {lang: fill(rule.message[lang], values, lang) for lang in ("zh", "en")}
        for (_, _, text), reads, item in zip(rule.consequences, rule.consequence_reads, items):
            if refill:
                item["message"] = {lang: fill(text[lang], values, lang) for lang in ("zh", "en")}
            if reads & found:
                item.update({key: change(item[key]) for key in ("until", "amount") if item[key] is not None})
    return out


def _error(exc: PolicyDslError, reads: Iterable[str] | None, found: frozenset[str]) -> dict[str, Any]:
    """An error's JSON (its `error` object) with what it quotes of the masked facts masked (`reads`: the inputs of
    the policy that raised it, None when unknown)."""
    if exc.code in SAFE_ERRORS:
        return exc.to_dict()["error"]
    if exc.code in LINE_ERRORS:
        items = exc.args_map.get("items")
        lines = {lang: str(items[lang]).split("\n") for lang in ("zh", "en")} if isinstance(items, Mapping) else {}
        if all(len(lines.get(lang, ())) == len(exc.facts) for lang in ("zh", "en")):
            items = {lang: "\n".join(s("log.fact_masked", lang, path=path) if path in found else line
                                     for path, line in zip(exc.facts, lines[lang])) for lang in ("zh", "en")}
            return PolicyDslError(exc.key, facts=exc.facts, **{**exc.args_map, "items": items}).to_dict()["error"]
    out = exc.to_dict()["error"]
    if reads is None or not found.isdisjoint(reads):
        out["message"] = {lang: s("log.error_masked", lang) for lang in ("zh", "en")}
    return out


def _book(decision: Any, book: PolicySet, found: frozenset[str], change: Callable[[Any], str]) -> dict[str, Any]:
    """A whole-book decision's JSON with each policy's part masked, and the summary's values and consequences
    taken from the masked parts."""
    out = decision.to_dict()
    decided: list[tuple[str, dict[str, Any]]] = []
    for part, item in zip(decision.parts, out["policies"]):
        compiled = book.compiled[part.policy]
        if part.decision is not None:
            item["decision"] = _decision(compiled, part.decision, found, change)
            decided.append((part.policy, item["decision"]))
        if part.error is not None:
            item["error"] = _error(part.error, compiled.inputs, found)
    out["summary"]["consequences"] = [{"policy": pid, **c} for pid, d in decided for c in d.get("consequences", ())]
    out["summary"]["values"] = {pid: d["values"] for pid, d in decided if d["values"]}
    return out
