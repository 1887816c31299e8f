"""Calendar arithmetic of durations, checked against an independent month-end clamp."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scs_cli.rules.durations import Duration


def add_months_by_hand(day: date, months: int) -> date:
    """Independent reference: move the month, clamp the day to the month's length."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@given(dates, st.integers(min_value=1, max_value=120))
def test_months_clamp_to_month_end(day, n):
    assert Duration(n, "m").after(day) == add_months_by_hand(day, n)
    assert Duration(n, "m").before(day) == add_months_by_hand(day, -n)


@given(dates, st.integers(min_value=1, max_value=30))
def test_years_are_twelve_months(day, n):
    assert Duration(n, "y").after(day) == add_months_by_hand(day, 12 * n)


@given(dates, st.integers(min_value=1, max_value=5000))
def test_days_and_weeks_are_exact(day, n):
    assert Duration(n, "d").after(day) == day + timedelta(days=n)
    assert Duration(n, "w").after(day) == day + timedelta(weeks=n)


@given(dates, st.sampled_from(["d", "w", "m", "y"]), st.integers(min_value=1, max_value=99))
def test_after_is_monotonic(day, unit, n):
    """Later start, never earlier end: the engine's window search relies on this."""
    d = Duration(n, unit)
    assert d.after(day) <= d.after(day + timedelta(days=1))
    assert d.after(day) > day


def test_leap_day_and_month_end_examples():
    assert Duration.parse("1y").after(date(2020, 2, 29)) == date(2021, 2, 28)
    assert Duration.parse("4y").after(date(2020, 2, 29)) == date(2024, 2, 29)
    assert Duration.parse("1m").after(date(2021, 1, 31)) == date(2021, 2, 28)
    assert Duration.parse("1m").after(date(2020, 1, 31)) == date(2020, 2, 29)


@pytest.mark.parametrize("text", ["", "3", "y", "3 years", "0d", "-1y", "1.5y", "2h", "1Y"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="is not a duration"):
        Duration.parse(text)


@given(st.integers(min_value=1, max_value=99999), st.sampled_from("dwmy"))
def test_parse_round_trips(n, unit):
    assert str(Duration.parse(f"{n}{unit}")) == f"{n}{unit}"
