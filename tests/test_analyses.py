"""The static analyses of issue 6: shadowed table rows (P0509), define-case gaps (P0608), rules outside their
policy's period (P0609) and enum values nothing mentions (P0209, an `info` note shown only when asked for)."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl import diagnostics as dg
from policydsl.compile.compiler import _table as runtime_table, table_spec
from policydsl.errors import PolicyDslError
from policydsl.loader import analyse_sources
from policydsl.semantics.analyses import notes
from policydsl.source import SourceFile

from conftest import POLICIES, ROOT, diagnostics_of

HEAD = 'policy demo.t\n  title "演示" / "Demo"\n{extra}\n'


def _codes(diags, *codes: str) -> list:
    return [d for d in diags if d.code in codes]


def _table(rows: str, param: str = "count", hit: str = "first", result: str = "count") -> str:
    return HEAD.format(extra="") + f'table t(x: {param}) -> {result} "表" / "Table"\n  hit {hit}\n{rows}'


def _shadowed(text: str) -> list[tuple[int, str, list[int]]]:
    """(line, message, related lines) of each P0509 of a snippet."""
    return [(d.line, d.message["en"], [r.span.line for r in d.related])
            for d in _codes(diagnostics_of(text), "P0509")]


# ====================================================================== P0509 shadowed rows
def test_hit_first_row_covered_by_earlier_rows_is_reported_with_them():
    text = _table("  row [0, 90]: 1\n  row (90, 180]: 2\n  row [50, 181): 3\n  row (180, inf): 4\n")
    diags = _codes(diagnostics_of(text), "P0509")
    assert [(d.severity, d.line, d.column, d.span.text) for d in diags] == [("warning", 8, 7, "[50, 181)")]
    assert diags[0].message == {
        "zh": "表 `t` 第 3 行 `[50, 181)` 永远用不上：它的每个值都先命中第 1、2 行（hit first）",
        "en": "table `t` row 3 `[50, 181)` is never used: every value it matches goes to row(s) 1, 2 first (hit first)"}
    assert [(r.span.line, r.span.text, r.message["en"]) for r in diags[0].related] == [
        (6, "[0, 90]", "matched first by this row"), (7, "(90, 180]", "matched first by this row")]
    assert diags[0].hint["en"] == ("remove the row, or change the order or the priorities of the rows so that it "
                                   "can be reached")


def test_partly_covered_row_is_not_reported():
    # row 3 keeps 181 (the overlap on [91, 180] is allowed under hit first)
    assert _shadowed(_table("  row [0, 90]: 1\n  row (90, 180]: 2\n  row [91, 181]: 3\n  row (181, inf): 4\n")) == []
    # the later, wider row is used for 0..90 only where the earlier narrow row does not reach
    assert _shadowed(_table("  row [91, 180]: 2\n  row [0, 180]: 1\n  row (180, inf): 3\n")) == []


def test_count_bounds_are_integers_but_number_bounds_are_not():
    # over counts (3, 5] is [4, 5]: entirely taken by the earlier [4, 5]
    counts = _table("  row [0, 3]: 0\n  row [4, 5]: 1\n  row (3, 5]: 2\n  row (5, inf): 3\n")
    assert _shadowed(counts) == [(8, "table `t` row 3 `(3, 5]` is never used: every value it matches goes to row(s) "
                                     "2 first (hit first)", [7])]
    # over numbers (3, 5] still has 3.5 for itself
    numbers = _table("  row [0, 3]: 0\n  row [4, 5]: 1\n  row (3, 5]: 2\n  row (5, inf): 3\n", param="number")
    assert _shadowed(numbers) == []


def test_open_and_closed_decimal_bounds():
    # [0%, 10%) leaves 10% to the second row; [0%, 10%] does not
    assert _shadowed(_table("  row [0%, 10%): 1\n  row [0%, 10%]: 2\n  row (10%, inf): 3\n", param="percent")) == []
    assert [line for line, _, _ in _shadowed(_table("  row [0%, 10%]: 1\n  row [0%, 10%): 2\n  row (10%, inf): 3\n",
                                                    param="percent"))] == [7]
    # two open rows meeting at a point leave the point uncovered: ¥100 is row 3's
    money = "  row [¥0, ¥100): 1\n  row (¥100, inf): 2\n  row [¥50, ¥150]: 3\n"
    assert _shadowed(_table(money, param="money")) == []
    closed = "  row [¥0, ¥100]: 1\n  row (¥100, inf): 2\n  row [¥50, ¥150]: 3\n"
    assert [related for _, _, related in _shadowed(_table(closed, param="money"))] == [[6, 7]]


def test_hit_priority_higher_priority_wins_and_equal_priority_keeps_the_first():
    rows = ("  row [0, 10]: 1 priority 1\n"       # 6: beaten by row 3's higher priority
            "  row [0, 5]: 2 priority 1\n"        # 7: beaten by rows 1 and 3
            "  row [0, 10]: 3 priority 2\n"       # 8: highest: used
            "  row (10, inf): 4\n")               # 9
    assert _shadowed(_table(rows, hit="priority")) == [
        (6, "table `t` row 1 `[0, 10]` is never used: every value it matches goes to row(s) 3 first (hit priority)", [8]),
        (7, "table `t` row 2 `[0, 5]` is never used: every value it matches goes to row(s) 1, 3 first (hit priority)",
         [6, 8])]
    # equal priority (none given is 0): the earlier row wins, as `max()` keeps the first
    assert [line for line, _, _ in _shadowed(_table("  row [0, 10]: 1\n  row [0, 10]: 2\n  row (10, inf): 3\n",
                                                    hit="priority"))] == [7]
    # a later row of higher priority is not shadowed by earlier rows
    assert _shadowed(_table("  row [0, 10]: 1\n  row [0, 10]: 2 priority 1\n  row (10, inf): 3\n",
                            hit="priority")) == [
        (6, "table `t` row 1 `[0, 10]` is never used: every value it matches goes to row(s) 2 first (hit priority)", [7])]


def test_priority_is_ignored_under_hit_first():
    text = _table("  row [0, 10]: 1\n  row [0, 10]: 2 priority 5\n  row (10, inf): 3\n")
    assert [line for line, _, _ in _shadowed(text)] == [7]


def test_unique_and_collect_tables_are_not_analysed_for_shadowing():
    rows = "  row [0, 10]: 1\n  row [0, 10]: 2\n  row (10, inf): 3\n"
    assert _shadowed(_table(rows, hit="unique")) == []  # P0502 speaks instead
    assert _shadowed(_table(rows, hit="collect sum")) == []


def test_empty_and_reversed_rows_are_left_to_other_checks():
    assert _shadowed(_table("  row [0, 10]: 1\n  row (5, 5]: 2\n  row (10, inf): 3\n")) == []
    diags = diagnostics_of(_table("  row [0, 10]: 1\n  row [10, 5]: 2\n  row (10, inf): 3\n"))
    assert [d.code for d in diags] == ["P0504"]


def _runtime_used_rows(text: str, values) -> tuple[set[int], set[int], list[int]]:
    """(rows the compiled lookup ever returns for `values`, non-empty rows, rows P0509 reports)."""
    analysis = analyse_sources([SourceFile(path="t.policy", text=text), SourceFile.read(POLICIES / "common.policy")])
    assert {d.code for d in analysis.diagnostics} <= {"P0501", "P0509"}, [d.render("en") for d in analysis.diagnostics]
    policy = analysis.model.policies["demo.t"]
    table = runtime_table(table_spec(policy.tables["t"].decl, policy.tables["t"].kind))
    used: set[int] = set()
    for value in values:
        hits: set[str] = set()
        try:
            table.lookup(hits, value)
        except PolicyDslError:
            continue
        used |= {int(h.rsplit(":", 1)[1]) for h in hits}
    nonempty = {i + 1 for i, row in enumerate(policy.tables["t"].decl.rows)
                if any(_inside(row.key, v) for v in values)}
    reported = [int(d.message["en"].split(" row ", 1)[1].split()[0])
                for d in analysis.diagnostics if d.code == "P0509"]
    return used, nonempty, reported


def _inside(iv, x) -> bool:
    from policydsl.runtime.program import inside
    return inside((iv.low, iv.low_closed, iv.high, iv.high_closed), x)


BOUND = st.integers(min_value=0, max_value=6)


@st.composite
def range_tables(draw):
    kind = draw(st.sampled_from(["count", "number"]))
    hit = draw(st.sampled_from(["first", "priority"]))
    rows = []
    for index in range(draw(st.integers(min_value=1, max_value=5))):
        lo = draw(BOUND)
        hi = draw(st.one_of(st.just(None), BOUND.map(lambda b, lo=lo: lo + b)))
        lo_b = draw(st.sampled_from("[("))
        hi_b = ")" if hi is None else draw(st.sampled_from("])"))
        if hi is not None and lo == hi:
            lo_b, hi_b = "[", "]"
        priority = draw(st.sampled_from(["", " priority 1", " priority 2"])) if hit == "priority" else ""
        rows.append(f"  row {lo_b}{lo}, {'inf' if hi is None else hi}{hi_b}: {index}{priority}\n")
    return _table("".join(rows), param=kind, hit=hit), kind


@settings(max_examples=150, deadline=None)
@given(range_tables())
def test_shadowed_rows_are_exactly_the_rows_the_runtime_never_uses(case):
    """Bounds are integers 0..12, so integers and half-integers up to 13, plus a big value, reach every region."""
    text, kind = case
    values = [Decimal(n) for n in range(0, 14)] + [Decimal(100)]
    if kind == "number":
        values += [Decimal(n) + Decimal("0.5") for n in range(0, 14)]
    used, nonempty, reported = _runtime_used_rows(text, values)
    assert sorted(nonempty - used) == reported


# ====================================================================== P0608 define-case gaps
def _define(cases: str, effective: str = "  effective from 2020-01-01 until 2024-12-31") -> str:
    return (HEAD.format(extra=effective) + 'input account.ok: bool "可以" / "OK"\n\n'
            f'define cart.min_fans: count "粉丝门槛" / "Follower threshold"\n{cases}'
            '  source "doc.txt" quote "1000粉丝"\n')


def _gaps(text: str) -> list[str]:
    return [d.message["en"] for d in _codes(diagnostics_of(text), "P0608")]


def test_define_gap_between_and_after_cases():
    text = _define("  = 1000 from 2020-01-01 until 2021-06-30\n  = 500 from 2022-01-01 until 2023-12-31\n")
    diags = _codes(diagnostics_of(text), "P0608")
    assert [(d.severity, d.line, d.column, d.span.text) for d in diags] == [
        ("warning", 6, 8, "cart.min_fans"), ("warning", 6, 8, "cart.min_fans")]
    assert [d.message for d in diags] == [
        {"zh": "取值 `cart.min_fans` 在 2021-07-01 至 2021-12-31 没有任何情形生效：在这些日子读取它会评估失败",
         "en": "value `cart.min_fans` has no case in force from 2021-07-01 to 2021-12-31: reading it on those days fails"},
        {"zh": "取值 `cart.min_fans` 在 2024-01-01 至 2024-12-31 没有任何情形生效：在这些日子读取它会评估失败",
         "en": "value `cart.min_fans` has no case in force from 2024-01-01 to 2024-12-31: reading it on those days fails"}]


def test_define_gap_before_the_first_case_and_open_ends():
    assert _gaps(_define("  = 1000 from 2021-01-01\n")) == [
        "value `cart.min_fans` has no case in force from 2020-01-01 to 2020-12-31: reading it on those days fails"]
    # an open-ended policy: the last case lapsing leaves every later day without a value
    assert _gaps(_define("  = 1000 from 2020-01-01 until 2022-12-31\n", effective="  effective from 2020-01-01")) == [
        "value `cart.min_fans` has no case in force from 2023-01-01 to …: reading it on those days fails"]
    # a policy with no start begins with the define's earliest case
    assert _gaps(_define("  = 1000 from 2020-04-07 until 2022-12-31\n  = 500 from 2023-01-01\n", effective="")) == []
    assert _gaps(_define("  = 1000 from 2020-04-07 until 2022-12-30\n  = 500 from 2023-01-01\n", effective="")) == [
        "value `cart.min_fans` has no case in force from 2022-12-31 to 2022-12-31: reading it on those days fails"]


def test_define_without_gaps_or_with_conditions_is_clean():
    assert _gaps(_define("  = 1000 from 2020-01-01 until 2021-12-31\n  = 500 from 2022-01-01\n")) == []
    assert _gaps(_define("  = 1000 until 2021-12-31\n  = 500 from 2022-01-01 until 2024-12-31\n")) == []
    # cases beyond the policy's period do not matter
    assert _gaps(_define("  = 1000 from 2019-01-01 until 2030-12-31\n")) == []
    # a `when` case may not apply: such a define legitimately has no value for some facts
    assert _gaps(_define("  = 1000 when account.ok\n  = 500 from 2022-01-01\n")) == []
    # undated: always in force
    assert _gaps(_define("  = 1000\n")) == []
    # a reversed case covers nothing (P0601 reports it) but does not hide the gap
    diags = diagnostics_of(_define("  = 1000 from 2020-01-01 until 2024-12-31\n  = 500 from 2023-01-01 until 2022-01-01\n"))
    assert [d.code for d in diags] == ["P0601"]


# ====================================================================== P0609 rules outside the policy
def _rule(effective: str, policy: str = "  effective from 2020-04-07 until 2023-12-31") -> str:
    return (HEAD.format(extra=policy) + 'input account.fans: count "粉丝数" / "Followers"\n\n'
            f'rule fans "粉丝门槛" / "Follower threshold"\n{effective}  require account.fans >= 1000\n'
            '    else deny fans_low "粉丝不足" / "Too few followers"\n  source "doc.txt" quote "1000粉丝"\n')


def _outside(text: str) -> list[str]:
    return [d.message["en"] for d in _codes(diagnostics_of(text), "P0609")]


def test_rule_partly_before_and_after_its_policy():
    diags = _codes(diagnostics_of(_rule("  effective from 2019-01-01 until 2024-06-30\n")), "P0609")
    assert [(d.severity, d.line, d.column, d.span.text) for d in diags] == [
        ("warning", 7, 3, "effective from 2019-01-01 until 2024-06-30")] * 2
    assert [d.message for d in diags] == [
        {"zh": "规则 `fans` 在 2019-01-01 至 2020-04-06 生效，但政策 `demo.t` 的生效期是 2020-04-07 至 2023-12-31："
               "这些日子它永远不会生效",
         "en": "rule `fans` is in force from 2019-01-01 to 2020-04-06, outside the effective period of policy `demo.t` "
               "(2020-04-07 to 2023-12-31): it never applies on those days"},
        {"zh": "规则 `fans` 在 2024-01-01 至 2024-06-30 生效，但政策 `demo.t` 的生效期是 2020-04-07 至 2023-12-31："
               "这些日子它永远不会生效",
         "en": "rule `fans` is in force from 2024-01-01 to 2024-06-30, outside the effective period of policy `demo.t` "
               "(2020-04-07 to 2023-12-31): it never applies on those days"}]


def test_rule_wholly_outside_and_open_policy_ends():
    assert _outside(_rule("  effective from 2024-01-01\n")) == []  # open rule end: "until the policy ends"
    assert _outside(_rule("  effective from 2024-01-01 until 2024-02-01\n")) == [
        "rule `fans` is in force from 2024-01-01 to 2024-02-01, outside the effective period of policy `demo.t` "
        "(2020-04-07 to 2023-12-31): it never applies on those days"]
    assert _outside(_rule("  effective until 2019-12-31\n", policy="  effective from 2020-04-07")) == []
    assert _outside(_rule("  effective from 2019-12-31\n", policy="  effective from 2020-04-07")) == [
        "rule `fans` is in force from 2019-12-31 to 2020-04-06, outside the effective period of policy `demo.t` "
        "(2020-04-07 to …): it never applies on those days"]


def test_rule_within_its_policy_is_clean():
    assert _outside(_rule("")) == []
    assert _outside(_rule("  effective from 2020-04-07 until 2023-12-31\n")) == []
    assert _outside(_rule("  effective from 2021-01-01\n")) == []
    assert _outside(_rule("  effective from 2019-01-01 until 2024-12-31\n", policy="")) == []
    assert [d.code for d in diagnostics_of(_rule("  effective from 2022-01-01 until 2021-01-01\n"))] == ["P0601"]


# ====================================================================== P0209 enum values nothing mentions
ENUM = ('enum mode "模式" / "Mode"\n  value spot "现货" / "Spot"\n  value presale "预售" / "Pre-sale"\n'
        '  value custom "定制" / "Custom"\n\n')


def _policy(body: str, pid: str = "demo.t") -> str:
    return f'policy {pid}\n  title "演示" / "Demo"\n\n' + body


def _notes(*texts: str) -> list[tuple[str, str, int, str]]:
    sources = [SourceFile(path=f"p{i}.policy", text=t) for i, t in enumerate(texts)]
    analysis = analyse_sources(sources)
    assert analysis.diagnostics == [], [d.render("en") for d in analysis.diagnostics]  # notes are not in the stream
    return [(d.code, d.severity, d.line, d.span.text) for d in notes(analysis.model)]


RULE = ('rule r "规则" / "Rule"\n  when {cond}\n  deny no "不行" / "No"\n  source "doc.txt" quote "x"\n')


def test_unmentioned_value_of_a_used_enum_is_an_info_note():
    text = _policy(ENUM + 'input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode == spot"))
    assert _notes(text) == [("P0209", "info", 6, "presale"), ("P0209", "info", 7, "custom")]
    analysis = analyse_sources([SourceFile(path="p.policy", text=text)])
    first = notes(analysis.model)[0]
    assert first.message == {"zh": "枚举 `mode` 的取值 `presale` 没有被任何规则、表、取值或 property 提到",
                             "en": "value `presale` of enum `mode` is not mentioned by any rule, table, define or property"}
    assert first.render("en").startswith("p.policy:6:9: info[P0209]: ")
    assert first.render("zh").startswith("p.policy:6:9: 信息[P0209]: ")
    assert not first.is_problem


def test_every_kind_of_mention_counts():
    sets = _policy(ENUM + 'input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode in {spot, presale, custom}"))
    assert _notes(sets) == []
    table = _policy(ENUM + 'input p.mode: mode "模式" / "Mode"\n\n'
                    'table days(m: mode) -> count "天数" / "Days"\n  row spot: 2\n  row presale: 15\n  row custom: 30\n')
    assert _notes(table) == []
    cells = _policy(ENUM + 'input p.kind: account_kind "账号类型" / "Account type"\n\n'
                    'table best(k: account_kind) -> mode "模式" / "Mode"\n  row personal: spot\n'
                    '  row enterprise: presale\n  row individual_business: spot\n'
                    'table all_modes(k: account_kind) -> set of mode "模式" / "Modes"\n  row personal: {custom}\n'
                    '  row enterprise: {}\n  row individual_business: {}\n')
    common = (POLICIES / "common.policy").read_text(encoding="utf-8")
    assert _notes(cells, common) == []
    defines = _policy(ENUM + 'input p.ok: bool "可以" / "OK"\n\n'
                      'define p.mode: mode "模式" / "Mode"\n  = spot when p.ok\n  = presale\n'
                      '  source "doc.txt" quote "x"\n')
    assert _notes(defines) == [("P0209", "info", 7, "custom")]
    columns = _policy(ENUM + 'table ok(k: account_kind, m: mode) -> bool "可以" / "OK"\n'
                      '  columns spot, presale, custom\n  row personal: true, true, true\n'
                      '  row enterprise: true, false, false\n  row individual_business: true, true, false\n')
    assert _notes(columns, common) == []


def test_an_enum_no_policy_uses_is_left_alone():
    assert _notes(_policy(ENUM + 'input p.ok: bool "可以" / "OK"\n')) == []


def test_a_shared_enum_is_judged_across_policies_and_reported_once():
    shared = 'enum mode "模式" / "Mode"\n  value spot "现货" / "Spot"\n  value presale "预售" / "Pre-sale"\n' \
             '  value custom "定制" / "Custom"\n'
    one = _policy('input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode == spot"), "demo.one")
    two = _policy('input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode == presale"), "demo.two")
    assert _notes(shared, one, two) == [("P0209", "info", 4, "custom")]
    # one policy checked alone (`check FILE` loads the shared file, not its other users): no judgement
    assert _notes(shared, one) == []


def test_properties_mention_values_too():
    body = (ENUM + 'input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode == spot") +
            '\nproperty custom_ok "定制可以" / "Custom is fine"\n  when p.mode in {presale, custom}\n'
            '  expect outcome == allow\n')
    analysis = analyse_sources([SourceFile(path="p.policy", text=_policy(body))])
    assert [d.span.text for d in notes(analysis.model)] == []


def test_the_real_book_has_no_problems_and_these_notes():
    from policydsl.loader import analyse, policy_files, with_shared

    analysis = analyse(with_shared(policy_files([POLICIES])))
    assert analysis.diagnostics == []
    found = notes(analysis.model)
    assert found and {(d.code, d.severity) for d in found} == {("P0209", "info")}
    # pre-sale is deliberately left undecided (see the `assume` of shipping.policy; the enum is the vocabulary's)
    assert ("vocabulary.policy", "presale") in {(Path(d.file).name, d.span.text) for d in found}
    # an independent look at the text: a noted value's name occurs in the code (strings and comments aside)
    # only where it is declared, unless another enum has a value of the same name (reason codes, a namespace of
    # their own, aside too)
    import re

    code = "\n".join(re.sub(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\b(?:allow|deny|warn) \w+', "", p.read_text(encoding="utf-8"))
                     for p in sorted(POLICIES.glob("*.policy")))
    names = [v.name.value for e in analysis.model.enums.values() for v in e.values]
    for d in found:
        if names.count(d.span.text) == 1:
            assert len(re.findall(rf"\b{d.span.text}\b", code)) == 1, d.span.text


# ====================================================================== the severity, the CLI and the LSP
def test_severity_info_in_the_bag():
    text = _policy(ENUM + 'input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode == spot"))
    analysis = analyse_sources([SourceFile(path="p.policy", text=text)])
    bag = dg.DiagnosticBag(notes(analysis.model))
    assert [d.span.text for d in bag.infos] == ["presale", "custom"]
    assert bag.errors == [] and bag.warnings == []


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "policydsl.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_check_hides_notes_unless_asked(tmp_path: Path):
    (tmp_path / "p.policy").write_text(
        _policy(ENUM + 'input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode == spot")), encoding="utf-8")
    plain = run("check", str(tmp_path), "--lang", "en")
    assert (plain.returncode, plain.stdout) == (0, "checked 1 file(s), 1 polic(ies): no problems\n")
    shown = run("check", str(tmp_path), "--info", "--lang", "en")
    assert shown.returncode == 0
    assert shown.stdout.count("info[P0209]") == 2
    assert shown.stdout.endswith("checked 1 file(s), 1 polic(ies): no problems\n2 note(s), not problems\n")
    zh = run("check", str(tmp_path), "--info", "--lang", "zh")
    assert zh.stdout.endswith("无问题\n2 条信息（不算问题）\n") and "信息[P0209]" in zh.stdout
    assert json.loads(run("check", str(tmp_path), "--format", "json").stdout) == []
    items = json.loads(run("check", str(tmp_path), "--format", "json", "--info").stdout)
    assert [(d["code"], d["severity"], d["text"]) for d in items] == [("P0209", "info", "presale"),
                                                                      ("P0209", "info", "custom")]


def test_check_info_with_problems_counts_only_the_problems(tmp_path: Path):
    (tmp_path / "p.policy").write_text(
        _policy(ENUM + 'input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode == spot")
                + 'table t(x: count) -> count "表" / "T"\n  hit first\n  row [0, inf): 1\n  row [5, 9]: 2\n'),
        encoding="utf-8")
    result = run("check", str(tmp_path), "--info", "--lang", "en")
    assert result.returncode == 0  # warnings only
    assert "warning[P0509]" in result.stdout and result.stdout.count("info[P0209]") == 2
    assert result.stdout.endswith("0 error(s), 1 warning(s)\n2 note(s), not problems\n")
    # problems come first although the notes sit earlier in the file: notes never push a problem past the cap
    assert result.stdout.index("warning[P0509]") < result.stdout.index("info[P0209]")
    assert f"\n\n{tmp_path / 'p.policy'}:6:9: info[P0209]" in result.stdout


def test_lsp_maps_info_to_information():
    from lsprotocol import types as lt

    from policydsl.lsp import to_lsp_diagnostic

    text = _policy(ENUM + 'input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode == spot"))
    note = notes(analyse_sources([SourceFile(path="p.policy", text=text)]).model)[0]
    assert to_lsp_diagnostic(note, "en").severity == lt.DiagnosticSeverity.Information
    warning = _codes(diagnostics_of(_table("  row [0, inf): 1\n  row [5, 9]: 2\n")), "P0509")[0]
    assert to_lsp_diagnostic(warning, "en").severity == lt.DiagnosticSeverity.Warning


def test_language_server_publishes_notes_as_information(tmp_path: Path):
    from test_lsp import Client, open_doc

    path = tmp_path / "p.policy"
    path.write_text(_policy(ENUM + 'input p.mode: mode "模式" / "Mode"\n\n' + RULE.format(cond="p.mode == spot")),
                    encoding="utf-8")
    client = Client(ROOT, lang="en")
    try:
        client.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        client.notify("initialized", {})
        diags = client.diagnostics(open_doc(client, path))
        assert [(d["code"], d["severity"], d["range"]["start"]) for d in diags] == [
            ("P0209", 3, {"line": 5, "character": 8}), ("P0209", 3, {"line": 6, "character": 8})]
        assert diags[0]["message"].startswith("value `presale` of enum `mode` is not mentioned by any rule")
    finally:
        client.proc.kill()
        client.proc.wait(30)
