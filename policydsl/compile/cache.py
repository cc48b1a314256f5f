"""Generated code on disk, keyed by a content hash of the policy's checked model and the policydsl
version: loading an unchanged book skips generating it. A cache that is missing, corrupt or not
writable is never an error: the code is generated again."""
from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path
from typing import Any

from policydsl import usercache


FORMAT = "1"


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
    stored = usercache.read(f"{name}.bin")
    return stored if isinstance(stored, tuple) and len(stored) == 4 and isinstance(stored[0], bytes) else None
