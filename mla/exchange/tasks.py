"""Delivery of the outbox (Celery). Each task only calls a service and may run twice: a
delivered message is not sent again, and the inbox answers a repeat with the same receipt.
A checkpoint is not signed again for a chain head already signed."""

import logging

from celery import shared_task
from django.utils import timezone

from mla.exchange.anchor import CheckpointError, NoSigningKey, audit_checkpoint_make
from mla.exchange.models import OutboxMessage
from mla.exchange.outbox import outbox_deliver, outbox_requeue_stale

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def outbox_deliver_task(message_id: str) -> str:
    """One delivery attempt; the next one is scheduled when the service set its time."""
    message = outbox_deliver(message_id=message_id)
    # A failed attempt set the time of the next one; a message waiting for an earlier one
    # is queued again when that one is delivered (and by the periodic requeue otherwise).
    if (
        message.state == OutboxMessage.State.PENDING
        and message.attempts > 0
        and message.next_attempt_at is not None
        and message.next_attempt_at > timezone.now()
    ):
        countdown = (message.next_attempt_at - timezone.now()).total_seconds()
        outbox_deliver_task.apply_async(args=(message_id,), countdown=countdown)
    return str(message.state)


@shared_task(acks_late=True)
def outbox_requeue_task() -> int:
    """Queue again the pending messages a broker outage or a crashed worker left behind."""
    return outbox_requeue_stale()


@shared_task(acks_late=True)
def audit_checkpoint_task() -> str:
    """The hourly checkpoint of the audit chain, sent to the partners of the period; nothing
    when the chain has not moved since the last one."""
    try:
        outcome = audit_checkpoint_make()
    except NoSigningKey as error:
        # A node not set up for the exchange yet (the demo, a fresh install): said, not alarmed.
        logger.warning("Audit checkpoint not made: %s", error.message)
        return "no key"
    except CheckpointError as error:
        # Every hour until someone looks: the chain no longer extends its last checkpoint.
        logger.error("Audit checkpoint not made: %s", error.message)
        return "refused"
    return f"signed at {outcome.position}" if outcome.created else "unchanged"
