"""Generated code on disk, keyed by a content hash of the policy's checked model and the policydsl
version: loading an unchanged book skips generating it. A cache that is missing, corrupt or not
writable is never an error: the code is generated again."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any


FORMAT = "1"
MAX_ENTRIES = 2000
"""Entries kept: a write that finds more removes the least recently used (a hit touches its entry) down
to three quarters of this, so the folder never grows without bound as books are edited."""


def folder() -> Path | None:
    if os.environ.get("POLICYDSL_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "policydsl"


@functools.cache
def version() -> str:
    """The policydsl version, the Python bytecode's (marshalled code is only read by the Python that wrote
    it) and the source of the generator, of the linker that reads what it stored and of the runtime its code
    calls, as imported (an edited generator, linker or runtime is a new version; a process that imported the
    old one keeps its own key, so it never stores old code under the new key). Computed when first asked: a
    book loaded whole from the cache (book_cache.py) imports neither the generator nor importlib.metadata."""
    from importlib import metadata

    from policydsl.compile import codegen, link
    from policydsl.runtime import program

    try:
        package = metadata.version("policydsl")
    except metadata.PackageNotFoundError:
        package = "unknown"
    digest = hashlib.sha256()
    for module in (codegen, link, program):
        digest.update(Path(module.__file__).read_bytes())  # type: ignore[arg-type]
    return f"{package} {sys.implementation.cache_tag} {digest.hexdigest()}"


def key(spec: dict[str, Any]) -> str:
    digest = hashlib.sha256(f"{FORMAT} {version()}\n".encode())
    digest.update(canonical(spec).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def canonical(value: Any) -> str:
    """A text of `value` that does not depend on string hashing (sets sorted)."""
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{canonical(k)}:{canonical(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(canonical(v) for v in value) + ")"
    return f"{type(value).__name__}:{value!r}"


def load(name: str) -> Any:
    stored = read(f"{name}.bin")
    return stored if isinstance(stored, tuple) and len(stored) == 4 and isinstance(stored[0], bytes) else None


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
