"""Rewriting a file changes only what the user asked: `fmt`, `inventory --update` and `docs` keep modes,
owners, symlinks and hard links, refuse read-only files, turn real OS failures (a full disk, a file-size
limit, a read-only filesystem) into exit-2 messages naming the path, and leave no temporary files.

Every command runs as a subprocess (`python -m policydsl.cli`). The failures are real, not mocked: a
file-size limit (RLIMIT_FSIZE, so writes fail with EFBIG) set on the child only, and, where this
machine lets us mount (root with mount rights), a tiny tmpfs that is full or remounted read-only.
The tests run as root, which ignores permission bits: a read-only file is refused by its mode, not by
EACCES, so the refusal is tested the same way for root and for everyone else.
"""
from __future__ import annotations

import fcntl
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import POLICIES, ROOT
from policydsl import inventory as inv
from test_docs_support import write_fixture

UNFORMATTED = 'policy x.y\ntitle "标题" / "Title"\n'
FORMATTED = 'policy x.y\n  title "标题" / "Title"\n'  # two bytes longer: an in-place write must grow the file
LOCK_SIGNATURE = b"policydsl docs staging lock\n"
NOBODY = 65534


def run(*args: str, cwd: Path = ROOT, lang: str = "en", fsize: int | None = None, umask: int | None = None,
        user: bool = False, argv: tuple[str, ...] = ("-m", "policydsl.cli")) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter; `fsize` caps the size of any file it writes (RLIMIT_FSIZE, in bytes),
    `user` runs it as the unprivileged user nobody (through setpriv), so permission bits apply."""
    env = {k: v for k, v in os.environ.items() if k not in ("POLICYDSL_LANG", "POLICYDSL_DEBUG")}
    env.update(POLICYDSL_LANG=lang, PYTHONIOENCODING="utf-8", PYTHONUTF8="1", PYTHONDONTWRITEBYTECODE="1")

    def limits() -> None:
        if fsize is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if umask is not None:
            os.umask(umask)

    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if user else []
    return subprocess.run([*prefix, sys.executable, *argv, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120, preexec_fn=limits)


def assert_refused(result: subprocess.CompletedProcess[str], *, path: Path | str, says: str) -> None:
    """Exit 2 with a message on stderr naming `path` and the reason; never an internal error or a traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert str(path) in result.stderr and says in result.stderr, result.stderr
    assert "internal error" not in result.stderr and "内部错误" not in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def policy_file(folder: Path, name: str = "a.policy", text: str = UNFORMATTED, mode: int = 0o644) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---------------------------------------------------------------- modes, owners, read-only files
@pytest.mark.parametrize("bits", [0o644, 0o664, 0o640, 0o755], ids=oct)
def test_fmt_keeps_the_mode_of_the_file(tmp_path: Path, bits: int) -> None:
    path = policy_file(tmp_path, mode=bits)
    result = run("fmt", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert path.read_text(encoding="utf-8") == FORMATTED
    assert mode(path) == bits
    assert names(tmp_path) == ["a.policy"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
def test_fmt_keeps_the_owner_and_group_of_the_file(tmp_path: Path) -> None:
    path = policy_file(tmp_path)
    os.chown(path, 4321, 4322)
    assert run("fmt", str(path), cwd=tmp_path).returncode == 0
    assert path.read_text(encoding="utf-8") == FORMATTED
    assert (path.stat().st_uid, path.stat().st_gid, mode(path)) == (4321, 4322, 0o644)


@pytest.fixture
def shared_folder():
    """A folder everyone may write in, outside the private pytest folders; for tests run as another user."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("running as another user needs root and setpriv (util-linux)")
    if run(argv=("-c", "import policydsl.cli"), user=True).returncode != 0:
        pytest.skip("user nobody cannot run this checkout's Python here")
    folder = Path(tempfile.mkdtemp(prefix="policydsl-shared-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_as_another_user_permission_bits_decide_and_the_owner_is_kept(shared_folder: Path) -> None:
    shared = policy_file(shared_folder, "shared.policy", mode=0o666)  # root's, writable by all
    theirs = policy_file(shared_folder, "theirs.policy", mode=0o644)  # root's, read-only for others
    assert run("fmt", str(shared), cwd=shared_folder, user=True).returncode == 0
    assert shared.read_text(encoding="utf-8") == FORMATTED  # rewritten in place: a new file could not be root's
    assert (shared.stat().st_uid, shared.stat().st_gid, mode(shared)) == (0, 0, 0o666)
    result = run("fmt", str(theirs), cwd=shared_folder, user=True)
    assert_refused(result, path=theirs, says="Permission denied; nothing was changed")
    assert theirs.read_text(encoding="utf-8") == UNFORMATTED and theirs.stat().st_uid == 0
    shared_folder.chmod(0o755)  # no new file may be made beside it
    shared.write_text(UNFORMATTED, encoding="utf-8")
    assert_refused(run("fmt", str(shared), cwd=shared_folder, user=True), path=shared, says="Permission denied")
    assert shared.read_text(encoding="utf-8") == UNFORMATTED
    assert names(shared_folder) == ["shared.policy", "theirs.policy"]


@pytest.mark.parametrize("bits", [0o444, 0o400, 0o044], ids=oct)
def test_fmt_refuses_a_read_only_file_and_check_and_diff_still_read_it(tmp_path: Path, bits: int) -> None:
    path = policy_file(tmp_path, mode=bits)
    for lang, says in (("en", "is read-only and was not rewritten; run `chmod u+w"), ("zh", "是只读文件，未改写")):
        assert_refused(run("fmt", str(path), cwd=tmp_path, lang=lang), path=path, says=says)
    assert path.read_text(encoding="utf-8") == UNFORMATTED and mode(path) == bits
    assert names(tmp_path) == ["a.policy"]
    check = run("fmt", "--check", str(path), cwd=tmp_path)  # --check and --diff write nothing: unaffected
    assert check.returncode == 1 and f"would reformat: {path}" in check.stdout
    diff = run("fmt", "--diff", str(path), cwd=tmp_path)
    assert diff.returncode == 0 and '+  title "标题"' in diff.stdout
    assert path.read_text(encoding="utf-8") == UNFORMATTED


def test_a_new_file_gets_the_umask_default_mode(tmp_path: Path) -> None:
    svg = tmp_path / "chart.svg"
    result = run("rollout", "official_account.own_store_only", "--from", "2023-11-09", "--to", "2023-11-10",
                 "--svg", str(svg), "--policies", str(POLICIES), umask=0o027)
    assert result.returncode == 0, result.stderr
    assert mode(svg) == 0o640
    assert names(tmp_path) == ["chart.svg"]


def readme(folder: Path, bits: int) -> Path:
    folder.mkdir()
    path = folder / "README.md"
    path.write_text(f"# notes\n\n{inv.START}\nstale\n{inv.END}\ntail\n", encoding="utf-8")
    path.chmod(bits)
    return path


def inventory_update(path: Path) -> subprocess.CompletedProcess[str]:
    return run("inventory", "--policies", str(POLICIES), "--features", str(ROOT / "features"), "--update", str(path),
               cwd=path.parent)


def test_inventory_update_keeps_the_mode_and_refuses_a_read_only_file(tmp_path: Path) -> None:
    writable = readme(tmp_path / "w", 0o644)
    assert inventory_update(writable).returncode == 0
    text = writable.read_text(encoding="utf-8")
    assert "stale" not in text and text.endswith(f"{inv.END}\ntail\n") and mode(writable) == 0o644
    inode = writable.stat().st_ino
    writable.chmod(0o444)  # a fresh table is not rewritten at all, so a read-only file is no obstacle
    assert inventory_update(writable).returncode == 0 and writable.stat().st_ino == inode
    assert names(writable.parent) == ["README.md"]

    read_only = readme(tmp_path / "r", 0o444)
    before = read_only.read_text(encoding="utf-8")
    assert_refused(inventory_update(read_only), path=read_only, says="is read-only")
    assert read_only.read_text(encoding="utf-8") == before and mode(read_only) == 0o444
    assert names(read_only.parent) == ["README.md"]


# ---------------------------------------------------------------- symlinks and hard links
def test_fmt_through_a_symlink_formats_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = policy_file(tmp_path / "real", mode=0o640)
    link = tmp_path / "link.policy"
    link.symlink_to(Path("real") / "a.policy")
    result = run("fmt", str(link), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(Path("real") / "a.policy")
    assert target.read_text(encoding="utf-8") == FORMATTED and mode(target) == 0o640
    assert names(tmp_path) == ["link.policy", "real"] and names(tmp_path / "real") == ["a.policy"]


def test_fmt_of_a_hard_linked_file_rewrites_it_in_place(tmp_path: Path) -> None:
    path = policy_file(tmp_path)
    other = tmp_path / "other.policy"
    os.link(path, other)
    inode = path.stat().st_ino
    result = run("fmt", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert path.read_text(encoding="utf-8") == other.read_text(encoding="utf-8") == FORMATTED
    assert path.stat().st_ino == other.stat().st_ino == inode and path.stat().st_nlink == 2
    assert names(tmp_path) == ["a.policy", "other.policy"]  # the backup is gone


# ---------------------------------------------------------------- real OS failures
def test_a_file_size_limit_is_a_clear_error_and_the_file_is_intact(tmp_path: Path) -> None:
    path = policy_file(tmp_path)
    result = run("fmt", str(path), cwd=tmp_path, fsize=0)  # EFBIG on the first byte of the new copy
    assert_refused(result, path=path, says="cannot write")
    assert "File too large; nothing was changed" in result.stderr
    assert path.read_text(encoding="utf-8") == UNFORMATTED and mode(path) == 0o644
    assert names(tmp_path) == ["a.policy"]


def test_an_in_place_rewrite_that_fails_midway_puts_the_old_content_back(tmp_path: Path) -> None:
    path = policy_file(tmp_path)
    os.link(path, tmp_path / "other.policy")
    size = len(UNFORMATTED.encode("utf-8"))  # the backup fits; the longer new text fails part-way through
    result = run("fmt", str(path), cwd=tmp_path, fsize=size)
    assert_refused(result, path=path, says="File too large; nothing was changed")
    assert path.read_text(encoding="utf-8") == (tmp_path / "other.policy").read_text(encoding="utf-8") == UNFORMATTED
    assert names(tmp_path) == ["a.policy", "other.policy"]


@pytest.fixture
def small_fs(tmp_path: Path):
    """A fresh tmpfs of 8 MiB mounted on <tmp>/fs: fill it or remount it read-only; skipped where mounting is impossible."""
    point = tmp_path / "fs"
    point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: a full or read-only filesystem cannot be made here")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(point)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root with mount rights): {made.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def fill(folder: Path) -> None:
    """Use up every free byte of the filesystem holding `folder` (unbuffered, down to the last byte)."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (b"\0" * 65536, b"\0"):
            try:
                while os.write(fd, chunk):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)


def remount_read_only(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True, capture_output=True)


def test_a_full_disk_is_a_clear_error_and_the_file_is_intact(small_fs: Path) -> None:
    path = policy_file(small_fs)
    os.link(path, small_fs / "other.policy")
    single = policy_file(small_fs, "b.policy")
    fill(small_fs)
    for target, link in ((single, None), (path, small_fs / "other.policy")):  # renamed copy / in-place rewrite
        result = run("fmt", str(target), cwd=small_fs)
        assert_refused(result, path=target, says="No space left on device; nothing was changed")
        assert target.read_text(encoding="utf-8") == UNFORMATTED
        assert link is None or link.read_text(encoding="utf-8") == UNFORMATTED
    assert names(small_fs) == ["a.policy", "b.policy", "filler", "other.policy"]


def test_a_read_only_filesystem_is_a_clear_error(small_fs: Path, tmp_path: Path) -> None:
    path = policy_file(small_fs)
    root = write_fixture(tmp_path / "book")
    out = small_fs / "handbook"
    assert run("docs", "--policies", str(root / "policies"), "--features", str(root / "features"),
               "--out", str(out)).returncode == 0
    before = files_of(out)
    remount_read_only(small_fs)
    assert_refused(run("fmt", str(path), cwd=tmp_path), path=path, says="Read-only file system; nothing was changed")
    result = run("docs", "--policies", str(root / "policies"), "--features", str(root / "features"), "--out", str(out))
    assert_refused(result, path=out, says="Read-only file system; the previous handbook is untouched")
    assert_refused(run("docs", "--policies", str(root / "policies"), "--features", str(root / "features"),
                       "--out", str(out), lang="zh"), path=out, says="无法写入手册")
    assert path.read_text(encoding="utf-8") == UNFORMATTED and files_of(out) == before


# ---------------------------------------------------------------- the handbook: failures, staging, symlinks
def docs(root: Path, out: Path, *extra: str, **options) -> subprocess.CompletedProcess[str]:
    return run("docs", "--policies", str(root / "policies"), "--features", str(root / "features"), "--out", str(out),
               *extra, cwd=root, **options)


def test_docs_on_a_full_disk_keeps_the_previous_handbook_and_no_staging_folder(tmp_path: Path) -> None:
    root = write_fixture(tmp_path)
    out = tmp_path / "out"
    assert docs(root, out).returncode == 0
    before = files_of(out)
    result = docs(root, out, fsize=1000)  # the first page larger than 1000 bytes fails with EFBIG
    assert_refused(result, path=out, says="cannot write the handbook")
    assert "File too large; the previous handbook is untouched" in result.stderr
    assert files_of(out) == before
    assert names(tmp_path) == ["features", "out", "policies"]


def stale_run(out: Path, token: str) -> tuple[Path, Path]:
    """What `docs` leaves when killed mid-render: its signed lock file (no longer locked) and its staging folder."""
    lock = out.with_name(f".{out.name}.{token}.lock")
    lock.write_bytes(LOCK_SIGNATURE + b"pid 999999\n")
    staging = out.with_name(f".{out.name}.{token}.new")
    (staging / "zh" / "md").mkdir(parents=True)
    (staging / "zh" / "md" / "index.md").write_text("half a handbook", encoding="utf-8")
    return lock, staging


def test_docs_removes_the_staging_folders_of_killed_runs_and_nothing_else(tmp_path: Path) -> None:
    root = write_fixture(tmp_path / "book")
    out = tmp_path / "out"
    assert docs(root, out).returncode == 0
    stale_run(out, "999999-0badc0de")
    stale_run(out, "4242-00000001")
    # A killed run of the two-rename swap: the previous handbook sits in .old, the folder itself is gone.
    shutil.move(out, out.with_name(f".{out.name}.4242-00000001.old"))
    live_lock, live_staging = stale_run(out, "1-feedface")  # a render still running: its lock is held
    held = os.open(live_lock, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    foreign = [tmp_path / f".{out.name}.mine.new", tmp_path / f".{out.name}.12-abcdef01.new"]  # no signed lock
    for folder in foreign:
        folder.mkdir()
        (folder / "keep.txt").write_text("not yours", encoding="utf-8")
    unsigned = tmp_path / f".{out.name}.77-abcdef02.lock"
    unsigned.write_text("someone else's lock\n", encoding="utf-8")
    (tmp_path / f".{out.name}.77-abcdef02.new").mkdir()
    try:
        result = docs(root, out)
        assert result.returncode == 0, result.stderr
    finally:
        os.close(held)
    assert names(tmp_path) == sorted([
        "book", "out", live_lock.name, live_staging.name, *(f.name for f in foreign), unsigned.name,
        f".{out.name}.77-abcdef02.new"])
    assert all((f / "keep.txt").read_text(encoding="utf-8") == "not yours" for f in foreign)
    assert docs(root, out, "--check").returncode == 0


def test_docs_killed_mid_render_is_cleaned_up_by_the_next_run(tmp_path: Path) -> None:
    root = write_fixture(tmp_path / "book")
    out = tmp_path / "out"
    assert docs(root, out).returncode == 0
    env = {**os.environ, "POLICYDSL_LANG": "en", "PYTHONDONTWRITEBYTECODE": "1"}
    args = [sys.executable, "-m", "policydsl.cli", "docs", "--policies", str(root / "policies"),
            "--features", str(root / "features"), "--out", str(out)]
    left = []
    for _ in range(5):  # each try kills a render the moment its staging folder appears
        child = subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            left = [n for n in names(tmp_path) if n.startswith(f".{out.name}.") and n.endswith(".new")]
            if left:
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        child.wait(timeout=60)
        if child.returncode == -signal.SIGKILL and left:
            break
    assert left, "no render was caught mid-way in five tries"
    result = docs(root, out)
    assert result.returncode == 0, result.stderr
    assert names(tmp_path) == ["book", "out"]
    assert docs(root, out, "--check").returncode == 0


def test_docs_out_a_symlink_renders_into_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    root = write_fixture(tmp_path / "book")
    (tmp_path / "site").mkdir()
    target = tmp_path / "site" / "handbook"
    link = tmp_path / "docs-link"
    link.symlink_to(Path("site") / "handbook")
    for _ in range(2):  # a new handbook through the link, then a replaced one
        result = docs(root, link)
        assert result.returncode == 0, result.stderr
        assert link.is_symlink() and os.readlink(link) == str(Path("site") / "handbook")
        assert (target / ".policydsl-handbook").is_file() and not target.is_symlink()
        assert names(tmp_path) == ["book", "docs-link", "site"] and names(tmp_path / "site") == ["handbook"]
    assert docs(root, link, "--check").returncode == 0
    assert docs(root, target, "--check").returncode == 0
    (tmp_path / "file.txt").write_text("keep", encoding="utf-8")  # a link to a file is no handbook folder
    (tmp_path / "file-link").symlink_to("file.txt")
    assert_refused(docs(root, tmp_path / "file-link"), path=tmp_path / "file-link", says="is not a directory")
    assert (tmp_path / "file-link").is_symlink() and (tmp_path / "file.txt").read_text(encoding="utf-8") == "keep"
    assert names(tmp_path) == ["book", "docs-link", "file-link", "file.txt", "site"]
