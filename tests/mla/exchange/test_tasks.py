"""The delivery task runs on a queue of its own, so that a worker serving only that queue
delivers, and deliveries waiting on slow partners never hold up the node's other tasks."""

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone

from mla.celery import app as celery_app
from mla.core.heartbeats import heartbeats
from mla.core.tasks import heartbeat_task, worker_health
from mla.exchange.models import OutboxMessage
from mla.exchange.outbox import outbox_deliver_due
from mla.notifications.tasks import notification_email_send
from mla.requests.tasks import request_document_prepare_task
from tests.support.factories import UserFactory
from tests.support.nodes import free_port, wait_for
from tests.support.sending import enqueue_committed, incoming_copy, outgoing_request


def _queue_of(task_name: str) -> str:
    return str(celery_app.amqp.router.route({}, task_name)["queue"].name)


def test_deliveries_have_their_own_queue_and_every_other_task_the_default_one():
    assert _queue_of("mla.exchange.tasks.outbox_deliver_task") == settings.EXCHANGE_QUEUE
    for task in (notification_email_send, request_document_prepare_task, worker_health):
        assert _queue_of(task.name) == settings.CELERY_TASK_DEFAULT_QUEUE
    # A worker started without --queues serves both (the embedded default, a small node).
    assert {queue.name for queue in celery_app.amqp.queues.consume_from.values()} == {
        settings.CELERY_TASK_DEFAULT_QUEUE,
        settings.EXCHANGE_QUEUE,
    }


@pytest.fixture
def exchange_worker(monkeypatch):
    """A real worker on Redis serving the exchange queue only, as the production unit does."""
    monkeypatch.setattr(celery_app.conf, "result_backend", settings.CELERY_BROKER_URL)
    # Its thread closes its database connection after each task, so that none is left open
    # on the test database when the suite drops it.
    monkeypatch.setitem(celery_app.conf, "CELERY_DB_REUSE_MAX", 0)
    celery_app._local.__dict__.pop("backend", None)
    celery_app.control.purge()
    # The worker selects its queues on the app's own list: restored for the other tests.
    consumed = list(celery_app.amqp.queues.consume_from)
    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=10,
        queues=[settings.EXCHANGE_QUEUE],
    ):
        yield
    celery_app.amqp.queues.select(consumed)
    celery_app.control.purge()  # the task left on the default queue
    celery_app._local.__dict__.pop("backend", None)


@pytest.mark.django_db(transaction=True)
def test_a_worker_of_the_exchange_queue_delivers_and_leaves_the_other_tasks(
    sender, recipient, settings, tmp_path, exchange_worker, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    request = outgoing_request(
        sender, recipient, UserFactory(authority=sender, roles=["prosecutor"])
    )

    # The enqueue's commit hands the delivery task to the broker.
    message = enqueue_committed(request, sender, recipient, django_capture_on_commit_callbacks)
    other = worker_health.delay()

    def delivered() -> bool:
        message.refresh_from_db()
        return message.state == OutboxMessage.State.DELIVERED

    wait_for(delivered, timeout=30, what="the delivery by the exchange worker")
    assert incoming_copy(request, recipient) is not None
    # The task of the default queue still waits for a worker of that queue.
    assert other.state == "PENDING"


@pytest.mark.django_db(transaction=True)
def test_the_worker_of_the_exchange_queue_records_that_queue_s_heartbeat(exchange_worker):
    for queue in (settings.EXCHANGE_QUEUE, settings.CELERY_TASK_DEFAULT_QUEUE):
        heartbeat_task.apply_async(args=(queue,), queue=queue)

    wait_for(
        lambda: "worker:exchange" in heartbeats(),
        timeout=30,
        what="the exchange worker's heartbeat",
    )
    # Sent (beat's heartbeat), but no worker serves the default queue here.
    assert set(heartbeats()) == {"beat", "worker:exchange"}


# In-process (the embedded default) ---------------------------------------------------------


@pytest.fixture
def tasks_in_process():
    """Tasks run in-process, as on the embedded default (mla/settings/local.py)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.update(task_always_eager=True)
    yield
    celery_app.conf.update(task_always_eager=before)


@pytest.mark.django_db
def test_in_process_a_failed_attempt_is_scheduled_and_the_sweep_makes_the_next_one(
    sender, partner, tasks_in_process, django_capture_on_commit_callbacks
):
    partner.inbox_url = f"http://127.0.0.1:{free_port()}/exchange/inbox/"
    partner.save()
    request = outgoing_request(sender, partner, UserFactory(authority=sender, roles=["prosecutor"]))

    # The send's commit runs the delivery task in-process: one attempt, refused connection.
    message = enqueue_committed(request, sender, partner, django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxMessage.State.PENDING, 1)
    assert message.next_attempt_at > timezone.now()
    assert "refused" in message.last_error.lower()
    # Before its time, the sweep leaves it alone.
    assert outbox_deliver_due(now=message.next_attempt_at - timedelta(seconds=1)) == 0
    message.refresh_from_db()
    assert message.attempts == 1

    assert outbox_deliver_due(now=message.next_attempt_at) == 1

    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboxMessage.State.PENDING, 2)
    assert message.next_attempt_at > timezone.now()


@pytest.mark.django_db
def test_the_sweep_takes_only_retries_that_are_due_and_may_go(
    sender, partner, queued, django_capture_on_commit_callbacks
):
    partner.inbox_url = f"http://127.0.0.1:{free_port()}/exchange/inbox/"
    partner.save()

    def enqueued(request=None):
        request = request or outgoing_request(
            sender, partner, UserFactory(authority=sender, roles=["prosecutor"])
        )
        return enqueue_committed(request, sender, partner, django_capture_on_commit_callbacks)

    first = enqueued()
    waiting = enqueued(first.request)  # a later step of the same request
    fresh, failed = enqueued(), enqueued()
    now = timezone.now()
    OutboxMessage.objects.filter(pk__in=[first.pk, waiting.pk, failed.pk]).update(
        attempts=1, next_attempt_at=now - timedelta(seconds=1)
    )
    OutboxMessage.objects.filter(pk=failed.pk).update(state=OutboxMessage.State.FAILED)

    assert outbox_deliver_due(now=now) == 1

    attempts = dict(OutboxMessage.objects.values_list("pk", "attempts"))
    # The first retried; the later step waits for it; the fresh message's first attempt is
    # its sending's; a failed message waits for someone to send it again.
    assert attempts == {first.pk: 2, waiting.pk: 1, fresh.pk: 0, failed.pk: 1}
