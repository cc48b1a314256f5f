"""The cache of generated code (policydsl/compile/cache.py): an unchanged book loads without generating
its code again; a corrupt entry, or one another user could have written, is generated again, never run."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

import policydsl
from policydsl.compile import compiler

from conftest import POLICIES

FACTS = {"account": {"kind": "personal", "fans": 999, "real_name": True}, "product": {"special_category": False}}


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("POLICYDSL_NO_CACHE", raising=False)
    return tmp_path / "policydsl"


def _decide() -> str:
    decision = policydsl.load(POLICIES).evaluate("cart.opening", FACTS, dt.date(2023, 12, 20))
    return f"{decision.outcome} {[r.code for r in decision.reasons]}"


def _generations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the policies whose code is generated (not loaded from the cache)."""
    generated: list[str] = []
    real = compiler.Generator

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, model, policy) -> None:
            generated.append(policy.id)
            super().__init__(model, policy)
    monkeypatch.setattr(compiler, "Generator", Counting)
    return generated


def test_an_unchanged_book_loads_without_generating_its_code(cache_dir: Path, monkeypatch) -> None:
    generated = _generations(monkeypatch)
    first = _decide()
    assert len(generated) >= 18 and len(list(cache_dir.glob("*.bin"))) == len(generated)
    if hasattr(os, "getuid"):
        assert cache_dir.stat().st_mode & 0o777 == 0o700
    generated.clear()
    assert _decide() == first == "deny ['fans_below_threshold']"
    assert generated == []


def test_a_corrupt_entry_is_generated_again(cache_dir: Path, monkeypatch) -> None:
    first = _decide()
    for entry in cache_dir.glob("*.bin"):
        entry.write_bytes(b"not a pickle")
    generated = _generations(monkeypatch)
    assert _decide() == first and len(generated) >= 18


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="no file owners on this platform")
def test_an_entry_others_may_write_is_never_run(cache_dir: Path, monkeypatch) -> None:
    first = _decide()
    for entry in cache_dir.glob("*.bin"):
        entry.chmod(0o666)  # anyone could have put code there
    generated = _generations(monkeypatch)
    assert _decide() == first and len(generated) >= 18


def test_the_cache_keeps_the_recently_used_entries_within_its_limit(cache_dir: Path, monkeypatch) -> None:
    from policydsl import usercache

    _decide()  # the book's entries, just used
    book_entries = sorted(p.name for p in cache_dir.glob("*.bin"))
    old = [cache_dir / f"{i:04d}.bin" for i in range(len(book_entries) + 10)]
    for age, path in enumerate(old):  # entries of books edited long ago, oldest first
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    monkeypatch.setattr(usercache, "MAX_ENTRIES", 4 * len(book_entries) // 3 + 4)  # keeps 3/4: the book's and 3 more
    _decide()  # every entry is a hit: touched, nothing written, nothing pruned
    assert len(list(cache_dir.glob("*.bin"))) == 2 * len(book_entries) + 10
    usercache.write("new.bin", ("code",))  # a miss writes, and prunes the least recently used
    kept = sorted(p.name for p in cache_dir.glob("*.bin"))
    assert len(kept) == (4 * len(book_entries) // 3 + 4) * 3 // 4 > len(book_entries) + 1
    assert set(book_entries) | {"new.bin"} <= set(kept) and "0000.bin" not in kept


def test_the_generated_code_is_the_same_from_one_load_to_the_next() -> None:
    """The functions generated for a policy depend on its text only, not on where its syntax tree sits in memory:
    two loads of the book, held at once (so no object of one shares an address with the other's), generate the
    same source for every function of every policy, aggregates' loop variables included (they were once named
    after id(node) % 997)."""
    import ast as py

    from policydsl.compile.codegen import Generator

    first, second = policydsl.load(POLICIES), policydsl.load(POLICIES)
    assert first.model is not second.model
    for pid in first.model.policies:
        sources = [[py.unparse(m) for m in Generator(book.model, book.model.policies[pid]).modules()]
                   for book in (first, second)]
        assert sources[0] == sources[1], pid
    aggregates = [py.unparse(m) for m in Generator(first.model, first.model.policies["shop.deposit"]).modules()]
    assert any("a0_0" in text for text in aggregates)


def test_the_parsers_tables_are_built_once_and_read_back(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """syntax/parser.py keeps Lark's tables in the cache: a process that parses reads them instead of building
    them (0.14 s a start); a spoilt entry, or one others may write, is built again and parses as well."""
    import lark

    from policydsl.source import SourceFile
    from policydsl.syntax import parser

    text = (POLICIES / "shop_deposit.policy").read_text(encoding="utf-8")
    built: list[int] = []
    real = lark.Lark.__init__

    def building(self: lark.Lark, *args: object, **kwargs: object) -> None:
        built.append(1)
        real(self, *args, **kwargs)
    monkeypatch.setattr(lark.Lark, "__init__", building)

    def fresh_parse() -> object:
        parser._lark.cache_clear()  # as a new process starts
        module, diagnostics = parser.parse(SourceFile(path="shop_deposit.policy", text=text))
        assert module is not None and diagnostics == []
        return module
    try:
        first = fresh_parse()
        (entry,) = cache_dir.glob("grammar-*.bin")
        assert fresh_parse() == first and len(built) == 1  # read back, not built
        entry.write_bytes(b"spoilt")
        assert fresh_parse() == first and len(built) == 2 and entry.read_bytes() != b"spoilt"  # built and stored again
        entry.chmod(0o666)  # writable by others: never read, built again
        assert fresh_parse() == first and len(built) == 3
    finally:
        parser._lark.cache_clear()


@pytest.mark.parametrize("env", [{"XDG_CACHE_HOME": "cache"}, {"XDG_CACHE_HOME": "", "HOME": "."},
                                 {"XDG_CACHE_HOME": "{repo}/.cache"}])
def test_entries_planted_in_a_checkout_are_never_read(tmp_path: Path, env: dict[str, str]) -> None:
    """A relative cache folder was the current one's: a checkout holding cache/policydsl/grammar-….bin (or, with
    no home directory, ~/.cache/policydsl/…: `~` stays `~`), files this user owns, had them run as code by `check`.
    XDG_CACHE_HOME relative is ignored (as the XDG spec says), and without an absolute home there is no cache. An
    absolute XDG_CACHE_HOME inside the checkout (CI's XDG_CACHE_HOME=$PROJECT/.cache) passed the owner check too:
    entries are now signed with a secret kept in the home's ~/.cache, which a checkout cannot hold."""
    import pickle
    import subprocess
    import sys

    def check(cwd: Path, **more: str) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if k not in ("POLICYDSL_NO_CACHE", "XDG_CACHE_HOME")}
        return subprocess.run([sys.executable, "-m", "policydsl.cli", "check", str(POLICIES)], cwd=cwd,
                              capture_output=True, text=True, timeout=120, env={**base, "POLICYDSL_LANG": "en", **more})
    warm = tmp_path / "warm"
    assert check(tmp_path, XDG_CACHE_HOME=str(warm)).returncode == 0
    names = [entry.name for entry in (warm / "policydsl").glob("*.bin")]
    assert any(name.startswith("grammar-") for name in names)
    marker = tmp_path / "ran"

    class Planted:
        def __reduce__(self) -> tuple[object, ...]:
            return (open, (str(marker), "w"))
    repo = tmp_path / "repo"
    for folder in (repo / "cache" / "policydsl", repo / "." / ".cache" / "policydsl"):
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).write_bytes(pickle.dumps(Planted()))
    done = check(repo, **{k: v.format(repo=repo) for k, v in env.items()})
    assert (done.returncode, marker.exists()) == (0, False), done.stdout + done.stderr


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="no file owners on this platform")
def test_entries_are_signed_with_a_secret_of_the_users_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policydsl import usercache

    def home(name: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.setenv("HOME", str(folder))
        return folder
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "shared-cache"))
    monkeypatch.delenv("POLICYDSL_NO_CACHE", raising=False)
    first = home("first")
    usercache.write("entry.bin", {"code": 1})
    assert usercache.read("entry.bin") == {"code": 1}
    key = first / ".cache" / "policydsl.key"
    assert (len(key.read_bytes()), oct(key.stat().st_mode & 0o777)) == (32, "0o600")
    entry = tmp_path / "shared-cache" / "policydsl" / "entry.bin"
    signed = entry.read_bytes()
    entry.write_bytes(signed[:-1] + bytes([signed[-1] ^ 1]))  # the payload changed, the signature kept
    assert usercache.read("entry.bin") is None
    entry.write_bytes(signed)
    home("second")  # another home's secret: the entry is not its
    assert usercache.read("entry.bin") is None
    third = home("third")
    (third / ".cache").mkdir()
    (third / ".cache" / "policydsl.key").write_bytes(bytes(32))
    (third / ".cache" / "policydsl.key").chmod(0o644)  # readable by others: anyone could sign with it
    assert usercache.key() is None and usercache.read("entry.bin") is None
