"""Two purges at once on PostgreSQL: every expired row is deleted exactly once, by one run or the
other, and nothing else is touched (rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from registers.models import Lead, VisitorRegistration
from retention import queries, services
from retention.models import RetentionRun, RunStatus, Trigger
from tests.conftest import need
from tests.retention import records

pytestmark = pytest.mark.django_db(transaction=True)

EXPIRED_PER_REGISTER = 150
KEPT_PER_REGISTER = 20


def test_two_runs_at_once_delete_every_expired_row_exactly_once():
    need(connection.vendor == "postgresql", "PostgreSQL")
    today = queries.local_today()
    lead_cutoff = records.cutoff("leads", today)
    visitor_cutoff = records.cutoff("visitors", today)
    expired: set[tuple[str, int]] = set()
    kept: dict[tuple[str, int], tuple] = {}
    for _ in range(EXPIRED_PER_REGISTER):
        expired.add(("lead", records.lead(lead_cutoff - timedelta(days=_ % 40)).pk))
        expired.add(("visitor", records.visitor(visitor_cutoff - timedelta(days=_ % 40)).pk))
    for _ in range(KEPT_PER_REGISTER):
        lead = records.lead(lead_cutoff + timedelta(days=1), late=False)
        visitor = records.visitor(visitor_cutoff + timedelta(days=1), late=False)
        kept[("lead", lead.pk)] = (lead.full_name, lead.email, lead.phone)
        kept[("visitor", visitor.pk)] = (visitor.full_name, visitor.email, visitor.phone)

    start = threading.Barrier(2)
    runs: list[RetentionRun] = []
    errors: list[BaseException] = []

    def purge():
        try:
            start.wait(timeout=30)
            runs.append(
                services.run_purge(
                    trigger=Trigger.MANUAL,
                    categories=["leads", "visitors"],
                    batch_size=7,
                    pause_seconds=0.01,
                    today=today,
                )
            )
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert len(runs) == 2

    for run in runs:
        run.refresh_from_db()
        assert run.status == RunStatus.FINISHED, run.error
        assert run.totals()["failed"] == 0
    first, second = sorted(runs, key=lambda run: run.started_at)
    # They did run at once: the second started before the first finished.
    assert second.started_at < first.finished_at
    deleted = [run.totals()["deleted"] for run in runs]
    assert sum(deleted) == len(expired), deleted
    # Both took a share: the runs overlapped in their batches, not only in their start.
    assert all(count > 0 for count in deleted), deleted

    left = {("lead", pk) for pk in Lead.objects.values_list("pk", flat=True)} | {
        ("visitor", pk) for pk in VisitorRegistration.objects.values_list("pk", flat=True)
    }
    assert left == set(kept)
    for (kind, pk), before in kept.items():
        model = Lead if kind == "lead" else VisitorRegistration
        row = model.objects.get(pk=pk)
        assert (row.full_name, row.email, row.phone) == before
