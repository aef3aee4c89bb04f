"""Changes of an authority's trust anchors (its public key and inbox URL) under four eyes, as
in the administration: one directory administrator proposes, another approves or rejects.

Through contact_points' own services, which decide who may (a directory administrator,
never the proposer for the approval) and refuse with the message the admin page shows.
"""

import datetime
from typing import Annotated, Any

from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import ConfigDict

from contact_points.models import Authority, DirectoryChange
from contact_points.selectors import directory_changes_pending
from contact_points.services import (
    directory_administrator_ensure,
    directory_change_approve,
    directory_change_propose,
    directory_change_reject,
)
from mla.accounts.models import User
from mla.api.auth import caller_of, recent_authentication_check, scoped
from mla.api.cursors import cursor_decode, cursor_encode, cursor_invalid
from mla.api.models import Scope
from mla.api.queries import query_known_check
from mla.core.errors import ApplicationError
from mla.openpgp.keys import MAX_KEY_TEXT_LENGTH

router = Router(tags=["directory"], auth=scoped(Scope.DIRECTORY))


class ChangeOut(Schema):
    id: int
    authority: str = Field(description="The entry's identifier.")
    authority_name: str
    status: str = Field(description="pending, approved, rejected or superseded.")
    origin: str
    proposed_by: str | None = Field(description="Username; none for an import.")
    proposed_at: datetime.datetime
    old_inbox_url: str
    new_inbox_url: str
    old_fingerprint: str
    new_fingerprint: str
    new_public_key: str
    key_changes: bool
    inbox_url_changes: bool
    decided_by: str | None
    decided_at: datetime.datetime | None


class ChangePage(Schema):
    items: list[ChangeOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ChangeFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: Annotated[str, Field(max_length=500)] = ""


# A NUL character is no text PostgreSQL stores, nor part of a URL or an armoured key.
NO_NUL = r"^[^\x00]*$"


class ChangeProposal(Schema):
    model_config = ConfigDict(extra="forbid")

    authority: Annotated[str, Field(max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")] = Field(
        description="The identifier of the entry to change."
    )
    inbox_url: Annotated[str, Field(max_length=500, pattern=NO_NUL)] | None = Field(
        default=None, description="The new inbox URL; empty removes it; absent keeps it."
    )
    public_key: Annotated[str, Field(max_length=MAX_KEY_TEXT_LENGTH, pattern=NO_NUL)] | None = (
        Field(
            default=None,
            description="The new ASCII-armoured public key; empty removes it; absent keeps it.",
        )
    )


class ChangeKey(Schema):
    change_id: Annotated[int, Field(ge=1, le=2**63 - 1)]


def _change_out(change: DirectoryChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "authority": change.authority.identifier,
        "authority_name": change.authority.name,
        "status": change.status,
        "origin": change.origin,
        "proposed_by": change.proposed_by.username if change.proposed_by else None,
        "proposed_at": change.proposed_at,
        "old_inbox_url": change.old_inbox_url,
        "new_inbox_url": change.new_inbox_url,
        "old_fingerprint": change.old_fingerprint,
        "new_fingerprint": change.new_fingerprint,
        "new_public_key": change.new_public_key,
        "key_changes": change.key_changes,
        "inbox_url_changes": change.inbox_url_changes,
        "decided_by": change.decided_by.username if change.decided_by else None,
        "decided_at": change.decided_at,
    }


def _administrator(http_request: HttpRequest) -> User:
    """The caller, refused (403, the services' own words) unless a directory administrator:
    a caller who may not decide is told so whatever the change named."""
    user = caller_of(http_request).user
    directory_administrator_ensure(actor=user)
    return user


def _change_or_404(change_id: int) -> DirectoryChange:
    found = (
        DirectoryChange.objects.select_related("authority", "proposed_by", "decided_by")
        .filter(pk=change_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


def _cursor_key(cursor: str) -> tuple[datetime.datetime, int]:
    key = cursor_decode(kind="directory_changes", cursor=cursor)
    if len(key) != 2 or not isinstance(key[0], str) or not isinstance(key[1], int):
        raise cursor_invalid()
    try:
        proposed = datetime.datetime.fromisoformat(key[0])
    except ValueError as error:
        raise cursor_invalid() from error
    return proposed, key[1]


@router.get("/", response=ChangePage, summary="Changes of key or inbox URL awaiting a decision")
def change_list(request: HttpRequest, filters: Query[ChangeFilters]) -> dict[str, Any]:
    query_known_check(http_request=request, schema=ChangeFilters)
    _administrator(request)
    rows = directory_changes_pending().select_related("decided_by").order_by("-proposed_at", "-id")
    if filters.cursor:
        proposed, pk = _cursor_key(filters.cursor)
        rows = rows.filter(Q(proposed_at__lt=proposed) | Q(proposed_at=proposed, id__lt=pk))
    page = list(rows[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    next_cursor = (
        cursor_encode(kind="directory_changes", key=[page[-1].proposed_at.isoformat(), page[-1].pk])
        if more and page
        else None
    )
    return {"items": [_change_out(change) for change in page], "next_cursor": next_cursor}


@router.post(
    "/",
    response={201: ChangeOut},
    summary="Propose a new key or inbox URL for an authority",
    description=(
        "The entry keeps its key and inbox URL until another directory administrator "
        "approves; a newer proposal for the same entry supersedes one still pending."
    ),
)
def change_propose(request: HttpRequest, proposal: ChangeProposal) -> Status[dict[str, Any]]:
    user = _administrator(request)
    if proposal.inbox_url is None and proposal.public_key is None:
        raise ApplicationError(
            _("Name a new inbox URL, a new public key, or both."), code="invalid"
        )
    authority = Authority.objects.filter(identifier=proposal.authority).first()
    if authority is None:
        raise Http404
    change = directory_change_propose(
        authority=authority,
        actor=user,
        public_key=authority.public_key if proposal.public_key is None else proposal.public_key,
        inbox_url=authority.inbox_url if proposal.inbox_url is None else proposal.inbox_url,
    )
    if change is None:
        raise ApplicationError(
            _("The key and inbox URL proposed are those in force: there is nothing to approve."),
            code="unchanged",
        )
    return Status(201, _change_out(change))


@router.post("/{change_id}/approve/", response=ChangeOut, summary="Approve a change (four eyes)")
def change_approve(request: HttpRequest, key: Path[ChangeKey]) -> dict[str, Any]:
    user = _administrator(request)
    change = _change_or_404(key.change_id)
    # Approving puts a partner's key or inbox URL in force: the page asks a recent sign-in.
    recent_authentication_check(http_request=request)
    return _change_out(directory_change_approve(change=change, actor=user))


@router.post("/{change_id}/reject/", response=ChangeOut, summary="Reject a change")
def change_reject(request: HttpRequest, key: Path[ChangeKey]) -> dict[str, Any]:
    user = _administrator(request)
    change = _change_or_404(key.change_id)
    return _change_out(directory_change_reject(change=change, actor=user))
