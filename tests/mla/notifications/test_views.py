from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from mla.notifications.context_processors import unread_notifications
from mla.notifications.kinds import NOT_EMAILED_BY_DEFAULT, Kind
from mla.notifications.models import EmailPreference, Notification
from mla.notifications.views import PAGE_SIZE
from tests.support.factories import NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def test_the_inbox_shows_the_users_notifications_unread_ones_marked(signed_in, user):
    now = timezone.now()
    NotificationFactory(recipient=user, subject="EIO-1 awaits your validation", created_at=now)
    NotificationFactory(
        recipient=user,
        subject="EIO-0 was returned for changes",
        created_at=now - timedelta(hours=1),
        read_at=now,
    )
    NotificationFactory(subject="Somebody else's notification")

    response = signed_in.get(reverse("notifications:inbox"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "EIO-1 awaits your validation" in page
    assert "EIO-0 was returned for changes" in page
    assert "Somebody else" not in page
    unread, read = response.context["page"].object_list
    assert not unread.is_read
    assert read.is_read
    assert page.count('class="notification unread"') == 1
    assert page.count('class="notification read"') == 1


def test_the_inbox_is_paginated_newest_first(signed_in, user):
    now = timezone.now()
    for age in range(PAGE_SIZE + 1):
        NotificationFactory(
            recipient=user, subject=f"n{age}", created_at=now - timedelta(hours=age)
        )

    first = signed_in.get(reverse("notifications:inbox"))
    second = signed_in.get(reverse("notifications:inbox"), {"page": 2})

    assert first.context["page"].object_list[0].subject == "n0"
    assert [n.subject for n in second.context["page"].object_list] == [f"n{PAGE_SIZE}"]


def test_opening_a_notification_marks_it_read_and_follows_its_link(signed_in, user):
    notification = NotificationFactory(recipient=user, url="/requests/EIO-1/")

    response = signed_in.post(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/requests/EIO-1/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_needs_a_post(signed_in, user):
    notification = NotificationFactory(recipient=user)

    response = signed_in.get(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


@pytest.mark.parametrize(
    "url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""]
)
def test_a_link_off_the_site_is_not_followed(signed_in, user, url):
    notification = NotificationFactory(recipient=user, url=url)

    response = signed_in.post(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox")
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_another_users_notification_answers_404(signed_in):
    theirs = NotificationFactory()

    response = signed_in.post(reverse("notifications:open", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read(signed_in, user):
    NotificationFactory.create_batch(2, recipient=user)
    theirs = NotificationFactory()

    response = signed_in.post(reverse("notifications:mark_all_read"), follow=True)

    assert "2 notifications marked as read." in response.content.decode()
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_preferences_form_shows_the_defaults_and_saves_a_choice(signed_in, user):
    url = reverse("notifications:preferences")

    shown = signed_in.get(url)
    assert set(shown.context["form"].initial["kinds"]) == (
        set(Kind.values) - NOT_EMAILED_BY_DEFAULT
    )
    assert "A request awaits your validation" in shown.content.decode()

    response = signed_in.post(
        url, {"kinds": [Kind.DEADLINE_MISSED, Kind.REQUEST_STATE_CHANGED]}, follow=True
    )

    assert "Your e-mail preferences are saved." in response.content.decode()
    emailed = EmailPreference.objects.filter(user=user, email=True)
    assert set(emailed.values_list("kind", flat=True)) == {
        "deadline_missed",
        "request_state_changed",
    }


def test_the_preferences_form_refuses_an_unknown_kind(signed_in, user):
    response = signed_in.post(reverse("notifications:preferences"), {"kinds": ["no_such_kind"]})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not EmailPreference.objects.filter(user=user).exists()


def test_the_header_shows_the_unread_count(signed_in, user):
    NotificationFactory.create_batch(3, recipient=user)
    NotificationFactory(recipient=user, read_at=timezone.now())

    page = signed_in.get(reverse("core:home")).content.decode()

    assert 'class="notifications-link"' in page
    assert 'aria-label="3 unread">3</span>' in page


def test_the_header_shows_no_badge_when_all_is_read(signed_in, user):
    NotificationFactory(recipient=user, read_at=timezone.now())

    page = signed_in.get(reverse("core:home")).content.decode()

    assert 'class="notifications-link"' in page
    assert "unread" not in page


def test_the_unread_count_costs_one_query_and_nothing_for_anonymous(
    user, django_assert_num_queries
):
    signed_in = RequestFactory().get("/")
    signed_in.user = user
    anonymous = RequestFactory().get("/")
    anonymous.user = AnonymousUser()

    with django_assert_num_queries(1):
        assert unread_notifications(signed_in) == {"unread_notifications": 0}
    with django_assert_num_queries(0):
        assert unread_notifications(anonymous) == {}


def test_an_anonymous_page_makes_no_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        page = client.get(reverse("accounts:login")).content.decode()

    assert "notifications-link" not in page


def test_the_inbox_needs_a_login(client):
    response = client.get(reverse("notifications:inbox"))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
