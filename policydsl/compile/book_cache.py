"""A checked, compiled book on disk, keyed by what it was loaded from: every file's path and text, the
Python that runs it and the policydsl package's own source. A hit gives back the book's parts (each
policy's spec and generated code, the vocabulary, the warnings, and what deciding reads of the checked
model: runtime.book.BookIndex) without parsing, checking or generating anything; `loader.load(..., cached=True)` is the
one caller. Entries live beside the generated code, with the cache folder's rules (usercache.py): a file this user owns and
no one else may write, in a folder created 0700, written atomically; a missing, corrupt or foreign entry
is never an error, only a miss. A book with errors is never stored (the loader raises first).

Each policy is stored as its own pickled blob, built when first read, and the entry carries a hash of all
of them, checked when it is read: a blob built later is known whole."""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterable, Iterator


from policydsl import usercache

FORMAT = "book 3"
_PACKAGE = Path(__file__).resolve().parent.parent


def key(sources: Iterable[Any]) -> tuple[str, str] | None:
    """Where the book's entry lives and what it must hold. The place: the hash of its files' absolute paths
    (one entry per book, which an edited book replaces rather than adds to). The content: the hash of its
    files (path and text, in load order), the Python and policydsl's source."""
    try:
        version = package_digest()
    except OSError:  # a package whose files cannot be listed (say, in a zip): no version, no cache
        return None
    place = hashlib.sha256(FORMAT.encode())
    digest = hashlib.sha256(f"{FORMAT} {sys.implementation.cache_tag} {version}\n".encode())
    for source in sources:
        place.update(f"{os.path.abspath(source.path)}\0".encode("utf-8", "surrogatepass"))
        digest.update(f"{len(source.path)} {source.path} {len(source.text)}\n".encode("utf-8", "surrogatepass"))
        digest.update(source.text.encode("utf-8", "surrogatepass"))
    return place.hexdigest(), digest.hexdigest()


_digest: str | None = None


def package_digest() -> str:
    """The hash of every .py and .lark file of the policydsl package (an edit anywhere is a new version)."""
    global _digest
    if _digest is None:
        digest = hashlib.sha256()
        for path in _package_files(_PACKAGE):
            digest.update(f"{path.relative_to(_PACKAGE).as_posix()}\n".encode())
            digest.update(path.read_bytes())
        _digest = digest.hexdigest()
    return _digest


def _package_files(folder: Path) -> list[Path]:
    out = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_dir() and entry.name != "__pycache__":
            out.extend(_package_files(Path(entry.path)))
        elif entry.name.endswith((".py", ".lark")):
            out.append(Path(entry.path))
    return out


def restore(book_key: tuple[str, str] | None) -> dict[str, Any] | None:
    """The fields of the PolicySet stored under `book_key`; None when there is no usable entry. Each
    policy is compiled again from its stored code when first asked for (`eval` of one policy builds one)."""
    if book_key is None:
        return None
    entry = usercache.read(_filename(book_key))
    try:
        if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != book_key[1]:
            return None
        if _check(entry) != entry["check"]:
            return None
        book = None if entry["book"] is None else build(*pickle.loads(entry["book"]))
        compiled = Compiled(entry["policies"])
        return {"model": NoModel(compiled), "compiled": compiled, "diagnostics": list(entry["diagnostics"]),
                "vocabulary": entry["vocabulary"], "book": book, "index": entry["index"]}
    except Exception:  # noqa: BLE001 - an entry of another shape: load the book as usual
        return None


def save(book_key: tuple[str, str], policy_set: Any, parts: dict[str, Any]) -> None:
    """Store a book that loaded clean (a PolicySet and its policies' parts, compiler.compile_parts)."""
    from policydsl.compile.compiler import policy_parts

    model = policy_set.model
    book = policy_parts(model, model.book_policy()) if policy_set.book is not None else None
    entry = {
        "format": FORMAT, "key": book_key[1], "policies": {pid: _blob(p) for pid, p in parts.items()},
        "book": None if book is None else _blob(book),
        "index": policy_set.index, "vocabulary": policy_set.vocabulary, "diagnostics": list(policy_set.diagnostics),
    }
    entry["check"] = _check(entry)
    usercache.write(_filename(book_key), entry)


def build(spec: dict[str, Any], stored: tuple[Any, ...]) -> Any:
    from policydsl.compile.link import build as link

    return link(spec, *stored)


class Compiled(Mapping):
    """The compiled policies by id, each built from its stored parts when first read."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self._blobs = blobs
        self._built: dict[str, Any] = {}

    def __getitem__(self, pid: str) -> Any:
        if pid not in self._built:
            self._built[pid] = build(*pickle.loads(self._blobs[pid]))
        return self._built[pid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._blobs)

    def __len__(self) -> int:
        return len(self._blobs)


def _blob(parts: tuple[dict[str, Any], Any]) -> bytes:
    spec, stored = parts
    spec = {k: v for k, v in spec.items() if k != "source"}  # (the fingerprint only keys the code)
    return pickle.dumps((spec, stored), protocol=pickle.HIGHEST_PROTOCOL)


def _check(entry: dict[str, Any]) -> str:
    """The hash of the stored code: a blob built when first read has been checked whole beforehand."""
    digest = hashlib.sha256()
    for blob in (*entry["policies"].values(), entry["book"] or b""):
        digest.update(len(blob).to_bytes(8, "big"))
        digest.update(blob)
    return digest.hexdigest()


def _filename(book_key: tuple[str, str]) -> str:
    return f"book-{book_key[0]}.bin"


class NoModel:
    """The `model` of a book from the cache, which keeps only its compiled policies (`find` gives one)."""

    def __init__(self, policies: Compiled) -> None:
        self.policies = policies

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"a book loaded from the cache keeps no checked model ({name!r}): "
                             "load it without cached=True")
