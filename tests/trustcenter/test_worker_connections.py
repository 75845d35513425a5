"""A worker's database connection between tasks (trustcenter.celery): Celery's Django fixup no
longer closes it after every task (CELERY_DB_REUSE_MAX), so a task that succeeded leaves it
open for the next, for as long as CONN_MAX_AGE allows; a task that failed has it closed.

Each test plays one task as the worker runs it, with the fixup's own handlers and ours and the
real database connection: the fixup's prerun, ours, a query, the fixup's postrun, ours."""

import pytest
from celery import states
from celery.fixups.django import DjangoWorkerFixup  # type: ignore[attr-defined]  # not in celery-types
from celery.signals import task_postrun, task_prerun
from django.db import connection

from trustcenter.celery import app
from trustcenter.tasks import sweep_outbox

pytestmark = pytest.mark.django_db(transaction=True)


def run_task(fixup: DjangoWorkerFixup, *, state: str) -> None:
    fixup.on_task_prerun(sender=sweep_outbox)
    task_prerun.send(sender=sweep_outbox, task_id="t", task=sweep_outbox, args=(), kwargs={})
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    fixup.on_task_postrun(sender=sweep_outbox)
    task_postrun.send(sender=sweep_outbox, task_id="t", task=sweep_outbox, args=(), kwargs={}, state=state)


def test_a_task_that_succeeded_leaves_the_connection_for_the_next():
    fixup = DjangoWorkerFixup(app)
    connection.ensure_connection()
    opened = connection.connection

    run_task(fixup, state=states.SUCCESS)
    run_task(fixup, state=states.SUCCESS)

    assert connection.connection is opened
    assert connection.is_usable()


def test_a_task_that_failed_has_its_connection_closed():
    fixup = DjangoWorkerFixup(app)
    connection.ensure_connection()

    run_task(fixup, state=states.FAILURE)

    assert connection.connection is None


def test_a_connection_older_than_conn_max_age_is_closed_after_a_task(settings):
    fixup = DjangoWorkerFixup(app)
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"], kept = 0, connection.settings_dict["CONN_MAX_AGE"]
    try:
        connection.ensure_connection()  # close_at is set when the connection opens

        run_task(fixup, state=states.SUCCESS)

        assert connection.connection is None
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = kept


def test_without_the_setting_the_fixup_would_close_it_after_every_task(settings):
    settings.CELERY_DB_REUSE_MAX = None
    app.conf.db_reuse_max, kept = None, app.conf.get("db_reuse_max")
    try:
        fixup = DjangoWorkerFixup(app)
        connection.ensure_connection()

        run_task(fixup, state=states.SUCCESS)

        assert connection.connection is None  # what the setting is for
    finally:
        app.conf.db_reuse_max = kept
