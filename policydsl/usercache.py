"""Files in the per-user cache folder (XDG_CACHE_HOME/policydsl, else ~/.cache/policydsl, absolute paths only;
none with POLICYDSL_NO_CACHE): what is stored there runs as code or builds a parser, so an entry is read only when this user
wrote it and nobody else may write it or its folder, and it is written atomically into a folder created 0700.
A cache that is missing, corrupt or not writable is never an error, only a miss. Its users: the generated code
of each policy (compile/cache.py), whole books (compile/book_cache.py) and the parser's tables (syntax/parser.py)."""
from __future__ import annotations

import contextlib
import os
import pickle
from pathlib import Path
from typing import Any


MAX_ENTRIES = 2000
"""Entries kept: a write that finds more removes the least recently used (a hit touches its entry) down
to three quarters of this, so the folder never grows without bound as books are edited."""


def folder() -> Path | None:
    """The cache folder: an absolute path only. A relative one (XDG_CACHE_HOME=cache, which the XDG spec says to
    ignore, or no home directory: HOME relative, or unset for a user the system does not list, and `~` stays `~`)
    was the current folder's: a checkout holding cache/policydsl/grammar-….bin, files this user owns, ran them."""
    if os.environ.get("POLICYDSL_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "policydsl" if os.path.isabs(base) else None


def read(filename: str) -> Any:
    """The object stored in the cache folder under `filename`, or None (no cache, absent, unreadable,
    corrupt, or a file this user did not write or others may write: what it holds runs as code)."""
    base = folder()
    if base is None:
        return None
    path = base / filename
    try:
        if not _ours(path):  # the code it holds runs: only a file this user wrote and no one else can
            return None
        stored = pickle.loads(path.read_bytes())
        os.utime(path)  # used: the last to be pruned
        return stored
    except Exception:  # noqa: BLE001 - absent, unreadable or corrupt: generate again
        return None


def prune(base: Path) -> None:
    """Remove the least recently used entries when there are more than MAX_ENTRIES."""
    entries = [e for e in os.scandir(base) if e.name.endswith(".bin") and e.is_file(follow_symlinks=False)]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime)
    for entry in entries[:len(entries) - MAX_ENTRIES * 3 // 4]:
        with contextlib.suppress(OSError):  # removed meanwhile by another process: fine
            os.unlink(entry.path)


def _ours(path: Path) -> bool:
    """The file and its folder belong to this user and nobody else may write them."""
    if not hasattr(os, "getuid"):  # (no owners to compare on this platform)
        return True
    for item in (path.parent, path):
        info = item.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            return False
    return True


def write(filename: str, stored: Any) -> None:
    """Store `stored` under `filename`, atomically; a cache that cannot be written is not an error."""
    base = folder()
    if base is None:
        return
    import tempfile  # (only a miss writes: a hit does not import it)

    # not writable (or not picklable): the next load generates again
    with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(dir=base, prefix=f".{filename}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, base / filename)  # atomic: a reader sees the old file or the new one
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        prune(base)
