from celery import shared_task

from mla.core.mail import MAIL_TASK_OPTIONS
from mla.notifications.services import notification_email_deliver


@shared_task(**MAIL_TASK_OPTIONS)
def notification_email_send(notification_id: int) -> None:
    # Redelivery (acks_late) and retries are safe: the service sends a notification once.
    notification_email_deliver(notification_id=notification_id)
