"""A purge whose worker is killed in the middle: the next run finishes the work, and the log is
consistent (the killed run is marked interrupted with exactly what it deleted).

A real Celery worker on a Redis of the test's own runs `retention.tasks.purge` over a few
thousand expired leads, in small batches with a pause (its settings come from the environment,
which the worker fixture passes on). Once some batches are done, the test kills the worker's
whole process group with SIGKILL, lets the run's lease lapse, and purges again in this process.
"""

import os
import signal
import time
from datetime import timedelta

import pytest

from registers.models import Lead
from retention import queries, services, tasks
from retention.models import RetentionRun, RunStatus, Trigger
from tests.retention import records
from tests.services import celery_broker, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

EXPIRED = 3000
KEPT = 200
BATCH_SIZE = 40
LEASE_SECONDS = 3


def test_a_worker_killed_mid_purge_leaves_a_consistent_log_and_the_next_run_finishes(
    monkeypatch, settings, private_redis, smtp_server, celery_worker_process
):
    today = queries.local_today()
    cutoff = records.cutoff("leads", today)
    Lead.objects.bulk_create(
        Lead(
            created_at=records.at_local(cutoff - timedelta(days=number % 300)),
            full_name=f"Expired Person {number}",
            email=f"expired.{number}@example.com",
        )
        for number in range(EXPIRED)
    )
    Lead.objects.bulk_create(
        Lead(
            created_at=records.first_moment(cutoff + timedelta(days=1 + number % 300)),
            full_name=f"Kept Person {number}",
            email=f"kept.{number}@example.com",
        )
        for number in range(KEPT)
    )
    expired = set(Lead.objects.filter(full_name__startswith="Expired").values_list("pk", flat=True))
    kept = dict(Lead.objects.filter(full_name__startswith="Kept").values_list("pk", "email"))
    assert (len(expired), len(kept)) == (EXPIRED, KEPT)

    # Read by the worker's settings (tests/services.py passes this process's environment on).
    monkeypatch.setenv("TRUSTCENTER_RETENTION_BATCH_SIZE", str(BATCH_SIZE))
    monkeypatch.setenv("TRUSTCENTER_RETENTION_PAUSE_SECONDS", "0.1")
    monkeypatch.setenv("TRUSTCENTER_RETENTION_RUN_LEASE_SECONDS", str(LEASE_SECONDS))
    worker = celery_worker_process(broker_url=private_redis.url, email_url=smtp_server.url)
    with celery_broker(private_redis.url):
        tasks.purge.delay()

    def expired_left() -> int:
        return Lead.objects.filter(pk__in=expired).count()

    # Some batches are done, most are not.
    wait_until(lambda: expired_left() <= EXPIRED - 5 * BATCH_SIZE, timeout=60, what="the purge to start")
    os.killpg(worker.process.pid, signal.SIGKILL)
    assert worker.process.wait(timeout=10) == -signal.SIGKILL

    left_after_kill = expired_left()
    time.sleep(1)
    assert expired_left() == left_after_kill, "rows still went after the worker was killed"
    assert 0 < left_after_kill < EXPIRED
    [killed] = RetentionRun.objects.all()
    assert (killed.status, killed.trigger, killed.finished_at) == (RunStatus.RUNNING, Trigger.SCHEDULE, None)
    killed_deleted = EXPIRED - left_after_kill
    # Each batch's counters commit with its deletions: the log matches the database exactly.
    assert killed.totals()["deleted"] == killed_deleted
    assert killed.steps.get(category="leads").deleted == killed_deleted

    # While its lease stands the killed run could as well be alive and slow: it is left alone.
    settings.TRUSTCENTER_RETENTION_RUN_LEASE_SECONDS = 600
    assert services.mark_stale_runs_interrupted() == 0
    settings.TRUSTCENTER_RETENTION_RUN_LEASE_SECONDS = LEASE_SECONDS
    time.sleep(LEASE_SECONDS + 0.5)
    second = services.run_purge(trigger=Trigger.MANUAL, pause_seconds=0, batch_size=500, today=today)

    killed.refresh_from_db()
    assert killed.status == RunStatus.INTERRUPTED
    assert killed.finished_at is not None and killed.finished_at <= second.started_at
    assert killed.totals()["deleted"] == killed_deleted
    assert second.status == RunStatus.FINISHED, second.error
    assert second.totals()["deleted"] == left_after_kill
    assert killed.totals()["deleted"] + second.totals()["deleted"] == EXPIRED
    assert RetentionRun.objects.count() == 2

    assert expired_left() == 0
    assert dict(Lead.objects.values_list("pk", "email")) == kept
