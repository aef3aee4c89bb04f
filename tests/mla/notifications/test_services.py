import smtplib
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from mla.core.errors import ApplicationError
from mla.notifications import services, tasks
from mla.notifications.kinds import Kind
from mla.notifications.models import Notification
from mla.notifications.services import (
    email_preferences_set,
    notification_email_deliver,
    notification_mark_all_read,
    notification_mark_read,
    notification_send,
)
from tests.support.factories import NotificationFactory, UserFactory


def _send(recipients: list[Any], **overrides: Any) -> list[Notification]:
    arguments: dict[str, Any] = {
        "recipients": recipients,
        "kind": Kind.REQUEST_RECEIVED,
        "subject": "New request received: EIO-1",
        "body": "Parquet de Paris sent it.",
        "url": "/requests/EIO-1/",
    }
    return notification_send(**{**arguments, **overrides})


# --- Sending ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_notifies_each_active_recipient_once():
    first, second = UserFactory(), UserFactory()
    retired = UserFactory(is_active=False)

    created = _send([first, second, retired, first])

    assert {n.recipient for n in created} == {first, second}
    assert all(n.pk for n in created)
    assert Notification.objects.count() == 2
    stored = Notification.objects.get(recipient=first)
    assert stored.kind == "request_received"
    assert stored.subject == "New request received: EIO-1"
    assert stored.url == "/requests/EIO-1/"
    assert stored.read_at is None
    assert stored.emailed_at is None


@pytest.mark.django_db
def test_the_same_dedupe_key_notifies_a_recipient_only_once():
    user = UserFactory()

    first = _send([user], kind=Kind.DEADLINE_APPROACHING, dedupe_key="deadline:7:level:1")
    again = _send([user], kind=Kind.DEADLINE_APPROACHING, dedupe_key="deadline:7:level:1")

    assert len(first) == 1
    assert again == []
    assert Notification.objects.filter(recipient=user).count() == 1


@pytest.mark.django_db
def test_a_dedupe_key_is_per_recipient_and_a_new_key_notifies_again():
    old, newcomer = UserFactory(), UserFactory()
    _send([old], dedupe_key="deadline:7:level:1")

    created = _send([old, newcomer], dedupe_key="deadline:7:level:1")
    escalated = _send([old, newcomer], dedupe_key="deadline:7:level:2")

    assert [n.recipient for n in created] == [newcomer]
    assert {n.recipient for n in escalated} == {old, newcomer}
    assert Notification.objects.count() == 4


@pytest.mark.django_db
def test_without_a_dedupe_key_every_send_notifies():
    user = UserFactory()

    _send([user])
    _send([user])

    assert Notification.objects.filter(recipient=user).count() == 2


@pytest.mark.django_db
def test_a_long_subject_is_kept_to_one_line_that_fits():
    user = UserFactory()

    (created,) = _send([user], subject="Line one\nline two " + "x" * 300)

    created.refresh_from_db()
    assert "\n" not in created.subject
    assert created.subject.startswith("Line one line two")
    assert len(created.subject) == 255


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        {"kind": "no_such_kind"},
        {"url": "https://evil.example/"},
        {"url": "//evil.example/path"},
        {"url": "javascript:alert(1)"},
        {"url": "/" + "x" * 500},
        {"dedupe_key": "k" * 201},
    ],
)
def test_an_unknown_kind_a_link_off_the_site_or_an_oversized_value_is_refused(overrides):
    user = UserFactory()

    with pytest.raises(ApplicationError):
        _send([user], **overrides)

    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_nothing_is_queued_before_the_commit(django_capture_on_commit_callbacks, mailoutbox):
    user = UserFactory()

    with django_capture_on_commit_callbacks() as callbacks:
        _send([user])

    assert len(callbacks) == 1
    assert mailoutbox == []


# --- Racing senders (real transactions on PostgreSQL) -------------------------------------


def _in_threads(count: int, work: Callable[[], Any]) -> list[Any]:
    """Run ``work`` in ``count`` threads released together; their results, or errors."""
    start = threading.Barrier(count)
    results: list[Any] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            results.append(work())
        except Exception as error:  # reported by the assertion of the test
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_processes_sending_the_same_key_at_once_create_one_notification(monkeypatch):
    user = UserFactory()
    queued: list[int] = []
    monkeypatch.setattr(tasks.notification_email_send, "delay", queued.append)
    inserting = services.Notification.save

    def slow_save(self: Notification, *args: Any, **kwargs: Any) -> None:
        inserting(self, *args, **kwargs)
        # Hold the transaction open so that the other sender's INSERT meets this row.
        threading.Event().wait(0.3)

    monkeypatch.setattr(services.Notification, "save", slow_save)

    results = _in_threads(
        2, lambda: _send([user], kind=Kind.DEADLINE_MISSED, dedupe_key="deadline:9:missed")
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(len(r) for r in results) == [0, 1]
    assert Notification.objects.filter(recipient=user).count() == 1
    assert queued == [Notification.objects.get().pk]  # one e-mail, from the row's creator


# --- E-mail copies ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_recipient_gets_an_email_copy_after_commit(
    django_capture_on_commit_callbacks, mailoutbox, tasks_run_at_once, settings
):
    settings.SITE_URL = "https://mla.example.org"
    settings.EMAIL_SUBJECT_PREFIX = "[Node] "
    user = UserFactory(email="camille@justice.example")

    with django_capture_on_commit_callbacks(execute=True):
        (created,) = _send([user])

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["camille@justice.example"]
    assert message.subject == "[Node] New request received: EIO-1"
    assert "Parquet de Paris sent it." in message.body
    assert "https://mla.example.org/requests/EIO-1/" in message.body
    assert "https://mla.example.org/notifications/preferences/" in message.body
    created.refresh_from_db()
    assert created.emailed_at is not None


@pytest.mark.django_db
def test_email_preferences_and_defaults_decide_who_gets_an_email(
    django_capture_on_commit_callbacks, mailoutbox, tasks_run_at_once
):
    default = UserFactory()
    opted_out = UserFactory()
    email_preferences_set(user=opted_out, kinds=[Kind.DEADLINE_MISSED])
    opted_in = UserFactory()
    email_preferences_set(user=opted_in, kinds=[Kind.REQUEST_RECEIVED, Kind.REQUEST_STATE_CHANGED])
    no_address = UserFactory(email="")

    with django_capture_on_commit_callbacks(execute=True):
        received = _send([default, opted_out, opted_in, no_address])
        changed = _send(
            [default, opted_out, opted_in, no_address],
            kind=Kind.REQUEST_STATE_CHANGED,
            subject="EIO-1 is now “executed”",
        )

    assert len(received) == len(changed) == 4  # everyone has it in their inbox
    sent = sorted((m.to[0], m.subject.endswith("executed”")) for m in mailoutbox)
    assert sent == sorted(
        [
            (default.email, False),  # request_received: e-mailed by default
            (opted_in.email, False),
            (opted_in.email, True),  # request_state_changed: only when asked for
        ]
    )


@pytest.mark.django_db
def test_a_duplicate_send_queues_no_second_email(django_capture_on_commit_callbacks):
    user = UserFactory()
    _send([user], dedupe_key="once")

    with django_capture_on_commit_callbacks() as callbacks:
        _send([user], dedupe_key="once")

    assert callbacks == []


@pytest.mark.django_db
def test_deliver_sends_once_however_often_it_runs(mailoutbox):
    notification = NotificationFactory()

    assert notification_email_deliver(notification_id=notification.pk) is True
    assert notification_email_deliver(notification_id=notification.pk) is False

    assert len(mailoutbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at is not None


@pytest.mark.django_db
def test_deliver_skips_what_no_longer_applies(mailoutbox):
    gone = NotificationFactory()
    gone_id = gone.pk
    gone.delete()
    inactive = NotificationFactory(recipient=UserFactory(is_active=False))
    changed_mind = NotificationFactory()
    email_preferences_set(user=changed_mind.recipient, kinds=[])

    assert notification_email_deliver(notification_id=gone_id) is False
    assert notification_email_deliver(notification_id=inactive.pk) is False
    assert notification_email_deliver(notification_id=changed_mind.pk) is False
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_link_off_the_site_is_never_put_in_an_email(mailoutbox, settings):
    settings.SITE_URL = "https://mla.example.org"
    notification = NotificationFactory(url="https://evil.example/")

    notification_email_deliver(notification_id=notification.pk)

    assert "evil.example" not in mailoutbox[0].body


@pytest.mark.django_db
def test_a_failed_delivery_leaves_the_notification_to_be_sent_again(monkeypatch, mailoutbox):
    notification = NotificationFactory()

    def refuse(**kwargs: Any) -> int:
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr(services, "send_mail", refuse)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        notification_email_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.emailed_at is None

    monkeypatch.undo()
    assert notification_email_deliver(notification_id=notification.pk) is True
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_at_once_send_one_email(monkeypatch, mailoutbox):
    notification = NotificationFactory()
    real_send_mail = services.send_mail

    def slow_send_mail(**kwargs: Any) -> int:
        # A slow mail server: the other worker reaches the row while this one sends.
        threading.Event().wait(0.3)
        return real_send_mail(**kwargs)

    monkeypatch.setattr(services, "send_mail", slow_send_mail)

    results = _in_threads(2, lambda: notification_email_deliver(notification_id=notification.pk))

    assert sorted(results) == [False, True]
    assert len(mailoutbox) == 1


# --- Reading ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_recipient_marks_a_notification_read_and_the_first_time_stays():
    notification = NotificationFactory()

    notification_mark_read(notification=notification, actor=notification.recipient)
    first = notification.read_at
    notification_mark_read(notification=notification, actor=notification.recipient)

    notification.refresh_from_db()
    assert first is not None
    assert notification.read_at == first


@pytest.mark.django_db
def test_nobody_else_marks_a_notification_read():
    notification = NotificationFactory()

    with pytest.raises(ApplicationError):
        notification_mark_read(notification=notification, actor=UserFactory())

    notification.refresh_from_db()
    assert notification.read_at is None


@pytest.mark.django_db
def test_mark_all_read_counts_and_touches_only_the_actors_unread():
    user = UserFactory()
    earlier = timezone.now() - timedelta(days=1)
    NotificationFactory.create_batch(2, recipient=user)
    already = NotificationFactory(recipient=user, read_at=earlier)
    someone_elses = NotificationFactory()

    assert notification_mark_all_read(actor=user) == 2

    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    already.refresh_from_db()
    assert already.read_at == earlier
    someone_elses.refresh_from_db()
    assert someone_elses.read_at is None


# --- Preferences --------------------------------------------------------------------------


@pytest.mark.django_db
def test_preferences_refuse_an_unknown_kind_and_change_nothing():
    user = UserFactory()

    with pytest.raises(ApplicationError) as refused:
        email_preferences_set(user=user, kinds=[Kind.DEADLINE_MISSED, "no_such_kind"])

    assert refused.value.extra == {"kinds": ["no_such_kind"]}
    assert not user.email_preferences.exists()


@pytest.mark.django_db
def test_preferences_can_be_changed_again():
    user = UserFactory()

    email_preferences_set(user=user, kinds=[Kind.DEADLINE_MISSED])
    email_preferences_set(user=user, kinds=[Kind.REQUEST_SHARED])

    emailed = set(user.email_preferences.filter(email=True).values_list("kind", flat=True))
    assert emailed == {"request_shared"}
    assert user.email_preferences.count() == len(Kind.values)
