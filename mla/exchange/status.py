"""Status messages: each step one side takes on a request reaches the other side's copy on
another node, as mla.requests.lifecycle.counterpart does between two copies on this node.

The executing side's steps (acknowledged, recognised, executed, refused…) move the issuing
copy by the same table (counterpart.FOLLOWS); the issuing side's (information answered,
follow-up named, withdrawn, chased…) move or annotate the executing copy. A message carries
the step, its note and payload, who took it and when; the copy records it at that time, on
behalf of that person and authority. The acknowledgement of an EIO carries its Annex B.

Steps about one request leave in the order they were taken (the outbox holds a later one
back until the earlier is delivered), so the receiving copy sees them in that order.
"""

import datetime
import logging
from typing import Any

from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.core.errors import ApplicationError
from mla.exchange.keys import authority_is_hosted
from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.wire.manifest import Document
from mla.exchange.wire.seal import OpenedMessage, message_open
from mla.requests.lifecycle import counterpart
from mla.requests.models import Request

logger = logging.getLogger(__name__)

KIND_STATUS = "status"

# Keys of a status message's manifest data.
EVENT = "event"
NOTE = "note"
PAYLOAD = "payload"
ACTED_BY = "acted_by"
ACTED_AT = "acted_at"
SIDE = "side"
STATE = "state"
EXECUTING = "executing"
ISSUING = "issuing"

MAX_NOTE = 20_000
MAX_NAME = 255
ANNEX_B_DOCUMENT = "annex-b-%(reference)s.pdf"


def _executing_events() -> frozenset[str]:
    return frozenset(counterpart.FOLLOWS) | frozenset(counterpart.RECORDED_ONLY)


def _issuing_events() -> frozenset[str]:
    return frozenset(counterpart.ISSUER_ACTIONS) | frozenset(counterpart.ISSUER_RECORDED_ONLY)


def _first_message_id(request: Request) -> str | None:
    """The request message the status follows: what this copy was received in or sent as."""
    received = (
        InboxMessage.objects.filter(request=request, kind="request")
        .order_by("received_at")
        .values_list("message_id", flat=True)
        .first()
    )
    if received is not None:
        return str(received)
    sent = (
        OutboxMessage.objects.filter(request=request, kind="request")
        .order_by("pk")
        .values_list("message_id", flat=True)
        .first()
    )
    return str(sent) if sent is not None else None


def _documents(*, request: Request, event: str) -> list[Document]:
    if event != "acknowledged" or request.instrument != "eio":
        return []
    from mla.requests.documents.annex_b import annex_b_pdf
    from mla.requests.selectors import annex_b_facts

    facts = annex_b_facts(request=request)
    if facts is None:
        return []
    return [
        Document(
            name=ANNEX_B_DOCUMENT % {"reference": request.reference},
            media_type="application/pdf",
            content=annex_b_pdf(facts=facts),
        )
    ]


def status_send(
    *,
    request: Request,
    from_executing_side: bool,
    acted_by: str,
    event: str,
    note: str = "",
    payload: dict[str, Any] | None = None,
    at: datetime.datetime,
) -> OutboxMessage | None:
    """Tell the other side's node of a step taken on ``request`` (this side's copy), in the
    outbox of the step's transaction.

    Nothing is sent when this side's authority has no key pair on this node (it is not set
    up for the exchange): the step stays recorded here alone, and a warning is logged."""
    from mla.exchange.services import outbox_enqueue

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
        kind=KIND_STATUS,
        data=data,
        documents=_documents(request=request, event=event) if from_executing_side else [],
        sender=sender,
        recipient=recipient,
        in_reply_to=_first_message_id(request),
    )


def _invalid(name: str) -> ApplicationError:
    return ApplicationError(
        _("The message's field %(name)s has an invalid value.") % {"name": name}
    )


def _text(data: dict[str, Any], key: str, *, limit: int) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise _invalid(key)
    return value


def _acted_at(data: dict[str, Any], *, received_at: datetime.datetime) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(_text(data, ACTED_AT, limit=40))
    except ValueError as error:
        raise _invalid(ACTED_AT) from error
    if moment.tzinfo is None:
        raise _invalid(ACTED_AT)
    # A clock ahead on the other node does not put a step in this node's future.
    return min(moment, received_at)


def _copy(*, direction: str, reference: str, issuer: Authority, executor: Authority) -> Request:
    """This node's copy the step applies to, locked; refused when there is none."""
    copy = (
        Request.objects.select_for_update(of=("self",))
        .filter(
            direction=direction,
            reference=reference,
            issuing_authority=issuer,
            executing_authority=executor,
        )
        .first()
    )
    if copy is not None:
        return copy
    values = {"issuer": issuer.name, "reference": reference, "executor": executor.name}
    if direction == Request.Direction.OUTGOING:
        raise ApplicationError(
            _("%(issuer)s sent no request %(reference)s to %(executor)s.") % values
        )
    raise ApplicationError(
        _("%(executor)s has received no request %(reference)s from %(issuer)s.") % values
    )


def status_apply(*, opened: OpenedMessage, at: datetime.datetime) -> Request:
    """Record the step a status message carries on this node's copy; the copy. Raises
    ApplicationError (the message is refused, nothing stored) when the step does not fit."""
    manifest = opened.manifest
    data = manifest.data
    side = data.get(SIDE)
    event = data.get(EVENT)
    if side not in (EXECUTING, ISSUING):
        raise _invalid(SIDE)
    events = _executing_events() if side == EXECUTING else _issuing_events()
    if not isinstance(event, str) or event not in events:
        raise ApplicationError(
            _("The step %(event)s is not one the %(side)s side takes.")
            % {"event": str(event)[:60], "side": side}
        )
    payload = data.get(PAYLOAD, {})
    if not isinstance(payload, dict):
        raise _invalid(PAYLOAD)
    note = _text(data, NOTE, limit=MAX_NOTE)
    acted_by = _text(data, ACTED_BY, limit=MAX_NAME) or _("the node")
    acted_at = _acted_at(data, received_at=at)
    on_behalf_of = (acted_by, opened.sender.name)
    if side == EXECUTING:
        copy = _copy(
            direction=Request.Direction.OUTGOING,
            reference=manifest.reference,
            issuer=opened.recipient,
            executor=opened.sender,
        )
        counterpart.issuing_follow(
            issuing=copy,
            event=event,
            note=note,
            payload=payload,
            on_behalf_of=on_behalf_of,
            at=acted_at,
        )
    else:
        copy = _copy(
            direction=Request.Direction.INCOMING,
            reference=manifest.reference,
            issuer=opened.sender,
            executor=opened.recipient,
        )
        counterpart.executing_follow(
            executing=copy,
            event=event,
            note=note,
            payload=payload,
            on_behalf_of=on_behalf_of,
            at=acted_at,
        )
    return copy


def received_annex_b(*, request: Request) -> bytes | None:
    """The Annex B the executing side sent with its acknowledgement of this (issuing) copy,
    as it was received and verified; None when it came by no message."""
    for message in InboxMessage.objects.filter(request=request, kind=KIND_STATUS).order_by(
        "-received_at"
    ):
        name = ANNEX_B_DOCUMENT % {"reference": request.reference}
        if not any(
            isinstance(entry, dict) and entry.get("name") == name
            for entry in message.manifest.get("documents", [])
        ):
            continue
        if message.sealed is None:
            return None
        opened = message_open(sealed=bytes(message.sealed), now=message.received_at)
        return next(d.content for d in opened.documents if d.name == name)
    return None
