"""Breach handling (issue 9, points 6 and 9): notify the supervisory authority or record why not,
within the 72-hour clock or with the reasons for the delay; notifications in phases; telling
the data subjects; the breach register, its filters and its CSV export; the views' doors."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from cases import selectors, services
from cases.models import (
    Authority,
    BreachDecision,
    BreachNotification,
    CaseEvent,
    CaseEventKind,
    CaseType,
    ClockKind,
    SubjectsInformed,
)
from tests.factories import CaseHandlerFactory, StaffFactory, submit

pytestmark = pytest.mark.django_db

# Monday 25 August 2025, 10:00 in Oslo: the breach clock is due on Thursday at 10:00.
RECEIVED = datetime(2025, 8, 25, 8, 0, tzinfo=UTC)
DUE = RECEIVED + timedelta(hours=72)


def url(name: str, **kwargs) -> str:
    with translation.override("en"):
        return reverse(name, kwargs=kwargs)


def breach_case(**overrides):
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit(case_type=CaseType.PRIVACY_DEVIATION, **overrides)
    return case


def breach_clock(case):
    return case.clocks.get(kind=ClockKind.BREACH_NOTIFICATION)


def refusals(raised) -> dict:
    return raised.value.message_dict


@pytest.fixture
def handler():
    return CaseHandlerFactory(teams=["privacy"])


def test_not_notifying_is_refused_without_reasons_and_with_them_meets_the_clock_on_time(handler):
    case = breach_case()
    with time_machine.travel(RECEIVED + timedelta(hours=5), tick=False):
        with pytest.raises(ValidationError) as raised:
            services.decide_breach(case=case, actor=handler, decision=BreachDecision.NOT_NOTIFY)
        assert "reasons_not_to_notify" in refusals(raised)
        assert breach_clock(case).met_at is None

        services.decide_breach(
            case=case,
            actor=handler,
            decision=BreachDecision.NOT_NOTIFY,
            reasons_not_to_notify="The laptop was encrypted and found unopened.",
        )
    clock = breach_clock(case)
    assert clock.met_at == RECEIVED + timedelta(hours=5) < clock.due_at
    assert clock.met_action == "decided_not_to_notify" and clock.met_by == handler
    case.breach.refresh_from_db()
    assert case.breach.decision == BreachDecision.NOT_NOTIFY
    assert case.breach.reasons_not_to_notify == "The laptop was encrypted and found unopened."
    event = case.events.get(kind=CaseEventKind.BREACH_DECISION)
    assert event.data == {"decision": "not_notify"}  # the decision, never the reasons' words
    case.refresh_from_db()
    assert case.next_due_at is None


def test_a_decision_needs_one_of_the_choices(handler):
    case = breach_case()
    with pytest.raises(ValidationError) as raised:
        services.decide_breach(case=case, actor=handler, decision="")
    assert "decision" in refusals(raised)


def test_a_notification_after_72_hours_needs_the_reasons_for_the_delay_and_the_clock_shows_it_met_late(
    handler,
):
    case = breach_case()
    notified = DUE + timedelta(hours=6)
    with time_machine.travel(DUE + timedelta(hours=8), tick=False):
        with pytest.raises(ValidationError) as raised:
            services.record_breach_notification(
                case=case, actor=handler, authority=Authority.NORWAY, notified_at=notified
            )
        assert "delay_reasons" in refusals(raised)
        assert not BreachNotification.objects.exists()

        services.record_breach_notification(
            case=case,
            actor=handler,
            authority=Authority.NORWAY,
            notified_at=notified,
            authority_reference="25/01234",
            summary="Payroll file sent to a wrong recipient.",
            delay_reasons="The extent was not known until the supplier answered.",
        )
    clock = breach_clock(case)
    assert clock.met_at == notified > clock.due_at
    assert clock.late_reasons == "The extent was not known until the supplier answered."
    assert clock.met_action == "notified_authority"
    breach = case.breach
    breach.refresh_from_db()
    assert breach.decision == BreachDecision.NOTIFY
    assert case.events.get(kind=CaseEventKind.CLOCK_MET).data["late"] is True
    assert case.events.get(kind=CaseEventKind.BREACH_NOTIFIED).data == {
        "authority": "NO",
        "phase": 1,
        "late": True,
    }


def test_a_notification_within_72_hours_needs_no_reasons_for_a_delay(handler):
    case = breach_case()
    with time_machine.travel(RECEIVED + timedelta(hours=30), tick=False):
        services.record_breach_notification(
            case=case, actor=handler, authority=Authority.SWEDEN, notified_at=RECEIVED + timedelta(hours=29)
        )
    clock = breach_clock(case)
    assert clock.met_at == RECEIVED + timedelta(hours=29) and clock.late_reasons == ""


def test_a_second_notification_is_kept_as_a_second_phase_and_leaves_the_clock_alone(handler):
    case = breach_case()
    first = RECEIVED + timedelta(hours=20)
    with time_machine.travel(RECEIVED + timedelta(days=10), tick=False):
        services.record_breach_notification(
            case=case,
            actor=handler,
            authority=Authority.NORWAY,
            notified_at=first,
            summary="What we know now.",
        )
        # Days after the 72 hours, and still no reasons for a delay: the facts follow in phases.
        services.record_breach_notification(
            case=case,
            actor=handler,
            authority=Authority.NORWAY,
            notified_at=RECEIVED + timedelta(days=9),
            summary="The number of people affected.",
        )
    phases = list(case.breach.notifications.values_list("summary", flat=True))
    assert phases == ["What we know now.", "The number of people affected."]
    clock = breach_clock(case)
    assert clock.met_at == first
    assert case.events.filter(kind=CaseEventKind.CLOCK_MET).count() == 1
    assert [event.data["phase"] for event in case.events.filter(kind=CaseEventKind.BREACH_NOTIFIED)] == [1, 2]


def test_a_notification_is_refused_in_the_future_before_awareness_or_to_an_unknown_authority(handler):
    case = breach_case()
    with time_machine.travel(RECEIVED + timedelta(hours=1), tick=False):
        for authority, notified_at, field in [
            (Authority.NORWAY, RECEIVED + timedelta(hours=2), "notified_at"),
            (Authority.NORWAY, RECEIVED - timedelta(minutes=1), "notified_at"),
            (Authority.NORWAY, None, "notified_at"),
            ("FI", RECEIVED, "authority"),
        ]:
            with pytest.raises(ValidationError) as raised:
                services.record_breach_notification(
                    case=case, actor=handler, authority=authority, notified_at=notified_at
                )
            assert field in refusals(raised), (authority, notified_at)
    assert not BreachNotification.objects.exists()


def test_notifying_after_a_decision_not_to_keeps_the_reasons_and_refuses_going_back(handler):
    case = breach_case()
    with time_machine.travel(RECEIVED + timedelta(hours=2), tick=False):
        services.decide_breach(
            case=case, actor=handler, decision=BreachDecision.NOT_NOTIFY, reasons_not_to_notify="Encrypted."
        )
    with time_machine.travel(RECEIVED + timedelta(hours=50), tick=False):
        services.record_breach_notification(
            case=case, actor=handler, authority=Authority.DENMARK, notified_at=RECEIVED + timedelta(hours=49)
        )
        with pytest.raises(ValidationError) as raised:
            services.decide_breach(
                case=case, actor=handler, decision=BreachDecision.NOT_NOTIFY, reasons_not_to_notify="No risk."
            )
    assert "decision" in refusals(raised)
    breach = case.breach
    breach.refresh_from_db()
    assert breach.decision == BreachDecision.NOTIFY and breach.reasons_not_to_notify == "Encrypted."
    assert breach_clock(case).met_action == "decided_not_to_notify"


def test_the_data_subjects_were_told_or_not_with_a_reason(handler):
    case = breach_case()
    with pytest.raises(ValidationError) as raised:
        services.record_subjects_informed(case=case, actor=handler, informed=False)
    assert "reason" in refusals(raised)

    services.record_subjects_informed(
        case=case, actor=handler, informed=False, reason="The data was encrypted (art. 34(3)(a))."
    )
    breach = case.breach
    breach.refresh_from_db()
    assert breach.subjects_informed == SubjectsInformed.NOT_INFORMED
    assert breach.subjects_not_informed_reason == "The data was encrypted (art. 34(3)(a))."

    services.record_subjects_informed(case=case, actor=handler, informed=True)
    breach.refresh_from_db()
    assert breach.subjects_informed == SubjectsInformed.INFORMED and breach.subjects_not_informed_reason == ""
    informed = case.events.filter(kind=CaseEventKind.SUBJECTS_INFORMED)
    assert [event.data for event in informed] == [{"informed": False}, {"informed": True}]


def test_the_facts_are_kept_and_the_history_names_only_what_changed(handler):
    case = breach_case()
    services.update_breach_facts(
        case=case,
        actor=handler,
        nature="  A payroll file was e-mailed to the wrong customer.  ",
        data_categories="Names, salaries",
        subjects_affected=120,
        effects="Colleagues' salaries known to outsiders.",
        remedial_action="The recipient confirmed deletion.",
    )
    breach = case.breach
    breach.refresh_from_db()
    assert breach.nature == "A payroll file was e-mailed to the wrong customer."
    assert breach.subjects_affected == 120
    event = case.events.get(kind=CaseEventKind.BREACH_DECISION)
    assert sorted(event.data["facts"]) == sorted(
        ["nature", "data_categories", "subjects_affected", "effects", "remedial_action"]
    )
    assert "payroll" not in str(event.data)
    with pytest.raises(ValidationError) as raised:
        services.update_breach_facts(
            case=case,
            actor=handler,
            nature="",
            data_categories="",
            subjects_affected=-1,
            effects="",
            remedial_action="",
        )
    assert "subjects_affected" in refusals(raised)


def test_a_case_without_a_breach_record_is_refused(handler):
    case, _code = submit(case_type=CaseType.GENERAL_INQUIRY)
    with pytest.raises(ValidationError):
        services.decide_breach(case=case, actor=handler, decision=BreachDecision.NOTIFY)
    with pytest.raises(ValidationError):
        services.record_subjects_informed(case=case, actor=handler, informed=True)
    assert not CaseEvent.objects.filter(case=case, kind=CaseEventKind.BREACH_DECISION).exists()


def test_only_a_handler_who_may_see_the_case_may_record_anything(handler):
    from django.core.exceptions import PermissionDenied

    case = breach_case()
    with pytest.raises(PermissionDenied):
        services.decide_breach(
            case=case, actor=CaseHandlerFactory(teams=["hse"]), decision=BreachDecision.NOTIFY
        )


# --- The register -----------------------------------------------------------------------------


def whistleblowing_breach():
    """A whistleblowing report that revealed a breach: it got the breach clock, and stays with
    the whistleblowing team."""
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit(case_type=CaseType.WHISTLEBLOWING)
    with time_machine.travel(RECEIVED + timedelta(hours=2), tick=False):
        services.add_clock(
            case=case,
            actor=CaseHandlerFactory(teams=["whistleblowing"]),
            kind=ClockKind.BREACH_NOTIFICATION,
            starts_at=RECEIVED + timedelta(hours=1),
        )
    return case


def references(breaches) -> set[str]:
    return {breach.case.reference for breach in breaches}


def test_the_register_lists_only_the_breaches_of_cases_the_user_may_see(handler):
    deviation = breach_case()
    whistleblowing = whistleblowing_breach()
    assert references(selectors.breach_register(user=handler)) == {deviation.reference}
    whistleblowing_handler = CaseHandlerFactory(teams=["whistleblowing"])
    assert references(selectors.breach_register(user=whistleblowing_handler)) == {whistleblowing.reference}
    assert not selectors.breach_register(user=StaffFactory()).exists()


def test_the_register_filters_by_decision_notification_subjects_year_and_words(handler):
    pending = breach_case()
    not_notified = breach_case()
    notified = breach_case()
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        next_year = submit(case_type=CaseType.PRIVACY_DEVIATION)[0]
    with time_machine.travel(RECEIVED + timedelta(hours=3), tick=False):
        services.decide_breach(
            case=not_notified,
            actor=handler,
            decision=BreachDecision.NOT_NOTIFY,
            reasons_not_to_notify="Encrypted.",
        )
        services.record_breach_notification(
            case=notified,
            actor=handler,
            authority=Authority.NORWAY,
            notified_at=RECEIVED + timedelta(hours=2),
        )
        services.record_subjects_informed(case=notified, actor=handler, informed=True)
        services.update_breach_facts(
            case=notified,
            actor=handler,
            nature="A USB stick with payroll data was lost.",
            data_categories="",
            subjects_affected=None,
            effects="",
            remedial_action="",
        )

    def found(**filters):
        return references(selectors.breach_register(user=handler, **filters))

    everyone = {pending.reference, not_notified.reference, notified.reference, next_year.reference}
    assert found() == everyone
    assert found(decision="pending") == {pending.reference, next_year.reference}
    assert found(decision=BreachDecision.NOT_NOTIFY) == {not_notified.reference}
    assert found(notified="yes") == {notified.reference}
    assert found(notified="no") == everyone - {notified.reference}
    assert found(subjects_informed=SubjectsInformed.INFORMED) == {notified.reference}
    assert found(subjects_informed="pending") == everyone - {notified.reference}
    assert found(year=2026) == {next_year.reference}
    assert found(text="usb stick") == {notified.reference}


def test_the_register_reads_its_rows_in_a_constant_number_of_queries(handler):
    def queries_for_all_rows() -> int:
        user = CaseHandlerFactory(teams=["privacy"])  # no permissions cached yet
        with CaptureQueriesContext(connection) as captured:
            for breach in selectors.breach_register(user=user):
                breach.case.reference, list(breach.notifications.all())
        return len(captured)

    case = breach_case()
    with time_machine.travel(RECEIVED + timedelta(hours=3), tick=False):
        services.record_breach_notification(
            case=case, actor=handler, authority=Authority.NORWAY, notified_at=RECEIVED + timedelta(hours=2)
        )
    one = queries_for_all_rows()
    for _number in range(4):
        other = breach_case()
        with time_machine.travel(RECEIVED + timedelta(hours=3), tick=False):
            services.record_breach_notification(
                case=other,
                actor=handler,
                authority=Authority.NORWAY,
                notified_at=RECEIVED + timedelta(hours=2),
            )
    assert queries_for_all_rows() == one


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_csv_export_has_the_filtered_rows_in_local_time_and_neutralises_formulas(client, handler):
    notified = breach_case()
    other = breach_case()
    whistleblowing_breach()
    with time_machine.travel(DUE + timedelta(hours=2), tick=False):
        services.update_breach_facts(
            case=notified,
            actor=handler,
            nature='=cmd|" /C calc"!A0',
            data_categories="+Names",
            subjects_affected=3,
            effects="-Worry",
            remedial_action="@Deleted",
        )
        services.record_breach_notification(
            case=notified,
            actor=handler,
            authority=Authority.NORWAY,
            notified_at=DUE + timedelta(hours=1),
            authority_reference="25/01234",
            delay_reasons="Waited for the supplier.",
        )
        services.record_breach_notification(
            case=notified, actor=handler, authority=Authority.NORWAY, notified_at=DUE + timedelta(hours=2)
        )
    client.force_login(handler)
    rows = csv_rows(client.get(url("staff:breaches_csv")))
    header, *data = rows
    assert len(header) == 14 and header[0] == "Reference"
    assert sorted(row[0] for row in data) == sorted([notified.reference, other.reference])

    row = next(row for row in data if row[0] == notified.reference)
    assert row[2] == "2025-08-25 10:00"  # Oslo time, not UTC
    assert row[3] == "Notify the supervisory authority"
    assert (
        row[5] == "Datatilsynet (Norway), 2025-08-28 11:00, 25/01234; Datatilsynet (Norway), 2025-08-28 12:00"
    )
    assert row[6] == "Waited for the supplier."
    assert row[7] == "3"
    assert row[8] == "'+Names"
    assert row[9] == '\'=cmd|" /C calc"!A0'
    assert row[10] == "'-Worry" and row[11] == "'@Deleted"

    filtered = csv_rows(client.get(url("staff:breaches_csv"), {"notified": "no"}))
    assert [row[0] for row in filtered[1:]] == [other.reference]


# --- The views ---------------------------------------------------------------------------------

ACTIONS = [
    "staff:breach_facts",
    "staff:breach_decision",
    "staff:breach_notification",
    "staff:breach_subjects",
]


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login(client):
    case = breach_case()
    for name, kwargs in [("staff:breaches", {}), ("staff:breaches_csv", {})] + [
        (action, {"case_id": case.pk}) for action in ACTIONS
    ]:
        response = client.post(url(name, **kwargs), {"decision": "notify"})
        assert response.status_code == 302 and "/login/" in response["Location"], name
    assert not CaseEvent.objects.filter(kind=CaseEventKind.BREACH_DECISION).exists()


def test_staff_of_another_team_get_403_for_every_breach_action(client):
    case = breach_case()
    client.force_login(CaseHandlerFactory(teams=["security"]))
    for action in ACTIONS:
        for method in ("get", "post"):
            response = getattr(client, method)(
                url(action, case_id=case.pk),
                {"decision": "not_notify", "reasons_not_to_notify": "x", "informed": "informed"},
            )
            assert response.status_code == 403, (action, method)
    assert case.breach.decision == ""
    response = client.get(url("staff:breaches"))
    assert case.reference not in response.content.decode()


def test_the_actions_take_posts_only(client, handler):
    case = breach_case()
    client.force_login(handler)
    assert client.get(url("staff:breach_decision", case_id=case.pk)).status_code == 405


def test_a_valid_decision_goes_back_to_the_case_page_with_a_message(client, handler):
    case = breach_case()
    client.force_login(handler)
    with time_machine.travel(RECEIVED + timedelta(hours=4), tick=False):
        response = client.post(
            url("staff:breach_decision", case_id=case.pk),
            {"decision": "not_notify", "reasons_not_to_notify": "Encrypted and recovered."},
        )
    assert response.status_code == 302 and response["Location"] == url("staff:case", case_id=case.pk)
    assert breach_clock(case).met_at == RECEIVED + timedelta(hours=4)
    messages = [str(message) for message in response.wsgi_request._messages]
    assert messages == ["The decision was recorded."]


def test_an_invalid_post_shows_the_errors_and_keeps_what_was_typed(client, handler):
    case = breach_case()
    client.force_login(handler)
    with time_machine.travel(DUE + timedelta(hours=3), tick=False):
        notification = client.post(
            url("staff:breach_notification", case_id=case.pk),
            {
                "authority": "SE",
                "notified_at": "2025-08-28T12:00",  # Oslo time: 10:00 UTC, after the 72 hours
                "authority_reference": "IMY-2025-777",
                "summary": "Names and addresses of 40 customers",
            },
        )
        subjects = client.post(
            url("staff:breach_subjects", case_id=case.pk), {"informed": "not_informed", "reason": ""}
        )
        facts = client.post(
            url("staff:breach_facts", case_id=case.pk),
            {"nature": "Typed and kept", "subjects_affected": "many"},
        )
    page = notification.content.decode()
    assert notification.status_code == 400
    assert "give the reasons for the delay" in page
    assert "IMY-2025-777" in page and "Names and addresses of 40 customers" in page
    assert 'value="2025-08-28T12:00"' in page
    assert not BreachNotification.objects.exists()
    assert subjects.status_code == 400
    assert "Give the reason the data subjects were not told." in subjects.content.decode()
    assert facts.status_code == 400 and "Typed and kept" in facts.content.decode()


def test_the_actions_refuse_a_case_without_a_breach_record_on_the_form(client, handler):
    case, _code = submit(case_type=CaseType.GENERAL_INQUIRY)
    client.force_login(handler)
    response = client.post(url("staff:breach_decision", case_id=case.pk), {"decision": "notify"})
    assert response.status_code == 400
    assert "no breach record" in response.content.decode()


def test_the_register_page_renders_with_filters_and_pages(client, handler):
    case = breach_case()
    with time_machine.travel(RECEIVED + timedelta(hours=3), tick=False):
        services.record_breach_notification(
            case=case,
            actor=handler,
            authority=Authority.NORWAY,
            notified_at=RECEIVED + timedelta(hours=2),
            authority_reference="25/04321",
        )
    client.force_login(handler)
    response = client.get(url("staff:breaches"))
    page = response.content.decode()
    assert response.status_code == 200
    assert case.reference in page and "25/04321" in page
    assert url("staff:breaches_csv") in page
    response = client.get(url("staff:breaches"), {"notified": "no", "year": "not a year"})
    assert response.status_code == 200 and case.reference not in response.content.decode()


def test_the_panel_renders_the_state_and_the_four_forms(rf, handler):
    from django.template.loader import render_to_string

    from cases.breach_views import breach_context

    case = breach_case()
    with time_machine.travel(RECEIVED + timedelta(hours=3), tick=False):
        services.record_breach_notification(
            case=case,
            actor=handler,
            authority=Authority.DENMARK,
            notified_at=RECEIVED + timedelta(hours=2),
            authority_reference="DK-1",
        )
    request = rf.get("/")
    request.user = handler
    context = breach_context(case=case)
    assert set(context["breach_forms"]) == {"facts", "decision", "notification", "subjects"}
    with translation.override("en"):
        html = render_to_string("cases/staff/_breach_panel.html", context, request=request)
    assert "Datatilsynet (Denmark)" in html and "DK-1" in html
    assert html.count("csrfmiddlewaretoken") == 4
    for action in ACTIONS:
        assert url(action, case_id=case.pk) in html
