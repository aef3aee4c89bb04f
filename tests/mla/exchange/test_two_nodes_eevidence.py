"""e-Evidence (Regulation (EU) 2023/1543) between two nodes, each with its own processes,
database, broker database and keys (tests/support/nodes.py): real HTTP, real Celery workers,
real gpg.

Node A hosts the German issuing prosecutor; node B the designated establishment of a service
provider in France (the addressee, worked by provider staff) and the French enforcing
authority (central-authority staff), both countries bound by the Regulation. The nodes are
started once for the module; each test uses certificates of its own.
"""

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from tests.support.nodes import (
    ENFORCING,
    ENFORCING_STAFF,
    GERMAN,
    PROSECUTOR,
    PROVIDER,
    PROVIDER_STAFF,
    Node,
    Postgres,
    TwoNodes,
    post,
    wait_for,
)
from tests.support.two_nodes import (
    message_settled,
    outbox_message,
    outbox_settled,
    send_from_a,
    stale_requeued,
    step_followed,
    step_take,
    timeline_events,
)

pytestmark = pytest.mark.two_nodes

DELIVERY_TIMEOUT = 30
PRODUCED = [
    ["traffic.csv", b"session,start,end,ip\n1,2026-11-02T10:00Z,2026-11-02T10:42Z,192.0.2.7\n"],
    ["traffic.json", b'{"sessions": [{"id": 1, "bytes": 81920}]}' + bytes(range(256)) * 8],
]


@pytest.fixture(scope="module")
def nodes() -> Iterator[TwoNodes]:
    prefix = f"{settings.DATABASES['default']['TEST']['NAME']}_eev"
    with TwoNodes.start(prefix=prefix, postgres=Postgres.from_django(), eevidence=True) as pair:
        yield pair


@pytest.fixture(autouse=True)
def _exchange_homes() -> None:
    """Replaces the directory's single-node key homes: the nodes have their own."""


@pytest.fixture(autouse=True)
def _restored(nodes: TwoNodes) -> Iterator[None]:
    yield
    print(nodes.logs())
    nodes.ensure_running()


def _certificate(nodes: TwoNodes, code: str, categories: list[str]) -> str:
    return str(
        nodes.a.call(
            "certificate_ready",
            username=PROSECUTOR,
            declaration_code=code,
            executing=PROVIDER,
            categories=categories,
        )
    )


def _copy(node: Node, reference: str) -> dict[str, Any]:
    direction = "incoming" if node.name == "b" else "outgoing"
    return dict(node.call("request_copy", reference=reference, direction=direction))


def _by_provider(nodes: TwoNodes, service: str, reference: str, **kwargs: Any) -> str:
    return step_take(nodes.b, PROVIDER_STAFF, service, reference, **kwargs)


def _received_once(node: Node, reference: str) -> dict[str, Any]:
    """The node's only copy of ``reference``, made from one request message."""
    assert node.call("requests_count", reference=reference) == 1
    received_in = [m for m in node.call("inbox", reference=reference) if m["kind"] == "request"]
    assert len(received_in) == 1
    received = _copy(node, reference)
    assert timeline_events(received).count("received") == 1
    return received


def _next_message(node: Node, reference: str, *, count: int) -> dict[str, Any]:
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


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# An EPOC for traffic data: the provider, the enforcing authority, the produced data ----------


def test_an_epoc_for_traffic_data_reaches_the_provider_and_the_enforcing_authority_whose_no_ground_lets_the_data_be_produced_to_a(  # noqa: E501
    nodes: TwoNodes,
) -> None:
    reference = _certificate(nodes, "epoc", ["traffic"])

    send_from_a(nodes, reference)

    [notification] = nodes.a.call("notifications_sent", reference=reference)
    assert notification != reference
    assert outbox_settled(nodes.a, reference)["recipient"] == PROVIDER
    assert outbox_settled(nodes.a, notification)["recipient"] == ENFORCING
    sent = _copy(nodes.a, reference)
    assert sent["state"] == "delivered"
    assert "M" in sent["data"]
    # The provider's copy: once, without section M (for the enforcing authority only).
    provided = _received_once(nodes.b, reference)
    assert (provided["issuing_authority"], provided["executing_authority"]) == (GERMAN, PROVIDER)
    assert provided["state"] == "received"
    assert "M" not in provided["data"]
    assert provided["data"] == {k: v for k, v in sent["data"].items() if k != "M"}
    # The enforcing authority's copy of the notification: once, with section M.
    enforcing = _received_once(nodes.b, notification)
    assert enforcing["executing_authority"] == ENFORCING
    assert enforcing["data"]["M"] == sent["data"]["M"]
    assert nodes.a.call("requests_count", reference=notification) == 1

    # The enforcing authority raises no ground: A's notification and EPOC record it.
    step_followed(
        nodes.b,
        nodes.a,
        notification,
        lambda: step_take(nodes.b, ENFORCING_STAFF, "executing:request_acknowledge", notification),
        event="acknowledged",
    )
    decided = step_followed(
        nodes.b,
        nodes.a,
        notification,
        lambda: step_take(
            nodes.b,
            ENFORCING_STAFF,
            "enforcing:enforcing_no_grounds",
            notification,
            note="No ground for refusal.",
        ),
        event="no_grounds",
    )
    assert decided["state"] == "no_grounds"
    assert decided["timeline"][-1]["note"] == "No ground for refusal."
    assert _copy(nodes.b, notification)["state"] == "no_grounds"
    epoc = _copy(nodes.a, reference)
    assert timeline_events(epoc).count("no_grounds") == 1
    assert epoc["state"] == "delivered"  # the EPOC goes on
    # A tells the provider's copy, which may then produce at once (Art. 10(2)).
    told = _next_message(nodes.a, reference, count=2)
    assert told["recipient"] == PROVIDER
    provided = _copy(nodes.b, reference)
    assert timeline_events(provided).count("no_grounds") == 1
    assert provided["timeline"][-1]["note"] == ""  # the reasons stay with the issuer

    # The provider acknowledges, preserves and produces two files.
    for service, event in (
        ("request_acknowledge", "acknowledged"),
        ("request_preserve", "preserved"),
    ):
        followed = step_followed(
            nodes.b,
            nodes.a,
            reference,
            lambda service=service: _by_provider(nodes, f"executing:{service}", reference),
            event=event,
        )
        assert followed["state"] == event
    executed = step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: str(
            nodes.b.call(
                "certificate_produce", reference=reference, username=PROVIDER_STAFF, files=PRODUCED
            )
        ),
        event="executed",
    )

    assert executed["state"] == "executed"
    expected = [
        {"name": name, "sha256": _sha256(content), "size": len(content)}
        for name, content in PRODUCED
    ]
    step = executed["timeline"][-1]
    assert step["payload"]["files"] == expected
    assert (step["actor_name"], step["authority_name"]) == (
        "Léa Martin",
        "Exemple Mail SAS (designated establishment)",
    )
    provided = _copy(nodes.b, reference)
    assert provided["state"] == "executed"
    assert {(a["name"], a["sha256"]) for a in provided["attachments"]} == {
        (item["name"], item["sha256"]) for item in expected
    }
    # On A the files travelled as the production step's documents: the EPOC's copy keeps
    # them as its attachments (as when both sides are on one node), each with the same
    # SHA-256 as produced, and the remote channel reads each back from the verified message.
    assert [
        (a["name"], a["media_type"], a["size"], a["sha256"], a["stored_sha256"])
        for a in executed["attachments"]
    ] == [
        (item["name"], "application/octet-stream", item["size"], item["sha256"], item["sha256"])
        for item in expected
    ]
    for name, content in PRODUCED:
        received = nodes.a.call(
            "step_document", reference=reference, direction="outgoing", name=name
        )
        assert received is not None, f"{name} did not reach A"
        assert _sha256(received) == _sha256(content)
    production = nodes.b.call("outbox", reference=reference)[-1]
    [arrived] = nodes.a.call("inbox", message_id=production["message_id"])
    assert sorted(d["name"] for d in arrived["manifest"]["documents"]) == sorted(
        name for name, _content in PRODUCED
    )

    # Each status message delivered again (as a retry whose receipt was lost would): the
    # stored receipt answers it, and nothing is applied twice.
    audit_a, audit_b = nodes.a.call("audit_entries_count"), nodes.b.call("audit_entries_count")
    inbox_a, inbox_b = nodes.a.call("inbox_count"), nodes.b.call("inbox_count")
    again = [
        (nodes.b, nodes.a, message)
        for message in nodes.b.call("outbox", reference=reference)
        + nodes.b.call("outbox", reference=notification)
    ] + [(nodes.a, nodes.b, told)]
    assert len(again) == 6  # acknowledged, preserved, executed; acknowledged, no_grounds; told
    for sender, receiver, message in again:
        sealed = sender.call("outbox_sealed", message_id=message["message_id"])
        code, receipt = post(receiver.inbox_url, sealed)
        assert (code, receipt) == (200, message["receipt"])
    assert (nodes.a.call("audit_entries_count"), nodes.b.call("audit_entries_count")) == (
        audit_a,
        audit_b,
    )
    assert (nodes.a.call("inbox_count"), nodes.b.call("inbox_count")) == (inbox_a, inbox_b)
    epoc = _copy(nodes.a, reference)
    for event in ("no_grounds", "acknowledged", "preserved", "executed"):
        assert timeline_events(epoc).count(event) == 1, event
    assert len(epoc["attachments"]) == len(PRODUCED)
    assert timeline_events(_copy(nodes.b, reference)).count("no_grounds") == 1


# Faults ------------------------------------------------------------------------------------


def test_a_providers_step_whose_receipt_was_lost_is_requeued_and_applied_once_on_a(
    nodes: TwoNodes,
) -> None:
    # Subscriber data only: no notification (Art. 8(1)), one request message.
    reference = _certificate(nodes, "epoc", ["subscriber"])
    send_from_a(nodes, reference)
    outbox_settled(nodes.a, reference)
    _received_once(nodes.b, reference)

    nodes.a.web.pause()
    try:
        _by_provider(nodes, "executing:request_acknowledge", reference)
        size = outbox_message(nodes.b, reference)["sealed_size"]
        wait_for(
            lambda: nodes.a.pending_bytes() >= size,
            timeout=DELIVERY_TIMEOUT,
            what=f"B's worker posting the whole message ({size} bytes) to A",
        )
        nodes.b.worker.kill()
    finally:
        nodes.a.web.resume()
    # A applies the step once resumed and answers a worker that is gone.
    [first] = wait_for(
        lambda: [m for m in nodes.a.call("inbox", reference=reference) if m["kind"] == "status"],
        timeout=DELIVERY_TIMEOUT,
        what="A storing the status message",
    )
    orphaned = outbox_message(nodes.b, reference)
    assert (orphaned["state"], orphaned["receipt"]) == ("pending", None)
    audit_a = nodes.a.call("audit_entries_count")

    nodes.b.start_worker()
    assert stale_requeued(nodes.b) == 1

    message = outbox_settled(nodes.b, reference)
    assert message["receipt"] == first["receipt"]
    assert nodes.a.call("audit_entries_count") == audit_a
    issuing = _copy(nodes.a, reference)
    assert issuing["state"] == "acknowledged"
    assert timeline_events(issuing).count("acknowledged") == 1


# An EPOC-PR: preserved on B, extended by Annex VI on A --------------------------------------


def test_an_epoc_pr_preserved_on_b_is_extended_on_a_while_bs_web_server_is_down_and_b_follows(
    nodes: TwoNodes,
) -> None:
    reference = _certificate(nodes, "epoc_pr", ["subscriber", "traffic"])
    send_from_a(nodes, reference)
    outbox_settled(nodes.a, reference)
    # No enforcing authority is notified of a preservation order.
    assert nodes.a.call("notifications_sent", reference=reference) == []
    assert _received_once(nodes.b, reference)["state"] == "received"
    step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: _by_provider(nodes, "executing:request_acknowledge", reference),
        event="acknowledged",
    )
    preserved = step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: _by_provider(nodes, "executing:request_preserve", reference),
        event="preserved",
    )
    assert preserved["state"] == "preserved"

    nodes.b.stop_web()
    try:
        state = step_take(
            nodes.a,
            PROSECUTOR,
            "certificates:certificate_extend_preservation",
            reference,
            reason="The production order is being prepared.",
        )
        assert state == "extended"
        extension = nodes.a.call("outbox", reference=reference)[-1]
        assert extension["kind"] == "status"

        def failed_once() -> bool:
            [seen] = nodes.a.call("outbox", message_id=extension["message_id"])
            return seen["attempts"] >= 1

        wait_for(failed_once, timeout=DELIVERY_TIMEOUT, what="an attempt refused by B")
        [waiting] = nodes.a.call("outbox", message_id=extension["message_id"])
        assert waiting["state"] == "pending"
        assert "Connection refused" in waiting["last_error"]
        assert timeline_events(_copy(nodes.b, reference)).count("preservation_extended") == 0
    finally:
        nodes.b.start_web()

    message_settled(nodes.a, extension["message_id"])
    [applied] = nodes.b.call("inbox", message_id=extension["message_id"])
    assert applied["manifest"]["data"]["event"] == "preservation_extended"
    preserving = _copy(nodes.b, reference)
    assert preserving["state"] == "extended"
    assert timeline_events(preserving).count("preservation_extended") == 1
    step = preserving["timeline"][-1]
    assert step["payload"] == {
        "days": 30,
        "reason": "The production order is being prepared.",
        "annex": "VI",
    }
    assert (step["actor_name"], step["authority_name"]) == (
        "Jonas Becker",
        "Staatsanwaltschaft Berlin",
    )
    assert _copy(nodes.a, reference)["state"] == "extended"


# A data set larger than one message: parts first, the production step with the last -------


def test_a_data_set_over_the_part_limit_arrives_in_parts_and_is_received_with_the_last(
    nodes: TwoNodes,
) -> None:
    reference = _certificate(nodes, "epoc", ["subscriber"])
    send_from_a(nodes, reference)
    outbox_settled(nodes.a, reference)
    _received_once(nodes.b, reference)
    _by_provider(nodes, "executing:request_acknowledge", reference)
    _by_provider(nodes, "executing:request_preserve", reference)
    # Three files of 600 KB under a part limit of 1 MB: two parts ahead of the step.
    large = [[f"mailbox-{n}.mbox", bytes([n]) * 600_000] for n in range(3)]
    before = len(nodes.b.call("outbox", reference=reference))

    nodes.b.call("certificate_produce", reference=reference, username=PROVIDER_STAFF, files=large)

    sent = nodes.b.call("outbox", reference=reference)[before:]
    assert [m["event"] for m in sent] == ["data_part_received", "data_part_received", "executed"]
    for message in sent:
        message_settled(nodes.b, message["message_id"])
    issuing = _copy(nodes.a, reference)
    assert issuing["state"] == "executed"
    events = timeline_events(issuing)
    assert events[-3:] == ["data_part_received", "data_part_received", "executed"]
    parts = [e["payload"] for e in issuing["timeline"] if e["event"] == "data_part_received"]
    assert [(p["part"], p["of"]) for p in parts] == [(1, 3), (2, 3)]
    assert {(a["name"], a["sha256"]) for a in issuing["attachments"]} == {
        (name, _sha256(content)) for name, content in large
    }
