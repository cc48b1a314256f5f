"""Working-day, month and half-month arithmetic against the State Council holiday arrangements.

Expected dates were checked by hand against the official notices, not derived from the code:

* 2023 (国办发明电〔2022〕16号) 中秋节、国庆节：9月29日至10月6日放假调休，共8天。
  10月7日（星期六）、10月8日（星期日）上班。
* 2024 (国办发明电〔2023〕7号) 春节：2月10日至17日放假调休，共8天。
  2月4日（星期日）、2月18日（星期日）上班。(2月9日 除夕 is a working day; staff are only
  *encouraged* to take it off as annual leave.)
"""
from __future__ import annotations

import datetime as dt

import pytest

from policydsl.errors import PolicyDslError
from policydsl.runtime import calendar as cal

D = dt.date


# ------------------------------------------------------------------ the raw calendar
@pytest.mark.parametrize("day, workday", [
    (D(2023, 9, 28), True),    # Thursday before the Golden Week
    (D(2023, 9, 29), False),   # Mid-Autumn Festival (Friday)
    (D(2023, 9, 30), False),   # Saturday inside the break
    (D(2023, 10, 1), False),   # National Day
    (D(2023, 10, 6), False),   # last day of the break (Friday)
    (D(2023, 10, 7), True),    # adjusted working Saturday
    (D(2023, 10, 8), True),    # adjusted working Sunday
    (D(2023, 10, 9), True),    # ordinary Monday
    (D(2023, 10, 14), False),  # ordinary Saturday
    (D(2024, 2, 3), False),    # ordinary Saturday
    (D(2024, 2, 4), True),     # adjusted working Sunday before Spring Festival
    (D(2024, 2, 9), True),     # New Year's Eve 2024 is officially a working day
    (D(2024, 2, 10), False),   # Spring Festival
    (D(2024, 2, 17), False),   # last day of the break (Saturday)
    (D(2024, 2, 18), True),    # adjusted working Sunday after Spring Festival
])
def test_is_workday_follows_the_state_council_arrangement(day, workday):
    assert cal.is_workday(day) is workday


# ------------------------------------------------------------------ working days: 2023 Golden Week
@pytest.mark.parametrize("start, count, expected", [
    (D(2023, 9, 28), 0, D(2023, 9, 28)),
    (D(2023, 9, 28), 1, D(2023, 10, 7)),   # the whole break is skipped; the adjusted Saturday counts
    (D(2023, 9, 28), 2, D(2023, 10, 8)),   # the adjusted Sunday counts too
    (D(2023, 9, 28), 3, D(2023, 10, 9)),
    (D(2023, 9, 28), 7, D(2023, 10, 13)),
    (D(2023, 9, 27), 1, D(2023, 9, 28)),
    (D(2023, 9, 27), 2, D(2023, 10, 7)),
    (D(2023, 10, 1), 1, D(2023, 10, 7)),   # counting from inside the break
    (D(2023, 10, 6), 1, D(2023, 10, 7)),
    (D(2023, 10, 7), 1, D(2023, 10, 8)),
    (D(2023, 10, 8), 1, D(2023, 10, 9)),
    (D(2023, 10, 13), 1, D(2023, 10, 16)),  # an ordinary weekend after the break is skipped
])
def test_add_working_days_across_2023_golden_week(start, count, expected):
    assert cal.add_working_days(start, count) == expected


# ------------------------------------------------------------------ working days: Spring Festival 2024
@pytest.mark.parametrize("start, count, expected", [
    (D(2024, 2, 2), 1, D(2024, 2, 4)),    # Saturday 3 Feb is off, Sunday 4 Feb is worked
    (D(2024, 2, 3), 1, D(2024, 2, 4)),
    (D(2024, 2, 4), 1, D(2024, 2, 5)),
    (D(2024, 2, 8), 1, D(2024, 2, 9)),    # New Year's Eve is a working day
    (D(2024, 2, 8), 2, D(2024, 2, 18)),   # then 10–17 Feb are skipped; Sunday 18 Feb is worked
    (D(2024, 2, 9), 1, D(2024, 2, 18)),
    (D(2024, 2, 9), 2, D(2024, 2, 19)),
    (D(2024, 2, 12), 1, D(2024, 2, 18)),
    (D(2024, 2, 1), 5, D(2024, 2, 7)),    # 2, 4, 5, 6, 7 February
    (D(2024, 2, 1), 10, D(2024, 2, 20)),  # … 8, 9, 18, 19, 20 February
])
def test_add_working_days_across_spring_festival_2024(start, count, expected):
    assert cal.add_working_days(start, count) == expected


@pytest.mark.parametrize("start, count, expected", [
    (D(2023, 10, 9), -1, D(2023, 10, 8)),
    (D(2023, 10, 9), -2, D(2023, 10, 7)),
    (D(2023, 10, 9), -3, D(2023, 9, 28)),
    (D(2023, 10, 7), -1, D(2023, 9, 28)),
    (D(2023, 10, 4), -1, D(2023, 9, 28)),
    (D(2024, 2, 19), -1, D(2024, 2, 18)),
    (D(2024, 2, 19), -2, D(2024, 2, 9)),
    (D(2024, 2, 18), -1, D(2024, 2, 9)),
    (D(2024, 2, 5), -1, D(2024, 2, 4)),
    (D(2024, 2, 5), -2, D(2024, 2, 2)),
    (D(2024, 2, 20), -10, D(2024, 2, 1)),
])
def test_add_working_days_negative_counts(start, count, expected):
    assert cal.add_working_days(start, count) == expected


def test_add_working_days_round_trips_between_working_days():
    start = D(2023, 9, 28)
    for count in range(1, 15):
        there = cal.add_working_days(start, count)
        assert cal.is_workday(there)
        assert cal.add_working_days(there, -count) == start


# ------------------------------------------------------------------ outside the library's data
def test_working_days_outside_the_calendar_data_raise_a_clear_error():
    first, last = cal.calendar_years()
    assert first <= 2004 and last >= 2024
    assert last < 2040
    with pytest.raises(PolicyDslError) as info:
        cal.add_working_days(D(2040, 1, 1), 1)
    error = info.value
    assert error.key == "E.calendar_range"
    assert error.args_map == {"first": first, "last": last, "date": "2040-01-02"}
    assert error.message("en") == (f"the working-day calendar covers {first}–{last} only; "
                                   "cannot compute 2040-01-02")
    assert error.message("zh") == f"工作日日历只覆盖 {first}–{last} 年，无法计算 2040-01-02"
    assert str(error) == error.message("en")


def test_working_days_stepping_off_either_end_of_the_data_raise():
    first, last = cal.calendar_years()
    with pytest.raises(PolicyDslError) as info:
        cal.add_working_days(D(last, 12, 31), 1)
    assert info.value.key == "E.calendar_range"
    assert info.value.args_map["date"] == f"{last + 1}-01-01"
    with pytest.raises(PolicyDslError) as info:
        cal.add_working_days(D(first, 1, 1), -1)
    assert info.value.key == "E.calendar_range"
    assert info.value.args_map["date"] == f"{first - 1}-12-31"
    with pytest.raises(PolicyDslError) as info:
        cal.is_workday(D(2040, 6, 1))
    assert info.value.key == "E.calendar_range"


def test_add_duration_working_days_raises_the_same_error():
    with pytest.raises(PolicyDslError) as info:
        cal.add_duration(D(2040, 1, 1), 3, "working_days")
    assert info.value.key == "E.calendar_range"


# ------------------------------------------------------------------ months
@pytest.mark.parametrize("start, months, expected", [
    (D(2023, 8, 31), 6, D(2024, 2, 29)),   # into a leap February
    (D(2022, 8, 31), 6, D(2023, 2, 28)),   # into a common February
    (D(2024, 1, 31), 1, D(2024, 2, 29)),
    (D(2023, 1, 31), 1, D(2023, 2, 28)),
    (D(2024, 1, 30), 1, D(2024, 2, 29)),
    (D(2024, 1, 29), 1, D(2024, 2, 29)),
    (D(2024, 1, 28), 1, D(2024, 2, 28)),
    (D(2024, 3, 31), 1, D(2024, 4, 30)),
    (D(2024, 2, 29), 12, D(2025, 2, 28)),
    (D(2024, 2, 29), 48, D(2028, 2, 29)),
    (D(2023, 12, 15), 1, D(2024, 1, 15)),  # year boundary
    (D(2023, 11, 30), 2, D(2024, 1, 30)),
    (D(2023, 1, 31), 25, D(2025, 2, 28)),
    (D(2024, 3, 31), -1, D(2024, 2, 29)),  # negative
    (D(2024, 1, 15), -1, D(2023, 12, 15)),
    (D(2024, 1, 31), -13, D(2022, 12, 31)),
    (D(2024, 5, 31), -3, D(2024, 2, 29)),
    (D(2023, 5, 17), 0, D(2023, 5, 17)),
])
def test_add_months_is_month_end_safe(start, months, expected):
    assert cal.add_months(start, months) == expected


def test_add_months_never_overflows_on_any_day_of_two_years():
    day = D(2023, 1, 1)
    while day < D(2025, 1, 1):
        for months in (-13, -1, 1, 6, 12, 25):
            result = cal.add_months(day, months)
            assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
            assert result.day == min(day.day, cal.month_end(result).day)
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("amount, unit, expected", [
    (7, "days", D(2023, 10, 6)),
    (-28, "days", D(2023, 9, 1)),
    (6, "months", D(2024, 3, 29)),
    (1, "working_days", D(2023, 10, 7)),
    (-1, "working_days", D(2023, 9, 28)),
])
def test_add_duration(amount, unit, expected):
    assert cal.add_duration(D(2023, 9, 29), amount, unit) == expected


def test_add_duration_rejects_an_unknown_unit():
    with pytest.raises(ValueError):
        cal.add_duration(D(2023, 9, 29), 1, "weeks")


# ------------------------------------------------------------------ half months, month ends, spans
@pytest.mark.parametrize("day, expected", [
    (D(2023, 10, 1), D(2023, 10, 16)),
    (D(2023, 10, 14), D(2023, 10, 16)),
    (D(2023, 10, 15), D(2023, 10, 16)),
    (D(2023, 10, 16), D(2023, 11, 1)),
    (D(2023, 10, 31), D(2023, 11, 1)),
    (D(2023, 12, 16), D(2024, 1, 1)),
    (D(2023, 12, 31), D(2024, 1, 1)),
    (D(2024, 2, 29), D(2024, 3, 1)),
    (D(2023, 2, 28), D(2023, 3, 1)),
])
def test_next_half_month_is_strictly_later(day, expected):
    assert cal.next_half_month(day) == expected
    assert cal.next_half_month(day) > day


@pytest.mark.parametrize("day, expected", [
    (D(2024, 2, 10), D(2024, 2, 29)),
    (D(2023, 2, 1), D(2023, 2, 28)),
    (D(2100, 2, 1), D(2100, 2, 28)),   # divisible by 100, not by 400: not a leap year
    (D(2000, 2, 1), D(2000, 2, 29)),
    (D(2023, 4, 30), D(2023, 4, 30)),
    (D(2023, 12, 1), D(2023, 12, 31)),
])
def test_month_end(day, expected):
    assert cal.month_end(day) == expected


@pytest.mark.parametrize("start, end, expected", [
    (D(2023, 9, 28), D(2023, 10, 9), 11),
    (D(2023, 10, 9), D(2023, 9, 28), -11),
    (D(2023, 10, 9), D(2023, 10, 9), 0),
    (D(2024, 2, 28), D(2024, 3, 1), 2),
    (D(2023, 2, 28), D(2023, 3, 1), 1),
    (D(2023, 1, 1), D(2024, 1, 1), 365),
    (D(2024, 1, 1), D(2025, 1, 1), 366),
])
def test_days_between(start, end, expected):
    assert cal.days_between(start, end) == expected


def test_today_in_shanghai_is_a_date_within_a_day_of_utc():
    today = cal.today_in_shanghai()
    utc = dt.datetime.now(dt.timezone.utc).date()
    assert type(today) is dt.date
    assert 0 <= (today - utc).days <= 1


@pytest.mark.parametrize(("amount", "unit", "zh", "en"), [(6, "months", "6个月", "6 months"), (1, "days", "1天", "1 days"),
                                                          (-3, "working_days", "-3个工作日", "-3 working days")])
def test_a_shift_out_of_range_is_said_in_each_language(amount, unit, zh, en):
    # the Chinese message named the unit by its id: "9999-12-31 加 6 months", "加 3 working_days"
    day = D(9999, 12, 31) if amount > 0 else D(1, 1, 1)
    with pytest.raises(PolicyDslError) as caught:
        cal.add_duration(day, amount, unit)
    assert caught.value.message("zh") == f"{day} 加 {zh} 超出了可表示的日期范围（0001-01-01 至 9999-12-31）"
    assert caught.value.message("en").startswith(f"{day} plus {en} falls outside the representable dates")
