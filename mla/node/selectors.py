"""What the node's administrators see of its running (the operations page): the outbox, the
inbox's refusals, the partners' last contact, the hosted keys' expiry, the audit chain's last
checkpoint and the heartbeats of beat and the workers. Read-only; only a node administrator
may read it."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.accounts.models import User
from mla.celery import app as celery_app
from mla.core.errors import ApplicationError
from mla.core.heartbeats import BEAT, heartbeats, worker_heartbeat_name
from mla.exchange.keys import HostedKey, node_keys_list
from mla.exchange.models import InboxMessage, InboxRefusal, OutboxMessage
from mla.exchange.selectors import CheckpointSummary, audit_checkpoint_latest

State = OutboxMessage.State

# The failed messages listed on the page, newest first (the count gives the rest).
FAILED_SHOWN = 20
REFUSALS_WINDOW = timedelta(hours=24)


class OperationsNotAllowed(ApplicationError):
    """Only a node administrator sees how the node runs."""


def operations_access_check(*, user: User) -> None:
    if not user.is_node_administrator:
        raise OperationsNotAllowed(_("Only a node administrator sees the node's operations."))


# The outbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedMessage:
    message_id: str
    kind: str
    recipient: str
    attempts: int
    last_error: str
    created_at: datetime
    # The page of the request the message is about, when it is about one.
    request_url: str


@dataclass(frozen=True)
class OutboxSummary:
    pending: int
    failed: int
    oldest_pending_at: datetime | None
    oldest_pending_age: timedelta | None
    failed_messages: list[FailedMessage]


def operations_outbox(*, now: datetime | None = None) -> OutboxSummary:
    now = now or timezone.now()
    counts = dict(
        OutboxMessage.objects.filter(state__in=(State.PENDING, State.FAILED))
        .values_list("state")
        .annotate(count=Count("pk"))
        .values_list("state", "count")
    )
    oldest = OutboxMessage.objects.filter(state=State.PENDING).aggregate(oldest=Min("created_at"))[
        "oldest"
    ]
    failed = (
        OutboxMessage.objects.filter(state=State.FAILED)
        .select_related("recipient", "request__issuing_authority")
        .defer("sealed", "receipt")
        .order_by("-created_at", "-pk")[:FAILED_SHOWN]
    )
    return OutboxSummary(
        pending=counts.get(State.PENDING, 0),
        failed=counts.get(State.FAILED, 0),
        oldest_pending_at=oldest,
        oldest_pending_age=now - oldest if oldest is not None else None,
        failed_messages=[
            FailedMessage(
                message_id=str(message.message_id),
                kind=message.kind,
                recipient=message.recipient.identifier,
                attempts=message.attempts,
                last_error=message.last_error,
                created_at=message.created_at,
                request_url=(
                    message.request.get_absolute_url() if message.request is not None else ""
                ),
            )
            for message in failed
        ],
    )


# The inbox's refusals -------------------------------------------------------------------------


def operations_inbox_refusals(*, now: datetime | None = None) -> list[tuple[str, int]]:
    """The refusals of the last 24 hours by reason code, most frequent first."""
    since = (now or timezone.now()) - REFUSALS_WINDOW
    return list(
        InboxRefusal.objects.filter(at__gte=since)
        .values_list("reason")
        .annotate(count=Count("pk"))
        .order_by("-count", "reason")
        .values_list("reason", "count")
    )


# The partners -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerContact:
    identifier: str
    name: str
    last_delivered_at: datetime | None
    last_received_at: datetime | None


def operations_partners(*, hosted: set[str]) -> list[PartnerContact]:
    """Each authority this node delivered to or received from, but those it hosts: when a
    message to it was last delivered (its receipt came back), and when one from it was last
    received."""
    delivered = dict(
        OutboxMessage.objects.filter(state=State.DELIVERED)
        .values_list("recipient")
        .annotate(last=Max("delivered_at"))
        .values_list("recipient", "last")
    )
    received = dict(
        InboxMessage.objects.values_list("sender")
        .annotate(last=Max("received_at"))
        .values_list("sender", "last")
    )
    authorities = (
        Authority.objects.filter(pk__in=set(delivered) | set(received))
        .exclude(identifier__in=hosted)
        .order_by("identifier")
    )
    return [
        PartnerContact(
            identifier=authority.identifier,
            name=authority.name,
            last_delivered_at=delivered.get(authority.pk),
            last_received_at=received.get(authority.pk),
        )
        for authority in authorities
    ]


# The hosted keys ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyExpiry:
    authority_identifier: str
    fingerprint: str
    pinned: bool
    expires_at: datetime | None
    expired: bool
    # Expires within NODE_KEY_EXPIRY_WARNING_DAYS (or has expired).
    warning: bool


def operations_key_expiries(
    *, keys: list[HostedKey], now: datetime | None = None
) -> list[KeyExpiry]:
    now = now or timezone.now()
    warn_from = now + timedelta(days=int(settings.NODE_KEY_EXPIRY_WARNING_DAYS))
    return [
        KeyExpiry(
            authority_identifier=key.authority_identifier,
            fingerprint=key.fingerprint,
            pinned=key.pinned,
            expires_at=key.expires_at,
            expired=key.expires_at is not None and key.expires_at <= now,
            warning=key.expires_at is not None and key.expires_at <= warn_from,
        )
        for key in keys
    ]


# The heartbeats -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeartbeatStatus:
    name: str
    label: str
    at: datetime | None
    # Never seen, or older than NODE_HEARTBEAT_STALE_SECONDS.
    stale: bool


def _expected_heartbeats() -> list[tuple[str, str]]:
    return [
        (BEAT, _("Celery beat (sends the periodic tasks)")),
        (
            worker_heartbeat_name(settings.CELERY_TASK_DEFAULT_QUEUE),
            _("Worker of the default queue (e-mails, documents, deadlines)"),
        ),
        (
            worker_heartbeat_name(settings.EXCHANGE_QUEUE),
            _("Worker of the exchange queue (deliveries to other nodes)"),
        ),
    ]


def operations_heartbeats(*, now: datetime | None = None) -> list[HeartbeatStatus]:
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=int(settings.NODE_HEARTBEAT_STALE_SECONDS))
    seen = heartbeats()
    return [
        HeartbeatStatus(
            name=name,
            label=label,
            at=seen.get(name),
            stale=seen.get(name) is None or seen[name] < stale_before,
        )
        for name, label in _expected_heartbeats()
    ]


# The page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationsOverview:
    outbox: OutboxSummary
    refusals: list[tuple[str, int]]
    partners: list[PartnerContact]
    keys: list[KeyExpiry]
    # The audit chain's latest signed checkpoint (mla.exchange.anchor); None before the first.
    checkpoint: CheckpointSummary | None
    heartbeats: list[HeartbeatStatus]
    # The embedded default: tasks run in-process, scheduled by runserver (no beat, no worker).
    tasks_in_process: bool


def operations_overview(*, user: User, now: datetime | None = None) -> OperationsOverview:
    """Everything the operations page shows; OperationsNotAllowed but to a node
    administrator."""
    operations_access_check(user=user)
    now = now or timezone.now()
    keys = node_keys_list()
    return OperationsOverview(
        outbox=operations_outbox(now=now),
        refusals=operations_inbox_refusals(now=now),
        partners=operations_partners(
            hosted={key.authority_identifier for key in keys if key.pinned}
        ),
        keys=operations_key_expiries(keys=keys, now=now),
        checkpoint=audit_checkpoint_latest(),
        heartbeats=operations_heartbeats(now=now),
        tasks_in_process=bool(celery_app.conf.task_always_eager),
    )
