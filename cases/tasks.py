from celery import shared_task

from . import fulfilment, services


# Run by beat every TRUSTCENTER_CLOCK_REMINDER_SECONDS. Safe to run twice at once and after a
# crash: each reminder is claimed in the transaction that saves its e-mails (services).
@shared_task(name="cases.tasks.send_reminders")
def send_reminders() -> int:
    return services.send_clock_reminders() + services.remind_unconfirmed_requesters()


# Queued after the request commits, and again by the sweep; a build that is not this worker's
# to take returns at once (fulfilment.build_access_export claims it).
@shared_task(name="cases.tasks.build_access_export")
def build_access_export(export_id: int) -> int | None:
    export = fulfilment.build_access_export(export_id=export_id)
    return export.records if export else None


@shared_task(name="cases.tasks.sweep_access_exports")
def sweep_access_exports() -> dict[str, int]:
    return fulfilment.sweep_access_exports()


# Erasures left incomplete by a register in another database that did not answer.
@shared_task(name="cases.tasks.retry_erasures")
def retry_erasures() -> int:
    return fulfilment.retry_incomplete_erasures()
