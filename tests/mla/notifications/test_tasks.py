import smtplib

import pytest
from celery.exceptions import Retry

from mla.celery import app as celery_app
from mla.notifications import services
from mla.notifications.tasks import notification_email_send
from tests.support.factories import NotificationFactory


def test_the_worker_finds_the_task():
    celery_app.loader.import_default_modules()

    assert celery_app.tasks["mla.notifications.tasks.notification_email_send"].name == (
        notification_email_send.name
    )


def test_the_task_is_acknowledged_late_and_retries_mail_errors_with_jittered_backoff():
    assert notification_email_send.acks_late is True
    assert smtplib.SMTPException in notification_email_send.autoretry_for
    assert ConnectionError in notification_email_send.autoretry_for
    assert notification_email_send.max_retries == 5
    assert notification_email_send.retry_backoff
    assert notification_email_send.retry_jitter is True


@pytest.mark.django_db
def test_the_task_sends_the_email_once(mailoutbox):
    notification = NotificationFactory()

    notification_email_send(notification.pk)
    notification_email_send(notification.pk)  # delivered again (acks_late)

    assert len(mailoutbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at is not None


@pytest.mark.django_db
def test_a_mail_server_error_is_retried_later(monkeypatch, mailoutbox):
    # The task is called here rather than applied: apply() would cache the app's disabled
    # result backend in this thread, which the Redis worker test of mla.core then finds.
    notification = NotificationFactory()
    retried: list[dict[str, object]] = []

    def refuse(**kwargs: object) -> int:
        raise smtplib.SMTPServerDisconnected("connection lost")

    def retry(**kwargs: object) -> Retry:
        retried.append(kwargs)
        return Retry()

    monkeypatch.setattr(services, "send_mail", refuse)
    monkeypatch.setattr(notification_email_send, "retry", retry)

    with pytest.raises(Retry):
        notification_email_send(notification.pk)

    (retry_options,) = retried
    assert isinstance(retry_options["exc"], smtplib.SMTPServerDisconnected)
    assert 0 <= retry_options["countdown"] <= 30  # first backoff step, jittered
    notification.refresh_from_db()
    assert notification.emailed_at is None
