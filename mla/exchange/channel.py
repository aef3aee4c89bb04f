"""The exchange as the lifecycle's remote channel (mla.requests.lifecycle.channels): a
request or a step for an authority served on another node leaves as a signed, encrypted
message through the outbox, in the step's transaction. Registered in ExchangeConfig.ready."""

import datetime
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings

from mla.exchange.keys import authority_is_hosted
from mla.exchange.models import InboxMessage, MessageKind, OutboxMessage
from mla.exchange.outbox import outbox_enqueue, request_transmit
from mla.exchange.status import (
    ACTED_AT,
    ACTED_BY,
    EVENT,
    EXECUTING,
    ISSUING,
    MAX_NAME,
    NOTE,
    PAYLOAD,
    SIDE,
    STATE,
    document_received,
)
from mla.exchange.wire.manifest import Document
from mla.requests.events import Event
from mla.requests.lifecycle.certificates import PRODUCTION_EVENTS
from mla.requests.lifecycle.channels import StepDocument
from mla.requests.models import Request

logger = logging.getLogger(__name__)


def _first_message_id(request: Request) -> str | None:
    """The request message the status follows: what this copy was received in or sent as."""
    received = (
        InboxMessage.objects.filter(request=request, kind=MessageKind.REQUEST)
        .order_by("received_at")
        .values_list("message_id", flat=True)
        .first()
    )
    if received is not None:
        return str(received)
    sent = (
        OutboxMessage.objects.filter(request=request, kind=MessageKind.REQUEST)
        .order_by("pk")
        .values_list("message_id", flat=True)
        .first()
    )
    return str(sent) if sent is not None else None


def status_send(
    *,
    request: Request,
    from_executing_side: bool,
    acted_by: str,
    event: str,
    note: str = "",
    payload: dict[str, Any] | None = None,
    documents: Sequence[StepDocument] = (),
    at: datetime.datetime,
) -> OutboxMessage | None:
    """Tell the other side's node of a step taken on ``request`` (this side's copy), with the
    documents that belong to it, in the outbox of the step's transaction.

    Nothing is sent when this side's authority has no key pair on this node (it is not set
    up for the exchange): the step stays recorded here alone, and a warning is logged."""
    executing = request.executing_authority
    assert executing is not None
    issuing = request.issuing_authority
    sender, recipient = (executing, issuing) if from_executing_side else (issuing, executing)
    if not authority_is_hosted(authority=sender):
        logger.warning(
            "Step %s of %s is not sent to %s: %s has no key pair on this node.",
            event,
            request.reference,
            recipient.identifier,
            sender.identifier,
        )
        return None
    data = {
        EVENT: event,
        NOTE: note,
        PAYLOAD: dict(payload or {}),
        ACTED_BY: acted_by[:MAX_NAME],
        ACTED_AT: at.isoformat(),
        SIDE: EXECUTING if from_executing_side else ISSUING,
        STATE: request.state,
    }
    return outbox_enqueue(
        request=request,
        kind=MessageKind.STATUS,
        data=data,
        documents=[
            Document(name=document.name, media_type=document.media_type, content=document.content)
            for document in documents
        ],
        sender=sender,
        recipient=recipient,
        in_reply_to=_first_message_id(request),
    )


def data_parts(documents: Sequence[StepDocument], *, limit: int) -> list[list[StepDocument]]:
    """The documents in order, grouped into parts of at most ``limit`` bytes each (a file
    is never cut: one larger than the limit, which the upload limit prevents, travels
    alone)."""
    parts: list[list[StepDocument]] = [[]]
    size = 0
    for document in documents:
        if parts[-1] and size + len(document.content) > limit:
            parts.append([])
            size = 0
        parts[-1].append(document)
        size += len(document.content)
    return parts


def _described(part: Sequence[StepDocument], payload: dict[str, Any]) -> list[dict[str, Any]]:
    named = {item.get("name"): item for item in payload.get("files", []) if isinstance(item, dict)}
    return [named[document.name] for document in part if document.name in named]


class ExchangeChannel:
    """Requests and steps for authorities on other nodes, by the outbox."""

    def request_deliver(self, *, request: Request, sent_by: str) -> None:
        request_transmit(request=request, sent_by=sent_by)

    def step_tell(
        self,
        *,
        request: Request,
        from_executing_side: bool,
        acted_by: str,
        event: str,
        note: str,
        payload: dict[str, Any] | None,
        documents: list[StepDocument],
        at: datetime.datetime,
    ) -> None:
        parts = (
            data_parts(documents, limit=settings.EEVIDENCE_DATA_PART_MAX_BYTES)
            if from_executing_side and event in PRODUCTION_EVENTS
            else [documents]
        )
        # Regulation (EU) 2023/1543: data too large for one message go ahead in parts, each
        # naming its files' digests; the production step follows with the last part.
        for number, part in enumerate(parts[:-1], start=1):
            status_send(
                request=request,
                from_executing_side=True,
                acted_by=acted_by,
                event=Event.DATA_PART_RECEIVED,
                payload={
                    "part": number,
                    "of": len(parts),
                    "files": _described(part, dict(payload or {})),
                },
                documents=part,
                at=at,
            )
        status_send(
            request=request,
            from_executing_side=from_executing_side,
            acted_by=acted_by,
            event=event,
            note=note,
            payload={**(payload or {}), "parts": len(parts)} if len(parts) > 1 else payload,
            documents=parts[-1],
            at=at,
        )

    def request_transmitted(self, *, request: Request) -> bool:
        # Sent by the exchange: to its executing authority, or to the one that forwarded it.
        return OutboxMessage.objects.filter(request=request, kind=MessageKind.REQUEST).exists()

    def document_received(self, *, request: Request, name: str) -> bytes | None:
        return document_received(request=request, name=name)
