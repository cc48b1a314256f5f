"""Every user-facing string lives in the catalogue (policydsl/i18n.py and the modules' registered STRINGS): code
outside the catalogue modules never chooses between two inline texts by language (`lang == "zh"`) nor writes an
inline `{"zh": …, "en": …}` literal. The package source is read with `ast`, so strings and comments that merely
mention these forms do not count."""
from __future__ import annotations

import ast
from collections import Counter
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

# Occurrences that choose no text, each (file, what the scanner reports) -> how many times it may occur.
NOT_TEXT = {
    # lsp.py: `other = "en" if lang == "zh" else "zh"` picks the other language *code* for a bilingual line.
    ("policydsl/lsp.py", "a comparison with a language: lang == 'zh'"): 2,
    # syntax/ast.py: Text holds the policy author's own zh/en strings (data read from a policy file, not the
    # toolchain's text): get() and string() pick one of them, as_dict() serialises both.
    ("policydsl/syntax/ast.py", "a comparison with a language: lang == 'zh'"): 1,
    ("policydsl/syntax/ast.py", "a comparison with a language: lang != 'zh'"): 1,
    ("policydsl/syntax/ast.py", "an inline {\"zh\", \"en\"} literal: {'zh': self.zh, 'en': self.en}"): 1,
}


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
            found.append((node.lineno, "an inline {\"zh\", \"en\"} literal: " + ast.unparse(node)))
    return sorted(found)


def scan() -> dict[str, list[tuple[int, str]]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        found = occurrences(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
        if found:
            out[rel] = found
    return out


def exempt(found: dict[str, list[tuple[int, str]]]) -> dict[tuple[str, str], int]:
    """How often each NOT_TEXT occurrence is found."""
    counts = Counter((rel, what) for rel, hits in found.items() for _, what in hits)
    return {key: counts[key] for key in NOT_TEXT}


def test_user_facing_text_comes_from_the_catalogue():
    found = scan()
    offending = [f"{rel}:{line}: {what}" for rel, hits in found.items() if rel not in CATALOGUES for line, what in hits
                 if (rel, what) not in NOT_TEXT]
    over = {key: n for key, n in exempt(found).items() if n > NOT_TEXT[key]}
    assert not over, f"more occurrences than NOT_TEXT allows (does a new one choose text?): {over}"
    assert not offending, ("text chosen by language outside the catalogue (move it into i18n / the module's STRINGS "
                           "and look it up with t(key, lang)):\n" + "\n".join(offending))


def test_the_scanner_sees_both_forms():
    code = 'a = "中" if lang == "zh" else "en"\nb = {"zh": "中", "en": "en"}\nc = {"zh": 1}\nd = "zh" != lang\n'
    assert [line for line, _ in occurrences(ast.parse(code))] == [1, 2, 4]


def test_the_exemptions_are_current():
    """A catalogue that moved, or a NOT_TEXT occurrence that is gone, comes off its list."""
    assert all((ROOT / rel).is_file() for rel in CATALOGUES)
    assert exempt(scan()) == NOT_TEXT, "NOT_TEXT lists occurrences that are gone: update it"


def test_the_operating_systems_reasons_are_in_both_languages(tmp_path):
    """fsutil.os_reason: an error the catalogue lists is worded in Chinese and in English, the English being what
    glibc says (os.strerror here); any other is the OS's words in both."""
    import errno
    import os

    from policydsl import i18n
    from policydsl.fsutil import os_reason

    listed = sorted(k.removeprefix("os.") for k in i18n.MESSAGES if k.startswith("os."))
    assert len(listed) == 26 and {"ENOENT", "EACCES", "ENOSPC", "ELOOP", "ENAMETOOLONG", "EADDRINUSE"} <= set(listed)
    for name in listed:
        number = getattr(errno, name)
        assert os_reason(OSError(number, os.strerror(number))) == {"zh": i18n.t(f"os.{name}", "zh"), "en": os.strerror(number)}
    try:
        open(tmp_path / "missing")
    except OSError as exc:
        assert os_reason(exc) == {"zh": "文件或文件夹不存在", "en": "No such file or directory"}
    assert os_reason(OSError(errno.ECHILD, os.strerror(errno.ECHILD))) == "No child processes"
