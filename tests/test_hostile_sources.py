"""`check --sources` under hostile policies: a document name must stay inside the sources folder, and
nothing of a file outside it is ever read or printed; unreadable documents are diagnostics, not crashes.
Runs the real CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import POLICIES

SECRET = "TOP-SECRET-VALUE-42: the machine's own file"


def _policy(*sources: str) -> str:
    cited = "".join(f'  source "{doc}" quote "{quote}"\n' for doc, quote in sources)
    return ('policy demo.cart\n  title "演示" / "Demo"\n' + cited +
            'input account.fans: count "粉丝数" / "Followers"\n'
            'rule fans "粉丝门槛" / "Follower threshold"\n  require account.fans >= 1\n'
            '    else deny low "粉丝不足" / "Too few followers"\n  source "notice.txt" quote "1000粉丝"\n')


def _check(tmp_path: Path, *sources: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    book = tmp_path / "book"
    book.mkdir(exist_ok=True)
    (book / "common.policy").write_text((POLICIES / "common.policy").read_text(encoding="utf-8"), encoding="utf-8")
    (book / "demo.policy").write_text(_policy(*sources), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "policydsl.cli", "check", str(book), "--sources",
                           str(tmp_path / "docs"), "--lang", "en"], capture_output=True, text=True, timeout=60)


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """docs/ (the sources folder) beside secret.txt, a file the policies must never reach."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notice.txt").write_text("抖音购物车开通条件\n1000粉丝且已发布10个以上公开原创视频\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("document", ["../secret.txt", "sub/../../secret.txt", "{abs}", "./../secret.txt",
                                      "..\\\\secret.txt", "", "notice.txt/", "."])
def test_a_name_leaving_the_folder_is_refused_without_reading_it(layout: Path, document: str) -> None:
    document = document.replace("{abs}", str(layout / "secret.txt"))
    # the right quote for the secret file: verifying it would prove the file's content
    result = _check(layout, (document, "TOP-SECRET"), (document, "TOP-SECRET-VALUE-4X"))
    assert result.returncode == 1, result.stderr
    assert result.stdout.count("error[P0707]") == 2, result.stdout
    assert "P0702" not in result.stdout and "P0701" not in result.stdout
    assert "machine's own file" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr


def test_a_symlink_leading_out_is_refused(layout: Path) -> None:
    (layout / "docs" / "leak.txt").symlink_to(layout / "secret.txt")
    (layout / "docs" / "up").symlink_to(layout)
    result = _check(layout, ("leak.txt", "TOP-SECRET-VALUE-4X"), ("up/secret.txt", "TOP-SECRET"))
    assert result.stdout.count("error[P0707]") == 2, result.stdout
    assert "machine's own file" not in result.stdout + result.stderr
    assert "`leak.txt` lies outside the sources folder" in result.stdout


def test_a_symlink_within_the_folder_is_followed(layout: Path) -> None:
    (layout / "docs" / "alias.txt").symlink_to(layout / "docs" / "notice.txt")
    result = _check(layout, ("alias.txt", "1000粉丝且已发布"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_near_quote_still_shows_the_documents_closest_text(layout: Path) -> None:
    result = _check(layout, ("notice.txt", "1000粉丝且已发布10个公开原创视频"))
    assert result.returncode == 1
    assert "error[P0702]" in result.stdout
    assert "closest text in the document: “1000粉丝且已发布10个以上公开原创视频”" in result.stdout


@pytest.mark.parametrize(("content", "reason"), [
    ("gbk", "not UTF-8 text"), ("fifo", "not a regular file"), ("folder", "not a regular file")])
def test_an_unreadable_document_is_a_diagnostic(layout: Path, content: str, reason: str) -> None:
    target = layout / "docs" / "odd.txt"
    if content == "gbk":
        target.write_bytes("完成实名认证".encode("gbk"))
    elif content == "fifo":
        os.mkfifo(target)  # opening it would block forever
    else:
        target.mkdir()
    result = _check(layout, ("odd.txt", "完成实名认证"))
    assert result.returncode == 1, result.stderr
    assert f"error[P0708]: cannot read source document `odd.txt`: {reason}" in result.stdout
    assert "internal error" not in result.stderr


def test_a_document_with_a_byte_order_mark_is_read(layout: Path) -> None:
    (layout / "docs" / "bom.txt").write_bytes("\ufeff完成实名认证".encode("utf-8"))
    assert _check(layout, ("bom.txt", "完成实名认证")).returncode == 0


def test_the_closest_text_of_a_large_document_is_the_paraphrased_passage() -> None:
    from policydsl.semantics.sources import closest

    filler = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(200_000))
    passage = "商家开通抖音购物车" + "".join(chr(0x4E00 + (i * 104729) % 20000) for i in range(380)) + "完成实名认证"
    text = filler[:120_000] + passage + filler[120_000:]
    quote = "".join("某" if i % 40 == 20 else ch for i, ch in enumerate(passage))  # ten characters paraphrased
    assert closest(quote, text) == f"“{passage}”"
    assert closest("x" * 5000, text) == "—"  # too long to compare: no hint rather than a long wait


def test_a_document_is_its_text_whatever_the_text_says(layout: Path) -> None:
    (layout / "docs" / "word.txt").write_text("outside", encoding="utf-8")
    assert _check(layout, ("word.txt", "outside")).returncode == 0
    assert "error[P0702]" in _check(layout, ("word.txt", "inside")).stdout
