"""Rollout simulation (`policydsl rollout`, in policydsl.commands.rollout): simulate a policy's rollouts day by day over a synthetic population of stable ids.

For every day of a date range and every rollout of a policy: the phase in force, the exact target share
from `share()` and the share of N synthetic ids that `covered()` reports covered; printed as a table or
JSON, and drawn as a deterministic, self-contained SVG chart the handbook can embed.

Each id's SHA-256 bucket is computed once; a day's covered count is then a bisection over the sorted
buckets, which is exactly `covered()` (covered ⇔ share ≥ 1 or bucket < share) for every id at once.
"""
from __future__ import annotations

import bisect
import datetime as dt
from fractions import Fraction
from typing import TYPE_CHECKING, Iterable, Sequence

import attrs

from policydsl import i18n
from policydsl.errors import PolicyDslError
from policydsl.source import display_width
from policydsl.runtime import rollout as ro
from policydsl.runtime import values as rv

if TYPE_CHECKING:  # (`policydsl --help` reads this module's defaults: it imports no compiler at its top)
    from policydsl.syntax import ast

DEFAULT_POPULATION = 10_000
DEFAULT_PREFIX = "id-"

# key -> (zh, en): every user-facing string of this command.
STRINGS: dict[str, tuple[str, str]] = {
    "phase.before": ("开始之前", "before"),
    "phase.after": ("结束之后", "after"),
    "phase.between": ("阶段之间", "between phases"),
    "col.date": ("日期", "date"),
    "col.phase": ("阶段", "phase"),
    "col.target": ("目标份额", "target"),
    "col.covered": ("模拟覆盖", "covered"),
    "col.count": ("覆盖数", "count"),
    "heading": ("{policy} — {rollout}（`{name}`，按 {key} 分桶）：{population} 个模拟 ID",
                "{policy} — {rollout} (`{name}`, bucketed by {key}): {population} simulated ids"),
    "legend.target": ("目标份额（线性爬升）", "target share (linear ramp)"),
    "legend.covered": ("模拟覆盖（{population} 个 ID）", "simulated covered ({population} ids)"),
    "svg.title": ("灰度放开模拟：{policy}", "Rollout simulation: {policy}"),
    "desc": ("{rollout}：{population} 个模拟 ID 在 {start} 至 {end} 每天被覆盖的比例，与目标份额对照。{phases}。",
             "{rollout}: the share of {population} simulated ids covered on each day from {start} to {end}, "
             "against the target share. {phases}."),
    "desc.phase": ("{phase}阶段 {start} 至 {end}，目标份额由 {ramp_from} 升至 {ramp_to}",
                   "{phase} from {start} to {end}, the target rising from {ramp_from} to {ramp_to}"),
    "desc.covered": ("，最后一天模拟覆盖 {covered}", ", {covered} of the ids covered on its last day"),
    "desc.sep": ("；", "; "),
    "band.dates": ("{start} 至 {end}", "{start} to {end}"),
    "band.ramp": ("{ramp_from} → {ramp_to}", "{ramp_from} → {ramp_to}"),
    "written": ("已写入 {path}", "wrote {path}"),
    "E.no_rollouts": ("政策 `{policy}` 没有灰度放开（rollout）声明，无可模拟",
                      "policy `{policy}` declares no rollout; there is nothing to simulate"),
    "E.unknown_rollout": ("政策 `{policy}` 没有名为 `{name}` 的灰度放开{hint}（已有：{known}）",
                          "policy `{policy}` has no rollout `{name}`{hint} (it has: {known})"),
    "E.hint": ("（是不是 `{suggestion}`？）", " (did you mean `{suggestion}`?)"),
    "E.range": ("起始日期 {start} 晚于结束日期 {end}", "the start date {start} is after the end date {end}"),
    "E.bad_date": ("日期 `{value}` 无效，应为 YYYY-MM-DD", "invalid date `{value}`, expected YYYY-MM-DD"),
    "E.population": ("模拟 ID 的数量至少为 1，而不是 {value}", "the population must be at least 1, not {value}"),
}


s = i18n.register("simulate", STRINGS)


class SimulationError(PolicyDslError):
    """A bilingual input error of this command (the CLI prints it and exits 2)."""

    def __init__(self, key: str, /, *, facts: Iterable[str] = (), **args: object) -> None:
        super().__init__(f"simulate.{key}", facts=facts, **args)


# ------------------------------------------------------------------ simulation
@attrs.frozen(kw_only=True)
class Day:
    """One rollout on one day: the phase in force, the exact target and the simulated covered count."""

    date: dt.date
    state: str  # "phase" | "before" | "after" | "between"
    phase: str | None  # the phase name when state == "phase"
    target: Fraction
    count: int
    population: int

    @property
    def covered(self) -> Fraction:
        return Fraction(self.count, self.population)


@attrs.frozen(kw_only=True)
class Simulation:
    """A rollout simulated over a date range."""

    decl: ast.RolloutDecl = attrs.field(eq=False, repr=False)
    name: str
    days: tuple[Day, ...]
    population: int

    def phase_label(self, day: Day, lang: str) -> str:
        if day.state != "phase":
            return s(f"phase.{day.state}", lang)
        phase = next(p for p in self.decl.phases if p.name.value == day.phase)
        return phase.label.get(lang)


def escape(text: str) -> str:
    """xml.sax.saxutils.escape, imported when a chart is drawn (it imports urllib)."""
    from xml.sax.saxutils import escape as sax_escape

    return sax_escape(text)


def quoteattr(text: str) -> str:
    """xml.sax.saxutils.quoteattr, imported when a chart is drawn."""
    from xml.sax.saxutils import quoteattr as sax_quoteattr

    return sax_quoteattr(text)


def population_id(index: int, seed_prefix: str = DEFAULT_PREFIX) -> str:
    """The `index`-th simulated id: the prefix and a six-digit index."""
    return f"{seed_prefix}{index:06d}"


def population_ids(population: int, seed_prefix: str = DEFAULT_PREFIX) -> list[str]:
    return [population_id(i, seed_prefix) for i in range(population)]


def _state(phases: Sequence[ro.PhaseSpec], at: dt.date, name: str | None) -> str:
    if name is not None:
        return "phase"
    if not phases or at < phases[0].start:
        return "before"
    return "after" if at > phases[-1].end else "between"


def simulate(decl: ast.RolloutDecl, start: dt.date, end: dt.date, *, population: int = DEFAULT_POPULATION,
             seed_prefix: str = DEFAULT_PREFIX) -> Simulation:
    """Simulate `decl` on every day from `start` to `end` inclusive over `population` ids."""
    from policydsl.compile.compiler import phase_specs  # imported when first needed

    days = simulate_days(decl.name.value, phase_specs(decl), start, end, population=population,
                         seed_prefix=seed_prefix)
    return Simulation(decl=decl, name=decl.name.value, days=days, population=population)


def simulate_days(name: str, phases: tuple[ro.PhaseSpec, ...], start: dt.date, end: dt.date, *,
                  population: int = DEFAULT_POPULATION, seed_prefix: str = DEFAULT_PREFIX) -> tuple[Day, ...]:
    """The days of `simulate()` from hashable inputs only (the rollout's name and runtime phases), so a caller
    can cache them: the result depends on nothing else."""
    if population < 1:
        raise SimulationError("E.population", value=population)
    if start > end:
        raise SimulationError("E.range", start=start.isoformat(), end=end.isoformat())
    # every id's bucket, computed once, sorted so a day's count is one bisection (as integers over 2^64: sorting
    # 10,000 Fractions was most of a chart's time)
    buckets = sorted(ro.bucket_bits(name, key) for key in population_ids(population, seed_prefix))
    days = []
    for offset in range((end - start).days + 1):
        at = start + dt.timedelta(days=offset)
        target, phase = ro.share(phases, at)
        # covered() is `share >= 1 or bucket < share`: the ids whose bucket lies below the share.
        count = population if target >= 1 else bisect.bisect_left(buckets, ro.below(target))
        days.append(Day(date=at, state=_state(phases, at, phase), phase=phase, target=target, count=count,
                        population=population))
    return tuple(days)


def percent(value: Fraction) -> str:
    """An exact share as a percentage with two decimals, rounded half up: 7/29 → "24.14%"."""
    hundredths = value * 10_000
    rounded = (hundredths.numerator * 2 + hundredths.denominator) // (hundredths.denominator * 2)
    return f"{rounded // 100}.{rounded % 100:02d}%"


def select_rollouts(policy, name: str | None) -> list[ast.RolloutDecl]:
    """The policy's rollouts in declaration order, or the one named (by name or zh/en label)."""
    from policydsl.semantics.names import suggest

    rollouts = list(policy.rollouts.values())
    if not rollouts:
        raise SimulationError("E.no_rollouts", policy=policy.id)
    if name is None:
        return rollouts
    for decl in rollouts:
        if name in (decl.name.value, decl.label.zh, decl.label.en):
            return [decl]
    hint = suggest(name, [(d.name.value, (d.label.zh, d.label.en)) for d in rollouts])
    raise SimulationError("E.unknown_rollout", policy=policy.id, name=name,
                          known=", ".join(d.name.value for d in rollouts),
                          hint={lang: s("E.hint", lang, suggestion=hint) for lang in ("zh", "en")} if hint else "")


# ------------------------------------------------------------------ text and JSON
def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def render_table(policy, sims: Sequence[Simulation], lang: str) -> str:
    blocks = []
    for sim in sims:
        heading = s("heading", lang, policy=policy.title.get(lang), rollout=sim.decl.label.get(lang), name=sim.name,
                    key=sim.decl.key.value, population=sim.population)
        header = [s(f"col.{c}", lang) for c in ("date", "phase", "target", "covered", "count")]
        rows = [[d.date.isoformat(), sim.phase_label(d, lang), percent(d.target), percent(d.covered), str(d.count)]
                for d in sim.days]
        widths = [max(display_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(_pad(cell, widths[i], right=i >= 2) for i, cell in enumerate(row)).rstrip()
                 for row in [header, *rows]]
        blocks.append("\n".join([heading, *lines]))
    return "\n\n".join(blocks)


def to_records(sims: Sequence[Simulation], lang: str) -> list[dict[str, object]]:
    return [{"rollout": sim.name, "date": d.date.isoformat(), "phase": sim.phase_label(d, lang),
             "target": percent(d.target), "covered": percent(d.covered), "population": sim.population}
            for sim in sims for d in sim.days]


# ------------------------------------------------------------------ SVG
WIDTH, PANEL = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 20, 64, 72
BAND_FILLS = ("#dbeafe", "#dcfce7", "#fef3c7", "#fce7f3")
TARGET_COLOUR, COVERED_COLOUR = "#2563eb", "#dc2626"
FONT_FAMILY = ("'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', "
               "'WenQuanYi Micro Hei', sans-serif")
CHART_MARGIN_DAYS = 7  # the handbook's chart starts this many days before the first phase and ends as many after
CHART_MAX_DAYS = 5 * 366  # and shows at most this many days (a day is a step of its line: 760 pixels wide)


def chart_window(decl: ast.RolloutDecl, margin_days: int = CHART_MARGIN_DAYS) -> tuple[dt.date, dt.date]:
    """The date range a chart of `decl` shows: `margin_days` before its first phase to as many after its last,
    within the calendar, and its first CHART_MAX_DAYS days only (a phase may last until 9999-12-31)."""
    first = max(min(p.start for p in decl.phases).toordinal() - margin_days, 1)
    last = min(max(p.end for p in decl.phases).toordinal() + margin_days, dt.date.max.toordinal(),
               first + CHART_MAX_DAYS - 1)
    return dt.date.fromordinal(first), dt.date.fromordinal(last)


def describe(sim: Simulation, lang: str) -> str:
    """A plain-language summary of a simulation (the chart's accessible <desc>): each phase, its ramp and
    the simulated share covered on its last day (when that day was simulated)."""
    days = {d.date: d for d in sim.days}
    parts = []
    for phase in sim.decl.phases:
        text = s("desc.phase", lang, phase=phase.label.get(lang), start=phase.start.isoformat(),
                 end=phase.end.isoformat(), ramp_from=rv.percent_text(phase.ramp_from),
                 ramp_to=rv.percent_text(phase.ramp_to))
        if phase.end in days:
            text += s("desc.covered", lang, covered=percent(days[phase.end].covered))
        parts.append(text)
    return s("desc", lang, rollout=sim.decl.label.get(lang),
             population=rv.display("count", sim.population, lang),
             start=sim.days[0].date.isoformat(), end=sim.days[-1].date.isoformat(),
             phases=s("desc.sep", lang).join(parts))


def _n(value: float | Fraction) -> str:
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text(x: float | Fraction, y: float | Fraction, content: str, *, size: int = 11, anchor: str = "start",
          weight: str | None = None, fill: str = "#111827") -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{bold}>'
            f"{escape(content)}</text>")


def _panel(sim: Simulation, lang: str, top: int, heading: str) -> list[str]:
    n = len(sim.days)
    plot_w = Fraction(WIDTH - LEFT - RIGHT)
    y_top, y_bottom = Fraction(top + TOP), Fraction(top + PANEL - BOTTOM)
    first = sim.days[0].date

    def x(i: int | Fraction) -> Fraction:
        return LEFT + plot_w * i / n

    def y(share: Fraction) -> Fraction:
        return y_bottom - (y_bottom - y_top) * share

    out = [f'<g class="rollout" data-rollout={quoteattr(sim.name)}>',
           _text(LEFT, top + 22, heading, size=14, weight="bold")]
    # phase bands, labelled
    for k, phase in enumerate(sim.decl.phases):
        lo = max(0, (phase.start - first).days)
        hi = min(n, (phase.end - first).days + 1)
        if lo >= hi:
            continue
        out.append(f'<rect class="phase" x="{_n(x(lo))}" y="{_n(y_top)}" width="{_n(x(hi) - x(lo))}" '
                   f'height="{_n(y_bottom - y_top)}" fill="{BAND_FILLS[k % len(BAND_FILLS)]}"/>')
        out.append(_text((x(lo) + x(hi)) / 2, y_top - 6, phase.label.get(lang), anchor="middle"))
        # its declared dates and ramp inside the band, where they fit (the date ticks need not fall on them)
        ramp = {"ramp_from": rv.percent_text(phase.ramp_from), "ramp_to": rv.percent_text(phase.ramp_to)}
        lines = (s("band.dates", lang, start=phase.start.isoformat(), end=phase.end.isoformat()),
                 s("band.ramp", lang, **ramp))
        if max(display_width(line) for line in lines) * 5.4 <= x(hi) - x(lo) - 8:
            for row, line in enumerate(lines):
                out.append(_text((x(lo) + x(hi)) / 2, y_top + 14 + 12 * row, line, size=9, anchor="middle",
                                 fill="#374151"))
    # gridlines 0% / 50% / 100%
    for share in (Fraction(0), Fraction(1, 2), Fraction(1)):
        dash = "" if share in (0, 1) else ' stroke-dasharray="4 3"'
        out.append(f'<line x1="{_n(LEFT)}" y1="{_n(y(share))}" x2="{_n(LEFT + plot_w)}" y2="{_n(y(share))}" '
                   f'stroke="#9ca3af" stroke-width="1"{dash}/>')
        out.append(_text(LEFT - 6, y(share) + 4, percent(share).replace(".00", ""), size=10, anchor="end"))
    # date axis: at most ~8 labels, always the first day
    step = max(1, -(-n // 8))
    for i in range(0, n, step):
        cx = (x(i) + x(i + 1)) / 2
        out.append(f'<line x1="{_n(cx)}" y1="{_n(y_bottom)}" x2="{_n(cx)}" y2="{_n(y_bottom + 4)}" stroke="#6b7280"/>')
        out.append(_text(cx, y_bottom + 16, (first + dt.timedelta(days=i)).isoformat(), size=10, anchor="middle"))
    # simulated covered share: a step line, flat over each day
    path = [f"M{_n(x(0))},{_n(y(sim.days[0].covered))}"]
    for i, d in enumerate(sim.days):
        if i:
            path.append(f"V{_n(y(d.covered))}")
        path.append(f"H{_n(x(i + 1))}")
    out.append(f'<path class="covered" d="{" ".join(path)}" fill="none" stroke="{COVERED_COLOUR}" '
               f'stroke-width="1.5"/>')
    # target ramp: a line through the middle of each day, drawn over the steps it predicts
    points = " ".join(f"{_n((x(i) + x(i + 1)) / 2)},{_n(y(d.target))}" for i, d in enumerate(sim.days))
    out.append(f'<polyline class="target" points="{points}" fill="none" stroke="{TARGET_COLOUR}" stroke-width="2"/>')
    # legend: the target's line and the simulation's, side by side
    ly = y_bottom + 40
    population = rv.display("count", sim.population, lang)
    for lx, colour, stroke, label in ((LEFT, TARGET_COLOUR, "2", s("legend.target", lang)),
                                      (LEFT + plot_w / 2, COVERED_COLOUR, "1.5",
                                       s("legend.covered", lang, population=population))):
        out.append(f'<line x1="{_n(lx)}" y1="{_n(ly - 4)}" x2="{_n(lx + 24)}" y2="{_n(ly - 4)}" '
                   f'stroke="{colour}" stroke-width="{stroke}"/>')
        out.append(_text(lx + 30, ly, label))
    out.append("</g>")
    return out


def chart_svg(sims: Sequence[Simulation], lang: str, *, title: str, desc: str, headings: Sequence[str],
              ident: str | None = None, css_class: str | None = None) -> str:
    """The SVG chart of `sims`, one panel each under its heading: self-contained (no external references, no
    scripts), deterministic bytes, with an accessible <title> and <desc>. With `ident` (an id prefix unique in
    the page that embeds it) the title and description are tied to the picture by aria-labelledby/describedby."""
    height = PANEL * len(sims)
    if ident is None:
        name = f"aria-label={quoteattr(title)}"
        title_el, desc_el = f"<title>{escape(title)}</title>", f"<desc>{escape(desc)}</desc>"
    else:
        name = f'aria-labelledby="{ident}-title" aria-describedby="{ident}-desc"'
        title_el = f'<title id="{ident}-title">{escape(title)}</title>'
        desc_el = f'<desc id="{ident}-desc">{escape(desc)}</desc>'
    cls = f" class={quoteattr(css_class)}" if css_class else ""
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg"{cls} width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" {name} '
             f'font-family="{FONT_FAMILY}" lang="{i18n.LANG_TAGS.get(lang, "en")}">',
             title_el, desc_el,
             f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>']
    for k, (sim, heading) in enumerate(zip(sims, headings, strict=True)):
        lines.extend(_panel(sim, lang, PANEL * k, heading))
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def render_svg(policy, sims: Sequence[Simulation], lang: str) -> str:
    """The command's chart of every simulation of `policy` (`--svg FILE`)."""
    title = s("svg.title", lang, policy=f"{policy.title.get(lang)} ({policy.id})")
    return chart_svg(sims, lang, title=title, desc=" ".join(describe(sim, lang) for sim in sims),
                     headings=[f"{sim.decl.label.get(lang)} ({sim.name})" for sim in sims])
