from celery import shared_task

from mla.accounts.administration import account_link_email_deliver
from mla.accounts.security_events import security_event_email_deliver
from mla.core.mail import MAIL_TASK_OPTIONS


@shared_task(**MAIL_TASK_OPTIONS)
def security_event_email_send(event_id: int) -> None:
    security_event_email_deliver(event_id=event_id)


@shared_task(**MAIL_TASK_OPTIONS)
def account_link_email_send(link_id: int) -> None:
    # Redelivery (acks_late) and retries are safe: the service e-mails a link once.
    account_link_email_deliver(link_id=link_id)
