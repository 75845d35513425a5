"""The legal clocks' arithmetic (cases/deadlines.py): every worked example of DESIGN.md §1, the
edges of 1182/71 counting, and properties checked by hypothesis."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases import deadlines
from cases.deadlines import Period, Unit

OSLO = ZoneInfo("Europe/Oslo")
STOCKHOLM = ZoneInfo("Europe/Stockholm")
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
THIRTY_DAYS = Period(30, Unit.DAYS)
ONE_MONTH = Period(1, Unit.MONTHS)
TWO_MONTHS = Period(2, Unit.MONTHS)


def at_noon(day: date, zone: ZoneInfo = OSLO) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=zone)


def due_day(moment: datetime, zone: ZoneInfo = OSLO) -> date:
    """The last day of a deadline given as the moment it ends (midnight after that day)."""
    local = moment.astimezone(zone)
    assert (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)
    return local.date() - timedelta(days=1)


# DESIGN.md §1, "Worked examples (data-subject month rule, Norway, no extension)":
# received, one month ends, 30 days end, due.
WORKED_EXAMPLES = [
    (date(2025, 8, 25), date(2025, 9, 25), date(2025, 9, 24), date(2025, 9, 24)),
    (date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 3), date(2025, 2, 28)),
    (date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 1), date(2024, 2, 29)),
    (date(2026, 4, 16), date(2026, 5, 18), date(2026, 5, 18), date(2026, 5, 18)),
    (date(2026, 4, 1), date(2026, 5, 4), date(2026, 5, 4), date(2026, 5, 4)),
    (date(2025, 11, 25), date(2025, 12, 29), date(2025, 12, 29), date(2025, 12, 29)),
]


@pytest.mark.parametrize(("received", "month_ends", "thirty_days_end", "due"), WORKED_EXAMPLES)
def test_every_worked_example_of_the_design(received, month_ends, thirty_days_end, due):
    moment = at_noon(received)
    assert due_day(deadlines.period_end(moment, ONE_MONTH, country="NO", zone=OSLO)) == month_ends
    assert due_day(deadlines.period_end(moment, THIRTY_DAYS, country="NO", zone=OSLO)) == thirty_days_end
    assert (
        due_day(
            deadlines.subject_request_due(
                moment, promise=THIRTY_DAYS, limit=ONE_MONTH, country="NO", zone=OSLO
            )
        )
        == due
    )


def test_a_deadline_ends_at_midnight_after_its_last_day_in_the_controller_s_zone():
    received = datetime(2025, 8, 25, 9, 30, tzinfo=OSLO)
    end = deadlines.period_end(received, THIRTY_DAYS, country="NO", zone=OSLO)
    assert end == datetime(2025, 9, 25, 0, 0, tzinfo=OSLO)


def test_days_are_counted_in_the_controller_s_zone_not_in_utc():
    # 23:30 UTC on 31 January is already 1 February in Oslo: the period starts on 2 February.
    received = datetime(2025, 1, 31, 23, 30, tzinfo=ZoneInfo("UTC"))
    assert due_day(deadlines.period_end(received, ONE_MONTH, country="NO", zone=OSLO)) == date(2025, 3, 3)


def test_a_month_ends_on_the_last_day_of_a_shorter_month():
    assert deadlines.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert deadlines.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert deadlines.add_months(date(2025, 3, 31), 1) == date(2025, 4, 30)
    assert deadlines.add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert deadlines.add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)


def test_the_extension_is_the_earlier_of_its_two_readings():
    received = at_noon(date(2025, 1, 31))
    due = deadlines.extended_subject_request_due(
        received, limit=ONE_MONTH, extension=TWO_MONTHS, country="NO", zone=OSLO
    )
    assert due_day(due) == date(2025, 4, 28)  # not 30 April: two months after 28 February
    ordinary = at_noon(date(2025, 8, 25))
    assert due_day(
        deadlines.extended_subject_request_due(
            ordinary, limit=ONE_MONTH, extension=TWO_MONTHS, country="NO", zone=OSLO
        )
    ) == date(2025, 11, 25)


def test_hours_run_through_weekends_and_holidays_and_are_never_moved():
    aware = datetime(2025, 12, 23, 15, 0, tzinfo=OSLO)  # a Tuesday before Christmas
    end = deadlines.period_end(aware, Period(72, Unit.HOURS), country="NO", zone=OSLO)
    assert end == datetime(2025, 12, 26, 15, 0, tzinfo=OSLO)  # Boxing Day, not moved
    # Across the change to summer time the 72 hours are real hours.
    spring = datetime(2026, 3, 28, 12, 0, tzinfo=OSLO)
    assert deadlines.period_end(
        spring, Period(72, Unit.HOURS), country="NO", zone=OSLO
    ) - spring == timedelta(hours=72)


@pytest.mark.parametrize(
    ("country", "zone", "received", "due"),
    [
        # Sweden's National Day, 6 June 2026, a Saturday: the Monday.
        ("SE", STOCKHOLM, date(2026, 5, 6), date(2026, 6, 8)),
        # Midsummer Eve (Friday 19 June 2026) is not in the default category: not moved to Monday.
        ("SE", STOCKHOLM, date(2026, 5, 19), date(2026, 6, 19)),
        # Denmark's Pentecost Monday, 25 May 2026.
        ("DK", COPENHAGEN, date(2026, 4, 25), date(2026, 5, 26)),
        # Norway's Constitution Day, 17 May 2026 (a Sunday), after a Saturday.
        ("NO", OSLO, date(2026, 4, 16), date(2026, 5, 18)),
    ],
)
def test_each_country_s_public_holidays_move_a_last_day(country, zone, received, due):
    moment = at_noon(received, zone)
    assert due_day(deadlines.period_end(moment, ONE_MONTH, country=country, zone=zone), zone) == due


def test_christmas_eve_and_new_year_s_eve_in_sweden_keep_the_earlier_deadline():
    moment = at_noon(date(2026, 11, 24), STOCKHOLM)  # one month: Thursday 24 December
    assert due_day(deadlines.period_end(moment, ONE_MONTH, country="SE", zone=STOCKHOLM), STOCKHOLM) == date(
        2026, 12, 24
    )


def test_an_unknown_country_is_refused():
    with pytest.raises(ValueError):
        deadlines.is_working_day(date(2026, 1, 2), country="FI")


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError):
        deadlines.period_end(datetime(2026, 1, 2, 12), THIRTY_DAYS, country="NO", zone=OSLO)


SEVEN_DAYS = Period(7, Unit.DAYS)
THREE_MONTHS = Period(3, Unit.MONTHS)


def feedback_day(received: date, acknowledged: date | None) -> date:
    return due_day(
        deadlines.whistleblowing_feedback_due(
            at_noon(received),
            acknowledged=at_noon(acknowledged) if acknowledged else None,
            acknowledge_within=SEVEN_DAYS,
            feedback_within=THREE_MONTHS,
            country="NO",
            zone=OSLO,
        )
    )


def test_whistleblowing_feedback_counts_from_the_acknowledgement():
    assert feedback_day(date(2026, 3, 2), date(2026, 3, 4)) == date(2026, 6, 4)


def test_without_an_acknowledgement_feedback_counts_from_the_end_of_the_seven_days():
    assert feedback_day(date(2026, 3, 2), None) == date(2026, 6, 9)  # 9 March + 3 months


def test_a_late_acknowledgement_does_not_push_feedback_later():
    assert feedback_day(date(2026, 3, 2), date(2026, 3, 20)) == feedback_day(date(2026, 3, 2), None)


# Properties, over six years of receipts in each country.
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31))
countries = st.sampled_from([("NO", OSLO), ("SE", STOCKHOLM), ("DK", COPENHAGEN)])
periods = st.sampled_from(
    [
        Period(7, Unit.DAYS),
        THIRTY_DAYS,
        Period(2, Unit.WEEKS),
        ONE_MONTH,
        THREE_MONTHS,
        Period(12, Unit.MONTHS),
    ]
)


@given(received=days, country_zone=countries, period=periods)
def test_a_day_counted_clock_ends_on_a_working_day_never_before_its_unmoved_last_day(
    received, country_zone, period
):
    country, zone = country_zone
    last = due_day(deadlines.period_end(at_noon(received, zone), period, country=country, zone=zone), zone)
    unmoved = deadlines.unmoved_last_day(received, period)
    assert deadlines.is_working_day(last, country=country)
    assert unmoved <= last <= unmoved + timedelta(days=6)  # the longest run of days off is short
    assert all(
        not deadlines.is_working_day(unmoved + timedelta(days=n), country=country)
        for n in range((last - unmoved).days)
    )


@given(first=days, second=days, country_zone=countries, period=periods)
def test_a_later_start_never_gives_an_earlier_deadline(first, second, country_zone, period):
    country, zone = country_zone
    earlier, later = sorted([first, second])
    assert deadlines.period_end(
        at_noon(earlier, zone), period, country=country, zone=zone
    ) <= deadlines.period_end(at_noon(later, zone), period, country=country, zone=zone)


@given(received=days, country_zone=countries)
def test_a_data_subject_answer_is_due_by_the_earlier_reading_and_an_extension_never_shortens_it(
    received, country_zone
):
    country, zone = country_zone
    moment = at_noon(received, zone)
    due = deadlines.subject_request_due(
        moment, promise=THIRTY_DAYS, limit=ONE_MONTH, country=country, zone=zone
    )
    assert due <= deadlines.period_end(moment, ONE_MONTH, country=country, zone=zone)
    assert due <= deadlines.period_end(moment, THIRTY_DAYS, country=country, zone=zone)
    extended = deadlines.extended_subject_request_due(
        moment, limit=ONE_MONTH, extension=TWO_MONTHS, country=country, zone=zone
    )
    assert deadlines.period_end(moment, ONE_MONTH, country=country, zone=zone) < extended
    assert extended <= deadlines.period_end(moment, THREE_MONTHS, country=country, zone=zone)


@given(received=days, acknowledged_after=st.integers(min_value=0, max_value=30))
def test_whistleblowing_feedback_is_never_later_than_without_an_acknowledgement(received, acknowledged_after):
    assert feedback_day(received, received + timedelta(days=acknowledged_after)) <= feedback_day(
        received, None
    )
