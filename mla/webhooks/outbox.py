"""The webhooks' outbox: events written in the transaction of what happened, delivered by
Celery once it commits.

An event is recorded by the app where it happens (a step of a request, a deadline's
escalation, a message of the exchange), inside that act's transaction: an act rolled back
leaves no event and sends nothing. Its deliveries are handed to Celery only when the act
commits, and each attempt runs in a transaction of its own, never the act's.

A delivery is attempted with its row locked and its state checked under the lock: a task
run twice (acks_late redelivers a task whose worker died, a retry crosses a resending) finds
it delivered, or being attempted by another worker, and sends nothing. At least once rather
than exactly once: a worker that dies after the receiver's 2xx but before its commit leaves
the delivery pending, and it is sent again with the same event id.
"""

import datetime
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.webhooks.addresses import address_for, target_of
from mla.webhooks.kinds import EventKind
from mla.webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from mla.webhooks.transport import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, post
from mla.webhooks.transport import signature as signature_of

logger = logging.getLogger(__name__)

State = WebhookDelivery.State
DEDUPE_KEY_MAX_LENGTH = 200


# Recording ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Subject:
    """The copy of a request an event is about, as a payload names it: who holds it, which
    request, where the API shows it, its state now. Never its content."""

    authority: str  # the holder's directory identifier
    request_id: int
    issuer: str
    reference: str
    direction: str
    url: str
    state: str


def _body(
    *, event_id: str, kind: str, subject: Subject, at: datetime.datetime, details: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "occurred_at": at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "authority": subject.authority,
        "request": {
            "issuer": subject.issuer,
            "reference": subject.reference,
            "direction": subject.direction,
            "url": subject.url,
        },
        "state": subject.state,
        **details,
    }


def authorities_with_webhooks(*, authority_ids: set[int]) -> set[int]:
    """Which of these authorities have a webhook: for a caller about to record events for
    many copies, so that a node without webhooks pays one query a batch."""
    if not authority_ids:
        return set()
    return set(
        Webhook.objects.filter(authority_id__in=authority_ids)
        .values_list("authority_id", flat=True)
        .distinct()
    )


def _queue_on_commit(delivery_ids: list[int]) -> None:
    from mla.webhooks.tasks import webhook_deliver_task

    for delivery_id in delivery_ids:
        # robust: a broker outage must not turn a committed act into an error page; the
        # delivery stays pending and the periodic requeue queues it again.
        transaction.on_commit(partial(webhook_deliver_task.delay, delivery_id), robust=True)


def webhook_event_record(
    *,
    authority_id: int,
    subject: Callable[[], Subject],
    kind: str,
    at: datetime.datetime | None = None,
    details: Mapping[str, Any] | None = None,
    dedupe_key: str = "",
) -> WebhookEvent | None:
    """Write the event for every webhook of the authority holding the copy ``subject``
    describes, in the caller's transaction; its deliveries leave once that commits. None
    when the authority has no webhook, or when an event with ``dedupe_key`` was recorded
    already. ``subject`` is called only when there is a webhook to tell: on a node without
    any, recording costs one query.

    ``details`` are added to the payload as they are: the caller names the step, the
    deadline or the message, never what the request says.
    """
    # The callers' mistakes, not a rule a user could break.
    if kind not in EventKind.values:
        raise ValueError(f"Unknown kind of webhook event: {kind}")
    if len(dedupe_key) > DEDUPE_KEY_MAX_LENGTH:
        raise ValueError(f"The key of a webhook event is too long: {dedupe_key}")
    webhook_ids = list(
        Webhook.objects.filter(authority_id=authority_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not webhook_ids:
        return None
    recorded = WebhookEvent.objects.filter(authority_id=authority_id, dedupe_key=dedupe_key)
    if dedupe_key and recorded.exists():
        return None
    described = subject()
    now = timezone.now()
    event = WebhookEvent(
        authority_id=authority_id,
        request_id=described.request_id,
        kind=kind,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    event.payload = _body(
        event_id=str(event.event_id),
        kind=kind,
        subject=described,
        at=at or now,
        details=details or {},
    )
    # No savepoint of its own: it joins the caller's act, and fails with it.
    with transaction.atomic(savepoint=False):
        try:
            # A savepoint for a deduplicated event only: a conflict with a concurrent
            # recording of the same key must not break the caller's transaction.
            with transaction.atomic(savepoint=bool(dedupe_key)):
                event.save(force_insert=True)
        except IntegrityError:
            if dedupe_key and recorded.exists():
                return None
            raise
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    webhook_id=webhook_id,
                    event=event,
                    state=State.PENDING,
                    next_attempt_at=now,
                    created_at=now,
                )
                for webhook_id in webhook_ids
            ]
        )
        _queue_on_commit([delivery.pk for delivery in deliveries])
    return event


# Delivering ---------------------------------------------------------------------------------


def _max_attempts() -> int:
    return int(settings.WEBHOOK_MAX_ATTEMPTS)


def _backoff(attempts: int) -> datetime.timedelta:
    base = int(settings.WEBHOOK_BACKOFF_BASE_SECONDS)
    delay = min(int(settings.WEBHOOK_BACKOFF_CAP_SECONDS), base * 2 ** max(0, attempts - 1))
    # Jitter: the deliveries of a receiver that was down do not all come back together.
    return datetime.timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))  # noqa: S311


def payload_bytes(event: WebhookEvent) -> bytes:
    """The body of every attempt of ``event``: the same bytes each time."""
    return json.dumps(
        event.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


@dataclass(frozen=True)
class Attempt:
    """What one call of ``webhook_deliver`` did: ``attempted`` if it sent; ``retry_at`` the
    time of the next attempt when one is due later (for the task to schedule)."""

    state: str
    attempted: bool = False
    retry_at: datetime.datetime | None = None


def _send(*, delivery: WebhookDelivery) -> tuple[int | None, str, bool]:
    """POST the delivery's event: (status, error, final). ``final``: an error that another
    attempt would not mend (the URL now resolves to an address webhooks may not reach)."""
    webhook, event = delivery.webhook, delivery.event
    try:
        target = target_of(webhook.url)
        address = address_for(target)
    except ApplicationError as error:
        return None, error.message, error.code != "unreachable"
    body = payload_bytes(event)
    answer = post(
        target=target,
        address=address,
        body=body,
        headers={
            SIGNATURE_HEADER: signature_of(
                secret=webhook.secret, timestamp=int(timezone.now().timestamp()), body=body
            ),
            EVENT_ID_HEADER: str(event.event_id),
            EVENT_TYPE_HEADER: event.kind,
        },
        timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS),
    )
    return answer.status, "" if answer.delivered else answer.error, False


def webhook_deliver(*, delivery_id: int, now: datetime.datetime | None = None) -> Attempt:
    """One attempt of a pending delivery whose time has come; nothing for one delivered,
    failed, not due yet, gone, or being attempted right now by another worker.

    The row stays locked from the check of its state to the record of the answer, so that a
    second run of the task (redelivered, or a retry crossing a resending) waits for nothing
    and sends nothing: it skips the locked row. The transaction is the attempt's own, never
    an act's (durable).
    """
    with transaction.atomic(durable=True):
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook", "event")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            # Deleted with its webhook, or locked by an attempt in progress: that attempt
            # records its answer and schedules what follows.
            return Attempt(state="")
        if delivery.state != State.PENDING:
            return Attempt(state=delivery.state)
        now = now or timezone.now()
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            # Arrived early (a duplicate of the task): the attempt waits for its time.
            return Attempt(state=delivery.state, retry_at=delivery.next_attempt_at)
        status, error, final = _send(delivery=delivery)
        delivery.attempts += 1
        delivery.last_status = status
        if not error:
            delivery.state = State.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
            delivery.last_error = ""
        else:
            delivery.last_error = error[:2000]
            if final or delivery.attempts >= _max_attempts():
                delivery.state = State.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = timezone.now() + _backoff(delivery.attempts)
            logger.warning(
                "Webhook delivery %s (event %s): attempt %d failed: %s",
                delivery.public_id,
                delivery.event.event_id,
                delivery.attempts,
                delivery.last_error,
            )
        delivery.save(
            update_fields=[
                "state",
                "attempts",
                "last_status",
                "last_error",
                "next_attempt_at",
                "delivered_at",
            ]
        )
        return Attempt(state=delivery.state, attempted=True, retry_at=delivery.next_attempt_at)


def webhook_deliver_due(*, now: datetime.datetime | None = None) -> int:
    """Make the attempts that are due: the pending deliveries tried before whose next
    attempt has come, oldest first; the number attempted.

    For the embedded default, where tasks run in-process and a task cannot wait for its
    countdown (its scheduler runs this every few seconds). A delivery never attempted is
    left to the task its act's commit runs.
    """
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            state=State.PENDING, attempts__gt=0, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)
    )
    attempted = 0
    for delivery_id in due:
        try:
            attempted += int(webhook_deliver(delivery_id=delivery_id, now=now).attempted)
        except Exception:  # one delivery's failure must not hold up the others' attempts
            logger.exception("The due attempt of webhook delivery %s failed.", delivery_id)
    return attempted


def webhook_requeue_stale(*, now: datetime.datetime | None = None) -> int:
    """Queue again the pending deliveries whose next attempt is long overdue: their task
    was lost with the broker or a crashed worker."""
    from mla.webhooks.tasks import webhook_deliver_task

    now = now or timezone.now()
    stale_after = datetime.timedelta(seconds=int(settings.WEBHOOK_STALE_AFTER_SECONDS))
    stale = list(
        WebhookDelivery.objects.filter(
            state=State.PENDING, next_attempt_at__lt=now - stale_after
        ).values_list("pk", flat=True)
    )
    # Not requeued again for another stale period, should this run find them still waiting.
    WebhookDelivery.objects.filter(pk__in=stale, state=State.PENDING).update(next_attempt_at=now)
    for delivery_id in stale:
        webhook_deliver_task.delay(delivery_id)
    return len(stale)


def webhook_delivery_requeue(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivered or failed delivery again, from its first attempt, once the caller's
    transaction commits (the row locked meanwhile)."""
    with transaction.atomic(savepoint=False):
        locked = WebhookDelivery.objects.select_for_update(of=("self",)).get(pk=delivery.pk)
        if locked.state == State.PENDING:
            raise ApplicationError(
                _("This delivery is still being attempted; it cannot be sent again now."),
                code="not_allowed_in_state",
            )
        locked.state = State.PENDING
        locked.attempts = 0
        locked.last_error = ""
        locked.last_status = None
        locked.delivered_at = None
        locked.next_attempt_at = timezone.now()
        locked.save(
            update_fields=[
                "state",
                "attempts",
                "last_error",
                "last_status",
                "delivered_at",
                "next_attempt_at",
            ]
        )
        _queue_on_commit([locked.pk])
    return locked
