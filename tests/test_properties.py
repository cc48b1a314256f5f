"""Property tests: mangled policy text only ever yields diagnostics; any facts either decide or raise
PolicyDslError; evaluation is deterministic."""
from __future__ import annotations

import datetime as dt
import functools
import json
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

import policydsl
from policydsl.compile.compiler import compile_model
from policydsl.errors import PolicyDslError
from policydsl.loader import analyse
from policydsl.runtime.explain import explain
from policydsl.runtime.facts import InputSpec

from conftest import POLICIES

FILES = tuple(sorted(p.name for p in POLICIES.glob("*.policy")))  # every file of the real rule book
TEXTS = {name: (POLICIES / name).read_text(encoding="utf-8") for name in FILES}
POLICY_IDS = tuple(sorted(policydsl.load(POLICIES).policies))  # every policy of the real rule book
# Errors that valid facts can still meet: a date outside a policy's period or the calendar's years,
# a table cell the sources leave blank, an aggregate over an empty set, a value with no case that day.
VALID_FACT_ERRORS = ("E.not_in_force", "E.calendar_range", "E.not_stated", "E.empty_aggregate", "E.no_case")
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of the language, so that mutations also build plausible-but-wrong policies.
FRAGMENTS = [
    "rule ", "when ", "require ", " else ", "deny ", "allow ", "warn ", "not_open", "table ", "row ", "columns ",
    "hit first ", "hit collect sum ", "priority 1", "exception to ", "supersedes ", "effective from ", " until ",
    "define ", "input ", "enum ", "value ", "set of ", "policy ", "title ", "source ", "quote ", "rollout ",
    "phase ", "ramp ", " to ", "covered(", "max(", " for ", " in ", "7 working days", "6 months", "today",
    "2023-13-45", "2024-02-29", "99999999999999999999", "inf", "¥1.5", "80%", "0.5", "[0, 10)", "(", ")",
    "{", "}", "\"", "\"\"", "\" / \"", "/", ":", ",", ".", "==", "=", ">=", "+", "-", "*", "#", "\n", " ",
    "account.fans", "cart.min_fans", "personal", "shop_type", "{account.fans}", "中文", "￥", "\\",
]


@functools.cache
def rule_book() -> policydsl.PolicySet:
    return policydsl.load(POLICIES)


@functools.cache
def _tempdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="policydsl-props-")  # removed when the test process exits


def workdir() -> Path:
    return Path(_tempdir().name)


# ------------------------------------------------------------------ (a) mangled policy text
edit = st.one_of(
    st.tuples(st.just("insert"), st.floats(0, 1), st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3))),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 40)),
    st.tuples(st.just("replace"), st.floats(0, 1), st.one_of(st.sampled_from(FRAGMENTS), st.characters(exclude_categories=("Cs",)))),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("swap_lines"), st.floats(0, 1), st.floats(0, 1)),
    st.tuples(st.just("duplicate_line"), st.floats(0, 1), st.floats(0, 1)),
)


def mutate(text: str, edits) -> str:
    for kind, where, arg in edits:
        i = int(where * len(text))
        if kind == "insert":
            text = text[:i] + arg + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + arg:]
        elif kind == "replace":
            text = text[:i] + arg + text[i + 1:]
        elif kind == "truncate":
            text = text[:i]
        else:
            lines = text.split("\n")
            a, b = int(where * (len(lines) - 1)), int(arg * (len(lines) - 1))
            if kind == "swap_lines":
                lines[a], lines[b] = lines[b], lines[a]
            else:
                lines.insert(b, lines[a])
            text = "\n".join(lines)
    return text


def analyse_mutant(name: str, data: bytes):
    """Analyse a mutated copy of `name` beside the real shared file (or a real policy, for common)."""
    folder = workdir()
    mutant = folder / f"mutant_{name}"
    mutant.write_bytes(data)
    shared = ("common.policy", "vocabulary.policy")  # a policy is checked beside the shared files; a shared file
    partners = [POLICIES / p for p in (*shared, *(("cart_opening.policy",) if name in shared else ())) if p != name]
    if name == "book.policy":  # the book's properties name policies: check them beside the whole book
        partners = [p for p in sorted(POLICIES.glob("*.policy")) if p.name != name]
    analysis = analyse([mutant, *partners])
    for diagnostic in analysis.diagnostics:  # every diagnostic renders in both languages
        diagnostic.render("zh")
        diagnostic.render("en")
        json.dumps(diagnostic.to_dict(), ensure_ascii=False)
    if analysis.ok:  # a clean mutant must also compile
        assert analysis.model is not None
        compile_model(analysis.model)
    return analysis


@settings(max_examples=250, **SETTINGS)
@given(name=st.sampled_from(FILES), edits=st.lists(edit, min_size=1, max_size=4))
def test_mutated_policy_text_yields_diagnostics_never_exceptions(name, edits):
    analyse_mutant(name, mutate(TEXTS[name], edits).encode("utf-8"))


byte_edit = st.tuples(st.sampled_from(["insert", "delete", "replace", "truncate"]), st.floats(0, 1),
                      st.binary(min_size=1, max_size=3))


@settings(max_examples=150, **SETTINGS)
@given(name=st.sampled_from(FILES), edits=st.lists(byte_edit, min_size=1, max_size=3))
def test_mutated_policy_bytes_yield_diagnostics_never_exceptions(name, edits):
    data = TEXTS[name].encode("utf-8")
    for kind, where, chunk in edits:
        i = int(where * len(data))
        if kind == "insert":
            data = data[:i] + chunk + data[i:]
        elif kind == "delete":
            data = data[:i] + data[i + len(chunk) * 7:]
        elif kind == "replace":
            data = data[:i] + chunk + data[i + len(chunk):]
        else:
            data = data[:i]
    analysis = analyse_mutant(name, data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert [d.code for d in analysis.diagnostics if d.file.endswith(f"mutant_{name}")] == ["P0104"]


def test_the_unmutated_files_check_clean():
    for name in FILES:
        assert analyse_mutant(name, TEXTS[name].encode("utf-8")).diagnostics == []


def test_an_empty_text_is_a_diagnostic():
    text = TEXTS["common.policy"].replace('"官方旗舰店"', '""', 1)
    analysis = analyse_mutant("common.policy", text.encode("utf-8"))
    assert [d.code for d in analysis.diagnostics] == ["P0401"]


# ------------------------------------------------------------------ (b) arbitrary facts
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-10 ** 6, 10 ** 6), st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-10 ** 9, max_value=10 ** 9),
    st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("1E+30"),
                     Decimal("-0"), Decimal("1E+1000000")]),
    st.text(max_size=8),
)
junk = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.text(max_size=3), inner, max_size=3)),
                    max_leaves=6)


def valid_value(spec: InputSpec) -> st.SearchStrategy:
    labels = [v for ident, lab in (spec.enum_values or {}).items() for v in (ident, lab["zh"], lab["en"])]
    return {
        "count": st.integers(0, 5000),
        "number": st.decimals(min_value=-1000, max_value=1000, places=2).map(str),
        "money": st.decimals(min_value=0, max_value=10 ** 6, places=2).map(lambda d: f"¥{d}"),
        "percent": st.integers(0, 100).map(lambda p: f"{p}%"),
        "bool": st.booleans(),
        "text": st.text(min_size=1, max_size=8),
        "date": st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat),
        "enum": st.sampled_from(labels) if labels else st.nothing(),
        "set": st.lists(st.sampled_from(labels), max_size=4) if labels else st.nothing(),
    }[spec.kind]


WRONG_ENUM = st.sampled_from(["", "PERSONAL", "personal account", "旗舰", "live ", "official_flagship_"])


@st.composite
def facts_for(draw, policy_id: str, *, valid_only: bool = False, nested_only: bool = False):
    """Facts for every input; unless valid_only, each is missing, junk or a wrong enum with a drawn
    probability (0% to 50%), so that decisions, missing facts and bad facts all occur; unless
    nested_only, some are given as flat dotted keys."""
    specs = rule_book().compiled[policy_id].inputs
    noise = 0 if valid_only else draw(st.sampled_from([0, 5, 15, 50]))
    facts: dict = {}
    for path, spec in specs.items():
        corrupt = draw(st.integers(0, 99)) < noise
        if corrupt and draw(st.booleans()):
            continue  # missing
        value = draw(st.one_of(junk, WRONG_ENUM) if corrupt else valid_value(spec))
        if not valid_only and not nested_only and draw(st.booleans()) and draw(st.booleans()):
            facts[path] = value  # flat key
            continue
        node = facts
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
        node[leaf] = value
    if not valid_only and draw(st.booleans()):
        facts.update(draw(st.dictionaries(st.text(max_size=6), junk, max_size=2)))  # unknown keys
    return facts


dates = st.one_of(st.dates(dt.date(2019, 1, 1), dt.date(2026, 12, 31)),   # around both policies' start dates
                  st.dates(dt.date(2020, 4, 1), dt.date(2020, 4, 14)), st.dates(dt.date(2022, 12, 25), dt.date(2023, 1, 7)),
                  st.dates(dt.date(2023, 10, 25), dt.date(2024, 1, 10)))


def decide(policy_id, facts, at, ignore_unknown=False):
    decision = rule_book().evaluate(policy_id, facts, at=at, ignore_unknown=ignore_unknown)
    out = decision.to_dict()
    json.dumps(out, ensure_ascii=False)  # the decision JSON is always serialisable
    assert out["outcome"] in ("allow", "deny")
    assert (out["outcome"] == "deny") == any(r.outcome == "deny" for r in decision.reasons)
    assert all(w.outcome == "warn" for w in decision.warnings)
    for lang in ("zh", "en"):  # the --explain trace renders for every decision
        lines = explain(decision, rule_book().compiled[decision.policy], lang).splitlines()
        assert len(lines) >= 2 + len(decision.trace)
    for reason in out["reasons"] + out["warnings"]:
        assert set(reason["message"]) == {"zh", "en"}
        assert "{" not in reason["message"]["zh"] + reason["message"]["en"]  # every placeholder was filled
    return out


@settings(max_examples=300, **SETTINGS)
@given(data=st.data(), policy_id=st.sampled_from(POLICY_IDS), at=dates)
def test_any_facts_either_decide_or_raise_a_policy_error(data, policy_id, at):
    facts = data.draw(facts_for(policy_id))
    ignore_unknown = data.draw(st.booleans())  # the drawn unknown keys are an error, unless ignored
    try:
        decide(policy_id, facts, at, ignore_unknown)
    except PolicyDslError as error:
        unknown = () if ignore_unknown else ("E.unknown_facts", "E.conflicting_facts", "E.ambiguous_facts")
        assert error.key in ("E.bad_facts", "E.missing_facts", *unknown, *VALID_FACT_ERRORS)
        assert error.message("zh") and error.message("en")


@settings(max_examples=200, **SETTINGS)
@given(data=st.data(), policy_id=st.sampled_from(POLICY_IDS), at=dates)
def test_complete_valid_facts_always_decide_when_in_force(data, policy_id, at):
    facts = data.draw(facts_for(policy_id, valid_only=True))
    try:
        decide(policy_id, facts, at)
    except PolicyDslError as error:
        assert error.key in VALID_FACT_ERRORS, error.message("en")


# ------------------------------------------------------------------ (c) determinism
@settings(max_examples=150, **SETTINGS)
@given(data=st.data(), policy_id=st.sampled_from(POLICY_IDS),
       at=st.dates(dt.date(2023, 11, 1), dt.date(2026, 12, 31)))
def test_evaluation_is_deterministic(data, policy_id, at):
    facts = data.draw(facts_for(policy_id, valid_only=True))
    snapshot = json.dumps(facts, sort_keys=True, ensure_ascii=False)
    def run():
        try:
            decision = rule_book().evaluate(policy_id, facts, at=at)
        except PolicyDslError as error:
            assert error.key in VALID_FACT_ERRORS, error.message("en")
            return ("error", error.key, error.message("en"))
        return ("decision", decision.to_dict(), decision.trace)

    assert run() == run()
    assert json.dumps(facts, sort_keys=True, ensure_ascii=False) == snapshot  # facts are not modified


def test_a_freshly_loaded_rule_book_decides_the_same():
    fresh = policydsl.load(POLICIES)
    facts = {"shop": {"type": "individual_store", "cross_border": False, "closed": False},
             "account": {"role": "authorised", "id": "dy0042"}, "product": {"own_store": False, "scene": "showcase"}}
    for day in range(60):
        at = dt.date(2023, 11, 10) + dt.timedelta(days=day)
        assert fresh.evaluate("official_account.own_store_only", facts, at=at).to_dict() == \
            rule_book().evaluate("official_account.own_store_only", facts, at=at).to_dict()
