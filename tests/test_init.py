"""`policydsl init`: the scaffolded rule book checks, tests at 100% coverage and renders, with the real CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from policydsl.authoring import SCAFFOLD

CLI = Path(sys.executable).with_name("policydsl")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                          env={"PATH": str(CLI.parent), "POLICYDSL_LANG": "en", "HOME": str(cwd)}, timeout=300)


def test_init_then_check_test_and_docs_all_pass(tmp_path: Path) -> None:
    book = tmp_path / "book"
    created = run("init", str(book), cwd=tmp_path)
    assert (created.returncode, created.stderr) == (0, "")
    assert created.stdout.splitlines()[0] == f"created a rule book in {book} (6 files). Next:"
    assert sorted(p.relative_to(book).as_posix() for p in book.rglob("*") if p.is_file()) == [
        "README.md", "features/example.zh.feature", "policies/common.policy", "policies/example.policy",
        "policies/vocabulary.policy", "sources/example.txt"]
    assert (book / "features/example.zh.feature").read_text(encoding="utf-8").startswith("# language: zh-CN\n")

    check = run("check", "policies", "--sources", "sources", cwd=book)
    assert (check.returncode, check.stdout) == (0, "checked 3 file(s), 1 polic(ies): no problems\n")

    test = run("test", "features", "--coverage", "100", "-q", cwd=book)
    assert test.returncode == 0, test.stdout + test.stderr
    assert "  ✓ example (Example: shopping cart opening): 2/2 = 100.0%" in test.stdout
    assert "4 passed" in test.stdout

    verify = run("verify", cwd=book)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.rstrip().splitlines()[-1].startswith(
        "1 policies, 2 properties: 2 proved, 0 failed, 0 undecided, 0 vacuous")

    docs = run("docs", cwd=book)
    assert docs.returncode == 0, docs.stderr
    assert (book / "generated_docs" / "index.html").is_file()

    decision = subprocess.run([str(CLI), "eval", "example", "--facts", "-", "--at", "2024-06-01", "--lang", "en"],
                              cwd=book, input='{"account": {"kind": "personal", "fans": 999}}', capture_output=True,
                              text=True, encoding="utf-8", timeout=120)
    assert decision.stdout.splitlines()[:2] == ["Example: shopping cart opening @ 2024-06-01: deny",
                                                "  - [fans_below_threshold] 999 followers, below 1,000 followers"]
    whole = subprocess.run([str(CLI), "eval", "--book", "--facts", "-", "--at", "2024-06-01", "--lang", "en"],
                           cwd=book, input='{"account": {"kind": "personal", "fans": 1000}}', capture_output=True,
                           text=True, encoding="utf-8", timeout=120)
    assert (whole.returncode, whole.stdout.splitlines()[0]) == (0, "The whole book @ 2024-06-01: allow")


def test_the_scaffold_readme_names_the_commands() -> None:
    readme = SCAFFOLD["README.md"]
    for command in ("policydsl check policies --sources sources", "policydsl test features --coverage 100",
                    "policydsl docs"):
        assert command in readme


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = run("init", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (f"error: {tmp_path} is not empty: init only creates a rule book in a new or empty "
                             "folder\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert "Traceback" not in result.stderr


def test_init_into_an_existing_empty_folder_and_onto_a_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("init", str(empty), "--lang", "zh", cwd=tmp_path).stdout.startswith(f"已在 {empty} 创建规则库（6 个文件）")
    a_file = tmp_path / "file.txt"
    a_file.write_text("", encoding="utf-8")
    result = run("init", str(a_file), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, f"error: {a_file} is not a folder\n")


def test_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    # mkdir's OSError reached the user as an internal error (exit 3): a name too long, a path under a file
    (tmp_path / "file.txt").write_text("", encoding="utf-8")
    for folder, reason in ((tmp_path / ("x" * 300), "File name too long"), (tmp_path / "file.txt" / "book", "Not a directory")):
        result = run("init", str(folder), cwd=tmp_path)
        assert (result.returncode, result.stderr) == (2, f"error: cannot create a rule book in {folder}: {reason}\n")
    zh = run("init", str(tmp_path / "file.txt" / "book"), "--lang", "zh", cwd=tmp_path)
    assert zh.stderr == f"错误：无法在 {tmp_path / 'file.txt' / 'book'} 创建规则库：不是目录\n"  # the OS's reason in Chinese too
