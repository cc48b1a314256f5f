"""The formatter: golden layouts, comments, idempotence, unchanged meaning, random policies, the `fmt` command."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policydsl.cli import main
from policydsl.compile.compiler import compile_model
from policydsl.formatter import LOSSY, FormatError, format_text
from policydsl.loader import analyse_sources
from policydsl.source import SourceFile
from policydsl.syntax.parser import parse
from conftest import POLICIES, ROOT

GOLDEN = ROOT / "tests" / "golden" / "fmt"
CASES = ROOT / "tests" / "golden" / "cases"
GOLDEN_NAMES = sorted(p.name.removesuffix(".policy") for p in GOLDEN.glob("*.policy"))
POLICY_FILES = sorted(POLICIES.glob("*.policy"))
CASE_FILES = sorted(CASES.glob("*.policy"))
COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|(#[^\n]*)')


def items_of(text: str, path: str = "x.policy"):
    module, _ = parse(SourceFile(path=path, text=text))
    assert module is not None
    return module.items


def comments_of(text: str) -> list[str]:
    return [m.group(1) for m in COMMENT.finditer(text) if m.group(1)]


def comment_words(text: str) -> list[str]:
    """Every word of every comment (trailing comments that end up on one line are joined)."""
    return sorted(" ".join(comments_of(text)).split())


def codes_of(text: str, path: str) -> list[str]:
    sources = [SourceFile(path=path, text=text)]
    for shared in ("common.policy", "vocabulary.policy"):  # the book's shared files, for a file of the book
        if Path(path).name != shared and (shared == "common.policy" or (POLICIES / Path(path).name).is_file()):
            sources.append(SourceFile.read(POLICIES / shared))
    return [d.code for d in analyse_sources(sources).diagnostics]


# ------------------------------------------------------------------ golden layouts
def test_there_are_enough_golden_cases():
    assert len(GOLDEN_NAMES) >= 8
    for name in GOLDEN_NAMES:
        assert (GOLDEN / f"{name}.policy.formatted").exists(), name


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden_layout(name):
    text = (GOLDEN / f"{name}.policy").read_text(encoding="utf-8")
    expected = (GOLDEN / f"{name}.policy.formatted").read_text(encoding="utf-8")
    formatted = format_text(text, f"{name}.policy")
    assert formatted == expected
    assert format_text(expected) == expected
    assert items_of(formatted) == items_of(text)
    assert comment_words(formatted) == comment_words(text)


def test_golden_expressions_use_minimal_parentheses():
    out = (GOLDEN / "expressions.policy.formatted").read_text(encoding="utf-8")
    assert "  when (a or b) and (c or d) or e and f\n" in out
    assert "  require (x + y) * z - w / (v - u) >= -(1 + 2) and not p == q and not r and - -n < 0\n" in out
    assert "  when a - (b - c) > a - b - c and a / (b * c) != a / b * c and (a or b) or (c or d)\n" in out
    assert "  = (1 + 2) * 3 when flag\n" in out
    assert "  = -4 when not (a and b)\n" in out


def test_exact_layout_of_a_small_policy():
    text = ('policy  p.q title "题"/"T" implements R001.1,R002.2\n'
            'rule r "规" / "R" when a>1 require (b) else deny c "否"/"No" source "d.txt" quote "引\\"文"\n')
    assert format_text(text) == (
        "policy p.q\n"
        '  title "题" / "T"\n'
        "  implements R001.1, R002.2\n"
        "\n"
        'rule r "规" / "R"\n'
        "  when a > 1\n"
        "  require b\n"
        '    else deny c "否" / "No"\n'
        '  source "d.txt" quote "引\\"文"\n')


def test_empty_and_comment_only_text():
    assert format_text("") == ""
    assert format_text("\n\n  # only a comment   \n\n") == "# only a comment\n"


# ------------------------------------------------------------------ comments
def test_comments_keep_their_place():
    text = ("# lead\n"
            "input a.b: bool \"甲\" / \"A\"   # tail\n"
            "rule r \"规\" / \"R\"\n"
            "  # before the condition\n"
            "  require a.b\n"
            "  # before else\n"
            "  else deny c \"否\" / \"No\"\n"
            "# end\n")
    assert format_text(text) == ("# lead\n"
                                 "input a.b: bool \"甲\" / \"A\"  # tail\n"
                                 "\n"
                                 "rule r \"规\" / \"R\"\n"
                                 "  # before the condition\n"
                                 "  require a.b\n"
                                 "    # before else\n"
                                 "    else deny c \"否\" / \"No\"\n"
                                 "# end\n")


def test_comment_inside_an_expression_is_kept_before_its_clause():
    text = 'rule r "规" / "R"\n  require (a or # why a\n  # why b\n  b) else deny c "否" / "No"\n'
    assert format_text(text) == ('rule r "规" / "R"\n'
                                 "  # why b\n"
                                 "  require a or b  # why a\n"
                                 '    else deny c "否" / "No"\n')


def test_hash_inside_a_string_is_not_a_comment():
    text = 'unit u "井号 # 一" / "hash # one" # real\n'
    assert format_text(text) == 'unit u "井号 # 一" / "hash # one"  # real\n'


# ------------------------------------------------------------------ the rule book and the golden cases
@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_rule_book_is_already_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


def parseable_cases() -> list[Path]:
    """The golden cases the formatter lays out: those that parse, less those whose AST lost a clause
    written twice (P0118, P0119), which `fmt` refuses (tests/test_clause_once.py)."""
    cases = [(p, parse(SourceFile.read(p))) for p in CASE_FILES]
    return [p for p, (module, diags) in cases
            if module is not None and not any(d.code in LOSSY for d in diags)]


@pytest.mark.parametrize("path", POLICY_FILES + parseable_cases() + sorted(GOLDEN.glob("*.policy")),
                         ids=lambda p: p.name)
def test_idempotent_and_meaning_preserving(path):
    text = path.read_text(encoding="utf-8")
    once = format_text(text, str(path))
    assert format_text(once, str(path)) == once
    assert items_of(once) == items_of(text)
    assert comment_words(once) == comment_words(text)
    assert codes_of(once, path.name) == codes_of(text, path.name)


def test_parseable_cases_exist_and_syntax_cases_are_refused():
    assert len(parseable_cases()) >= 40
    refused = [p.name for p in CASE_FILES if p not in parseable_cases()]
    assert "syntax_single_equals.policy" in refused
    assert all(name.startswith("syntax_") for name in refused)
    for name in refused:
        with pytest.raises(FormatError) as info:
            format_text((CASES / name).read_text(encoding="utf-8"), name)
        assert info.value.diagnostics and info.value.diagnostics[0].code.startswith("P01")


def test_syntax_error_carries_the_diagnostic():
    with pytest.raises(FormatError) as info:
        format_text('rule r "a" / "b" when x = 1 deny c "a" / "b"', "bad.policy")
    assert [d.code for d in info.value.diagnostics] == ["P0113"]
    assert info.value.message("en") == "cannot format: the text has syntax errors"
    assert info.value.message("zh") == "有语法错误，无法格式化"


def test_a_half_typed_property_is_refused_not_crashed():
    for text in ('property p "a" / "b"\n  expect', 'property p "a" / "b"\n  when\n  expect outcome ==',
                 'property p "a" / "b" expect fires(', 'property p "a"\n'):
        with pytest.raises(FormatError) as info:
            format_text(text, "half.policy")
        assert info.value.diagnostics and all(d.code.startswith("P01") for d in info.value.diagnostics)


def test_exact_layout_of_a_property():
    text = ('property  p "性质"/"P" effective from 2023-01-01 until 2023-12-31 when (a.b) '
            'expect ((outcome)==deny) and fires( r ) or not outcome != allow # why\n')
    assert format_text(text) == ('property p "性质" / "P"\n'
                                 "  effective from 2023-01-01 until 2023-12-31\n"
                                 "  when a.b\n"
                                 "  expect outcome == deny and fires(r) or not outcome != allow  # why\n")


# ------------------------------------------------------------------ random valid policies
NUM_INPUTS = ["m.n1", "m.n2", "m.n3"]
BOOL_INPUTS = ["m.b1", "m.b2"]
MONEY_INPUTS = ["m.fee"]


def spaced(draw, parts: list[str]) -> str:
    """Join tokens with random (but valid) whitespace and comments."""
    out = parts[0]
    for part in parts[1:]:
        out += draw(st.sampled_from([" ", "  ", "\n", "\n\n  ", " # c\n", "\n# full\n  ", "\t"])) + part
    return out


@st.composite
def num_expr(draw, depth=0):
    if depth > 2 or draw(st.booleans()):
        return draw(st.sampled_from(NUM_INPUTS + ["1", "2.5", "10", "0.75"]))
    kind = draw(st.sampled_from(["bin", "bin", "neg", "paren"]))
    if kind == "neg":
        return f"-({draw(num_expr(depth + 1))})"
    if kind == "paren":
        return f"({draw(num_expr(depth + 1))})"
    op = draw(st.sampled_from(["+", "-", "*"]))
    return f"({draw(num_expr(depth + 1))} {op} {draw(num_expr(depth + 1))})" if draw(st.booleans()) else \
        f"{draw(num_expr(depth + 1))} {op} {draw(num_expr(depth + 1))}"


@st.composite
def bool_expr(draw, depth=0):
    if depth > 2 or draw(st.integers(0, 3)) == 0:
        return draw(st.one_of(
            st.sampled_from(BOOL_INPUTS + ["true", "false"]),
            st.builds(lambda a, op, b: f"{a} {op} {b}", num_expr(depth + 1),
                      st.sampled_from([">", ">=", "<", "<=", "==", "!="]), num_expr(depth + 1)),
            st.sampled_from(["m.fee >= ¥100", "m.fee < ¥2000.50", "m.kind in {k_a, k_b}", "m.kind not in {k_c}",
                             "m.kind == k_a"])))
    kind = draw(st.sampled_from(["and", "or", "not", "paren"]))
    if kind == "not":
        return f"not ({draw(bool_expr(depth + 1))})"
    if kind == "paren":
        return f"({draw(bool_expr(depth + 1))})"
    left, right = draw(bool_expr(depth + 1)), draw(bool_expr(depth + 1))
    return f"({left}) {kind} ({right})" if draw(st.booleans()) else f"({left} {kind} {right})"


@st.composite
def property_expr(draw, rules: list[str], depth=0):
    """A property's premise or claim: the decision words (outcome, fires) mixed with ordinary conditions."""
    if depth > 1 or draw(st.integers(0, 2)) == 0:
        return draw(st.one_of(
            st.builds(lambda op, o: f"outcome {op} {o}", st.sampled_from(["==", "!="]),
                      st.sampled_from(["allow", "deny"])),
            st.builds(lambda r: f"fires({r})", st.sampled_from(rules)),
            bool_expr(2)))
    kind = draw(st.sampled_from(["and", "or", "not"]))
    if kind == "not":
        return f"not ({draw(property_expr(rules, depth + 1))})"
    left, right = draw(property_expr(rules, depth + 1)), draw(property_expr(rules, depth + 1))
    return f"({left}) {kind} ({right})" if draw(st.booleans()) else f"({left} {kind} {right})"


@st.composite
def random_policy(draw) -> str:
    decls = ['policy gen.p title "生成" / "Generated" implements R001.1 source "d.txt" quote "引文"',
             'enum gen_kind "种类" / "Kind" value k_a "甲" / "A" value k_b "乙" / "B" value k_c "丙" / "C"',
             'input m.kind: gen_kind "种类" / "Kind"',
             'input m.fee: money "费用" / "Fee"']
    decls += [f'input {n}: number "数{i}" / "Number {i}"' for i, n in enumerate(NUM_INPUTS)]
    decls += [f'input {b}: bool "真{i}" / "Flag {i}"' for i, b in enumerate(BOOL_INPUTS)]
    decls.append('input m.id: text "账号" / "Account id"')
    decls.append('rollout gen_r "放开" / "Rollout" key m.id '
                 'phase p1 "一" / "One" from 2023-01-01 until 2023-02-01 ramp 0% to 50% '
                 'phase p2 "二" / "Two" from 2023-02-02 until 2023-12-31 ramp 50% to 100%')
    decls.append(f'define m.open: bool "放开" / "Open" = covered(gen_r) when {draw(bool_expr())} = false')
    decls.append(f'define m.total: number "合计" / "Total" = {draw(num_expr())} when {draw(bool_expr())} '
                 f'= {draw(num_expr())}')
    rules = [f"r{i}" for i in range(draw(st.integers(1, 4)))]
    for i, _ in enumerate(rules):
        clauses = [f'rule r{i} "规则{i}" / "Rule {i}"']
        if draw(st.booleans()):
            clauses.append("implements R001.1")
        if draw(st.booleans()):
            clauses.append(f"when {draw(bool_expr())}")
        if draw(st.booleans()):
            clauses.append(f'require {draw(bool_expr())} else {draw(st.sampled_from(["deny", "warn"]))} '
                           f'c{i} "否{i}" / "No {i}"')
        else:
            clauses.append(f'warn c{i} "警告{i}" / "Warning {i}"')
        clauses.append(f'source "d.txt" quote "规则{i}"')
        decls.append(" ".join(clauses))
    for i in range(draw(st.integers(0, 2))):
        clauses = [f'property pr{i} "性质{i}" / "Property {i}"']
        if draw(st.booleans()):
            clauses.append("effective from 2023-01-01" + draw(st.sampled_from(["", " until 2023-12-31"])))
        if draw(st.booleans()):
            clauses.append(f"when {draw(property_expr(rules))}")
        clauses.append(f"expect {draw(property_expr(rules))}")
        decls.append(" ".join(clauses))
    decls.append('table gen_grade(x: number) -> gen_kind "等级" / "Grade" hit first row [0, 10): k_a '
                 'row [10, 20]: k_b row (20, inf): k_c')
    decls.append('assume gen_a "假设" / "Assumption" about m.total, R001.1 source "d.txt" quote "引文"')
    # re-space every declaration at random, tokens kept
    texts = []
    for decl in decls:
        parts = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', decl)
        texts.append(spaced(draw, parts))
    seps = [draw(st.sampled_from(["\n", "\n\n", "\n\n\n", "\n# section\n"])) for _ in texts]
    return "".join(t + s for t, s in zip(texts, seps))


def compiled_summary(text: str):
    analysis = analyse_sources([SourceFile(path="gen.policy", text=text)])
    errors = [d.code for d in analysis.diagnostics if d.severity == "error"]
    assert errors == []
    compiled = compile_model(analysis.model)
    return {pid: (p.coverage_items, sorted(p.inputs), sorted(p.defines),
                  [(r.name, r.kind, r.outcome, r.code, r.exception_to) for r in p.rules])
            for pid, p in compiled.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_policy())
def test_random_policies_format_idempotently_and_keep_their_meaning(text):
    once = format_text(text, "gen.policy")
    assert format_text(once, "gen.policy") == once
    assert items_of(once) == items_of(text)
    assert comment_words(once) == comment_words(text)
    assert compiled_summary(once) == compiled_summary(text)
    assert "\n\n\n" not in once and not once.startswith("\n")


# ------------------------------------------------------------------ the command
MESSY = 'unit  u "甲"/"a"\n'
NEAT = 'unit u "甲" / "a"\n'


def run(args, cwd=None):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_fmt_check_on_the_rule_book_passes():
    result = run(["fmt", "--check", str(POLICIES), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output == f"0 file(s) would be reformatted, {len(POLICY_FILES)} already formatted\n"


def test_fmt_check_names_files_that_would_change(tmp_path):
    (tmp_path / "a.policy").write_text(MESSY, encoding="utf-8")
    (tmp_path / "b.policy").write_text(NEAT, encoding="utf-8")
    result = run(["fmt", "--check", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 1
    assert result.output == (f"would reformat: {tmp_path / 'a.policy'}\n"
                             "1 file(s) would be reformatted, 1 already formatted\n")
    assert (tmp_path / "a.policy").read_text(encoding="utf-8") == MESSY


def test_fmt_check_in_chinese(tmp_path):
    (tmp_path / "a.policy").write_text(MESSY, encoding="utf-8")
    result = run(["fmt", "--check", str(tmp_path / "a.policy"), "--lang", "zh"])
    assert result.exit_code == 1
    assert result.output == f"需要格式化：{tmp_path / 'a.policy'}\n1 个文件需要格式化，0 个文件已是规范格式\n"


def test_fmt_diff_prints_a_unified_diff_and_writes_nothing(tmp_path):
    path = tmp_path / "a.policy"
    path.write_text(MESSY, encoding="utf-8")
    result = run(["fmt", "--diff", str(path), "--lang", "en"])
    assert result.exit_code == 0
    assert result.output == (f"--- {path}\n+++ {path} (formatted)\n@@ -1 +1 @@\n"
                             f"-{MESSY}+{NEAT}"
                             "1 file(s) would be reformatted, 0 already formatted\n")
    assert path.read_text(encoding="utf-8") == MESSY


def test_fmt_rewrites_files(tmp_path):
    path = tmp_path / "a.policy"
    path.write_text(MESSY, encoding="utf-8")
    (tmp_path / "b.policy").write_text(NEAT, encoding="utf-8")
    result = run(["fmt", str(tmp_path), "--lang", "en"])
    assert result.exit_code == 0
    assert result.output == f"reformatted: {path}\n1 file(s) reformatted, 1 unchanged\n"
    assert path.read_text(encoding="utf-8") == NEAT
    assert sorted(os.listdir(tmp_path)) == ["a.policy", "b.policy"]  # no temporary file left behind
    again = run(["fmt", "--check", str(tmp_path), "--lang", "en"])
    assert again.exit_code == 0


def test_fmt_syntax_error_exits_2_with_the_diagnostic(tmp_path):
    path = tmp_path / "bad.policy"
    path.write_text('rule r "a" / "b"\n  when x = 1\n  deny c "a" / "b"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["fmt", str(path), "--lang", "en"])
    assert result.exit_code == 2
    assert "error[P0113]" in result.output
    assert "cannot format: the text has syntax errors" in result.output
    assert "Traceback" not in result.output
    assert path.read_text(encoding="utf-8").startswith('rule r "a" / "b"\n  when x = 1')


def test_fmt_missing_path_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["fmt", str(tmp_path / "nope"), "--lang", "en"])
    assert result.exit_code == 2
    assert result.output == f"error: cannot read {tmp_path / 'nope'}: No such file or directory\n"


def test_fmt_is_registered_with_bilingual_help():
    result = run(["fmt", "--help"])
    assert result.exit_code == 0
    assert "按统一格式排版政策文件 / format policy files in the one canonical layout." in result.output


TOKEN_CHUNK = re.compile(r'"(?:[^"\\\n]|\\.)*"|[^\s"]+')


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_respaced_rule_book_formats_back_to_the_house_style(path):
    """Every token of the house-style file re-spaced at random (no blank lines added) formats back exactly."""
    import random

    rng = random.Random(path.name)
    text = path.read_text(encoding="utf-8")
    out_lines = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            out_lines.append(line)
            continue
        chunks = TOKEN_CHUNK.findall(line)
        joined = chunks[0]
        for before, chunk in zip(chunks, chunks[1:]):
            # `working days` is one token that may not span lines
            joined += (" " if before == "working" else rng.choice([" ", "   ", "\n", "\n        ", "\t"])) + chunk
        out_lines.append(rng.choice(["", "  ", "      "]) + joined)
    respaced = "\n".join(out_lines) + "\n"
    assert respaced != text
    assert format_text(respaced, path.name) == text


def test_ten_thousand_declarations_with_comments_format_in_linear_time() -> None:
    # Each declaration's tokens were picked out of the whole file's, and each comment's line found by scanning
    # every line: quadratic (10,000 one-line units with a trailing comment: 26.7 s; 5,000 rules: 39 s for
    # `fmt --check`). Both are bisections now (2.8 s here, most of it parsing). Timed against parsing the same
    # text in the same process (linear; a loaded machine slows both): formatting is parsing plus printing, which
    # took about 13 times the parse when quadratic and 1.0 to 1.4 times it now.
    import time

    from policydsl.source import SourceFile
    from policydsl.syntax.parser import parse

    text = "".join(f'# 单位 {i}\nunit u{i} "单位" / "unit"  # 注 {i}\n' for i in range(10000))
    started = time.perf_counter()
    parse(SourceFile(path="<text>", text=text))
    parsing = time.perf_counter() - started
    started = time.perf_counter()
    formatted = format_text(text)
    assert time.perf_counter() - started < 4 * parsing
    assert formatted == text


def test_a_long_string_is_formatted_and_highlighted_in_memory_proportional_to_it():
    # the formatter's, the language server's and the highlighter's string patterns were "(?:[^"\\\n]|\\.)*": about
    # 120 bytes of the regex engine's stack per character (fmt of one 2,000,000-character text: 300 MB)
    import tracemalloc

    from policydsl.formatter import format_text
    from policydsl.lsp import semantic_tokens_of
    from policydsl.pygments_lexer import PolicyLexer

    text = 'policy p\n  title "' + "x" * 1_000_000 + '" / "a \\" b"\n'
    tracemalloc.start()
    try:
        assert format_text(text) == text
        semantic_tokens_of(text, [])
        assert sum(len(value) for _, value in PolicyLexer().get_tokens(text)) == len(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * len(text)
