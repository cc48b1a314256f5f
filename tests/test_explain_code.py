"""`policydsl explain-code`: every diagnostic code explained, and every example checked against the real checker."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from policydsl import i18n
from policydsl.cli import main
from policydsl.authoring import EXPLANATIONS, example_files, render_explanation
from policydsl.loader import analyse, analyse_sources
from policydsl.source import SourceFile

from conftest import POLICIES

CODES = sorted(EXPLANATIONS)
# Codes the checker never reports today; their wrong example is reported under another code (the parser
# requires a title and an inventory-id shape; a misused table name is an undefined name).
RESERVED = {"P0208": "P0201", "P0704": "P0101", "P0705": "P0101"}


def _codes_of(text: str, folder: Path | None, deep: bool = False, notes: bool = False,
              problems: bool = False) -> list[str]:
    """The codes `check` reports (with `--deep`: the solver's too; with `--info`: the notes too;
    with `problems`: only errors and warnings)."""
    from policydsl.semantics.analyses import notes as model_notes

    sources = [*(SourceFile(path=name, text=body) for name, body in example_files(text)),
               SourceFile.read(POLICIES / "common.policy")]
    analysis = analyse_sources(sources, sources_dir=folder)
    if deep:
        from policydsl.verify.analyses import deepen

        analysis = deepen(analysis)
    found = [*analysis.diagnostics, *(model_notes(analysis.model) if notes else [])]
    return [d.code for d in found if d.is_problem or not problems]


def _folder(code: str, tmp_path: Path) -> Path | None:
    documents = EXPLANATIONS[code].get("documents")
    if not documents:
        return None
    for name, text in documents.items():  # (encoding, text): a document saved in another encoding
        encoding, text = text if isinstance(text, tuple) else ("utf-8", text)
        (tmp_path / name).write_bytes(text.encode(encoding))
    return tmp_path


def test_every_catalogue_code_is_explained_and_nothing_else() -> None:
    catalogue = {key for key in i18n.MESSAGES if re.fullmatch(r"P\d{4}", key)}
    assert set(EXPLANATIONS) == catalogue | {"P0604.values"}
    assert "P0604.values" in i18n.MESSAGES
    assert {code for code, entry in EXPLANATIONS.items() if "reported_as" in entry} == {*RESERVED, "P0604.values"}


@pytest.mark.parametrize("code", CODES)
def test_an_entry_has_every_part_in_both_languages(code: str) -> None:
    entry = EXPLANATIONS[code]
    for part in ("title", "what", "why"):
        assert set(entry[part]) == {"zh", "en"}
        assert re.search(r"[\u4e00-\u9fff]", entry[part]["zh"]), (code, part)
        assert not re.search(r"[\u4e00-\u9fff]", re.sub(r'"[^"]*"', "", entry[part]["en"])), (code, part)
    assert entry["wrong"] != entry["right"] or entry.get("check") == "encoding"


@pytest.mark.parametrize("code", [c for c in CODES if EXPLANATIONS[c].get("check") != "encoding"])
def test_the_wrong_example_produces_exactly_its_code(code: str, tmp_path: Path) -> None:
    expected = EXPLANATIONS[code].get("reported_as", code)
    deep = bool(EXPLANATIONS[code].get("deep"))  # the solver's analyses: `check --deep`
    notes = EXPLANATIONS[code].get("check") == "notes"  # `check --info`
    assert _codes_of(EXPLANATIONS[code]["wrong"], _folder(code, tmp_path), deep, notes) == [expected]


@pytest.mark.parametrize("code", [c for c in CODES if EXPLANATIONS[c].get("check") != "encoding"])
def test_the_right_example_checks_clean(code: str, tmp_path: Path) -> None:
    deep = bool(EXPLANATIONS[code].get("deep"))
    notes = EXPLANATIONS[code].get("check") == "notes"
    right, folder = EXPLANATIONS[code]["right"], _folder(code, tmp_path)
    if deep:  # the solver may add notes of its own to a right example (P0626: an overlap proved free of conflict)
        assert code not in _codes_of(right, folder, deep, notes)
        assert _codes_of(right, folder, deep, notes, problems=True) == []
    else:
        assert _codes_of(right, folder, deep, notes) == []


def test_quote_examples_are_verified_against_their_documents(tmp_path: Path) -> None:
    from policydsl.semantics.check import check_modules
    from policydsl.semantics.sources import verify_quotes
    from policydsl.syntax.parser import parse

    for code in ("P0701", "P0702"):
        folder = tmp_path / code
        folder.mkdir()
        _folder(code, folder)
        for side, expected in (("wrong", [code]), ("right", [])):
            module, _ = parse(SourceFile(path="example.policy", text=EXPLANATIONS[code][side]))
            common, _ = parse(SourceFile.read(POLICIES / "common.policy"))
            model = check_modules([module, common]).model
            assert [d.code for d in verify_quotes(model, folder)] == expected


def test_the_encoding_example(tmp_path: Path) -> None:
    entry = EXPLANATIONS["P0104"]
    wrong, right = tmp_path / "gbk.policy", tmp_path / "utf8.policy"
    wrong.write_bytes(entry["wrong"].encode("gbk"))
    right.write_text(entry["right"], encoding="utf-8")
    common = POLICIES / "common.policy"
    assert [d.code for d in analyse([wrong, common]).diagnostics] == ["P0104"]
    assert [d.code for d in analyse([right, common]).diagnostics] == []


def test_render_in_each_language() -> None:
    zh = render_explanation("P0113", "zh").splitlines()
    en = render_explanation("P0113", "en").splitlines()
    assert zh[:5] == ["P0113 用 = 比较", "  比较请用 `==`，不是 `=`", "",
                      "含义：比较两个值用 `==`；单个 `=` 只用于 define 的取值。",
                      "为什么重要：把比较误写成赋值在很多语言里是经典错误；这里直接拒绝，避免歧义。"]
    assert en[:5] == ["P0113 `=` used to compare", "  use `==` to compare, not `=`", "",
                      "What it means: Comparisons use `==`; a single `=` only introduces a value of a `define`.",
                      "Why it matters: Mistaking assignment for comparison is a classic bug; the language refuses it "
                      "outright."]
    assert "错误写法：" in zh and "正确写法：" in zh and "Wrong:" in en and "Right:" in en
    assert "      when account.kind = enterprise" in zh
    assert "      when account.kind == enterprise" in en
    assert "The checker does not report this code today: the wrong example above is reported as P0101." in \
        render_explanation("P0704", "en")


def test_cli_prints_one_language_or_both() -> None:
    runner = CliRunner()
    zh = runner.invoke(main, ["explain-code", "P0201", "--lang", "zh"])
    en = runner.invoke(main, ["explain-code", "p0201", "--lang", "en"])
    both = runner.invoke(main, ["explain-code", "P0201"])
    assert (zh.exit_code, en.exit_code, both.exit_code) == (0, 0, 0)
    assert zh.output == render_explanation("P0201", "zh") + "\n"
    assert en.output == render_explanation("P0201", "en") + "\n"
    assert both.output == render_explanation("P0201", "zh") + "\n\n" + render_explanation("P0201", "en") + "\n"
    assert zh.output.startswith("P0201 未定义的名称\n  未定义的名称 `{name}`\n")
    assert en.output.startswith("P0201 Undefined name\n  undefined name `{name}`\n")


def test_cli_list() -> None:
    result = CliRunner().invoke(main, ["explain-code", "--list", "--lang", "en"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(EXPLANATIONS)
    assert lines[0] == "P0101        unexpected {found}, expected {expected}"
    assert "P0604.values values depend on each other in a cycle: {cycle}" in lines
    both = CliRunner().invoke(main, ["explain-code", "--list"]).output.splitlines()
    assert both[0] == "P0101        意外的 {found}，此处应为 {expected} / unexpected {found}, expected {expected}"


def test_unknown_code_exits_2_with_a_suggestion() -> None:
    result = CliRunner().invoke(main, ["explain-code", "P02O8", "--lang", "en"])
    assert result.exit_code == 2
    assert result.stderr == ("error: unknown diagnostic code `P02O8`\ndid you mean `P0208`?\n"
                             "run `policydsl explain-code --list` to see every code\n")
    assert "Traceback" not in result.output
    zh = CliRunner().invoke(main, ["explain-code", "X", "--lang", "zh"])
    assert zh.exit_code == 2
    assert zh.stderr == "错误：未知的诊断代码 `X`\n运行 `policydsl explain-code --list` 查看全部代码\n"
    missing = CliRunner().invoke(main, ["explain-code", "--lang", "en"])
    assert (missing.exit_code, missing.stderr) == (2, "error: give a diagnostic code such as P0201, or use --list\n")


def test_commands_are_registered_whichever_module_is_imported_first() -> None:
    import subprocess
    import sys

    script = ("import policydsl.authoring, click; from policydsl.cli import main; ctx = click.Context(main); "
              "print(sorted(main.list_commands(ctx)), [main.get_command(ctx, n).name for n in ('explain-code', 'init')])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120).stdout
    assert "'explain-code'" in out and "['explain-code', 'init']" in out


def test_a_long_wrong_example_shows_its_first_lines_and_how_many_follow() -> None:
    """P0125's wrong example is a value of 102 cases: explain shows its first 24 lines, then the count of the rest."""
    wrong = EXPLANATIONS["P0125"]["wrong"].rstrip("\n").split("\n")
    shown = render_explanation("P0125", "en").split("\n")
    at = shown.index("    " + wrong[23])
    assert shown[at - 23:at + 1] == ["    " + line if line else "" for line in wrong[:24]]
    assert shown[at + 1] == f"    … ({len(wrong) - 24} more lines like these)" and len(wrong) - 24 == 83
    assert "……（还有 83 行，与上面相似）" in render_explanation("P0125", "zh")
