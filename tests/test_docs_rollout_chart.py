"""The simulated rollout chart in the handbook (issue 6): every rollout of a policy is drawn on its page,
inline in the HTML and as an SVG file next to the Markdown, from simulate.py's own computation.

The real rule book's `own_store_rollout` (official_account.own_store_only, R004.2) ramps 0% → 100% from
2023-11-11 to 2023-12-20 (the last day of mid-December) and holds 100% from 2023-12-21 to 2023-12-31; the
chart shows 7 days either side.
"""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

import policydsl
from policydsl import simulate
from policydsl.cli import main

from conftest import POLICIES, ROOT
from test_docs_support import parse_html, squash, write_fixture

D = dt.date
SVG = "{http://www.w3.org/2000/svg}"
POLICY = "official_account.own_store_only"
CHART = f"{POLICY}.own_store_rollout.rollout.svg"
WINDOW = (D(2023, 11, 4), D(2024, 1, 7))
DAYS = [WINDOW[0] + dt.timedelta(days=i) for i in range(65)]  # 2023-11-04 … 2024-01-07
Y_ZERO, Y_FULL = simulate.PANEL - simulate.BOTTOM, simulate.TOP  # where 0% and 100% are drawn
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def render(policies: Path, features: Path, out: Path) -> Path:
    result = CliRunner().invoke(main, ["docs", "--policies", str(policies), "--features", str(features),
                                       "--out", str(out)], env={"POLICYDSL_LANG": "en"})
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    """The real rule book's handbook, rendered once."""
    return render(POLICIES, ROOT / "features", tmp_path_factory.mktemp("real") / "out")


@pytest.fixture(scope="module")
def fixture_book(tmp_path_factory) -> Path:
    root = write_fixture(tmp_path_factory.mktemp("chart"))
    return render(root / "policies", root / "features", root / "out")


def inline_svgs(html_text: str) -> list[str]:
    """The SVG of every rollout chart figure of a page, as written."""
    return re.findall(r'<figure class="rollout-chart">\n(<svg .*?</svg>)\n<figcaption', html_text, re.S)


def page(book: Path, lang: str, fmt: str, policy: str = POLICY) -> str:
    ext = "html" if fmt == "html" else "md"
    return (book / lang / fmt / "policies" / f"{policy}.{ext}").read_text(encoding="utf-8")


def plotted(svg: ET.Element) -> tuple[list[Fraction], list[Fraction]]:
    """The covered share and the target share of every day, read back from the drawn path and polyline."""
    def share(y: str) -> Fraction:
        return (Y_ZERO - Fraction(y)) / (Y_ZERO - Y_FULL)

    path = svg.find(f".//{SVG}path[@class='covered']").attrib["d"].split()
    assert path[0].startswith("M") and all(step[0] in "HV" for step in path[1:])
    covered = [share(path[0].split(",")[1])] + [share(step[1:]) for step in path[1:] if step[0] == "V"]
    assert sum(step[0] == "H" for step in path) == len(covered)  # one flat step per day
    points = svg.find(f".//{SVG}polyline[@class='target']").attrib["points"].split()
    target = [share(p.split(",")[1]) for p in points]
    return covered, target


# ---------------------------------------------------------------- the data
def test_the_chart_window_is_a_week_either_side_of_the_phases() -> None:
    decl = policydsl.load(POLICIES).find(POLICY).rollouts["own_store_rollout"]
    assert simulate.CHART_MARGIN_DAYS == 7
    assert simulate.chart_window(decl) == WINDOW
    assert simulate.chart_window(decl, 2) == (D(2023, 11, 9), D(2024, 1, 2))
    result = simulate.simulate(decl, *WINDOW)
    assert [d.date for d in result.days] == DAYS and result.population == 10_000
    for day in result.days:
        if day.date <= D(2023, 11, 11):  # the pilot's ramp starts at 0% on its first day
            assert (day.target, day.count) == (0, 0), day
        elif day.date >= D(2023, 12, 20):  # 100% from the last day of mid-December
            assert (day.target, day.count) == (1, 10_000), day
        else:
            assert 0 < day.target < 1 and 0 < day.count < 10_000, day
    counts = {d.date: d.count for d in result.days}
    assert (counts[D(2023, 11, 25)], counts[D(2023, 12, 19)]) == (3604, 9750)  # as `policydsl rollout` prints


def test_the_description_says_what_is_drawn() -> None:
    decl = policydsl.load(POLICIES).find(POLICY).rollouts["own_store_rollout"]
    result = simulate.simulate(decl, *WINDOW)
    assert simulate.describe(result, "en") == (
        "Gradual random rollout of the own-store restriction: the share of 10,000 simulated ids covered on each "
        "day from 2023-11-04 to 2024-01-07, against the target share. Pilot from 2023-11-11 to 2023-12-20, the "
        "target rising from 0% to 100%, 100.00% of the ids covered on its last day; Full effect from 2023-12-21 "
        "to 2023-12-31, the target rising from 100% to 100%, 100.00% of the ids covered on its last day.")
    assert simulate.describe(result, "zh") == (
        "本店商品限制逐步随机放开：10000 个模拟 ID 在 2023-11-04 至 2024-01-07 每天被覆盖的比例，与目标份额对照。"
        "内测阶段 2023-11-11 至 2023-12-20，目标份额由 0% 升至 100%，最后一天模拟覆盖 100.00%；"
        "全面生效阶段 2023-12-21 至 2023-12-31，目标份额由 100% 升至 100%，最后一天模拟覆盖 100.00%。")
    # A range that stops before a phase ends says nothing about that phase's last day.
    short = simulate.simulate(decl, D(2023, 11, 20), D(2023, 11, 21))
    assert "covered on its last day" not in simulate.describe(short, "en")


# ---------------------------------------------------------------- the real handbook
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_official_account_page_draws_the_chart_inline(real: Path, lang: str) -> None:
    text = page(real, lang, "html")
    (svg_text,) = inline_svgs(text)
    svg = ET.fromstring(svg_text)  # well-formed XML, inside the HTML page
    assert svg.tag == f"{SVG}svg" and svg.attrib["role"] == "img"
    assert svg.attrib["class"] == "rollout-chart-svg"
    assert svg.attrib["aria-labelledby"] == "chart-own_store_rollout-title"
    assert svg.attrib["aria-describedby"] == "chart-own_store_rollout-desc"
    title = {"zh": "模拟覆盖比例：本店商品限制逐步随机放开",
             "en": "Simulated coverage: Gradual random rollout of the own-store restriction"}[lang]
    assert svg.find(f"{SVG}title").attrib["id"] == "chart-own_store_rollout-title"
    assert svg.find(f"{SVG}title").text == title
    assert svg.find(f"{SVG}desc").attrib["id"] == "chart-own_store_rollout-desc"
    decl = policydsl.load(POLICIES).find(POLICY).rollouts["own_store_rollout"]
    assert svg.find(f"{SVG}desc").text == simulate.describe(simulate.simulate(decl, *WINDOW), lang)
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    phases = {"zh": ["内测", "全面生效"], "en": ["Pilot", "Full effect"]}[lang]
    # the full phase's 11-day band is too narrow for its dates and ramp, so only the pilot's are written
    bands = {"zh": ["2023-11-11 至 2023-12-20"], "en": ["2023-11-11 to 2023-12-20"]}[lang]
    assert all(label in texts for label in [*phases, *bands, "0% → 100%", "0%", "50%", "100%"])
    assert texts[0] == title and "2023-11-04" in texts
    legend = {"zh": "模拟覆盖（10000 个 ID）", "en": "simulated covered (10,000 ids)"}[lang]
    assert legend in texts
    assert len(svg.findall(f".//{SVG}rect[@class='phase']")) == 2
    # inert: nothing to fetch, nothing to run (the page's CSP forbids network requests anyway)
    assert not re.search(r"href|url\(|<script|<image|<foreignObject|\son\w+=", svg_text)
    # the chart sits in the rollout's card, after its phase table, with a caption
    card = parse_html(text).find(id="rollout-own_store_rollout")
    assert [n.tag for n in card.children if not isinstance(n, str)][:4] == ["h3", "p", "table", "figure"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_curve_is_zero_before_the_pilot_and_full_from_the_last_day(real: Path, lang: str) -> None:
    svg = ET.fromstring(inline_svgs(page(real, lang, "html"))[0])
    covered, target = plotted(svg)
    assert len(covered) == len(target) == len(DAYS) == 65
    by_day = dict(zip(DAYS, covered))
    assert all(by_day[d] == 0 for d in DAYS if d < D(2023, 11, 12))
    assert all(by_day[d] == 1 for d in DAYS if d >= D(2023, 12, 20))
    assert all(0 < by_day[d] < 1 for d in DAYS if D(2023, 11, 12) <= d < D(2023, 12, 20))
    # 0% and 100% are drawn exactly; in between, coordinates are rounded to 1/100 px (half of it at most)
    assert abs(by_day[D(2023, 11, 25)] - Fraction(3604, 10_000)) <= Fraction(1, 200) / (Y_ZERO - Y_FULL)
    assert covered == sorted(covered) and target == sorted(target)
    assert dict(zip(DAYS, target))[D(2023, 11, 11)] == 0 and dict(zip(DAYS, target))[D(2023, 12, 20)] == 1
    assert all(abs(c - t) <= Fraction(2, 100) for c, t in zip(covered, target))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_markdown_page_links_the_chart_file(real: Path, lang: str) -> None:
    markdown = page(real, lang, "md")
    alt = {"zh": "模拟覆盖比例：本店商品限制逐步随机放开",
           "en": "Simulated coverage: Gradual random rollout of the own-store restriction"}[lang]
    assert f"![{alt}]({CHART})" in markdown
    (link,) = re.findall(r"!\[[^\]]*\]\(([^)]+\.rollout\.svg)\)", markdown)
    file = real / lang / "md" / "policies" / link
    assert file.is_file()
    data = file.read_text(encoding="utf-8")
    assert data.startswith(DECLARATION)
    ET.parse(file)
    assert data == DECLARATION + inline_svgs(page(real, lang, "html"))[0] + "\n"  # the same picture as the page
    caption = markdown.split(f"]({CHART})\n\n", 1)[1].split("\n", 1)[0]
    assert "`id-000000`" in caption and "`id-009999`" in caption and "`covered(own_store_rollout)`" in caption
    assert ("10,000" if lang == "en" else "10000") in caption and "SHA-256" in caption


def test_only_policies_with_a_rollout_get_a_chart(real: Path) -> None:
    charts = sorted(p.name for p in (real / "en" / "md" / "policies").glob("*.rollout.svg"))
    assert charts == [CHART]
    book = policydsl.load(POLICIES)
    assert [pid for pid, p in sorted(book.model.policies.items()) if p.rollouts] == [POLICY]
    assert inline_svgs(page(real, "en", "html", "cart.opening")) == []
    assert "rollout.svg" not in page(real, "zh", "md", "cart.opening")


def test_two_renders_are_byte_for_byte_the_same(real: Path, tmp_path: Path) -> None:
    again = render(POLICIES, ROOT / "features", tmp_path / "again")
    for rel in (f"zh/md/policies/{CHART}", f"en/md/policies/{CHART}", f"zh/html/policies/{POLICY}.html",
                f"en/html/policies/{POLICY}.html", f"zh/md/policies/{POLICY}.md", f"en/md/policies/{POLICY}.md"):
        assert (again / rel).read_bytes() == (real / rel).read_bytes(), rel


def test_the_committed_handbook_has_the_chart() -> None:
    committed = ROOT / "generated_docs"
    for lang in ("zh", "en"):
        assert (committed / lang / "md" / "policies" / CHART).is_file()
        assert len(inline_svgs(page(committed, lang, "html"))) == 1


# ---------------------------------------------------------------- the fixture book
CAPTION_EN = (
    "Dates run from 7 days before the first phase to 7 days after the last; the vertical axis is the share covered "
    "(0–100%). The shaded bands, named above them, are the phases; the blue line is the exact target share the rule "
    "sets, the red step line the share of 10,000 simulated ids (id-000000 to id-009999) that count as covered on "
    "each day. The ids are synthetic but bucketed exactly as in evaluation, by a SHA-256 hash of the rollout name "
    "and the Account id, so the red line is what covered(fixture_rollout) answers for them day by day; its "
    "distance from the blue line is sampling noise.")


def test_the_fixture_caption_links_the_key_and_marks_code(fixture_book: Path) -> None:
    html_page = parse_html(page(fixture_book, "en", "html", "fixture.deposit"))
    figure = html_page.find("figure", cls="rollout-chart")
    caption = figure.find("figcaption")
    assert squash(caption.text()) == CAPTION_EN
    assert [c.text() for c in caption.find_all("code")] == ["id-000000", "id-009999", "covered(fixture_rollout)"]
    assert caption.find("a", cls="term").attrs["href"] == "#input-account.id"
    svg = ET.fromstring(inline_svgs(page(fixture_book, "en", "html", "fixture.deposit"))[0])
    covered, _ = plotted(svg)  # 2023-02-22 … 2023-05-07: nobody before the pilot, everybody from 2023-04-30
    assert len(covered) == 75 and covered[:8] == [0] * 8 and covered[-8:] == [1] * 8
    assert inline_svgs(page(fixture_book, "zh", "html", "xss.probe")) == []


def test_timeline_styles_do_not_leak_onto_the_chart(fixture_book: Path) -> None:
    """Inline SVG <style> applies to the whole HTML page: the timeline's rules are scoped to its own picture,
    so its `.phase` fill does not paint over the chart's phase bands."""
    text = page(fixture_book, "zh", "html", "fixture.deposit")
    style = re.search(r'<svg [^>]*class="timeline-svg".*?<style>\n(.*?)</style>', text, re.S).group(1)
    selectors = [sel.strip() for rule in style.split("}") if "{" in rule for sel in rule.split("{")[0].split(",")]
    assert selectors and all(sel.startswith(".timeline-svg ") for sel in selectors), selectors


def test_in_a_browser_the_chart_is_drawn_as_written(fixture_book: Path, tmp_path: Path) -> None:
    """Headless Chromium (see test_docs_browser.py): no console error, only file:// requests, and the bands
    keep their own fills, not a colour some other picture's stylesheet gives `.phase`."""
    from test_docs_browser import CHROMIUM, Browser

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run `make test`, which installs it", pytrace=False)
    (tmp_path / "profile").mkdir()
    browser = Browser(tmp_path / "profile")
    try:
        for lang in ("zh", "en"):
            browser.open((fixture_book / lang / "html" / "policies" / "fixture.deposit.html").as_uri())
            fills = browser.js("Array.from(document.querySelectorAll('figure.rollout-chart rect.phase'))"
                               ".map(r => getComputedStyle(r).fill)")
            assert fills == ["rgb(219, 234, 254)", "rgb(220, 252, 231)"]  # BAND_FILLS[0], BAND_FILLS[1]
            assert browser.js("getComputedStyle(document.querySelector('svg.timeline-svg polygon.pilot')).fill") \
                == "rgb(227, 160, 8)"  # the timeline keeps its own colours
            width = browser.js("document.querySelector('figure.rollout-chart svg').getBoundingClientRect().width")
            assert 0 < width <= 760
        assert browser.problems() == []
        assert all(u.startswith("file://") for u in browser.requests())
    finally:
        browser.close()


# ---------------------------------------------------------------- the calendar's ends
FOREVER = '''policy far.ends
  title "时间尽头" / "The ends of time"
  source "a.txt" quote "q"
  effective from 0001-01-01

rollout forever "永久放开" / "Forever"
  key account.id
  phase pilot "内测" / "Pilot" from 2020-01-01 until 2020-12-31 ramp 0% to 50%
  phase full "全面" / "Full" from 2021-01-01 until 9999-12-31 ramp 50% to 100%

define far.on: bool "放开" / "On"
  = covered(forever)
  source "a.txt" quote "q"

rule r "规则" / "Rule"
  effective from 0001-01-01 until 9999-12-31
  require far.on
    else deny off "未放开" / "Not on"
  source "a.txt" quote "q"
'''


def test_periods_to_the_ends_of_the_calendar_are_drawn(tmp_path: Path) -> None:
    # A period from 0001-01-01 or to 9999-12-31 checks clean, but the handbook's timeline widened its axis past
    # the calendar and the rollout chart its window by a week: `docs` stopped with an internal error (exit 3,
    # OverflowError). Had it not, the chart would have drawn one step per day of 8,000 years, and the timeline a
    # label per year. Now the axis stays in the calendar with at most about 20 labels, and the chart shows its
    # first five years.
    (tmp_path / "policies").mkdir()
    (tmp_path / "features").mkdir()
    for name in ("common.policy", "vocabulary.policy"):
        (tmp_path / "policies" / name).write_text((POLICIES / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "policies" / "far.policy").write_text(FOREVER, encoding="utf-8")
    out = render(tmp_path / "policies", tmp_path / "features", tmp_path / "out")
    timeline = ET.parse(out / "en" / "md" / "policies" / "far.ends.timeline.svg").getroot()
    ticks = [t.text for t in timeline.iter(f"{SVG}text") if t.attrib.get("text-anchor") == "middle"]
    assert ticks[0] == "1" and 10 <= len(ticks) <= 21 and all(1 <= int(year) <= 9999 for year in ticks)
    chart = ET.parse(out / "en" / "md" / "policies" / "far.ends.forever.rollout.svg").getroot()
    covered, target = plotted(chart)
    assert len(covered) == len(target) == simulate.CHART_MAX_DAYS
    assert "from 2019-12-25 to 2024-12-27" in chart.find(f"{SVG}desc").text
