from celery import shared_task
from django.db import DatabaseError

from . import services


# Retried only when the database fails it. A failing SMTP server is not an exception here: the
# row counts the attempt and waits out its backoff, and the sweep sends it when it is due, so a
# failing message is never retried twice over by the task and the sweep.
@shared_task(
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=services.TASK_RETRIES,
)
def send_outbox_message(message_id: int) -> bool:
    return services.deliver_outbox_message(message_id=message_id)


@shared_task
def sweep_outbox() -> int:
    return services.sweep_outbox()
