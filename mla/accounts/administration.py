"""Account administration: invitations, authority and roles, deactivation, password resets.

Account administrators manage the users of their own authority, node administrators those
of every authority (``users_managed_by``). Every rule is checked here, whatever page or
command calls: the scope (a user outside it is "not found"), the roles only a node
administrator gives, the last node administrator, one's own account. Each change is one
transaction with its row in the append-only ``AccountChange`` log; e-mails leave on commit.
"""

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from contact_points.models import Authority, AuthorityKind
from mla.accounts.models import (
    AccountChange,
    AccountChangeKind,
    AccountLink,
    AccountLinkPurpose,
    User,
)
from mla.accounts.roles import SERVICE_PROVIDER_ROLES, Role
from mla.accounts.selectors import users_managed_by
from mla.accounts.services import user_authority_group_sync
from mla.core.errors import ApplicationError
from mla.core.instants import format_instant
from mla.core.node import node_identity

# Roles that act on the whole node, not on one authority: only a node administrator gives
# or takes them (a directory administrator changes every partner's key and inbox).
NODE_WIDE_ROLES = frozenset({Role.NODE_ADMINISTRATOR.value, Role.DIRECTORY_ADMINISTRATOR.value})

ACCOUNT_LINK_SALT = "mla.accounts.account-link"


class AccountAdministrationError(ApplicationError):
    """A rule of account administration refused the change."""


class UserNotManaged(AccountAdministrationError):
    """The user does not exist for this administrator (another authority, or no right to
    administer accounts at all): answered as "not found", as elsewhere."""


class AccountLinkInvalid(ApplicationError):
    """A one-time link that cannot be used (unknown, used, replaced or expired)."""


# --- Scope ---------------------------------------------------------------------------------


def _administrator_required(*, actor: User) -> None:
    if not actor.is_account_administrator:
        raise UserNotManaged(_("You do not manage accounts."))


def user_managed_get(*, actor: User, user_id: int) -> User:
    """The user ``actor`` may manage, or UserNotManaged."""
    _administrator_required(actor=actor)
    user = users_managed_by(actor=actor).select_related("authority__country").filter(pk=user_id)
    found = user.first()
    if found is None:
        raise UserNotManaged(_("No such user."))
    return found


def _managed_locked(*, actor: User, user: User) -> User:
    """The subject's row, locked for the change, after checking it is in the actor's scope
    (read again: another administrator may have changed it since the page was drawn)."""
    _administrator_required(actor=actor)
    locked = User.objects.select_for_update().filter(pk=user.pk).first()
    if locked is None or not users_managed_by(actor=actor).filter(pk=user.pk).exists():
        raise UserNotManaged(_("No such user."))
    return locked


def authorities_assignable_by(*, actor: User) -> list[Authority]:
    """The authorities ``actor`` may give a user: their own, or any active one for a node
    administrator."""
    if actor.is_node_administrator:
        return list(
            Authority.objects.filter(active=True)
            .select_related("country")
            .order_by("country__code", "name")
        )
    if actor.is_account_administrator:
        return [actor.authority]
    return []


def roles_assignable_by(*, actor: User) -> list[Role]:
    if actor.is_node_administrator:
        return list(Role)
    if actor.is_account_administrator:
        return [role for role in Role if role.value not in NODE_WIDE_ROLES]
    return []


def _authority_check(*, actor: User, authority: Authority) -> None:
    if actor.is_node_administrator:
        return
    if authority.pk != actor.authority_id:
        raise AccountAdministrationError(
            _("You manage the accounts of your own authority only: choose %(authority)s.")
            % {"authority": actor.authority.name}
        )


def _roles_check(*, actor: User, old: set[str], new: set[str]) -> None:
    unknown = new - set(Role.values)
    if unknown:
        raise AccountAdministrationError(
            _("Unknown roles: %(roles)s.") % {"roles": ", ".join(sorted(unknown))}
        )
    node_wide_changed = (old ^ new) & NODE_WIDE_ROLES
    if node_wide_changed and not actor.is_node_administrator:
        raise AccountAdministrationError(
            _("Only a node administrator gives or takes the role %(roles)s.")
            % {"roles": ", ".join(str(Role(name).label) for name in sorted(node_wide_changed))}
        )


def _roles_authority_check(*, authority: Authority, roles: set[str]) -> None:
    """A service provider's users work the orders addressed to it, and only they do."""
    provider = authority.kind == AuthorityKind.SERVICE_PROVIDER
    if Role.PROVIDER_STAFF.value in roles and not provider:
        raise AccountAdministrationError(
            _(
                "The role %(role)s is for the users of a service provider's entry; "
                "%(authority)s is not one."
            )
            % {"role": Role.PROVIDER_STAFF.label, "authority": authority.name}
        )
    refused = roles - SERVICE_PROVIDER_ROLES
    if provider and refused:
        raise AccountAdministrationError(
            _(
                "%(authority)s is a service provider: its users may hold only the roles "
                "%(allowed)s, not %(refused)s."
            )
            % {
                "authority": authority.name,
                "allowed": ", ".join(
                    str(Role(name).label) for name in sorted(SERVICE_PROVIDER_ROLES)
                ),
                "refused": ", ".join(str(Role(name).label) for name in sorted(refused)),
            }
        )


def _roles_of(user: User) -> set[str]:
    return set(
        user.groups.filter(name__in=Role.values).values_list("name", flat=True)  # not cached
    )


def _is_node_administrator(*, user: User, roles: set[str], active: bool) -> bool:
    return active and (user.is_superuser or Role.NODE_ADMINISTRATOR.value in roles)


def _last_node_administrator_guard(*, subject: User) -> None:
    """Refuse when ``subject`` is the only active node administrator left.

    The node administrator role's group row is locked first, so that two administrators
    removing each other at the same moment are decided one after the other.
    """
    Group.objects.select_for_update().filter(name=Role.NODE_ADMINISTRATOR.value).first()
    others = (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.NODE_ADMINISTRATOR.value))
        .exclude(pk=subject.pk)
        .exists()
    )
    if not others:
        raise AccountAdministrationError(
            _(
                "%(user)s is the last active node administrator: make someone else a node "
                "administrator first."
            )
            % {"user": subject.username}
        )


# --- The log -------------------------------------------------------------------------------


def _record(
    *,
    actor: User,
    subject: User,
    kind: AccountChangeKind,
    address: str | None,
    changes: dict[str, Any] | None = None,
) -> AccountChange:
    return AccountChange.objects.create(
        actor=actor,
        actor_username=actor.username,
        subject=subject,
        subject_username=subject.username,
        kind=kind,
        changes=changes or {},
        address=address,
    )


def _staff_flag_sync(*, user: User, old: set[str], new: set[str]) -> None:
    # The Django admin is where directory administrators edit the directory (user_create's
    # rule): the flag follows that role when it is given or taken, and is left alone
    # otherwise (a superuser, or someone a superuser let into the admin, keeps it).
    directory = Role.DIRECTORY_ADMINISTRATOR.value
    if directory in new and directory not in old:
        user.is_staff = True
    elif directory in old and directory not in new and not user.is_superuser:
        user.is_staff = False


# --- One-time links ------------------------------------------------------------------------


def account_link_token(*, link: AccountLink) -> str:
    """The secret part of the link's URL: its id and nonce, signed with SECRET_KEY."""
    return signing.dumps([link.pk, link.nonce], salt=ACCOUNT_LINK_SALT)


def account_link_url(*, link: AccountLink) -> str:
    path = reverse("accounts:account_link", args=[account_link_token(link=link)])
    return f"{_site_base_url()}{path}"


def _site_base_url() -> str:
    identity = node_identity()
    if identity is not None and identity.base_url:
        return identity.base_url.rstrip("/")
    return str(settings.SITE_URL).rstrip("/")


def _node_name() -> str:
    identity = node_identity()
    return identity.name if identity is not None and identity.name else str(settings.NODE_NAME)


def _links_revoke(*, user: User, now: datetime, purpose: str | None = None) -> int:
    outstanding = AccountLink.objects.filter(
        user=user, used_at__isnull=True, revoked_at__isnull=True
    )
    if purpose is not None:
        outstanding = outstanding.filter(purpose=purpose)
    return outstanding.update(revoked_at=now)


def _link_issue(
    *, user: User, purpose: AccountLinkPurpose, actor: User, now: datetime
) -> AccountLink:
    """A new link for ``user``; the earlier ones of the same purpose stop working."""
    _links_revoke(user=user, now=now, purpose=purpose)
    hours = (
        settings.INVITATION_VALID_HOURS
        if purpose == AccountLinkPurpose.INVITATION
        else settings.PASSWORD_RESET_VALID_HOURS
    )
    link = AccountLink.objects.create(
        user=user,
        purpose=purpose,
        nonce=secrets.token_urlsafe(32),
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    link_id = link.pk
    transaction.on_commit(lambda: _email_task_queue(link_id=link_id))
    return link


def _email_task_queue(*, link_id: int) -> None:
    # Imported here: the task module imports this one.
    from mla.accounts.tasks import account_link_email_send

    account_link_email_send.delay(link_id)


def account_link_resolve(*, token: str, now: datetime | None = None) -> AccountLink:
    """The link a token names, if it can still be used; otherwise AccountLinkInvalid
    saying why (unknown, used, replaced or withdrawn, expired)."""
    moment = now or timezone.now()
    try:
        link_id, nonce = signing.loads(token, salt=ACCOUNT_LINK_SALT)
    except (signing.BadSignature, TypeError, ValueError) as error:
        raise AccountLinkInvalid(
            _("This link is not valid. Check that it was copied whole from the e-mail.")
        ) from error
    link = AccountLink.objects.select_related("user").filter(pk=link_id).first()
    if link is None or not constant_time_compare(str(nonce), link.nonce):
        raise AccountLinkInvalid(
            _("This link is not valid. Check that it was copied whole from the e-mail.")
        )
    if link.used_at is not None:
        raise AccountLinkInvalid(
            _(
                "This link was used already, on %(when)s UTC. If it was not you, tell your "
                "administrator at once."
            )
            % {"when": f"{link.used_at:%Y-%m-%d %H:%M}"}
        )
    if link.revoked_at is not None:
        raise AccountLinkInvalid(
            _(
                "This link no longer works: a newer one was sent, or it was withdrawn. Use "
                "the latest e-mail, or ask your administrator for a new link."
            )
        )
    if link.expires_at <= moment:
        raise AccountLinkInvalid(
            _("This link expired on %(when)s UTC. Ask your administrator for a new one.")
            % {"when": f"{link.expires_at:%Y-%m-%d %H:%M}"}
        )
    if link.purpose == AccountLinkPurpose.PASSWORD_RESET and not link.user.is_active:
        raise AccountLinkInvalid(_("This account is deactivated. Ask your administrator."))
    return link


@transaction.atomic
def account_link_password_set(
    *, token: str, password: str, address: str | None, now: datetime | None = None
) -> User:
    """Set the password of the link's user and spend the link; an invitation activates the
    account. Every other outstanding link of the user stops working."""
    moment = now or timezone.now()
    found = account_link_resolve(token=token, now=moment)
    # Locked, then checked again: of two tabs submitting the same link, one wins.
    AccountLink.objects.select_for_update().filter(pk=found.pk).first()
    link = account_link_resolve(token=token, now=moment)
    user = User.objects.select_for_update().get(pk=link.user_id)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise AccountAdministrationError(" ".join(error.messages)) from error
    user.set_password(password)
    accepted = link.purpose == AccountLinkPurpose.INVITATION
    changes: dict[str, Any] = {}
    if accepted and not user.is_active:
        user.is_active = True
        changes["active"] = [False, True]
    user.save()
    AccountLink.objects.filter(pk=link.pk).update(used_at=moment)
    _links_revoke(user=user, now=moment)
    _record(
        actor=user,
        subject=user,
        kind=(
            AccountChangeKind.INVITATION_ACCEPTED
            if accepted
            else AccountChangeKind.PASSWORD_RESET_DONE
        ),
        address=address,
        changes=changes,
    )
    return user


def account_link_email_deliver(*, link_id: int) -> bool:
    """E-mail a one-time link to its user, once; False when there is nothing to send (the
    link was sent already, spent, replaced or expired, or the user has no address).

    The row stays locked while the mail is handed to the server, so that a redelivered
    task waits and then finds it sent.
    """
    with transaction.atomic(durable=True):
        link = (
            AccountLink.objects.select_for_update(of=("self",))
            .select_related("user__authority", "created_by")
            .filter(pk=link_id)
            .first()
        )
        if link is None or link.emailed_at is not None or not link.is_outstanding():
            return False
        user = link.user
        if not user.email:
            return False
        subject, body = _link_email(link=link)
        send_mail(
            subject=f"{getattr(settings, 'EMAIL_SUBJECT_PREFIX', '')}{subject}",
            message=body,
            from_email=None,
            recipient_list=[user.email],
            fail_silently=False,
        )
        AccountLink.objects.filter(pk=link.pk).update(emailed_at=timezone.now())
    return True


def _link_email(*, link: AccountLink) -> tuple[str, str]:
    user = link.user
    sender = link.created_by
    node = _node_name()
    with translation.override(user.preferred_language):
        values = {
            "name": user.get_full_name() or user.username,
            "sender": (sender.get_full_name() or sender.username) if sender else node,
            "node": node,
            "username": user.username,
            "authority": user.authority.name,
            "link": account_link_url(link=link),
            "expires": format_instant(link.expires_at, user.zone),
        }
        if link.purpose == AccountLinkPurpose.INVITATION:
            subject = _("Your account on %(node)s") % values
            lines = [
                _("Hello %(name)s,") % values,
                _(
                    "%(sender)s opened an account for you on %(node)s, for %(authority)s. "
                    "Your username is %(username)s."
                )
                % values,
                _("Set your password with this link (it works once, until %(expires)s):") % values,
                values["link"],
                _(
                    "You will then add a second factor (an authenticator app or a passkey) if "
                    "your account must have one."
                ),
            ]
        else:
            subject = _("Set a new password on %(node)s") % values
            lines = [
                _("Hello %(name)s,") % values,
                _("%(sender)s asked that you set a new password for your account %(username)s.")
                % values,
                _("Set it with this link (it works once, until %(expires)s):") % values,
                values["link"],
                _(
                    "Your current password works until you set the new one. If you did not "
                    "expect this e-mail, tell your administrator."
                ),
            ]
    return subject, "\n\n".join(lines) + "\n"


# --- Sessions ------------------------------------------------------------------------------


def _sessions_end(*, user: User) -> int:
    """Delete the stored sessions signed in as ``user``.

    Only database-backed session stores can be searched by user; with any store, Django's
    model backend already refuses an inactive user's session on its next request.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return 0
    model = store.get_model_class()
    keys = [
        session.session_key
        for session in model.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get("_auth_user_id", "")) == str(user.pk)
    ]
    model.objects.filter(session_key__in=keys).delete()
    return len(keys)


# --- The changes ---------------------------------------------------------------------------


@transaction.atomic
def user_invite(
    *,
    actor: User,
    username: str,
    email: str,
    authority: Authority,
    roles: Iterable[Role | str],
    first_name: str = "",
    last_name: str = "",
    preferred_language: str = "en",
    address: str | None = None,
    now: datetime | None = None,
) -> User:
    """Open an inactive account and e-mail its owner a one-time link to set a password."""
    _administrator_required(actor=actor)
    moment = now or timezone.now()
    username = username.strip()
    email = email.strip()
    role_names = {str(role) for role in roles}
    _authority_check(actor=actor, authority=authority)
    _roles_check(actor=actor, old=set(), new=role_names)
    _roles_authority_check(authority=authority, roles=role_names)
    try:
        User.username_validator(username)
    except ValidationError as error:
        raise AccountAdministrationError(" ".join(error.messages)) from error
    if not username:
        raise AccountAdministrationError(_("A username is needed."))
    try:
        validate_email(email)
    except ValidationError as error:
        raise AccountAdministrationError(
            _("“%(email)s” is not an e-mail address.") % {"email": email}
        ) from error
    if User.objects.filter(username__iexact=username).exists():
        raise AccountAdministrationError(
            _("The username “%(username)s” is taken.") % {"username": username}
        )
    if preferred_language not in dict(User._meta.get_field("preferred_language").choices or []):
        raise AccountAdministrationError(_("Unsupported language."))
    user = User(
        username=username,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        authority=authority,
        preferred_language=preferred_language,
        is_active=False,
    )
    user.set_unusable_password()
    _staff_flag_sync(user=user, old=set(), new=role_names)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        # Another administrator took the username between the check above and now.
        raise AccountAdministrationError(
            _("The username “%(username)s” is taken.") % {"username": username}
        ) from error
    user.groups.set(Group.objects.filter(name__in=role_names))
    user_authority_group_sync(user=user)
    link = _link_issue(user=user, purpose=AccountLinkPurpose.INVITATION, actor=actor, now=moment)
    _record(
        actor=actor,
        subject=user,
        kind=AccountChangeKind.INVITED,
        address=address,
        changes={
            "authority": [None, authority.identifier],
            "roles": [[], sorted(role_names)],
            "email": [None, email],
            "expires": link.expires_at.isoformat(),
        },
    )
    return user


@transaction.atomic
def invitation_resend(
    *, actor: User, user: User, address: str | None = None, now: datetime | None = None
) -> AccountLink:
    """A new invitation link for a user who has not set a password yet; the previous link
    stops working."""
    moment = now or timezone.now()
    subject = _managed_locked(actor=actor, user=user)
    if subject.has_usable_password():
        raise AccountAdministrationError(
            _("%(user)s has set a password already: send a password reset instead.")
            % {"user": subject.username}
        )
    if not subject.email:
        raise AccountAdministrationError(_("This account has no e-mail address."))
    link = _link_issue(user=subject, purpose=AccountLinkPurpose.INVITATION, actor=actor, now=moment)
    _record(
        actor=actor,
        subject=subject,
        kind=AccountChangeKind.INVITATION_RESENT,
        address=address,
        changes={"expires": link.expires_at.isoformat()},
    )
    return link


@transaction.atomic
def user_access_set(
    *,
    actor: User,
    user: User,
    authority: Authority,
    roles: Iterable[Role | str],
    address: str | None = None,
) -> AccountChange | None:
    """Give ``user`` this authority and exactly these roles; None when nothing changed."""
    subject = _managed_locked(actor=actor, user=user)
    old_roles = _roles_of(subject)
    new_roles = {str(role) for role in roles}
    _authority_check(actor=actor, authority=authority)
    _roles_check(actor=actor, old=old_roles, new=new_roles)
    _roles_authority_check(authority=authority, roles=new_roles)
    changes: dict[str, Any] = {}
    if authority.pk != subject.authority_id:
        changes["authority"] = [subject.authority.identifier, authority.identifier]
    if old_roles != new_roles:
        changes["roles"] = [sorted(old_roles), sorted(new_roles)]
    if not changes:
        return None
    if _is_node_administrator(
        user=subject, roles=old_roles, active=subject.is_active
    ) and not _is_node_administrator(user=subject, roles=new_roles, active=subject.is_active):
        _last_node_administrator_guard(subject=subject)
    subject.authority = authority
    _staff_flag_sync(user=subject, old=old_roles, new=new_roles)
    subject.save(update_fields=["authority", "is_staff"])
    keep = subject.groups.exclude(name__in=Role.values)
    subject.groups.set([*keep, *Group.objects.filter(name__in=new_roles)])
    user_authority_group_sync(user=subject)
    return _record(
        actor=actor,
        subject=subject,
        kind=AccountChangeKind.ACCESS_CHANGED,
        address=address,
        changes=changes,
    )


@transaction.atomic
def user_deactivate(
    *, actor: User, user: User, address: str | None = None, now: datetime | None = None
) -> AccountChange:
    """Deactivate an account (never delete it: the audit trail names its owner); its
    sessions end and its outstanding links stop working."""
    moment = now or timezone.now()
    subject = _managed_locked(actor=actor, user=user)
    if subject.pk == actor.pk:
        raise AccountAdministrationError(_("You cannot deactivate your own account."))
    outstanding = AccountLink.objects.filter(
        user=subject, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=moment
    ).exists()
    if not subject.is_active and not outstanding:
        raise AccountAdministrationError(
            _("%(user)s is deactivated already.") % {"user": subject.username}
        )
    if _is_node_administrator(user=subject, roles=_roles_of(subject), active=subject.is_active):
        _last_node_administrator_guard(subject=subject)
    was_active = subject.is_active
    subject.is_active = False
    subject.save(update_fields=["is_active"])
    revoked = _links_revoke(user=subject, now=moment)
    ended = _sessions_end(user=subject)
    return _record(
        actor=actor,
        subject=subject,
        kind=AccountChangeKind.DEACTIVATED,
        address=address,
        changes={"active": [was_active, False], "links_revoked": revoked, "sessions_ended": ended},
    )


@transaction.atomic
def user_reactivate(*, actor: User, user: User, address: str | None = None) -> AccountChange:
    subject = _managed_locked(actor=actor, user=user)
    if subject.is_active:
        raise AccountAdministrationError(
            _("%(user)s is active already.") % {"user": subject.username}
        )
    if not subject.has_usable_password():
        raise AccountAdministrationError(
            _("%(user)s never set a password: send the invitation again instead.")
            % {"user": subject.username}
        )
    subject.is_active = True
    subject.save(update_fields=["is_active"])
    return _record(
        actor=actor,
        subject=subject,
        kind=AccountChangeKind.REACTIVATED,
        address=address,
        changes={"active": [False, True]},
    )


@transaction.atomic
def password_reset_send(
    *, actor: User, user: User, address: str | None = None, now: datetime | None = None
) -> AccountLink:
    """E-mail the user a one-time link to set a new password (the administrator never sees
    or sets one); an earlier reset link stops working."""
    moment = now or timezone.now()
    subject = _managed_locked(actor=actor, user=user)
    if not subject.is_active:
        raise AccountAdministrationError(
            _("%(user)s is not active: reactivate the account or send the invitation again.")
            % {"user": subject.username}
        )
    if not subject.email:
        raise AccountAdministrationError(_("This account has no e-mail address."))
    link = _link_issue(
        user=subject, purpose=AccountLinkPurpose.PASSWORD_RESET, actor=actor, now=moment
    )
    _record(
        actor=actor,
        subject=subject,
        kind=AccountChangeKind.PASSWORD_RESET_SENT,
        address=address,
        changes={"expires": link.expires_at.isoformat()},
    )
    return link
