import smtplib
import socket

from celery import shared_task

from mla.notifications.services import notification_email_deliver

# Worth another try later: the mail server refused or was unreachable for now.
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, ConnectionError, TimeoutError, socket.gaierror)


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT_MAIL_ERRORS,
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=5,
)
def notification_email_send(notification_id: int) -> None:
    # Redelivery (acks_late) and retries are safe: the service sends a notification once.
    notification_email_deliver(notification_id=notification_id)
