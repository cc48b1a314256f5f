"""The book a service answers with, and its hot reload: a clean edit is swapped in whole, a broken one refused.

A request reads `Library.current` once and decides with that `Served` to the end, so a swap between two
requests is atomic (one attribute assignment) and no request ever sees half of one book and half of another.
A reload loads the folder again off the event loop; only a book that loads clean (no error diagnostics, the
rule `check` applies) replaces the one being served, else the last good book keeps serving and
`/v1/status` reports why (`Library.refused`)."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from pathlib import Path
from typing import Any, Callable

import attrs

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.loader import PolicyLoadError, PolicySet, load, policy_files, with_shared
from policydsl.source import MAX_FILE_BYTES, read_bytes

STRINGS = {
    "reloaded": ("已重新加载政策库：{old} → {new}（{count} 条政策）", "reloaded the book: {old} → {new} ({count} policies)"),
    "unwatched": ("无法再监视政策目录（{reason}）：改为每隔几秒比较一次版本",
                  "cannot watch the policies folder any longer ({reason}): comparing its revision every few seconds"),
    "refused": ("拒绝了有错误的政策库修改（{count} 个错误），继续服务 {revision}；GET /v1/status 说明原因",
                "refused a broken edit of the book ({count} errors), still serving {revision}; GET /v1/status says why"),
}
s = i18n.register("serve", STRINGS)
LOG = logging.getLogger("policydsl.serve")

LOAD_ATTEMPTS = 5
"""A folder being written while it loads is read again (its revision changed under the load), this many times."""


@attrs.frozen
class Served:
    """One loaded book and what `/v1/status` says of it."""

    book: PolicySet
    revision: str  # sha256 of the book's files (paths and bytes)
    loaded_at: dt.datetime


@attrs.frozen
class Refused:
    """A reload that was refused: when, the revision of the files refused, and the error (with diagnostics)."""

    at: dt.datetime
    revision: str
    error: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "revision": self.revision, **self.error}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def revision(policies_dir: str) -> str:
    """A hash of the book's files, each its path relative to the folder and its bytes: equal books, equal revisions."""
    root = Path(policies_dir)
    digest = hashlib.sha256()
    for path in sorted(with_shared(policy_files([root]))):
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        try:  # bounded, and never a FIFO or a device (/dev/zero was read until memory ran out)
            data = read_bytes(path, MAX_FILE_BYTES, regular=True)
        except OSError:  # removed while listed, or not a file the book can hold: the load that follows says so
            data = b"\0unreadable"
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def load_served(policies_dir: str) -> Served:
    """Load (from the cache when unchanged) and fingerprint the book in `policies_dir`. The revision is taken
    before and after the load; a folder that changed meanwhile is loaded again, so a revision always names the
    bytes that were loaded (after LOAD_ATTEMPTS changing reads, the last load is served with its later revision
    and the next change event loads it again)."""
    before = revision(policies_dir)
    for _ in range(LOAD_ATTEMPTS):
        book = load(policies_dir, cached=True)
        after = revision(policies_dir)
        if after == before:
            break
        before = after
    return Served(book, after, now())


class Library:
    """The book being served, swapped whole by `reload`; `reloads` and `failed` count what `/metrics` reports."""

    def __init__(self, policies_dir: str, served: Served) -> None:
        self.policies_dir = policies_dir
        self.current = served
        self.refused: Refused | None = None
        self.on_reload: Callable[[bool], None] = lambda ok: None  # told of each reload, swapped in or refused
        self._lock = asyncio.Lock()

    def status(self) -> dict[str, Any]:
        served = self.current
        return {"revision": served.revision, "loaded_at": served.loaded_at.isoformat(),
                "policies": len(served.book.compiled), "policies_dir": self.policies_dir,
                "last_refused": self.refused.to_dict() if self.refused is not None else None}

    async def reload(self) -> bool:
        """Load the folder again (in a worker thread: requests go on being answered) and swap it in if clean.
        True when a new revision is now served; an unchanged folder (a touched file, an editor's temp file)
        changes nothing. One reload at a time: a change during a reload is loaded by the next one."""
        async with self._lock:
            try:
                served = await asyncio.to_thread(load_served, self.policies_dir)
            except PolicyDslError as exc:
                return self._refuse(exc)
            old = self.current
            if served.revision == old.revision:
                return False
            self.current = served  # the swap: requests from now on decide with the new book
            self.on_reload(True)
            LOG.warning(s("reloaded", i18n.default_lang(), old=old.revision[:12], new=served.revision[:12],
                          count=len(served.book.compiled)))
            return True

    def _refuse(self, exc: PolicyDslError) -> bool:
        files = revision(self.policies_dir)
        if self.refused is not None and self.refused.revision == files:
            return False  # the same broken files again: counted and logged once
        self.refused = Refused(now(), files, exc.to_dict()["error"])
        self.on_reload(False)
        count = sum(d.is_problem for d in exc.diagnostics) if isinstance(exc, PolicyLoadError) else 1
        LOG.warning(s("refused", i18n.default_lang(), revision=self.current.revision[:12], count=count))
        return False


DEBOUNCE_MS = 200
POLL_SECONDS = 2.0
"""How often the folder's revision is also compared with the served one (see `watch`)."""


async def watch(library: Library, stop: asyncio.Event) -> None:
    """Reload `library` after every settled change under its folder until `stop` is set, two ways at once:
    - watchfiles (inotify) reacts within DEBOUNCE_MS, the events of one save (an editor's rename dance, a
      `git checkout` of many files) batched into one reload;
    - every POLL_SECONDS the folder's revision is compared with the served one and the last refused one,
      which catches what inotify cannot see: a folder deleted and made again or renamed over (a deploy), a
      symlink switched to another release, a network file system. Reading the book's files costs about a
      millisecond here."""
    await asyncio.gather(_notified(library, stop), _polled(library, stop))


async def _notified(library: Library, stop: asyncio.Event) -> None:
    from watchfiles import awatch

    try:
        async for _ in awatch(library.policies_dir, stop_event=stop, debounce=DEBOUNCE_MS, recursive=True,
                              ignore_permission_denied=True):
            await library.reload()
    except (OSError, RuntimeError) as exc:  # the watcher itself failed (inotify's limits): the polling goes on
        LOG.warning(s("unwatched", i18n.default_lang(), reason=str(exc) or type(exc).__name__))


async def _polled(library: Library, stop: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_SECONDS)
            return
        files = await asyncio.to_thread(revision, library.policies_dir)
        refused = library.refused
        if files != library.current.revision and (refused is None or files != refused.revision):
            await library.reload()
