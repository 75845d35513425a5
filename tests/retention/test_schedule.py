"""The purge runs on a django-celery-beat schedule, daily at 02:00 Oslo time by default and
editable in the admin (issue 11, point 9); the scheduled task is the engine's scheduled run."""

import pytest
from django_celery_beat.models import PeriodicTask

from retention import tasks
from retention.models import RetentionRun, Trigger

pytestmark = pytest.mark.django_db


def test_the_purge_is_scheduled_daily_at_two_oslo_time():
    task = PeriodicTask.objects.get(task="retention.tasks.purge")
    assert task.enabled
    crontab = task.crontab
    assert (
        crontab.minute,
        crontab.hour,
        crontab.day_of_week,
        crontab.day_of_month,
        crontab.month_of_year,
    ) == (
        "0",
        "2",
        "*",
        "*",
        "*",
    )
    assert str(crontab.timezone) == "Europe/Oslo"


def test_the_scheduled_task_runs_the_purge_as_a_scheduled_run():
    run_id = tasks.purge.delay().get()
    run = RetentionRun.objects.get(pk=run_id)
    assert (run.trigger, run.status) == (Trigger.SCHEDULE, "finished")
    assert run.finished_at is not None
