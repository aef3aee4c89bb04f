"""Read-side queries of users."""

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from mla.accounts.models import AccountChange, AccountLink, AccountLinkPurpose, User
from mla.accounts.roles import Role


def users_with_roles(*, authority_id: int | None, roles: Iterable[str]) -> QuerySet[User]:
    """Active users of an authority holding any of ``roles`` (none for no authority)."""
    if authority_id is None:
        return User.objects.none()
    return User.objects.filter(
        authority_id=authority_id, is_active=True, groups__name__in=list(roles)
    ).distinct()


def users_managed_by(*, actor: User) -> QuerySet[User]:
    """The users ``actor`` may manage: a node administrator every user; an account
    administrator the users of their own authority, except node administrators (whom only
    node administrators manage); anyone else none."""
    if not actor.is_account_administrator:
        return User.objects.none()
    if actor.is_node_administrator:
        return User.objects.all()
    return User.objects.filter(authority_id=actor.authority_id, is_superuser=False).exclude(
        groups__name=Role.NODE_ADMINISTRATOR.value
    )


def managed_users_list(
    *,
    actor: User,
    search: str = "",
    authority_id: int | None = None,
    role: str = "",
    active: bool | None = None,
) -> QuerySet[User]:
    """The users ``actor`` manages, filtered, each with ``has_second_factor``,
    ``pending_invitation`` (an invitation link still outstanding) and ``role_groups`` (its
    roles' groups, fetched for the whole page in one query)."""
    users = (
        users_managed_by(actor=actor)
        .select_related("authority__country")
        .prefetch_related(
            Prefetch(
                "groups",
                queryset=Group.objects.filter(name__in=Role.values).order_by("name"),
                to_attr="role_groups",
            )
        )
    )
    text = search.strip()
    if text:
        users = users.filter(
            Q(username__icontains=text)
            | Q(first_name__icontains=text)
            | Q(last_name__icontains=text)
            | Q(email__icontains=text)
        )
    if authority_id is not None:
        users = users.filter(authority_id=authority_id)
    if role:
        users = users.filter(pk__in=User.objects.filter(groups__name=role).values("pk"))
    if active is not None:
        users = users.filter(is_active=active)
    return users.annotate(
        has_second_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        | Exists(WebAuthnCredential.objects.filter(user=OuterRef("pk"), confirmed=True)),
        pending_invitation=Exists(
            AccountLink.objects.filter(
                user=OuterRef("pk"),
                purpose=AccountLinkPurpose.INVITATION,
                used_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
        ),
    ).order_by("username")


def account_changes_of(*, subject: User, limit: int = 100) -> list[AccountChange]:
    return list(AccountChange.objects.filter(subject=subject).select_related("actor")[:limit])


def account_links_of(*, user: User, limit: int = 10) -> list[AccountLink]:
    return list(AccountLink.objects.filter(user=user).select_related("created_by")[:limit])
