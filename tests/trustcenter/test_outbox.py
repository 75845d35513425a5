"""The outbox in one process: Celery runs tasks eagerly, mail goes to Django's locmem outbox."""

import logging
import time

import pytest
from django.db import transaction

from tests.services import celery_broker, free_port
from trustcenter import services
from trustcenter.models import OutboxMessage

pytestmark = pytest.mark.django_db

LOCMEM_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def pending_message(recipient: str = "reporter@example.com", **fields) -> OutboxMessage:
    return OutboxMessage.objects.create(recipient=recipient, subject="News", body="There is news.", **fields)


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
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 1


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


def test_it_records_a_failing_smtp_server_and_sends_later(settings, mailoutbox):
    message = pending_message()
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2

    with pytest.raises(ConnectionRefusedError):
        services.deliver_outbox_message(message_id=message.pk)

    message.refresh_from_db()
    assert message.attempts == 1
    assert message.last_error.startswith("ConnectionRefusedError")
    assert message.sent_at is None
    assert services.pending_message_ids() == [message.pk]

    settings.EMAIL_BACKEND = LOCMEM_BACKEND
    assert services.deliver_outbox_message(message_id=message.pk) is True

    message.refresh_from_db()
    assert message.attempts == 2
    assert message.last_error == ""
    assert message.sent_at is not None
    assert [sent.to for sent in mailoutbox] == [[message.recipient]]


def test_the_sweep_sends_what_is_pending_never_gives_up_and_skips_what_was_sent(mailoutbox):
    first = pending_message("first@example.com")
    second = pending_message("second@example.com")
    already_sent = pending_message("sent@example.com", attempts=1)
    OutboxMessage.objects.filter(pk=already_sent.pk).update(sent_at="2026-01-01T12:00:00Z")
    long_failing = pending_message("long-failing@example.com", attempts=services.TASK_RETRIES + 5)

    assert services.sweep_outbox() == 3
    assert services.sweep_outbox() == 0

    assert sorted(sent.to[0] for sent in mailoutbox) == [
        "first@example.com",
        "long-failing@example.com",
        "second@example.com",
    ]
    for message in (first, second):
        message.refresh_from_db()
        assert message.sent_at is not None
        assert message.attempts == 1
    already_sent.refresh_from_db()
    assert already_sent.attempts == 1
    long_failing.refresh_from_db()
    assert long_failing.sent_at is not None


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
    assert services.pending_message_ids() == [message.pk]
