"""The cache of the checked, compiled book (policydsl/compile/book_cache.py) behind `eval`: a warm `eval`
prints what a cold one prints without importing the parser, the checker or any extra; an edited file, a
new policydsl source, or an entry that is corrupt or that others could have written is loaded again and
rewritten; a book with errors is never stored and reports the same diagnostics every time."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import policydsl
from policydsl import loader
from policydsl.compile import book_cache

from conftest import POLICIES, ROOT

MERCHANT = ROOT / "examples" / "merchant.json"
EVAL = ("eval", "cart.opening", "--facts", str(MERCHANT), "--ignore-unknown", "--at", "2024-06-01")
HEAVY = ("lark", "jinja2", "z3", "pygls", "lsprotocol", "pytest", "_pytest", "pytest_bdd", "pygments")
FRONT_END = ("policydsl.semantics.check", "policydsl.syntax.parser", "policydsl.compile.codegen",
             "policydsl.compile.compiler", "policydsl.semantics.model", "policydsl.syntax.ast")
# the CLI's main in a fresh process, then the modules it imported (after a line no output contains)
DRIVER = ("import sys\nfrom policydsl.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n"
          "    code = exc.code\nprint('\\n@@MODULES', *sorted(sys.modules))\nsys.exit(code)\n")


@pytest.fixture
def cache_home(tmp_path: Path) -> Path:
    home = tmp_path / "cache_home"
    home.mkdir()
    return home


def _env(cache_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("POLICYDSL_LANG", "POLICYDSL_DEBUG", "POLICYDSL_NO_CACHE")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONUTF8="1", POLICYDSL_LANG="en", XDG_CACHE_HOME=str(cache_home))
    return env


def run(cache_home: Path, *args: str, cwd: Path = ROOT) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The CLI in a fresh interpreter with its own cache folder: the result (stdout without the module
    list) and the modules the process imported."""
    result = subprocess.run([sys.executable, "-c", DRIVER, *args], cwd=cwd, capture_output=True, text=True,
                            encoding="utf-8", env=_env(cache_home), timeout=120)
    out, _, modules = result.stdout.rpartition("\n@@MODULES")
    return subprocess.CompletedProcess(result.args, result.returncode, out, result.stderr), set(modules.split())


def entries(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "policydsl").glob("book-*.bin"))


def assert_warm(modules: set[str]) -> None:
    """The process decided from the cached book: no parser, checker, generator or extra was imported."""
    assert "policydsl.compile.book_cache" in modules
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in FRONT_END)
    assert loaded == [], loaded


def assert_cold(modules: set[str]) -> None:
    assert "policydsl.semantics.check" in modules and "lark" in modules


@pytest.mark.parametrize("args", [
    (*EVAL, "--policies", str(POLICIES), "--json"),
    (*EVAL, "--policies", str(POLICIES), "--lang", "zh"),
    (*EVAL, "--policies", str(POLICIES), "--explain"),
    ("eval", "--book", "--facts", str(MERCHANT), "--at", "2023-12-20", "--policies", str(POLICIES), "--json"),
    ("eval", "--book", "--facts", str(MERCHANT), "--at", "2023-12-20", "--policies", str(POLICIES)),
], ids=["json", "zh", "explain", "book-json", "book"])
def test_a_warm_eval_prints_what_a_cold_one_prints(cache_home: Path, args: tuple[str, ...]) -> None:
    cold, cold_modules = run(cache_home, *args)
    assert cold.returncode == 0, cold.stderr
    assert_cold(cold_modules)
    assert len(entries(cache_home)) == 1
    warm, warm_modules = run(cache_home, *args)
    assert_warm(warm_modules)
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    uncached = subprocess.run([sys.executable, "-m", "policydsl.cli", *args], cwd=ROOT, capture_output=True,
                              text=True, encoding="utf-8", env={**_env(cache_home), "POLICYDSL_NO_CACHE": "1"},
                              timeout=120)
    assert (uncached.returncode, uncached.stdout, uncached.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    if "--json" in args:
        json.loads(warm.stdout)


def test_a_warm_eval_reports_a_bad_record_as_a_cold_one_does(cache_home: Path, tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text('{"account": {"kind": "personal", "fanz": 1}}', encoding="utf-8")
    args = ("eval", "cart.opening", "--facts", str(facts), "--at", "2024-06-01", "--policies", str(POLICIES))
    cold, _ = run(cache_home, *args)
    warm, modules = run(cache_home, *args)
    assert_warm(modules)
    assert cold.returncode == warm.returncode == 2
    assert warm.stderr == cold.stderr and "account.fanz" in warm.stderr
    unknown, modules = run(cache_home, "eval", "cart.openin", *args[2:])  # a policy the book lacks: did you mean
    assert_warm(modules)
    assert unknown.returncode == 2 and "cart.opening" in unknown.stderr


def _copy_book(tmp_path: Path) -> Path:
    book = tmp_path / "policies"
    shutil.copytree(POLICIES, book)
    return book


def test_editing_a_policy_file_loads_the_book_again(cache_home: Path, tmp_path: Path) -> None:
    book = _copy_book(tmp_path)
    args = (*EVAL, "--policies", str(book), "--json")
    first, _ = run(cache_home, *args)
    assert json.loads(first.stdout)["values"] == {"cart.min_fans": 1000}
    path = book / "cart_opening.policy"
    path.write_text(path.read_text(encoding="utf-8").replace("  = 1000 from 2023-01-01", "  = 1200 from 2023-01-01"),
                    encoding="utf-8")
    edited, modules = run(cache_home, *args)
    assert_cold(modules)
    assert json.loads(edited.stdout)["values"] == {"cart.min_fans": 1200}
    assert len(entries(cache_home)) == 1  # one per book: the edited book's entry replaced the old one
    again, modules = run(cache_home, *args)
    assert_warm(modules)
    assert again.stdout == edited.stdout


def test_a_new_file_beside_the_book_loads_it_again(cache_home: Path, tmp_path: Path) -> None:
    book = _copy_book(tmp_path)
    args = (*EVAL, "--policies", str(book), "--json")
    first, _ = run(cache_home, *args)
    (book / "extra.policy").write_text("unit widget \"件\" / \"widgets\"\n", encoding="utf-8")
    second, modules = run(cache_home, *args)
    assert_cold(modules)
    assert second.stdout == first.stdout and len(entries(cache_home)) == 2  # another set of files: its own entry


def _corrupt(entry: Path) -> None:
    entry.write_bytes(b"not a pickle")


def _foreign_writable(entry: Path) -> None:
    entry.chmod(0o666)  # anyone could have put code there


def _folder_group_writable(entry: Path) -> None:
    entry.parent.chmod(0o770)


def _truncated(entry: Path) -> None:
    entry.write_bytes(entry.read_bytes()[:1000])


def _one_byte_changed(entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside some policy's stored code: the entry's hash no longer matches
    entry.write_bytes(bytes(data))


def _other_shape(entry: Path) -> None:
    import pickle

    entry.write_bytes(pickle.dumps({"format": book_cache.FORMAT, "policies": [({"id": "x"}, (b"", (), (), ()))]}))


@pytest.mark.parametrize("spoil", [_corrupt, _truncated, _one_byte_changed, _other_shape,
                                   pytest.param(_foreign_writable, marks=pytest.mark.skipif(
                                       not hasattr(os, "getuid"), reason="no file owners on this platform")),
                                   pytest.param(_folder_group_writable, marks=pytest.mark.skipif(
                                       not hasattr(os, "getuid"), reason="no file owners on this platform"))])
def test_a_spoilt_entry_is_ignored_and_written_again(cache_home: Path, spoil) -> None:
    args = (*EVAL, "--policies", str(POLICIES), "--json")
    first, _ = run(cache_home, *args)
    (entry,) = entries(cache_home)
    spoil(entry)
    second, modules = run(cache_home, *args)
    assert_cold(modules)
    assert (second.returncode, second.stdout, second.stderr) == (first.returncode, first.stdout, first.stderr)
    if spoil is _folder_group_writable:  # a folder others may write is never trusted: every run loads the book
        again, modules = run(cache_home, *args)
        assert_cold(modules)
        assert again.stdout == first.stdout
        entry.parent.chmod(0o700)
    (entry,) = entries(cache_home)
    if hasattr(os, "getuid"):
        assert entry.stat().st_mode & 0o777 == 0o600
    third, modules = run(cache_home, *args)
    assert_warm(modules)
    assert third.stdout == first.stdout


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file away")
def test_an_entry_another_user_owns_is_ignored_and_replaced(cache_home: Path) -> None:
    args = (*EVAL, "--policies", str(POLICIES), "--json")
    first, _ = run(cache_home, *args)
    (entry,) = entries(cache_home)
    os.chown(entry, 4242, -1)
    second, modules = run(cache_home, *args)
    assert_cold(modules)
    assert second.stdout == first.stdout
    assert entry.stat().st_uid == os.getuid()  # replaced by this user's own


BROKEN = "  = 1000 from 2023-01-01\n"


def test_a_book_with_errors_is_never_cached_and_reports_the_same_diagnostics(cache_home: Path,
                                                                            tmp_path: Path) -> None:
    book = _copy_book(tmp_path)
    path = book / "cart_opening.policy"
    path.write_text(path.read_text(encoding="utf-8").replace(BROKEN, "  = 1000 fro 2023-01-01\n"), encoding="utf-8")
    args = (*EVAL, "--policies", str(book))
    first, _ = run(cache_home, *args)
    second, _ = run(cache_home, *args)
    assert first.returncode == second.returncode == 2
    assert first.stderr == second.stderr and "cart_opening.policy:13" in first.stderr
    assert first.stdout == second.stdout == ""
    assert entries(cache_home) == []
    uncached = subprocess.run([sys.executable, "-m", "policydsl.cli", *args], cwd=ROOT, capture_output=True,
                              text=True, encoding="utf-8", env={**_env(cache_home), "POLICYDSL_NO_CACHE": "1"},
                              timeout=120)
    assert (uncached.returncode, uncached.stderr) == (2, first.stderr)
    as_json, _ = run(cache_home, *args, "--json")
    assert json.loads(as_json.stdout)["error"]["diagnostics"] and entries(cache_home) == []


def test_a_book_that_was_cached_then_broken_reports_its_errors(cache_home: Path, tmp_path: Path) -> None:
    book = _copy_book(tmp_path)
    args = (*EVAL, "--policies", str(book))
    good, _ = run(cache_home, *args)
    assert good.returncode == 0 and len(entries(cache_home)) == 1
    path = book / "cart_opening.policy"
    path.write_text(path.read_text(encoding="utf-8").replace(BROKEN, "  = 1000 fro 2023-01-01\n"), encoding="utf-8")
    broken, _ = run(cache_home, *args)
    assert broken.returncode == 2 and "cart_opening.policy:13" in broken.stderr
    assert len(entries(cache_home)) == 1


# ------------------------------------------------------------------ in process: the loader's side
@pytest.fixture
def in_process_cache(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.delenv("POLICYDSL_NO_CACHE", raising=False)
    return cache_home


def _analyses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the loads that parse and check the book."""
    seen: list[int] = []
    real = loader.analyse_sources

    def counting(*args, **kwargs):
        seen.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(loader, "analyse_sources", counting)
    return seen


FACTS = {"account": {"kind": "personal", "fans": 999, "real_name": True}, "product": {"special_category": False}}


def test_a_cached_book_decides_as_the_checked_one(in_process_cache: Path, monkeypatch) -> None:
    import datetime as dt

    analyses = _analyses(monkeypatch)
    checked = policydsl.load(POLICIES, cached=True)
    cached = policydsl.load(POLICIES, cached=True)
    assert analyses == [1]
    assert isinstance(cached.model, book_cache.NoModel)
    assert list(cached.compiled) == list(checked.compiled)  # each built when first read
    assert cached.diagnostics == checked.diagnostics
    at = dt.date(2023, 12, 20)
    for name in ("cart.opening", "抖音购物车开通资格", "Douyin shopping cart opening"):
        assert cached.find(name).id == "cart.opening"
        assert cached.evaluate(name, FACTS, at).to_dict() == checked.evaluate(name, FACTS, at).to_dict()
    record = json.loads(MERCHANT.read_text(encoding="utf-8"))
    assert cached.evaluate_all(record, at).to_dict() == checked.evaluate_all(record, at).to_dict()
    with pytest.raises(AttributeError, match="cached=True"):
        cached.model.enums  # noqa: B018 - anything beyond deciding needs the checked book
    assert not isinstance(policydsl.load(POLICIES).model, book_cache.NoModel)  # only when asked


def test_another_policydsl_source_loads_the_book_again(in_process_cache: Path, monkeypatch) -> None:
    analyses = _analyses(monkeypatch)
    policydsl.load(POLICIES, cached=True)
    monkeypatch.setattr(book_cache, "_digest", "another version of policydsl")
    policydsl.load(POLICIES, cached=True)
    policydsl.load(POLICIES, cached=True)
    assert analyses == [1, 1]
    assert len(entries(in_process_cache)) == 1


def test_the_key_is_every_file_with_its_path_and_the_package_source() -> None:
    from policydsl.source import SourceFile

    one = [SourceFile(path="a.policy", text="x"), SourceFile(path="b.policy", text="y")]
    place, content = book_cache.key(one)
    assert book_cache.key(one) == book_cache.key([SourceFile(path="a.policy", text="x"),
                                                  SourceFile(path="b.policy", text="y")])
    edited = book_cache.key([SourceFile(path="a.policy", text="xy"), SourceFile(path="b.policy", text="")])
    assert edited[0] == place and edited[1] != content  # the same book's place, another content
    for other in (book_cache.key([SourceFile(path="c.policy", text="x"), one[1]]), book_cache.key(one[:1])):
        assert other[0] != place and other[1] != content
    assert (Path(book_cache.__file__).resolve().parent.parent / "syntax" / "grammar.lark") in \
        book_cache._package_files(book_cache._PACKAGE)


def test_no_cache_folder_means_no_cache(cache_home: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    monkeypatch.setenv("POLICYDSL_NO_CACHE", "1")
    analyses = _analyses(monkeypatch)
    policydsl.load(POLICIES, cached=True)
    policydsl.load(POLICIES, cached=True)
    assert analyses == [1, 1] and not (cache_home / "policydsl").exists()


def test_a_package_whose_source_cannot_be_read_loads_without_the_cache(in_process_cache: Path, monkeypatch) -> None:
    def unreadable() -> str:
        raise OSError("no listing")
    monkeypatch.setattr(book_cache, "package_digest", unreadable)  # (say, policydsl imported from a zip)
    analyses = _analyses(monkeypatch)
    policydsl.load(POLICIES, cached=True)
    policydsl.load(POLICIES, cached=True)
    assert analyses == [1, 1] and entries(in_process_cache) == []


def test_a_cached_book_has_every_field_a_loaded_one_has(in_process_cache: Path) -> None:
    """A field PolicySet derives in __attrs_post_init__ must be restored too (book_cache.restore)."""
    import attrs

    policydsl.load(POLICIES, cached=True)
    cached = policydsl.load(POLICIES, cached=True)
    assert isinstance(cached.model, book_cache.NoModel)
    fresh = policydsl.load(POLICIES)
    missing = [f.name for f in attrs.fields(loader.PolicySet) if not hasattr(cached, f.name)]
    assert missing == []
    # a field the load derives from the model (None until then) is stored, not left to its default
    unset = [f.name for f in attrs.fields(loader.PolicySet)
             if getattr(fresh, f.name) is not None and getattr(cached, f.name) is None]
    assert unset == []
    assert cached.index == fresh.index and cached.book is not None
