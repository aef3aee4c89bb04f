"""The delivery task: ids only, idempotent, acks_late, and each next attempt scheduled with
its backoff; run by a real worker on Redis against a receiver that is unwell for a while."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import transaction

from mla.celery import app as celery_app
from mla.requests.webhook_events import request_event_announce
from mla.webhooks import tasks
from mla.webhooks.kinds import EventKind
from mla.webhooks.models import WebhookDelivery
from mla.webhooks.services import webhook_register
from tests.support.nodes import wait_for
from tests.support.webhooks import receiver_running, signature_verifies

State = WebhookDelivery.State


def test_the_delivery_task_is_acknowledged_late_and_runs_on_the_default_queue():
    assert tasks.webhook_deliver_task.acks_late is True
    route = celery_app.amqp.router.route({}, tasks.webhook_deliver_task.name)
    assert route["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE


@pytest.mark.django_db
def test_the_task_schedules_the_next_attempt_after_its_backoff(
    eio_draft, prosecutor, queued, monkeypatch
):
    scheduled: list[dict[str, object]] = []
    monkeypatch.setattr(
        tasks.webhook_deliver_task, "apply_async", lambda **options: scheduled.append(options)
    )
    with receiver_running() as receiver:
        receiver.answer(503)
        webhook_register(actor=prosecutor, url=receiver.url)
        request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
        delivery = WebhookDelivery.objects.get()

        assert tasks.webhook_deliver_task(delivery.pk) == State.PENDING
        # Delivered at the next attempt: nothing more to schedule.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
        assert tasks.webhook_deliver_task(delivery.pk) == State.DELIVERED

    assert len(scheduled) == 1
    assert scheduled[0]["args"] == (delivery.pk,)
    assert 0 < scheduled[0]["countdown"] <= settings.WEBHOOK_BACKOFF_BASE_SECONDS
    assert len(receiver.hits) == 2


@pytest.fixture
def worker(monkeypatch):
    """A real worker on Redis serving the default queue, in a thread of this process."""
    monkeypatch.setattr(celery_app.conf, "result_backend", settings.CELERY_BROKER_URL)
    # Its thread closes its database connection after each task, so that none is left open
    # on the test database when the suite drops it.
    monkeypatch.setitem(celery_app.conf, "CELERY_DB_REUSE_MAX", 0)
    celery_app._local.__dict__.pop("backend", None)
    celery_app.control.purge()
    consumed = list(celery_app.amqp.queues.consume_from)
    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=10,
        queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
    ):
        yield
    celery_app.amqp.queues.select(consumed)
    celery_app.control.purge()
    celery_app._local.__dict__.pop("backend", None)


@pytest.mark.django_db(transaction=True)
def test_a_worker_retries_until_the_receiver_acknowledges_and_then_sends_nothing_more(
    authorities, prosecutor, eio_draft, settings, worker
):
    # No wait between attempts: the worker's countdowns are what is tested, not their length.
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 0
    with receiver_running() as receiver:
        receiver.answer(503, 503)
        secret = webhook_register(actor=prosecutor, url=receiver.url).secret
        # The step's commit hands the delivery to the broker.
        with transaction.atomic():
            request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
        delivery = WebhookDelivery.objects.get()

        def delivered() -> bool:
            delivery.refresh_from_db()
            return delivery.state == State.DELIVERED

        wait_for(delivered, timeout=60, what="the delivery by the worker")
        # Sent again to the broker, as acks_late does after a worker died: nothing is POSTed.
        tasks.webhook_deliver_task.delay(delivery.pk).get(timeout=30)

    assert [hit.status for hit in receiver.hits] == [503, 503, 200]
    assert len({hit.event_id for hit in receiver.hits}) == 1
    assert all(signature_verifies(secret=secret, hit=hit) for hit in receiver.hits)
    assert (delivery.attempts, delivery.last_status, delivery.last_error) == (3, 200, "")
