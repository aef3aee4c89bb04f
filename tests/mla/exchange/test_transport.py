import hashlib
import io
import json
import urllib.error
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mla.core.errors import ApplicationError
from mla.exchange import inbox, outbox, tasks
from mla.exchange.inbox import inbox_receive
from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.outbox import outbox_deliver, outbox_requeue_stale, outbox_retry, request_transmit
from mla.exchange.wire.errors import REASON_CODES, MessageRefused
from mla.exchange.wire.manifest import Document, manifest_build
from mla.exchange.wire.receipts import receipt_verify
from mla.exchange.wire.seal import message_seal
from mla.requests.models import Request
from tests.support.factories import UserFactory
from tests.support.messages import PDF
from tests.support.sending import ANNEX, enqueue_committed, incoming_copy, outgoing_request

pytestmark = pytest.mark.django_db

State = OutboxMessage.State


@pytest.fixture
def prosecutor(sender):
    return UserFactory(authority=sender, roles=["prosecutor"])


# On this node -----------------------------------------------------------------------------


def test_a_request_message_is_delivered_here_with_its_data_documents_and_receipt(
    sender, recipient, prosecutor, queued, django_capture_on_commit_callbacks
):
    request = outgoing_request(sender, recipient, prosecutor)

    message = enqueue_committed(request, sender, recipient, django_capture_on_commit_callbacks)

    assert queued == [str(message.message_id)]
    assert message.state == State.PENDING
    delivered = outbox_deliver(message_id=str(message.message_id))

    assert delivered.state == State.DELIVERED
    assert delivered.delivered_at is not None
    assert delivered.attempts == 0
    receipt = receipt_verify(
        receipt=bytes(delivered.receipt),
        expected_message_id=str(message.message_id),
        expected_manifest_digest=message.manifest_sha256,
        recipient=recipient,
    )
    assert receipt.receiver == recipient.identifier
    incoming = incoming_copy(request, recipient)
    assert incoming is not None
    assert incoming.state == Request.State.RECEIVED
    assert incoming.issuing_authority == sender
    assert incoming.data == request.data
    assert incoming.received_at is not None
    assert incoming.created_by is None
    # The request PDF is the message's; the other documents become attachments.
    assert [(a.name, a.sha256) for a in incoming.attachments.all()] == [
        ("annex 1.pdf", hashlib.sha256(ANNEX).hexdigest())
    ]
    assert incoming.attachments.get().file.read() == ANNEX
    entry = incoming.audit_entries.get(event="received")
    assert (entry.actor_name, entry.authority_name) == ("Ana Ionescu", sender.name)
    assert entry.payload["message_id"] == str(message.message_id)
    inbox = InboxMessage.objects.get(message_id=message.message_id)
    assert inbox.request == incoming
    assert bytes(inbox.receipt) == bytes(delivered.receipt)
    assert inbox.manifest_sha256 == message.manifest_sha256
    # The receipt moves the issuing copy to "delivered", at the time the receiver gives.
    request.refresh_from_db()
    assert request.state == Request.State.DELIVERED
    step = request.audit_entries.get(event="delivered")
    assert step.at == receipt.received_at
    assert step.payload["message_id"] == str(message.message_id)
    assert step.authority_name == recipient.name
    assert request.deadlines.get(code="acknowledgement").starts_at == receipt.received_at


def test_delivering_again_changes_nothing(
    sender, recipient, prosecutor, queued, django_capture_on_commit_callbacks
):
    message = enqueue_committed(
        outgoing_request(sender, recipient, prosecutor),
        sender,
        recipient,
        django_capture_on_commit_callbacks,
    )
    first = inbox_receive(sealed=bytes(message.sealed))

    second = inbox_receive(sealed=bytes(message.sealed))

    assert second == first
    assert InboxMessage.objects.count() == 1
    assert Request.objects.filter(direction=Request.Direction.INCOMING).count() == 1
    delivered = outbox_deliver(message_id=str(message.message_id))
    assert delivered.state == State.DELIVERED
    assert bytes(delivered.receipt) == first
    assert outbox_deliver(message_id=str(message.message_id)).delivered_at == delivered.delivered_at


def test_a_tampered_message_is_refused_and_nothing_is_stored(
    sender, recipient, prosecutor, queued, django_capture_on_commit_callbacks
):
    message = enqueue_committed(
        outgoing_request(sender, recipient, prosecutor),
        sender,
        recipient,
        django_capture_on_commit_callbacks,
    )
    sealed = bytearray(message.sealed)
    sealed[len(sealed) // 2] ^= 0x01

    with pytest.raises(MessageRefused) as refused:
        inbox_receive(sealed=bytes(sealed))

    assert refused.value.reason_code in REASON_CODES
    assert not InboxMessage.objects.exists()
    assert not Request.objects.filter(direction=Request.Direction.INCOMING).exists()


def test_a_kind_no_step_applies_is_refused_and_nothing_is_stored(sender, recipient):
    # "attachment" is a kind of the manifest format, but nothing here adds a document to a
    # request once sent, so there is nothing to apply it to.
    documents = [Document("results.pdf", "application/pdf", PDF)]
    manifest = manifest_build(
        kind="attachment",
        sender=sender,
        recipient=recipient,
        reference="AA-2026-000001",
        data={"note": "results"},
        documents=documents,
    )
    sealed = message_seal(
        manifest=manifest, documents=documents, sender=sender, recipient=recipient
    )

    with pytest.raises(MessageRefused) as refused:
        inbox_receive(sealed=sealed)

    assert refused.value.reason_code == inbox.UNSUPPORTED_KIND
    assert not InboxMessage.objects.exists()
    assert not Request.objects.filter(direction=Request.Direction.INCOMING).exists()


def test_a_request_already_received_under_another_message_is_refused_locally_at_once(
    sender, recipient, prosecutor, queued, django_capture_on_commit_callbacks
):
    request = outgoing_request(sender, recipient, prosecutor)
    first = enqueue_committed(request, sender, recipient, django_capture_on_commit_callbacks)
    outbox_deliver(message_id=str(first.message_id))
    second = enqueue_committed(request, sender, recipient, django_capture_on_commit_callbacks)

    failed = outbox_deliver(message_id=str(second.message_id))

    assert failed.state == State.FAILED
    assert failed.attempts == 1
    assert inbox.REJECTED in failed.last_error
    assert InboxMessage.objects.count() == 1


# The inbox over HTTP ------------------------------------------------------------------------


def test_the_inbox_answers_with_the_receipt(
    client, sender, recipient, prosecutor, queued, django_capture_on_commit_callbacks
):
    message = enqueue_committed(
        outgoing_request(sender, recipient, prosecutor),
        sender,
        recipient,
        django_capture_on_commit_callbacks,
    )

    response = client.post(
        reverse("exchange:inbox"), bytes(message.sealed), content_type="application/octet-stream"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    receipt_verify(
        receipt=response.content,
        expected_message_id=str(message.message_id),
        expected_manifest_digest=message.manifest_sha256,
        recipient=recipient,
    )
    assert InboxMessage.objects.filter(message_id=message.message_id).exists()


def test_the_inbox_refuses_with_the_reason_code(client, recipient):
    response = client.post(
        reverse("exchange:inbox"), b"not a message", content_type="application/octet-stream"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["refused"] in REASON_CODES
    assert body["message"]
    assert not InboxMessage.objects.exists()


def test_the_inbox_takes_only_post(client):
    assert client.get(reverse("exchange:inbox")).status_code == 405


def test_the_inbox_refuses_an_oversized_message_before_reading_it(client, settings):
    settings.EXCHANGE_MAX_MESSAGE_BYTES = 100

    response = client.post(
        reverse("exchange:inbox"), b"x" * 101, content_type="application/octet-stream"
    )

    assert response.status_code == 413
    assert response.json()["refused"] == "too_large"


# To another node ------------------------------------------------------------------------------


@pytest.fixture
def remote(partner):
    partner.inbox_url = "https://partner.example/exchange/inbox/"
    partner.save()
    return partner


def _unreachable(monkeypatch) -> list[object]:
    calls: list[object] = []

    def urlopen(request, timeout):
        calls.append((request.full_url, request.get_method(), request.headers, timeout))
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(outbox, "_urlopen", urlopen)
    return calls


def test_an_unreachable_inbox_leaves_the_message_pending_for_later(
    sender, remote, prosecutor, queued, monkeypatch, django_capture_on_commit_callbacks
):
    calls = _unreachable(monkeypatch)
    message = enqueue_committed(
        outgoing_request(sender, remote, prosecutor),
        sender,
        remote,
        django_capture_on_commit_callbacks,
    )

    attempted = outbox_deliver(message_id=str(message.message_id))

    assert attempted.state == State.PENDING
    assert attempted.attempts == 1
    assert attempted.next_attempt_at > timezone.now()
    assert "connection refused" in attempted.last_error
    url, method, headers, timeout = calls[0]
    assert (url, method, timeout) == (remote.inbox_url, "POST", 30.0)
    assert headers["Content-type"] == "application/octet-stream"


def test_the_task_schedules_the_next_attempt(
    sender, remote, prosecutor, queued, monkeypatch, django_capture_on_commit_callbacks
):
    _unreachable(monkeypatch)
    scheduled: list[dict[str, object]] = []
    monkeypatch.setattr(
        tasks.outbox_deliver_task, "apply_async", lambda **options: scheduled.append(options)
    )
    message = enqueue_committed(
        outgoing_request(sender, remote, prosecutor),
        sender,
        remote,
        django_capture_on_commit_callbacks,
    )

    assert tasks.outbox_deliver_task(str(message.message_id)) == State.PENDING

    assert scheduled[0]["args"] == (str(message.message_id),)
    assert 0 < scheduled[0]["countdown"] <= 30


def test_the_message_fails_after_the_last_attempt(
    sender, remote, prosecutor, queued, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.EXCHANGE_MAX_ATTEMPTS = 3
    _unreachable(monkeypatch)
    message = enqueue_committed(
        outgoing_request(sender, remote, prosecutor),
        sender,
        remote,
        django_capture_on_commit_callbacks,
    )

    states = [outbox_deliver(message_id=str(message.message_id)).state for _ in range(4)]

    assert states == [State.PENDING, State.PENDING, State.FAILED, State.FAILED]
    message.refresh_from_db()
    assert message.attempts == 3
    assert message.next_attempt_at is None


def test_a_refusal_by_the_other_node_fails_at_once(
    sender, remote, prosecutor, queued, monkeypatch, django_capture_on_commit_callbacks
):
    def urlopen(request, timeout):
        body = json.dumps({"refused": "bad_signature", "message": "No."}).encode()
        raise urllib.error.HTTPError(request.full_url, 422, "Unprocessable", {}, io.BytesIO(body))

    monkeypatch.setattr(outbox, "_urlopen", urlopen)
    message = enqueue_committed(
        outgoing_request(sender, remote, prosecutor),
        sender,
        remote,
        django_capture_on_commit_callbacks,
    )

    failed = outbox_deliver(message_id=str(message.message_id))

    assert failed.state == State.FAILED
    assert failed.attempts == 1
    assert "bad_signature" in failed.last_error


def test_only_long_overdue_pending_messages_are_queued_again(
    sender, remote, prosecutor, queued, django_capture_on_commit_callbacks
):
    request = outgoing_request(sender, remote, prosecutor)
    made = [
        enqueue_committed(request, sender, remote, django_capture_on_commit_callbacks)
        for _ in range(4)
    ]
    queued.clear()
    now = timezone.now()
    stale, recent, failed, delivered = made
    OutboxMessage.objects.filter(pk=stale.pk).update(next_attempt_at=now - timedelta(minutes=6))
    OutboxMessage.objects.filter(pk=recent.pk).update(next_attempt_at=now - timedelta(minutes=4))
    OutboxMessage.objects.filter(pk=failed.pk).update(
        state=State.FAILED, next_attempt_at=now - timedelta(hours=1)
    )
    OutboxMessage.objects.filter(pk=delivered.pk).update(
        state=State.DELIVERED, next_attempt_at=now - timedelta(hours=1)
    )

    assert outbox_requeue_stale(now=now) == 1

    assert queued == [str(stale.message_id)]
    assert outbox_requeue_stale(now=now) == 0  # not again until it is overdue once more


def test_the_issuer_retries_a_failed_message_and_an_outsider_may_not(
    sender,
    remote,
    recipient,
    prosecutor,
    queued,
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.EXCHANGE_MAX_ATTEMPTS = 1
    _unreachable(monkeypatch)
    message = enqueue_committed(
        outgoing_request(sender, remote, prosecutor),
        sender,
        remote,
        django_capture_on_commit_callbacks,
    )
    failed = outbox_deliver(message_id=str(message.message_id))
    assert failed.state == State.FAILED
    queued.clear()
    outsider = UserFactory(authority=recipient, roles=["prosecutor"])

    with pytest.raises(ApplicationError):
        outbox_retry(message=failed, actor=outsider)
    with django_capture_on_commit_callbacks(execute=True):
        retried = outbox_retry(message=failed, actor=prosecutor)

    assert (retried.state, retried.attempts) == (State.PENDING, 0)
    assert queued == [str(message.message_id)]
    with pytest.raises(ApplicationError):
        outbox_retry(message=retried, actor=prosecutor)  # not failed any more


# From the lifecycle -------------------------------------------------------------------------


def test_a_sent_request_is_transmitted_with_its_pdf_and_attachments(
    sender, remote, prosecutor, queued, django_capture_on_commit_callbacks
):
    request = outgoing_request(sender, remote, prosecutor)

    with django_capture_on_commit_callbacks(execute=True):
        message = request_transmit(request=request, sent_by="Ana Ionescu")

    assert message is not None
    assert (message.kind, message.request, message.recipient) == ("request", request, remote)
    assert queued == [str(message.message_id)]


def test_a_sender_without_a_key_stays_sent_without_a_message(
    remote, prosecutor, queued, caplog, django_capture_on_commit_callbacks
):
    unkeyed = UserFactory(roles=["prosecutor"])
    request = outgoing_request(unkeyed.authority, remote, unkeyed)

    assert request_transmit(request=request, sent_by="x") is None

    assert not OutboxMessage.objects.exists()
    assert "has no key pair on this node" in caplog.text


def test_sending_to_an_authority_not_hosted_here_puts_the_request_in_the_outbox(
    sender, remote, prosecutor, queued, django_capture_on_commit_callbacks
):
    from mla.requests.lifecycle import counterpart

    request = outgoing_request(sender, remote, prosecutor)

    with django_capture_on_commit_callbacks(execute=True):
        counterpart.deliver(request=request, actor=prosecutor, at=timezone.now())

    message = OutboxMessage.objects.get(request=request)
    assert (message.kind, message.recipient, message.state) == ("request", remote, State.PENDING)
    assert queued == [str(message.message_id)]
    request.refresh_from_db()
    assert request.state == Request.State.SENT


def test_the_inbox_limits_deliveries_per_client_address_with_retry_after(client, settings):
    settings.INBOX_RATE_LIMIT_REQUESTS = 3
    settings.INBOX_RATE_LIMIT_WINDOW_SECONDS = 60

    def post(address):
        return client.post(
            reverse("exchange:inbox"),
            b"not a message",
            content_type="application/octet-stream",
            REMOTE_ADDR=address,
        )

    answers = [post("203.0.113.7").status_code for _ in range(3)]
    limited = post("203.0.113.7")
    other_address = post("198.51.100.9")

    assert answers == [400, 400, 400]
    assert limited.status_code == 429
    assert limited.json()["refused"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert other_address.status_code == 400


def test_the_inbox_limit_counts_the_address_nginx_saw(client, settings):
    settings.INBOX_RATE_LIMIT_REQUESTS = 1
    settings.TRUSTED_PROXY_COUNT = 1

    def post(forwarded_for):
        return client.post(
            reverse("exchange:inbox"),
            b"not a message",
            content_type="application/octet-stream",
            REMOTE_ADDR="127.0.0.1",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    assert post("203.0.113.7").status_code == 400
    assert post("203.0.113.7").status_code == 429
    assert post("198.51.100.9").status_code == 400


def test_the_nginx_example_limits_the_inbox_body_to_the_message_limit():
    import re

    from django.conf import settings as django_settings

    conf = (django_settings.BASE_DIR / "deploy" / "nginx" / "mla.conf").read_text()
    inbox_block = conf.split("location = /exchange/inbox/ {", 1)[1].split("}", 1)[0]
    body_limit = re.search(r"client_max_body_size (\d+)m;", inbox_block)

    assert "limit_req zone=mla_inbox" in inbox_block
    assert "limit_conn mla_per_address" in inbox_block
    assert body_limit is not None
    assert int(body_limit.group(1)) * 1024 * 1024 == django_settings.EXCHANGE_MAX_MESSAGE_BYTES
