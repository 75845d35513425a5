from celery import shared_task

from . import services


# Run by beat every TRUSTCENTER_CLOCK_REMINDER_SECONDS. Safe to run twice at once and after a
# crash: each reminder is claimed in the transaction that saves its e-mails (services).
@shared_task(name="cases.tasks.send_reminders")
def send_reminders() -> int:
    return services.send_clock_reminders() + services.remind_unconfirmed_requesters()
