import uuid

import pytest
from django.utils import timezone

from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.outbox import outbox_deliver
from mla.exchange.selectors import INCOMING, OUTGOING, request_messages
from mla.requests.models import Request
from tests.support.factories import UserFactory
from tests.support.sending import enqueue, outgoing_request

pytestmark = pytest.mark.django_db

State = OutboxMessage.State


@pytest.fixture
def prosecutor(sender):
    return UserFactory(authority=sender, roles=["prosecutor"])


def test_a_pending_message_shows_its_next_attempt_and_no_receipt(sender, recipient, prosecutor):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)

    [row] = request_messages(request=request)

    assert (row.direction, row.kind, row.event) == (OUTGOING, "request", "")
    assert row.message_id == str(message.message_id)
    assert (row.sender, row.recipient) == (sender, recipient)
    assert (row.state, row.pending, row.failed) == (State.PENDING, True, False)
    assert row.next_attempt_at == message.next_attempt_at
    assert row.has_receipt is False
    assert row.delivered_at is None


def test_both_copies_list_their_own_side_of_a_delivered_message(sender, recipient, prosecutor):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    delivered = outbox_deliver(message_id=str(message.message_id))
    incoming = Request.objects.get(direction=Request.Direction.INCOMING)

    [sent] = request_messages(request=request)
    [received] = request_messages(request=incoming)

    assert (sent.state, sent.has_receipt, sent.next_attempt_at) == (State.DELIVERED, True, None)
    assert sent.delivered_at == delivered.delivered_at
    assert (received.direction, received.state, received.has_receipt) == (
        INCOMING,
        "received",
        True,
    )
    assert received.message_id == sent.message_id
    assert received.received_at == InboxMessage.objects.get().received_at


def test_a_failed_message_shows_its_attempts_and_reason(sender, recipient, prosecutor):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=State.FAILED, attempts=8, last_error="Not delivered: connection refused"
    )

    [row] = request_messages(request=request)

    assert (row.failed, row.attempts, row.last_error) == (
        True,
        8,
        "Not delivered: connection refused",
    )
    assert row.next_attempt_at is None


def test_the_step_a_status_message_carries_is_listed_without_opening_it(
    sender, recipient, prosecutor, django_assert_max_num_queries
):
    request = outgoing_request(sender, recipient, prosecutor)
    enqueue(request, sender, recipient, kind="status", data={"event": "acknowledged"})

    with django_assert_max_num_queries(2):
        rows = request_messages(request=request)

    assert [row.event for row in rows] == ["acknowledged"]
    assert OutboxMessage.objects.get(request=request).event == "acknowledged"


def test_received_messages_give_their_step_from_the_stored_manifest(sender, recipient, prosecutor):
    request = outgoing_request(sender, recipient, prosecutor)
    later = timezone.now()
    for event, at in (("executed", later), ("acknowledged", later - timezone.timedelta(hours=1))):
        InboxMessage.objects.create(
            message_id=uuid.uuid4(),
            sender=recipient,
            recipient=sender,
            kind="status",
            manifest_sha256="0" * 64,
            manifest={"data": {"event": event}},
            received_at=at,
            receipt=b"receipt",
            request=request,
        )

    rows = request_messages(request=request)

    assert [(row.direction, row.event) for row in rows] == [
        (INCOMING, "acknowledged"),
        (INCOMING, "executed"),
    ]


def test_other_requests_messages_are_not_listed(sender, recipient, prosecutor):
    mine = outgoing_request(sender, recipient, prosecutor)
    enqueue(outgoing_request(sender, recipient, prosecutor), sender, recipient)

    assert request_messages(request=mine) == []
