"""Book-level properties (issue 12, item 2): a property outside any policy speaks of several
policies' decisions, `outcome(POLICY)` and `fires(POLICY, RULE)`, over the book's vocabulary.

The checker types them (P0803: a bare `outcome` / `fires(rule)` in a book property; P0804: a policy
named inside a policy's own property); `verify` proves them over every record and day on which each
named policy is in force and applies, and a deliberately false one gets a counterexample that
`policydsl eval --book` confirms."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import POLICIES
from test_verify_book import run

from policydsl.formatter import format_text
from policydsl.lsp import outline
from policydsl.source import SourceFile
from policydsl.syntax.parser import parse

FALSE = '''
property deposit_shop_gets_cart "交了保证金的个人账号都能开通购物车" / "Every personal account that paid a deposit may open the cart"
  effective from 2023-01-01
  when account.kind == personal and account.fans >= 1000
  expect outcome(cart.opening) == allow or outcome(content.assessment) == deny
'''


def book_copy(tmp_path: Path, extra: str) -> Path:
    book = tmp_path / "policies"
    shutil.copytree(POLICIES, book)
    path = book / "book.policy"
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + extra, encoding="utf-8")
    return book


def test_the_books_book_property_is_proved():
    result = run("verify", "book", "--policies", "policies", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["policies"] == []
    assert [(p["name"], p["status"], p["counterexample"]) for p in data["book"]] == [
        ("low_fans_no_cart", "proved", None), ("staged_deposit_within_standard", "proved", None)]
    text = run("verify", "book", "--policies", "policies", "--lang", "en").stdout
    assert "The whole book (book)" in text and "✓ proved  low_fans_no_cart" in text
    assert "✓ proved  staged_deposit_within_standard" in text  # a book property reading two policies' values


def test_a_false_book_property_has_a_counterexample_eval_book_confirms(tmp_path):
    book = book_copy(tmp_path, FALSE)
    out = tmp_path / "cx"
    result = run("verify", "book", "--policies", str(book), "--property", "deposit_shop_gets_cart",
                 "--out", str(out), "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    [prop] = data["book"]
    assert prop["status"] == "failed"
    cx = prop["counterexample"]
    assert cx["file"] == str(out / "book.deposit_shop_gets_cart.json")
    assert [p["policy"] for p in cx["policies"]] == ["cart.opening", "content.assessment"]
    assert [p["decision"]["outcome"] for p in cx["policies"]] == ["deny", "allow"]
    facts = cx["facts"]
    assert facts["account"]["kind"] == "personal" and facts["account"]["fans"] >= 1000
    # the whole-book decision, as `eval --book` makes it, confirms both parts (the other policies lack
    # facts this record does not carry: they are errors of their own, exit 2)
    replay = run("eval", "--book", "--facts", cx["file"], "--at", cx["at"], "--policies", str(book), "--json")
    assert replay.returncode in (0, 2), replay.stderr
    parts = {p["policy"]: p for p in json.loads(replay.stdout)["policies"]}
    assert parts["cart.opening"]["decision"] == cx["policies"][0]["decision"]
    assert parts["content.assessment"]["decision"] == cx["policies"][1]["decision"]
    # the text report prints the command that reproduces it
    text = run("verify", "book", "--policies", str(book), "--property", "deposit_shop_gets_cart", "--lang", "en")
    assert "✗ FAILED  deposit_shop_gets_cart" in text.stdout
    assert "decision of cart.opening: deny" in text.stdout and "decision of content.assessment: allow" in text.stdout
    assert "| policydsl eval --book --facts - --at " in text.stdout


def check(tmp_path: Path, extra: str) -> list[dict]:
    book = book_copy(tmp_path, extra)
    result = run("check", str(book), "--format", "json")
    return [d for d in json.loads(result.stdout) if d["severity"] == "error"]


def test_a_book_property_names_its_policies(tmp_path):
    bare = check(tmp_path / "a", '\nproperty bare "裸" / "Bare"\n  expect outcome == deny\n')
    assert [d["code"] for d in bare] == ["P0803"]
    one = check(tmp_path / "b", '\nproperty one "一" / "One"\n  expect fires(fans_2023)\n')
    assert [d["code"] for d in one] == ["P0803"]
    unknown = check(tmp_path / "c", '\nproperty unk "未知" / "Unknown"\n  expect outcome(cart.openin) == deny\n')
    assert [d["code"] for d in unknown] == ["P0201"] and "cart.opening" in json.dumps(unknown, ensure_ascii=False)
    rule = check(tmp_path / "d", '\nproperty r "规则" / "Rule"\n  expect fires(cart.opening, fans_2024)\n')
    assert [d["code"] for d in rule] == ["P0201"]


def test_a_policy_property_names_no_policy(tmp_path):
    book = tmp_path / "policies"
    shutil.copytree(POLICIES, book)
    path = book / "cart_opening.policy"
    path.write_text(path.read_text(encoding="utf-8") + '\nproperty x "x" / "x"\n  expect outcome(cart.opening) == deny\n',
                    encoding="utf-8")
    result = run("check", str(book), "--format", "json")
    assert [d["code"] for d in json.loads(result.stdout) if d["severity"] == "error"] == ["P0804"]


def test_formatter_and_outline_keep_book_properties():
    text = (POLICIES / "book.policy").read_text(encoding="utf-8")
    assert format_text(text, "book.policy") == text
    ugly = text.replace("expect outcome(cart.opening) == deny and fires(cart.opening, fans_2023)",
                        "expect   outcome( cart.opening )==deny and fires( cart.opening ,fans_2023 )")
    assert format_text(ugly, "book.policy") == text
    module, _ = parse(SourceFile(path="book.policy", text=text))
    assert [s.name for s in outline(module)] == ["low_fans_no_cart", "otc_drug_listing", "deposit_floor_and_standard",
                                                  "deposit_due", "legacy_entry_and_cart", "staged_deposit_within_standard"]
