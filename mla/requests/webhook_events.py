"""What the webhooks of the authority holding a copy are told of it (mla.webhooks).

Every state change of a copy, and every deadline it missed, is an audit entry: the audit
trail announces each one as it writes it (``audit_entry_announce``), in the transaction of
the act, so that no step needs a call of its own. A deadline's warning is not an act of the
request: the escalation announces it (``deadlines_approaching_announce``); the exchange
announces its messages delivered or failed (``request_event_announce``).

A payload names the copy (issuer, reference, direction, the API's URL of it) and its state,
and what happened (the step, the deadline, the message), never the request's content: no
section data, no person's name, no note.
"""

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from mla.requests.events import Event
from mla.requests.models import AuditEntry, Deadline, Request
from mla.webhooks.kinds import EventKind
from mla.webhooks.outbox import Subject, authorities_with_webhooks, webhook_event_record


def request_api_url(*, request: Request) -> str:
    """Where the API shows this copy to its authority's users."""
    try:
        path = reverse("api-v1:request_detail", kwargs=request.url_kwargs)
    except NoReverseMatch:
        return ""
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def _subject(request: Request) -> Subject:
    holder = (
        request.executing_authority
        if request.direction == Request.Direction.INCOMING
        else request.issuing_authority
    )
    issuer, reference = request.url_args
    return Subject(
        authority=holder.identifier if holder is not None else "",
        request_id=request.pk,
        issuer=issuer,
        reference=reference,
        direction=request.direction,
        url=request_api_url(request=request),
        state=request.state,
    )


def request_event_announce(
    *,
    request: Request,
    kind: str,
    at: datetime.datetime | None = None,
    details: Mapping[str, Any] | None = None,
    dedupe_key: str = "",
) -> None:
    """Tell the webhooks of the authority holding ``request`` that ``kind`` happened to it,
    in the caller's transaction (an act rolled back tells nothing)."""
    authority_id = request.owning_authority_id
    if authority_id is None:
        return
    webhook_event_record(
        authority_id=authority_id,
        subject=lambda: _subject(request),
        kind=kind,
        at=at,
        details=details,
        dedupe_key=dedupe_key,
    )


def audit_entry_announce(*, request: Request, entry: AuditEntry) -> None:
    """The entry's state change, or the deadline it records as missed; nothing for the
    other entries (a section saved, a note, a download)."""
    if entry.event == Event.DEADLINE_MISSED:
        payload = entry.payload or {}
        request_event_announce(
            request=request,
            kind=EventKind.DEADLINE_MISSED,
            at=entry.at,
            details={
                "event": entry.event,
                "deadline": {
                    "code": str(payload.get("deadline", "")),
                    "due_at": str(payload.get("due_at", "")),
                },
            },
        )
    elif entry.to_state and entry.to_state != entry.from_state:
        request_event_announce(
            request=request,
            kind=EventKind.STATE_CHANGED,
            at=entry.at,
            details={"event": entry.event, "from_state": entry.from_state},
        )


def deadlines_approaching_announce(
    *, deadlines: Iterable[Deadline], dedupe_keys: Mapping[int, str]
) -> None:
    """Tell each deadline's warning once (``dedupe_keys``: the key of each deadline's
    warning, per deadline id); one query for a batch whose authorities have no webhook."""
    rows = [row for row in deadlines if row.request.owning_authority_id is not None]
    told = authorities_with_webhooks(
        authority_ids={row.request.owning_authority_id for row in rows}  # type: ignore[misc]
    )
    for row in rows:
        if row.request.owning_authority_id not in told:
            continue
        request_event_announce(
            request=row.request,
            kind=EventKind.DEADLINE_APPROACHING,
            details={
                "deadline": {
                    "code": row.code,
                    "due_at": row.due_at.astimezone(datetime.UTC).isoformat(),
                }
            },
            dedupe_key=dedupe_keys[row.pk],
        )
