"""Strict facts (issue 11, part 2): a name the rule book does not know is an error with a did-you-mean
(unless --ignore-unknown), a fact given twice with different values is an error, labels work as fact
names wherever ids do, and a label several facts share must be replaced by an id. Real CLI and API."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

import policydsl
from policydsl.errors import PolicyDslError

from conftest import POLICIES

AT = "2023-12-20"
RECORD = {"account": {"kind": "personal", "fans": 999, "real_name": True}, "product": {"special_category": False}}


def eval_cart(facts: object, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policydsl.cli", "eval", "cart.opening", "--facts", "-",
                           "--policies", str(POLICIES), "--at", AT, "--lang", "en", "--json", *more],
                          input=json.dumps(facts, ensure_ascii=False), capture_output=True, text=True, timeout=120)


def decision(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def error(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 2, result.stdout + result.stderr
    return json.loads(result.stdout)["error"]


def test_an_unknown_fact_is_named_with_a_did_you_mean() -> None:
    facts = {"account": {"kind": "personal", "fanz": 999, "real_name": True}, "product": {"special_category": False}}
    found = error(eval_cart(facts))
    assert found["code"] == "unknown_facts" and found["facts"] == ["account.fanz"]
    assert "  - account.fanz (did you mean `account.fans`" in found["message"]["en"]
    assert "  - account.fanz（是不是 `account.fans`" in found["message"]["zh"]


def test_other_fields_of_a_record_are_skipped_when_asked() -> None:
    facts = {**RECORD, "warehouse_row": 17, "shop": {"id": "s-1"}}
    assert error(eval_cart(facts))["facts"] == ["warehouse_row", "shop.id"]
    assert decision(eval_cart(facts, "--ignore-unknown")) == decision(eval_cart(RECORD))


def test_a_fact_given_twice_with_different_values_is_an_error() -> None:
    found = error(eval_cart({**RECORD, "account.fans": 5000}))
    assert found["code"] == "conflicting_facts" and found["facts"] == ["account.fans"]
    assert found["message"]["en"].endswith("  - account.fans: `account.fans` is 5000, `account → fans` is 999")
    # the same value twice says nothing new: no conflict
    assert decision(eval_cart({**RECORD, "account.fans": 999})) == decision(eval_cart(RECORD))


@pytest.mark.parametrize("spelling", ["zh", "en", "mixed"])
def test_labels_work_as_fact_names(spelling: str) -> None:
    by_label = {
        "zh": {"账号类型": "个人账号", "粉丝数": 999, "已完成实名认证": True, "经营特殊类目（如美妆、食品）": False},
        "en": {"Account type": "personal", "Followers": 999, "Real-name verified": True,
               "Sells a special category (e.g. beauty, food)": False},
        "mixed": {"account": {"kind": "personal", "real_name": True}, "粉丝数": 999,
                  "product.special_category": False},
    }[spelling]
    assert decision(eval_cart(by_label)) == decision(eval_cart(RECORD))


def test_the_book_gives_every_label_to_one_fact_only() -> None:
    """The vocabulary's own check (P0213) keeps the real book free of shared labels."""
    book = policydsl.load(POLICIES)
    assert {label: paths for label, paths in book.vocabulary.labels.items() if len(paths) > 1} == {}


TWO_BOOKS = """policy demo.{name}
  title "演示{name}" / "Demo {name}"

input {path}: count "粉丝数" / "Followers"

rule r "门槛" / "Threshold"
  require {path} >= 1
    else deny low "太少" / "Too few"
  source "doc.txt" quote "门槛"
"""


def test_a_label_shared_by_several_facts_asks_for_an_id(tmp_path) -> None:
    """Two policies whose own inputs share a label (the checker warns, P0213): the label alone is ambiguous."""
    for name, path in (("a", "account.fans"), ("b", "creator.fans")):
        (tmp_path / f"{name}.policy").write_text(TWO_BOOKS.format(name=name, path=path), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "policydsl.cli", "eval", "demo.a", "--facts", "-",
                             "--policies", str(tmp_path), "--at", AT, "--lang", "en", "--json"],
                            input=json.dumps({"粉丝数": 5}, ensure_ascii=False), capture_output=True, text=True,
                            timeout=120)
    found = error(result)
    assert found["code"] == "ambiguous_facts" and found["facts"] == ["粉丝数"]
    assert "`account.fans`" in found["message"]["en"] and "`creator.fans`" in found["message"]["en"]
    assert decision(subprocess.run([sys.executable, "-m", "policydsl.cli", "eval", "demo.a", "--facts", "-",
                                    "--policies", str(tmp_path), "--at", AT, "--lang", "en", "--json"],
                                   input=json.dumps({"account.fans": 5}), capture_output=True, text=True,
                                   timeout=120))["outcome"] == "allow"


def test_the_api_is_as_strict_and_takes_labels() -> None:
    book = policydsl.load(POLICIES)
    at = dt.date(2023, 12, 20)
    with pytest.raises(PolicyDslError) as info:
        book.evaluate("cart.opening", {**RECORD, "acount": {"fans": 1}}, at=at)
    assert info.value.code == "unknown_facts" and info.value.facts == ("acount.fans",)
    assert "did you mean `account.fans`" in info.value.message("en")
    plain = book.evaluate("cart.opening", RECORD, at=at)
    assert book.evaluate("cart.opening", {**RECORD, "acount": {"fans": 1}}, at=at, ignore_unknown=True) == plain
    assert book.evaluate("cart.opening", {"粉丝数": 999, "account": {"kind": "个人账号", "real_name": True},
                                          "product": {"special_category": False}}, at=at) == plain


def test_a_plain_record_is_passed_through_unchanged() -> None:
    """The quick check keeps the common case (known ids, nested) free of any copying."""
    book = policydsl.load(POLICIES)
    assert book.vocabulary.check(RECORD) is RECORD
    assert book.vocabulary.check({"account": {"粉丝数": 999}}) == {"account.fans": 999}
