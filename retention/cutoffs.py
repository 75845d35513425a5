"""Retention cut-offs: pure date arithmetic, no ORM (DESIGN.md §4).

A record is kept through the last day of its period, counted from its clock's date (or from the
end of that date's calendar year, Sweden's accounting rule), and may go from the day after.
Months end on the same date of the later month, or on its last day where it has no such date;
years likewise (29 February + 1 year = 28 February).
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Unit = Literal["days", "months", "years"]


@dataclass(frozen=True)
class Period:
    amount: int
    unit: str  # Unit

    def __post_init__(self) -> None:
        if self.amount < 0 or self.unit not in ("days", "months", "years"):
            raise ValueError(f"not a period: {self.amount} {self.unit}")


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_period(day: date, period: Period) -> date:
    if period.unit == "days":
        return day + timedelta(days=period.amount)
    return add_months(day, period.amount * (12 if period.unit == "years" else 1))


def kept_until(clock: date, period: Period, *, from_calendar_year_end: bool = False) -> date:
    """The last day a record whose clock started on `clock` is kept."""
    start = date(clock.year, 12, 31) if from_calendar_year_end else clock
    return add_period(start, period)


def is_due(clock: date, period: Period, today: date, *, from_calendar_year_end: bool = False) -> bool:
    """Whether the record may be deleted today."""
    return kept_until(clock, period, from_calendar_year_end=from_calendar_year_end) < today


def latest_due_clock(today: date, period: Period, *, from_calendar_year_end: bool = False) -> date:
    """The latest clock date whose record is due today: every record whose clock started on or
    before it is due, every later one is not (`kept_until` never decreases as the clock moves
    on, so one date divides them). The purge's queries compare against this date."""
    if from_calendar_year_end:
        year = today.year
        while not is_due(date(year, 12, 31), period, today, from_calendar_year_end=True):
            year -= 1
        return date(year, 12, 31)
    # Going back by the period lands within a few days of the answer (month ends clamp); step
    # to it, keeping the invariant that is_due holds at the answer and fails the day after.
    guess = _subtract_period(today, period)
    while not is_due(guess, period, today):
        guess -= timedelta(days=1)
    while is_due(guess + timedelta(days=1), period, today):
        guess += timedelta(days=1)
    return guess


def _subtract_period(day: date, period: Period) -> date:
    if period.unit == "days":
        return day - timedelta(days=period.amount + 1)
    return add_months(day, -period.amount * (12 if period.unit == "years" else 1))
