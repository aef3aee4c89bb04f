"""Delivery of webhook events (Celery). The tasks take ids only and may run twice: a
delivery acknowledged, or being attempted by another worker, is not sent again."""

from celery import Task, shared_task
from django.utils import timezone

from mla.webhooks.outbox import webhook_deliver, webhook_deliver_due, webhook_requeue_stale


@shared_task(bind=True, acks_late=True)
def webhook_deliver_task(self: Task, delivery_id: int) -> str:
    """One attempt; the next one, with its backoff, is scheduled here when the service set
    its time. Run in-process (the embedded default), a countdown would not wait: the
    embedded scheduler's sweep (webhook_deliver_due_task) makes the next attempt instead."""
    attempt = webhook_deliver(delivery_id=delivery_id)
    if not self.request.is_eager and attempt.retry_at is not None:
        countdown = max(0.0, (attempt.retry_at - timezone.now()).total_seconds())
        webhook_deliver_task.apply_async(args=(delivery_id,), countdown=countdown)
    return attempt.state


@shared_task(acks_late=True)
def webhook_requeue_task() -> int:
    """Queue again the pending deliveries a broker outage or a crashed worker left behind."""
    return webhook_requeue_stale()


@shared_task(acks_late=True)
def webhook_deliver_due_task() -> int:
    """The next attempts that are due, where no countdown schedules them (tasks in-process)."""
    return webhook_deliver_due()
