"""Source text in, positions out: files, spans, line/column lookup and caret snippets."""
from __future__ import annotations

import bisect
import errno
import os
import re
import stat
import unicodedata
from pathlib import Path

import attrs

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.fsutil import os_reason

BOM = "\ufeff"
MAX_FILE_BYTES = 8 * 1024 * 1024
"""A policy file larger than this is refused unread (the whole rule book is about 200 KB)."""


class FileTooLarge(OSError):
    """A file beyond the size policydsl reads (a policy file, a facts file, /dev/zero)."""

    def __init__(self, path: str | Path, limit: int) -> None:
        self.limit_mib = limit // (1024 * 1024)
        super().__init__(i18n.t("file.too_large", "en", mib=self.limit_mib))
        self.strerror = str(self)

    @property
    def reason(self) -> dict[str, str]:
        return i18n.both("file.too_large", mib=self.limit_mib)


class RefusedFile(OSError):
    """A file of the book refused unread: a FIFO, a device or a socket (`file.not_regular`: opening a FIFO would
    block), or a link leading to a file not named *.policy (`file.link_not_policy`)."""

    def __init__(self, key: str = "file.not_regular") -> None:
        super().__init__(i18n.t(key, "en"))
        self.key, self.strerror = key, str(self)

    @property
    def reason(self) -> dict[str, str]:
        return i18n.both(self.key)


NOT_UTF8 = i18n.both("file.not_utf8")


def read_bytes(path: str | Path, limit: int = MAX_FILE_BYTES, *, regular: bool = False) -> bytes:
    """At most `limit` bytes of `path`; FileTooLarge past that, so a device like /dev/zero is never
    read to exhaustion. With `regular`, only a regular file is read: it is opened without blocking
    and anything else (a FIFO no one writes to would block forever, a device) is RefusedFile, a
    folder IsADirectoryError. The files of a book are found in a folder, so they are read so; a facts
    file or a token named on the command line may be a pipe (`--facts <(…)`)."""
    if not regular:
        with open(path, "rb") as handle:
            return read_limited(handle, limit, path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise RefusedFile()
        return read_limited(handle, limit, path)


def read_limited(handle, limit: int, name: str | Path) -> bytes:
    """At most `limit` bytes of an open binary stream (a file, standard input); FileTooLarge past that."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(name, limit)
    return data


def read_text(path: str | Path, limit: int = MAX_FILE_BYTES) -> str:
    """A UTF-8 file of the book's text as written (a byte-order mark, if any, is kept as its first
    character); a regular file only (see read_bytes)."""
    return read_bytes(path, limit, regular=True).decode("utf-8")


def read_policy(path: str | Path) -> str:
    """A policy file's text (read_text). Through a link, only a file named *.policy is read: a link to any
    other file (`x.policy -> ~/.aws/credentials`, put in a folder by someone who cannot read that file but
    can read the diagnostics CI prints of it) is refused unread. A file named on the command line is read
    as named."""
    real = os.path.realpath(path)
    if real != os.path.abspath(path) and not real.endswith(".policy"):  # reached through a link
        raise RefusedFile("file.link_not_policy")
    return read_text(path)


def read_secret(path: str | Path, limit: int = 4096) -> bytes:
    """A token or key kept in a file: its bytes (at most `limit`), surrounding whitespace dropped; a file that
    cannot be read is `E.unreadable` naming it."""
    try:
        return read_bytes(path, limit).strip()
    except OSError as exc:
        raise PolicyDslError("E.unreadable", path=str(path), reason=unreadable_reason(exc)) from None


def unreadable_reason(exc: OSError | UnicodeDecodeError) -> str | dict[str, str]:
    """Why a file could not be read, for a message: the OS's words, or zh/en text of our own."""
    if isinstance(exc, (FileTooLarge, RefusedFile)):
        return exc.reason
    if isinstance(exc, UnicodeDecodeError):
        return NOT_UTF8
    return os_reason(exc)


@attrs.frozen
class SourceFile:
    """A named piece of policy text with a line index."""

    path: str
    text: str
    _line_starts: tuple[int, ...] | None = attrs.field(init=False, default=None, repr=False, eq=False)

    def _starts(self) -> tuple[int, ...]:
        """The offset of every line's start, found when a position is first asked for (a book loaded from
        the cache reads its files only to hash them)."""
        if self._line_starts is None:
            object.__setattr__(self, "_line_starts", (0, *(m.end() for m in re.finditer("\n", self.text))))
        return self._line_starts  # type: ignore[return-value]

    @classmethod
    def read(cls, path: str | Path) -> "SourceFile":
        """The file's text, without a leading byte-order mark; raises OSError (FileTooLarge included)
        or UnicodeDecodeError."""
        return cls(path=str(path), text=read_policy(path).removeprefix(BOM))

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of an offset; columns count characters, not bytes."""
        offset = max(0, min(offset, len(self.text)))
        starts = self._starts()
        line = bisect.bisect_right(starts, offset) - 1
        return line + 1, offset - starts[line] + 1

    def line_text(self, line: int) -> str:
        start = self._starts()[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def span(self, start: int, end: int) -> "Span":
        return Span(source=self, start=start, end=end)


@attrs.frozen
class Span:
    """A half-open character range [start, end) in one source file."""

    source: SourceFile = attrs.field(repr=False)
    start: int
    end: int

    @property
    def file(self) -> str:
        return self.source.path

    @property
    def line(self) -> int:
        return self.source.position(self.start)[0]

    @property
    def column(self) -> int:
        return self.source.position(self.start)[1]

    @property
    def text(self) -> str:
        return self.source.text[self.start : self.end]

    def snippet(self) -> str:
        """The first line of the span with a caret line under it (wide CJK chars count as two). A line longer
        than SHOWN_LINE is shown as a window around the span's start, cut with “…” (a 100,000-digit literal is
        not echoed whole). (Diagnostic.render, its one reader, shows control characters visibly: `visible`.)"""
        line, col = self.source.position(self.start)
        text = self.source.line_text(line)
        end_line, end_col = self.source.position(self.end)
        start, stop = col - 1, max(end_col - 1 if end_line == line else len(text), col)
        low, high = 0, len(text)
        if high > SHOWN_LINE:  # at most a quarter before the span, half marked, a quarter after
            stop = min(stop, start + SHOWN_LINE // 2)
            low, high = max(0, start - SHOWN_LINE // 4), min(high, stop + SHOWN_LINE // 4)
        left = "…" if low else ""
        shown = left + text[low:high] + ("…" if high < len(text) else "")
        pad = " " * len(left) + "".join("\t" if ch == "\t" else " " * display_width(ch) for ch in text[low:start])
        marks = "^" * max(1, display_width(text[start:stop]))
        return f"{line:>4} | {shown}\n     | {pad}{marks}"


SHOWN_LINE = 160
"""The longest source line a diagnostic shows whole."""
_VISIBLE = {**{c: 0x2400 + c for c in range(32) if c not in (9, 10)}, 0x7F: 0x2421,
            **dict.fromkeys((0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)), 0xFFFD)}


def visible(text: str) -> str:
    """`text` for a terminal: a control character (NUL, ESC, …) as its Control Pictures symbol (␀, ␛) and a
    bidirectional control (which could reorder what the reader sees) as U+FFFD, each one column wide as before;
    tabs and newlines kept."""
    return text.translate(_VISIBLE)


def display_width(text: str) -> int:
    """Terminal columns `text` takes: a wide (CJK, full-width) character two, any other one."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
