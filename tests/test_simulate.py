"""`policydsl rollout`: the day-by-day simulation of the real own-store rollout, its JSON and SVG, and the CLI."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

import policydsl
from policydsl.compile.compiler import phase_specs
from policydsl.runtime.rollout import covered
from policydsl.simulate import (SimulationError, percent, population_ids, render_svg, render_table, select_rollouts,
                                simulate, to_records)

from conftest import POLICIES, ROOT

D = dt.date
POLICY = "official_account.own_store_only"
START, END = D(2023, 11, 9), D(2024, 1, 2)
SVG_NS = "{http://www.w3.org/2000/svg}"

# A tiny rule book whose labels need escaping in XML.
ESCAPE_POLICY = '''policy demo.staged
  title "演示<分段>" / "Demo <staged> & co"
  effective from 2024-01-01

input user.id: text "用户ID" / "User id"

rollout staged "分段<放开>" / "Staged <rollout> & \\"more\\""
  key user.id
  phase one "第一<段>&" / "Stage <one> & co" from 2024-01-01 until 2024-01-05 ramp 0% to 20%
  phase two "第二段" / "Stage two" from 2024-01-06 until 2024-01-10 ramp 60% to 100%

define user.in: bool "已覆盖" / "Covered"
  = covered(staged)
'''


@pytest.fixture(scope="module")
def book():
    return policydsl.load(POLICIES)


@pytest.fixture(scope="module")
def policy(book):
    return book.find(POLICY)


@pytest.fixture(scope="module")
def sim(policy):
    (decl,) = select_rollouts(policy, None)
    return simulate(decl, START, END)


def by_date(sim):
    return {d.date: d for d in sim.days}


def cli(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "POLICYDSL_LANG": "en"}
    env.pop("POLICYDSL_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "policydsl.cli", "rollout", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------ the simulation
def test_every_day_of_the_range_once_in_order(sim):
    assert [d.date for d in sim.days] == [START + dt.timedelta(days=i) for i in range(55)]
    assert sim.name == "own_store_rollout" and all(d.population == 10_000 for d in sim.days)


def test_nobody_is_covered_until_the_pilot_has_started_ramping(sim):
    days = by_date(sim)
    for day in (D(2023, 11, 9), D(2023, 11, 10), D(2023, 11, 11)):
        assert days[day].target == 0 and days[day].count == 0 and percent(days[day].covered) == "0.00%"
    assert days[D(2023, 11, 12)].count > 0


def test_everybody_is_covered_from_the_last_day_on(sim):
    for d in sim.days:
        if d.date >= D(2023, 12, 20):  # the last day of mid-December
            assert d.target == 1 and d.count == 10_000 and d.covered == 1
        else:
            assert d.target < 1 and d.count < 10_000


def test_shares_never_fall(sim):
    targets = [d.target for d in sim.days]
    counts = [d.count for d in sim.days]
    assert targets == sorted(targets) and counts == sorted(counts)


def test_targets_follow_the_linear_ramps_exactly(sim):
    days = by_date(sim)
    # the pilot runs 39 days from 0% to 100%: day k is k/39
    assert days[D(2023, 11, 18)].target == Fraction(7, 39)
    assert percent(days[D(2023, 11, 18)].target) == "17.95%"
    assert days[D(2023, 11, 25)].target == Fraction(14, 39)
    assert percent(days[D(2023, 11, 25)].target) == "35.90%"
    assert days[D(2023, 12, 11)].target == Fraction(30, 39)
    assert days[D(2023, 12, 20)].target == 1
    # the full phase holds 100% to the end of December
    assert days[D(2023, 12, 21)].target == days[D(2023, 12, 31)].target == 1


def test_the_covered_share_stays_within_two_points_of_the_target(sim):
    for d in sim.days:
        assert abs(d.covered - d.target) <= Fraction(2, 100), d


def test_observed_counts_are_deterministic_and_are_what_covered_reports(policy, sim):
    days = by_date(sim)
    expected = {D(2023, 11, 18): 1778, D(2023, 11, 25): 3604, D(2023, 12, 19): 9750}
    assert {day: days[day].count for day in expected} == expected
    decl = policy.rollouts["own_store_rollout"]
    phases = phase_specs(decl)
    ids = population_ids(10_000)
    assert ids[0] == "id-000000" and ids[-1] == "id-009999"
    for day, count in expected.items():  # the bisection agrees with covered() id by id
        assert sum(covered("own_store_rollout", phases, key, day) for key in ids) == count


def test_the_seed_prefix_and_population_change_the_ids(policy):
    decl = policy.rollouts["own_store_rollout"]
    a = simulate(decl, D(2023, 11, 25), D(2023, 11, 25), population=500, seed_prefix="dy")
    assert population_ids(2, "dy") == ["dy000000", "dy000001"]
    phases = phase_specs(decl)
    keys = population_ids(500, "dy")
    assert a.days[0].count == sum(covered("own_store_rollout", phases, k, D(2023, 11, 25)) for k in keys)
    assert a.days[0].population == 500


def test_phases_are_named_in_both_languages(sim):
    days = by_date(sim)
    expected = {D(2023, 11, 10): ("开始之前", "before"), D(2023, 11, 11): ("内测", "Pilot"),
                D(2023, 12, 20): ("内测", "Pilot"), D(2023, 12, 21): ("全面生效", "Full effect"),
                D(2023, 12, 31): ("全面生效", "Full effect"), D(2024, 1, 1): ("结束之后", "after")}
    for day, (zh, en) in expected.items():
        assert (sim.phase_label(days[day], "zh"), sim.phase_label(days[day], "en")) == (zh, en)


def test_percentages_are_exact_and_rounded_half_up():
    assert percent(Fraction(7, 29)) == "24.14%"
    assert percent(Fraction(0)) == "0.00%" and percent(Fraction(1)) == "100.00%"
    assert percent(Fraction(1, 20_000)) == "0.01%"  # 0.005% rounds up
    assert percent(Fraction(1, 20_001)) == "0.00%"


def test_ten_thousand_ids_over_sixty_days(policy):
    """What ten thousand ids over sixty days give (a test does not time itself: machines here are noisy)."""
    decl = policy.rollouts["own_store_rollout"]
    result = simulate(decl, D(2023, 11, 5), D(2024, 1, 3))
    assert len(result.days) == 60
    assert result.days[0].date == D(2023, 11, 5) and result.days[-1].date == D(2024, 1, 3)
    assert all(day.population == 10_000 for day in result.days)


def test_input_errors_are_bilingual(book, policy):
    with pytest.raises(SimulationError) as no_rollouts:
        select_rollouts(book.find("cart.opening"), None)
    assert no_rollouts.value.message("zh") == "政策 `cart.opening` 没有灰度放开（rollout）声明，无可模拟"
    assert no_rollouts.value.message("en") == "policy `cart.opening` declares no rollout; there is nothing to simulate"
    with pytest.raises(SimulationError) as unknown:
        select_rollouts(policy, "own_store")
    assert "did you mean `own_store_rollout`?" in unknown.value.message("en")
    assert "是不是 `own_store_rollout`" in unknown.value.message("zh")
    assert select_rollouts(policy, "Gradual random rollout of the own-store restriction")[0].name.value == \
        "own_store_rollout"
    decl = policy.rollouts["own_store_rollout"]
    with pytest.raises(SimulationError, match="after the end date"):
        simulate(decl, D(2023, 12, 2), D(2023, 12, 1))
    with pytest.raises(SimulationError, match="at least 1"):
        simulate(decl, D(2023, 12, 1), D(2023, 12, 1), population=0)


# ------------------------------------------------------------------ text, JSON, SVG
def test_the_table_has_one_row_per_day(policy, sim):
    text = render_table(policy, [sim], "en").splitlines()
    assert text[0].startswith("Official and authorised accounts carry only own-store products — ")
    assert text[1].split() == ["date", "phase", "target", "covered", "count"]
    assert len(text) == 2 + 55
    assert text[2 + 16].split() == ["2023-11-25", "Pilot", "35.90%", "36.04%", "3604"]
    zh = render_table(policy, [sim], "zh").splitlines()
    assert zh[1].split() == ["日期", "阶段", "目标份额", "模拟覆盖", "覆盖数"]
    assert zh[2].split() == ["2023-11-09", "开始之前", "0.00%", "0.00%", "0"]


def test_json_records(sim):
    records = to_records([sim], "en")
    assert len(records) == 55
    assert records[16] == {"rollout": "own_store_rollout", "date": "2023-11-25", "phase": "Pilot",
                           "target": "35.90%", "covered": "36.04%", "population": 10_000}
    assert all(list(r) == ["rollout", "date", "phase", "target", "covered", "population"] for r in records)
    assert to_records([sim], "zh")[-1]["phase"] == "结束之后"


def test_the_svg_parses_shows_the_phases_and_is_deterministic(book, policy, sim):
    for lang, labels in (("zh", ("内测", "全面生效")), ("en", ("Pilot", "Full effect"))):
        svg = render_svg(policy, [sim], lang)
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG_NS}svg"
        texts = [t.text for t in root.iter(f"{SVG_NS}text")]
        assert all(label in texts for label in labels)
        assert {"0%", "50%", "100%", "2023-11-09"} <= set(texts)
        assert root.find(f".//{SVG_NS}polyline[@class='target']") is not None
        assert root.find(f".//{SVG_NS}path[@class='covered']") is not None
        assert len(root.findall(f".//{SVG_NS}rect[@class='phase']")) == 2
        assert "href" not in svg and "url(" not in svg and "<script" not in svg and "<image" not in svg
        (again,) = select_rollouts(book.find(POLICY), None)
        assert render_svg(policy, [simulate(again, START, END)], lang).encode() == svg.encode()


def test_svg_text_is_escaped(tmp_path):
    (tmp_path / "staged.policy").write_text(ESCAPE_POLICY, encoding="utf-8")
    staged = policydsl.load(tmp_path).find("demo.staged")
    result = simulate(staged.rollouts["staged"], D(2023, 12, 31), D(2024, 1, 11), population=50)
    svg = render_svg(staged, [result], "en")
    root = ET.fromstring(svg)  # would fail on a raw < or &
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "Stage <one> & co" in texts and 'Staged <rollout> & "more" (staged)' in texts
    assert "Stage &lt;one&gt; &amp; co" in svg
    assert root.find(f"{SVG_NS}title").text == "Rollout simulation: Demo <staged> & co (demo.staged)"
    zh = ET.fromstring(render_svg(staged, [result], "zh"))
    assert "第一<段>&" in [t.text for t in zh.iter(f"{SVG_NS}text")]


# ------------------------------------------------------------------ the command line
def test_cli_prints_the_table():
    out = cli(POLICY, "--from", "2023-11-09", "--to", "2024-01-02", "--lang", "zh")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("官方账号与授权号仅可带本店商品 — 本店商品限制逐步随机放开")
    assert lines[2 + 16].split() == ["2023-11-25", "内测", "35.90%", "36.04%", "3604"]
    assert lines[-1].split() == ["2024-01-02", "结束之后", "100.00%", "100.00%", "10000"]


def test_cli_json():
    out = cli(POLICY, "--rollout", "own_store_rollout", "--from", "2023-11-24", "--to", "2023-11-25", "--json",
              "--population", "2000", "--seed-prefix", "dy")
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert [r["date"] for r in records] == ["2023-11-24", "2023-11-25"]
    assert records[1]["target"] == "35.90%" and records[1]["population"] == 2000 and records[1]["phase"] == "Pilot"
    assert set(records[1]) == {"rollout", "date", "phase", "target", "covered", "population"}


def test_cli_svg_is_the_rendered_chart_byte_for_byte(tmp_path, policy, sim):
    target = tmp_path / "rollout.svg"
    out = cli(POLICY, "--from", "2023-11-09", "--to", "2024-01-02", "--svg", str(target), "--lang", "en")
    assert out.returncode == 0, out.stderr
    assert target.read_bytes() == render_svg(policy, [sim], "en").encode("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["rollout.svg"]  # no temporary file left behind
    ET.parse(target)


@pytest.mark.parametrize(("args", "lang", "message"), [
    (["official_account.own_store_onl", "--from", "2023-11-09", "--to", "2023-11-10"], "en",
     "error: unknown policy `official_account.own_store_onl` (did you mean `official_account.own_store_only`?)\n"),
    (["cart.opening", "--from", "2023-11-09", "--to", "2023-11-10"], "zh",
     "错误：政策 `cart.opening` 没有灰度放开（rollout）声明，无可模拟\n"),
    ([POLICY, "--from", "2023-11-10", "--to", "2023-11-09"], "en",
     "error: the start date 2023-11-10 is after the end date 2023-11-09\n"),
    ([POLICY, "--from", "2023-11-31", "--to", "2023-12-09"], "zh", "错误：日期 `2023-11-31` 无效，应为 YYYY-MM-DD\n"),
    ([POLICY, "--from", "2023-11-01", "--to", "2023-11-09", "--population", "0"], "en",
     "Invalid value for '--population': the population must be at least 1, not 0"),
    ([POLICY, "--from", "2023-11-01", "--to", "2023-11-09", "--rollout", "own_store"], "en",
     "error: policy `official_account.own_store_only` has no rollout `own_store` (did you mean `own_store_rollout`?)"
     " (it has: own_store_rollout)\n"),
])
def test_cli_errors_exit_2_without_a_traceback(args, lang, message):
    out = cli(*args, "--lang", lang)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr + out.stdout and out.stdout == ""


def test_the_command_is_registered_whichever_module_is_imported_first():
    script = ("import policydsl.simulate, click; from policydsl.cli import main; ctx = click.Context(main); "
              "print(sorted(main.list_commands(ctx)), main.get_command(ctx, 'rollout').name)")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "'rollout'" in out.stdout and "'check'" in out.stdout, out.stderr
    assert out.stdout.rstrip().endswith("] rollout")
