"""Legal clocks on cases (issue 9, point 6): started with the case from its type's policy, met by
the staff action that meets each, states, reclassification, a clock added by hand, extension."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from cases import services
from cases.deadlines import ClockState, clock_state
from cases.models import CaseClock, CaseEvent, CaseEventKind, CaseType, ClockKind, ClockPolicy
from tests.factories import CaseHandlerFactory, submit, submit_subject_request

pytestmark = pytest.mark.django_db

# Monday 25 August 2025, 10:00 in Oslo: DESIGN.md's first worked example.
RECEIVED = datetime(2025, 8, 25, 8, 0, tzinfo=UTC)


def kinds(case):
    return sorted(case.clocks.filter(dropped_at__isnull=True).values_list("kind", flat=True))


def state(clock, now):
    return clock_state(now=now, due=clock.due_at, at_risk=clock.at_risk_at, met=clock.met_at)


@time_machine.travel(RECEIVED, tick=False)
def test_each_type_starts_the_clocks_of_its_policy():
    expected = {
        CaseType.PRIVACY_DEVIATION: [ClockKind.BREACH_NOTIFICATION],
        CaseType.SECURITY_INCIDENT: [ClockKind.TRIAGE],
        CaseType.WHISTLEBLOWING: [ClockKind.ACKNOWLEDGEMENT, ClockKind.FEEDBACK],
        CaseType.HSE: [ClockKind.ACKNOWLEDGEMENT],
        CaseType.COMPLAINT: [ClockKind.ANSWER],
        CaseType.GENERAL_INQUIRY: [ClockKind.ANSWER],
    }
    for case_type, clock_kinds in expected.items():
        case, _code = submit(case_type=case_type)
        assert kinds(case) == sorted(clock_kinds), case_type


@time_machine.travel(RECEIVED, tick=False)
def test_a_subject_request_is_due_by_the_30_day_promise_and_the_breach_clock_by_the_hour():
    request, _code = submit_subject_request()
    answer = request.clocks.get()
    # Wednesday 24 September 2025 ends at midnight in Oslo (22:00 UTC).
    assert answer.due_at == datetime(2025, 9, 24, 22, 0, tzinfo=UTC)
    assert request.next_due_at == answer.due_at
    breach, _code = submit(case_type=CaseType.PRIVACY_DEVIATION)
    clock = breach.clocks.get()
    assert clock.due_at == RECEIVED + timedelta(hours=72)
    assert breach.breach.aware_at == RECEIVED


def test_lengths_are_configuration():
    services.ensure_default_clock_policies()
    ClockPolicy.objects.filter(case_type=CaseType.GENERAL_INQUIRY).update(length=10)
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit()
    # Thursday 4 September 2025, a working day, ends at midnight in Oslo.
    assert case.clocks.get().due_at == datetime(2025, 9, 4, 22, 0, tzinfo=UTC)


def test_states_open_at_risk_breached_and_met_on_time_or_late():
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit(case_type=CaseType.SECURITY_INCIDENT)
    clock = case.clocks.get()
    # 72 hours: at risk when the smaller of a quarter (18 h) and 3 days is left.
    assert clock.at_risk_at == clock.due_at - timedelta(hours=18)
    assert state(clock, RECEIVED + timedelta(hours=1)) is ClockState.OPEN
    assert state(clock, RECEIVED + timedelta(hours=60)) is ClockState.AT_RISK
    assert state(clock, RECEIVED + timedelta(hours=72)) is ClockState.BREACHED
    handler = CaseHandlerFactory()
    with time_machine.travel(RECEIVED + timedelta(hours=80), tick=False):
        services.record_triage(case=case, actor=handler, severity="high", note="Phishing, contained.")
    clock.refresh_from_db()
    assert clock.met_action == "triage" and clock.met_by == handler
    assert state(clock, RECEIVED + timedelta(days=30)) is ClockState.MET_LATE
    case.refresh_from_db()
    assert case.next_due_at is None


def test_the_first_reply_acknowledges_and_feedback_is_due_three_months_after_it():
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit(case_type=CaseType.WHISTLEBLOWING)
    feedback = case.clocks.get(kind=ClockKind.FEEDBACK)
    # No acknowledgement yet: 3 months from the end of the 7 days (1 September): 1 December 2025.
    assert feedback.due_at == datetime(2025, 12, 1, 23, 0, tzinfo=UTC)
    handler = CaseHandlerFactory()
    with time_machine.travel(RECEIVED + timedelta(days=2), tick=False):
        services.reply_to_reporter(case=case, actor=handler, body="We have your report.")
    acknowledgement = case.clocks.get(kind=ClockKind.ACKNOWLEDGEMENT)
    assert acknowledgement.met_at == RECEIVED + timedelta(days=2)
    feedback.refresh_from_db()
    # Acknowledged on 27 August: feedback by 27 November 2025.
    assert feedback.due_at == datetime(2025, 11, 27, 23, 0, tzinfo=UTC)
    assert feedback.met_at is None
    with time_machine.travel(RECEIVED + timedelta(days=40), tick=False):
        services.reply_to_reporter(case=case, actor=handler, body="What we did.", is_feedback=True)
    feedback.refresh_from_db()
    assert feedback.met_action == "feedback" and feedback.met_at is not None


def test_an_internal_note_meets_no_clock_and_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case, _code = submit(
            is_anonymous=False, reporter_name="Ola", reporter_email="ola@example.com", wants_notices=True
        )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.add_internal_note(case=case, actor=CaseHandlerFactory(), body="Ask legal first.")
    assert mail.outbox == []
    assert case.clocks.get().met_at is None


def test_a_reply_marked_as_the_answer_meets_the_answer_clock_and_a_plain_reply_does_not():
    case, _code = submit()
    handler = CaseHandlerFactory()
    services.reply_to_reporter(case=case, actor=handler, body="Which CV?")
    assert case.clocks.get().met_at is None
    services.reply_to_reporter(case=case, actor=handler, body="We keep them 360 days.", is_answer=True)
    assert case.clocks.get().met_action == "answer"


def test_closing_as_answered_meets_the_answer_clock_and_closing_needs_an_outcome():
    case, _code = submit()
    handler = CaseHandlerFactory()
    with pytest.raises(ValidationError) as refused:
        services.change_status(case=case, actor=handler, status="closed")
    assert "outcome" in refused.value.message_dict
    services.change_status(case=case, actor=handler, status="closed", outcome="answered")
    assert case.clocks.get().met_action == "closed_answered"
    case.refresh_from_db()
    assert case.outcome == "answered" and case.closed_at is not None


def test_a_reclassified_case_gets_the_clocks_of_its_new_type_and_keeps_its_history():
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit()
    handler = CaseHandlerFactory()
    with time_machine.travel(RECEIVED + timedelta(days=1), tick=False):
        services.reclassify_case(case=case, actor=handler, case_type=CaseType.HSE)
    assert kinds(case) == [ClockKind.ACKNOWLEDGEMENT]
    dropped = case.clocks.get(dropped_at__isnull=False)
    assert dropped.kind == ClockKind.ANSWER
    # Counted from receipt, not from the reclassification.
    assert case.clocks.get(kind=ClockKind.ACKNOWLEDGEMENT).starts_at == RECEIVED
    history = list(case.events.values_list("kind", flat=True))
    assert CaseEventKind.RECLASSIFIED in history and CaseEventKind.CLOCK_DROPPED in history


def test_a_whistleblowing_report_gets_the_breach_clock_from_the_moment_of_awareness_and_stays_with_its_team():
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit(case_type=CaseType.WHISTLEBLOWING)
    handler = CaseHandlerFactory(teams=["whistleblowing"])
    aware = RECEIVED + timedelta(days=3)
    with time_machine.travel(RECEIVED + timedelta(days=4), tick=False):
        clock = services.add_clock(
            case=case, actor=handler, kind=ClockKind.BREACH_NOTIFICATION, starts_at=aware
        )
    assert clock.due_at == aware + timedelta(hours=72)
    case.refresh_from_db()
    assert case.case_type == CaseType.WHISTLEBLOWING and case.breach.aware_at == aware
    with pytest.raises(ValidationError):
        services.add_clock(case=case, actor=handler, kind=ClockKind.BREACH_NOTIFICATION, starts_at=aware)


def test_an_extension_moves_the_answer_once_tells_the_requester_and_is_refused_after_the_first_deadline(
    django_capture_on_commit_callbacks,
):
    with time_machine.travel(datetime(2025, 1, 31, 9, 0, tzinfo=UTC), tick=False):
        case, _code = submit_subject_request(language="nb")
    handler = CaseHandlerFactory()
    with pytest.raises(ValidationError):
        services.extend_deadline(case=case, actor=handler, reason=" ")
    mail.outbox.clear()
    with (
        time_machine.travel(datetime(2025, 2, 10, 9, 0, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        clock = services.extend_deadline(case=case, actor=handler, reason="Records in three systems.")
    # 31 January: the earlier of 28 April and 30 April (DESIGN.md §1), a Monday.
    assert clock.due_at == datetime(2025, 4, 28, 22, 0, tzinfo=UTC)
    assert clock.first_due_at == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
    (notice,) = [message for message in mail.outbox if message.to == ["kari@example.com"]]
    assert "28" in notice.body and "april" in notice.body.lower()
    with pytest.raises(services.ExtensionRefused):
        services.extend_deadline(case=case, actor=handler, reason="Again.")
    with time_machine.travel(datetime(2025, 1, 31, 9, 0, tzinfo=UTC), tick=False):
        late, _code = submit_subject_request()
    with time_machine.travel(datetime(2025, 3, 1, 9, 0, tzinfo=UTC), tick=False):
        with pytest.raises(services.ExtensionRefused) as refused:
            services.extend_deadline(case=late, actor=handler, reason="Too late.")
    assert "passed" in refused.value.message


def test_a_message_from_the_reporter_reopens_a_closed_case():
    case, _code = submit()
    services.change_status(case=case, actor=CaseHandlerFactory(), status="closed", outcome="answered")
    services.add_reporter_message(
        case=case, client_key="another-client", message="One more thing.", uploads=[]
    )
    case.refresh_from_db()
    assert case.status == "received" and case.closed_at is None and case.outcome == ""
    assert case.events.filter(kind=CaseEventKind.REOPENED_BY_REPORTER).exists()


def test_only_running_clocks_may_be_one_per_kind():
    case, _code = submit()
    assert CaseClock.objects.filter(case=case).count() == 1
    assert CaseEvent.objects.filter(case=case, kind=CaseEventKind.CLOCK_STARTED).count() == 1


def test_admins_edit_the_policies_in_the_admin_and_a_policy_that_cannot_be_counted_is_refused(client):
    from django.contrib.auth import get_user_model

    services.ensure_default_clock_policies()
    admin_user = get_user_model().objects.create_superuser("admin", "admin@example.com", "a-long-password-1")
    client.force_login(admin_user)
    policy = ClockPolicy.objects.get(case_type=CaseType.COMPLAINT, kind=ClockKind.ANSWER)
    form = {
        "case_type": policy.case_type,
        "kind": policy.kind,
        "is_active": "on",
        "length": "14",
        "unit": "days",
        "limit_length": "",
        "limit_unit": "",
        "extension_length": "2",
        "extension_unit": "hours",
        "at_risk_percent": "25",
        "at_risk_max_hours": "72",
    }
    refused = client.post(f"/admin/cases/clockpolicy/{policy.pk}/change/", form)
    assert refused.status_code == 200 and "An extension moves the legal limit" in refused.content.decode()
    form.update(extension_length="", extension_unit="")
    saved = client.post(f"/admin/cases/clockpolicy/{policy.pk}/change/", form)
    assert saved.status_code == 302
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit(case_type=CaseType.COMPLAINT)
    # 14 days from Monday 25 August 2025: Monday 8 September ends at midnight in Oslo.
    assert case.clocks.get().due_at == datetime(2025, 9, 8, 22, 0, tzinfo=UTC)


def test_the_requester_reads_why_the_deadline_moved_at_follow_up(client):
    with time_machine.travel(datetime(2025, 1, 31, 9, 0, tzinfo=UTC), tick=False):
        case, code = submit_subject_request()
    with time_machine.travel(datetime(2025, 2, 10, 9, 0, tzinfo=UTC), tick=False):
        services.extend_deadline(case=case, actor=CaseHandlerFactory(), reason="Records in three systems.")
    client.post("/en/follow-up/", {"receipt_code": code})
    page = client.get("/en/follow-up/case/").content.decode()
    assert "Records in three systems." in page
    # Due at the end of Monday 28 April 2025 (midnight in Oslo): the page names that day.
    assert "April 28, 2025" in page
