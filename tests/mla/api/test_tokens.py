import datetime

import pytest
import time_machine
from django.utils import timezone

from mla.api.models import ApiToken
from mla.api.tokens import api_token_authenticate, api_token_create, api_token_revoke
from mla.core.errors import ApplicationError
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_stored_as_its_digest_only():
    user = UserFactory()

    issued = api_token_create(
        user=user, name="case system", scopes=["read", "draft"], second_factor_verified=False
    )

    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.secret.startswith(f"mla_{stored.key_id}_")
    assert issued.secret not in stored.digest
    assert len(stored.digest) == 64
    assert stored.scopes == ["draft", "read"]
    assert api_token_authenticate(raw=issued.secret) == stored


def test_a_wrong_secret_with_a_real_identifier_is_refused():
    issued = api_token_create(
        user=UserFactory(), name="x", scopes=["read"], second_factor_verified=False
    )
    forged = issued.secret[:-4] + ("AAAA" if not issued.secret.endswith("AAAA") else "BBBB")

    assert api_token_authenticate(raw=forged) is None
    assert api_token_authenticate(raw="mla_nothing_here") is None
    assert api_token_authenticate(raw="not a token") is None


def test_a_token_lasts_one_year_at_most_and_ends_at_its_expiry():
    user = UserFactory()
    with pytest.raises(ApplicationError) as refused:
        api_token_create(
            user=user,
            name="x",
            scopes=["read"],
            expires_at=timezone.now() + datetime.timedelta(days=366),
            second_factor_verified=False,
        )
    assert refused.value.code == "invalid"

    issued = api_token_create(
        user=user,
        name="x",
        scopes=["read"],
        expires_at=timezone.now() + datetime.timedelta(days=2),
        second_factor_verified=False,
    )
    with time_machine.travel(timezone.now() + datetime.timedelta(days=3)):
        assert api_token_authenticate(raw=issued.secret) is None


def test_unknown_or_no_scopes_are_refused():
    user = UserFactory()
    for scopes in ([], ["read", "everything"]):
        with pytest.raises(ApplicationError) as refused:
            api_token_create(user=user, name="x", scopes=scopes, second_factor_verified=False)
        assert refused.value.code == "invalid_scope"


def test_a_user_with_a_second_factor_must_have_passed_it(monkeypatch):
    user = UserFactory()
    monkeypatch.setattr("mla.api.tokens.user_has_second_factor", lambda *, user: True)

    with pytest.raises(ApplicationError) as refused:
        api_token_create(user=user, name="x", scopes=["read"], second_factor_verified=False)

    assert refused.value.code == "second_factor"
    assert not ApiToken.objects.exists()
    assert api_token_create(user=user, name="x", scopes=["read"], second_factor_verified=True)


def test_a_revoked_token_or_a_deactivated_users_token_no_longer_works():
    user = UserFactory()
    first = api_token_create(user=user, name="a", scopes=["read"], second_factor_verified=False)
    second = api_token_create(user=user, name="b", scopes=["read"], second_factor_verified=False)

    api_token_revoke(token=first.token, actor=user)
    assert api_token_authenticate(raw=first.secret) is None
    assert api_token_authenticate(raw=second.secret) is not None

    user.is_active = False
    user.save()
    assert api_token_authenticate(raw=second.secret) is None


def test_only_its_owner_revokes_a_token():
    issued = api_token_create(
        user=UserFactory(), name="a", scopes=["read"], second_factor_verified=False
    )
    with pytest.raises(ApplicationError):
        api_token_revoke(token=issued.token, actor=UserFactory())
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None


def test_the_last_use_is_recorded_at_most_once_a_minute():
    issued = api_token_create(
        user=UserFactory(), name="a", scopes=["read"], second_factor_verified=False
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api_token_authenticate(raw=issued.secret)
    with time_machine.travel(start + datetime.timedelta(seconds=30), tick=False):
        api_token_authenticate(raw=issued.secret)
    issued.token.refresh_from_db()
    assert issued.token.last_used_at == start

    with time_machine.travel(start + datetime.timedelta(minutes=2), tick=False):
        api_token_authenticate(raw=issued.secret)
    issued.token.refresh_from_db()
    assert issued.token.last_used_at == start + datetime.timedelta(minutes=2)
