from datetime import timedelta

import pytest
from django.utils import timezone

from mla.notifications.kinds import NOT_EMAILED_BY_DEFAULT, Kind
from mla.notifications.selectors import (
    email_kinds_for_user,
    notification_for_user,
    notifications_for_user,
    unread_count,
    users_wanting_email,
)
from mla.notifications.services import email_preferences_set
from tests.support.factories import NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_unread_count_counts_only_the_users_unread(django_assert_num_queries):
    user = UserFactory()
    NotificationFactory.create_batch(3, recipient=user)
    NotificationFactory(recipient=user, read_at=timezone.now())
    NotificationFactory()

    with django_assert_num_queries(1):
        assert unread_count(user=user) == 3


def test_the_inbox_lists_the_users_notifications_newest_first():
    user = UserFactory()
    now = timezone.now()
    old = NotificationFactory(recipient=user, created_at=now - timedelta(days=2))
    new = NotificationFactory(recipient=user, created_at=now)
    middle = NotificationFactory(recipient=user, created_at=now - timedelta(days=1), read_at=now)
    NotificationFactory()

    assert list(notifications_for_user(user=user)) == [new, middle, old]


def test_another_users_notification_is_not_found():
    mine = NotificationFactory()

    assert notification_for_user(user=mine.recipient, notification_id=mine.pk) == mine
    assert notification_for_user(user=UserFactory(), notification_id=mine.pk) is None


def test_email_kinds_follow_the_defaults_until_the_user_chooses():
    user = UserFactory()

    assert email_kinds_for_user(user=user) == set(Kind.values) - NOT_EMAILED_BY_DEFAULT
    email_preferences_set(user=user, kinds=[Kind.REQUEST_STATE_CHANGED])
    assert email_kinds_for_user(user=user) == {"request_state_changed"}


def test_users_wanting_email_for_a_kind():
    default, opted_out = UserFactory(), UserFactory()
    email_preferences_set(user=opted_out, kinds=[])
    ids = [default.pk, opted_out.pk]

    assert users_wanting_email(user_ids=ids, kind=Kind.DELIVERY_FAILED) == {default.pk}
    assert users_wanting_email(user_ids=ids, kind=Kind.REQUEST_STATE_CHANGED) == set()
