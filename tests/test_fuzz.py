"""Seeded fuzzing of the real commands: the rule book's files mutated the way a hurried author or an
attacker would, and hostile facts, through `check`, `fmt --check`, `eval` and `verify`. Any exit 3
(an internal error reaching a user) fails. Bounded: a few hundred inputs, well under a minute.

The commands run in process through click's test runner (the same `main`, the same top-level guard
that turns an unexpected exception into exit 3), which keeps hundreds of runs fast.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from policydsl.cli import main

from conftest import POLICIES

FILES = sorted(p for p in POLICIES.glob("*.policy") if p.name not in ("common.policy", "vocabulary.policy"))
COMMON = (POLICIES / "common.policy").read_text(encoding="utf-8")
VOCABULARY = (POLICIES / "vocabulary.policy").read_text(encoding="utf-8")
FUZZ = settings(max_examples=160, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Pieces an author (or an attacker) puts in the wrong place.
PIECES = ["today", "not ", "-", "(", ")", "{", "}", "¥1,000", '"', "「", "」", "inf", "row ", "when ", "and ",
          "exception to r ", "supersedes x ", "9" * 40, "0.000000000000000000000000000000000000001", "1e999999",
          "\ufeff", "\x00", "\u202e", "2023-W51-3", "2023-02-30", "not_open", "not_stated", "outcome", "fires(x)",
          "max(x for x in y)", "covered(r)", "+ 3 working days", "- 2 months", "/ 0", "* 50%", "priority 1",
          '"../../../etc/passwd"', "source \"/etc/passwd\" quote \"root\"", "{a, b}", "set of ", "expect ",
          "property p \"a\" / \"b\" expect ", "- " * 500, "not " * 500, "(" * 300, " and x" * 300,
          "-" * 400, " + 1" * 400]
VALUES = ["today", "not_open", "not_stated", "9" * 40, "¥1,000", '"2024-03-01"', "true", "{}", "-" * 400 + "1", "x"]
TARGETS = {"deepen": lambda line: "require " in line or line.lstrip().startswith("= "),
           "replace_value": lambda line: bool(LITERAL.search(line)) and not line.lstrip().startswith("#")}
LITERAL = re.compile(r"¥\d+(?:\.\d+)?|\d{4}-\d{2}-\d{2}|\d+(?:\.\d+)?%?")


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, [*args, "--lang", "en"], input=stdin, catch_exceptions=True)


def no_internal_error(result, what: str) -> None:
    assert result.exit_code != 3, f"{what}: internal error\n{result.output[-3000:]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (what, repr(result.exception))


@st.composite
def mutated(draw) -> tuple[str, str]:
    """(file name, mutated text) from one policy of the rule book."""
    path = draw(st.sampled_from(FILES))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for _ in range(draw(st.sampled_from([1, 1, 2]))):  # one mutation mostly, so it is not masked by another
        kind = draw(st.sampled_from(["deepen", "replace_value", "insert", "delete", "duplicate", "replace_digit",
                                     "swap_quote", "truncate", "noise"]))
        # the lines a mutation of this kind means something on (an expression, a written value), else any
        fits = [i for i, line in enumerate(lines) if TARGETS.get(kind, lambda _: True)(line)] or [0]
        at = min(draw(st.sampled_from(fits)), max(0, len(lines) - 1))
        line = lines[at] if lines else ""
        if kind == "delete" and lines:
            del lines[at]
        elif kind == "duplicate":
            lines.insert(at, line)
        elif kind == "insert":
            col = draw(st.integers(0, len(line)))
            lines[at:at + 1] = [line[:col] + draw(st.sampled_from(PIECES)) + line[col:]]
        elif kind == "replace_digit":
            lines[at:at + 1] = [next((line.replace(d, draw(st.sampled_from(["9" * 35, "0", "-1", "1e9"])), 1)
                                      for d in "0123456789" if d in line), line)]
        elif kind == "replace_value":  # a written value (a cell, a bound, a threshold) becomes something else
            lines[at:at + 1] = [LITERAL.sub(draw(st.sampled_from(VALUES)).replace("\\", "\\\\"), line, count=1)]
        elif kind == "deepen":  # a condition nested far beyond what a person writes
            prefix = draw(st.sampled_from(["not ", "-", "- ", "(", "max("])) * draw(st.sampled_from([99, 150, 400, 5000]))
            lines[at:at + 1] = [line.replace("require ", "require " + prefix, 1).replace("= ", "= " + prefix, 1)]
        elif kind == "swap_quote":
            lines[at:at + 1] = [line.replace('"', draw(st.sampled_from(["「", "“", "'", ""])), 1)]
        elif kind == "truncate":
            text = "".join(lines)
            lines = [text[:draw(st.integers(0, len(text)))]]
        else:
            lines.insert(at, draw(st.text(max_size=40)) + "\n")
    return path.name, "".join(lines)


@FUZZ
@given(case=mutated())
def test_mutated_policy_files_never_crash_check_or_fmt(tmp_path_factory, case) -> None:
    name, text = case
    folder = tmp_path_factory.mktemp("mutant")
    (folder / "common.policy").write_text(COMMON, encoding="utf-8")
    (folder / "vocabulary.policy").write_text(VOCABULARY, encoding="utf-8")
    (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    checked = run("check", str(folder))
    no_internal_error(checked, f"check of mutated {name}")
    no_internal_error(run("fmt", "--check", str(folder / name)), f"fmt --check of mutated {name}")
    if checked.exit_code == 0:  # the mutant is a valid book: decide a complete record with it too
        for policy, facts in complete_facts(folder).items():
            for day in ("2020-04-07", "2023-12-20"):
                decided = run("eval", policy, "--facts", "-", "--policies", str(folder), "--at", day, "--explain",
                              stdin=json.dumps(facts))
                no_internal_error(decided, f"eval of mutated {name} on {day}")


def complete_facts(folder: Path) -> dict[str, dict]:
    """For each policy of the book in `folder`, one record stating every input (a plain value of its type)."""
    from policydsl.loader import load

    plain = {"count": 1, "number": "1.5", "money": "1000", "percent": "50%", "bool": True, "text": "x",
             "date": "2023-12-20"}
    book = load(folder)
    out = {}
    for pid, policy in book.policies.items():
        facts = {}
        for path, spec in policy.inputs.items():
            kind, enum = spec.type.kind, spec.type.enum
            first = book.model.enums[enum].values[0].name.value if enum in book.model.enums else None
            facts[path] = first if kind == "enum" else [first] if kind == "set" else plain.get(kind)
        out[pid] = facts
    return out


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 40, 10 ** 40), st.text(max_size=30),
                      st.sampled_from(["¥1,000", "80%", "150%", "-0.5", "9e999999", "2023-W51-3", "2023-12-20",
                                       "个人账号", "personal", "NaN", "Infinity", "1" * 50, "\ufeff", "20231220"]),
                      st.floats(allow_nan=True, allow_infinity=True))
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                          max_leaves=12)


def _inputs() -> dict[str, list[str]]:
    """Each policy's input paths (the facts a hostile record will put wrong values under)."""
    from policydsl.loader import load

    book = load(POLICIES)
    return {pid: sorted(policy.inputs) for pid, policy in book.policies.items()}


INPUTS = _inputs()


@st.composite
def hostile_facts(draw) -> tuple[str, str]:
    policy = draw(st.sampled_from(sorted(INPUTS)))
    facts: dict = {}
    for path in draw(st.lists(st.sampled_from(INPUTS[policy]), max_size=6)):
        head, _, rest = path.partition(".")
        value = draw(JSON_VALUE)
        if rest and draw(st.booleans()):
            facts.setdefault(head, {})[rest] = value
        else:
            facts[path] = value
    text = json.dumps(facts, ensure_ascii=False, default=str)
    shape = draw(st.sampled_from(["as is", "deep", "truncated", "array", "bom", "huge number"]))
    if shape == "deep":
        depth = draw(st.sampled_from([65, 1000, 5000]))
        text = '{"x":' * depth + text + "}" * depth
    elif shape == "truncated":
        text = text[:draw(st.integers(0, len(text)))]
    elif shape == "array":
        text = f"[{text}]"
    elif shape == "bom":
        text = "\ufeff" + text
    elif shape == "huge number":
        text = text.replace("}", ', "n": ' + "9" * draw(st.sampled_from([30, 400, 5000])) + "}", 1)
    return policy, text


@FUZZ
@given(case=hostile_facts(), day=st.sampled_from(["2023-12-20", "2020-04-07", "1999-01-01", "2099-12-31"]))
def test_hostile_facts_never_crash_eval(case, day) -> None:
    policy, text = case
    result = run("eval", policy, "--facts", "-", "--policies", str(POLICIES), "--at", day, "--json", stdin=text)
    no_internal_error(result, f"eval {policy} on {text[:200]!r}")
    assert result.exit_code in (0, 2), result.output[-2000:]


@pytest.mark.parametrize("policy", sorted(INPUTS))
def test_every_policy_names_each_missing_fact_with_exit_2(policy: str) -> None:
    result = run("eval", policy, "--facts", "-", "--policies", str(POLICIES), "--at", "2023-12-20", stdin="{}")
    no_internal_error(result, policy)
    assert result.exit_code == 2
