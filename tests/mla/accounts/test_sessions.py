"""The session's idle timeout, absolute lifetime and the polls that must not extend them."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from mla.accounts.models import SecurityEvent, SecurityEventKind
from mla.core.reauthentication import authentication_is_recent, recent_authentication_required
from tests.support.factories import TEST_PASSWORD, UserFactory
from tests.support.second_factor import totp_code_for, totp_device_confirmed

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
LOGIN = reverse("accounts:login")


def _signed_in(client, user):
    response = client.get(reverse("core:home"))
    return response.status_code == 200


def test_polling_does_not_keep_an_idle_session_alive(client, berlin_staff, settings):
    settings.SESSION_COOKIE_AGE = 30 * 60
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(berlin_staff)
        assert client.get(reverse("requests:queue")).status_code == 200

        # The open queue page polls every 15 s, and refreshes its rows, for 29 minutes.
        for _ in range(29):
            traveller.shift(datetime.timedelta(minutes=1))
            assert client.get(reverse("requests:queue_changes")).status_code == 200
            assert client.get(reverse("requests:queue"), {"partial": "1"}).status_code == 200

        # 31 minutes after the last request of the user's own: the session has expired.
        traveller.shift(datetime.timedelta(minutes=2))
        poll = client.get(reverse("requests:queue_changes"))

    assert poll.status_code == 302
    assert poll["Location"].startswith(LOGIN)


def test_a_request_of_the_users_own_still_extends_the_idle_timeout(client, berlin_staff, settings):
    settings.SESSION_COOKIE_AGE = 30 * 60
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(berlin_staff)
        traveller.shift(datetime.timedelta(minutes=20))
        assert client.get(reverse("requests:queue")).status_code == 200
        traveller.shift(datetime.timedelta(minutes=20))

        assert client.get(reverse("requests:queue_changes")).status_code == 200


def test_a_session_ends_at_its_absolute_lifetime_however_active(client, settings):
    settings.SESSION_ABSOLUTE_MAX_AGE = 12 * 3600
    user = UserFactory()
    with time_machine.travel(START, tick=False) as traveller:
        client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
        # Busy all day: a page every 20 minutes keeps the idle timeout away.
        for _ in range(35):
            traveller.shift(datetime.timedelta(minutes=20))
            assert _signed_in(client, user)
        traveller.shift(datetime.timedelta(minutes=20))  # 12 h 0 min since sign-in
        assert _signed_in(client, user)
        traveller.shift(datetime.timedelta(minutes=1))

        response = client.get(reverse("core:home"))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(user=user, kind=SecurityEventKind.SESSION_ENDED).exists()


def test_a_new_sign_in_starts_a_new_lifetime(client, settings):
    settings.SESSION_ABSOLUTE_MAX_AGE = 3600
    user = UserFactory()
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        traveller.shift(datetime.timedelta(minutes=61))
        assert not _signed_in(client, user)
        client.force_login(user)

        assert _signed_in(client, user)


# --- Re-authentication -----------------------------------------------------------------------


def test_authentication_is_recent_for_the_window_after_sign_in(client, settings):
    settings.REAUTHENTICATION_MAX_AGE = 15 * 60
    user = UserFactory()
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        traveller.shift(datetime.timedelta(minutes=15))
        assert authentication_is_recent(user=user, session=client.session)
        traveller.shift(datetime.timedelta(seconds=1))
        assert not authentication_is_recent(user=user, session=client.session)


def test_the_decorator_sends_a_get_to_reauthenticate_and_back(rf, client, settings):
    settings.REAUTHENTICATION_MAX_AGE = 15 * 60
    calls = []

    @recent_authentication_required
    def sensitive(request):
        from django.http import HttpResponse

        calls.append(request.path)
        return HttpResponse("done")

    user = UserFactory()
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        request = rf.get("/somewhere/?tab=keys")
        request.user = user
        request.session = client.session
        assert sensitive(request).content == b"done"

        traveller.shift(datetime.timedelta(minutes=16))
        request.session = client.session
        response = sensitive(request)

    assert calls == ["/somewhere/"]
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("accounts:reauthenticate") + "?next=%2Fsomewhere%2F%3Ftab%3Dkeys"
    )


def test_reauthentication_asks_the_password_and_the_code_of_an_enrolled_user(client, settings):
    settings.REAUTHENTICATION_MAX_AGE = 15 * 60
    user = UserFactory()
    device = totp_device_confirmed(user)
    page = reverse("accounts:reauthenticate") + "?next=/requests/"
    with time_machine.travel(START, tick=False) as traveller:
        client.post(LOGIN, {"username": user.username, "password": TEST_PASSWORD})
        client.post(reverse("accounts:second_factor"), {"code": totp_code_for(device)})
        traveller.shift(datetime.timedelta(minutes=16))
        assert not authentication_is_recent(user=user, session=client.session)

        wrong_password = client.post(page, {"password": "nope", "code": "123456"})
        no_code = client.post(page, {"password": TEST_PASSWORD})
        assert "The password is not right" in wrong_password.content.decode()
        assert "Enter the code" in no_code.content.decode()
        assert not authentication_is_recent(user=user, session=client.session)

        traveller.shift(datetime.timedelta(seconds=30))
        done = client.post(
            page, {"password": TEST_PASSWORD, "code": totp_code_for(device), "next": "/requests/"}
        )

        assert done["Location"] == "/requests/"
        assert authentication_is_recent(user=user, session=client.session)
    assert SecurityEvent.objects.filter(user=user, kind=SecurityEventKind.REAUTHENTICATED).exists()


def test_reauthentication_never_sends_elsewhere(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        reverse("accounts:reauthenticate"),
        {"password": TEST_PASSWORD, "next": "https://evil.example/"},
    )

    assert response["Location"] == "/"
