"""Files in the per-user cache folder (XDG_CACHE_HOME/policydsl, else ~/.cache/policydsl, absolute paths only;
none with POLICYDSL_NO_CACHE): what is stored there runs as code or builds a parser, so an entry is read only when this user
wrote it and nobody else may write it or its folder, and it is written atomically into a folder created 0700.
Each entry is signed (HMAC-SHA256) with a secret of this user's kept outside XDG_CACHE_HOME (`key`): a folder
named there may lie in a checkout (CI setting XDG_CACHE_HOME=$PROJECT/.cache), whose files the user owns, and an
entry committed to the repository would otherwise have been read as one policydsl wrote.
A cache that is missing, corrupt or not writable is never an error, only a miss. Its users: the generated code
of each policy (compile/cache.py), whole books (compile/book_cache.py) and the parser's tables (syntax/parser.py)."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pickle
import secrets
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


KEY_BYTES = 32
_KEYS: dict[str, bytes] = {}  # key file -> its secret, once read (a book's load reads some 20 entries)


def key() -> bytes | None:
    """This user's secret for signing entries: ~/.cache/policydsl.key, 32 random bytes made on first use (0600),
    whatever XDG_CACHE_HOME says. None (no cache) without an absolute home, or when the file is not this user's
    alone (another user could read it and sign entries, or write it)."""
    home = os.path.expanduser("~")
    if not os.path.isabs(home):
        return None
    path = Path(home) / ".cache" / "policydsl.key"
    if str(path) in _KEYS:
        return _KEYS[str(path)]
    try:
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(KEY_BYTES))
        if hasattr(os, "getuid"):  # the key this user's alone, in a folder no one else may write
            info, parent = os.lstat(path), os.stat(path.parent)
            if info.st_uid != os.getuid() or info.st_mode & 0o077 or not os.path.isfile(path) or os.path.islink(path) \
                    or parent.st_uid != os.getuid() or parent.st_mode & 0o022:
                return None
        secret = path.read_bytes()
    except OSError:  # (made meanwhile by another process: its bytes may not be written yet, a miss this time)
        return None
    if len(secret) != KEY_BYTES:
        return None
    _KEYS[str(path)] = secret
    return secret


def _mac(secret: bytes, filename: str, payload: bytes) -> bytes:
    """The entry's signature: of its name and its bytes (about 2 ms for the book's 1.3 MB entry)."""
    mac = hmac.new(secret, filename.encode() + b"\0", hashlib.sha256)
    mac.update(payload)
    return mac.digest()


def read(filename: str) -> Any:
    """The object stored in the cache folder under `filename`, or None (no cache, absent, unreadable,
    corrupt, or a file this user did not write or others may write: what it holds runs as code)."""
    base = folder()
    if base is None:
        return None
    path = base / filename
    try:
        secret = key()
        if secret is None or not _ours(path):  # the code it holds runs: only a file this user wrote, no one else can
            return None
        data = path.read_bytes()
        mac, payload = data[:hashlib.sha256().digest_size], data[hashlib.sha256().digest_size:]
        if not hmac.compare_digest(mac, _mac(secret, filename, payload)):  # not signed by this user's secret
            return None
        stored = pickle.loads(payload)
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
    base, secret = folder(), key()
    if base is None or secret is None:
        return
    import tempfile  # (only a miss writes: a hit does not import it)

    # not writable (or not picklable): the next load generates again
    with contextlib.suppress(OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        payload = pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL)
        data = _mac(secret, filename, payload) + payload
        fd, tmp = tempfile.mkstemp(dir=base, prefix=f".{filename}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, base / filename)  # atomic: a reader sees the old file or the new one
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        prune(base)
