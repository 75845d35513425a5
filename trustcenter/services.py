"""The outbox: every e-mail is a row saved with the change that caused it, sent by a task.

No transaction and no row lock is held while SMTP talks (on the embedded SQLite default that
would hold the database's one write lock for up to EMAIL_TIMEOUT). Instead a worker claims a row
with one conditional UPDATE that sets a lease (`claimed_until`) and counts the attempt; only one
of two racing workers can win it. It sends with no transaction open, then records the result with
another short UPDATE. A worker that dies mid-send leaves a claim that lapses, and the row is tried
again: nothing is lost, and nothing is sent twice unless a worker dies between the SMTP server
accepting a message and recording it.

A failed attempt waits `backoff_seconds(attempt)` before the next one, so the sweep, which takes
due rows soonest first, always reaches new rows before failing ones come round again. After
TRUSTCENTER_OUTBOX_MAX_ATTEMPTS attempts a row is given up and the privacy contact is alerted.
"""

import logging
import re
import time
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from .backoff import backoff_seconds
from .models import OutboxMessage

logger = logging.getLogger(__name__)

# The task retries only when the database fails it (a dropped connection, a busy SQLite file);
# a failing SMTP server is recorded in the row and retried by the sweep when the row is due.
TASK_RETRIES = 3
# At most this many rows per sweep; a sweep also stops once it has run for a sweep interval,
# so sweeps do not pile up behind a slow SMTP server. The next sweep continues.
SWEEP_BATCH = 100
EMAIL_ADDRESS = re.compile(r"[^\s<>()\[\],;:'\"]+@[^\s<>()\[\],;:'\"]+")


def enqueue_email(
    *, recipient: str, subject: str, body: str, concerns: models.Model | None = None
) -> OutboxMessage:
    """Saves an e-mail in the caller's transaction; after commit, asks a worker to send it.

    `concerns` is the object the e-mail is about (a case), named in the admin and in an alert if
    the e-mail cannot be delivered. If the broker is down, the row waits for the beat sweep: mail
    is delayed, never lost.
    """
    message = OutboxMessage.objects.create(recipient=recipient, subject=subject, body=body, concerns=concerns)
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


def claim_seconds() -> int:
    """How long a claim lasts: far longer than one SMTP conversation (connect, TLS and each
    command may each take EMAIL_TIMEOUT), so a claim never lapses while its worker still sends."""
    return max(300, 10 * settings.EMAIL_TIMEOUT)


def claim_message(*, message_id: int, now: datetime) -> datetime | None:
    """Claims a due, free row for one attempt. Returns the claim's end if this call won it."""
    claimed_until = now + timedelta(seconds=claim_seconds())
    won = (
        OutboxMessage.objects.filter(
            pk=message_id, sent_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=claimed_until, attempts=F("attempts") + 1)
    )
    return claimed_until if won == 1 else None


def deliver_outbox_message(*, message_id: int) -> bool:
    """Sends one message if it is due and no other worker holds it. Returns True if this call
    sent it. A failure is recorded in the row (and given up after the last attempt), not raised.
    """
    claimed_until = claim_message(message_id=message_id, now=timezone.now())
    if claimed_until is None:
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
        ).send()
    except Exception as error:
        record_failure(message=message, claimed_until=claimed_until, error=error)
        return False
    # Sent is sent, even if this worker's claim had lapsed; the body has done its work.
    OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).update(
        sent_at=timezone.now(), body="", last_error="", claimed_until=None
    )
    return True


def without_addresses(text: str) -> str:
    """SMTP errors often quote the recipient's address; alerts and logs name no one."""
    return EMAIL_ADDRESS.sub("[address]", text)


def record_failure(*, message: OutboxMessage, claimed_until: datetime, error: Exception) -> None:
    """Notes the error and frees the row until its next attempt, or gives it up after the last."""
    now = timezone.now()
    message.last_error = f"{type(error).__name__}: {error}"[:500]
    gives_up = message.attempts >= settings.TRUSTCENTER_OUTBOX_MAX_ATTEMPTS
    changes: dict = {"last_error": message.last_error, "claimed_until": None}
    if gives_up:
        changes["failed_at"] = now
    else:
        changes["next_attempt_at"] = now + timedelta(seconds=backoff_seconds(message.attempts))
    with transaction.atomic():
        # Only while this worker's claim stands: if it lapsed, another attempt owns the row now.
        recorded = OutboxMessage.objects.filter(
            pk=message.pk, sent_at__isnull=True, claimed_until=claimed_until
        ).update(**changes)
        if recorded and gives_up:
            give_up(message=message)
    if recorded and not gives_up:
        logger.warning(
            "Outbox message %s failed (attempt %s of %s), tried again at %s: %s",
            message.pk,
            message.attempts,
            settings.TRUSTCENTER_OUTBOX_MAX_ATTEMPTS,
            changes["next_attempt_at"].isoformat(),
            without_addresses(message.last_error),
        )


def give_up(*, message: OutboxMessage) -> None:
    """Logs a message given up and alerts the privacy contact through the outbox, in the
    transaction that marks it given up. An alert that cannot be delivered alerts nobody."""
    facts = {
        "id": message.pk,
        "subject": message.subject,
        "concerns": message.concerns_label() or "-",
        "attempts": message.attempts,
        "error": without_addresses(message.last_error),
    }
    logger.error(
        "Outbox message %(id)s given up after %(attempts)s attempts; subject %(subject)r, "
        "concerns %(concerns)s, last error: %(error)s",
        facts,
    )
    if message.is_alert:
        return
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Trust Center: an e-mail could not be delivered (outbox message %(id)s)") % facts
        body = (
            gettext(
                "The Trust Center has given up sending an e-mail.\n"
                "\n"
                "Outbox message: %(id)s\n"
                "Subject: %(subject)s\n"
                "Concerns: %(concerns)s\n"
                "Attempts: %(attempts)s\n"
                "Last error: %(error)s\n"
                "\n"
                "The recipient and the text are not repeated here. Staff can see the message under "
                "Outbox messages in the admin and try it again from there once the cause is fixed.\n"
            )
            % facts
        )
    enqueue_email(
        recipient=settings.TRUSTCENTER_ALERT_EMAIL or settings.TRUSTCENTER_PRIVACY_EMAIL,
        subject=subject[:200],
        body=body,
        concerns=message,
    )


def try_again_now(*, message_ids: list[int]) -> int:
    """Makes unsent messages due at once, given up or not (staff, after fixing the cause).
    Returns how many. A message given up again alerts again."""
    with transaction.atomic():
        unsent = OutboxMessage.objects.filter(pk__in=message_ids, sent_at__isnull=True)
        ids = list(unsent.values_list("pk", flat=True))
        OutboxMessage.objects.filter(pk__in=ids).update(failed_at=None, next_attempt_at=timezone.now())
        for message_id in ids:
            transaction.on_commit(partial(publish_delivery, message_id=message_id))
    return len(ids)


def due_message_ids(*, now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Rows waiting whose next attempt has come and that no worker holds, soonest first."""
    return list(
        OutboxMessage.objects.filter(sent_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def sweep_outbox() -> int:
    """Sends what is due; safe to run twice at once (each row is claimed). Returns how many."""
    started = time.monotonic()
    sent = 0
    for message_id in due_message_ids(now=timezone.now()):
        if time.monotonic() - started > settings.OUTBOX_SWEEP_SECONDS:
            break
        try:
            sent += deliver_outbox_message(message_id=message_id)
        except Exception:  # the database, not SMTP: leave the row for the next sweep
            logger.exception("Outbox message %s could not be handled; the next sweep tries again", message_id)
    return sent
