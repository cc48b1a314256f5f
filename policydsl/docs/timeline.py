"""Dated periods in, the geometry of a timeline picture out (lanes of bars and marks on a date axis).

The SVG itself is written by the `timeline.svg` template; today's date is not part of the file: a
small script draws it when the picture is viewed, so the rendered files stay deterministic.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import attrs

from policydsl.docs.strings import s
from policydsl.runtime import values as rv

WIDTH = 960
LABEL_WIDTH = 280
PLOT_LEFT = LABEL_WIDTH + 16
PLOT_RIGHT = WIDTH - 24
AXIS_HEIGHT = 34
LANE_HEIGHT = 36
BAR_HEIGHT = 14
FONT = 12
SMALL = 10


@attrs.frozen
class Bar:
    start: dt.date | None
    end: dt.date | None
    kind: str  # policy | rule | value | pilot | full | phase; "value conditional": a case under a `when`
    text: str = ""  # written under the bar, after its dates
    ramp: tuple[Decimal, Decimal] | None = None


@attrs.frozen
class Mark:
    day: dt.date
    title: str


@attrs.frozen
class Lane:
    label: str
    bars: tuple[Bar, ...] = ()
    marks: tuple[Mark, ...] = ()
    href: tuple[str, str] = ("", "")  # (page, anchor) the lane's label links to
    undated: bool = False  # in force on any date: a dashed bar across the whole axis


def layout(lanes: list[Lane], lang: str) -> dict | None:
    """The picture as plain data for the template, or None when no lane has a date."""
    bars = [bar for lane in lanes for bar in lane.bars]
    marks = {mark.day for lane in lanes for mark in lane.marks}
    dates = sorted({day for bar in bars for day in (bar.start, bar.end) if day} | marks)
    if not dates:
        return None
    undated = any(lane.undated for lane in lanes)
    open_ended = undated or any(bar.end is None for bar in bars)
    open_start = undated or any(bar.start is None for bar in bars)
    lo, hi = dates[0], dates[-1]
    span = (hi - lo).days
    lo = moved(lo, -(max(span // 20, 15) + (max(span // 6, 60) if open_start else 0)))
    hi = moved(hi, max(span // 4, 180) if open_ended else max(span // 20, 15))
    axis = _Axis(lo, hi)
    height = AXIS_HEIGHT + LANE_HEIGHT * len(lanes) + 8
    return {
        "width": WIDTH, "height": height, "x0": PLOT_LEFT, "x1": PLOT_RIGHT, "top": AXIS_HEIGHT - 6,
        "min": lo.isoformat(), "max": hi.isoformat(), "today_label": s("timeline.today", lang),
        "ticks": axis.ticks(),
        "lanes": [_lane(lane, index, axis, lang) for index, lane in enumerate(lanes)],
    }


def moved(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, kept within the calendar (a period may start on 0001-01-01 or end on 9999-12-31)."""
    return dt.date.fromordinal(min(max(day.toordinal() + days, 1), dt.date.max.toordinal()))


class _Axis:
    def __init__(self, lo: dt.date, hi: dt.date) -> None:
        self.lo, self.hi = lo, hi
        self.days = max((hi - lo).days, 1)

    def x(self, day: dt.date | None, *, default: float) -> float:
        if day is None:
            return default
        return round(PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (day - self.lo).days / self.days, 1)

    def ticks(self) -> list[dict]:
        years = self.days / 365
        step = 12 * -(-int(years) // 20) if years > 4 else 6 if years > 2 else 3 if years > 1 else 1  # <= ~20 ticks
        day = dt.date(self.lo.year, 1, 1)
        out = []
        while day <= self.hi:
            if day >= self.lo:
                label = str(day.year) if step == 12 or day.month == 1 else f"{day.year}-{day.month:02d}"
                out.append({"x": self.x(day, default=0), "label": label})
            month = day.month - 1 + step
            if day.year + month // 12 > dt.MAXYEAR:
                break
            day = dt.date(day.year + month // 12, month % 12 + 1, 1)
        return out


def _lane(lane: Lane, index: int, axis: _Axis, lang: str) -> dict:
    y = AXIS_HEIGHT + index * LANE_HEIGHT
    bars = []
    if lane.undated:
        bars.append({"x": PLOT_LEFT, "w": PLOT_RIGHT - PLOT_LEFT, "y": y + 4, "h": BAR_HEIGHT, "cls": "undated",
                     "points": "", "title": lane.label, "text": "", "tx": PLOT_LEFT, "anchor": "start"})
    for bar in lane.bars:
        bars.append(_bar(bar, y, axis, lang))
    marks = [{"x": axis.x(m.day, default=PLOT_LEFT), "y": y + 4 + BAR_HEIGHT / 2, "title": m.title}
             for m in lane.marks]
    return {"y": y, "label": _fit(lane.label, LABEL_WIDTH - 8, FONT), "full": lane.label, "href": lane.href,
            "ty": y + 4 + BAR_HEIGHT - 2, "bars": bars, "marks": marks}


def _bar(bar: Bar, y: float, axis: _Axis, lang: str) -> dict:
    x0 = axis.x(bar.start, default=PLOT_LEFT)
    x1 = axis.x(moved(bar.end, 1) if bar.end else None, default=PLOT_RIGHT)
    width = max(x1 - x0, 2.0)
    top, bottom = y + 4, y + 4 + BAR_HEIGHT
    points = ""
    if bar.ramp is not None:  # a trapezoid: its height grows with the share covered
        low, high = (max(Decimal(0), min(Decimal(1), r)) for r in bar.ramp)
        y_low = round(bottom - float(low) * BAR_HEIGHT, 1) if low > 0 else bottom - 1
        y_high = round(bottom - float(high) * BAR_HEIGHT, 1)
        points = f"{x0},{bottom} {x0},{y_low} {round(x0 + width, 1)},{y_high} {round(x0 + width, 1)},{bottom}"
    dates = _dates(bar, lang)
    text = dates + (" · " + bar.text if bar.text else "")
    tw = _width(text, SMALL)
    anchor, tx = "start", x0
    if x0 + tw > PLOT_RIGHT:
        anchor, tx = "end", min(round(x0 + width, 1), PLOT_RIGHT)
    return {"x": x0, "w": round(width, 1), "y": top, "h": BAR_HEIGHT, "cls": bar.kind, "points": points,
            "title": text, "text": text, "tx": tx, "anchor": anchor, "ty": bottom + 12}


def _dates(bar: Bar, lang: str) -> str:
    if bar.start and bar.end:
        return s("period.between", lang, start=bar.start.isoformat(), end=bar.end.isoformat())
    if bar.start:
        return s("timeline.open_end", lang, start=bar.start.isoformat())
    if bar.end:
        return s("timeline.open_start", lang, end=bar.end.isoformat())
    return s("period.always", lang)


def ramp_text(ramp_from: Decimal, ramp_to: Decimal, lang: str) -> str:
    return s("rollout.ramp", lang, ramp_from=rv.percent_text(ramp_from), ramp_to=rv.percent_text(ramp_to))


def _width(text: str, size: float) -> float:
    return sum(size if ord(c) >= 0x2E80 else size * 0.56 for c in text)


def _fit(text: str, width: float, size: float) -> str:
    """`text` cut to fit `width` pixels, ending in … when cut (the full text is the lane's tooltip)."""
    if _width(text, size) <= width:
        return text
    out = ""
    for char in text:
        if _width(out + char + "…", size) > width:
            break
        out += char
    return out + "…"
