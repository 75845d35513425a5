"""Reminders (issue 9, point 10 and part of point 4): the team is told once when a clock becomes
at risk and once when it is breached, even by two runs at once; a requester who has not confirmed
the e-mail address is reminded once after 24 hours."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from cases import services
from cases.models import CaseClock, CaseEvent, CaseEventKind, CaseExclusion, CaseType
from cases.tasks import send_reminders
from tests.factories import CaseHandlerFactory, submit, submit_subject_request
from tests.services import celery_broker, wait_until
from trustcenter.celery import app as celery_app
from trustcenter.models import OutboxMessage

# Monday 25 August 2025, 10:00 in Oslo. A security incident's 72-hour triage clock is due 72 hours
# later and at risk for its last 18 (a quarter of it).
RECEIVED = datetime(2025, 8, 25, 8, 0, tzinfo=UTC)
AT_RISK = RECEIVED + timedelta(hours=55)
BREACHED = RECEIVED + timedelta(hours=73)
REPORT = "The payroll laptop of Ola Hansen was stolen from his car"


def security_team():
    """Two members with an address, one without, one that incident() excludes, and a privacy
    handler."""
    return {
        "members": [
            CaseHandlerFactory(teams=["security"], email="sigrid@example.com"),
            CaseHandlerFactory(teams=["security"], email="tor@example.com"),
        ],
        "without_address": CaseHandlerFactory(teams=["security"], email=""),
        "excluded": CaseHandlerFactory(teams=["security"], email="excluded@example.com"),
        "privacy": CaseHandlerFactory(teams=["privacy"], email="petra@example.com"),
    }


def incident(team):
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit(case_type=CaseType.SECURITY_INCIDENT, message=REPORT)
    CaseExclusion.objects.create(case=case, user=team["excluded"], reason="Her brother reported it.")
    return case


def mail_to_staff():
    return list(OutboxMessage.objects.exclude(recipient="kari@example.com").order_by("pk"))


def remind_at(moment) -> int:
    with time_machine.travel(moment, tick=False):
        return services.send_clock_reminders()


def reminder_events(case):
    return [event.data for event in case.events.filter(kind=CaseEventKind.REMINDER_SENT)]


@pytest.mark.django_db
def test_the_team_is_told_once_when_a_clock_becomes_at_risk():
    case = incident(security_team())

    assert remind_at(AT_RISK - timedelta(hours=2)) == 0
    assert mail_to_staff() == []

    assert remind_at(AT_RISK) == 1
    sent = mail_to_staff()
    # One e-mail each: not to the privacy team, not to the excluded handler, not to no address.
    assert sorted(message.recipient for message in sent) == ["sigrid@example.com", "tor@example.com"]
    assert all("is at risk" in message.subject for message in sent)
    assert reminder_events(case) == [{"clock": "triage", "state": "at_risk"}]
    clock = case.clocks.get()
    assert clock.at_risk_reminded_at == AT_RISK and clock.breached_reminded_at is None

    assert remind_at(AT_RISK + timedelta(minutes=5)) == 0
    assert len(mail_to_staff()) == 2


@pytest.mark.django_db
def test_a_breached_clock_gets_a_second_different_email_once():
    case = incident(security_team())
    remind_at(AT_RISK)
    at_risk = {message.pk for message in mail_to_staff()}

    assert remind_at(BREACHED) == 1
    breached = [message for message in mail_to_staff() if message.pk not in at_risk]
    assert sorted(message.recipient for message in breached) == ["sigrid@example.com", "tor@example.com"]
    assert all("has passed" in message.subject for message in breached)
    assert reminder_events(case) == [
        {"clock": "triage", "state": "at_risk"},
        {"clock": "triage", "state": "breached"},
    ]

    assert remind_at(BREACHED + timedelta(days=3)) == 0
    assert len(mail_to_staff()) == 4


@pytest.mark.django_db
def test_a_clock_first_seen_breached_gets_only_the_breached_reminder():
    case = incident(security_team())

    assert remind_at(BREACHED) == 1
    assert all("has passed" in message.subject for message in mail_to_staff())
    assert reminder_events(case) == [{"clock": "triage", "state": "breached"}]
    clock = case.clocks.get()
    assert clock.at_risk_reminded_at == BREACHED and clock.breached_reminded_at == BREACHED
    assert remind_at(BREACHED + timedelta(hours=1)) == 0
    assert len(mail_to_staff()) == 2


@pytest.mark.django_db
def test_a_clock_met_in_time_is_never_reminded():
    team = security_team()
    case = incident(team)
    with time_machine.travel(RECEIVED + timedelta(hours=10), tick=False):
        services.record_triage(case=case, actor=team["members"][0], severity="high", note="Laptop wiped.")

    assert remind_at(AT_RISK) == 0
    assert remind_at(BREACHED) == 0
    assert mail_to_staff() == []
    assert reminder_events(case) == []


@pytest.mark.django_db
def test_the_email_names_the_case_its_clock_and_due_time_and_links_to_it_and_nothing_more():
    case = incident(security_team())
    remind_at(AT_RISK)

    message = mail_to_staff()[0]
    assert case.reference in message.subject and case.reference in message.body
    assert "Triage" in message.subject and "Triage" in message.body
    # Due 72 hours after receipt: Thursday 28 August, 10:00 in Oslo.
    assert "2025-08-28 10:00 (Europe/Oslo)" in message.body
    assert f"{settings.TRUSTCENTER_SITE_URL}/en/staff/cases/{case.pk}/" in message.body
    for word in ("laptop", "Ola", "Hansen", "payroll"):
        assert word.lower() not in (message.subject + message.body).lower()
    assert message.concerns_id == case.pk


@pytest.mark.django_db
def test_a_whistleblowing_reminder_goes_to_the_whistleblowing_team_alone():
    CaseHandlerFactory(teams=["whistleblowing"], email="wenche@example.com")
    named = CaseHandlerFactory(teams=["whistleblowing"], email="named@example.com")
    CaseHandlerFactory(teams=["privacy", "security", "hse"], email="others@example.com")
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit(case_type=CaseType.WHISTLEBLOWING, excluded_handler_ids=(named.pk,))

    # The 7-day acknowledgement has passed; the 3-month feedback is far off.
    assert remind_at(RECEIVED + timedelta(days=10)) == 1
    assert [message.recipient for message in mail_to_staff()] == ["wenche@example.com"]
    assert reminder_events(case) == [{"clock": "acknowledgement", "state": "breached"}]


# --- The requester's reminder to confirm ------------------------------------------------------


def remind_requesters_at(moment) -> int:
    with time_machine.travel(moment, tick=False):
        return services.remind_unconfirmed_requesters()


def mail_to_requester():
    return list(OutboxMessage.objects.filter(recipient="kari@example.com").order_by("pk"))


def emailed_code(message) -> str:
    return re.search(r"^(\d{6})$", message.body, re.MULTILINE).group(1)


@pytest.mark.django_db
def test_an_unconfirmed_requester_is_reminded_once_after_24_hours():
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit_subject_request()
    assert len(mail_to_requester()) == 1  # the first confirmation e-mail

    assert remind_requesters_at(RECEIVED + timedelta(hours=23)) == 0
    assert len(mail_to_requester()) == 1

    reminded_at = RECEIVED + timedelta(hours=25)
    assert remind_requesters_at(reminded_at) == 1
    first, reminder = mail_to_requester()
    assert reminder.subject == "Reminder: confirm your e-mail address for the Trust Center"
    assert "This is the only reminder" in reminder.body
    assert emailed_code(reminder) != emailed_code(first)
    # Its new code confirms the address.
    with time_machine.travel(reminded_at + timedelta(minutes=5), tick=False):
        result = services.confirm_email_with_code(case=case, code=emailed_code(reminder))
    assert result is services.ConfirmationResult.CONFIRMED

    assert remind_requesters_at(RECEIVED + timedelta(days=5)) == 0
    assert len(mail_to_requester()) == 2


@pytest.mark.django_db
def test_only_one_reminder_ever_even_after_a_new_code():
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit_subject_request()
    remind_requesters_at(RECEIVED + timedelta(hours=25))
    with time_machine.travel(RECEIVED + timedelta(hours=30), tick=False):
        services.resend_email_confirmation(case=case)

    assert remind_requesters_at(RECEIVED + timedelta(days=3)) == 0
    assert len(mail_to_requester()) == 3  # the first, the reminder and the one asked for


@pytest.mark.django_db
def test_a_confirmed_requester_is_not_reminded():
    with time_machine.travel(RECEIVED, tick=False):
        case, _code = submit_subject_request()
        services.confirm_email_with_code(case=case, code=emailed_code(mail_to_requester()[0]))
    case.refresh_from_db()
    assert case.email_confirmed_at is not None

    assert remind_requesters_at(RECEIVED + timedelta(hours=25)) == 0
    assert len(mail_to_requester()) == 1


@pytest.mark.django_db
def test_the_beat_schedule_names_the_task_that_sends_reminders():
    assert settings.CELERY_BEAT_SCHEDULE["clock-reminders"]["task"] == send_reminders.name
    assert send_reminders.name in celery_app.tasks


# --- Two runs at once, on real parts ----------------------------------------------------------

CLOCKS = 20
SUCCEEDED = re.compile(r"Task cases\.tasks\.send_reminders\[[^\]]+\] succeeded in [\d.]+s: (\d+)")


def finished_runs(worker) -> list[int] | None:
    """What each finished run returned (how many reminders it sent), once both runs of the test
    finished and the clocks were all reminded: the embedded beat may have run the task as well."""
    runs = [int(sent) for sent in SUCCEEDED.findall(worker.log())]
    return runs if len(runs) >= 2 and sum(runs) >= CLOCKS else None


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_on_a_real_worker_remind_each_clock_once(
    smtp_server, private_redis, celery_worker_process
):
    team = ["sigrid@example.com", "tor@example.com"]
    for address in team:
        CaseHandlerFactory(teams=["security"], email=address)
    cases = [submit(case_type=CaseType.SECURITY_INCIDENT)[0] for _ in range(CLOCKS)]
    # At risk now: the worker lives in real time, not in the test's.
    CaseClock.objects.update(at_risk_at=timezone.now() - timedelta(hours=1))
    worker = celery_worker_process(broker_url=private_redis.url, email_url=smtp_server.url, concurrency=2)

    with celery_broker(private_redis.url):
        send_reminders.delay()
        send_reminders.delay()
    runs = wait_until(lambda: finished_runs(worker), timeout=60, what="both runs to finish")

    # Between them (and any run of the embedded beat) the runs reminded each clock once.
    assert sum(runs) == CLOCKS, runs
    rows = Counter(OutboxMessage.objects.values_list("concerns_id", "recipient"))
    assert rows == Counter({(case.pk, address): 1 for case in cases for address in team})
    assert CaseEvent.objects.filter(kind=CaseEventKind.REMINDER_SENT).count() == CLOCKS
    delivered = smtp_server.wait_for(CLOCKS * len(team), timeout=60)
    assert Counter(recipient for mail in delivered for recipient in mail.recipients) == Counter(
        {address: CLOCKS for address in team}
    )
