"""The incoming queue, as its page shows it to the staff who work it: the same filters, the
same order (most urgent first, then nearest deadline) and the same keyset pages, with the
page's cursor signed so that a client passes back only what the node handed out; and a
received request taken from the queue or given back to it.
"""

import datetime
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Field, Path, Query, Router, Schema
from pydantic import ConfigDict

from mla.api.auth import caller_of, scoped
from mla.api.cursors import cursor_decode, cursor_encode, cursor_invalid
from mla.api.etags import if_match_check, request_etag
from mla.api.models import Scope
from mla.api.queries import query_known_check
from mla.api.routers.requests import (
    RequestDetail,
    RequestKey,
    detail,
    request_url,
    with_etag,
)
from mla.instruments.declarations import DECLARATIONS
from mla.instruments.labels import label
from mla.requests.desk.queue import (
    PAGE_SIZE,
    QueueFilters,
    may_read_queue,
    queue_page,
    received_request_for_user,
    request_claim,
    request_release,
    urgency_reasons,
)
from mla.requests.models import Request, Urgency

router = Router(tags=["queue"])

_STATES = tuple(Request.State.values)
_INSTRUMENTS = tuple(sorted({d.directory_instrument for d in DECLARATIONS.values()}))
_CURSOR_KIND = "queue"


class QueueQuery(Schema):
    model_config = ConfigDict(extra="forbid")

    state: Literal[("", *_STATES)] = Field(  # type: ignore[valid-type]
        "", description="Only requests in this state (by default, the open ones)."
    )
    instrument: Literal[("", *_INSTRUMENTS)] = ""  # type: ignore[valid-type]
    country: Annotated[str, Field(max_length=2, pattern=r"^[A-Za-z]{0,2}$")] = Field(
        "", description="The requesting country (ISO 3166 code)."
    )
    overdue: bool = False
    mine: bool = Field(False, description="Only the requests you hold.")
    unassigned: bool = Field(False, description="Only the requests nobody holds.")
    q: Annotated[str, Field(max_length=100)] = Field(
        "", description="A reference, or words of the requesting authority's name."
    )
    limit: Annotated[int, Field(ge=1, le=100)] = PAGE_SIZE
    cursor: Annotated[str, Field(max_length=500)] = ""


class QueueRow(Schema):
    issuer: str
    reference: str
    declaration_code: str
    instrument: str
    state: str
    state_display: str
    urgency: int = Field(description="0 emergency, 1 urgent, 2 normal: the queue's order.")
    urgency_display: str
    urgency_reason: str = Field(description="Why, where the instrument or the issuer says so.")
    issuing_authority: str
    issuing_authority_name: str
    issuing_country: str
    assignee: str | None
    received_at: datetime.datetime | None
    next_due_at: datetime.datetime | None
    deadline: str = Field(description="The nearest deadline's name.")
    overdue: bool
    url: str


class QueuePage(Schema):
    items: list[QueueRow]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


def _filters(query: QueueQuery) -> QueueFilters:
    # Read as the page reads its query string, so that both normalise alike.
    return QueueFilters.from_query(
        {
            "state": query.state,
            "instrument": query.instrument,
            "country": query.country,
            "overdue": "1" if query.overdue else "",
            "mine": "1" if query.mine else "",
            "unassigned": "1" if query.unassigned else "",
            "q": query.q,
        }
    )


def _page_cursor(cursor: str) -> str | None:
    if not cursor:
        return None
    key = cursor_decode(kind=_CURSOR_KIND, cursor=cursor)
    if len(key) != 1 or not isinstance(key[0], str) or not key[0]:
        raise cursor_invalid()
    return key[0]


def _row(
    item: Request,
    now: datetime.datetime,
    states: dict[str, str],
    urgencies: dict[int, str],
    reasons: dict[int, tuple[int, str]],
) -> dict[str, Any]:
    level, reason = reasons.get(item.pk, (Urgency.NORMAL, ""))
    nearest = next(
        (
            deadline
            for deadline in sorted(item.deadlines.all(), key=lambda row: row.due_at)
            if deadline.due_at == item.next_due_at
        ),
        None,
    )
    issuer, reference = item.url_args
    return {
        "issuer": issuer,
        "reference": reference,
        "declaration_code": item.declaration_code,
        "instrument": item.instrument,
        "state": item.state,
        "state_display": states[item.state],
        "urgency": level,
        "urgency_display": urgencies[level],
        "urgency_reason": reason,
        "issuing_authority": issuer,
        "issuing_authority_name": item.issuing_authority.name,
        "issuing_country": item.issuing_country_code,
        "assignee": item.assignee.username if item.assignee else None,
        "received_at": item.received_at,
        "next_due_at": item.next_due_at,
        "deadline": label(nearest.label, get_language() or "en") if nearest else "",
        "overdue": bool(item.next_due_at and item.next_due_at < now),
        "url": request_url(item),
    }


@router.get("/queue/", response=QueuePage, auth=scoped(Scope.READ), summary="The incoming queue")
def queue_read(request: HttpRequest, query: Query[QueueQuery]) -> dict[str, Any]:
    """Open requests received by your authority, most urgent first, then by nearest
    deadline, then by arrival; for its staff, supervisors and auditors (for anyone else it
    does not exist)."""
    query_known_check(http_request=request, schema=QueueQuery)
    user = caller_of(request).user
    if not may_read_queue(user=user):
        raise Http404
    page = queue_page(
        user=user, filters=_filters(query), cursor=_page_cursor(query.cursor), size=query.limit
    )
    states = {value: str(text) for value, text in Request.State.choices}
    urgencies = {value: str(text) for value, text in Urgency.choices}
    reasons = urgency_reasons(rows=page.rows)
    return {
        "items": [_row(item, page.now, states, urgencies, reasons) for item in page.rows],
        "next_cursor": (
            cursor_encode(kind=_CURSOR_KIND, key=[page.next_cursor]) if page.next_cursor else None
        ),
    }


def _received(http_request: HttpRequest, key: RequestKey) -> Request:
    item = received_request_for_user(
        user=caller_of(http_request).user, issuer=key.issuer, reference=key.reference
    )
    if item is None:
        raise Http404
    if_match_check(http_request=http_request, current=request_etag(item))
    return item


def _answer(response: HttpResponse, item: Request) -> dict[str, Any]:
    # The services act on a copy they lock: the answer reads the request again.
    fresh = Request.objects.select_related("issuing_authority").get(pk=item.pk)
    with_etag(response, fresh)
    return detail(fresh)


@router.post(
    "/requests/{issuer}/{reference}/take/",
    response=RequestDetail,
    auth=scoped(Scope.EXECUTE),
    summary="Take a received request",
)
def request_take(
    request: HttpRequest, key: Path[RequestKey], response: HttpResponse
) -> dict[str, Any]:
    """You hold it from now; of two people taking it at once, one gets it and the other is
    told who has it. Send `If-Match` with the ETag last read."""
    item = _received(request, key)
    request_claim(request=item, actor=caller_of(request).user)
    return _answer(response, item)


@router.post(
    "/requests/{issuer}/{reference}/release/",
    response=RequestDetail,
    auth=scoped(Scope.EXECUTE),
    summary="Give a request back to the queue",
)
def request_give_back(
    request: HttpRequest, key: Path[RequestKey], response: HttpResponse
) -> dict[str, Any]:
    """Only its holder gives it back. Send `If-Match` with the ETag last read."""
    item = _received(request, key)
    request_release(request=item, actor=caller_of(request).user)
    return _answer(response, item)
