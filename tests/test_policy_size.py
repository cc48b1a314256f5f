"""A policy's size is bounded (P0124): its rules, values, properties and `applies` hold at most 20,000 syntax
nodes, because its generated code, and the memory compiling it takes, grow with them. The real `policydsl check`
on both sides of the bound; and the fast function's copies per run of days stay within the same bound."""
from __future__ import annotations

import ast as py
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import policydsl
from policydsl.compile.codegen import Generator
from policydsl.semantics.model import MAX_CODE_NODES

HEAD = ('policy demo.cart\n  title "演示" / "Demo"\n  effective from 2024-01-01\n\n'
        'input account.fans: count "粉丝数" / "Followers"\n')


def rule(i: int, effective: str = "") -> str:
    """A rule of 10 syntax nodes (its name, label, condition, code, message and source)."""
    return (f'\nrule fans{i} "粉丝门槛" / "Follower threshold"\n{effective}  require account.fans >= {i}\n'
            f'    else deny fans_low "粉丝不足" / "Too few followers"\n  source "doc.txt" quote "1000粉丝"\n')


def check(tmp_path: Path, rules: int, lang: str) -> subprocess.CompletedProcess[str]:
    book = tmp_path / f"book{rules}"
    book.mkdir(exist_ok=True)
    (book / "demo.policy").write_text(HEAD + "".join(rule(i) for i in range(rules)), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "policydsl.cli", "check", str(book), "--lang", lang],
                          capture_output=True, text=True, timeout=300)


def test_a_policy_at_the_bound_checks_clean_and_one_rule_more_is_refused_by_name(tmp_path: Path) -> None:
    assert MAX_CODE_NODES == 20_000
    at_bound = check(tmp_path, 2_000, "en")
    assert at_bound.returncode == 0, at_bound.stdout + at_bound.stderr
    over = check(tmp_path, 2_001, "en")
    assert over.returncode == 1
    assert "Traceback" not in over.stderr
    lines = over.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if "P0124" in line)
    assert lines[at].endswith("demo.policy:1:8: error[P0124]: policy `demo.cart` is too large to compile: its rules, "
                              "values and properties hold 20,010 syntax nodes, at most 20,000")
    assert [line.strip() for line in lines[at + 1:at + 4]] == [
        "1 | policy demo.cart", "|        ^^^^^^^^^", "= hint: split it into several policies; a long run of rules that "
        "differ by a value can become a table (a table's rows do not count)"]
    zh = check(tmp_path, 2_001, "zh")
    assert "政策 `demo.cart` 太大，无法编译：其规则、取值和 property 共有 20,010 个语法节点，上限为 20,000" in zh.stdout
    assert sum("P0124" in line for line in over.stdout.splitlines()) == 1


def fast_size(tmp_path: Path, filler: int) -> int:
    """The syntax nodes of the fast function of a policy of `filler` undated rules and three dated ones (four
    runs of days), after checking its decisions on a day of each run."""
    book = tmp_path / f"runs{filler}"
    book.mkdir()
    dated = [rule(10_000 + k, f"  effective from 2024-0{k + 2}-01\n") for k in range(3)]
    (book / "demo.policy").write_text(HEAD + "".join(dated) + "".join(rule(i) for i in range(filler)), encoding="utf-8")
    loaded = policydsl.load(book)
    for month, dated_in_force in ((1, 0), (2, 1), (3, 2), (5, 3)):  # with no followers every rule fails but fans0
        decision = loaded.evaluate("demo.cart", {"account": {"fans": 0}}, dt.date(2024, month, 15))
        assert (decision.outcome, len(decision.reasons)) == ("deny", filler - 1 + dated_in_force)
    fast = next(m for m in Generator(loaded.model, loaded.model.policies["demo.cart"]).modules()
                if m.body[0].name == "fast")
    return sum(1 for _ in py.walk(fast))


def test_the_fast_function_is_specialised_per_run_of_days_only_while_its_copies_fit_the_bound(tmp_path: Path) -> None:
    """Four runs of a policy of 3,030 nodes (12,120 in all) are four copies of its decision; of 6,030 nodes
    (24,120 in all, over the bound) one copy that tests each rule's dates: less code for more rules."""
    small, large = fast_size(tmp_path, 300), fast_size(tmp_path, 600)
    assert large < small


def cases_and_exceptions(tmp_path: Path, cases: int, exceptions: int) -> Path:
    """A policy whose value has `cases` cases (the last without `when`) and whose rule has `exceptions` exceptions."""
    book = tmp_path / f"c{cases}e{exceptions}"
    book.mkdir()
    text = HEAD + 'define demo.level: count "档位" / "Level"\n' + "".join(
        f"  = {i} when account.fans == {i}\n" for i in range(cases - 1)) + "  = 999\n" + rule(0).replace(
        "account.fans >= 0", "demo.level < 999") + "".join(
        f'\nrule exempt{i} "豁免{i}" / "Exemption {i}"\n  exception to fans0 priority {i}\n  when account.fans == {i + 1000}\n'
        f'  allow exempt{i} "豁免" / "Exempt"\n  source "doc.txt" quote "1000粉丝"\n' for i in range(exceptions))
    (book / "demo.policy").write_text(text, encoding="utf-8")
    return book


def test_a_value_has_at_most_100_cases_and_a_rule_at_most_100_exceptions(tmp_path: Path) -> None:
    """Each case and each exception nests one level in the generated code, which Python's tools walk recursively:
    a value of 1,000 cases, or a rule of 1,000 exceptions, checked clean and then stopped `eval` (and `docs`,
    `score`) with a RecursionError. At the bounds every decision stands; one more is a diagnostic."""
    book = cases_and_exceptions(tmp_path, 100, 100)
    done = subprocess.run([sys.executable, "-m", "policydsl.cli", "check", str(book), "--lang", "en"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = policydsl.load(book)
    for fans, outcome, codes in ((98, "allow", []), (99, "deny", ["fans_low"]), (1_050, "allow", ["exempt50"]),
                                 (1_099, "allow", ["exempt99"]), (1_100, "deny", ["fans_low"])):
        for trace in (False, True):
            decision = loaded.evaluate("demo.cart", {"account": {"fans": fans}}, dt.date(2024, 6, 1), trace=trace)
            assert (decision.outcome, [r.code for r in decision.reasons]) == (outcome, codes), fans
    for cases, exceptions, expected in ((101, 100, "demo.policy:6:8: error[P0125]: value `demo.level` has 101 cases, "
                                                   "at most 100"),
                                        (100, 101, "demo.policy:108:6: error[P0126]: rule `fans0` has 101 exceptions, "
                                                   "at most 100")):
        done = subprocess.run([sys.executable, "-m", "policydsl.cli", "check",
                               str(cases_and_exceptions(tmp_path, cases, exceptions)), "--lang", "en"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert [line.split("/")[-1] for line in done.stdout.splitlines() if "error[" in line] == [expected]


def wide(tmp_path: Path, ands: int, items: int) -> Any:
    """A value of `items` cases and a rule of `items` exceptions, each testing a chain of `ands` comparisons."""
    book = tmp_path / f"wide{ands}_{items}"
    book.mkdir()
    chain = " and ".join(["account.fans > 1"] * ands)
    text = HEAD + 'define demo.level: count "档位" / "Level"\n' + "".join(
        f"  = {i} when account.fans == {i} or ({chain})\n" for i in range(items - 1)) + "  = 999\n" + \
        rule(0).replace("account.fans >= 0", f"demo.level < 999 or ({chain})") + "".join(
        f'\nrule exempt{i} "豁免{i}" / "Exemption {i}"\n  exception to fans0 priority {i}\n  when account.fans == '
        f'{i + 1000} or ({chain})\n  allow exempt{i} "豁免" / "Exempt"\n  source "doc.txt" quote "1000粉丝"\n' for i in range(items))
    (book / "demo.policy").write_text(text, encoding="utf-8")
    return policydsl.load(book)


def test_a_plan_too_large_for_sql_is_refused_by_name(tmp_path: Path) -> None:
    """P0124 bounds a policy, not the SQL of its plan (12 to 60 sqlglot nodes per syntax node, more with nested
    aggregates): a 40 KB policy made a plan of a million nodes DuckDB had not decided after 9 minutes and 2.3 GB.
    Beyond 150,000 nodes `score` refuses the policy by name; below, it decides as `evaluate`."""
    pytest.importorskip("duckdb")
    pa = pytest.importorskip("pyarrow")
    from policydsl.score import plan

    assert plan.MAX_PLAN_NODES == 150_000
    at = dt.date(2024, 6, 1)
    small = wide(tmp_path, 10, 2)
    decided = small.score(pa.table({"account.fans": [0, 1, 1000]}), ["demo.cart"], at=at)
    assert decided.column("outcome").to_pylist() == [small.evaluate("demo.cart", {"account": {"fans": f}}, at).outcome
                                                     for f in (0, 1, 1000)] == ["allow", "deny", "allow"]
    with pytest.raises(plan.ScoreUnsupported) as refused:
        plan.plan(wide(tmp_path, 95, 5).model, "demo.cart", at)
    assert refused.value.message("en") == ("batch scoring does not support an SQL query of more than 150,000 nodes "
                                           "(this policy needs 160,629) in policy demo.cart yet: decide it record by "
                                           "record with eval")
