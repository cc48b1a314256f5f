"""Rewriting a file in place of the original: a new text in, the same file (mode, owner, links) out.

`write_atomic` changes only the content the caller asked for, the way careful editors do (vim's
`backupcopy=auto`, emacs' `backup-by-copying-when-linked`):

- a symlink is followed: its target is rewritten and the link stays a link;
- an ordinary file is replaced atomically: the new text goes to a temporary file beside it, which
  gets the original's permission bits and owner/group, is flushed to disk and renamed over it;
- a file that cannot be replaced without losing something (several hard links, or an owner or group
  we may not give a new file) is rewritten through its own inode, so every link sees the new text;
- a new file gets the umask's default mode (0666 minus the umask), as `open()` would give it;
- a file without its owner's write bit is refused (PolicyDslError `E.read_only`), never rewritten;
- any OSError (a full disk, a read-only filesystem, a quota, a permission) becomes a PolicyDslError
  naming the path and the OS reason (`E.write`); the original file is intact and no temporary file
  is left behind.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import Iterator

from policydsl import i18n
from policydsl.errors import PolicyDslError

NEW_FILE_MODE = 0o666  # the kernel takes the umask off, as for open(path, "w")


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write `text` (UTF-8, or bytes as they are) as the new content of `path`, keeping the file's mode,
    owner and links.

    In-place rewrites (hard links; an owner we may not keep) cannot be atomic, so they keep a crash
    from losing content as far as a rewrite through the same inode allows: the whole new text is
    encoded first, the old content is copied to a private backup beside the file and fsync'd, then
    the new text is written over the file, truncated to length and fsync'd, and the backup removed.
    If that write fails, the old content is written back from memory; if even that fails, the error
    names the backup, which is then kept. A crash (power loss, kill -9) between the two fsyncs
    leaves the backup `.NAME.XXXXXXXX.bak` beside the file with the complete previous content.
    """
    shown = str(path)
    target = Path(os.path.realpath(path))  # follow symlinks: rewrite the target, keep the link
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    try:
        st = _writable(target, shown)
        if st is not None and st.st_nlink > 1:
            _overwrite(target, data, shown)
        elif not _replace(target, data, st):
            _overwrite(target, data, shown)
    except OSError as exc:
        raise PolicyDslError("E.write", path=shown, reason=os_reason(exc)) from None


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A new private file beside `path` for a writer that streams (DuckDB's COPY) rather than hands over
    bytes: when the block ends without an error, that file replaces `path` as `write_atomic` replaces it
    (a read-only or irregular file refused before anything is written; mode and owner kept, links
    followed); on an error it is removed and `path` is untouched. A file that cannot be replaced without
    losing something (hard links; an owner we may not give) is rewritten through its inode from the new
    file's content, as `write_atomic` does."""
    shown = str(path)
    target = Path(os.path.realpath(path))
    try:
        st = _writable(target, shown)
        fd, tmp = _create_beside(target, ".tmp", NEW_FILE_MODE if st is None else 0o600)
    except OSError as exc:
        raise PolicyDslError("E.write", path=shown, reason=os_reason(exc)) from None
    try:
        os.close(fd)
        yield tmp
        try:
            if st is not None and (st.st_nlink > 1 or not _same_owner_path(tmp, st)):
                write_atomic(path, tmp.read_bytes())
                return
            if st is not None:
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
            with open(tmp, "rb+") as flushed:
                os.fsync(flushed.fileno())
            os.replace(tmp, target)
            sync_folder(target.parent)
        except OSError as exc:
            raise PolicyDslError("E.write", path=shown, reason=os_reason(exc)) from None
    finally:
        tmp.unlink(missing_ok=True)


def _writable(target: Path, shown: str) -> os.stat_result | None:
    """The stat of the file to replace (None: a new file); a folder or device, or a file without its owner's
    write bit, is refused before anything is written."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise PolicyDslError("E.not_regular", path=shown)
    if not st.st_mode & stat.S_IWUSR:
        raise PolicyDslError("E.read_only", path=shown)
    return st


def _same_owner_path(path: Path, st: os.stat_result) -> bool:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        return _same_owner(fd, st)
    finally:
        os.close(fd)


def os_reason(exc: OSError) -> str | dict[str, str]:
    """Why the operating system refused, for a user message: zh/en words for the errors the catalogue lists
    ("No space left on device" / "设备上没有空间", as glibc words them), else the OS's own words."""
    key = f"os.{errno.errorcode.get(exc.errno or 0, '')}"
    return i18n.both(key) if key in i18n.MESSAGES else exc.strerror or str(exc) or type(exc).__name__


def _replace(target: Path, data: bytes, st: os.stat_result | None) -> bool:
    """Rename a complete copy over `target`; False (nothing changed) when its owner/group cannot be kept."""
    fd, tmp = _create_beside(target, ".tmp", NEW_FILE_MODE if st is None else 0o600)
    renamed = False
    try:
        try:
            if st is not None:
                if not _same_owner(fd, st):
                    return False  # rewrite in place instead: that keeps owner and group by construction
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        renamed = True
    finally:
        if not renamed:
            tmp.unlink(missing_ok=True)
    sync_folder(target.parent)
    return True


def _same_owner(fd: int, st: os.stat_result) -> bool:
    """Give the new file the owner and group of the original; False where the system does not permit it."""
    if (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid()):
        return True
    try:
        os.fchown(fd, st.st_uid, st.st_gid)  # before fchmod: a chown clears the set-id bits
    except PermissionError:
        return False
    return True


def _overwrite(target: Path, data: bytes, shown: str) -> None:
    """Write `data` through the inode of `target` (every hard link sees it), old content backed up first."""
    old = target.read_bytes()
    fd = os.open(target, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))  # no permission: nothing is touched
    try:
        backup = _backup(target, old)
        try:
            _rewrite(fd, data)
        except BaseException as exc:
            try:
                _rewrite(fd, old)
            except OSError:  # the backup is now the only complete copy of the old text: keep it, say where
                raise PolicyDslError("E.write_partial", path=shown, backup=str(backup),
                                     reason=os_reason(exc) if isinstance(exc, OSError) else type(exc).__name__
                                     ) from None
            backup.unlink(missing_ok=True)
            raise
        backup.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _backup(target: Path, old: bytes) -> Path:
    """A private copy `.NAME.XXXXXXXX.bak` of the old content beside `target`, flushed to disk."""
    fd, backup = _create_beside(target, ".bak", 0o600)
    try:
        try:
            _write_all(fd, old)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        backup.unlink(missing_ok=True)
        raise
    return backup


def _rewrite(fd: int, data: bytes) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    _write_all(fd, data)
    os.ftruncate(fd, len(data))
    os.fsync(fd)


def _create_beside(target: Path, suffix: str, mode: int) -> tuple[int, Path]:
    """A new private file `.NAME.XXXXXXXX<suffix>` in the folder of `target` (mode minus the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        path = target.with_name(f".{target.name}.{secrets.token_hex(4)}{suffix}")
        with contextlib.suppress(FileExistsError):  # a name taken: draw another
            return os.open(path, flags, mode), path


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def sync_folder(folder: Path) -> None:
    """Make a rename durable; best effort (some filesystems cannot fsync a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
