"""Sending and sharing ask for the password again when the sign-in is older than
REAUTHENTICATION_MAX_AGE (15 minutes)."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from mla.requests.access import Share, request_shares
from tests.support.factories import TEST_PASSWORD, AuthorityFactory, UserFactory

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def _send(client, request):
    return client.post(
        reverse("requests:transition", args=[*request.url_args, "send"]),
        {"expected_state": "ready"},
    )


def test_sending_within_15_minutes_of_sign_in_needs_nothing_more(client, ready_eio, prosecutor):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(prosecutor)
        traveller.shift(datetime.timedelta(minutes=14))

        response = _send(client, ready_eio)

    assert response["Location"] == reverse("requests:detail", args=[*ready_eio.url_args])
    ready_eio.refresh_from_db()
    assert ready_eio.state != "ready"


def test_sending_after_15_minutes_asks_for_the_password_then_sends(client, ready_eio, prosecutor):
    detail = reverse("requests:detail", args=[*ready_eio.url_args])
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(prosecutor)
        traveller.shift(datetime.timedelta(minutes=16))

        refused = _send(client, ready_eio)
        ready_eio.refresh_from_db()
        assert ready_eio.state == "ready"
        assert refused["Location"] == (
            f"{reverse('accounts:reauthenticate')}?next={detail.replace('/', '%2F')}"
        )

        back = client.post(refused["Location"], {"password": TEST_PASSWORD, "next": detail})
        assert back["Location"] == detail
        sent = _send(client, ready_eio)

    assert sent["Location"] == detail
    ready_eio.refresh_from_db()
    assert ready_eio.state != "ready"


def test_other_steps_need_no_recent_sign_in(client, eio_draft, prosecutor):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(prosecutor)
        traveller.shift(datetime.timedelta(minutes=16))

        response = client.post(
            reverse("requests:transition", args=[*eio_draft.url_args, "submit"]),
            {"expected_state": "draft"},
        )

    assert response["Location"] == reverse("requests:detail", args=[*eio_draft.url_args])


def test_sharing_after_15_minutes_asks_for_the_password(client, eio_draft, prosecutor, countries):
    UserFactory(
        username="colleague",
        authority=AuthorityFactory(identifier="fr-unit", country=countries["FR"]),
    )
    share = reverse("requests:share", args=[*eio_draft.url_args])
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(prosecutor)
        traveller.shift(datetime.timedelta(minutes=16))

        refused = client.post(share, {"username": "colleague"})
        assert refused["Location"].startswith(reverse("accounts:reauthenticate"))
        assert request_shares(request=eio_draft)["users"] == []

        client.post(refused["Location"], {"password": TEST_PASSWORD})
        client.post(share, {"username": "colleague"})

    assert request_shares(request=eio_draft)["users"] == [Share(name="colleague", edit=False)]
