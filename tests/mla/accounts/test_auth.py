import pytest
from django.conf import settings
from django.urls import reverse

from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.accounts.services import user_create
from mla.core.errors import ApplicationError
from tests.support.factories import TEST_PASSWORD, AuthorityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url_name",
    ["core:home", "contact_points:search", "accounts:profile", "accounts:password_change"],
)
def test_every_page_requires_login(client, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")


def test_login_then_home_shows_the_users_authority(client):
    user = UserFactory(authority__name="Parquet de Paris", preferred_language="en")

    response = client.post(
        reverse("accounts:login"),
        {"username": user.username, "password": TEST_PASSWORD},
        follow=True,
    )

    assert response.status_code == 200
    assert "You act for Parquet de Paris" in response.content.decode()


def test_login_sets_the_interface_language_from_the_preference(client):
    user = UserFactory(preferred_language="fr")

    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": TEST_PASSWORD}
    )

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"


def test_a_wrong_password_is_refused(client):
    user = UserFactory()

    response = client.post(reverse("accounts:login"), {"username": user.username, "password": "x"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_failed_logins_are_throttled_even_for_the_right_password(client):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": user.username, "password": "wrong"})

    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": TEST_PASSWORD}
    )

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sessions_expire_after_inactivity(client):
    client.force_login(UserFactory())
    client.get(reverse("core:home"))

    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 30 * 60


def test_logout_is_a_post_and_ends_the_session(client):
    client.force_login(UserFactory())

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 302


def test_password_change_applies_the_validators(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": "12345", "new_password2": "12345"},
    )

    assert response.status_code == 200
    assert "too short" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_password_change_succeeds_with_a_strong_password(client):
    user = UserFactory()
    client.force_login(user)
    new = "Another-Long-Passphrase-77"

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_user_create_puts_the_user_in_role_groups():
    authority = AuthorityFactory()

    user = user_create(
        username="ana",
        password="Strong-Passphrase-2026",
        authority=authority,
        roles=[Role.PROSECUTOR, Role.DIRECTORY_ADMINISTRATOR],
    )

    assert user.role_names() == {"prosecutor", "directory_administrator"}
    assert user.is_staff is True
    assert user.has_perm("contact_points.change_authority")


def test_user_create_refuses_weak_passwords_and_unknown_roles():
    authority = AuthorityFactory()

    with pytest.raises(ApplicationError, match=r"too common|too short"):
        user_create(username="a", password="password", authority=authority, roles=[])
    with pytest.raises(ApplicationError, match="Unknown roles: wizard"):
        user_create(
            username="b", password="Strong-Passphrase-2026", authority=authority, roles=["wizard"]
        )
    assert not User.objects.filter(username__in=["a", "b"]).exists()


def test_every_role_exists_as_a_group():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_auditors_read_but_do_not_change_the_directory():
    auditor = UserFactory(roles=[Role.AUDITOR])

    assert auditor.has_perm("contact_points.view_authority")
    assert not auditor.has_perm("contact_points.change_authority")


def _login(client, username, password, address):
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_one_address_trying_many_usernames_is_throttled(client, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 8
    users = [UserFactory() for _ in range(4)]
    # Two failures each: never the per-(username, address) limit of five.
    for user in users:
        for _ in range(2):
            _login(client, user.username, "wrong", "203.0.113.7")

    victim = UserFactory()
    locked = _login(client, victim.username, TEST_PASSWORD, "203.0.113.7")
    elsewhere = _login(client, victim.username, TEST_PASSWORD, "198.51.100.9")

    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert elsewhere.status_code == 302


def test_one_username_tried_from_many_addresses_is_throttled(client, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_USERNAME = 6
    user = UserFactory()
    for number in range(3):
        for _ in range(2):
            _login(client, user.username, "wrong", f"203.0.113.{number + 1}")

    locked = _login(client, user.username, TEST_PASSWORD, "198.51.100.9")
    other_user = UserFactory()
    unaffected = _login(client, other_user.username, TEST_PASSWORD, "198.51.100.9")

    assert locked.status_code == 429
    assert unaffected.status_code == 302


def test_failures_below_every_limit_do_not_throttle(client, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 8
    settings.LOGIN_FAILURE_LIMIT_PER_USERNAME = 6
    user = UserFactory()
    for number in range(5):
        _login(client, user.username, "wrong", f"203.0.113.{number + 1}")

    assert _login(client, user.username, TEST_PASSWORD, "198.51.100.9").status_code == 302
