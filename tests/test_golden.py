"""Golden diagnostics: every broken snippet in golden/cases reports exactly what its .expected.json says.

Each case is `cases/NAME.policy` plus `cases/NAME.expected.json`, the full list of diagnostics
(code, severity, position, underlined text, zh/en message and hint, related spans). A case may add
`cases/NAME.sources.json` ({document name: text}); those documents are written to a temporary
folder and the case's quotes are verified against it (P0701/P0702).

To refresh after a deliberate change, run

    POLICYDSL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

and review the diff of the .expected.json files like any other change.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from policydsl.semantics.check import check_modules
from policydsl.semantics.sources import verify_quotes
from policydsl.source import SourceFile
from policydsl.syntax.parser import parse

from conftest import POLICIES, ROOT, diagnostics_of

CASES_DIR = Path(__file__).resolve().parent / "golden" / "cases"
CASES = sorted(p.name.removesuffix(".policy") for p in CASES_DIR.glob("*.policy"))
UPDATE = os.environ.get("POLICYDSL_UPDATE_GOLDEN") == "1"


def _file(path: str) -> str:
    """File names as they appear in the goldens: snippets as cases/NAME.policy, repo files relative."""
    p = Path(path)
    return p.relative_to(ROOT).as_posix() if p.is_absolute() and p.is_relative_to(ROOT) else path


def as_golden(diag) -> dict:
    return {
        "code": diag.code,
        "severity": diag.severity,
        "file": _file(diag.file),
        "line": diag.line,
        "column": diag.column,
        "text": diag.span.text,
        "message": diag.message,
        "hint": diag.hint,
        "related": [{"file": _file(r.span.file), "line": r.span.line, "column": r.span.column,
                     "text": r.span.text, "message": r.message} for r in diag.related],
    }


def quote_diagnostics(text: str, path: str, folder: Path) -> list:
    """P0701/P0702 for the snippet's sources, checked against the documents in `folder`."""
    modules = []
    for source in (SourceFile(path=path, text=text), SourceFile.read(POLICIES / "common.policy")):
        module, _ = parse(source)
        if module is not None:
            modules.append(module)
    return verify_quotes(check_modules(modules).model, folder)


def golden_diagnostics(name: str, tmp_path: Path) -> list[dict]:
    text = (CASES_DIR / f"{name}.policy").read_text(encoding="utf-8")
    path = f"cases/{name}.policy"
    diags = diagnostics_of(text, path)
    documents = CASES_DIR / f"{name}.sources.json"
    if documents.is_file():
        for doc, content in json.loads(documents.read_text(encoding="utf-8")).items():
            (tmp_path / doc).write_text(content, encoding="utf-8")
        diags = sorted(diags + quote_diagnostics(text, path, tmp_path), key=lambda d: d.sort_key())
    return [as_golden(d) for d in diags]


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, tmp_path: Path) -> None:
    actual = golden_diagnostics(name, tmp_path)
    expected_file = CASES_DIR / f"{name}.expected.json"
    if UPDATE:
        expected_file.write_text(json.dumps(actual, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert expected_file.is_file(), f"no golden for {name}; run with POLICYDSL_UPDATE_GOLDEN=1 and review it"
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert actual == expected


def test_every_golden_has_a_snippet() -> None:
    goldens = sorted(p.name.removesuffix(".expected.json") for p in CASES_DIR.glob("*.expected.json"))
    assert goldens == CASES


def test_every_snippet_is_broken() -> None:
    clean = [name for name in CASES
             if not json.loads((CASES_DIR / f"{name}.expected.json").read_text(encoding="utf-8"))]
    assert clean == []


def test_corpus_covers_every_diagnostic_family() -> None:
    codes = {d["code"] for name in CASES
             for d in json.loads((CASES_DIR / f"{name}.expected.json").read_text(encoding="utf-8"))}
    wanted = {
        "P0101", "P0102", "P0103", "P0110", "P0111", "P0112", "P0113",
        "P0201", "P0202", "P0203", "P0204", "P0205", "P0206", "P0207",
        "P0301", "P0302", "P0303", "P0304", "P0305", "P0306",
        "P0401", "P0402", "P0403",
        "P0501", "P0502", "P0503", "P0504", "P0506", "P0507", "P0508",
        "P0601", "P0602", "P0603", "P0604", "P0605", "P0606",
        "P0701", "P0702", "P0703",
        "P0115", "P0116", "P0117", "P0119", "P0510", "P0707",
        "P0120", "P0121", "P0122", "P0404",
    }
    assert wanted - codes == set()
    assert len(CASES) >= 28
