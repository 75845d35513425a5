"""The dashboard's pure rules: report periods and percentiles. No ORM, no settings.

A period is a run of whole days in the controller's time zone: the month, quarter or year that
contains a day, or a custom range from one day to another, both included. Its bounds are the
moment its first day starts and the moment its last day ends (midnight at the start of the next
day), so that a moment is in the period when `start <= moment < end`.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

# A custom range longer than this is refused: years are what the "year" period is for.
LONGEST_CUSTOM_RANGE = timedelta(days=5 * 366)
# The days a period may be asked of: a year 9999 would end past the last day Python can count
# (and 1 January of year 1, in a zone east of UTC, start before the first), so the forms refuse
# days out of this range before any period is made of them.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(9998, 12, 31)


class PeriodKind(Enum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CUSTOM = "custom"


@dataclass(frozen=True)
class ReportPeriod:
    kind: PeriodKind
    first_day: date
    last_day: date

    def __post_init__(self):
        if self.last_day < self.first_day:
            raise ValueError("a period cannot end before it starts")
        if self.first_day < EARLIEST_DAY or self.last_day > LATEST_DAY:
            raise ValueError(f"a period lies from {EARLIEST_DAY} to {LATEST_DAY}")

    def bounds(self, *, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The moment the first day starts and the moment the last day ends, in the zone."""
        return (
            datetime.combine(self.first_day, time(), tzinfo=zone),
            datetime.combine(self.last_day + timedelta(days=1), time(), tzinfo=zone),
        )


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def month_of(day: date) -> ReportPeriod:
    return ReportPeriod(PeriodKind.MONTH, day.replace(day=1), _month_end(day.year, day.month))


def quarter_of(day: date) -> ReportPeriod:
    first_month = 3 * ((day.month - 1) // 3) + 1
    return ReportPeriod(
        PeriodKind.QUARTER, date(day.year, first_month, 1), _month_end(day.year, first_month + 2)
    )


def year_of(day: date) -> ReportPeriod:
    return ReportPeriod(PeriodKind.YEAR, date(day.year, 1, 1), date(day.year, 12, 31))


def custom_range(first_day: date, last_day: date) -> ReportPeriod:
    """Raises ValueError when the range ends before it starts or is longer than five years."""
    if last_day - first_day > LONGEST_CUSTOM_RANGE:
        raise ValueError("a custom range is at most five years long")
    return ReportPeriod(PeriodKind.CUSTOM, first_day, last_day)


def period_containing(kind: PeriodKind, day: date) -> ReportPeriod:
    """The month, quarter or year that contains the day."""
    if kind is PeriodKind.MONTH:
        return month_of(day)
    if kind is PeriodKind.QUARTER:
        return quarter_of(day)
    if kind is PeriodKind.YEAR:
        return year_of(day)
    raise ValueError("a custom range is given by its first and last day")


def percentile_cont(ordered: Sequence[timedelta], fraction: float) -> timedelta | None:
    """The percentile of ordered values by linear interpolation between the two nearest ranks,
    as PostgreSQL's `percentile_cont` computes it; None for no values."""
    if not ordered:
        return None
    if not 0 <= fraction <= 1:
        raise ValueError("a percentile is a fraction from 0 to 1")
    position = fraction * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)
