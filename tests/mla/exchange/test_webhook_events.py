"""The sender's webhooks hear of each of its messages delivered or failed, in the transaction
recording the outcome."""

import pytest

from mla.exchange.models import OutboxMessage
from mla.exchange.outbox import outbox_deliver
from mla.webhooks.models import WebhookEvent
from mla.webhooks.services import webhook_register
from tests.support.factories import UserFactory
from tests.support.nodes import free_port
from tests.support.sending import enqueue, outgoing_request

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks/mla"


@pytest.fixture
def prosecutor(sender):
    return UserFactory(authority=sender, roles=["prosecutor"])


def _told(authority) -> list[WebhookEvent]:
    return list(WebhookEvent.objects.filter(authority=authority).order_by("pk"))


def test_a_message_delivered_is_told_with_the_state_it_brought(
    sender, recipient, prosecutor, queued
):
    webhook_register(actor=prosecutor, url=URL)
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)

    assert outbox_deliver(message_id=str(message.message_id)).state == "delivered"

    changed, delivered = _told(sender)
    assert (changed.kind, changed.payload["event"], changed.payload["state"]) == (
        "request.state_changed",
        "delivered",
        "delivered",
    )
    assert delivered.kind == "message.delivered"
    assert delivered.request == request
    assert delivered.payload["state"] == "delivered"
    assert delivered.payload["message"] == {
        "id": str(message.message_id),
        "kind": "request",
        "event": "",
        "attempts": 0,
    }
    # Nothing the message carried: its data and documents stay in the exchange.
    assert set(delivered.payload) == {
        "id",
        "type",
        "occurred_at",
        "authority",
        "request",
        "state",
        "message",
    }


def test_a_message_that_could_not_be_delivered_is_told_once_failed(
    sender, partner, prosecutor, queued, settings
):
    settings.EXCHANGE_MAX_ATTEMPTS = 2
    partner.inbox_url = f"http://127.0.0.1:{free_port()}/exchange/inbox/"
    partner.save()
    webhook_register(actor=prosecutor, url=URL)
    request = outgoing_request(sender, partner, prosecutor)
    message = enqueue(request, sender, partner)

    states = [outbox_deliver(message_id=str(message.message_id)).state for _ in range(3)]

    assert states == [OutboxMessage.State.PENDING, "failed", "failed"]
    (failed,) = _told(sender)
    assert failed.kind == "message.failed"
    assert failed.payload["state"] == "sent"
    assert failed.payload["message"]["attempts"] == 2
