from celery import shared_task

from mla.accounts.security_events import security_event_email_deliver
from mla.core.mail import MAIL_TASK_OPTIONS


@shared_task(**MAIL_TASK_OPTIONS)
def security_event_email_send(event_id: int) -> None:
    security_event_email_deliver(event_id=event_id)
