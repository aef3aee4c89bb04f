"""Who sees, edits and issues which request.

Three rights, checked by the services (the pages only mirror them):
- *view*: django-guardian object permissions, never a global one. Each authority has a
  group ("authority:<identifier>") of its users. A request is visible to the group of its
  issuing authority, to that of the authority chosen to validate it while it is with that
  authority (the grant ends when the request returns to draft), and to whoever it is shared
  with (a named colleague, or another unit). Lists filter in the database through
  guardian's direct foreign-key tables.
- *edit* (a draft's sections, documents and links): a holder of an issuing role in the
  issuing authority, or one to whom the request was shared with the edit right and who
  holds an issuing role in their own authority. A share is read-only unless it says so.
- *issue* (create, duplicate, submit, send, withdraw, share, chase): a holder of an issuing
  role in the issuing authority (mla.requests.lifecycle.rules.may_act_for_issuer).
"""

from dataclasses import dataclass

from django.contrib.auth.models import Group
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
from mla.requests.lifecycle.rules import may_act_for_issuer, may_issue
from mla.requests.models import Request, RequestGroupObjectPermission, RequestUserObjectPermission

VIEW_CODENAME = "view_request"
VIEW = f"mla_requests.{VIEW_CODENAME}"
EDIT_CODENAME = "change_request"
EDIT = f"mla_requests.{EDIT_CODENAME}"


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


def request_validator_grant_end(*, request: Request) -> None:
    """The validating authority no longer sees a request returned to draft: its grant was
    to read what it was asked to validate, not the issuer's work in progress."""
    if request.validating_authority_id is None:
        return
    assert request.validating_authority is not None
    if request.validating_authority_id == request.owning_authority_id:
        return  # the issuing authority validating its own requests keeps its own view
    remove_perm(VIEW, authority_group(authority=request.validating_authority, shared=True), request)


def has_edit_grant(*, request: Request, user: User) -> bool:
    """Whether the request was shared with the user, or with their authority, to edit."""
    if RequestUserObjectPermission.objects.filter(
        content_object=request, user=user, permission__codename=EDIT_CODENAME
    ).exists():
        return True
    return RequestGroupObjectPermission.objects.filter(
        content_object=request, group__user=user, permission__codename=EDIT_CODENAME
    ).exists()


def may_edit(*, request: Request, user: User) -> bool:
    """Who may change a draft's sections, documents and links (see the module's text)."""
    if request.state != Request.State.DRAFT or request.direction != Request.Direction.OUTGOING:
        return False
    if may_act_for_issuer(request=request, user=user):
        return True
    return may_issue(user=user) and has_edit_grant(request=request, user=user)


def may_duplicate(*, request: Request, user: User) -> bool:
    """A copy is made from the issuing authority's own request, never from a received one."""
    return may_act_for_issuer(request=request, user=user)


def may_share(*, request: Request, actor: User) -> bool:
    return may_act_for_issuer(request=request, user=actor)


def edit_refusal(*, request: Request, user: User) -> None:
    """Raise the reason the user may not change this draft, if they may not."""
    if request.state != Request.State.DRAFT or request.direction != Request.Direction.OUTGOING:
        raise ApplicationError(_("Only a draft can be edited."), code="not_allowed_in_state")
    if not may_edit(request=request, user=user):
        raise ApplicationError(
            _(
                "You may read this draft but not change it: a prosecutor of the issuing "
                "authority, or someone it shared the draft with to edit, may."
            ),
            code="forbidden",
        )


@dataclass(frozen=True)
class RequestRights:
    """What the user may do from a request's page besides its steps (see lifecycle.steps)."""

    edit: bool
    duplicate: bool
    share: bool


def request_rights(*, request: Request, user: User) -> RequestRights:
    return RequestRights(
        edit=may_edit(request=request, user=user),
        duplicate=may_duplicate(request=request, user=user),
        share=may_share(request=request, actor=user),
    )


def _share_payload(
    *, request: Request, actor: User, user: User | None, authority: Authority | None
) -> dict[str, str]:
    """Check a share or revoke is allowed and names exactly one target; describe it."""
    if not may_share(request=request, actor=actor):
        raise ApplicationError(
            _(
                "Only a prosecutor (or another role allowed to issue) of the issuing "
                "authority shares its requests."
            ),
            code="forbidden",
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
    edit: bool = False,
) -> None:
    """Let a named colleague, or every user of another unit, see the request; with ``edit``,
    change it too while it is a draft (if they hold an issuing role themselves)."""
    payload = _share_payload(request=request, actor=actor, user=user, authority=authority)
    if edit and request.state != Request.State.DRAFT:
        raise ApplicationError(_("Only a draft can be shared to edit."))
    target: User | Group
    if user is not None:
        assign_perm(VIEW, user, request)
        target = user
    else:
        assert authority is not None
        request_grant_authority(request=request, authority=authority)
        target = authority_group(authority=authority, shared=True)
    if edit:
        assign_perm(EDIT, target, request)
    else:
        # Shared again without the right to edit: a former edit grant ends.
        remove_perm(EDIT, target, request)
    audit_record(request=request, actor=actor, event=Event.SHARE, payload={**payload, "edit": edit})


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
        remove_perm(EDIT, user, request)
    else:
        assert authority is not None
        group = authority_group(authority=authority, shared=True)
        remove_perm(VIEW, group, request)
        remove_perm(EDIT, group, request)
    audit_record(request=request, actor=actor, event=Event.REVOKE, payload=payload)


@dataclass(frozen=True)
class Share:
    name: str  # a username, or an authority's identifier
    edit: bool


def request_shares(*, request: Request) -> dict[str, list[Share]]:
    """Whom the request is shared with beyond its issuing authority, and who may edit it."""
    users: dict[str, set[str]] = {}
    for username, codename in RequestUserObjectPermission.objects.filter(
        content_object=request, permission__codename__in=[VIEW_CODENAME, EDIT_CODENAME]
    ).values_list("user__username", "permission__codename"):
        users.setdefault(username, set()).add(codename)
    groups: dict[str, set[str]] = {}
    for name, codename in RequestGroupObjectPermission.objects.filter(
        content_object=request,
        permission__codename__in=[VIEW_CODENAME, EDIT_CODENAME],
        group__name__startswith=SHARED_PREFIX,
    ).values_list("group__name", "permission__codename"):
        groups.setdefault(name.removeprefix(SHARED_PREFIX), set()).add(codename)
    return {
        "users": [
            Share(name=name, edit=EDIT_CODENAME in codenames)
            for name, codenames in sorted(users.items())
            if VIEW_CODENAME in codenames
        ],
        "authorities": [
            Share(name=name, edit=EDIT_CODENAME in codenames)
            for name, codenames in sorted(groups.items())
            if VIEW_CODENAME in codenames
        ],
    }
