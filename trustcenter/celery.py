import os

from celery import Celery, states
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections, connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustcenter.settings")

app = Celery("trustcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Database connections in the worker. Celery's Django fixup closes them before and after every
# task (celery#9824), so each task opened a new PostgreSQL session and warmed its catalogue cache
# again: a quarter of an access export's time. With CELERY_DB_REUSE_MAX (settings) it closes
# them only every so many tasks; between those, a task's connections follow the rules of a web
# request (close_old_connections: CONN_MAX_AGE, health checks), and a task that did not succeed
# has its connections closed at once, as Celery would (one interrupted mid-query can look usable).
# Eager tasks (tests) run inside the caller's transaction: theirs are left alone.
@task_prerun.connect
def _connections_before_task(task=None, **kwargs) -> None:
    if not getattr(task.request, "is_eager", False):
        close_old_connections()


@task_postrun.connect
def _connections_after_task(task=None, state=None, **kwargs) -> None:
    if getattr(task.request, "is_eager", False):
        return
    if state == states.SUCCESS:
        close_old_connections()
    else:
        connections.close_all()
