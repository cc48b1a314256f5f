"""Generated or hostile policies of a shape whose cost could grow faster than the file: each test counts the
work (calls, collections) at a few sizes and checks it grows as the file does. Never timed."""
from __future__ import annotations

import datetime as dt
import gc
from pathlib import Path

import pytest

import policydsl
from policydsl.errors import PolicyDslError

HEAD = ['policy shape', '  title "形" / "Shape"', '', 'input f.x: count "x" / "x"', '']
RULE = ['rule r "r" / "r"', '  require {cond}', '    else deny c "不" / "no"', '  source "x.txt" quote "x"', '']


def load(tmp_path: Path, name: str, lines: list[str]) -> policydsl.PolicySet:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "shape.policy").write_text("\n".join(lines), encoding="utf-8")
    return policydsl.load(folder)


def value_fan(tmp_path: Path, n: int) -> policydsl.PolicySet:
    """`n` values, each with two cases that both read the value before it."""
    lines = HEAD + ['define f.d0: count "d0" / "d0"', '  = f.x', '']
    for i in range(1, n):
        lines += [f'define f.d{i}: count "d{i}" / "d{i}"', f'  = f.d{i - 1} when f.x > {i}', f'  = f.d{i - 1}', '']
    return load(tmp_path, f"fan{n}", lines + [line.format(cond=f"f.d{n - 1} < 5") for line in RULE])


def test_whether_a_value_may_be_not_open_is_asked_once_per_value(tmp_path: Path, monkeypatch) -> None:
    """A value that two cases read was walked once per path to it: values of two cases each reading the one
    before took 2^N walks (30 such values, a 2 KB file, never finished generating code or a scoring plan)."""
    pytest.importorskip("sqlglot")
    from policydsl.compile import codegen
    from policydsl.score import plan
    from policydsl.semantics.model import Model

    calls = {"n": 0}
    counted = Model.resolve

    def counting(*args):
        calls["n"] += 1
        return counted(*args)
    monkeypatch.setattr(Model, "resolve", counting)
    generated, planned = {}, {}
    for n in (8, 9, 10):
        book = value_fan(tmp_path, n)
        calls["n"] = 0
        list(codegen.Generator(book.model, book.model.policies["shape"]).modules())
        generated[n] = calls["n"]
        calls["n"] = 0
        plan.plan(book.model, "shape", dt.date(2024, 1, 1))
        planned[n] = calls["n"]
        assert book.evaluate("shape", {"f": {"x": 3}}, dt.date(2024, 1, 1)).outcome == "allow"
    assert generated[10] - generated[9] == generated[9] - generated[8]
    assert planned[10] - planned[9] == planned[9] - planned[8]


def test_a_scoring_plan_is_built_with_the_cyclic_collector_paused(tmp_path: Path) -> None:
    """A plan is a tree of sqlglot nodes linked to their parents: each full collection walked all of it again
    (a condition of 4,000 comparisons: planning 2.2× slower, growing faster than the condition)."""
    pytest.importorskip("sqlglot")
    from policydsl.score import plan

    cond = " and ".join(f"(f.x > {i} or f.x < {i + 1})" for i in range(40))
    book = load(tmp_path, "wide", HEAD + [line.format(cond=f"({cond})") for line in RULE])
    collections = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])
    gc.collect()
    gc.callbacks.append(note)
    try:
        plan.plan(book.model, "shape", dt.date(2024, 1, 1))
    finally:
        gc.callbacks.remove(note)
    assert len(collections) <= 1  # (the one the allocations made meanwhile start as the collector resumes)


def test_the_kleene_functions_hold_values_and_facts_in_lists_not_locals(tmp_path: Path) -> None:
    """CPython compiles each nested scope (a Kleene thunk) in time proportional to the enclosing function's
    locals: with a local per value and per fact, 8,000 values took 35 s to compile one function (3 s as
    lists). The locals stay the same whatever the values and facts, and each value adds the same code."""
    import ast as py

    from policydsl.compile.codegen import Generator

    nlocals, sizes = {}, {}
    for n in (10, 20, 30):
        lines = HEAD[:-2] + [f'input f.x{i}: count "x{i}" / "x{i}"' for i in range(n)] + ['']
        for i in range(n):
            lines += [f'define f.d{i}: count "d{i}" / "d{i}"', f'  = f.x{i} + {i}', '']
        cond = " and ".join(f"f.d{i} > 0" for i in range(n))
        book = load(tmp_path, f"values{n}", lines + [line.format(cond=cond) for line in RULE])
        modules = list(Generator(book.model, book.model.policies["shape"]).modules())
        functions = {c.co_name: c for module in modules for c in compile(module, "<shape>", "exec").co_consts
                     if hasattr(c, "co_nlocals")}
        nlocals[n] = [len(functions[f].co_varnames + functions[f].co_cellvars) for f in ("fast_k", "traced_k")]
        sizes[n] = sum(1 for module in modules for _ in py.walk(module))
        facts = {f"x{i}": 1 for i in range(n)}
        for trace in (False, True):
            assert book.evaluate("shape", {"f": facts}, dt.date(2024, 1, 1), trace=trace).outcome == "allow"
            facts["x0"] = 0  # the first value is not > 0: denied, whatever the other facts
            assert book.evaluate("shape", {"f": {"x0": 0}}, dt.date(2024, 1, 1), trace=trace).outcome == "deny"
            with pytest.raises(PolicyDslError, match="f.x1 "):  # (the Kleene functions)
                book.evaluate("shape", {"f": {"x0": 1}}, dt.date(2024, 1, 1), trace=trace)
            facts["x0"] = 1
    assert nlocals[10] == nlocals[20] == nlocals[30]
    assert sizes[30] - sizes[20] == sizes[20] - sizes[10]


def test_a_property_computes_only_the_values_it_reads(tmp_path: Path) -> None:
    """Each property's premise and claim computed every value of the policy, and ordered all of them again:
    N properties and N values made code quadratic in N (200 of each, a 25 KB file: 83 s to load). Each added
    property and value now adds the same code, and a property still sees the value it reads."""
    import ast as py

    from policydsl.compile.codegen import Generator

    sizes = {}
    for n in (10, 20, 30):
        lines = list(HEAD)
        for i in range(n):
            lines += [f'define f.d{i}: count "d{i}" / "d{i}"', f'  = f.x + {i}', '']
        lines += [line.format(cond="f.x > 5") for line in RULE]
        for i in range(n):
            lines += [f'property p{i} "p{i}" / "p{i}"', f'  when f.d{i} > {i + 3}', '  expect outcome == allow', '']
        book = load(tmp_path, f"properties{n}", lines)
        sizes[n] = sum(1 for m in Generator(book.model, book.model.policies["shape"]).modules() for _ in py.walk(m))
        prop = book.compiled["shape"].properties[n - 1]  # holds where f.x + n - 1 > n + 2, i.e. f.x > 3
        env = ({"f.x": 4}, dt.date(2024, 1, 1), None)
        assert prop.premise(*env) and not prop.premise({"f.x": 3}, *env[1:])
    assert sizes[30] - sizes[20] == sizes[20] - sizes[10]


def test_a_plan_as_deep_as_the_language_allows_becomes_sql(tmp_path: Path) -> None:
    """Each layer of a plan is a subquery of the next, generated recursively by sqlglot: a condition of 100
    `and`s (the most P0115 allows) was an internal error (RecursionError) in `score`."""
    pytest.importorskip("duckdb")
    from policydsl.score import plan

    book = load(tmp_path, "deep", HEAD + [line.format(cond=" and ".join(["f.x > 1"] * 100)) for line in RULE])
    assert plan.plan(book.model, "shape", dt.date(2024, 1, 1)).sql().count("SELECT") > 100
    decided = book.score(pytest.importorskip("pyarrow").table({"f.x": [3, 1]}), ["shape"], at=dt.date(2024, 1, 1))
    assert decided.column("outcome").to_pylist() == ["allow", "deny"]


def test_a_group_of_many_facts_in_json_lines_is_read_as_its_facts(tmp_path: Path) -> None:
    """DuckDB guesses an object of more than 200 keys in JSON Lines to be a MAP, not a struct: a record stating
    all 250 facts of `f` was scored `missing_facts` (eval decided it)."""
    pytest.importorskip("duckdb")
    import json

    from policydsl.score import files

    n = 250
    lines = HEAD[:-2] + [f'input f.x{i}: count "x{i}" / "x{i}"' for i in range(n)] + ['']
    book = load(tmp_path, "facts", lines + [line.format(cond=" and ".join(f"f.x{i} > 0" for i in range(8)))
                                            for line in RULE])
    record = {"f": {f"x{i}": 1 for i in range(n)}}
    assert book.evaluate("shape", record, dt.date(2024, 1, 1)).outcome == "allow"
    (tmp_path / "in.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    counts = files.score_file(book, ["shape"], str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), dt.date(2024, 1, 1))
    assert dict(counts["shape"]) == {"allow": 1}


def test_and_and_or_of_many_operands_nest_as_a_balanced_tree() -> None:
    """sqlglot's and_/or_ nest to the left, a level per operand: the plan's test of 1,000 facts for ill-typed
    or missing values was deeper than DuckDB parses (1,000 levels: the input was reported unreadable), 4,000
    an internal error (RecursionError)."""
    pytest.importorskip("sqlglot")
    from policydsl.score import plan

    def depth(tree) -> int:
        stack, deepest = [(tree, 1)], 0
        while stack:
            node, level = stack.pop()
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in node.iter_expressions())
        return deepest
    for n in (1000, 1024):
        assert depth(plan.or_(*[plan.col(f"c{i}") for i in range(n)])) == 12  # 10 connectors, a column, its name
    assert plan.and_(plan.col("a"), plan.or_(plan.col("b"), plan.col("c")), plan.col("d")).sql() == '"a" AND ("b" OR "c") AND "d"'
