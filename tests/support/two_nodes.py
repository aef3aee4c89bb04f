"""Steps the two-node tests share (tests/mla/exchange/test_two_nodes*.py): sending from A,
waiting for a message to settle, taking a step on one node and following it to the other,
reading a copy's deadlines, and the faults the tests inject (a message delivered twice, a
worker killed mid-delivery, a node down for a while)."""

import datetime
import hashlib
from collections.abc import Callable
from typing import Any

from tests.support.nodes import (
    ENFORCING_STAFF,
    PROSECUTOR,
    PROVIDER,
    PROVIDER_STAFF,
    Node,
    TwoNodes,
    post,
    wait_for,
)

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


# e-Evidence (``TwoNodes(eevidence=True)``): A issues, B hosts the addressee and the enforcing
# authority ----------------------------------------------------------------------------------


def certificate_ready(nodes: TwoNodes, code: str, categories: list[str]) -> str:
    """A certificate of A's prosecutor to B's provider, ready to send; its reference."""
    return str(
        nodes.a.call(
            "certificate_ready",
            username=PROSECUTOR,
            declaration_code=code,
            executing=PROVIDER,
            categories=categories,
        )
    )


def copy_on(node: Node, reference: str) -> dict[str, Any]:
    """The node's copy of ``reference``: the issuing one on A, the received one on B."""
    direction = "incoming" if node.name == "b" else "outgoing"
    return dict(node.call("request_copy", reference=reference, direction=direction))


def by_provider(nodes: TwoNodes, service: str, reference: str, **kwargs: Any) -> str:
    return step_take(nodes.b, PROVIDER_STAFF, service, reference, **kwargs)


def by_enforcing(nodes: TwoNodes, service: str, reference: str, **kwargs: Any) -> str:
    return step_take(nodes.b, ENFORCING_STAFF, service, reference, **kwargs)


def by_prosecutor(nodes: TwoNodes, service: str, reference: str, **kwargs: Any) -> str:
    return step_take(nodes.a, PROSECUTOR, service, reference, **kwargs)


def provider_acknowledged(nodes: TwoNodes, reference: str, *, preserve: bool = False) -> None:
    """The provider acknowledges (and preserves) on B; A's copy follows each step."""
    steps = [("request_acknowledge", "acknowledged")]
    if preserve:
        steps.append(("request_preserve", "preserved"))
    for service, event in steps:
        step_followed(
            nodes.b,
            nodes.a,
            reference,
            lambda service=service: by_provider(nodes, f"executing:{service}", reference),
            event=event,
        )


def received_once(node: Node, reference: str) -> dict[str, Any]:
    """The node's only copy of ``reference``, made from one request message."""
    assert node.call("requests_count", reference=reference) == 1
    received_in = [m for m in node.call("inbox", reference=reference) if m["kind"] == "request"]
    assert len(received_in) == 1
    received = copy_on(node, reference)
    assert timeline_events(received).count("received") == 1
    return received


def sent_and_received(nodes: TwoNodes, reference: str) -> list[str]:
    """Send ``reference`` from A and wait until it (and any notification of the enforcing
    authority sent with it) arrived on B once; the notifications' references."""
    send_from_a(nodes, reference)
    notifications = [str(n) for n in nodes.a.call("notifications_sent", reference=reference)]
    for sent in (reference, *notifications):
        outbox_settled(nodes.a, sent)
        received_once(nodes.b, sent)
    return notifications


def next_message(node: Node, reference: str, *, count: int) -> dict[str, Any]:
    """The ``count``-th outbox message about ``reference`` once it exists and is delivered:
    one the node sent by itself, following a message it received."""
    messages = wait_for(
        lambda: (
            (found := node.call("outbox", reference=reference)) and len(found) >= count and found
        ),
        timeout=DELIVERY_TIMEOUT,
        what=f"message {count} about {reference} on {node.name}",
    )
    assert len(messages) == count
    return message_settled(node, messages[count - 1]["message_id"])


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


_DEADLINES = """
from mla.requests.models import Request

copy = Request.objects.get(reference=reference, direction=direction)
result = {
    deadline.code: {
        "state": deadline.state,
        "starts_at": deadline.starts_at,
        "due_at": deadline.due_at,
        "source": deadline.source,
    }
    for deadline in copy.deadlines.all()
}
"""


def deadlines_on(node: Node, reference: str) -> dict[str, dict[str, Any]]:
    """The deadlines of the node's copy of ``reference`` by code (state, start, due instant
    as datetimes, legal source)."""
    direction = "incoming" if node.name == "b" else "outgoing"
    found = node.run(_DEADLINES, reference=reference, direction=direction)
    for deadline in found.values():
        for key in ("starts_at", "due_at"):
            if deadline[key] is not None:
                deadline[key] = datetime.datetime.fromisoformat(deadline[key])
    return dict(found)


_ENFORCING_DECISION = """
from mla.requests.lifecycle.enforcing import enforcing_decision
from mla.requests.models import Request

decided = enforcing_decision(
    request=Request.objects.get(reference=reference, direction=direction)
)
result = None if decided is None else {
    "state": decided.state,
    "ground": decided.ground,
    "scope": decided.scope,
    "affected_categories": sorted(decided.affected_categories),
    "refused": decided.refused,
}
"""


def enforcing_decision_on(node: Node, reference: str) -> dict[str, Any] | None:
    """The enforcing authority's decision as the node's copy of an EPOC reads it for its
    production steps (mla.requests.lifecycle.enforcing.enforcing_decision)."""
    direction = "incoming" if node.name == "b" else "outgoing"
    decided = node.run(_ENFORCING_DECISION, reference=reference, direction=direction)
    return None if decided is None else dict(decided)


# Faults, as the EIO's two-node tests inject them ---------------------------------------------


def node_state(nodes: TwoNodes) -> tuple[int, int, int, int]:
    """Audit entries and inbox messages of A and B: what applying a message twice would
    change."""
    return (
        nodes.a.call("audit_entries_count"),
        nodes.b.call("audit_entries_count"),
        nodes.a.call("inbox_count"),
        nodes.b.call("inbox_count"),
    )


def delivered_again_changes_nothing(nodes: TwoNodes, *references: str) -> None:
    """Post every message each node sent about ``references`` again (as a retry whose
    receipt was lost would): the other node answers with the receipt it first gave, and
    applies nothing twice."""
    before = node_state(nodes)
    for sender, receiver in ((nodes.a, nodes.b), (nodes.b, nodes.a)):
        for reference in references:
            for message in sender.call("outbox", reference=reference):
                assert message["state"] == "delivered", message
                sealed = sender.call("outbox_sealed", message_id=message["message_id"])
                code, receipt = post(receiver.inbox_url, sealed)
                assert (code, receipt) == (200, message["receipt"]), message["event"]
    assert node_state(nodes) == before


def crash_mid_delivery(
    sender: Node, receiver: Node, step: Callable[[], object], *, reference: str
) -> dict[str, Any]:
    """Take ``step``, whose message about ``reference`` ``sender``'s worker posts whole to a
    paused ``receiver`` and is killed waiting for the answer (the receipt is lost, the task
    unacknowledged); the receiver applies it once resumed. A new worker requeues the stale
    message, which is answered with the receipt first given. The message, delivered."""
    before = len(sender.call("outbox", reference=reference))
    receiver.web.pause()
    try:
        step()
        message = wait_for(
            lambda: (found := sender.call("outbox", reference=reference)[before:]) and found[0],
            timeout=DELIVERY_TIMEOUT,
            what=f"the step's message on {sender.name}",
        )
        size = message["sealed_size"]
        wait_for(
            lambda: receiver.pending_bytes() >= size,
            timeout=DELIVERY_TIMEOUT,
            what=f"{sender.name}'s worker posting the whole message ({size} bytes)",
        )
        sender.worker.kill()
    finally:
        receiver.web.resume()
    [first] = wait_for(
        lambda: receiver.call("inbox", message_id=message["message_id"]),
        timeout=DELIVERY_TIMEOUT,
        what=f"{receiver.name} storing the message",
    )
    [orphaned] = sender.call("outbox", message_id=message["message_id"])
    assert (orphaned["state"], orphaned["receipt"]) == ("pending", None)
    applied = copy_on(receiver, reference)["timeline"]
    # A step may leave more than one message (a withdrawn EPOC's, its notification's): the
    # killed worker may have taken another before it, which also waits for the requeue.
    orphans = sender.call("outbox_states").get("pending", 0)

    sender.start_worker()
    assert 1 <= stale_requeued(sender) <= orphans

    delivered = message_settled(sender, message["message_id"])
    assert delivered["receipt"] == first["receipt"]
    assert len(receiver.call("inbox", message_id=message["message_id"])) == 1
    assert copy_on(receiver, reference)["timeline"] == applied
    return delivered


def attempts_refused(node: Node, message_id: str) -> dict[str, Any]:
    """The message once an attempt to deliver it failed (its recipient's web server down)."""

    def failed_once() -> dict[str, Any] | None:
        [seen] = node.call("outbox", message_id=message_id)
        return seen if seen["attempts"] >= 1 else None

    waiting = wait_for(failed_once, timeout=DELIVERY_TIMEOUT, what="an attempt refused")
    assert waiting["state"] == "pending"
    assert "Connection refused" in waiting["last_error"]
    return waiting
