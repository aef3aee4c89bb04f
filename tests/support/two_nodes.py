"""Steps the two-node tests share (tests/mla/exchange/test_two_nodes*.py): sending from A,
waiting for a message to settle, taking a step on one node and following it to the other."""

from collections.abc import Callable
from typing import Any

from tests.support.nodes import PROSECUTOR, Node, TwoNodes, wait_for

DELIVERY_TIMEOUT = 30


def send_from_a(nodes: TwoNodes, reference: str) -> None:
    nodes.a.call("request_send", reference=reference, username=PROSECUTOR)


def outbox_message(node: Node, reference: str) -> dict[str, Any]:
    [message] = node.call("outbox", reference=reference)
    return dict(message)


def outbox_settled(node: Node, reference: str, *, state: str = "delivered") -> dict[str, Any]:
    """The outbox message about ``reference`` once it is in ``state``."""

    def probe() -> dict[str, Any] | None:
        message = outbox_message(node, reference)
        return message if message["state"] == state else None

    return wait_for(probe, timeout=DELIVERY_TIMEOUT, what=f"{reference} {state} on {node.name}")


def stale_requeued(node: Node) -> int:
    """Run the periodic requeue until it finds the stale message (stale after 2 s here)."""
    return int(wait_for(lambda: node.call("outbox_requeue"), timeout=15, what="a stale message"))


def timeline_events(copy: dict[str, Any]) -> list[str]:
    return [entry["event"] for entry in copy["timeline"]]


def step_take(node: Node, username: str, service: str, reference: str, **kwargs: Any) -> str:
    direction = "incoming" if node.name == "b" else "outgoing"
    return str(
        node.call(
            "request_step",
            service=service,
            reference=reference,
            direction=direction,
            username=username,
            **kwargs,
        )
    )


def step_followed(
    sender: Node, receiver: Node, reference: str, step: Callable[[], str], *, event: str
) -> dict[str, Any]:
    """Take a step on ``sender``: it leaves as one status message, which ``receiver``
    applies and answers with a receipt that ``sender`` verifies and stores. The receiving
    copy as it is then."""
    before = len(sender.call("outbox", reference=reference))
    step()
    messages = sender.call("outbox", reference=reference)
    assert len(messages) == before + 1, f"{event} put no message in the outbox of {sender.name}"
    message = messages[-1]
    assert message["kind"] == "status"
    message_settled(sender, message["message_id"])
    receipt = sender.call("receipt_verify", message_id=message["message_id"])
    assert receipt["signer_fingerprint"] == receipt["recipient_pinned"]
    [applied] = receiver.call("inbox", message_id=message["message_id"])
    assert (applied["kind"], applied["manifest"]["data"]["event"]) == ("status", event)
    direction = "incoming" if receiver.name == "b" else "outgoing"
    copy = receiver.call("request_copy", reference=reference, direction=direction)
    assert timeline_events(copy)[-1] == event
    return dict(copy)


def message_settled(node: Node, message_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        [message] = node.call("outbox", message_id=message_id)
        return message if message["state"] == "delivered" else None

    return wait_for(probe, timeout=DELIVERY_TIMEOUT, what=f"message {message_id} delivered")
