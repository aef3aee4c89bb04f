"""The pages of a user's own API tokens: the list, making one (shown once), revoking one."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from mla.api.models import ApiToken
from mla.api.tokens import api_token_create, api_token_revoke
from mla.core.instants import zone_named
from tests.support.api import ApiClient
from tests.support.factories import UserFactory
from tests.support.second_factor import totp_code_for, totp_device_confirmed

pytestmark = pytest.mark.django_db

LIST = reverse("api_tokens:list")
CREATE = reverse("api_tokens:create")


@pytest.fixture
def user():
    return UserFactory(username="marie")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def _today_of(user) -> datetime.date:
    return timezone.localdate(timezone=zone_named(user.zone))


IN_30_DAYS = datetime.timedelta(days=30)


def _form(**changes):
    data = {
        "name": "Case system",
        "scopes": ["read", "draft"],
        "expires_on": (timezone.localdate() + IN_30_DAYS).isoformat(),
    }
    data.update(changes)
    return data


def _secret_in(html: str) -> str:
    found = re.search(r'id="api-token-secret"[^>]*>(mla_[0-9a-f]+_[^<]+)<', html)
    assert found, html
    return found.group(1)


def test_the_security_page_leads_to_the_tokens(signed_in):
    page = signed_in.get(reverse("accounts:security")).content.decode()

    assert f'href="{LIST}"' in page


def test_the_list_shows_ones_own_tokens_with_their_prefix_and_state(signed_in, user):
    active = api_token_create(
        user=user, name="Case system", scopes=["read"], second_factor_verified=True
    ).token
    revoked = api_token_create(
        user=user, name="Old ticketing", scopes=["execute"], second_factor_verified=True
    ).token
    api_token_revoke(token=revoked, actor=user)
    expired = api_token_create(
        user=user, name="Trial", scopes=["read"], second_factor_verified=True
    ).token
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    api_token_create(
        user=UserFactory(), name="Someone else's", scopes=["read"], second_factor_verified=True
    )

    page = signed_in.get(LIST).content.decode()

    assert f"mla_{active.key_id}_…" in page
    assert "Case system" in page
    assert "Old ticketing" in page
    assert "Trial" in page
    assert "Someone else" not in page
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    states = {
        name: row
        for row in rows
        for name in ("Case system", "Old ticketing", "Trial")
        if name in row
    }
    assert "Active" in states["Case system"]
    assert "Never" in states["Case system"]
    assert "Revoked" in states["Old ticketing"]
    assert "Revoke</a>" not in states["Old ticketing"]
    assert "Expired" in states["Trial"]


def test_the_form_offers_the_scopes_with_their_descriptions_and_90_days(signed_in, user):
    page = signed_in.get(CREATE).content.decode()

    assert "Propose changes to the directory" in page
    assert 'name="scopes" value="directory"' in page
    today = _today_of(user)
    assert f'value="{(today + datetime.timedelta(days=90)).isoformat()}"' in page
    assert f'max="{(today + datetime.timedelta(days=365)).isoformat()}"' in page


def test_a_new_token_is_shown_once_and_works_with_the_api(signed_in, user):
    expires_on = _today_of(user) + IN_30_DAYS

    response = signed_in.post(CREATE, _form(expires_on=expires_on.isoformat()))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = _secret_in(response.content.decode())
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.scopes) == ("Case system", ["draft", "read"])
    # The chosen day begins, in the user's zone: the token ends then.
    assert token.expires_at.astimezone(zone_named(user.zone)) == datetime.datetime.combine(
        expires_on, datetime.time.min, tzinfo=zone_named(user.zone)
    )
    # Nowhere again: not on the list, not kept in the session.
    assert secret not in signed_in.get(LIST).content.decode()
    assert secret not in str(dict(signed_in.session))
    assert ApiClient(secret).get("/directory/countries/").status_code == 200


def test_a_token_beyond_a_year_is_refused_with_the_services_reason(signed_in):
    too_far = (timezone.localdate() + datetime.timedelta(days=400)).isoformat()

    page = signed_in.post(CREATE, _form(expires_on=too_far)).content.decode()

    assert "A token lasts one year at most." in page
    assert not ApiToken.objects.exists()


def test_a_token_needs_a_scope(signed_in):
    page = signed_in.post(CREATE, _form(scopes=[])).content.decode()

    assert "This field is required." in page
    assert not ApiToken.objects.exists()


def test_a_factor_enrolled_and_not_given_in_this_session_is_asked_first(signed_in, user):
    signed_in.get(LIST)  # the session began before the factor existed
    device = totp_device_confirmed(user)

    refused = signed_in.post(CREATE, _form()).content.decode()

    assert "Confirm your second factor first." in refused
    assert reverse("accounts:second_factor") in refused
    assert not ApiToken.objects.exists()

    signed_in.post(reverse("accounts:second_factor"), {"code": totp_code_for(device)})
    made = signed_in.post(CREATE, _form())

    assert _secret_in(made.content.decode())
    assert ApiToken.objects.filter(user=user).count() == 1


def test_making_a_token_asks_for_the_password_again_after_a_while(signed_in, settings):
    settings.REAUTHENTICATION_MAX_AGE = 0

    response = signed_in.post(CREATE, _form())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:reauthenticate"))
    assert not ApiToken.objects.exists()


def test_revoking_asks_to_confirm_and_then_the_api_refuses_the_token(signed_in, user):
    issued = api_token_create(
        user=user, name="Case system", scopes=["read"], second_factor_verified=True
    )
    revoke = reverse("api_tokens:revoke", args=[issued.token.pk])

    confirm = signed_in.get(revoke).content.decode()
    assert "Revoke the token" in confirm
    ApiToken.objects.get(pk=issued.token.pk, revoked_at__isnull=True)

    done = signed_in.post(revoke, follow=True).content.decode()

    assert "The token “Case system” is revoked: it no longer works." in done
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None
    refused = ApiClient(issued.secret).get("/directory/countries/")
    assert refused.status_code == 401


def test_another_users_token_does_not_exist_for_the_pages(signed_in):
    others = api_token_create(
        user=UserFactory(), name="Theirs", scopes=["read"], second_factor_verified=True
    )
    revoke = reverse("api_tokens:revoke", args=[others.token.pk])

    assert signed_in.get(revoke).status_code == 404
    assert signed_in.post(revoke).status_code == 404
    assert ApiToken.objects.get(pk=others.token.pk).revoked_at is None


def test_a_token_does_not_open_the_pages(client, user):
    secret = api_token_create(
        user=user, name="x", scopes=["read"], second_factor_verified=True
    ).secret

    response = client.get(LIST, headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_pages_carry_no_inline_script_or_style(signed_in, user):
    issued = api_token_create(user=user, name="x", scopes=["read"], second_factor_verified=True)
    pages = [
        signed_in.get(LIST).content.decode(),
        signed_in.get(CREATE).content.decode(),
        signed_in.post(CREATE, _form()).content.decode(),
        signed_in.get(reverse("api_tokens:revoke", args=[issued.token.pk])).content.decode(),
    ]

    for html in pages:
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, tag
        assert " style=" not in html
        assert " onclick=" not in html
