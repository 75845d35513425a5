"""Deadline arithmetic for the legal clocks: pure functions, no ORM, no settings.

Counted as Regulation (EEC, Euratom) No 1182/71 art. 3 counts periods, as the EDPB applies it
to art. 12(3) GDPR (DESIGN.md §1, "How clocks are counted"):

- A period in days, weeks or months starts the day after the start (the day itself is not
  counted) and ends at the end of its last day. A month ends on the same date of the month it
  reaches, or on that month's last day where there is no such date.
- A last day on a Saturday, a Sunday or a public holiday of the controller's country moves to
  the next working day. Public holidays are the `holidays` package's default category for the
  country; days a country's own law adds beyond those (Sweden's Midsummer Eve, Christmas Eve and
  New Year's Eve) are not counted, so a clock may be early, never late.
- A period in hours runs hour by hour from the start, weekends and holidays included, and is
  never moved.

Moments are aware datetimes; days are counted in the controller's time zone, and a deadline is
the moment its last day ends there (midnight at the start of the next day).
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# The countries of the group's controllers, by ISO 3166 code.
COUNTRIES = ("NO", "SE", "DK")


class Unit(Enum):
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


@dataclass(frozen=True)
class Period:
    length: int
    unit: Unit

    def __post_init__(self):
        if self.length < 0:
            raise ValueError("a period cannot be negative")


def add_months(day: date, months: int) -> date:
    """The same date `months` later, or the last day of that month where it has no such date."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    # lru_cache only memoises a pure function of its arguments: the holidays of a year never change.
    if country not in COUNTRIES:
        raise ValueError(f"no public holidays known for {country!r}; expected one of {COUNTRIES}")
    return frozenset(holidays.country_holidays(country, years=year))


def is_working_day(day: date, *, country: str) -> bool:
    """Neither a Saturday, a Sunday nor a public holiday of the country."""
    return day.weekday() < 5 and day not in _public_holidays(country, day.year)


def next_working_day(day: date, *, country: str) -> date:
    """The day itself if it is a working day, else the first working day after it."""
    while not is_working_day(day, country=country):
        day += timedelta(days=1)
    return day


def local_day(moment: datetime, *, zone: ZoneInfo) -> date:
    """The controller's calendar day of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("a moment must be aware of its time zone")
    return moment.astimezone(zone).date()


def end_of_day(day: date, *, zone: ZoneInfo) -> datetime:
    """The moment a day ends in the zone: midnight at the start of the next day."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def unmoved_last_day(start_day: date, period: Period) -> date:
    """The last day of a period in days, weeks or months that starts the day after `start_day`,
    before any move off a weekend or holiday."""
    if period.unit is Unit.DAYS:
        return start_day + timedelta(days=period.length)
    if period.unit is Unit.WEEKS:
        return start_day + timedelta(weeks=period.length)
    if period.unit is Unit.MONTHS:
        return add_months(start_day, period.length)
    raise ValueError("a period in hours has no last day")


def last_day(start_day: date, period: Period, *, country: str) -> date:
    """The last day of a period counted in days, weeks or months, moved to a working day."""
    return next_working_day(unmoved_last_day(start_day, period), country=country)


def period_end(start: datetime, period: Period, *, country: str, zone: ZoneInfo) -> datetime:
    """The moment a period that starts at `start` runs out: hours counted from the moment and
    never moved; days, weeks and months as 1182/71 counts them, in the controller's zone."""
    if period.unit is Unit.HOURS:
        return start + timedelta(hours=period.length)
    day = last_day(local_day(start, zone=zone), period, country=country)
    return end_of_day(day, zone=zone)


def subject_request_due(
    received: datetime, *, promise: Period, limit: Period, country: str, zone: ZoneInfo
) -> datetime:
    """A data-subject request's answer: the earlier of the company's promise (30 days) and the
    legal limit (one month), each counted as above."""
    return min(
        period_end(received, promise, country=country, zone=zone),
        period_end(received, limit, country=country, zone=zone),
    )


def extended_subject_request_due(
    received: datetime, *, limit: Period, extension: Period, country: str, zone: ZoneInfo
) -> datetime:
    """The answer's limit once extended (art. 12(3)): the earlier of the limit and the extension
    counted together from receipt (three months), and the extension counted from the first
    period's end (two months after one month). They differ only at month ends: received on
    31 January, 28 April against 30 April; the earlier is never late."""
    if limit.unit is not extension.unit or limit.unit is Unit.HOURS:
        raise ValueError("a limit and its extension are counted in the same unit of days, weeks or months")
    received_day = local_day(received, zone=zone)
    together = unmoved_last_day(received_day, Period(limit.length + extension.length, limit.unit))
    after_first = unmoved_last_day(unmoved_last_day(received_day, limit), extension)
    day = next_working_day(min(together, after_first), country=country)
    return end_of_day(day, zone=zone)


def whistleblowing_feedback_due(
    received: datetime,
    *,
    acknowledged: datetime | None,
    acknowledge_within: Period,
    feedback_within: Period,
    country: str,
    zone: ZoneInfo,
) -> datetime:
    """Feedback to a whistleblower (Directive 2019/1937 art. 9(1)(f)): `feedback_within` (3 months)
    from the acknowledgement, or, if none was sent, from the end of the period allowed for it
    (7 days); when the acknowledgement came late, the earlier of the two. The end of the period
    allowed is its last day before any move, so that the clock is never late."""
    allowed_end = unmoved_last_day(local_day(received, zone=zone), acknowledge_within)
    start_day = allowed_end
    if acknowledged is not None:
        start_day = min(local_day(acknowledged, zone=zone), allowed_end)
    return end_of_day(last_day(start_day, feedback_within, country=country), zone=zone)


def at_risk_from(starts: datetime, due: datetime, *, share_percent: int, max_hours: int) -> datetime:
    """The moment a clock becomes at risk: when the smaller of a share of its length and
    `max_hours` is left (a quarter and 3 days by default)."""
    left = min((due - starts) * share_percent / 100, timedelta(hours=max_hours))
    return due - max(left, timedelta(0))


class ClockState(Enum):
    OPEN = "open"
    AT_RISK = "at_risk"
    MET_ON_TIME = "met_on_time"
    MET_LATE = "met_late"
    BREACHED = "breached"


def clock_state(*, now: datetime, due: datetime, at_risk: datetime, met: datetime | None) -> ClockState:
    """Where a clock stands: met on time or late once met; otherwise open, at risk or breached."""
    if met is not None:
        return ClockState.MET_ON_TIME if met <= due else ClockState.MET_LATE
    if now >= due:
        return ClockState.BREACHED
    if now >= at_risk:
        return ClockState.AT_RISK
    return ClockState.OPEN
