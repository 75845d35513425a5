"""The outbox: every e-mail is a row saved with the change that caused it, sent by a task."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

# The task retries this often with backoff; after that the beat sweep keeps trying every
# TRUSTCENTER_OUTBOX_SWEEP_SECONDS for as long as it takes: a notice is delayed, never dropped.
TASK_RETRIES = 10


def enqueue_email(*, recipient: str, subject: str, body: str) -> OutboxMessage:
    """Saves an e-mail in the caller's transaction; after commit, asks a worker to send it.

    If the broker is down, the row waits for the beat sweep: mail is delayed, never lost.
    """
    message = OutboxMessage.objects.create(recipient=recipient, subject=subject, body=body)
    transaction.on_commit(lambda: publish_delivery(message_id=message.pk))
    return message


def publish_delivery(*, message_id: int) -> None:
    from .tasks import send_outbox_message

    try:
        send_outbox_message.delay(message_id)
    except Exception:  # the broker is unreachable; the sweep will send it
        logger.warning(
            "Outbox message %s not queued (broker unavailable); the sweep will send it", message_id
        )


def deliver_outbox_message(*, message_id: int) -> bool:
    """Sends one message unless it was sent already or another worker holds it.

    The row is locked while it is sent and marked sent in the same transaction, so two workers
    (the immediate task and the sweep) never both send it. Returns True if this call sent it.
    """
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, sent_at__isnull=True)
                .first()
            )
            if message is None:
                return False
            EmailMessage(
                subject=message.subject,
                body=message.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[message.recipient],
            ).send()
            message.sent_at = timezone.now()
            message.attempts += 1
            message.last_error = ""
            message.save(update_fields=["sent_at", "attempts", "last_error"])
            return True
    except Exception as error:
        OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:500]
        )
        raise


def pending_message_ids(*, limit: int = 500) -> list[int]:
    return list(
        OutboxMessage.objects.filter(sent_at__isnull=True)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def sweep_outbox() -> int:
    """Sends whatever is still waiting; safe to run twice at once. Returns how many it sent."""
    sent = 0
    for message_id in pending_message_ids():
        try:
            sent += deliver_outbox_message(message_id=message_id)
        except Exception:
            logger.exception("Outbox message %s failed; it will be retried", message_id)
    return sent
