"""Dates in, dates out: day, month (month-end safe) and mainland-China working-day arithmetic."""
from __future__ import annotations

import calendar as _cal
import functools
import datetime as dt

from policydsl import i18n
from policydsl.errors import PolicyDslError

# (the time zone and the holiday library are loaded when first used: `eval --at` on a book without
# working days needs neither)


@functools.cache
def shanghai() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def today_in_shanghai() -> dt.date:
    return dt.datetime.now(shanghai()).date()


@functools.lru_cache(maxsize=None)
def calendar_years() -> tuple[int, int]:
    import chinese_calendar

    days = chinese_calendar.holidays.keys()
    return min(days).year, max(days).year


@functools.lru_cache(maxsize=16384)  # the library re-checks its whole table on every call
def is_workday(day: dt.date) -> bool:
    import chinese_calendar

    first, last = calendar_years()
    if not first <= day.year <= last:
        raise PolicyDslError("E.calendar_range", first=first, last=last, date=day.isoformat())
    return chinese_calendar.is_workday(day)


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The `count`-th working day after `day` (before it when negative), skipping holidays and
    counting the adjusted weekend workdays of the State Council calendar."""
    step = dt.timedelta(days=1 if count >= 0 else -1)
    remaining = abs(count)
    while remaining:
        day += step
        if is_workday(day):
            remaining -= 1
    return day


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day `months` later, clamped to the month's last day (31 Aug + 6 months = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = _cal.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def add_duration(day: dt.date, amount: int, unit: str) -> dt.date:
    if unit not in ("days", "months", "working_days"):
        raise ValueError(unit)
    try:
        if unit == "days":
            return day + dt.timedelta(days=amount)
        return add_months(day, amount) if unit == "months" else add_working_days(day, amount)
    except (OverflowError, ValueError):  # beyond 9999-12-31 or before 0001-01-01
        raise PolicyDslError("E.date_range", date=day.isoformat(),  # (`6 months` in English only, 6个月 in Chinese)
                             duration=i18n.both(f"duration.{unit}", n=amount)) from None


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=_cal.monthrange(day.year, day.month)[1])


def next_half_month(day: dt.date) -> dt.date:
    """The next half-month settlement date strictly after `day`: the 16th, or the 1st of next month."""
    if day.day < 16:
        return day.replace(day=16)
    return add_duration(day.replace(day=1), 1, "months")


def days_between(start: dt.date, end: dt.date) -> int:
    return (end - start).days
