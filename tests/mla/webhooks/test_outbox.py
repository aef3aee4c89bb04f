"""The outbox, against a real receiver on 127.0.0.1: events written with the step that caused
them, POSTed signed once the step commits, retried with backoff while the receiver is down,
and never POSTed again once it answered 2xx."""

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from mla.core.errors import ApplicationError
from mla.requests.lifecycle import issuing
from mla.requests.lifecycle.issuing import request_send
from mla.requests.webhook_events import request_event_announce
from mla.webhooks.kinds import EventKind
from mla.webhooks.models import WebhookDelivery, WebhookEvent
from mla.webhooks.outbox import webhook_deliver, webhook_deliver_due, webhook_requeue_stale
from mla.webhooks.services import webhook_register
from mla.webhooks.tasks import webhook_deliver_task
from tests.support.webhooks import (
    Receiver,
    receiver_running,
    self_signed_certificate,
    signature_verifies,
)

State = WebhookDelivery.State
HOUR = datetime.timedelta(hours=1)


def _later(hours: float) -> datetime.datetime:
    return timezone.now() + hours * HOUR


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


@pytest.fixture
def receiver():
    with receiver_running() as running:
        yield running


@pytest.mark.django_db
def test_a_step_is_posted_signed_once_it_commits_and_not_before(
    ready_eio,
    prosecutor,
    berlin_staff,
    receiver,
    tasks_in_process,
    django_capture_on_commit_callbacks,
):
    secret = webhook_register(actor=prosecutor, url=receiver.url).secret

    with django_capture_on_commit_callbacks(execute=True):
        request_send(request=ready_eio, actor=prosecutor)
        # Written with the step, in its transaction; nothing sent on it.
        assert WebhookEvent.objects.count() == 2
        assert receiver.hits == []

    # The Paris copy was sent, then delivered to Berlin on this node at once.
    assert [
        (hit.payload["type"], hit.payload["event"], hit.payload["from_state"], hit.payload["state"])
        for hit in receiver.hits
    ] == [
        ("request.state_changed", "sent", "ready", "sent"),
        ("request.state_changed", "delivered", "sent", "delivered"),
    ]
    for hit in receiver.hits:
        assert signature_verifies(secret=secret, hit=hit)
        assert not signature_verifies(secret=secret + "x", hit=hit)
        assert hit.event_id == hit.payload["id"]
        assert hit.headers["X-MLA-Event-Type"] == "request.state_changed"
        assert hit.headers["Content-Type"] == "application/json"
        assert hit.path == "/hooks/mla"
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {(State.DELIVERED, 1)}


@pytest.mark.django_db
def test_a_payload_names_the_request_and_its_state_never_its_content(
    ready_eio,
    prosecutor,
    berlin_staff,
    receiver,
    tasks_in_process,
    django_capture_on_commit_callbacks,
):
    webhook_register(actor=prosecutor, url=receiver.url)
    prosecutor.first_name, prosecutor.last_name = "Camille", "Lefèvre-Aubin"
    prosecutor.save()

    with django_capture_on_commit_callbacks(execute=True):
        request_send(request=ready_eio, actor=prosecutor)

    sent = receiver.hits[0]
    payload = sent.payload
    assert set(payload) == {
        "id",
        "type",
        "occurred_at",
        "authority",
        "request",
        "state",
        "event",
        "from_state",
    }
    assert payload["authority"] == "fr-paris"
    assert payload["request"] == {
        "issuer": "fr-paris",
        "reference": ready_eio.reference,
        "direction": "outgoing",
        "url": f"http://127.0.0.1:8000/api/v1/requests/fr-paris/{ready_eio.reference}/",
    }
    assert payload["occurred_at"].endswith("Z")
    body = sent.body.decode()
    for person in ("camille", "Camille", "Lefèvre-Aubin"):
        assert person not in body
    # Not one value of the request's sections (its reference aside, which names it).
    values = {text for text in _strings(ready_eio.data) if len(text) >= 6}
    values.discard(ready_eio.reference)
    assert values
    assert [value for value in values if value in body] == []


@pytest.mark.django_db
def test_a_step_rolled_back_sends_nothing(
    ready_eio,
    prosecutor,
    berlin_staff,
    receiver,
    tasks_in_process,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    webhook_register(actor=prosecutor, url=receiver.url)

    def refused(**kwargs):
        # After the state changed and the Berlin copy was made: the whole step goes back.
        raise ApplicationError("The enforcing authority could not be notified.")

    monkeypatch.setattr(issuing.enforcing, "enforcing_authority_notify", refused)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ApplicationError),
    ):
        request_send(request=ready_eio, actor=prosecutor)

    ready_eio.refresh_from_db()
    assert ready_eio.state == "ready"
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert callbacks == []
    assert receiver.hits == []


@pytest.mark.django_db
def test_a_receiver_down_for_a_while_gets_every_event_once_when_it_comes_back(
    ready_eio, prosecutor, berlin_staff, tasks_in_process, django_capture_on_commit_callbacks
):
    receiver = Receiver()  # nothing listens yet: every connection is refused
    secret = webhook_register(actor=prosecutor, url=receiver.url).secret
    try:
        with django_capture_on_commit_callbacks(execute=True):
            request_send(request=ready_eio, actor=prosecutor)

        deliveries = WebhookDelivery.objects.order_by("pk")
        assert [(row.state, row.attempts, row.last_status) for row in deliveries] == [
            (State.PENDING, 1, None),
            (State.PENDING, 1, None),
        ]
        assert all("Not delivered" in row.last_error for row in deliveries)
        assert all(row.next_attempt_at > timezone.now() for row in deliveries)
        # Not due yet: the sweep waits for each delivery's backoff.
        assert webhook_deliver_due() == 0

        # Up, but unwell: both second attempts are answered 503.
        receiver.up()
        receiver.answer(503, 503)
        assert webhook_deliver_due(now=_later(2)) == 2
        deliveries = WebhookDelivery.objects.order_by("pk")
        assert [(row.state, row.attempts, row.last_status) for row in deliveries] == [
            (State.PENDING, 2, 503),
            (State.PENDING, 2, 503),
        ]
        assert {row.last_error for row in deliveries} == {"HTTP 503 from the receiver."}

        assert webhook_deliver_due(now=_later(4)) == 2
        # Acknowledged: never attempted again, by the sweep or by a task run again.
        assert webhook_deliver_due(now=_later(48)) == 0
        for row in deliveries:
            webhook_deliver_task.apply(args=(row.pk,))
    finally:
        receiver.down()

    deliveries = WebhookDelivery.objects.order_by("pk")
    assert [(row.state, row.attempts, row.last_status, row.last_error) for row in deliveries] == [
        (State.DELIVERED, 3, 200, ""),
        (State.DELIVERED, 3, 200, ""),
    ]
    acknowledged = receiver.acknowledged
    # Nothing lost, nothing twice: each event acknowledged once, in its own signed body.
    assert sorted(hit.event_id for hit in acknowledged) == sorted(
        str(row.event.event_id) for row in deliveries
    )
    assert len(receiver.hits) == 4  # the two 503s, the two acknowledgements
    assert all(signature_verifies(secret=secret, hit=hit) for hit in receiver.hits)
    # Each attempt sent the same body under the same event id.
    by_event: dict[str, set[bytes]] = {}
    for hit in receiver.hits:
        by_event.setdefault(hit.event_id, set()).add(hit.body)
    assert all(len(bodies) == 1 for bodies in by_event.values())


@pytest.mark.django_db
def test_a_delivery_never_acknowledged_fails_with_its_last_error_and_attempts(
    eio_draft, prosecutor, receiver, settings, queued
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    webhook_register(actor=prosecutor, url=receiver.url)
    request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
    receiver.answer(500, 503, 502, 200)
    delivery = WebhookDelivery.objects.get()

    first = webhook_deliver(delivery_id=delivery.pk)
    assert (first.attempted, first.state) == (True, State.PENDING)
    assert first.retry_at is not None
    for hours in (2, 4):
        webhook_deliver_due(now=_later(hours))

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (State.FAILED, 3, 502)
    assert delivery.last_error == "HTTP 502 from the receiver."
    assert delivery.next_attempt_at is None
    assert webhook_deliver_due(now=_later(48)) == 0
    assert webhook_deliver(delivery_id=delivery.pk).attempted is False
    assert len(receiver.hits) == 3


@pytest.mark.django_db
def test_a_task_run_again_after_the_receiver_acknowledged_posts_nothing(
    eio_draft, prosecutor, receiver, tasks_in_process, django_capture_on_commit_callbacks
):
    webhook_register(actor=prosecutor, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.DELIVERED

    # What acks_late does when a worker dies before acknowledging the task: run it again.
    assert webhook_deliver_task.apply(args=(delivery.pk,)).get() == State.DELIVERED
    webhook_deliver_task.delay(delivery.pk)

    assert len(receiver.hits) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


@pytest.mark.django_db
def test_a_task_arriving_before_its_attempt_is_due_waits_for_it(
    eio_draft, prosecutor, receiver, queued
):
    webhook_register(actor=prosecutor, url=receiver.url)
    request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
    receiver.answer(503)
    delivery = WebhookDelivery.objects.get()
    failed = webhook_deliver(delivery_id=delivery.pk)

    early = webhook_deliver(delivery_id=delivery.pk)

    assert (early.attempted, early.retry_at) == (False, failed.retry_at)
    assert len(receiver.hits) == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_worker_sends_nothing_while_the_first_attempts_the_delivery(
    authorities, prosecutor, eio_draft, queued
):
    with receiver_running() as receiver:
        webhook_register(actor=prosecutor, url=receiver.url)
        with transaction.atomic():
            request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
        delivery = WebhookDelivery.objects.get()
        receiver.gate.clear()  # the receiver holds its answer until told
        outcomes = []

        def first_worker() -> None:
            try:
                outcomes.append(webhook_deliver(delivery_id=delivery.pk))
            finally:
                connection.close()

        worker = threading.Thread(target=first_worker)
        worker.start()
        assert receiver.arrived.wait(timeout=30)

        # The redelivered task, while the first still waits for the answer.
        second = webhook_deliver(delivery_id=delivery.pk)
        receiver.gate.set()
        worker.join(timeout=30)

    assert second.attempted is False
    assert [outcome.state for outcome in outcomes] == [State.DELIVERED]
    assert len(receiver.hits) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (State.DELIVERED, 1)


@pytest.mark.django_db
def test_a_redirect_is_not_followed(eio_draft, prosecutor, receiver, queued):
    with receiver_running() as elsewhere:
        receiver.location = elsewhere.url
        receiver.answer(307)
        webhook_register(actor=prosecutor, url=receiver.url)
        request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)

        webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.last_status) == (State.PENDING, 307)
    assert "follow no redirect" in delivery.last_error
    assert len(receiver.hits) == 1
    assert elsewhere.hits == []


@pytest.mark.django_db
def test_an_https_receiver_is_reached_at_its_address_with_its_certificate_checked(
    eio_draft, prosecutor, queued, tmp_path, monkeypatch
):
    certificate = self_signed_certificate(tmp_path)
    with receiver_running(certificate=certificate) as receiver:
        webhook_register(actor=prosecutor, url=receiver.url)
        request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
        delivery = WebhookDelivery.objects.get()

        # Signed by no authority this node trusts: nothing is sent.
        webhook_deliver(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == (State.PENDING, 1)
        assert "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
        assert receiver.hits == []

        # Trusted (as a node's operator would add its authority): delivered over TLS.
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        webhook_deliver(delivery_id=delivery.pk, now=_later(1))

    delivery.refresh_from_db()
    assert delivery.state == State.DELIVERED
    assert [hit.headers["Host"] for hit in receiver.hits] == [f"127.0.0.1:{receiver.port}"]


@pytest.mark.django_db
def test_a_receiver_now_at_an_address_webhooks_may_not_reach_is_not_posted_to(
    eio_draft, prosecutor, receiver, queued, settings
):
    webhook_register(actor=prosecutor, url=receiver.url)
    request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
    # Checked again at each attempt (the name may resolve elsewhere since its registration).
    settings.WEBHOOK_ALLOWED_HOSTS = []

    webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == (State.FAILED, 1)
    assert "https://" in delivery.last_error
    assert receiver.hits == []


@pytest.mark.django_db
def test_a_receiver_answering_too_slowly_is_an_attempt_failed(
    eio_draft, prosecutor, receiver, queued, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    webhook_register(actor=prosecutor, url=receiver.url)
    request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
    receiver.gate.clear()  # never answers while the attempt waits

    webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    receiver.gate.set()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (State.PENDING, 1, None)
    assert "No answer within" in delivery.last_error


@pytest.mark.django_db
def test_an_event_with_a_key_is_recorded_once(
    eio_draft, prosecutor, receiver, queued, django_capture_on_commit_callbacks
):
    webhook_register(actor=prosecutor, url=receiver.url)

    with django_capture_on_commit_callbacks(execute=True):
        for _run in range(2):
            request_event_announce(
                request=eio_draft, kind=EventKind.DEADLINE_APPROACHING, dedupe_key="deadline:1:x"
            )

    assert WebhookEvent.objects.count() == 1
    assert len(queued) == 1


@pytest.mark.django_db
def test_an_authority_without_a_webhook_records_no_event(eio_draft, queued):
    request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)

    assert not WebhookEvent.objects.exists()
    assert queued == []


@pytest.mark.django_db
def test_pending_deliveries_whose_task_was_lost_are_queued_again(
    eio_draft, prosecutor, receiver, queued, settings
):
    webhook_register(actor=prosecutor, url=receiver.url)
    request_event_announce(request=eio_draft, kind=EventKind.STATE_CHANGED)
    delivery = WebhookDelivery.objects.get()
    queued.clear()

    assert webhook_requeue_stale() == 0
    assert webhook_requeue_stale(now=_later(1)) == 1

    assert queued == [delivery.pk]
    # Not again for another stale period.
    assert webhook_requeue_stale(now=_later(1)) == 0
