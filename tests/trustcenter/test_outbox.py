"""The outbox in one process: Celery runs tasks eagerly, mail goes to Django's locmem outbox."""

import logging
import smtplib
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.utils import timezone

from cases.models import CaseType
from tests.factories import submit
from tests.services import celery_broker, free_port
from trustcenter import services
from trustcenter.backoff import LONGEST_WAIT_SECONDS, backoff_seconds
from trustcenter.models import OutboxMessage
from trustcenter.tasks import send_outbox_message

pytestmark = pytest.mark.django_db

LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
REFUSING_BACKEND = f"{__name__}.RefusingBackend"
NO_TRANSACTION_BACKEND = f"{__name__}.NoTransactionBackend"
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class RefusingBackend(LocmemBackend):
    """An SMTP server that refuses the addresses in `refused` the way smtplib reports it (quoting
    the address) and accepts the rest into `mail.outbox`."""

    refused: set[str] = set()

    def send_messages(self, messages):
        for message in messages:
            refused = {address: (550, b"5.1.1 mailbox unavailable") for address in message.to}
            if set(message.to) & self.refused:
                raise smtplib.SMTPRecipientsRefused(refused)
        return super().send_messages(messages)


class NoTransactionBackend(LocmemBackend):
    """Checks, while "SMTP talks", that no transaction is open and that another connection can
    lock and update the row at once (no row lock, no database write lock is held)."""

    findings: list[str] = []

    def send_messages(self, messages):
        self.findings.append("in a transaction" if connection.in_atomic_block else "no transaction")

        def other_worker():
            try:
                with transaction.atomic():
                    row = OutboxMessage.objects.select_for_update(nowait=True).get(subject="News")
                    OutboxMessage.objects.filter(pk=row.pk).update(last_error="")
                self.findings.append("row free")
            except Exception as error:
                self.findings.append(f"row held: {error}")
            finally:
                connection.close()

        thread = threading.Thread(target=other_worker)
        thread.start()
        thread.join(timeout=10)
        return super().send_messages(messages)


@pytest.fixture
def refused_addresses():
    RefusingBackend.refused = set()
    yield RefusingBackend.refused
    RefusingBackend.refused = set()


def pending_message(recipient: str = "reporter@example.com", **fields) -> OutboxMessage:
    return OutboxMessage.objects.create(recipient=recipient, subject="News", body="There is news.", **fields)


def due_ids() -> list[int]:
    return services.due_message_ids(now=timezone.now())


def test_it_sends_nothing_before_commit_and_one_message_after(django_capture_on_commit_callbacks, mailoutbox):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            message = services.enqueue_email(recipient="reporter@example.com", subject="News", body="Hi")
            assert mailoutbox == []
        assert mailoutbox == []
        message.refresh_from_db()
        assert message.sent_at is None

    assert len(callbacks) == 1
    assert [sent.to for sent in mailoutbox] == [["reporter@example.com"]]
    assert mailoutbox[0].subject == "News"
    assert mailoutbox[0].body == "Hi"
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 1


def test_it_blanks_the_body_once_sent(mailoutbox):
    message = pending_message()

    assert services.deliver_outbox_message(message_id=message.pk) is True

    assert mailoutbox[0].body == "There is news."
    message.refresh_from_db()
    assert message.body == ""
    assert message.subject == "News" and message.recipient == "reporter@example.com"
    assert message.claimed_until is None


def test_a_rolled_back_change_leaves_no_message_and_sends_nothing(
    django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.enqueue_email(recipient="reporter@example.com", subject="News", body="Hi")
            raise RuntimeError("the change that caused the e-mail failed")

    assert callbacks == []
    assert mailoutbox == []
    assert not OutboxMessage.objects.exists()


def test_it_sends_a_message_once(mailoutbox):
    message = pending_message()

    assert services.deliver_outbox_message(message_id=message.pk) is True
    assert services.deliver_outbox_message(message_id=message.pk) is False

    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 1


def test_it_lets_only_one_of_two_racing_claims_win(time_machine):
    time_machine.move_to(START, tick=False)
    message = pending_message()

    first = services.claim_message(message_id=message.pk, now=timezone.now())
    second = services.claim_message(message_id=message.pk, now=timezone.now())

    assert first == START + timedelta(seconds=services.claim_seconds())
    assert second is None
    message.refresh_from_db()
    assert message.attempts == 1
    assert message.claimed_until == first
    assert due_ids() == []


def test_a_claim_left_by_a_worker_that_died_lapses_and_the_message_is_sent(time_machine, mailoutbox):
    time_machine.move_to(START, tick=False)
    message = pending_message()
    assert services.claim_message(message_id=message.pk, now=timezone.now())  # then the worker dies

    time_machine.move_to(START + timedelta(seconds=services.claim_seconds() - 1), tick=False)
    assert services.sweep_outbox() == 0
    time_machine.move_to(START + timedelta(seconds=services.claim_seconds() + 1), tick=False)
    assert services.sweep_outbox() == 1

    assert [sent.to for sent in mailoutbox] == [["reporter@example.com"]]
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 2


def test_it_records_a_failing_smtp_server_and_sends_once_the_wait_is_over(
    settings, mailoutbox, time_machine, caplog
):
    caplog.set_level(logging.WARNING, logger="trustcenter.services")
    time_machine.move_to(START, tick=False)
    message = pending_message()
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2

    assert services.deliver_outbox_message(message_id=message.pk) is False

    message.refresh_from_db()
    assert message.attempts == 1
    assert message.last_error.startswith("ConnectionRefusedError")
    assert message.sent_at is None and message.failed_at is None
    assert message.claimed_until is None
    assert message.next_attempt_at == START + timedelta(seconds=backoff_seconds(1))
    assert message.body == "There is news."
    assert f"Outbox message {message.pk} failed (attempt 1 of" in caplog.text
    assert due_ids() == []

    settings.EMAIL_BACKEND = LOCMEM_BACKEND
    assert services.deliver_outbox_message(message_id=message.pk) is False  # not due yet
    time_machine.move_to(message.next_attempt_at, tick=False)
    assert due_ids() == [message.pk]
    assert services.deliver_outbox_message(message_id=message.pk) is True

    message.refresh_from_db()
    assert message.attempts == 2
    assert message.last_error == ""
    assert message.sent_at is not None
    assert [sent.to for sent in mailoutbox] == [[message.recipient]]


def test_the_task_leaves_a_failing_smtp_server_to_the_sweep_instead_of_retrying(
    settings, refused_addresses, mailoutbox
):
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    refused_addresses.add("reporter@example.com")
    message = pending_message()

    assert send_outbox_message.delay(message.pk).get() is False  # eager: retries would run here

    message.refresh_from_db()
    assert message.attempts == 1
    assert message.next_attempt_at > timezone.now()
    assert mailoutbox == []


def test_the_wait_doubles_from_a_minute_up_to_six_hours():
    assert [backoff_seconds(attempt) for attempt in range(1, 6)] == [60, 120, 240, 480, 960]
    assert backoff_seconds(9) == 256 * 60
    assert backoff_seconds(10) == LONGEST_WAIT_SECONDS == 6 * 3600
    assert backoff_seconds(1000) == LONGEST_WAIT_SECONDS
    with pytest.raises(ValueError):
        backoff_seconds(0)


def test_it_waits_longer_after_each_failed_attempt(settings, time_machine, refused_addresses):
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    refused_addresses.add("reporter@example.com")
    time_machine.move_to(START, tick=False)
    message = pending_message()

    waits = []
    for _attempt in range(4):
        before = timezone.now()
        assert services.sweep_outbox() == 0
        message.refresh_from_db()
        waits.append((message.next_attempt_at - before).total_seconds())
        time_machine.move_to(message.next_attempt_at - timedelta(seconds=1), tick=False)
        assert services.sweep_outbox() == 0  # a second early: nothing is tried
        time_machine.move_to(message.next_attempt_at, tick=False)

    assert waits == [60, 120, 240, 480]
    message.refresh_from_db()
    assert message.attempts == 4


def test_it_gives_up_after_the_last_attempt_and_alerts_the_privacy_contact_once(
    settings, time_machine, refused_addresses, django_capture_on_commit_callbacks, mailoutbox, caplog
):
    caplog.set_level(logging.ERROR, logger="trustcenter.services")
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    settings.TRUSTCENTER_OUTBOX_MAX_ATTEMPTS = 3
    settings.TRUSTCENTER_ALERT_EMAIL = ""
    settings.TRUSTCENTER_PRIVACY_EMAIL = "privacy@controller.example"
    refused_addresses.add("kari@example.com")
    time_machine.move_to(START, tick=False)
    case, _receipt = submit(case_type=CaseType.GENERAL_INQUIRY)
    message = services.enqueue_email(
        recipient="kari@example.com", subject="News", body="Secret body text", concerns=case
    )

    with django_capture_on_commit_callbacks(execute=True):
        for _attempt in range(3):
            services.sweep_outbox()
            message.refresh_from_db()
            time_machine.move_to(message.next_attempt_at + timedelta(hours=1), tick=False)
        services.sweep_outbox()

    message.refresh_from_db()
    assert message.attempts == 3
    assert message.failed_at is not None and message.sent_at is None
    assert message.body == "Secret body text"  # kept: staff may try it again
    assert due_ids() == []

    [alert] = mailoutbox
    assert alert.to == ["privacy@controller.example"]
    alert_row = OutboxMessage.objects.get(recipient="privacy@controller.example")
    assert alert_row.concerns == message
    assert alert_row.sent_at is not None
    text = alert.subject + "\n" + alert.body
    assert f"outbox message {message.pk}" in alert.subject
    assert f"Outbox message: {message.pk}\n" in alert.body
    assert "Subject: News\n" in alert.body
    assert f"Concerns: case {case.pk}\n" in alert.body
    assert case.reference not in text  # a reference is for the case's team, not for an alert
    assert "Attempts: 3\n" in alert.body
    assert "Last error: SMTPRecipientsRefused: {'[address]': (550" in alert.body
    assert "kari@example.com" in message.last_error
    assert "kari" not in text and "Secret body text" not in text

    [log] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert f"Outbox message {message.pk} given up after 3 attempts" in log.getMessage()
    assert f"concerns case {case.pk}" in log.getMessage()
    assert "kari" not in log.getMessage()


def test_the_alert_goes_to_the_alert_address_when_one_is_set(
    settings, refused_addresses, django_capture_on_commit_callbacks, mailoutbox
):
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    settings.TRUSTCENTER_OUTBOX_MAX_ATTEMPTS = 1
    settings.TRUSTCENTER_ALERT_EMAIL = "operations@controller.example"
    refused_addresses.add("reporter@example.com")
    message = pending_message()

    with django_capture_on_commit_callbacks(execute=True):
        services.deliver_outbox_message(message_id=message.pk)

    assert [sent.to for sent in mailoutbox] == [["operations@controller.example"]]
    assert "Concerns: -\n" in mailoutbox[0].body


def test_an_alert_that_cannot_be_delivered_alerts_nobody(
    settings, refused_addresses, django_capture_on_commit_callbacks, mailoutbox, caplog
):
    caplog.set_level(logging.ERROR, logger="trustcenter.services")
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    settings.TRUSTCENTER_OUTBOX_MAX_ATTEMPTS = 1
    settings.TRUSTCENTER_ALERT_EMAIL = "privacy@controller.example"
    refused_addresses.update({"reporter@example.com", "privacy@controller.example"})
    message = pending_message()

    with django_capture_on_commit_callbacks(execute=True):
        services.deliver_outbox_message(message_id=message.pk)
        services.sweep_outbox()
        services.sweep_outbox()

    assert mailoutbox == []
    alert = OutboxMessage.objects.get(recipient="privacy@controller.example")
    assert alert.is_alert and not message.is_alert
    assert alert.failed_at is not None
    assert OutboxMessage.objects.count() == 2
    assert len([record for record in caplog.records if record.levelno == logging.ERROR]) == 2


def test_the_sweep_sends_what_is_due_and_skips_what_was_sent_given_up_or_claimed(mailoutbox):
    first = pending_message("first@example.com")
    second = pending_message("second@example.com")
    already_sent = pending_message("sent@example.com", attempts=1, sent_at=timezone.now())
    given_up = pending_message("given-up@example.com", attempts=12, failed_at=timezone.now())
    waiting = pending_message(
        "waiting@example.com", attempts=1, next_attempt_at=timezone.now() + timedelta(1)
    )
    claimed = pending_message("claimed@example.com", claimed_until=timezone.now() + timedelta(minutes=5))

    assert services.sweep_outbox() == 2
    assert services.sweep_outbox() == 0

    assert sorted(sent.to[0] for sent in mailoutbox) == ["first@example.com", "second@example.com"]
    for message in (first, second):
        message.refresh_from_db()
        assert message.sent_at is not None
        assert message.attempts == 1
    for message, attempts in ((already_sent, 1), (given_up, 12), (waiting, 1), (claimed, 0)):
        message.refresh_from_db()
        assert message.attempts == attempts


def test_failing_messages_do_not_starve_new_ones_in_the_sweep(
    settings, time_machine, refused_addresses, mailoutbox, monkeypatch
):
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    monkeypatch.setattr(services, "SWEEP_BATCH", 3)
    time_machine.move_to(START, tick=False)
    failing = [pending_message(f"failing-{number}@example.com") for number in range(3)]
    refused_addresses.update(message.recipient for message in failing)
    assert services.sweep_outbox() == 0  # a whole batch of failures, each now waiting a minute

    time_machine.move_to(START + timedelta(seconds=10), tick=False)
    new = pending_message("new@example.com")
    assert due_ids() == [new.pk]
    assert services.sweep_outbox() == 1

    assert [sent.to for sent in mailoutbox] == [["new@example.com"]]
    new.refresh_from_db()
    assert new.sent_at is not None and new.attempts == 1
    time_machine.move_to(START + timedelta(minutes=2), tick=False)
    assert services.sweep_outbox() == 0  # their turn again
    assert sorted(message.attempts for message in OutboxMessage.objects.exclude(pk=new.pk)) == [2, 2, 2]


def test_a_message_names_what_it_concerns():
    case, _receipt = submit(case_type=CaseType.GENERAL_INQUIRY)

    message = services.enqueue_email(recipient="kari@example.com", subject="News", body="Hi", concerns=case)

    message = OutboxMessage.objects.get(pk=message.pk)
    assert message.concerns == case
    assert OutboxMessage.objects.filter(concerns_id=case.pk, concerns_type__model="case").get() == message
    assert message.concerns_label() == f"case {case.pk}"
    unconcerned = services.enqueue_email(recipient="a@example.com", subject="Hi", body="Hi")
    assert unconcerned.concerns is None and unconcerned.concerns_label() == ""


def test_a_notice_to_a_reporter_concerns_the_case():
    case, _receipt = submit(
        case_type=CaseType.SUBJECT_REQUEST,
        is_anonymous=False,
        subject_right="access",
        reporter_name="Kari",
        reporter_email="kari@example.com",
    )

    message = OutboxMessage.objects.get(recipient="kari@example.com")
    assert message.concerns == case


def test_an_unreachable_broker_neither_raises_nor_hangs_and_the_message_waits(
    django_capture_on_commit_callbacks, mailoutbox, caplog
):
    caplog.set_level(logging.WARNING, logger="trustcenter.services")
    with celery_broker(f"redis://127.0.0.1:{free_port()}/0", eager=False):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            message = services.enqueue_email(recipient="reporter@example.com", subject="News", body="Hi")
        elapsed = time.monotonic() - started

    assert elapsed < 8, f"publishing to a dead broker took {elapsed:.1f} s"
    assert f"Outbox message {message.pk} not queued" in caplog.text
    assert mailoutbox == []
    message.refresh_from_db()
    assert message.sent_at is None
    assert message.attempts == 0
    assert due_ids() == [message.pk]


@pytest.mark.django_db(transaction=True)
def test_no_transaction_or_row_lock_is_held_while_smtp_talks(settings, mailoutbox):
    settings.EMAIL_BACKEND = NO_TRANSACTION_BACKEND
    NoTransactionBackend.findings = []
    message = pending_message()

    assert services.deliver_outbox_message(message_id=message.pk) is True

    assert NoTransactionBackend.findings == ["no transaction", "row free"]
    message.refresh_from_db()
    assert message.sent_at is not None
