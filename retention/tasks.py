from celery import shared_task

from . import services
from .models import Trigger


@shared_task(name="retention.tasks.purge", acks_late=True)
def purge() -> int:
    """The scheduled purge (django-celery-beat, daily at 02:00 Oslo time by default)."""
    return services.run_purge(trigger=Trigger.SCHEDULE).pk


@shared_task(name="retention.tasks.purge_now", acks_late=True)
def purge_now(requested_by_id: int | None = None) -> int:
    """A purge started from the admin's button."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    return services.run_purge(trigger=Trigger.MANUAL, requested_by=user).pk
