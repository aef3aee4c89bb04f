"""How a task that sends one e-mail retries: the mail server refused or was unreachable for
now, so it is worth another try later, with a growing pause (at most five times)."""

import smtplib
import socket
from typing import Any

TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, ConnectionError, TimeoutError, socket.gaierror)

# Options of @shared_task for such a task. acks_late: a worker lost mid-send redelivers it;
# the services it calls send each e-mail once, so a redelivery or a retry is safe.
MAIL_TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": TRANSIENT_MAIL_ERRORS,
    "retry_backoff": 30,
    "retry_backoff_max": 30 * 60,
    "retry_jitter": True,
    "max_retries": 5,
}
