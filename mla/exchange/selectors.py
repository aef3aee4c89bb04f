import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.exchange.models import AuditCheckpoint, InboxMessage, OutboxMessage
from mla.exchange.stored import manifest_event
from mla.requests.audit import audit_chain_head
from mla.requests.models import Request

logger = logging.getLogger(__name__)

OUTGOING = "outgoing"
INCOMING = "incoming"
RECEIVED = "received"


@dataclass(frozen=True, kw_only=True)
class ExchangeMessage:
    """One message about a request, sent or received, as the request page lists it."""

    direction: str  # OUTGOING (this node's outbox) or INCOMING (its inbox)
    message_id: str
    kind: str
    event: str  # the step a status message carries, "" for others
    sender: Authority
    recipient: Authority
    state: str  # pending, delivered, failed (outbox) or received (inbox)
    state_display: str
    attempts: int
    last_error: str
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    received_at: datetime | None
    has_receipt: bool

    @property
    def failed(self) -> bool:
        return self.state == OutboxMessage.State.FAILED

    @property
    def pending(self) -> bool:
        return self.state == OutboxMessage.State.PENDING

    @property
    def outgoing(self) -> bool:
        return self.direction == OUTGOING


def request_messages(*, request: Request) -> list[ExchangeMessage]:
    """The messages sent and received about this copy of a request, oldest first."""
    outbox = list(
        OutboxMessage.objects.filter(request=request)
        .select_related("sender__country", "recipient__country")
        .defer("sealed", "receipt")
        .annotate(
            stored_receipt=ExpressionWrapper(Q(receipt__isnull=False), output_field=BooleanField())
        )
    )
    inbox = list(
        InboxMessage.objects.filter(request=request)
        .select_related("sender__country", "recipient__country")
        .defer("sealed", "receipt")
    )
    states = dict(OutboxMessage.State.choices)
    rows = [
        ExchangeMessage(
            direction=OUTGOING,
            message_id=str(message.message_id),
            kind=message.kind,
            event=message.event,
            sender=message.sender,
            recipient=message.recipient,
            state=message.state,
            state_display=str(states.get(message.state, message.state)),
            attempts=message.attempts,
            last_error=message.last_error,
            created_at=message.created_at,
            next_attempt_at=message.next_attempt_at
            if message.state == OutboxMessage.State.PENDING
            else None,
            delivered_at=message.delivered_at,
            received_at=None,
            has_receipt=bool(message.stored_receipt),
        )
        for message in outbox
    ]
    rows += [
        ExchangeMessage(
            direction=INCOMING,
            message_id=str(message.message_id),
            kind=message.kind,
            event=_inbox_event(message.manifest),
            sender=message.sender,
            recipient=message.recipient,
            state=RECEIVED,
            state_display=_("received"),
            attempts=0,
            last_error="",
            created_at=message.received_at,
            next_attempt_at=None,
            delivered_at=None,
            received_at=message.received_at,
            # The inbox answers every message with a receipt, stored with it.
            has_receipt=True,
        )
        for message in inbox
    ]
    return sorted(rows, key=lambda row: (row.created_at, row.message_id))


def _inbox_event(manifest: object) -> str:
    data = manifest.get("data") if isinstance(manifest, dict) else None
    return manifest_event(data) if isinstance(data, dict) else ""


def request_outbox_message(*, request: Request, message_id: uuid.UUID) -> OutboxMessage | None:
    """A message sent about this copy of a request."""
    return (
        OutboxMessage.objects.select_related("sender", "recipient", "request")
        .filter(request=request, message_id=message_id)
        .first()
    )


def request_inbox_message(*, request: Request, message_id: uuid.UUID) -> InboxMessage | None:
    """A message received about this copy of a request."""
    return (
        InboxMessage.objects.select_related("sender", "recipient")
        .filter(request=request, message_id=message_id)
        .first()
    )


def inbox_message(*, message_id: uuid.UUID) -> InboxMessage | None:
    """A message this node received, whatever it is about."""
    return (
        InboxMessage.objects.select_related("sender", "recipient")
        .filter(message_id=message_id)
        .first()
    )


# Audit checkpoints (mla.exchange.anchor) -------------------------------------------------------


def checkpoint_last() -> AuditCheckpoint | None:
    """This node's latest checkpoint (one of its signatures), or None before the first."""
    return AuditCheckpoint.objects.order_by("-position", "-signed_at", "authority_id").first()


@dataclass(frozen=True, kw_only=True)
class CheckpointSummary:
    """The latest checkpoint: when, where the chain then ended, who signed, how its messages
    to the partners fared (none: no partner was exchanged with in its period), and how many
    entries the chain has gained since (covered by no checkpoint yet)."""

    position: int
    signed_at: datetime
    signers: list[str]
    messages: int
    delivered: int
    pending: int
    failed: int
    uncovered_entries: int

    @property
    def sent(self) -> bool:
        return self.messages > 0

    @property
    def delivered_to_all(self) -> bool:
        return self.messages > 0 and self.delivered == self.messages


def audit_checkpoint_latest() -> CheckpointSummary | None:
    """The latest checkpoint of this node, for the operations page; None before the first."""
    latest = checkpoint_last()
    if latest is None:
        return None
    rows = list(
        AuditCheckpoint.objects.filter(position=latest.position)
        .select_related("authority")
        .order_by("authority__identifier")
    )
    states = list(
        dict(OutboxMessage.objects.filter(checkpoints__in=rows).values_list("pk", "state")).values()
    )
    head_position, _hash = audit_chain_head()
    return CheckpointSummary(
        position=latest.position,
        signed_at=latest.signed_at,
        signers=[row.authority.identifier for row in rows],
        messages=len(states),
        delivered=states.count(OutboxMessage.State.DELIVERED),
        pending=states.count(OutboxMessage.State.PENDING),
        failed=states.count(OutboxMessage.State.FAILED),
        uncovered_entries=max(0, head_position - latest.position),
    )
