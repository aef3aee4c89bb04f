import smtplib
import socket

from celery import shared_task

from mla.accounts.security_events import security_event_email_deliver

TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, ConnectionError, TimeoutError, socket.gaierror)


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT_MAIL_ERRORS,
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=5,
)
def security_event_email_send(event_id: int) -> None:
    security_event_email_deliver(event_id=event_id)
