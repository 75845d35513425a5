"""A worker killed mid-job: the outbox resumes, and nothing is sent twice or lost.

A real Celery worker (with embedded beat) on a Redis of the test's own takes the notices of a few
reports. Its SMTP server takes the first message and never answers, so the worker hangs inside
`send()` holding a claimed row. The test kills the worker's whole process group with SIGKILL (no
warm shutdown, nothing recorded), lets the claim lapse, and starts a fresh worker on a working SMTP
server: every notice arrives exactly once.
"""

import asyncio
import os
import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import submit
from tests.services import SmtpServer, celery_broker
from trustcenter.models import OutboxMessage

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

REPORTERS = [f"reporter-{number}@example.com" for number in range(3)]
WAIT_SECONDS = 30
# The worker sweeps every 2 s (tests/services.py): this is several sweeps.
SEVERAL_SWEEPS_SECONDS = 6


class StallingSmtpServer(SmtpServer):
    """Takes a message's DATA and never answers it: the client hangs waiting for "250"."""

    def __init__(self):
        super().__init__()
        self.stalled: list[str] = []
        self.got_data = threading.Event()
        self.connection_dropped = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.stalled.extend(envelope.rcpt_tos)
        self.got_data.set()
        try:
            await asyncio.get_running_loop().create_future()  # never done
        except asyncio.CancelledError:  # the client's connection closed (or the server stops)
            self.connection_dropped.set()
            raise


@pytest.fixture()
def stalling_smtp_server():
    server = StallingSmtpServer()
    server.start()
    yield server
    server.stop()


def delivered(smtp_server) -> Counter[tuple[str, str]]:
    return Counter(
        (recipient, str(mail.message["Subject"]))
        for mail in smtp_server.received
        for recipient in mail.recipients
    )


def test_a_worker_killed_mid_send_leaves_a_claim_that_lapses_and_every_notice_is_sent_once(
    monkeypatch, smtp_server, stalling_smtp_server, private_redis, celery_worker_process
):
    # Longer than this test: the first worker must still be inside send() when it is killed,
    # not time out and record a failure. (The claim then lasts 10 x 120 s.)
    monkeypatch.setenv("EMAIL_TIMEOUT", "120")
    first_worker = celery_worker_process(broker_url=private_redis.url, email_url=stalling_smtp_server.url)

    with celery_broker(private_redis.url):
        for address in REPORTERS:
            # submit_case commits in a durable transaction, whose on_commit publishes the task.
            submit(
                is_anonymous=False, reporter_name="Kari Nordmann", reporter_email=address, wants_notices=True
            )
    expected = Counter(OutboxMessage.objects.values_list("recipient", "subject"))
    assert sorted(recipient for recipient, _subject in expected) == REPORTERS

    # The worker claimed a row, sent the whole message, and now waits for the server's answer.
    assert stalling_smtp_server.got_data.wait(WAIT_SECONDS), "no message reached the stalling SMTP server"
    [stalled_recipient] = stalling_smtp_server.stalled
    claimed = OutboxMessage.objects.get(claimed_until__isnull=False)
    assert claimed.recipient == stalled_recipient
    assert claimed.sent_at is None
    assert claimed.attempts == 1
    assert claimed.claimed_until is not None and claimed.claimed_until > timezone.now() + timedelta(minutes=5)
    others = OutboxMessage.objects.exclude(pk=claimed.pk)
    assert list(others.values_list("attempts", "claimed_until", "sent_at")) == [(0, None, None)] * 2

    # A crash, not a shutdown: the worker, its pool process and its beat die at once.
    os.killpg(first_worker.process.pid, signal.SIGKILL)
    assert first_worker.process.wait(timeout=10) == -signal.SIGKILL
    # The pool process that held the SMTP connection is gone too.
    assert stalling_smtp_server.connection_dropped.wait(10), "the worker's SMTP connection is still open"
    # Nothing was recorded: the row is still claimed, unsent, with the one attempt that died.
    claimed.refresh_from_db()
    assert (claimed.sent_at, claimed.attempts, claimed.last_error) == (None, 1, "")

    celery_worker_process(broker_url=private_redis.url, email_url=smtp_server.url)
    # The fresh worker sends the unclaimed notices but leaves the claimed row alone while its
    # lease stands: the killed worker might as well be alive and slow.
    smtp_server.wait_for(len(REPORTERS) - 1, timeout=WAIT_SECONDS)
    time.sleep(SEVERAL_SWEEPS_SECONDS / 2)
    assert delivered(smtp_server) == expected - Counter([(claimed.recipient, claimed.subject)])
    claimed.refresh_from_db()
    assert claimed.sent_at is None and claimed.attempts == 1

    # This stands for the lease running out: a claim lasts at least 5 minutes (claim_seconds()),
    # too long to wait for in a test.
    lapsed = OutboxMessage.objects.filter(pk=claimed.pk, sent_at__isnull=True, claimed_until__isnull=False)
    assert lapsed.update(claimed_until=timezone.now() - timedelta(seconds=1)) == 1

    smtp_server.wait_for(len(REPORTERS), timeout=WAIT_SECONDS)
    # Several more sweeps and any late task: nothing arrives twice.
    time.sleep(SEVERAL_SWEEPS_SECONDS)
    assert delivered(smtp_server) == expected

    rows = {
        row["recipient"]: row
        for row in OutboxMessage.objects.values(
            "recipient", "sent_at", "body", "attempts", "claimed_until", "last_error", "failed_at"
        )
    }
    assert sorted(rows) == REPORTERS
    for recipient, row in rows.items():
        assert row["sent_at"] is not None, row
        assert row["body"] == "", row
        assert (row["claimed_until"], row["last_error"], row["failed_at"]) == (None, "", None), row
        # The killed attempt counts: the claimed notice took two attempts, the others one.
        assert row["attempts"] == (2 if recipient == claimed.recipient else 1), row
    assert stalling_smtp_server.stalled == [claimed.recipient], "the stalling server got another message"
