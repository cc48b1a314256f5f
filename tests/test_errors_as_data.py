"""Errors are data: under `eval --json` every error is one JSON object on stdout (exit 2), the same
object the Python exception gives with `to_dict()`."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

import policydsl
from policydsl.errors import PolicyDslError

from conftest import POLICIES

RECORD = {"account": {"kind": "personal", "fans": 999, "real_name": True}, "product": {"special_category": False}}


def eval_json(facts: str, *args: str, policies: Path = POLICIES) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policydsl.cli", "eval", *args, "--facts", "-", "--policies",
                           str(policies), "--json"], input=facts, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("facts", "args", "code", "named"), [
    ('{"account": {"kind": "personal"}}', ["cart.opening", "--at", "2023-12-20"], "missing_facts",
     ["account.fans", "account.real_name", "product.special_category"]),
    ('{"account": {"kind": "personal", "fans": "many", "real_name": 1}, "product": {"special_category": false}}',
     ["cart.opening", "--at", "2023-12-20"], "bad_facts", ["account.fans", "account.real_name"]),
    (json.dumps(RECORD), ["cart.opening", "--at", "2010-01-01"], "not_in_force", []),
    (json.dumps(RECORD), ["cart.openin", "--at", "2023-12-20"], "unknown_policy", []),
    ('{"account": ', ["cart.opening", "--at", "2023-12-20"], "facts_json", []),
    ("[1]", ["cart.opening", "--at", "2023-12-20"], "facts_object", []),
    (json.dumps(RECORD), ["cart.opening", "--at", "2023-W51-3"], "bad_date", []),
])
def test_an_error_under_json_is_one_object_on_stdout(facts: str, args: list[str], code: str, named: list[str]) -> None:
    result = eval_json(facts, *args)
    assert result.returncode == 2
    assert result.stderr == ""
    error = json.loads(result.stdout)["error"]
    assert error["code"] == code and error["facts"] == named
    assert set(error["message"]) == {"zh", "en"} and all(error["message"].values())


def test_a_broken_rule_book_lists_its_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "common.policy").write_text((POLICIES / "common.policy").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "bad.policy").write_text('policy x.y\n  title "甲" / "A"\ninput a.b: count "甲" / "A"\n'
                                         'rule r "甲" / "A"\n  require a.c >= 1 else deny low "甲" / "A"\n'
                                         '  source "s.txt" quote "q"\n', encoding="utf-8")
    result = eval_json("{}", "x.y", policies=tmp_path)
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "has_errors"
    assert [(d["code"], d["line"], d["column"]) for d in error["diagnostics"]] == [("P0201", 5, 11)]


def test_the_exception_carries_the_same_data() -> None:
    book = policydsl.load(POLICIES)
    with pytest.raises(PolicyDslError) as info:
        book.evaluate("cart.opening", {"account": {"kind": "personal"}}, at=dt.date(2023, 12, 20))
    assert info.value.code == "missing_facts"
    assert info.value.facts == ("account.fans", "account.real_name", "product.special_category")
    result = eval_json('{"account": {"kind": "personal"}}', "cart.opening", "--at", "2023-12-20")
    assert json.loads(result.stdout) == info.value.to_dict()


def test_without_json_the_error_stays_text_on_stderr() -> None:
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "eval", "cart.opening", "--facts", "-",
                             "--policies", str(POLICIES), "--at", "2023-12-20", "--lang", "en"],
                            input="{}", capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: missing facts:\n  - account.kind (账号类型 / Account type)")
