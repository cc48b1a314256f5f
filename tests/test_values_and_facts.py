"""Exact numbers end to end, fact conversion and its bilingual errors, and value display/JSON forms."""
from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
from decimal import Decimal

import pytest

import policydsl
from policydsl.errors import PolicyDslError
from policydsl.runtime import values as rv
from policydsl.runtime.facts import InputSpec, convert, loads, lookup, MISSING, prepare

AT = dt.date(2024, 1, 1)

POLICY = '''
enum colour "颜色" / "Colour"
  value red "红色" / "Red"
  value blue "蓝色" / "Blue"
  value green "绿色" / "Green"

policy facts.demo
  title "事实演示" / "Facts demo"

input price.a: money "价格甲" / "Price A"
input price.b: money "价格乙" / "Price B"
input rate: percent "比率" / "Rate"
input shade: colour "颜色" / "Colour"
input palette: set of colour "调色板" / "Palette"
input n: count "数量" / "Count"
input ok: bool "已确认" / "Confirmed"
input opened: date "开通日" / "Opened"
input note: text "备注" / "Note"

define total: money "合计" / "Total"
  = price.a + price.b
define rate_copy: percent "比率副本" / "Rate copy"
  = rate
define rate_is_80: bool "比率为80%" / "Rate is 80%"
  = rate == 80%
define has_red: bool "含红色" / "Has red"
  = red in palette
define is_blue: bool "是蓝色" / "Is blue"
  = shade == blue

rule total_exact "合计" / "Total"
  require total == ¥0.3 else deny total_off "合计 {total}" / "total {total}"
  source "x.txt" quote "y"

rule describe "描述" / "Describe"
  when ok
  warn described "{n} 个，{shade}，{palette}，{rate}，{opened}，{note}，{ok}" / "{n} items, {shade}, {palette}, {rate}, {opened}, {note}, {ok}"
  source "x.txt" quote "y"
'''

GOOD = {"price": {"a": "0.1", "b": "0.2"}, "rate": "80%", "shade": "blue", "palette": ["red"], "n": 3,
        "ok": False, "opened": "2023-10-01", "note": "hi"}

COLOURS = {"red": {"zh": "红色", "en": "Red"}, "blue": {"zh": "蓝色", "en": "Blue"},
           "green": {"zh": "绿色", "en": "Green"}}
CHOICES = "red (红色/Red) | blue (蓝色/Blue) | green (绿色/Green)"


@pytest.fixture(scope="module")
def rule_book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("facts")
    (folder / "facts.policy").write_text(POLICY, encoding="utf-8")
    return policydsl.load(folder)


def spec(kind: str, **kw) -> InputSpec:
    return InputSpec(path="x.y", kind=kind, label={"zh": "某值", "en": "Some value"}, **kw)


# ------------------------------------------------------------------ exact decimals end to end
def test_money_point_one_plus_point_two_is_exactly_point_three(rule_book):
    decision = rule_book.evaluate("facts.demo", GOOD, trace=True, at=AT)
    assert decision.values["total"] == Decimal("0.3")
    assert decision.values["total"] + Decimal("0.3") - Decimal("0.6") == 0
    assert decision.to_dict()["values"]["total"] == "0.30"
    assert decision.outcome == "allow"
    assert [t.status for t in decision.trace if t.rule == "total_exact"] == ["satisfied"]


@pytest.mark.parametrize("a, b", [
    ("0.1", "0.2"),
    (0.1, 0.2),                            # Python floats go through repr, never binary expansion
    (Decimal("0.1"), Decimal("0.2")),
    ("¥0.1", "0.20元"),
    ("￥0.10", " 0.2 "),
])
def test_money_facts_in_every_accepted_spelling_add_up_exactly(rule_book, a, b):
    facts = {**GOOD, "price": {"a": a, "b": b}}
    decision = rule_book.evaluate("facts.demo", facts, trace=True, at=AT)
    assert decision.values["total"] == Decimal("0.3")
    assert decision.reasons == ()


def test_facts_json_floats_are_exact_through_the_whole_pipeline(rule_book):
    facts = loads(json.dumps({**GOOD, "price": {"a": 0.1, "b": 0.2}}))
    assert facts["price"] == {"a": Decimal("0.1"), "b": Decimal("0.2")}
    decision = rule_book.evaluate("facts.demo", facts, trace=True, at=AT)
    assert decision.values["total"] == Decimal("0.3")
    assert decision.to_dict()["values"]["total"] == "0.30"


def test_an_inexact_total_is_denied_with_the_amount_in_both_languages(rule_book):
    decision = rule_book.evaluate("facts.demo", {**GOOD, "price": {"a": "0.1", "b": "0.21"}}, trace=True, at=AT)
    assert decision.outcome == "deny"
    assert [r.to_dict() for r in decision.reasons] == [{
        "rule": "total_exact", "code": "total_off", "message": {"zh": "合计 ¥0.31", "en": "total ¥0.31"},
        "source": {"document": "x.txt", "quote": "y"}}]


def test_percent_fact_is_an_exact_fraction_equal_to_the_literal(rule_book):
    decision = rule_book.evaluate("facts.demo", GOOD, trace=True, at=AT)
    assert decision.values["rate_copy"] == Decimal("0.8")
    assert decision.values["rate_is_80"] is True
    assert decision.to_dict()["values"]["rate_copy"] == "80%"
    other = rule_book.evaluate("facts.demo", {**GOOD, "rate": "80.5%"}, trace=True, at=AT)
    assert other.values["rate_copy"] == Decimal("0.805")
    assert other.values["rate_is_80"] is False
    assert other.to_dict()["values"]["rate_copy"] == "80.5%"


def test_percent_fact_given_as_a_fraction_number(rule_book):
    decision = rule_book.evaluate("facts.demo", {**GOOD, "rate": Decimal("0.8")}, trace=True, at=AT)
    assert decision.values["rate_is_80"] is True


# ------------------------------------------------------------------ facts JSON
def test_loads_keeps_floats_exact():
    data = loads('{"a": 0.1, "b": 2, "c": {"d": 1.10, "e": 1e3}, "f": "0.1", "g": true, "h": null}')
    assert data == {"a": Decimal("0.1"), "b": 2, "c": {"d": Decimal("1.10"), "e": Decimal("1E+3")}, "f": "0.1",
                    "g": True, "h": None}
    assert type(data["a"]) is Decimal and str(data["a"]) == "0.1"
    assert type(data["b"]) is int
    assert str(data["c"]["d"]) == "1.10"


def test_loads_rejects_invalid_json_with_position():
    with pytest.raises(PolicyDslError) as info:
        loads('{"a": 1,\n "b": }')
    assert info.value.key == "E.facts_json"
    assert info.value.message("en") == ("the facts file is not valid JSON: "
                                        "Expecting value (line 2, column 7)")
    assert info.value.message("zh") == "事实文件不是有效的 JSON：Expecting value (line 2, column 7)"


@pytest.mark.parametrize("text", ["[1, 2]", '"text"', "3", "null"])
def test_loads_requires_an_object(text):
    with pytest.raises(PolicyDslError) as info:
        loads(text)
    assert info.value.key == "E.facts_object"
    assert info.value.message("zh") == "事实必须是 JSON 对象"


def test_lookup_takes_flat_and_nested_paths():
    assert lookup({"account.fans": 5}, "account.fans") == 5
    assert lookup({"account": {"fans": 6}}, "account.fans") == 6
    assert lookup({"account": {"fans": 6}}, "account.kind") is MISSING
    assert lookup({"account": [1]}, "account.fans") is MISSING
    assert lookup({}, "a") is MISSING


# ------------------------------------------------------------------ conversion
@pytest.mark.parametrize("raw, expected", [
    (0, 0), (5, 5), (Decimal("5"), 5), (Decimal("5.0"), 5), (5.0, 5), (Decimal("1E+3"), 1000),
])
def test_count_accepts_non_negative_integers(raw, expected):
    value, problem = convert(spec("count"), raw)
    assert (value, problem) == (expected, None)
    assert type(value) is int


@pytest.mark.parametrize("raw", [-1, 5.5, Decimal("5.5"), True, False, "5", None, [5],
                                 float("nan"), float("inf"), Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")])
def test_count_rejects_everything_else(raw):
    assert convert(spec("count"), raw) == (None, "count")


@pytest.mark.parametrize("raw, expected", [
    ("12.50", Decimal("12.50")), ("¥12.5", Decimal("12.5")), ("￥ 12", Decimal("12")), ("12元", Decimal("12")),
    (12, Decimal(12)), (0.1, Decimal("0.1")), (Decimal("0.10"), Decimal("0.10")), ("0", Decimal("0")),
    ("-0.0", Decimal("0.0")),  # negative zero is zero
    ("1234567890123456789012345678901.234", Decimal("1234567890123456789012345678901.234")),  # 34 digits
])
def test_money_conversion(raw, expected):
    value, problem = convert(spec("money"), raw)
    assert problem is None
    assert value == expected and type(value) is Decimal
    assert str(value) == str(expected)


@pytest.mark.parametrize("raw", ["abc", "12%", "¥", "1,000", True, None, [1], float("nan"), Decimal("Infinity"),
                                 "-3.5", -1, Decimal("-0.01"),  # an amount is never negative
                                 "12345678901234567890123456789012.345", Decimal("9e999999"), "9e999999", 10 ** 40,
                                 Decimal("1e-40"), "1" * 5000])
def test_money_rejects(raw):
    assert convert(spec("money"), raw) == (None, {"zh": "money（≥ 0，最多 34 位有效数字）",
                                                  "en": "money ≥ 0, at most 34 significant digits"})


@pytest.mark.parametrize("raw", ["¥5", float("inf"), Decimal("NaN"), False, Decimal("1" * 35), Decimal("1e40")])
def test_number_rejects(raw):
    assert convert(spec("number"), raw) == (None, {"zh": "number（最多 34 位有效数字）",
                                                   "en": "number, at most 34 significant digits"})


@pytest.mark.parametrize("raw, expected", [
    ("80%", Decimal("0.8")), (" 12.5 % ", Decimal("0.125")), ("0%", Decimal(0)), ("100%", Decimal(1)),
    ("150%", Decimal("1.5")), (Decimal("0.8"), Decimal("0.8")), (0.25, Decimal("0.25")),
])
def test_percent_conversion(raw, expected):
    assert convert(spec("percent"), raw) == (expected, None)


@pytest.mark.parametrize("raw", ["80", "80 percent", "%"])
def test_percent_rejects_text_without_a_percent_sign(raw):
    assert convert(spec("percent"), raw) == (None, 'percent "80%"')


@pytest.mark.parametrize("raw", [True, float("nan"), 80, Decimal("1.5"), -2])
def test_percent_rejects_non_fractions_and_ambiguous_numbers(raw):
    # 80 could mean 80% or 8000%: a bare number must be a fraction between 0 and 1.
    assert convert(spec("percent"), raw) == (None, 'percent "80%" (or a fraction 0–1)')


def test_bool_text_and_date_conversion():
    assert convert(spec("bool"), True) == (True, None)
    assert convert(spec("bool"), 1) == (None, "bool")
    assert convert(spec("bool"), "true") == (None, "bool")
    assert convert(spec("text"), "dy0007") == ("dy0007", None)
    assert convert(spec("text"), 7) == (None, "text")
    assert convert(spec("date"), "2024-02-29") == (dt.date(2024, 2, 29), None)
    assert convert(spec("date"), "2023-02-29") == (None, "date YYYY-MM-DD")
    assert convert(spec("date"), 20240229) == (None, "date YYYY-MM-DD")


@pytest.mark.parametrize("raw", ["blue", "蓝色", "Blue"])
def test_enum_accepted_by_id_zh_label_and_en_label(raw):
    assert convert(spec("enum", enum_values=COLOURS), raw) == ("blue", None)


@pytest.mark.parametrize("raw", ["BLUE", "purple", "", 1, None, ["blue"]])
def test_enum_rejects_unknown_values_and_lists_the_choices(raw):
    assert convert(spec("enum", enum_values=COLOURS), raw) == (None, CHOICES)


def test_sets_of_enums_mix_ids_and_labels_and_collapse_duplicates():
    assert convert(spec("set", enum_values=COLOURS), ["red", "绿色", "Blue", "blue"]) == (
        frozenset({"red", "green", "blue"}), None)
    assert convert(spec("set", enum_values=COLOURS), []) == (frozenset(), None)
    assert convert(spec("set", enum_values=COLOURS), ["red", "pink"]) == (None, f"[{CHOICES}]")
    assert convert(spec("set", enum_values=COLOURS), "red") == (None, f"[{CHOICES}]")


def test_enum_and_set_facts_through_a_policy(rule_book):
    for shade in ("blue", "蓝色", "Blue"):
        decision = rule_book.evaluate("facts.demo", {**GOOD, "shade": shade, "palette": ["Green", "红色"]}, trace=True, at=AT)
        assert decision.values["is_blue"] is True
        assert decision.values["has_red"] is True
    decision = rule_book.evaluate("facts.demo", {**GOOD, "shade": "红色", "palette": []}, trace=True, at=AT)
    assert decision.values["is_blue"] is False
    assert decision.values["has_red"] is False


def test_prepare_skips_null_and_absent_facts():
    specs = {"a": InputSpec(path="a", kind="count", label={"zh": "甲", "en": "A"}),
             "b": InputSpec(path="b", kind="bool", label={"zh": "乙", "en": "B"})}
    assert prepare(specs, {"a": None, "c": 1}) == {}
    assert prepare(specs, {"a": 2, "b": False}) == {"a": 2, "b": False}


# ------------------------------------------------------------------ one error naming every bad fact
def test_ill_typed_facts_produce_one_error_listing_every_bad_fact(rule_book):
    facts = {"price": {"a": "abc", "b": True}, "rate": "80", "shade": "purple", "palette": ["red", "x"], "n": -1,
             "ok": "yes", "opened": "2023-02-30", "note": 5}
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("facts.demo", facts, trace=True, at=AT)
    error = info.value
    assert error.key == "E.bad_facts"
    assert error.message("zh") == "\n".join([
        "事实的值无效：",
        "  - price.a（价格甲 / Price A）：\"abc\"，应为 money（≥ 0，最多 34 位有效数字）",
        "  - price.b（价格乙 / Price B）：true，应为 money（≥ 0，最多 34 位有效数字）",
        "  - rate（比率 / Rate）：\"80\"，应为 percent \"80%\"",
        f"  - shade（颜色 / Colour）：\"purple\"，应为 {CHOICES}",
        f"  - palette（调色板 / Palette）：[\"red\", \"x\"]，应为 [{CHOICES}]",
        "  - n（数量 / Count）：-1，应为 count",
        "  - ok（已确认 / Confirmed）：\"yes\"，应为 bool",
        "  - opened（开通日 / Opened）：\"2023-02-30\"，应为 date YYYY-MM-DD",
        "  - note（备注 / Note）：5，应为 text",
    ])
    assert error.message("en") == "\n".join([
        "invalid facts:",
        "  - price.a (价格甲 / Price A): \"abc\", expected money ≥ 0, at most 34 significant digits",
        "  - price.b (价格乙 / Price B): true, expected money ≥ 0, at most 34 significant digits",
        "  - rate (比率 / Rate): \"80\", expected percent \"80%\"",
        f"  - shade (颜色 / Colour): \"purple\", expected {CHOICES}",
        f"  - palette (调色板 / Palette): [\"red\", \"x\"], expected [{CHOICES}]",
        "  - n (数量 / Count): -1, expected count",
        "  - ok (已确认 / Confirmed): \"yes\", expected bool",
        "  - opened (开通日 / Opened): \"2023-02-30\", expected date YYYY-MM-DD",
        "  - note (备注 / Note): 5, expected text",
    ])


def test_a_single_bad_fact_among_good_ones(rule_book):
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("facts.demo", {**GOOD, "n": 2.5}, trace=True, at=AT)
    assert info.value.message("en") == "invalid facts:\n  - n (数量 / Count): 2.5, expected count"


def test_bad_facts_that_json_cannot_show_are_still_reported():
    specs = {"a": InputSpec(path="a", kind="count", label={"zh": "甲", "en": "A"})}
    with pytest.raises(PolicyDslError) as info:
        prepare(specs, {"a": {(1, 2): 3}})
    assert info.value.key == "E.bad_facts"
    assert info.value.message("en") == "invalid facts:\n  - a (甲 / A): {(1, 2): 3}, expected count"


# ------------------------------------------------------------------ missing facts
def test_missing_facts_are_named_with_their_labels(rule_book):
    with pytest.raises(PolicyDslError) as info:
        rule_book.evaluate("facts.demo", {"price": {"a": "1"}, "ok": False}, trace=True, at=AT)
    error = info.value
    assert error.key == "E.missing_facts"
    assert error.facts == ("price.b", "rate", "palette", "shade")
    assert error.message("zh") == ("缺少事实：\n  - price.b（价格乙 / Price B）\n  - rate（比率 / Rate）\n"
                                   "  - palette（调色板 / Palette）\n  - shade（颜色 / Colour）")
    assert error.message("en") == ("missing facts:\n  - price.b (价格乙 / Price B)\n  - rate (比率 / Rate)\n"
                                   "  - palette (调色板 / Palette)\n  - shade (颜色 / Colour)")


def test_a_placeholder_for_an_absent_input_reads_not_given(rule_book):
    facts = {k: v for k, v in GOOD.items() if k not in ("n", "note")}
    facts["ok"] = True  # `describe` is in scope; its condition reads nothing, its message shows n and note
    decision = rule_book.evaluate("facts.demo", facts, trace=True, at=AT)
    assert decision.outcome == "allow"
    assert [dict(w.message) for w in decision.warnings] == [{
        "zh": "（未提供） 个，蓝色，红色，80%，2023-10-01，（未提供），是",
        "en": "(not given) items, Blue, Red, 80%, 2023-10-01, (not given), yes"}]


def test_null_counts_as_missing(rule_book):
    with pytest.raises(PolicyDslError) as info:  # a rule needs price.a (through total)
        rule_book.evaluate("facts.demo", {**GOOD, "price": {"a": None, "b": "0.2"}}, trace=True, at=AT)
    assert info.value.key == "E.missing_facts"
    assert info.value.facts == ("price.a",)
    # only values read rate: a null rate leaves them uncomputed, naming it
    decision = rule_book.evaluate("facts.demo", {**GOOD, "rate": None}, trace=True, at=AT)
    assert decision.unresolved == {"rate_copy": ("rate",), "rate_is_80": ("rate",)}


# ------------------------------------------------------------------ display and JSON forms
def label(value: str) -> dict[str, str]:
    return COLOURS[value]


@pytest.mark.parametrize("kind, value, zh, en", [
    ("count", 20000, "20000", "20,000"),
    ("count", 7, "7", "7"),
    ("money", Decimal("20000"), "¥20000", "¥20,000"),
    ("money", Decimal("2E+4"), "¥20000", "¥20,000"),
    ("money", Decimal("0.3"), "¥0.30", "¥0.30"),
    ("money", Decimal("1234567.5"), "¥1234567.50", "¥1,234,567.50"),
    ("money", Decimal("12.345"), "¥12.345", "¥12.345"),
    ("money", Decimal("20000.00"), "¥20000", "¥20,000"),
    ("money", 0, "¥0", "¥0"),
    ("percent", Decimal("0.8"), "80%", "80%"),
    ("percent", Decimal("0.125"), "12.5%", "12.5%"),
    ("percent", Decimal("1"), "100%", "100%"),
    ("number", Decimal("2.50"), "2.5", "2.5"),
    ("number", 5, "5", "5"),
    ("bool", True, "是", "yes"),
    ("bool", False, "否", "no"),
    ("date", dt.date(2023, 10, 7), "2023-10-07", "2023-10-07"),
    ("text", "dy0007", "dy0007", "dy0007"),
    ("duration", (7, "working_days"), "7个工作日", "7 working days"),
    ("duration", (6, "months"), "6个月", "6 months"),
    ("duration", (3, "days"), "3天", "3 days"),
])
def test_display(kind, value, zh, en):
    assert rv.display(kind, value, "zh") == zh
    assert rv.display(kind, value, "en") == en


def test_display_of_enums_sets_and_not_open():
    assert rv.display("enum", "blue", "zh", label) == "蓝色"
    assert rv.display("enum", "blue", "en", label) == "Blue"
    assert rv.display("set", frozenset({"red", "green", "blue"}), "zh", label) == "蓝色、绿色、红色"
    assert rv.display("set", frozenset({"red", "green", "blue"}), "en", label) == "Blue, Green, Red"
    assert rv.display("set", frozenset(), "en", label) == "none"
    assert rv.display("set", frozenset(), "zh", label) == "无"
    assert rv.display("money", rv.NOT_OPEN, "zh") == "暂不开放"
    assert rv.display("money", rv.NOT_OPEN, "en") == "not open"


@pytest.mark.parametrize("kind, value, expected", [
    ("money", Decimal("0.3"), "0.30"),
    ("money", Decimal("20000"), "20000"),
    ("money", Decimal("12.345"), "12.345"),
    ("money", 0, "0"),
    ("percent", Decimal("0.8"), "80%"),
    ("percent", Decimal("0.005"), "0.5%"),
    ("number", Decimal("2.50"), "2.5"),
    ("number", 5, "5"),
    ("count", 5, 5),
    ("bool", True, True),
    ("text", "x", "x"),
    ("enum", "blue", "blue"),
    ("date", dt.date(2024, 2, 29), "2024-02-29"),
    ("set", frozenset({"red", "blue"}), ["blue", "red"]),
    ("duration", (7, "working_days"), "7 working_days"),
    ("money", rv.NOT_OPEN, "not_open"),
    ("percent", rv.NOT_OPEN, "not_open"),
])
def test_to_json(kind, value, expected):
    assert rv.to_json(kind, value) == expected


def test_plain_and_money_text():
    assert rv.plain(Decimal("0.80")) == "0.8"
    assert rv.plain(Decimal("2E+4")) == "20000"
    assert rv.plain(Decimal("-0.50")) == "-0.5"
    assert rv.money_text(Decimal("0.3")) == "0.30"
    assert rv.money_text(Decimal("5.10")) == "5.10"
    assert rv.money_text(Decimal("100.00")) == "100"


def test_not_open_is_a_singleton_that_survives_copy_and_pickle():
    assert rv.NOT_OPEN is type(rv.NOT_OPEN)()
    assert pickle.loads(pickle.dumps(rv.NOT_OPEN)) is rv.NOT_OPEN
    assert copy.deepcopy(rv.NOT_OPEN) is rv.NOT_OPEN
    assert repr(rv.NOT_OPEN) == "NOT_OPEN"


def test_messages_render_every_kind_in_both_languages(rule_book):
    facts = {**GOOD, "ok": True, "n": 12345, "shade": "蓝色", "palette": ["Red", "green", "蓝色"]}
    decision = rule_book.evaluate("facts.demo", facts, trace=True, at=AT)
    assert decision.reasons == ()
    assert [w.to_dict() for w in decision.warnings] == [{
        "rule": "describe", "code": "described",
        "message": {"zh": "12345 个，蓝色，蓝色、绿色、红色，80%，2023-10-01，hi，是",
                    "en": "12,345 items, Blue, Blue, Green, Red, 80%, 2023-10-01, hi, yes"},
        "source": {"document": "x.txt", "quote": "y"}}]


# ------------------------------------------------------------------ extreme inputs stay errors, not crashes or hangs
def test_negative_money_keeps_its_sign_in_english():
    assert rv.display("money", Decimal("-0.5"), "en") == "¥-0.50"
    assert rv.display("money", Decimal("-0.5"), "zh") == "¥-0.50"
    assert rv.display("money", Decimal("-1234.5"), "en") == "¥-1,234.50"


def test_money_beyond_python_int_and_decimal_context_limits_still_displays():
    huge = rv.display("money", Decimal("1E+5000"), "en")
    # 5001 digits form 1667 groups of three: "¥100,000,…,000"
    assert huge.startswith("¥100,000,") and huge.count(",") == 1666 and len(huge) == 1 + 5001 + 1666
    assert set(huge[4:]) == {"0", ","}
    assert rv.display("money", Decimal("123456789012345678901234567.5"), "zh") == "¥123456789012345678901234567.50"


def test_loads_turns_an_over_long_integer_into_a_facts_error():
    with pytest.raises(PolicyDslError) as info:
        loads('{"a": ' + "1" * 5000 + "}")
    assert info.value.key == "E.facts_json"


def test_a_count_with_a_huge_exponent_is_rejected_without_building_the_integer():
    assert convert(spec("count"), Decimal("1E+1000000")) == (None, "count")
    assert convert(spec("count"), loads('{"a": 1e999999999}')["a"]) == (None, "count")
    assert convert(spec("count"), Decimal("1E+20")) == (10 ** 20, None)
