"""Every user-facing string lives in the catalogue (policydsl/i18n.py and the modules' registered STRINGS): code
outside the catalogue modules never chooses between two inline texts by language (`lang == "zh"`) nor writes an
inline `{"zh": …, "en": …}` literal. The package source is read with `ast`, so strings and comments that merely
mention these forms do not count."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "policydsl"
LANGS = {"zh", "en"}

# The catalogues themselves: they hold the texts and pick one by language.
CATALOGUES = {
    "policydsl/i18n.py",
    "policydsl/docs/strings.py",
    "policydsl/authoring.py",  # its explain-code data (EXPLANATIONS) is a catalogue
}

# TEMPORARY: being rewritten on other branches; remove each file here once it is clean.
BEING_REWRITTEN = {
    "policydsl/docs/view.py",
    "policydsl/loader.py",
    "policydsl/lsp.py",
    "policydsl/runtime/facts.py",
    "policydsl/runtime/program.py",
    "policydsl/runtime/values.py",
    "policydsl/semantics/check.py",
    "policydsl/syntax/ast.py",
    "policydsl/syntax/build.py",
    "policydsl/syntax/parser.py",
    "policydsl/vocabulary.py",
}

ALLOWED = CATALOGUES | BEING_REWRITTEN


def _is_lang(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in LANGS


def occurrences(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each language comparison and each {"zh", "en"} dict literal in `tree`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops) and \
                any(_is_lang(x) for x in (node.left, *node.comparators)):
            found.append((node.lineno, "a comparison with a language: " + ast.unparse(node)))
        elif isinstance(node, ast.Dict) and len(node.keys) == 2 and all(k is not None for k in node.keys) and \
                {k.value for k in node.keys if isinstance(k, ast.Constant)} == LANGS:
            found.append((node.lineno, "an inline {\"zh\", \"en\"} literal"))
    return sorted(found)


def scan() -> dict[str, list[tuple[int, str]]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        found = occurrences(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
        if found:
            out[rel] = found
    return out


def test_user_facing_text_comes_from_the_catalogue():
    offending = [f"{rel}:{line}: {what}" for rel, found in scan().items() if rel not in ALLOWED for line, what in found]
    assert not offending, ("text chosen by language outside the catalogue (move it into i18n / the module's STRINGS "
                           "and look it up with t(key, lang)):\n" + "\n".join(offending))


def test_the_scanner_sees_both_forms():
    code = 'a = "中" if lang == "zh" else "en"\nb = {"zh": "中", "en": "en"}\nc = {"zh": 1}\nd = "zh" != lang\n'
    assert [line for line, _ in occurrences(ast.parse(code))] == [1, 2, 4]


def test_the_allow_list_is_current():
    """A file on the allow-list that no longer needs it comes off (or a catalogue moved)."""
    found = scan()
    assert all((ROOT / rel).is_file() for rel in ALLOWED)
    assert not {rel for rel in BEING_REWRITTEN if rel not in found}, "clean now: remove from BEING_REWRITTEN"
