"""Requests as their pages show them: the list, one request, its deadlines and timeline;
a new draft made from the structured JSON of a request (the JSON download's format).

A request the caller may not see does not exist (404), as on the pages: both go through
mla.requests.selectors.request_for_user.
"""

import datetime
from typing import Annotated, Any, Literal

from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import ConfigDict

from mla.accounts.models import User
from mla.api.auth import caller_of, scoped
from mla.api.cursors import cursor_decode, cursor_encode, cursor_invalid
from mla.api.etags import request_etag
from mla.api.models import Scope
from mla.api.queries import query_known_check
from mla.core.errors import ApplicationError
from mla.requests.drafting.language import LANGUAGE_REASON_MAX_LENGTH
from mla.requests.drafting.services import request_create_from_data
from mla.requests.models import Request
from mla.requests.selectors import (
    drafting_authority_named,
    drafting_country,
    incoming_requests,
    outgoing_requests,
    request_deadlines,
    request_for_user,
    request_timeline,
)

router = Router(tags=["requests"], auth=scoped(Scope.READ))

Identifier = Annotated[str, Field(max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")]
Reference = Annotated[str, Field(max_length=40, pattern=r"^[-A-Za-z0-9_./]+$")]


LanguageCode = Annotated[str, Field(max_length=8, pattern=r"^[a-z]{2,3}$")]
# Larger than any section has fields: the service names each field it does not know.
MAX_SECTIONS = 64


class RequestKey(Schema):
    issuer: Identifier
    reference: Reference


class RequestSummary(Schema):
    issuer: str
    reference: str
    direction: str
    declaration_code: str
    instrument: str
    state: str
    state_display: str
    issuing_authority: str
    executing_country: str
    executing_authority: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    sent_at: datetime.datetime | None
    next_due_at: datetime.datetime | None
    url: str = Field(description="This request in the API.")


class RequestDetail(RequestSummary):
    etag: str
    version: int
    issuing_language: str
    executing_language: str
    received_at: datetime.datetime | None
    acknowledged_at: datetime.datetime | None
    decided_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    assignee: str | None
    data: dict[str, Any] = Field(description="The declaration's sections, as in the JSON download.")


class LanguagesIn(Schema):
    model_config = ConfigDict(extra="forbid")

    issuing: LanguageCode | None = Field(
        default=None,
        description="The language it is written in (default: yours, where a form exists).",
    )
    executing: LanguageCode | None = Field(
        default=None,
        description="The language it goes in (default: the first the executing side accepts "
        "that has a form).",
    )
    translation_attached: bool | None = Field(
        default=None, description="The free text's translation is attached as a document."
    )
    reason: Annotated[str, Field(max_length=LANGUAGE_REASON_MAX_LENGTH * 2)] | None = Field(
        default=None, description="Why it goes in a language the executing side does not accept."
    )


class RequestCreateIn(Schema):
    """A request as its JSON download gives it (``GET …/document.json``): a new draft is made
    from it, issued by your authority under a reference of its own."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["mla-request"] = "mla-request"
    version: Literal[1] = 1
    type: Annotated[str, Field(max_length=40, description="The declaration: eio, mla, epoc…")]
    executing_country: Annotated[str, Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]
    executing_authority: Identifier | None = Field(
        default=None, description="The executing authority's identifier in the directory."
    )
    languages: LanguagesIn | None = None
    data: Annotated[dict[str, Any], Field(max_length=MAX_SECTIONS)] = Field(
        default_factory=dict,
        description="The sections by code, each an object of its fields' values; a section "
        "left out keeps what the new draft is prefilled with.",
    )
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = Field(
        default=None,
        description="The download's digest of its data: when given, it must match them.",
    )
    reference: Reference | None = Field(
        default=None, description="The request the data come from; the draft has its own reference."
    )
    issuing_authority: Identifier | None = Field(
        default=None, description="The authority the data come from; the draft is issued by yours."
    )


class RequestPage(Schema):
    items: list[RequestSummary]
    next_cursor: str | None


class RequestFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    direction: Literal["outgoing", "incoming"] = "outgoing"
    state: Annotated[str, Field(max_length=32)] = ""
    declaration_code: Annotated[str, Field(max_length=40)] = ""
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: Annotated[str, Field(max_length=500)] = ""


class DeadlineOut(Schema):
    label: str
    source: str
    state: str
    due_at: datetime.datetime
    zone: str
    late: bool
    extension_reason: str


class TimelineEntryOut(Schema):
    position: int
    at: datetime.datetime
    event: str
    from_state: str
    to_state: str
    actor: str
    authority: str
    note: str


class TimelinePage(Schema):
    items: list[TimelineEntryOut]
    total: int


def request_url(item: Request) -> str:
    issuer, reference = item.url_args
    return f"/api/v1/requests/{issuer}/{reference}/"


def summary(item: Request) -> dict[str, Any]:
    issuer, reference = item.url_args
    return {
        "issuer": issuer,
        "reference": reference,
        "direction": item.direction,
        "declaration_code": item.declaration_code,
        "instrument": item.instrument_code or item.declaration_code,
        "state": item.state,
        "state_display": str(item.get_state_display()),
        "issuing_authority": item.issuing_authority.identifier,
        "executing_country": item.executing_country.code,
        "executing_authority": (
            item.executing_authority.identifier if item.executing_authority else None
        ),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "sent_at": item.sent_at,
        "next_due_at": item.next_due_at,
        "url": request_url(item),
    }


def detail(item: Request) -> dict[str, Any]:
    data = summary(item)
    data.update(
        etag=request_etag(item),
        version=item.version,
        issuing_language=item.issuing_language,
        executing_language=item.executing_language,
        received_at=item.received_at,
        acknowledged_at=item.acknowledged_at,
        decided_at=item.decided_at,
        closed_at=item.closed_at,
        assignee=item.assignee.username if item.assignee_id and item.assignee else None,
        data=item.data or {},
    )
    return data


def request_or_404(http_request: HttpRequest, issuer: str, reference: str) -> Request:
    user = caller_of(http_request).user
    found = request_for_user(user=user, issuer=issuer, reference=reference)
    if found is None:
        raise Http404
    return found


def with_etag(response: HttpResponse, item: Request) -> HttpResponse:
    response["ETag"] = request_etag(item)
    return response


@router.get("/", response=RequestPage, summary="Requests of your authority")
def request_list(request: HttpRequest, filters: Query[RequestFilters]) -> dict[str, Any]:
    query_known_check(http_request=request, schema=RequestFilters)
    user: User = caller_of(request).user
    rows = (
        outgoing_requests(user=user)
        if filters.direction == "outgoing"
        else incoming_requests(user=user)
    )
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.declaration_code:
        rows = rows.filter(declaration_code=filters.declaration_code)
    if filters.cursor:
        key = cursor_decode(kind="requests", cursor=filters.cursor)
        if len(key) != 2 or not isinstance(key[0], str) or not isinstance(key[1], int):
            raise cursor_invalid()
        try:
            updated = datetime.datetime.fromisoformat(key[0])
        except ValueError as error:
            raise cursor_invalid() from error
        # The bound on updated_at alone is what the index's range scan starts from: with the
        # OR only, the planner reads the list from its top and drops every row before the
        # cursor (half a million, half-way down a million).
        rows = rows.filter(updated_at__lte=updated).filter(
            Q(updated_at__lt=updated) | Q(updated_at=updated, id__lt=key[1])
        )
    # Every authority and country the summaries name, in the list's one query.
    page = list(
        rows.select_related("issuing_authority", "executing_authority", "executing_country")[
            : filters.limit + 1
        ]
    )
    more = len(page) > filters.limit
    page = page[: filters.limit]
    next_cursor = (
        cursor_encode(kind="requests", key=[page[-1].updated_at.isoformat(), page[-1].pk])
        if more and page
        else None
    )
    return {"items": [summary(item) for item in page], "next_cursor": next_cursor}


@router.post(
    "/",
    response={201: RequestDetail},
    auth=scoped(Scope.DRAFT),
    summary="A new draft from a request's structured JSON",
    description="The body is a request as its JSON download gives it (the `data` of another "
    "request may be posted back as it was downloaded). Each section is stored as its page "
    "stores it; no draft is made when a field of any section cannot be stored (422, code "
    "`fields_refused`, each field in `errors`). The draft is then checked as the page checks "
    "it: see `…/problems/`.",
)
def request_create(
    request: HttpRequest, payload: RequestCreateIn, response: HttpResponse
) -> Status[dict[str, Any]]:
    country = drafting_country(code=payload.executing_country)
    if country is None:
        raise ApplicationError(_("Choose the executing country."), code="unknown_country")
    authority = None
    if payload.executing_authority:
        authority = drafting_authority_named(
            country=country, identifier=payload.executing_authority
        )
        if authority is None:
            raise ApplicationError(
                _("Choose an authority of the executing country."), code="unknown_authority"
            )
    languages = payload.languages or LanguagesIn()
    created = request_create_from_data(
        actor=caller_of(request).user,
        declaration_code=payload.type,
        executing_country=country,
        executing_authority=authority,
        data=payload.data,
        issuing_language=languages.issuing,
        executing_language=languages.executing,
        translation_attached=languages.translation_attached,
        language_reason=languages.reason,
        data_sha256=payload.sha256,
    )
    # The list's selector reads it back as every other call does.
    item = request_or_404(request, *created.url_args)
    with_etag(response, item)
    response["Location"] = request_url(item)
    return Status(201, detail(item))


@router.get("/{issuer}/{reference}/", response=RequestDetail, summary="One request")
def request_detail(
    request: HttpRequest, key: Path[RequestKey], response: HttpResponse
) -> dict[str, Any]:
    item = request_or_404(request, key.issuer, key.reference)
    with_etag(response, item)
    return detail(item)


@router.get("/{issuer}/{reference}/deadlines/", response=list[DeadlineOut], summary="Its deadlines")
def request_deadline_list(request: HttpRequest, key: Path[RequestKey]) -> list[dict[str, Any]]:
    item = request_or_404(request, key.issuer, key.reference)
    user = caller_of(request).user
    rows = request_deadlines(request=item, user=user, language=user.preferred_language or "en")
    return [
        {
            "label": row.label,
            "source": row.source,
            "state": row.state,
            "due_at": row.due_here,
            "zone": row.zone_here,
            "late": row.late,
            "extension_reason": row.extension_reason,
        }
        for row in rows
    ]


@router.get("/{issuer}/{reference}/timeline/", response=TimelinePage, summary="Its timeline")
def request_timeline_read(request: HttpRequest, key: Path[RequestKey]) -> dict[str, Any]:
    item = request_or_404(request, key.issuer, key.reference)
    timeline = request_timeline(request=item, size=None)
    return {
        "items": [
            {
                "position": entry.position,
                "at": entry.at,
                "event": entry.event,
                "from_state": entry.from_state,
                "to_state": entry.to_state,
                "actor": entry.actor_name,
                "authority": entry.authority_name,
                "note": entry.note,
            }
            for entry in timeline.entries
        ],
        "total": timeline.total,
    }
