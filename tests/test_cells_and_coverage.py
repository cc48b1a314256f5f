"""Table cells that hold enum values, sets of enum values and `not_stated`; coverage recording."""
from __future__ import annotations

import datetime as dt

import pytest

import policydsl
from policydsl import PolicyDslError

from conftest import POLICIES, diagnostics_of

BOOK = '''
enum doc "材料" / "Document"
  value licence "营业执照" / "Business licence"
  value id_card "身份证" / "ID card"
  value food_permit "食品经营许可证" / "Food business permit"
enum cat "类目" / "Category"
  value general "通用" / "General"
  value food "食品" / "Food"
  value toys "玩具" / "Toys"
enum stage "阶段" / "Stage"
  value novice "新手期" / "Novice"
  value mature "成熟期" / "Mature"

policy t.cells
  title "单元格" / "Cells"
  source "d.txt" quote "q"
input category: cat "类目" / "Category"
input age: count "天数" / "Days"
input provided: set of doc "已提供材料" / "Provided documents"

table required(c: cat) -> set of doc "所需材料" / "Required documents"
  row general: {licence, id_card}
  row food: {licence, id_card, food_permit}
  row toys: not_stated

table stage_of(days: count) -> stage "阶段" / "Stage"
  row [0, 90]: novice
  row [91, inf): mature

define docs.required: set of doc "所需材料" / "Required documents" = required(category)
define shop.stage: stage "经营阶段" / "Business stage" = stage_of(age)

rule documents "材料齐全" / "Documents complete"
  require all(d in provided for d in required(category))
    else deny missing_documents "材料不全" / "Documents missing"
  source "d.txt" quote "q"
'''


@pytest.fixture
def book(tmp_path):
    (tmp_path / "t.policy").write_text(BOOK, encoding="utf-8")
    return policydsl.load(tmp_path)


def test_set_and_enum_cells(book):
    d = book.evaluate("t.cells", {"category": "食品", "age": 91, "provided": ["licence", "身份证"]},
                      at=dt.date(2024, 1, 1))
    assert d.outcome == "deny"
    assert d.values == {"docs.required": frozenset({"licence", "id_card", "food_permit"}), "shop.stage": "mature"}
    assert d.to_dict()["values"] == {"docs.required": ["food_permit", "id_card", "licence"], "shop.stage": "mature"}


def test_not_stated_cell_is_an_error_naming_the_cell(book):
    with pytest.raises(PolicyDslError) as info:
        book.evaluate("t.cells", {"category": "toys", "age": 3, "provided": []}, at=dt.date(2024, 1, 1))
    assert info.value.message("en") == "the sources state no value for toys in table `required`"
    assert info.value.message("zh") == "来源文件没有给出表 `required` 中 toys 的取值"


def test_a_cell_outside_its_enum_is_diagnosed():
    diags = diagnostics_of('policy p title "a" / "b"\n'
                           'table t(k: account_kind) -> shop_type "a" / "b"\n'
                           '  row personal: mal\n  row enterprise: mall\n  row individual_business: mall\n')
    assert [(d.code, d.line, d.column, d.span.text, d.hint["en"]) for d in diags] == [
        ("P0206", 3, 17, "mal", "did you mean `mall`?")]


def test_coverage_records_rules_cells_cases_and_phases():
    book = policydsl.load(POLICIES)
    facts = {"shop": {"type": "个体店", "cross_border": False, "closed": False},
             "account": {"role": "authorised", "id": "dy0007"}, "product": {"own_store": False, "scene": "live"}}
    d = book.evaluate("official_account.own_store_only", facts, at=dt.date(2023, 11, 20), coverage=True)
    assert d.coverage == {"case:restriction.applies:3", "phase:own_store_rollout:pilot"}
    d = book.evaluate("official_account.own_store_only", facts, at=dt.date(2024, 1, 2), coverage=True)
    assert d.coverage == {"case:restriction.applies:3", "phase:own_store_rollout:after",
                          "rule:live_room_own_store:fired"}
    compiled = book.compiled["official_account.own_store_only"]
    assert compiled.coverage_items == (
        "rule:live_room_own_store:fired", "rule:showcase_video_own_store:fired", "rule:cross_border_exempt:fired",
        "rule:closed_shop_unbound:fired", "case:restriction.applies:1", "case:restriction.applies:2",
        "case:restriction.applies:3", "phase:own_store_rollout:before", "phase:own_store_rollout:pilot",
        "phase:own_store_rollout:full", "phase:own_store_rollout:after")


NOT_OPEN_BOOK = '''
enum colour "颜色" / "Colour"
  value red "红色" / "Red"
  value blue "蓝色" / "Blue"
enum flag "旗" / "Flag"
  value red "红旗" / "Red flag"
policy t.open
  title "开放" / "Open"
  source "d.txt" quote "q"
input c: colour "颜色" / "Colour"
input f: flag "旗" / "Flag"
table fee(c: colour) -> money "费用" / "Fee"
  row red: ¥1
  row blue: not_open
rule closed "暂不开放" / "Not open"
  when fee(c) == not_open
  deny not_open_here "{c} 暂不开放" / "{c} is not open"
  source "d.txt" quote "q"
'''


def test_not_open_can_be_tested_and_enum_labels_stay_with_their_enum(tmp_path):
    (tmp_path / "t.policy").write_text(NOT_OPEN_BOOK, encoding="utf-8")
    book = policydsl.load(tmp_path)
    d = book.evaluate("t.open", {"c": "blue", "f": "red"}, at=dt.date(2024, 1, 1))
    assert (d.outcome, [r.message["zh"] for r in d.reasons]) == ("deny", ["蓝色 暂不开放"])
    assert book.evaluate("t.open", {"c": "红色", "f": "红旗"}, at=dt.date(2024, 1, 1)).outcome == "allow"
    # `red` is a value of two enums: each fact shows its own enum's label
    with pytest.raises(PolicyDslError) as info:
        book.evaluate("t.open", {"c": "红旗", "f": "red"}, at=dt.date(2024, 1, 1))
    assert "红旗" in info.value.message("zh") and info.value.key == "E.bad_facts"


def test_not_open_only_compares_for_equality():
    diags = diagnostics_of('policy p title "a" / "b"\ninput n: count "n" / "n"\n'
                           'rule r "r" / "r" require n > not_open else deny c "c" / "c" source "s" quote "q"\n')
    assert [(d.code, d.span.text) for d in diags] == [("P0301", ">")]
