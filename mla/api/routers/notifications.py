"""The caller's notifications, as the inbox page shows them, and marking them read.

Through the inbox's own selectors and services (mla.notifications): another user's
notification does not exist (404), as on the page.
"""

import datetime
from typing import Annotated, Any

from django.db.models import Q
from django.http import Http404, HttpRequest
from ninja import Field, Path, Query, Router, Schema
from pydantic import ConfigDict

from mla.api.auth import caller_of, scoped
from mla.api.cursors import cursor_decode, cursor_encode, cursor_invalid
from mla.api.models import Scope
from mla.api.queries import query_known_check
from mla.api.routers.requests import request_url
from mla.notifications.models import Notification
from mla.notifications.selectors import notification_for_user, notifications_for_user, unread_count
from mla.notifications.services import notification_mark_all_read, notification_mark_read

# Reading one's own inbox and marking it read change nothing of a request: the read scope.
router = Router(tags=["notifications"], auth=scoped(Scope.READ))

NotificationId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class NotificationOut(Schema):
    id: int
    kind: str
    kind_display: str
    subject: str = Field(description="In the language asked for (Accept-Language).")
    body: str
    url: str = Field(description="The page on this node it leads to; empty if none.")
    request_url: str | None = Field(description="The request it is about, in the API.")
    created_at: datetime.datetime
    read: bool
    read_at: datetime.datetime | None


class NotificationPage(Schema):
    items: list[NotificationOut]
    unread: int = Field(description="How many of the caller's notifications are unread.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class NotificationFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    unread: bool = Field(default=False, description="Only the notifications still unread.")
    limit: Annotated[int, Field(ge=1, le=100)] = 25
    cursor: Annotated[str, Field(max_length=500)] = ""


class NotificationKey(Schema):
    notification_id: NotificationId


class MarkedOut(Schema):
    marked: int = Field(description="How many notifications were unread and are now read.")


def _notification_out(item: Notification) -> dict[str, Any]:
    return {
        "id": item.pk,
        "kind": item.kind,
        "kind_display": str(item.get_kind_display()),
        "subject": item.text_subject,
        "body": item.text_body,
        "url": item.safe_url,
        "request_url": request_url(item.request) if item.request_id and item.request else None,
        "created_at": item.created_at,
        "read": item.is_read,
        "read_at": item.read_at,
    }


def _cursor_key(cursor: str) -> tuple[datetime.datetime, int]:
    key = cursor_decode(kind="notifications", cursor=cursor)
    if len(key) != 2 or not isinstance(key[0], str) or not isinstance(key[1], int):
        raise cursor_invalid()
    try:
        created = datetime.datetime.fromisoformat(key[0])
    except ValueError as error:
        raise cursor_invalid() from error
    return created, key[1]


@router.get("/", response=NotificationPage, summary="Your notifications")
def notification_list(request: HttpRequest, filters: Query[NotificationFilters]) -> dict[str, Any]:
    query_known_check(http_request=request, schema=NotificationFilters)
    user = caller_of(request).user
    rows = notifications_for_user(user=user, unread_only=filters.unread)
    if filters.cursor:
        created, pk = _cursor_key(filters.cursor)
        # The keyset of the inbox's order (newest first, then the higher id).
        rows = rows.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk))
    page = list(rows.select_related("request__issuing_authority")[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    next_cursor = (
        cursor_encode(kind="notifications", key=[page[-1].created_at.isoformat(), page[-1].pk])
        if more and page
        else None
    )
    return {
        "items": [_notification_out(item) for item in page],
        "unread": unread_count(user=user),
        "next_cursor": next_cursor,
    }


@router.post("/read-all/", response=MarkedOut, summary="Mark all your notifications read")
def notification_all_read(request: HttpRequest) -> dict[str, int]:
    return {"marked": notification_mark_all_read(actor=caller_of(request).user)}


@router.post(
    "/{notification_id}/read/", response=NotificationOut, summary="Mark one notification read"
)
def notification_read(request: HttpRequest, key: Path[NotificationKey]) -> dict[str, Any]:
    user = caller_of(request).user
    notification = notification_for_user(user=user, notification_id=key.notification_id)
    if notification is None:
        raise Http404
    return _notification_out(notification_mark_read(notification=notification, actor=user))
