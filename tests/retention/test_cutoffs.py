"""Retention cut-offs (retention.cutoffs): pure date arithmetic, tested for all dates and periods."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from retention.cutoffs import Period, add_period, is_due, kept_until, latest_due_clock
from retention.queries import local_today

# Far enough from date.min and date.max that a period of up to 200 years fits on both sides;
# a clock older than the year 1000 is not a record this portal keeps.
dates = st.dates(min_value=date(1000, 1, 1), max_value=date(9000, 12, 31))
periods = st.one_of(
    st.builds(Period, st.integers(0, 5000), st.just("days")),
    st.builds(Period, st.integers(0, 2400), st.just("months")),
    st.builds(Period, st.integers(0, 200), st.just("years")),
)


@hypothesis_settings(max_examples=2000)
@given(clock=dates, period=periods, today=dates, from_calendar_year_end=st.booleans())
def test_one_date_divides_due_from_kept(clock, period, today, from_calendar_year_end):
    cutoff = latest_due_clock(today, period, from_calendar_year_end=from_calendar_year_end)
    assert is_due(clock, period, today, from_calendar_year_end=from_calendar_year_end) == (clock <= cutoff)


@hypothesis_settings(max_examples=1000)
@given(today=dates, period=periods, from_calendar_year_end=st.booleans())
def test_the_cutoff_is_due_and_the_day_after_is_not(today, period, from_calendar_year_end):
    cutoff = latest_due_clock(today, period, from_calendar_year_end=from_calendar_year_end)
    assert is_due(cutoff, period, today, from_calendar_year_end=from_calendar_year_end)
    assert not is_due(
        cutoff + timedelta(days=1), period, today, from_calendar_year_end=from_calendar_year_end
    )
    # The cut-off is never today or later: nothing is deleted on the day its clock starts.
    assert cutoff < today


@given(clock=dates, period=periods, today=dates, from_calendar_year_end=st.booleans())
def test_due_means_kept_until_is_over(clock, period, today, from_calendar_year_end):
    last_day = kept_until(clock, period, from_calendar_year_end=from_calendar_year_end)
    assert last_day >= clock
    assert is_due(clock, period, today, from_calendar_year_end=from_calendar_year_end) == (last_day < today)


@hypothesis_settings(max_examples=1000)
@given(today=dates, offset=st.integers(-3, 3), period=periods, from_calendar_year_end=st.booleans())
def test_clocks_next_to_the_cutoff_are_divided_by_it(today, offset, period, from_calendar_year_end):
    cutoff = latest_due_clock(today, period, from_calendar_year_end=from_calendar_year_end)
    clock = cutoff + timedelta(days=offset)
    assert is_due(clock, period, today, from_calendar_year_end=from_calendar_year_end) == (offset <= 0)


@given(clock=dates, later=st.integers(0, 800), period=periods, from_calendar_year_end=st.booleans())
def test_kept_until_never_decreases_as_the_clock_moves_on(clock, later, period, from_calendar_year_end):
    moved = clock + timedelta(days=later)
    assert kept_until(clock, period, from_calendar_year_end=from_calendar_year_end) <= kept_until(
        moved, period, from_calendar_year_end=from_calendar_year_end
    )


@given(clock=dates, period=periods)
def test_from_the_calendar_year_end_every_date_of_a_year_is_kept_as_long_as_its_31_december(clock, period):
    year_end = date(clock.year, 12, 31)
    assert kept_until(clock, period, from_calendar_year_end=True) == kept_until(year_end, period)


@given(clock=dates, days=st.integers(0, 5000))
def test_days_are_plain_days(clock, days):
    assert kept_until(clock, Period(days, "days")) == clock + timedelta(days=days)


@given(clock=dates, months=st.integers(0, 2400))
def test_months_land_on_the_same_date_or_the_last_day_of_a_shorter_month(clock, months):
    result = add_period(clock, Period(months, "months"))
    assert (result.year * 12 + result.month) - (clock.year * 12 + clock.month) == months
    if result.day != clock.day:
        assert result.day < clock.day
        assert (result + timedelta(days=1)).day == 1  # the last day of its month


@pytest.mark.parametrize(
    ("clock", "period", "last_day"),
    [
        (date(2025, 1, 31), Period(1, "months"), date(2025, 2, 28)),
        (date(2024, 1, 31), Period(1, "months"), date(2024, 2, 29)),
        (date(2025, 3, 31), Period(1, "months"), date(2025, 4, 30)),
        (date(2025, 8, 31), Period(3, "months"), date(2025, 11, 30)),
        (date(2024, 2, 29), Period(1, "years"), date(2025, 2, 28)),
        (date(2024, 2, 29), Period(4, "years"), date(2028, 2, 29)),
        (date(2024, 2, 29), Period(12, "months"), date(2025, 2, 28)),
        (date(2025, 12, 31), Period(2, "months"), date(2026, 2, 28)),
        (date(2025, 1, 1), Period(360, "days"), date(2025, 12, 27)),
        (date(2025, 1, 1), Period(30, "days"), date(2025, 1, 31)),
    ],
)
def test_month_ends_clamp(clock, period, last_day):
    assert kept_until(clock, period) == last_day
    assert not is_due(clock, period, last_day)
    assert is_due(clock, period, last_day + timedelta(days=1))


def test_swedish_accounting_counts_7_years_from_the_end_of_the_calendar_year():
    fiscal_year_end = date(2019, 6, 30)
    seven = Period(7, "years")
    assert kept_until(fiscal_year_end, seven, from_calendar_year_end=True) == date(2026, 12, 31)
    assert not is_due(fiscal_year_end, seven, date(2026, 12, 31), from_calendar_year_end=True)
    assert is_due(fiscal_year_end, seven, date(2027, 1, 1), from_calendar_year_end=True)
    assert latest_due_clock(date(2027, 1, 1), seven, from_calendar_year_end=True) == date(2019, 12, 31)
    assert latest_due_clock(date(2026, 12, 31), seven, from_calendar_year_end=True) == date(2018, 12, 31)


def test_norwegian_and_danish_accounting_count_5_years_from_the_end_of_the_fiscal_year():
    fiscal_year_end = date(2019, 6, 30)
    five = Period(5, "years")
    assert kept_until(fiscal_year_end, five) == date(2024, 6, 30)
    assert not is_due(fiscal_year_end, five, date(2024, 6, 30))
    assert is_due(fiscal_year_end, five, date(2024, 7, 1))
    assert latest_due_clock(date(2024, 7, 1), five) == fiscal_year_end


def test_a_period_that_is_not_one_is_refused():
    with pytest.raises(ValueError):
        Period(-1, "days")
    with pytest.raises(ValueError):
        Period(1, "weeks")


@pytest.mark.parametrize(
    ("utc", "oslo_day"),
    [
        # 00:30 in Oslo (CET, UTC+1) is still the day before in UTC.
        (datetime(2026, 3, 1, 23, 30, tzinfo=UTC), date(2026, 3, 2)),
        # Summer time (CEST, UTC+2): 00:30 Oslo is 22:30 UTC the day before.
        (datetime(2026, 7, 14, 22, 30, tzinfo=UTC), date(2026, 7, 15)),
        # 23:30 Oslo is still that day.
        (datetime(2026, 7, 15, 21, 30, tzinfo=UTC), date(2026, 7, 15)),
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2027, 1, 1)),
    ],
)
def test_today_is_the_day_in_oslo(settings, utc, oslo_day):
    assert settings.TIME_ZONE == "Europe/Oslo"
    with time_machine.travel(utc, tick=False):
        assert local_today() == oslo_day


def test_a_run_at_00_30_oslo_time_on_new_years_day_takes_the_swedish_records_of_seven_years_ago():
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), tick=False):
        today = local_today()
    assert today == date(2027, 1, 1)
    assert is_due(date(2019, 6, 30), Period(7, "years"), today, from_calendar_year_end=True)
    assert not is_due(date(2020, 1, 1), Period(7, "years"), today, from_calendar_year_end=True)
