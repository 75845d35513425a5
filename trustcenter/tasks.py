from celery import shared_task

from . import services


@shared_task(
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=services.TASK_RETRIES,
)
def send_outbox_message(message_id: int) -> bool:
    return services.deliver_outbox_message(message_id=message_id)


@shared_task
def sweep_outbox() -> int:
    return services.sweep_outbox()
