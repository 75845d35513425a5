from celery import shared_task

from . import services


@shared_task(name="consent.tasks.ask_for_renewals", acks_late=True)
def ask_for_renewals() -> int:
    """The daily renewal request (django-celery-beat, 09:00 Oslo time by default): each consent
    whose records' period ends within 30 days is asked, once, to be renewed."""
    return services.ask_for_renewals()


@shared_task(name="consent.tasks.seal_ledger", acks_late=True)
def seal_ledger() -> int:
    """Every minute (django-celery-beat): the events appended since the last run get their links
    in the ledger's hash chain."""
    return services.seal_ledger()
