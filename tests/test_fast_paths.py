"""The generated fast function gives exactly what the traced one gives.

evaluate(trace=False, coverage=False) runs the policy's generated fast function, which converts the
common shape of facts inline and hands anything else to `prepare`. These tests hold it to the traced
function (trace=True) on the real rule book, on arbitrary facts, and on the corner cases the inline
conversion takes a decision on.
"""
from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from decimal import Decimal
from types import MappingProxyType

import pytest
from hypothesis import given, settings, strategies as st

from policydsl.errors import PolicyDslError
from policydsl.runtime.decision import Decision, Reason, make_decision
from policydsl.runtime.evaluate import evaluate
from policydsl.runtime.facts import InputSpec, prepare

from test_properties import POLICY_IDS, SETTINGS, dates, facts_for, rule_book


def outcome_of(policy_id: str, facts, at: dt.date, **flags):
    """Everything observable of one evaluation: the decision's parts, or the error's."""
    try:
        decision = evaluate(rule_book().compiled[policy_id], facts, at, **flags)
    except PolicyDslError as error:
        return ("error", error.key, error.message("zh"), error.message("en"), error.facts or None)
    reasons = [(r.rule, r.code, r.outcome, dict(r.message), r.source) for r in decision.reasons]
    warnings = [(r.rule, r.code, r.outcome, dict(r.message), r.source) for r in decision.warnings]
    values = {k: (type(v), v) for k, v in decision.values.items()}
    return ("decision", decision.policy, decision.at, decision.outcome, values, reasons, warnings, decision.to_dict())


# ------------------------------------------------------------------ the whole rule book, arbitrary facts
@settings(max_examples=400, **SETTINGS)
@given(data=st.data(), policy_id=st.sampled_from(POLICY_IDS), at=dates)
def test_the_fast_path_decides_as_the_traced_path(data, policy_id, at):
    facts = data.draw(facts_for(policy_id))
    fast = outcome_of(policy_id, facts, at, trace=False)
    assert fast == outcome_of(policy_id, facts, at, trace=True)
    assert fast == outcome_of(policy_id, facts, at, trace=False, coverage=True)


@settings(max_examples=200, **SETTINGS)
@given(data=st.data(), policy_id=st.sampled_from(POLICY_IDS), at=dates)
def test_valid_facts_decide_the_same_on_both_paths(data, policy_id, at):
    facts = data.draw(facts_for(policy_id, valid_only=True))
    assert outcome_of(policy_id, facts, at, trace=False) == outcome_of(policy_id, facts, at, trace=True)


# ------------------------------------------------------------------ facts: exact Python types vs JSON-ish
CART = "cart.opening"
AT_2023 = dt.date(2023, 12, 20)


def cart_facts(**account):
    base = {"kind": "personal", "fans": 999, "public_videos": 3, "phone_bound": True, "real_name": True,
            "business_licence": False, "industry_licence": False, "corporate_verified": False,
            "legal_person_face_verified": False}
    return {"account": {**base, **account}, "product": {"special_category": True}}


@pytest.mark.parametrize("variant", [
    {"account": {"kind": "个人账号"}},                   # an enum by its Chinese label
    {"account": {"kind": "Personal account"}},          # by its English label
    {"account": {"fans": Decimal("999")}},              # an integral Decimal count (as facts JSON parses 999.0)
    {"account": {"fans": 999.0}},                       # an integral float count
    {"flat": {"account.fans": 999}},                    # a flat dotted key
    {"flat": {"account.fans": 999}, "account": {"fans": 5000}},  # the flat key wins over the nested one
    {"wrap": MappingProxyType},                          # a read-only Mapping rather than a dict
    {"wrap": OrderedDict},                               # a dict subclass
    {"inner": MappingProxyType},                         # a nested Mapping that is not a dict
])
def test_facts_given_in_another_form_decide_the_same(variant):
    facts = cart_facts()
    expected = outcome_of(CART, facts, AT_2023, trace=True)
    assert expected == outcome_of(CART, facts, AT_2023, trace=False)
    facts = cart_facts(**variant.get("account", {}))
    if "flat" in variant:
        facts["account"] = {k: v for k, v in facts["account"].items() if k != "fans"}
        facts.update(variant["flat"])
        if "account" in variant:  # also nested, with another value: the flat key must win
            facts["account"]["fans"] = 5000
    if "inner" in variant:
        facts["account"] = variant["inner"](facts["account"])
    if "wrap" in variant:
        facts = variant["wrap"](facts)
    assert outcome_of(CART, facts, AT_2023, trace=False) == expected
    assert outcome_of(CART, facts, AT_2023, trace=True) == expected


def test_an_enum_label_is_stored_as_its_id_on_the_fast_path():
    assert outcome_of(CART, cart_facts(kind="企业号"), AT_2023) == outcome_of(CART, cart_facts(kind="enterprise"), AT_2023)


@pytest.mark.parametrize("raw", [True, -1, 2.5, "999", None, [], {"n": 1}, Decimal("NaN")])
def test_an_ill_typed_or_null_count_is_treated_as_prepare_treats_it(raw):
    facts = cart_facts(fans=raw)
    assert outcome_of(CART, facts, AT_2023, trace=False) == outcome_of(CART, facts, AT_2023, trace=True)


@pytest.mark.parametrize("raw", [0, 1, "true", "yes", None, 1.0])
def test_a_bool_fact_that_is_not_true_or_false_is_treated_as_prepare_treats_it(raw):
    facts = cart_facts(real_name=raw)
    assert outcome_of(CART, facts, AT_2023, trace=False) == outcome_of(CART, facts, AT_2023, trace=True)


@pytest.mark.parametrize("account", [None, 5, [], "personal"])
def test_a_group_that_is_not_an_object_leaves_its_facts_missing(account):
    facts = {"account": account, "product": {"special_category": False}}
    fast = outcome_of(CART, facts, AT_2023, trace=False)
    assert fast == outcome_of(CART, facts, AT_2023, trace=True)
    assert fast[0] == "error" and fast[1] == "E.missing_facts"
    assert fast[4] == ("account.kind", "account.real_name")  # fans_2023 stops at its scope


def test_every_missing_fact_is_named_on_the_fast_path():
    facts = cart_facts()
    del facts["account"]["fans"], facts["account"]["real_name"]
    fast = outcome_of(CART, facts, AT_2023, trace=False)
    assert fast == outcome_of(CART, facts, AT_2023, trace=True)
    assert fast[1] == "E.missing_facts" and fast[4] == ("account.fans", "account.real_name")


# ------------------------------------------------------------------ decisions and reasons
def test_messages_stay_lazy_on_the_fast_path(monkeypatch):
    from policydsl.runtime import values

    shown = []
    display = values.display
    monkeypatch.setattr(values, "display", lambda kind, value, lang, *rest: shown.append((value, lang)) or
                        display(kind, value, lang, *rest))
    decision = rule_book().evaluate(CART, cart_facts(), AT_2023, trace=False)
    fans = next(r for r in decision.reasons if r.rule == "fans_2023")
    assert shown == [] and fans.shown_values == (999, 1000)  # nothing rendered until someone reads it
    assert fans.message["en"] == "999 followers, below the threshold of 1,000 followers"
    assert shown == [(999, "zh"), (1000, "zh"), (999, "en"), (1000, "en")]


def test_a_reason_without_placeholders_is_the_same_on_both_paths_and_reads_like_a_fresh_one():
    facts = cart_facts(kind="enterprise")
    fast = rule_book().evaluate(CART, facts, AT_2023, trace=False)
    traced = rule_book().evaluate(CART, facts, AT_2023, trace=True)
    assert fast.reasons == traced.reasons
    licence = next(r for r in fast.reasons if r.rule == "business_licence_2023")
    assert dict(licence.message) == {"zh": "企业号必须上传营业执照", "en": "An enterprise account must upload its business licence"}
    assert licence == Reason(rule="business_licence_2023", code="business_licence_missing", outcome="deny",
                             message=dict(licence.message), source=licence.source)


def test_the_fast_decision_has_no_trace_and_no_coverage():
    decision = rule_book().evaluate(CART, cart_facts(), AT_2023, trace=False)
    assert decision.trace == () and decision.coverage == frozenset()
    assert decision.outcome == "deny" and decision.values == {"cart.min_fans": 1000}


def test_the_fast_constructors_build_what_the_classes_build():
    kw = dict(rule="r", code="c", outcome="deny", message={"zh": "中", "en": "en"}, source=None)
    assert Reason(**kw) == Reason(**kw) and repr(Reason(**kw)) == repr(Reason(**kw)) != repr(Reason(**{**kw, "code": "d"}))
    dkw = dict(policy="p", at=AT_2023, outcome="deny", values={"v": 1}, value_kinds={"v": "count"},
               reasons=(Reason(**kw),), warnings=(), trace=(), coverage=frozenset())
    made = make_decision(**dkw)
    assert made == Decision(**dkw) and repr(made) == repr(Decision(**dkw)) and made.to_dict() == Decision(**dkw).to_dict()
    with pytest.raises(AttributeError):
        made.outcome = "allow"  # still frozen
    with pytest.raises(AttributeError):
        Reason(**kw).code = "x"


def test_a_policy_with_exceptions_decides_the_same_on_both_paths():
    book = rule_book()
    facts = {"shop": {"type": "individual_store", "cross_border": False, "closed": False},
             "account": {"role": "authorised", "id": "dy0042"}, "product": {"own_store": False, "scene": "showcase"}}
    for variant in ({}, {"shop": {"type": "individual_store", "cross_border": True, "closed": False}},
                    {"shop": {"type": "individual_store", "cross_border": False, "closed": True}}):
        case = {**facts, **variant}
        for day in range(0, 90, 7):
            at = dt.date(2023, 11, 1) + dt.timedelta(days=day)
            assert outcome_of("official_account.own_store_only", case, at, trace=False) == \
                outcome_of("official_account.own_store_only", case, at, trace=True)
    assert any(r.exceptions for r in book.compiled["official_account.own_store_only"].rules)


def test_a_decision_copied_with_a_field_changed_keeps_the_others_and_refuses_an_unknown_field():
    decision = rule_book().evaluate(CART, cart_facts(), AT_2023, trace=True)
    copy = decision.replace(trace=())
    assert copy.trace == () and decision.trace != () and copy.reasons == decision.reasons
    assert copy.to_dict() == decision.to_dict() and type(copy) is Decision
    with pytest.raises(TypeError, match="no field tracee"):
        decision.replace(tracee=())


def _many_rules(tmp_path, n: int):
    """A policy of `n` rules, each with an exception, whose facts may be missing (the Kleene functions)."""
    import policydsl

    lines = ['policy many', '  title "多" / "Many"', '  effective from 2024-01-01', '',
             'input shop.hours: count "时长" / "Hours"', 'input shop.exempt: bool "豁免" / "Exempt"', '']
    for i in range(n):
        lines += [f'rule r{i} "规则{i}" / "Rule {i}"', f'  require shop.hours <= {i}',
                  f'    else deny c{i} "超过 {i}" / "over {i}"', '  source "x.txt" quote "x"', '',
                  f'rule e{i} "例外{i}" / "Exception {i}"', f'  exception to r{i} priority 1', '  when shop.exempt',
                  f'  allow x{i} "豁免 {i}" / "exempt {i}"', '  source "x.txt" quote "x"', '']
    folder = tmp_path / str(n)
    folder.mkdir()
    (folder / "many.policy").write_text("\n".join(lines), encoding="utf-8")
    return policydsl.load(folder)


def test_the_generated_code_grows_linearly_with_the_rules(tmp_path):
    """CPython compiles a function with thousands of locals and thousands of nested scopes (the Kleene
    thunks) in quadratic time (a policy of 5,000 rules: 27 s for its traced Kleene function alone); so the
    Kleene functions keep the rules' statuses in two lists, not two locals per rule. And an exception tests
    only the rules it is an exception to (it tested every rule's overriding exception: code quadratic in the
    rules). Exact counts: the same locals whatever the rules, and each rule adds the same code."""
    import ast as py
    import datetime as dt

    from policydsl.compile.codegen import Generator

    sizes, nlocals = {}, {}
    for n in (10, 20, 30):
        book = _many_rules(tmp_path, n)
        modules = list(Generator(book.model, book.model.policies["many"]).modules())
        functions = {c.co_name: c for module in modules for c in compile(module, "<many>", "exec").co_consts
                     if hasattr(c, "co_nlocals")}
        nlocals[n] = (functions["fast_k"].co_nlocals, functions["traced_k"].co_nlocals)
        sizes[n] = sum(1 for module in modules for _ in py.walk(module))
        for facts in ({"hours": 15, "exempt": True}, {"exempt": True}):  # every fact given; hours missing (Kleene)
            for trace in (False, True):
                decision = book.evaluate("many", {"shop": facts}, dt.date(2024, 1, 2), trace=trace)
                assert (decision.outcome, [r.code for r in decision.reasons]) == ("allow", [f"x{i}" for i in range(n)])
    assert nlocals[10] == nlocals[20] == nlocals[30]
    assert sizes[30] - sizes[20] == sizes[20] - sizes[10]
