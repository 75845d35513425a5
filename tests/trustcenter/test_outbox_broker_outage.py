"""Issue 3, point 18: a broker outage delays notices; it never loses a submission or a notice.

A Redis server of the test's own is the broker of this process and of a real Celery worker (with
embedded beat) that sends to a real SMTP server. The test stops that Redis while reports arrive.
"""

import logging
import time
from collections import Counter

import pytest
from django.test import Client

from cases.models import Case
from tests.services import celery_broker
from trustcenter.models import OutboxMessage

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

RECEIVED = "Your message has been received"
SLOW_REQUEST_SECONDS = 10
WAIT_SECONDS = 60


def report_identified(client: Client, *, email: str):
    started = time.monotonic()
    response = client.post(
        "/en/report/",
        {
            "case_type": "general_inquiry",
            "identity": "identified",
            "reporter_name": "Kari Nordmann",
            "reporter_email": email,
            "wants_notices": "on",
            "message": "Do you keep my CV after the position is filled?",
            "website": "",
        },
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.content.decode()[:2000]
    assert RECEIVED in response.content.decode()
    assert 'id="receipt-code"' in response.content.decode()
    assert elapsed < SLOW_REQUEST_SECONDS, f"the report took {elapsed:.1f} s"
    return response


def recipients(mails) -> list[str]:
    return [recipient for mail in mails for recipient in mail.recipients]


def not_queued_warnings(caplog) -> int:
    return sum("not queued (broker unavailable)" in record.getMessage() for record in caplog.records)


def test_every_report_is_saved_and_every_notice_sent_once_across_a_broker_outage(
    settings, caplog, smtp_server, private_redis, celery_worker_process
):
    caplog.set_level(logging.WARNING, logger="trustcenter.services")
    settings.TRUSTCENTER_SUBMISSIONS_PER_HOUR = 100
    worker = celery_worker_process(broker_url=private_redis.url, email_url=smtp_server.url)
    client = Client()
    before = [f"before-{number}@example.com" for number in range(3)]
    during = [f"during-{number}@example.com" for number in range(3)]

    with celery_broker(private_redis.url):
        for address in before:
            report_identified(client, email=address)
        assert sorted(recipients(smtp_server.wait_for(len(before), timeout=WAIT_SECONDS))) == before
        assert not_queued_warnings(caplog) == 0, "this process does not publish to the private Redis"

        private_redis.stop()
        for number, address in enumerate(during, start=1):
            report_identified(client, email=address)
            assert Case.objects.count() == len(before) + number
            assert not_queued_warnings(caplog) == number
        # The outage is real: nothing can reach the worker, so these notices wait in the outbox.
        time.sleep(3)
        assert len(smtp_server.received) == len(before)
        pending = OutboxMessage.objects.filter(sent_at__isnull=True).values_list("recipient", flat=True)
        assert sorted(pending) == during

        private_redis.start()
        smtp_server.wait_for(len(before) + len(during), timeout=WAIT_SECONDS)

    # Long enough for several more sweeps (every 2 s) and any late task: nothing is sent twice.
    time.sleep(6)
    delivered = Counter(recipients(smtp_server.received))
    assert delivered == Counter(before + during)
    assert Case.objects.count() == len(before) + len(during)
    assert sorted(Case.objects.values_list("reporter_email", flat=True)) == sorted(before + during)
    messages = list(OutboxMessage.objects.values_list("recipient", "sent_at", "attempts"))
    assert sorted(recipient for recipient, _sent_at, _attempts in messages) == sorted(before + during)
    assert all(sent_at is not None for _recipient, sent_at, _attempts in messages), messages
    assert all(attempts == 1 for _recipient, _sent_at, attempts in messages), messages
    assert worker.process.poll() is None, "the worker died"
