import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from mla.notifications.models import Notification
from tests.support.api import ApiClient, api_token_for
from tests.support.factories import NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def api(user):
    return ApiClient(api_token_for(user, "read"))


def _inbox(user, count: int) -> list[Notification]:
    """``count`` notifications of ``user``, an hour apart, the last one the newest."""
    start = timezone.now() - datetime.timedelta(days=1)
    return [
        NotificationFactory(
            recipient=user,
            subject=f"Notice {number}",
            created_at=start + datetime.timedelta(hours=number),
        )
        for number in range(count)
    ]


def test_the_inbox_reads_as_on_the_page_newest_first_and_only_ones_own(client, api, user):
    _inbox(user, 3)
    NotificationFactory(recipient=UserFactory(), subject="Someone else's")

    response = api.get("/notifications/")

    assert response.status_code == 200
    body = response.json()
    subjects = [item["subject"] for item in body["items"]]
    assert subjects == ["Notice 2", "Notice 1", "Notice 0"]
    assert body["unread"] == 3
    assert body["next_cursor"] is None
    client.force_login(user)
    page = client.get(reverse("notifications:inbox")).content.decode()
    assert re.findall(r"Notice \d", page) == subjects


def test_the_unread_filter_and_what_an_item_carries(api, user):
    older, newer = _inbox(user, 2)
    Notification.objects.filter(pk=newer.pk).update(read_at=timezone.now())

    body = api.get("/notifications/", unread="true").json()

    assert [item["id"] for item in body["items"]] == [older.pk]
    item = body["items"][0]
    assert item["read"] is False
    assert item["read_at"] is None
    assert item["url"] == "/requests/"
    assert item["kind"] == "request_received"
    assert item["kind_display"] == "A request arrived"
    assert body["unread"] == 1


def test_pages_follow_the_cursor_to_the_end_without_repeating(api, user):
    made = _inbox(user, 7)
    seen: list[int] = []
    cursor = ""
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/notifications/", **params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert seen == [item.pk for item in reversed(made)]


def test_a_forged_cursor_a_limit_out_of_bounds_and_an_unknown_filter_are_refused(api, user):
    _inbox(user, 1)

    forged = api.get("/notifications/", cursor="eyJub3QiOiJvdXJzIn0:forged")
    too_many = api.get("/notifications/", limit=1000)
    unknown = api.get("/notifications/", unread_only="true")

    assert (forged.status_code, forged.json()["code"]) == (400, "invalid_cursor")
    assert too_many.status_code == 422
    assert unknown.status_code == 422


def test_marking_one_read_records_when_and_only_once(api, user):
    (notice,) = _inbox(user, 1)

    first = api.post(f"/notifications/{notice.pk}/read/")
    again = api.post(f"/notifications/{notice.pk}/read/")

    assert first.status_code == 200
    assert first.json()["read"] is True
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert again.json()["read_at"] == first.json()["read_at"]
    assert api.get("/notifications/").json()["unread"] == 0


def test_another_users_notification_does_not_exist(api):
    theirs = NotificationFactory(recipient=UserFactory())

    response = api.post(f"/notifications/{theirs.pk}/read/")
    missing = api.post("/notifications/999999999/read/")
    out_of_range = api.post(f"/notifications/{2**64}/read/")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert missing.status_code == 404
    assert out_of_range.status_code == 422
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_all_read_marks_ones_own_unread_notifications_only(api, user):
    _inbox(user, 3)
    Notification.objects.filter(recipient=user, subject="Notice 0").update(read_at=timezone.now())
    theirs = NotificationFactory(recipient=UserFactory())

    response = api.post("/notifications/read-all/")

    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_token_without_the_read_scope_is_refused(user):
    (notice,) = _inbox(user, 1)
    api = ApiClient(api_token_for(user, "draft"))

    for response in (
        api.get("/notifications/"),
        api.post(f"/notifications/{notice.pk}/read/"),
        api.post("/notifications/read-all/"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "insufficient_scope"
    notice.refresh_from_db()
    assert notice.read_at is None
