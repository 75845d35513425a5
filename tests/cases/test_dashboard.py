"""The staff dashboard (issue 10, points 1–3): every figure from cases with known clocks, team
visibility, periods, the CSV, bad input, and a number of queries that does not grow with the data."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import dashboard, report_periods, services
from cases.models import CaseOutcome, CaseStatus, CaseType
from cases.report_periods import PeriodKind, ReportPeriod
from tests.factories import CaseHandlerFactory, submit, submit_subject_request

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")
# March 2026 in Oslo: from 1 March 00:00 (UTC+1) to 1 April 00:00 (UTC+2, summer time since 29 March).
MARCH_START = datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
MARCH_END = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DASHBOARD = "/en/staff/dashboard/"
EXPORT = "/en/staff/dashboard/export.csv"


@pytest.fixture(autouse=True)
def password_login_is_enough(settings):
    settings.TRUSTCENTER_REQUIRE_2FA = False
    settings.TRUSTCENTER_STAFF_IDLE_SECONDS = 365 * 24 * 3600


def at(moment: datetime, action, **arguments):
    with time_machine.travel(moment, tick=False):
        return action(**arguments)


def received(moment: datetime, **answers):
    return at(moment, submit, **answers)[0]


@pytest.fixture
def handlers():
    return {
        "privacy": CaseHandlerFactory(teams=["privacy"]),
        "whistleblowing": CaseHandlerFactory(teams=["whistleblowing"]),
    }


@pytest.fixture
def march(handlers):
    """Cases with known clocks, seen on Tuesday 10 March 2026 at 12:00 UTC:

    - three general inquiries received Monday 2 February, each due by the end of Wednesday
      4 March (30 days): one answered on 3 March (on time, after 29 days and 1 hour), one on
      6 March (late, after 32 days), one never (breached);
    - two data-subject requests received in March (access on 2 March, still running, due in
      April; erasure on 3 March, closed as answered two days later);
    - two breaches: one received 2 March (72 hours, breached on 5 March), one received 8 March
      at midnight (due 11 March, at risk since 10 March 06:00);
    - a whistleblowing report received 2 March (acknowledgement due 9 March, breached) and an
      HSE report: neither is the privacy team's.
    """
    privacy = handlers["privacy"]
    february = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
    on_time, late, never = (received(february) for _index in range(3))
    at(
        datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
        services.reply_to_reporter,
        case=on_time,
        actor=privacy,
        body="Six months.",
        is_answer=True,
    )
    at(
        datetime(2026, 3, 6, 9, 0, tzinfo=UTC),
        services.reply_to_reporter,
        case=late,
        actor=privacy,
        body="Six months.",
        is_answer=True,
    )
    access = at(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), submit_subject_request)[0]
    erasure = at(datetime(2026, 3, 3, 9, 0, tzinfo=UTC), submit_subject_request, subject_right="erasure")[0]
    at(
        datetime(2026, 3, 5, 9, 0, tzinfo=UTC),
        services.change_status,
        case=erasure,
        actor=privacy,
        status=CaseStatus.CLOSED,
        outcome=CaseOutcome.ANSWERED,
    )
    breached = received(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), case_type=CaseType.PRIVACY_DEVIATION)
    at_risk = received(datetime(2026, 3, 8, 0, 0, tzinfo=UTC), case_type=CaseType.PRIVACY_DEVIATION)
    whistleblowing = received(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), case_type=CaseType.WHISTLEBLOWING)
    received(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), case_type=CaseType.HSE)
    return locals()


def by_type(figures) -> dict[str, dashboard.TypeFigures]:
    return {row.case_type: row for row in figures.by_type}


def test_every_figure_of_the_privacy_team_in_march(handlers, march):
    figures = dashboard.figures(user=handlers["privacy"], start=MARCH_START, end=MARCH_END, now=NOW)
    rows = by_type(figures)
    assert list(rows) == [
        CaseType.SUBJECT_REQUEST,
        CaseType.PRIVACY_DEVIATION,
        CaseType.COMPLAINT,
        CaseType.GENERAL_INQUIRY,
    ]
    inquiries = rows[CaseType.GENERAL_INQUIRY]
    assert (inquiries.received, inquiries.closed) == (0, 0)
    assert (inquiries.met_on_time, inquiries.met_late, inquiries.breached) == (1, 1, 1)
    assert inquiries.answers == 2
    fast, slow = timedelta(days=29, hours=1), timedelta(days=32)
    assert inquiries.median == (fast + slow) / 2
    assert inquiries.p90 == fast + (slow - fast) * 0.9
    assert inquiries.open_states == {"breached": 1, "at_risk": 0, "open": 0, "none": 2}

    requests = rows[CaseType.SUBJECT_REQUEST]
    assert (requests.received, requests.closed) == (2, 1)
    assert (requests.met_on_time, requests.met_late, requests.breached) == (0, 0, 0)  # due in April
    assert (requests.answers, requests.median, requests.p90) == (1, timedelta(days=2), timedelta(days=2))
    assert requests.open_states == {"breached": 0, "at_risk": 0, "open": 1, "none": 0}

    breaches = rows[CaseType.PRIVACY_DEVIATION]
    assert (breaches.received, breaches.closed) == (2, 0)
    # The second breach's clock is due on 11 March and still runs: in none of the three.
    assert (breaches.met_on_time, breaches.met_late, breaches.breached) == (0, 0, 1)
    assert (breaches.answers, breaches.median, breaches.p90) == (0, None, None)
    assert breaches.open_states == {"breached": 1, "at_risk": 1, "open": 0, "none": 0}

    # No complaint at all: every one of its figures is a zero (or no time).
    assert rows[CaseType.COMPLAINT] == dashboard.TypeFigures(case_type=CaseType.COMPLAINT)

    assert figures.rights == {
        "access": 1,
        "rectification": 0,
        "erasure": 1,
        "restriction": 0,
        "portability": 0,
        "objection": 0,
        "withdraw_consent": 0,
    }
    assert figures.open_totals == {"breached": 2, "at_risk": 1, "open": 1, "none": 2}


def test_whistleblowing_is_counted_for_its_team_alone(client, handlers, march):
    figures = dashboard.figures(user=handlers["whistleblowing"], start=MARCH_START, end=MARCH_END, now=NOW)
    (row,) = figures.by_type
    assert row == dashboard.TypeFigures(
        case_type=CaseType.WHISTLEBLOWING,
        received=1,
        breached=1,
        open_states={"breached": 1, "at_risk": 0, "open": 0, "none": 0},
    )
    assert figures.rights is None

    client.force_login(handlers["privacy"])
    with time_machine.travel(NOW, tick=False):
        page = client.get(DASHBOARD, {"period": "month", "day": "2026-03-10"}).content.decode()
        export = client.get(EXPORT, {"period": "month", "day": "2026-03-10"}).content.decode()
        someone_elses = client.get(DASHBOARD, {"team": "whistleblowing"})
    for shown in (page, export):
        assert "Whistleblowing" not in shown and "Health, safety" not in shown
    assert someone_elses.status_code == 400
    assert "Select a valid choice" in someone_elses.content.decode()


def test_the_api_gives_the_same_figures(client, handlers, march):
    client.force_login(handlers["privacy"])
    with time_machine.travel(NOW, tick=False):
        response = client.get("/api/v1/dashboard/", {"period": "month", "day": "2026-03-10"})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["first_day"], answer["last_day"], answer["team"]) == ("2026-03-01", "2026-03-31", "")
    inquiries = next(row for row in answer["by_type"] if row["case_type"] == CaseType.GENERAL_INQUIRY)
    assert inquiries == {
        "case_type": CaseType.GENERAL_INQUIRY,
        "received": 0,
        "closed": 0,
        "met_on_time": 1,
        "met_late": 1,
        "breached": 1,
        "answers": 2,
        "median_days": 30.5,
        "p90_days": 31.7,
        "open_states": {"breached": 1, "at_risk": 0, "open": 0, "none": 2},
    }
    assert [row["case_type"] for row in answer["by_type"]] == [
        CaseType.SUBJECT_REQUEST,
        CaseType.PRIVACY_DEVIATION,
        CaseType.COMPLAINT,
        CaseType.GENERAL_INQUIRY,
    ]
    assert answer["open_totals"] == {"breached": 2, "at_risk": 1, "open": 1, "none": 2}
    assert (answer["rights"]["access"], answer["rights"]["erasure"]) == (1, 1)
    assert "whistleblowing" not in response.content.decode()


def test_an_excluded_handler_s_cases_are_not_counted(handlers, march):
    lead = CaseHandlerFactory(teams=["privacy"])
    services.add_to_teams(user=lead, team_slugs=["privacy"], is_lead=True)
    services.exclude_handler(
        case=march["never"], actor=lead, handler=handlers["privacy"], reason="A relative"
    )
    figures = dashboard.figures(user=handlers["privacy"], start=MARCH_START, end=MARCH_END, now=NOW)
    inquiries = by_type(figures)[CaseType.GENERAL_INQUIRY]
    assert (inquiries.met_on_time, inquiries.met_late, inquiries.breached) == (1, 1, 0)


def test_the_team_filter_narrows_to_one_of_one_s_teams(handlers, march):
    both = CaseHandlerFactory(teams=["privacy", "whistleblowing"])
    everything = dashboard.figures(user=both, start=MARCH_START, end=MARCH_END, now=NOW)
    only_whistleblowing = dashboard.figures(
        user=both, start=MARCH_START, end=MARCH_END, now=NOW, team="whistleblowing"
    )
    assert CaseType.WHISTLEBLOWING in by_type(everything) and CaseType.GENERAL_INQUIRY in by_type(everything)
    assert list(by_type(only_whistleblowing)) == [CaseType.WHISTLEBLOWING]
    assert (
        dashboard.figures(
            user=handlers["privacy"], start=MARCH_START, end=MARCH_END, now=NOW, team="hse"
        ).by_type
        == []
    )


def test_the_page_shows_every_table_with_its_numbers(client, handlers, march):
    client.force_login(handlers["privacy"])
    with time_machine.travel(NOW, tick=False):
        response = client.get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "From 1 March 2026 to 31 March 2026" in html
    for key in ("cases", "clocks", "answer-times", "open", "rights"):
        assert f'id="table-{key}"' in html
    for key in ("cases", "clocks", "open", "rights"):
        assert f'<canvas id="chart-{key}" role="img"' in html
    assert '<script id="dashboard-charts" type="application/json">' in html
    assert (
        '<th scope="row">General question</th><td class="text-end">1</td><td class="text-end">1</td><td class="text-end">1</td>'
        in html.replace("\n", "").replace("              ", "")
    )
    assert "30.5" in html and "31.7" in html  # median and 90th percentile, in days
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_csv_holds_the_same_figures_formula_safe(client, handlers, march):
    client.force_login(handlers["privacy"])
    with time_machine.travel(NOW, tick=False):
        response = client.get(
            EXPORT, {"period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-31"}
        )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="dashboard-2026-03-01-2026-03-31.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
    assert rows[0] == ["Period", "2026-03-01", "2026-03-31"]
    assert rows[1] == ["Team", "All of mine"]
    figures = {(table, row, column): value for table, row, column, value in rows[3:]}
    clocks = "Deadlines due in the period"
    assert figures[(clocks, "General question", "Met on time")] == "1"
    assert figures[(clocks, "General question", "Met late")] == "1"
    assert figures[(clocks, "General question", "Breached")] == "1"
    assert figures[(clocks, "Personal-data breach or privacy deviation", "Breached")] == "1"
    answers = "Time from receipt to the answer, in days, for answers given in the period"
    assert figures[(answers, "General question", "Median")] == "30.5"
    assert figures[(answers, "General question", "90th percentile")] == "31.7"
    assert figures[(answers, "Complaint about how personal data is processed", "Median")] == ""
    rights = "Data-subject requests received in the period, by right"
    assert figures[(rights, "Access to my data (GDPR art. 15)", "Requests")] == "1"
    assert figures[(rights, "Erasure of my data (art. 17)", "Requests")] == "1"
    opened = "Open cases now, by the worst of their running deadlines"
    assert figures[(opened, "Personal-data breach or privacy deviation", "At risk")] == "1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize(
    "query",
    [
        {"period": "week"},
        {"period": "custom"},
        {"period": "custom", "date_from": "2026-03-31", "date_to": "2026-03-01"},
        {"period": "custom", "date_from": "2000-01-01", "date_to": "2026-03-01"},
        {"period": "month", "day": "31 Feb"},
        {"team": "nobody"},
    ],
)
def test_bad_input_is_refused_with_its_errors(client, handlers, query):
    client.force_login(handlers["privacy"])
    page = client.get(DASHBOARD, query)
    assert page.status_code == 400
    assert "invalid-feedback" in page.content.decode()
    assert client.get(EXPORT, query).status_code == 400


def test_periods_are_whole_days_in_the_controller_s_zone():
    assert report_periods.month_of(date(2026, 2, 14)) == ReportPeriod(
        PeriodKind.MONTH, date(2026, 2, 1), date(2026, 2, 28)
    )
    assert report_periods.month_of(date(2024, 2, 29)).last_day == date(2024, 2, 29)
    assert report_periods.month_of(date(2026, 12, 31)).last_day == date(2026, 12, 31)
    assert report_periods.quarter_of(date(2026, 5, 20)) == ReportPeriod(
        PeriodKind.QUARTER, date(2026, 4, 1), date(2026, 6, 30)
    )
    assert report_periods.quarter_of(date(2026, 11, 1)).last_day == date(2026, 12, 31)
    assert report_periods.year_of(date(2026, 7, 1)) == ReportPeriod(
        PeriodKind.YEAR, date(2026, 1, 1), date(2026, 12, 31)
    )
    assert report_periods.month_of(date(2026, 3, 10)).bounds(zone=OSLO) == (MARCH_START, MARCH_END)
    assert report_periods.custom_range(date(2026, 3, 5), date(2026, 3, 5)).bounds(zone=OSLO) == (
        datetime(2026, 3, 4, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 5, 23, 0, tzinfo=UTC),
    )
    with pytest.raises(ValueError):
        report_periods.custom_range(date(2026, 3, 5), date(2026, 3, 4))
    with pytest.raises(ValueError):
        report_periods.period_containing(PeriodKind.CUSTOM, date(2026, 3, 5))
    # Periods lie within the days whose bounds a time zone can hold (the forms refuse the others).
    assert report_periods.year_of(report_periods.LATEST_DAY).bounds(zone=OSLO)[1].year == 9999
    for day in (date(9999, 12, 31), date(1, 1, 1), date(1999, 12, 31)):
        with pytest.raises(ValueError):
            report_periods.year_of(day)


def test_percentiles_interpolate_as_postgresql_does():
    days = [timedelta(days=n) for n in (1, 2, 3, 4, 10)]
    assert report_periods.percentile_cont(days, 0.5) == timedelta(days=3)
    assert report_periods.percentile_cont(days, 0.9) == timedelta(days=4 + 0.6 * 6)
    assert report_periods.percentile_cont(days[:1], 0.9) == timedelta(days=1)
    assert report_periods.percentile_cont([], 0.5) is None


def test_a_deadline_on_the_period_s_last_day_is_in_the_period(handlers):
    # Received Sunday 1 March 2026: 30 days end on Tuesday 31 March, at midnight after it.
    inquiry = received(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    assert inquiry.clocks.get().due_at == MARCH_END
    after = MARCH_END + timedelta(hours=1)
    march_figures = dashboard.figures(user=handlers["privacy"], start=MARCH_START, end=MARCH_END, now=after)
    april_start, april_end = report_periods.month_of(date(2026, 4, 1)).bounds(zone=OSLO)
    april_figures = dashboard.figures(user=handlers["privacy"], start=april_start, end=april_end, now=after)
    assert by_type(march_figures)[CaseType.GENERAL_INQUIRY].breached == 1
    assert by_type(april_figures)[CaseType.GENERAL_INQUIRY].breached == 0


def cases_in_march(count: int, actor) -> None:
    for index in range(count):
        case_type = (CaseType.GENERAL_INQUIRY, CaseType.SUBJECT_REQUEST, CaseType.PRIVACY_DEVIATION)[
            index % 3
        ]
        moment = datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(hours=index)
        if case_type == CaseType.SUBJECT_REQUEST:
            case = at(moment, submit_subject_request)[0]
        else:
            case = received(moment, case_type=case_type)
        if index % 2:
            at(
                moment + timedelta(days=1),
                services.reply_to_reporter,
                case=case,
                actor=actor,
                body="Done.",
                is_answer=True,
            )


def test_the_number_of_queries_does_not_grow_with_the_cases(client, handlers):
    privacy = handlers["privacy"]
    client.force_login(privacy)
    counts = []
    for count in (3, 27):
        cases_in_march(count, privacy)
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
            assert client.get(DASHBOARD).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with CaptureQueriesContext(connection) as figures_queries:
        dashboard.figures(user=privacy, start=MARCH_START, end=MARCH_END, now=NOW)
    assert len(figures_queries) == 6
