"""Who sees which request: django-guardian object permissions, never a global one.

Each authority has a group ("authority:<identifier>") of its users. A request is visible to
the group of its issuing authority, to that of the authority chosen to validate it once
submitted, and to whoever it is shared with (a named colleague, or another unit); a share
can be revoked. Lists filter in the database through guardian's direct foreign-key tables.
"""

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from contact_points.models import Authority
from mla.accounts.models import User
from mla.accounts.services import AUTHORITY_SHARED_GROUP_PREFIX as SHARED_PREFIX
from mla.accounts.services import authority_group
from mla.core.errors import ApplicationError
from mla.requests.audit import audit_record
from mla.requests.events import Event
from mla.requests.lifecycle.rules import may_act_for_issuer
from mla.requests.models import Request, RequestGroupObjectPermission, RequestUserObjectPermission

VIEW_CODENAME = "view_request"
VIEW = f"mla_requests.{VIEW_CODENAME}"


def request_grant_authority(*, request: Request, authority: Authority) -> None:
    shared = authority.pk != request.owning_authority_id
    # One INSERT … ON CONFLICT DO NOTHING: idempotent like guardian's assign_perm, without
    # its lookup of an existing row and its savepoint (every received request is granted).
    RequestGroupObjectPermission.objects.assign_perm_to_many(
        VIEW_CODENAME,
        [authority_group(authority=authority, shared=shared)],
        request,
        ignore_conflicts=True,
    )


def visible_requests(*, user: User) -> QuerySet[Request]:
    return get_objects_for_user(
        user, VIEW, klass=Request, accept_global_perms=False, with_superuser=False
    )


def may_share(*, request: Request, actor: User) -> bool:
    return may_act_for_issuer(request=request, user=actor)


def _share_payload(
    *, request: Request, actor: User, user: User | None, authority: Authority | None
) -> dict[str, str]:
    """Check a share or revoke is allowed and names exactly one target; describe it."""
    if not may_share(request=request, actor=actor):
        raise ApplicationError(
            _("Only the author or a prosecutor of the issuing authority shares.")
        )
    if (user is None) == (authority is None):
        raise ApplicationError(_("Share with one colleague or one authority."))
    if user is not None:
        return {"user": user.username}
    assert authority is not None
    if authority.pk == request.issuing_authority_id:
        raise ApplicationError(_("The issuing authority always sees its own requests."))
    return {"authority": authority.identifier}


@transaction.atomic
def request_share(
    *,
    request: Request,
    actor: User,
    user: User | None = None,
    authority: Authority | None = None,
) -> None:
    """Let a named colleague, or every user of another unit, see the request."""
    payload = _share_payload(request=request, actor=actor, user=user, authority=authority)
    if user is not None:
        assign_perm(VIEW, user, request)
    else:
        assert authority is not None
        request_grant_authority(request=request, authority=authority)
    audit_record(request=request, actor=actor, event=Event.SHARE, payload=payload)


@transaction.atomic
def request_revoke(
    *,
    request: Request,
    actor: User,
    user: User | None = None,
    authority: Authority | None = None,
) -> None:
    payload = _share_payload(request=request, actor=actor, user=user, authority=authority)
    if user is not None:
        remove_perm(VIEW, user, request)
    else:
        assert authority is not None
        remove_perm(VIEW, authority_group(authority=authority, shared=True), request)
    audit_record(request=request, actor=actor, event=Event.REVOKE, payload=payload)


def request_shares(*, request: Request) -> dict[str, list[str]]:
    """Whom the request is shared with beyond its issuing authority."""
    users = sorted(
        RequestUserObjectPermission.objects.filter(
            content_object=request, permission__codename="view_request"
        ).values_list("user__username", flat=True)
    )
    groups = sorted(
        name.removeprefix(SHARED_PREFIX)
        for name in RequestGroupObjectPermission.objects.filter(
            content_object=request,
            permission__codename="view_request",
            group__name__startswith=SHARED_PREFIX,
        ).values_list("group__name", flat=True)
    )
    return {"users": users, "authorities": groups}
