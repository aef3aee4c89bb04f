from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mla.accounts.administration import user_invite
from mla.accounts.models import AccountChange, AccountChangeKind, User
from mla.accounts.second_factor import user_has_second_factor
from tests.support.accounts import link_path_from_mail
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.second_factor import totp_device_confirmed

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-Sturdy-Passphrase-7"
USERS = reverse("accounts:users")
INVITE = reverse("accounts:user_invite")


@pytest.fixture
def authority_a():
    return AuthorityFactory(identifier="ro-a-prosecutor", name="Office A")


@pytest.fixture
def authority_b():
    return AuthorityFactory(identifier="ro-b-prosecutor", name="Office B")


@pytest.fixture
def account_admin(authority_a):
    return UserFactory(
        username="accounts.a", roles=["account_administrator"], authority=authority_a
    )


@pytest.fixture
def user_a(authority_a):
    return UserFactory(
        username="prosecutor.a", roles=["prosecutor"], authority=authority_a, first_name="Mara"
    )


@pytest.fixture
def user_b(authority_b):
    return UserFactory(username="prosecutor.b", roles=["prosecutor"], authority=authority_b)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _detail(user):
    return reverse("accounts:user_detail", args=[user.pk])


def test_the_list_shows_the_administrators_own_authority_only(account_admin, user_a, user_b):
    page = _client(account_admin).get(USERS).content.decode()
    assert "prosecutor.a" in page
    assert "prosecutor.b" not in page
    assert 'href="/accounts/users/"' in page  # the menu's link


def test_the_list_filters_by_text_role_and_activity(account_admin, user_a, authority_a):
    UserFactory(username="auditor.a", roles=["auditor"], authority=authority_a, is_active=False)
    client = _client(account_admin)

    by_text = client.get(USERS, {"q": "mara"}).content.decode()
    assert "prosecutor.a" in by_text
    assert "auditor.a" not in by_text
    by_role = client.get(USERS, {"role": "auditor"}).content.decode()
    assert "auditor.a" in by_role
    assert "prosecutor.a" not in by_role
    inactive = client.get(USERS, {"active": "no"}).content.decode()
    assert "auditor.a" in inactive
    assert "prosecutor.a" not in inactive


@pytest.mark.parametrize("role", ["prosecutor", "directory_administrator", "auditor"])
def test_the_pages_are_not_found_for_anyone_but_administrators(role, user_a, authority_a):
    client = _client(UserFactory(roles=[role], authority=authority_a))
    assert client.get(USERS).status_code == 404
    assert client.get(INVITE).status_code == 404
    assert client.get(_detail(user_a)).status_code == 404
    assert client.post(reverse("accounts:user_deactivate", args=[user_a.pk])).status_code == 404
    assert 'href="/accounts/users/"' not in client.get(reverse("core:home")).content.decode()


def test_anonymous_is_sent_to_log_in(user_a):
    response = Client().get(USERS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_another_authoritys_user_is_not_found(account_admin, user_b):
    client = _client(account_admin)
    assert client.get(_detail(user_b)).status_code == 404
    for name in ("user_deactivate", "user_password_reset", "user_access"):
        assert client.post(reverse(f"accounts:{name}", args=[user_b.pk])).status_code == 404
    user_b.refresh_from_db()
    assert user_b.is_active
    assert not AccountChange.objects.exists()


def test_invite_through_the_page_and_accept_through_the_link(
    account_admin, authority_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    client = _client(account_admin)
    form = client.get(INVITE).content.decode()
    assert "Node administrator" not in form  # not offered to an account administrator
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            INVITE,
            {
                "username": "ioana.p",
                "first_name": "Ioana",
                "last_name": "Popescu",
                "email": "ioana@example.org",
                "preferred_language": "fr",
                "authority": authority_a.pk,
                "roles": ["prosecutor"],
            },
        )
    invited = User.objects.get(username="ioana.p")
    assert response.status_code == 302
    assert response["Location"] == _detail(invited)
    detail = client.get(_detail(invited)).content.decode()
    assert "Invited: no password set yet" in detail
    assert "<td>accounts.a</td><td>Invited</td>" in detail  # the log names who invited
    [message] = mail.outbox
    assert "Votre compte" in message.subject  # in the invitee's language

    invitee = Client()
    link = link_path_from_mail(message)
    assert "Set your password" in invitee.get(link).content.decode()
    mismatch = invitee.post(link, {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert "The two passwords differ." in mismatch.content.decode()
    weak = invitee.post(link, {"new_password1": "password", "new_password2": "password"})
    assert "too short" in weak.content.decode()

    done = invitee.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert invitee.get(reverse("core:home")).status_code == 200  # signed in
    invited.refresh_from_db()
    assert invited.is_active
    used = Client().get(link)
    assert used.status_code == 410
    assert "This link was used already" in used.content.decode()


def test_an_invitee_who_must_have_a_second_factor_is_led_to_enrol(
    account_admin, authority_a, settings, django_capture_on_commit_callbacks, account_mail_at_once
):
    settings.MFA_REQUIRED_FOR_ALL = True
    totp_device_confirmed(account_admin)
    with django_capture_on_commit_callbacks(execute=True):
        user_invite(
            actor=account_admin,
            username="ioana.p",
            email="ioana@example.org",
            authority=authority_a,
            roles=["prosecutor"],
        )
    invitee = Client()
    link = link_path_from_mail(mail.outbox[0])
    invitee.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = invitee.get(reverse("core:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:security"))
    assert not user_has_second_factor(user=User.objects.get(username="ioana.p"))


def test_an_expired_link_says_so(
    account_admin, user_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    client = _client(account_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:user_password_reset", args=[user_a.pk]))
    link = link_path_from_mail(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        response = Client().get(link)
    assert response.status_code == 410
    assert "This link expired on" in response.content.decode()


def test_roles_are_set_on_the_users_page(account_admin, user_a, authority_a):
    client = _client(account_admin)
    response = client.post(
        reverse("accounts:user_access", args=[user_a.pk]),
        {"authority": authority_a.pk, "roles": ["prosecutor", "supervisor"]},
        follow=True,
    )
    page = response.content.decode()
    assert "Authority and roles saved." in page
    assert "Prosecutor → Prosecutor, Supervisor" in page
    assert user_a.groups.filter(name="supervisor").exists()


def test_a_role_the_administrator_may_not_give_is_refused_with_the_reason(
    account_admin, user_a, authority_a, authority_b
):
    client = _client(account_admin)
    response = client.post(
        reverse("accounts:user_access", args=[user_a.pk]),
        {"authority": authority_b.pk, "roles": ["prosecutor"]},
        follow=True,
    )
    assert "Select a valid choice" in response.content.decode()
    user_a.refresh_from_db()
    assert user_a.authority == authority_a
    assert not AccountChange.objects.exists()


def test_deactivate_and_reactivate_from_the_page(account_admin, user_a):
    client = _client(account_admin)
    page = client.post(
        reverse("accounts:user_deactivate", args=[user_a.pk]), follow=True
    ).content.decode()
    assert "is deactivated" in page
    assert "Active: yes → no" in page
    user_a.refresh_from_db()
    assert not user_a.is_active

    client.post(reverse("accounts:user_reactivate", args=[user_a.pk]))
    user_a.refresh_from_db()
    assert user_a.is_active
    assert list(
        AccountChange.objects.filter(subject=user_a).order_by("pk").values_list("kind", flat=True)
    ) == [AccountChangeKind.DEACTIVATED, AccountChangeKind.REACTIVATED]


def test_ones_own_page_offers_no_deactivation_and_the_service_refuses_it(account_admin):
    client = _client(account_admin)
    assert "Deactivate" not in client.get(_detail(account_admin)).content.decode()
    page = client.post(
        reverse("accounts:user_deactivate", args=[account_admin.pk]), follow=True
    ).content.decode()
    assert "You cannot deactivate your own account." in page


@pytest.mark.parametrize(
    "name", ["user_deactivate", "user_password_reset", "user_access", "user_invitation_resend"]
)
def test_sensitive_actions_ask_for_the_password_again(account_admin, user_a, settings, name):
    client = _client(account_admin)
    settings.REAUTHENTICATION_MAX_AGE = 0
    response = client.post(reverse(f"accounts:{name}", args=[user_a.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:reauthenticate"))
    invite = client.get(INVITE)
    assert invite["Location"].startswith(reverse("accounts:reauthenticate"))
    user_a.refresh_from_db()
    assert user_a.is_active
    assert not AccountChange.objects.exists()


def test_the_django_admin_never_deletes_a_user(account_admin):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client = _client(superuser)
    page = client.get(reverse("admin:accounts_user_change", args=[account_admin.pk]))
    assert page.status_code == 200
    assert reverse("admin:accounts_user_delete", args=[account_admin.pk]) not in (
        page.content.decode()
    )
    assert (
        client.post(
            reverse("admin:accounts_user_delete", args=[account_admin.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert User.objects.filter(pk=account_admin.pk).exists()
    changelist = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "delete_selected" not in changelist


def test_roles_only_a_node_administrator_gives_stay_when_an_account_administrator_saves(
    account_admin, authority_a
):
    keeper = UserFactory(
        username="directory.a",
        roles=["directory_administrator", "auditor"],
        authority=authority_a,
        is_staff=True,
    )
    client = _client(account_admin)
    assert "a node administrator gives and takes them): Directory administrator" in (
        client.get(_detail(keeper)).content.decode()
    )

    client.post(
        reverse("accounts:user_access", args=[keeper.pk]),
        {"authority": authority_a.pk, "roles": ["supervisor"]},
    )

    keeper.refresh_from_db()
    assert set(
        keeper.groups.filter(
            name__in=["directory_administrator", "auditor", "supervisor"]
        ).values_list("name", flat=True)
    ) == {"directory_administrator", "supervisor"}
    assert keeper.is_staff
    assert AccountChange.objects.get(subject=keeper).changes == {
        "roles": [["auditor", "directory_administrator"], ["directory_administrator", "supervisor"]]
    }


def test_a_password_reset_does_not_skip_the_second_factor(
    account_admin, user_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    totp_device_confirmed(user_a)
    with django_capture_on_commit_callbacks(execute=True):
        _client(account_admin).post(reverse("accounts:user_password_reset", args=[user_a.pk]))
    owner = Client()
    owner.post(
        link_path_from_mail(mail.outbox[0]),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    response = owner.get(reverse("core:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:second_factor"))


def test_a_node_administrator_lists_every_authority_and_filters_by_one(
    authority_a, authority_b, user_a, user_b
):
    node_admin = UserFactory(roles=["node_administrator"], authority=authority_a)
    totp_device_confirmed(user_b)
    client = _client(node_admin)

    page = client.get(USERS).content.decode()
    assert "prosecutor.a" in page
    assert "prosecutor.b" in page
    assert "Enrolled" in page  # prosecutor.b's second factor
    only_b = client.get(USERS, {"authority": authority_b.pk}).content.decode()
    assert "prosecutor.b" in only_b
    assert "prosecutor.a" not in only_b
    assert "Node administrator" in client.get(INVITE).content.decode()


def test_the_list_costs_the_same_for_more_users(
    account_admin, authority_a, django_assert_max_num_queries
):
    client = _client(account_admin)
    client.get(USERS)
    for number in range(3):
        UserFactory(username=f"extra.{number}", roles=["prosecutor"], authority=authority_a)
    with django_assert_max_num_queries(12) as captured:
        page = client.get(USERS).content.decode()
    assert "extra.2" in page
    few = len(captured.captured_queries)
    for number in range(3, 10):
        UserFactory(username=f"extra.{number}", roles=["auditor"], authority=authority_a)
    with django_assert_max_num_queries(few):
        client.get(USERS)
