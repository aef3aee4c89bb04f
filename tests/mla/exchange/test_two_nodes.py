"""The exchange between two nodes, each with its own processes, database, broker database and
keys (tests/support/nodes.py): real HTTP, real Celery workers, real gpg.

The nodes are started once for the module; each test uses requests of its own, and leaves
every process running as it found it (the ``_restored`` fixture sees to it even when a test
fails midway). Node A hosts the German issuing prosecutor, node B the French executing one.
"""

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings

from tests.support.nodes import (
    FRENCH,
    GERMAN,
    INTAKE,
    PROSECUTOR,
    Node,
    Postgres,
    TwoNodes,
    post,
    wait_for,
)
from tests.support.two_nodes import (
    DELIVERY_TIMEOUT,
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

PDF_ANNEX = b"%PDF-1.7\n" + bytes(range(256)) * 60 + b"\n%%EOF\n"
PNG_PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 20


@pytest.fixture(scope="module")
def nodes() -> Iterator[TwoNodes]:
    # Named after this run's test database, so that runs with their own do not collide.
    prefix = str(settings.DATABASES["default"]["TEST"]["NAME"])
    with TwoNodes.start(prefix=prefix, postgres=Postgres.from_django()) as pair:
        yield pair


@pytest.fixture(autouse=True)
def _exchange_homes() -> None:
    """Replaces the directory's single-node key homes: the nodes have their own, and this
    process neither signs nor opens anything."""


@pytest.fixture(autouse=True)
def _restored(nodes: TwoNodes) -> Iterator[None]:
    yield
    # Shown by pytest only for a failing test: what each process said last.
    print(nodes.logs())
    nodes.ensure_running()


def _eio(nodes: TwoNodes, *, attachments: bool = True) -> str:
    """A ready EIO of A's prosecutor to B's authority; its reference."""
    return str(
        nodes.a.call(
            "request_ready",
            username=PROSECUTOR,
            declaration_code="eio",
            executing=FRENCH,
            attachments=[["annex 1.pdf", PDF_ANNEX], ["photo.png", PNG_PHOTO]]
            if attachments
            else [],
            changes={"K": {"issuer_type": "prosecutor"}, "L": None},
        )
    )


def _received_once(nodes: TwoNodes, reference: str) -> dict[str, Any]:
    """B's only copy of the request, received from one message."""
    assert nodes.b.call("requests_count", reference=reference) == 1
    received_in = [m for m in nodes.b.call("inbox", reference=reference) if m["kind"] == "request"]
    assert len(received_in) == 1
    received = nodes.b.call("request_copy", reference=reference, direction="incoming")
    assert timeline_events(received).count("received") == 1
    return dict(received)


# Delivery ------------------------------------------------------------------------------------


def test_an_eio_sent_on_a_arrives_once_on_b_with_its_data_attachments_and_receipt(
    nodes: TwoNodes,
) -> None:
    reference = _eio(nodes)

    send_from_a(nodes, reference)

    message = outbox_settled(nodes.a, reference)
    sent = nodes.a.call("request_copy", reference=reference, direction="outgoing")
    received = _received_once(nodes, reference)
    assert received["state"] == "received"
    assert (received["issuing_authority"], received["executing_authority"]) == (GERMAN, FRENCH)
    assert received["data"] == sent["data"]
    assert received["data_digest"] == sent["data_digest"]
    # The request PDF is the message's own document; the supporting ones are stored on B.
    assert [
        (a["name"], a["media_type"], a["size"], a["sha256"]) for a in received["attachments"]
    ] == [(a["name"], a["media_type"], a["size"], a["sha256"]) for a in sent["attachments"]]
    assert {a["name"] for a in received["attachments"]} == {"annex 1.pdf", "photo.png"}
    assert all(a["stored_sha256"] == a["sha256"] for a in received["attachments"])
    # A's message: delivered at the first attempt, with B's receipt verified and stored.
    assert (message["kind"], message["recipient"], message["attempts"]) == ("request", FRENCH, 0)
    assert message["receipt"]
    receipt = nodes.a.call("receipt_verify", message_id=message["message_id"])
    assert receipt["receiver"] == FRENCH
    assert receipt["signer_fingerprint"] == nodes.fingerprints[FRENCH]
    [stored] = nodes.b.call("inbox", message_id=message["message_id"])
    assert (stored["receipt"], stored["manifest_sha256"]) == (
        message["receipt"],
        message["manifest_sha256"],
    )
    assert (stored["sender"], stored["request"]) == (GERMAN, reference)
    # Both timelines: sent then delivered (at B's time of receipt) on A, received on B.
    assert sent["state"] == "delivered"
    assert timeline_events(sent)[-2:] == ["sent", "delivered"]
    delivered = sent["timeline"][-1]
    assert delivered["payload"]["message_id"] == message["message_id"]
    assert delivered["payload"]["receipt_signer"] == nodes.fingerprints[FRENCH]
    assert datetime.fromisoformat(delivered["at"]) == datetime.fromisoformat(receipt["received_at"])
    arrival = received["timeline"][-1]
    assert arrival["event"] == "received"
    assert arrival["payload"]["message_id"] == message["message_id"]
    assert arrival["authority_name"] == "Staatsanwaltschaft Berlin"
    assert arrival["actor_name"] == "Jonas Becker"  # who sent it on A


# Faults -----------------------------------------------------------------------------------------


def test_a_send_while_the_broker_is_down_commits_and_the_requeue_delivers_it_once(
    nodes: TwoNodes,
) -> None:
    reference = _eio(nodes, attachments=False)

    nodes.redis.stop()
    try:
        send_from_a(nodes, reference)
        # Committed: the request is sent and its message waits in the outbox, unqueued.
        assert (
            nodes.a.call("request_copy", reference=reference, direction="outgoing")["state"]
            == "sent"
        )
        assert outbox_message(nodes.a, reference)["state"] == "pending"
    finally:
        nodes.redis.start()
    assert nodes.b.call("requests_count", reference=reference) == 0

    assert stale_requeued(nodes.a) == 1

    message = outbox_settled(nodes.a, reference)
    assert message["attempts"] == 0
    _received_once(nodes, reference)
    assert (
        nodes.a.call("request_copy", reference=reference, direction="outgoing")["state"]
        == "delivered"
    )


def _attempts_seen(node: Node, reference: str, *, at_least: int) -> list[dict[str, Any]]:
    """The message as it was after each failed attempt, up to ``at_least`` of them."""
    seen: dict[int, dict[str, Any]] = {}

    def probe() -> bool:
        message = outbox_message(node, reference)
        seen.setdefault(message["attempts"], message)
        return message["attempts"] >= at_least

    wait_for(probe, timeout=DELIVERY_TIMEOUT, interval=0.05, what=f"{at_least} attempts")
    return [seen[number] for number in sorted(seen) if number > 0]


def test_attempts_to_a_node_whose_web_server_is_down_are_retried_with_backoff(
    nodes: TwoNodes,
) -> None:
    reference = _eio(nodes, attachments=False)

    nodes.b.stop_web()
    try:
        send_from_a(nodes, reference)
        first, second = _attempts_seen(nodes.a, reference, at_least=2)[:2]
    finally:
        nodes.b.start_web()

    for failed in (first, second):
        assert failed["state"] == "pending"
        assert "Connection refused" in failed["last_error"]
    # Backoff (base 1 s, cap 2 s, jitter down to half): 0.5-1 s after the first failure,
    # 1-2 s after the second.
    created = datetime.fromisoformat(first["created_at"])
    first_wait = datetime.fromisoformat(first["next_attempt_at"]) - created
    second_wait = datetime.fromisoformat(second["next_attempt_at"]) - datetime.fromisoformat(
        first["next_attempt_at"]
    )
    # (A little under the bounds: the retry's timer may fire a few milliseconds early.)
    assert first_wait.total_seconds() >= 0.45
    assert second_wait.total_seconds() >= 0.9
    message = outbox_settled(nodes.a, reference)
    assert message["attempts"] >= 2
    assert message["last_error"] == ""
    _received_once(nodes, reference)


def test_a_message_fails_after_the_last_attempt_with_the_reason_and_a_retry_delivers_it(
    nodes: TwoNodes,
) -> None:
    nodes.a.restart_worker(EXCHANGE_MAX_ATTEMPTS="3")
    reference = _eio(nodes, attachments=False)

    nodes.b.stop_web()
    try:
        send_from_a(nodes, reference)
        failed = outbox_settled(nodes.a, reference, state="failed")
    finally:
        nodes.b.start_web()

    assert failed["attempts"] == 3
    assert failed["next_attempt_at"] is None
    assert "Not delivered" in failed["last_error"]
    assert "Connection refused" in failed["last_error"]
    assert nodes.b.call("requests_count", reference=reference) == 0
    assert (
        nodes.a.call("request_copy", reference=reference, direction="outgoing")["state"] == "sent"
    )

    assert (
        nodes.a.call("outbox_retry", message_id=failed["message_id"], username=PROSECUTOR)
        == "pending"
    )

    assert outbox_settled(nodes.a, reference)["receipt"]
    _received_once(nodes, reference)


def test_a_worker_killed_mid_delivery_is_delivered_once_with_the_receipt_first_made(
    nodes: TwoNodes,
) -> None:
    reference = _eio(nodes, attachments=False)

    nodes.b.web.pause()
    try:
        send_from_a(nodes, reference)
        size = outbox_message(nodes.a, reference)["sealed_size"]
        # A's worker has posted the whole message and waits for the answer of paused B.
        wait_for(
            lambda: nodes.b.pending_bytes() >= size,
            timeout=DELIVERY_TIMEOUT,
            what=f"A's worker posting the whole message ({size} bytes) to B",
        )
        nodes.a.worker.kill()
    finally:
        nodes.b.web.resume()
    # B reads the message once resumed, stores it and answers a worker that is gone.
    [first] = wait_for(
        lambda: nodes.b.call("inbox", reference=reference),
        timeout=DELIVERY_TIMEOUT,
        what="B storing the message",
    )
    orphaned = outbox_message(nodes.a, reference)
    assert (orphaned["state"], orphaned["attempts"], orphaned["receipt"]) == ("pending", 0, None)

    nodes.a.start_worker()
    assert stale_requeued(nodes.a) == 1

    message = outbox_settled(nodes.a, reference)
    assert message["receipt"] == first["receipt"]
    _received_once(nodes, reference)
    assert (
        nodes.a.call("request_copy", reference=reference, direction="outgoing")["state"]
        == "delivered"
    )


# Refusals over HTTP -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "status", "reasons"),
    [
        # One bit flipped: gpg's integrity check fails, or what decrypts is no archive.
        ("tampered", 400, {"undecryptable", "malformed"}),
        ("wrong_signer", 422, {"wrong_signer"}),
        ("unsigned", 422, {"missing_signature"}),
        ("not_for_recipient", 400, {"undecryptable"}),
    ],
)
def test_a_forged_or_tampered_message_is_refused_by_b_with_the_reason(
    nodes: TwoNodes, how: str, status: int, reasons: set[str]
) -> None:
    stored_before = nodes.b.call("inbox_count")
    sealed = nodes.a.call("message_forge", sender=GERMAN, recipient=FRENCH, how=how)

    code, body = post(nodes.b.inbox_url, sealed)

    refusal = json.loads(body)
    assert (code, refusal["refused"] in reasons) == (status, True), refusal
    assert refusal["message"]
    assert nodes.b.call("inbox_count") == stored_before
    assert not nodes.b.call("requests_count_like", prefix="DE-FORGED-"), (
        "a refused message created a request"
    )


# The lifecycle: each step travels as a status message ------------------------------------------


def _ready(nodes: TwoNodes, declaration_code: str) -> str:
    return str(
        nodes.a.call(
            "request_ready",
            username=PROSECUTOR,
            declaration_code=declaration_code,
            executing=FRENCH,
            attachments=[["annex 1.pdf", PDF_ANNEX]],
        )
    )


def _on_b(nodes: TwoNodes, service: str, reference: str, **kwargs: Any) -> str:
    return step_take(nodes.b, INTAKE, f"executing:{service}", reference, **kwargs)


def _on_a(nodes: TwoNodes, service: str, reference: str, **kwargs: Any) -> str:
    return step_take(nodes.a, PROSECUTOR, f"issuing:{service}", reference, **kwargs)


def test_an_eio_is_acknowledged_with_annex_b_recognised_and_executed_across_the_nodes(
    nodes: TwoNodes,
) -> None:
    reference = _ready(nodes, "eio")
    send_from_a(nodes, reference)
    outbox_settled(nodes.a, reference)

    acknowledged = step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: _on_b(nodes, "request_acknowledge", reference),
        event="acknowledged",
    )
    recognised = step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: _on_b(nodes, "request_recognise", reference),
        event="recognised",
    )
    executed = step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: _on_b(nodes, "request_execute", reference, note="Bank records seized."),
        event="executed",
    )

    assert [c["state"] for c in (acknowledged, recognised, executed)] == [
        "acknowledged",
        "recognised",
        "executed",
    ]
    # Recorded on A on behalf of B's contact point, at the time it acted there.
    step = executed["timeline"][-1]
    assert (step["actor_name"], step["authority_name"]) == ("Camille Roux", "Parquet de Paris")
    assert step["note"] == "Bank records seized."
    received = nodes.b.call("request_copy", reference=reference, direction="incoming")
    assert received["state"] == "executed"
    [taken] = [entry for entry in received["timeline"] if entry["event"] == "executed"]
    assert datetime.fromisoformat(step["at"]) == datetime.fromisoformat(taken["at"])
    # The Annex B B made travelled back in the acknowledgement, and A can show it.
    annex_b = nodes.a.call("annex_b_received", reference=reference)
    assert annex_b.startswith(b"%PDF-")
    # B's messages left in the order of the steps, each after the one before was delivered.
    sent_back = nodes.b.call("outbox", reference=reference)
    assert [m["state"] for m in sent_back] == ["delivered"] * 3
    assert [m["delivered_at"] for m in sent_back] == sorted(m["delivered_at"] for m in sent_back)


def test_a_preservation_is_followed_up_by_an_mla_request_and_released_across_the_nodes(
    nodes: TwoNodes,
) -> None:
    preservation = _ready(nodes, "preservation")
    send_from_a(nodes, preservation)
    outbox_settled(nodes.a, preservation)
    step_followed(
        nodes.b,
        nodes.a,
        preservation,
        lambda: _on_b(nodes, "request_acknowledge", preservation),
        event="acknowledged",
    )
    preserved = step_followed(
        nodes.b,
        nodes.a,
        preservation,
        lambda: _on_b(nodes, "request_preserve", preservation),
        event="preserved",
    )
    assert preserved["state"] == "preserved"

    follow_up = _ready(nodes, "mla")
    send_from_a(nodes, follow_up)
    outbox_settled(nodes.a, follow_up)
    assert _received_once(nodes, follow_up)["state"] == "received"
    # A names the MLA request as the follow-up: B's preserving copy keeps it preserved.
    preserving = step_followed(
        nodes.a,
        nodes.b,
        preservation,
        lambda: _on_a(
            nodes,
            "request_follow_up",
            preservation,
            requests={"follow_up": [follow_up, "outgoing"]},
        ),
        event="followed_up",
    )
    assert preserving["state"] == "followed_up"
    assert preserving["timeline"][-1]["payload"] == {"request": follow_up}

    step_followed(
        nodes.b,
        nodes.a,
        follow_up,
        lambda: _on_b(nodes, "request_acknowledge", follow_up),
        event="acknowledged",
    )
    decided = step_followed(
        nodes.b,
        nodes.a,
        follow_up,
        lambda: _on_b(nodes, "request_recognise", follow_up),
        event="recognised",
    )
    assert decided["state"] == "recognised"

    # The MLA request decided, the preservation has served its purpose: A records it when
    # the recognition arrives, and tells B in a message of its own.
    release = nodes.a.call("outbox", reference=preservation)[-1]
    message_settled(nodes.a, release["message_id"])
    [told] = nodes.b.call("inbox", message_id=release["message_id"])
    assert told["manifest"]["data"]["event"] == "follow_up_decided"
    issuing = nodes.a.call("request_copy", reference=preservation, direction="outgoing")
    preserving = nodes.b.call("request_copy", reference=preservation, direction="incoming")
    for copy in (issuing, preserving):
        assert timeline_events(copy).count("follow_up_decided") == 1
        assert copy["state"] == "followed_up"
    ended = step_followed(
        nodes.b,
        nodes.a,
        preservation,
        lambda: _on_b(
            nodes, "request_end_preservation", preservation, note="The follow-up was decided."
        ),
        event="expired",
    )
    assert ended["state"] == "expired"
    executed = step_followed(
        nodes.b,
        nodes.a,
        follow_up,
        lambda: _on_b(nodes, "request_execute", follow_up),
        event="executed",
    )
    assert executed["state"] == "executed"


# The audit's anchor -----------------------------------------------------------------------------


def test_a_checkpoint_reaches_b_which_gives_it_back_for_a_to_check_its_trail(
    nodes: TwoNodes,
) -> None:
    reference = _eio(nodes)
    send_from_a(nodes, reference)
    outbox_settled(nodes.a, reference)

    made = nodes.a.call("audit_checkpoint")

    assert made["created"]
    assert made["partners"] == [FRENCH]
    [message_id] = made["messages"]
    wait_for(
        lambda: nodes.a.call("outbox", message_id=message_id)[0]["state"] == "delivered",
        timeout=DELIVERY_TIMEOUT,
        what="the checkpoint delivered to B",
    )
    kept = nodes.b.call("checkpoints_received", sender=GERMAN)
    assert made["position"] in [checkpoint["position"] for checkpoint in kept]
    exported = nodes.b.call("checkpoints_export", sender=GERMAN)
    checked = nodes.a.call("audit_verify_anchored", files=[exported])
    assert checked["breaks"] == []
    assert ["file copies-0.json", made["position"]] in checked["anchors"]
