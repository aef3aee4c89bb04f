"""Status messages: each step one side takes on a request reaches the other side's copy on
another node, as mla.requests.lifecycle.counterpart does between two copies on this node.
The step leaves through the exchange's channel (mla.exchange.channel, ``status_send``) and
is applied here by the inbox (``status_apply``).

The executing side's steps (acknowledged, recognised, executed, refused…) move the issuing
copy by the same table (counterpart.FOLLOWS); the issuing side's (information answered,
follow-up named, withdrawn, chased…) move or annotate the executing copy. A message carries
the step, its note and payload, who took it and when; the copy records it at that time, on
behalf of that person and authority. The acknowledgement of an EIO carries its Annex B;
an e-Evidence certificate's Annex III, V or VI goes with its step (from either side); the
production step of an EPOC, the data produced, which the issuing copy keeps.

Steps about one request leave in the order they were taken (the outbox holds a later one
back until the earlier is delivered), so the receiving copy sees them in that order.
"""

import datetime
from typing import Any

from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.core.errors import ApplicationError
from mla.exchange.models import InboxMessage, MessageKind
from mla.exchange.wire.seal import OpenedMessage, message_open
from mla.requests.events import Event
from mla.requests.lifecycle import counterpart
from mla.requests.lifecycle.certificates import ProducedFile, produced_files_receive
from mla.requests.models import Request

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


def _executing_events() -> frozenset[str]:
    return frozenset(counterpart.FOLLOWS) | frozenset(counterpart.RECORDED_ONLY)


def _issuing_events() -> frozenset[str]:
    return frozenset(counterpart.ISSUER_ACTIONS) | frozenset(counterpart.ISSUER_RECORDED_ONLY)


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
        # e-Evidence: the data an addressee produced, kept on the EPOC's issuing copy.
        produced_files_receive(
            request=copy,
            event=event,
            payload=payload,
            files=[ProducedFile(name=d.name, content=d.content) for d in opened.documents],
        )
        crossed = counterpart.issuing_follow_crossed(
            issuing=copy,
            event=Event(event),
            note=note,
            payload=payload,
            on_behalf_of=on_behalf_of,
            at=acted_at,
        )
        if not crossed:
            counterpart.issuing_follow(
                issuing=copy,
                event=Event(event),
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
            event=Event(event),
            note=note,
            payload=payload,
            on_behalf_of=on_behalf_of,
            at=acted_at,
        )
    return copy


def document_received(*, request: Request, name: str) -> bytes | None:
    """The document ``name`` the other side sent with one of its steps on ``request`` (the
    Annex B of an acknowledgement, an e-Evidence annex), the latest so named, as it was
    received and verified; None when it came by no message."""
    for message in InboxMessage.objects.filter(request=request, kind=MessageKind.STATUS).order_by(
        "-received_at"
    ):
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
