from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mla.accounts import administration
from mla.accounts.administration import (
    AccountAdministrationError,
    AccountLinkInvalid,
    UserNotManaged,
    account_link_email_deliver,
    account_link_password_set,
    account_link_resolve,
    invitation_resend,
    password_reset_send,
    user_access_set,
    user_deactivate,
    user_invite,
    user_reactivate,
)
from mla.accounts.models import AccountChange, AccountChangeKind, AccountLink, User
from mla.accounts.second_factor import second_factor_required
from mla.accounts.services import AUTHORITY_GROUP_PREFIX
from tests.support.accounts import link_token_from_mail
from tests.support.factories import (
    TEST_PASSWORD,
    AuthorityFactory,
    ServiceProviderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-Sturdy-Passphrase-7"


@pytest.fixture
def authority_a():
    return AuthorityFactory(identifier="ro-a-prosecutor", name="Office A")


@pytest.fixture
def authority_b():
    return AuthorityFactory(identifier="ro-b-prosecutor", name="Office B")


@pytest.fixture
def node_admin(authority_a):
    return UserFactory(username="node.admin", roles=["node_administrator"], authority=authority_a)


@pytest.fixture
def account_admin(authority_a):
    return UserFactory(
        username="accounts.a", roles=["account_administrator"], authority=authority_a
    )


@pytest.fixture
def user_a(authority_a):
    return UserFactory(username="prosecutor.a", roles=["prosecutor"], authority=authority_a)


@pytest.fixture
def user_b(authority_b):
    return UserFactory(username="prosecutor.b", roles=["prosecutor"], authority=authority_b)


def _signs_in(username, password):
    response = Client().post(
        reverse("accounts:login"), {"username": username, "password": password}
    )
    return response.status_code == 302


def _roles(user):
    return set(user.groups.exclude(name__startswith="authority").values_list("name", flat=True))


def _invite(actor, authority, *, username="new.prosecutor", roles=("prosecutor",), **kwargs):
    return user_invite(
        actor=actor,
        username=username,
        first_name="Ioana",
        last_name="Popescu",
        email=f"{username}@example.org",
        authority=authority,
        roles=list(roles),
        address="192.0.2.7",
        **kwargs,
    )


# --- Invitations ---------------------------------------------------------------------------


def test_an_invitation_opens_an_inactive_account_and_mails_a_link_on_commit(
    account_admin, authority_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invited = _invite(account_admin, authority_a)
    assert mail.outbox == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    callbacks[0]()

    invited.refresh_from_db()
    assert not invited.is_active
    assert not invited.has_usable_password()
    assert _roles(invited) == {"prosecutor"}
    assert invited.groups.filter(name=f"{AUTHORITY_GROUP_PREFIX}{authority_a.identifier}").exists()
    link = AccountLink.objects.get(user=invited)
    assert link.purpose == "invitation"
    assert link.emailed_at is not None
    assert link.expires_at - link.created_at == timedelta(hours=72)
    change = AccountChange.objects.get(subject=invited)
    assert change.kind == AccountChangeKind.INVITED
    assert change.actor == account_admin
    assert change.address == "192.0.2.7"
    assert change.changes["roles"] == [[], ["prosecutor"]]
    assert change.changes["authority"] == [None, "ro-a-prosecutor"]

    [message] = mail.outbox
    assert message.to == ["new.prosecutor@example.org"]
    assert "new.prosecutor" in message.body
    assert account_link_resolve(token=link_token_from_mail(message)).pk == link.pk
    # A second delivery of the task sends nothing more.
    assert account_link_email_deliver(link_id=link.pk) is False
    assert len(mail.outbox) == 1


def test_the_invitee_sets_a_password_once_and_the_account_becomes_active(
    account_admin, authority_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    with django_capture_on_commit_callbacks(execute=True):
        invited = _invite(account_admin, authority_a)
    token = link_token_from_mail(mail.outbox[0])

    user = account_link_password_set(token=token, password=NEW_PASSWORD, address="192.0.2.9")

    assert user.pk == invited.pk
    user.refresh_from_db()
    assert user.is_active
    assert user.check_password(NEW_PASSWORD)
    assert AccountLink.objects.get(user=user).used_at is not None
    accepted = AccountChange.objects.get(kind=AccountChangeKind.INVITATION_ACCEPTED)
    assert (accepted.actor, accepted.subject) == (user, user)
    assert accepted.changes == {"active": [False, True]}
    assert _signs_in(user.username, NEW_PASSWORD)

    with pytest.raises(AccountLinkInvalid, match="used already"):
        account_link_password_set(token=token, password="Yet-Another-Pass-99", address=None)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_weak_password_is_refused_and_the_link_still_works(
    account_admin, authority_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(account_admin, authority_a)
    token = link_token_from_mail(mail.outbox[0])

    with pytest.raises(AccountAdministrationError, match="too short"):
        account_link_password_set(token=token, password="short", address=None)

    assert account_link_resolve(token=token).used_at is None
    assert not User.objects.get(username="new.prosecutor").is_active


def test_an_invitation_link_expires_after_the_setting(
    account_admin, authority_a, django_capture_on_commit_callbacks, account_mail_at_once, settings
):
    settings.INVITATION_VALID_HOURS = 2
    with django_capture_on_commit_callbacks(execute=True):
        _invite(account_admin, authority_a)
    token = link_token_from_mail(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=59)):
        assert account_link_resolve(token=token)
    with (
        time_machine.travel(timezone.now() + timedelta(hours=2, minutes=1)),
        pytest.raises(AccountLinkInvalid, match="expired"),
    ):
        account_link_password_set(token=token, password=NEW_PASSWORD, address=None)
    assert not User.objects.get(username="new.prosecutor").is_active


def test_a_tampered_link_is_refused(
    account_admin, authority_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(account_admin, authority_a)
    token = link_token_from_mail(mail.outbox[0])
    link = AccountLink.objects.get()
    forged = administration.signing.dumps([link.pk, "guessed"], salt="another-salt")

    for bad in (token[:-2] + "xx", forged, "nonsense"):
        with pytest.raises(AccountLinkInvalid, match="not valid"):
            account_link_resolve(token=bad)


def test_sending_the_invitation_again_replaces_the_previous_link(
    account_admin, authority_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    with django_capture_on_commit_callbacks(execute=True):
        invited = _invite(account_admin, authority_a)
    first = link_token_from_mail(mail.outbox[0])

    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(actor=account_admin, user=invited, address=None)
    second = link_token_from_mail(mail.outbox[1])

    with pytest.raises(AccountLinkInvalid, match="newer one was sent"):
        account_link_resolve(token=first)
    account_link_password_set(token=second, password=NEW_PASSWORD, address=None)
    assert AccountChange.objects.filter(
        subject=invited, kind=AccountChangeKind.INVITATION_RESENT, actor=account_admin
    ).exists()
    with pytest.raises(AccountAdministrationError, match="set a password already"):
        invitation_resend(actor=account_admin, user=invited, address=None)


def test_an_invitation_is_refused_with_a_reason_and_creates_nothing(
    account_admin, authority_a, authority_b, user_a
):
    cases = [
        ({"username": user_a.username.upper()}, "is taken"),
        ({"username": "bad name!"}, "username"),
        ({"authority": authority_b}, "own authority"),
        ({"roles": ["node_administrator"]}, "Only a node administrator"),
        ({"roles": ["directory_administrator"]}, "Only a node administrator"),
        ({"roles": ["no_such_role"]}, "Unknown roles"),
    ]
    for overrides, message in cases:
        arguments = {"username": "fresh.user", "authority": authority_a, **overrides}
        authority = arguments.pop("authority")
        with pytest.raises(AccountAdministrationError, match=message):
            _invite(account_admin, authority, **arguments)
    with pytest.raises(AccountAdministrationError, match="e-mail address"):
        user_invite(
            actor=account_admin,
            username="fresh.user",
            email="not-an-address",
            authority=authority_a,
            roles=["prosecutor"],
        )
    assert not User.objects.filter(username__in=["fresh.user", "bad name!"]).exists()
    assert AccountChange.objects.count() == 0
    assert AccountLink.objects.count() == 0


def test_a_node_administrator_invites_to_any_authority_with_any_role(node_admin, authority_b):
    invited = _invite(node_admin, authority_b, roles=["node_administrator", "auditor"])
    assert invited.authority == authority_b
    assert _roles(invited) == {"node_administrator", "auditor"}


# --- Authority and roles -------------------------------------------------------------------


def test_setting_roles_and_authority_records_old_and_new(node_admin, user_a, authority_b):
    change = user_access_set(
        actor=node_admin,
        user=user_a,
        authority=authority_b,
        roles=["auditor", "directory_administrator"],
        address="192.0.2.1",
    )

    user_a.refresh_from_db()
    assert user_a.authority == authority_b
    assert _roles(user_a) == {"auditor", "directory_administrator"}
    assert user_a.is_staff  # the admin is where the directory is edited
    authority_groups = set(
        user_a.groups.filter(name__startswith="authority").values_list("name", flat=True)
    )
    assert authority_groups == {"authority:ro-b-prosecutor", "authority-shared:ro-b-prosecutor"}
    assert change is not None
    assert change.kind == AccountChangeKind.ACCESS_CHANGED
    assert change.changes == {
        "authority": ["ro-a-prosecutor", "ro-b-prosecutor"],
        "roles": [["prosecutor"], ["auditor", "directory_administrator"]],
    }
    # The same again changes nothing and records nothing.
    assert (
        user_access_set(
            actor=node_admin,
            user=user_a,
            authority=authority_b,
            roles=["directory_administrator", "auditor"],
        )
        is None
    )
    assert AccountChange.objects.count() == 1


def test_an_account_administrator_keeps_to_their_authority_and_roles(
    account_admin, user_a, authority_a, authority_b
):
    user_access_set(
        actor=account_admin,
        user=user_a,
        authority=authority_a,
        roles=["prosecutor", "account_administrator"],
    )
    assert _roles(user_a) == {"prosecutor", "account_administrator"}

    for authority, roles, message in [
        (authority_b, ["prosecutor"], "own authority"),
        (authority_a, ["node_administrator"], "Only a node administrator"),
        (authority_a, ["directory_administrator"], "Only a node administrator"),
    ]:
        with pytest.raises(AccountAdministrationError, match=message):
            user_access_set(actor=account_admin, user=user_a, authority=authority, roles=roles)
    user_a.refresh_from_db()
    assert user_a.authority == authority_a
    assert _roles(user_a) == {"prosecutor", "account_administrator"}
    assert AccountChange.objects.count() == 1


# --- The scope matrix ----------------------------------------------------------------------

ACTORS = ["node_admin", "account_admin", "directory_admin", "prosecutor", "inactive_admin"]


def _actor(name, authority_a):
    if name == "node_admin":
        return UserFactory(roles=["node_administrator"], authority=authority_a)
    if name == "account_admin":
        return UserFactory(roles=["account_administrator"], authority=authority_a)
    if name == "directory_admin":
        return UserFactory(roles=["directory_administrator"], authority=authority_a)
    if name == "inactive_admin":
        return UserFactory(roles=["account_administrator"], authority=authority_a, is_active=False)
    return UserFactory(roles=["prosecutor"], authority=authority_a)


ACTIONS = {
    "access": lambda actor, user: user_access_set(
        actor=actor, user=user, authority=user.authority, roles=["auditor"]
    ),
    "deactivate": lambda actor, user: user_deactivate(actor=actor, user=user),
    "password_reset": lambda actor, user: password_reset_send(actor=actor, user=user),
}

EXPECTED = {
    # actor: (may manage a user of authority A, may manage a user of authority B)
    "node_admin": (True, True),
    "account_admin": (True, False),
    "directory_admin": (False, False),
    "prosecutor": (False, False),
    "inactive_admin": (False, False),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("actor_name", ACTORS)
def test_who_may_manage_whom(actor_name, action, authority_a, user_a, user_b):
    actor = _actor(actor_name, authority_a)
    for subject, allowed in zip((user_a, user_b), EXPECTED[actor_name], strict=True):
        if allowed:
            ACTIONS[action](actor, subject)
            assert AccountChange.objects.filter(subject=subject, actor=actor).count() == 1
        else:
            with pytest.raises(UserNotManaged):
                ACTIONS[action](actor, subject)
            assert not AccountChange.objects.filter(subject=subject).exists()
            subject.refresh_from_db()
            assert subject.is_active
            assert _roles(subject) == {"prosecutor"}


def test_an_account_administrator_does_not_manage_a_node_administrator_of_their_authority(
    account_admin, node_admin, authority_a
):
    with pytest.raises(UserNotManaged):
        user_deactivate(actor=account_admin, user=node_admin)
    with pytest.raises(UserNotManaged):
        user_access_set(actor=account_admin, user=node_admin, authority=authority_a, roles=[])
    node_admin.refresh_from_db()
    assert node_admin.is_active


# --- Deactivation --------------------------------------------------------------------------


def test_deactivation_ends_sessions_revokes_links_and_blocks_sign_in(
    account_admin, user_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    browser = Client()
    browser.force_login(user_a)
    assert browser.get("/requests/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        password_reset_send(actor=account_admin, user=user_a)
    token = link_token_from_mail(mail.outbox[0])

    change = user_deactivate(actor=account_admin, user=user_a, address="192.0.2.3")

    user_a.refresh_from_db()
    assert not user_a.is_active
    assert User.objects.filter(pk=user_a.pk).exists()  # never deleted
    assert change.changes == {"active": [True, False], "links_revoked": 1, "sessions_ended": 1}
    assert not any(
        str(session.get_decoded().get("_auth_user_id")) == str(user_a.pk)
        for session in Session.objects.all()
    )
    assert browser.get("/requests/").status_code == 302  # back to the login page
    assert not _signs_in(user_a.username, TEST_PASSWORD)
    with pytest.raises(AccountLinkInvalid):
        account_link_password_set(token=token, password=NEW_PASSWORD, address=None)

    with pytest.raises(AccountAdministrationError, match="deactivated already"):
        user_deactivate(actor=account_admin, user=user_a)


def test_deactivating_an_invitee_withdraws_the_invitation(
    account_admin, authority_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    with django_capture_on_commit_callbacks(execute=True):
        invited = _invite(account_admin, authority_a)
    token = link_token_from_mail(mail.outbox[0])

    user_deactivate(actor=account_admin, user=invited)

    with pytest.raises(AccountLinkInvalid, match="withdrawn"):
        account_link_resolve(token=token)
    with pytest.raises(AccountAdministrationError, match="never set a password"):
        user_reactivate(actor=account_admin, user=invited)


def test_no_one_deactivates_themselves(account_admin):
    with pytest.raises(AccountAdministrationError, match="your own account"):
        user_deactivate(actor=account_admin, user=account_admin)
    account_admin.refresh_from_db()
    assert account_admin.is_active


def test_a_reactivated_user_signs_in_again(account_admin, user_a):
    user_deactivate(actor=account_admin, user=user_a)
    change = user_reactivate(actor=account_admin, user=user_a, address=None)

    assert change.kind == AccountChangeKind.REACTIVATED
    assert change.changes == {"active": [False, True]}
    assert _signs_in(user_a.username, TEST_PASSWORD)
    with pytest.raises(AccountAdministrationError, match="active already"):
        user_reactivate(actor=account_admin, user=user_a)


def test_the_last_node_administrator_keeps_the_role(node_admin, authority_a):
    other = UserFactory(roles=["node_administrator"], authority=authority_a)
    # While another remains, one may step down.
    user_access_set(actor=node_admin, user=other, authority=authority_a, roles=["auditor"])
    assert "node_administrator" not in _roles(other)

    with pytest.raises(AccountAdministrationError, match="last active node administrator"):
        user_access_set(actor=node_admin, user=node_admin, authority=authority_a, roles=["auditor"])
    assert "node_administrator" in _roles(node_admin)
    assert not AccountChange.objects.filter(subject=node_admin).exists()


def test_two_node_administrators_deactivating_each_other_leave_one(node_admin, authority_a):
    other = UserFactory(roles=["node_administrator"], authority=authority_a)
    # As when both press at once: the first change commits, the second reads it after the
    # first's lock is released, with its actor's page still showing it active.
    stale_other = User.objects.get(pk=other.pk)
    user_deactivate(actor=node_admin, user=other)

    with pytest.raises(AccountAdministrationError, match="last active node administrator"):
        user_deactivate(actor=stale_other, user=node_admin)
    node_admin.refresh_from_db()
    assert node_admin.is_active


def test_a_superuser_counts_as_a_node_administrator(node_admin, authority_a):
    UserFactory(is_superuser=True, authority=authority_a)
    actor = UserFactory(roles=["node_administrator"], authority=authority_a)
    user_deactivate(actor=actor, user=node_admin)
    user_access_set(actor=actor, user=actor, authority=authority_a, roles=[])
    assert "node_administrator" not in _roles(actor)


# --- Password reset ------------------------------------------------------------------------


def test_a_password_reset_mails_a_link_the_user_spends_once(
    account_admin, user_a, django_capture_on_commit_callbacks, account_mail_at_once
):
    with django_capture_on_commit_callbacks(execute=True):
        link = password_reset_send(actor=account_admin, user=user_a, address="192.0.2.4")
    [message] = mail.outbox
    assert message.to == [user_a.email]
    assert "new password" in message.subject
    assert link.expires_at - link.created_at == timedelta(hours=24)
    # The current password works until the new one is set.
    assert _signs_in(user_a.username, TEST_PASSWORD)

    account_link_password_set(
        token=link_token_from_mail(message), password=NEW_PASSWORD, address=None
    )

    user_a.refresh_from_db()
    assert user_a.check_password(NEW_PASSWORD)
    assert not user_a.check_password(TEST_PASSWORD)
    kinds = list(
        AccountChange.objects.filter(subject=user_a).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds == [AccountChangeKind.PASSWORD_RESET_SENT, AccountChangeKind.PASSWORD_RESET_DONE]
    with pytest.raises(AccountLinkInvalid, match="used already"):
        account_link_resolve(token=link_token_from_mail(message))


def test_a_second_reset_replaces_the_first_link(account_admin, user_a):
    first = password_reset_send(actor=account_admin, user=user_a)
    password_reset_send(actor=account_admin, user=user_a)
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert AccountLink.objects.filter(user=user_a, revoked_at__isnull=True).count() == 1


def test_no_reset_for_an_inactive_user_or_one_without_an_address(account_admin, authority_a):
    inactive = UserFactory(authority=authority_a, is_active=False)
    no_address = UserFactory(authority=authority_a, email="")
    with pytest.raises(AccountAdministrationError, match="not active"):
        password_reset_send(actor=account_admin, user=inactive)
    with pytest.raises(AccountAdministrationError, match="no e-mail address"):
        password_reset_send(actor=account_admin, user=no_address)
    assert AccountLink.objects.count() == 0


# --- Second factor -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["account_administrator", "node_administrator"])
def test_account_and_node_administrators_must_have_a_second_factor(settings, role):
    settings.MFA_REQUIRED_FOR_ADMINISTRATORS = True
    settings.MFA_REQUIRED_FOR_ALL = False
    assert second_factor_required(user=UserFactory(roles=[role]))
    assert not second_factor_required(user=UserFactory(roles=["prosecutor"]))


def test_the_admin_flag_follows_the_directory_administrator_role_only(node_admin, authority_a):
    let_in = UserFactory(roles=["auditor"], authority=authority_a, is_staff=True)
    user_access_set(actor=node_admin, user=let_in, authority=authority_a, roles=["supervisor"])
    let_in.refresh_from_db()
    assert let_in.is_staff  # given by a superuser in the admin: left alone

    user_access_set(
        actor=node_admin, user=let_in, authority=authority_a, roles=["directory_administrator"]
    )
    user_access_set(actor=node_admin, user=let_in, authority=authority_a, roles=["auditor"])
    let_in.refresh_from_db()
    assert not let_in.is_staff


# --- Service providers' accounts -----------------------------------------------------------

# Roles a service provider's users may hold, and the role only they may hold.
PROVIDER_ROLES = {"provider_staff", "account_administrator", "auditor"}
OTHER_ROLES = sorted(
    {
        "prosecutor",
        "investigator",
        "validating_authority",
        "contact_point_staff",
        "central_authority_staff",
        "supervisor",
        "directory_administrator",
        "node_administrator",
    }
)


@pytest.fixture
def provider():
    return ServiceProviderFactory(identifier="ie-example-mail", name="Example Mail (IE)")


@pytest.mark.parametrize("role", sorted(PROVIDER_ROLES | set(OTHER_ROLES)))
def test_the_roles_a_service_providers_users_may_hold(node_admin, provider, role):
    if role in PROVIDER_ROLES:
        invited = _invite(node_admin, provider, username=f"new.{role}", roles=[role])
        assert _roles(invited) == {role}
        return
    with pytest.raises(AccountAdministrationError, match="is a service provider") as caught:
        _invite(node_admin, provider, username=f"new.{role}", roles=["provider_staff", role])
    assert "Service-provider staff" in caught.value.message
    assert not User.objects.filter(username=f"new.{role}").exists()


def test_provider_staff_only_in_a_service_providers_entry(node_admin, user_a, authority_a):
    with pytest.raises(AccountAdministrationError, match="Office A is not one"):
        _invite(node_admin, authority_a, username="new.staff", roles=["provider_staff"])
    with pytest.raises(AccountAdministrationError, match="Office A is not one"):
        user_access_set(
            actor=node_admin, user=user_a, authority=authority_a, roles=["provider_staff"]
        )
    assert _roles(user_a) == {"prosecutor"}
    assert not AccountChange.objects.exists()


def test_moving_a_user_to_a_service_provider_checks_the_roles_they_keep(
    node_admin, user_a, provider
):
    with pytest.raises(AccountAdministrationError, match="is a service provider"):
        user_access_set(actor=node_admin, user=user_a, authority=provider, roles=["prosecutor"])
    user_a.refresh_from_db()
    assert user_a.authority.identifier == "ro-a-prosecutor"

    user_access_set(actor=node_admin, user=user_a, authority=provider, roles=["provider_staff"])

    user_a.refresh_from_db()
    assert user_a.authority == provider
    assert _roles(user_a) == {"provider_staff"}


def test_a_providers_account_administrator_manages_its_staff(provider):
    administrator = UserFactory(roles=["account_administrator"], authority=provider)

    invited = _invite(administrator, provider, username="staff.ie", roles=["provider_staff"])

    assert _roles(invited) == {"provider_staff"}
    with pytest.raises(AccountAdministrationError, match="is a service provider"):
        user_access_set(actor=administrator, user=invited, authority=provider, roles=["prosecutor"])
