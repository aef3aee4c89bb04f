"""e-Evidence (Regulation (EU) 2023/1543) between two nodes, each with its own processes,
database, broker database and keys (tests/support/nodes.py): real HTTP, real Celery workers,
real gpg.

Node A hosts the German issuing prosecutor; node B the designated establishment of a service
provider in France (the addressee, worked by provider staff) and the French enforcing
authority (central-authority staff), both countries bound by the Regulation. The nodes are
started once for the module; each test uses certificates of its own.

Here: a certificate's way to the data produced and the issuing authority's signed receipt of
them. How a certificate ends otherwise (the enforcing authority's grounds, Annex III and its
answer) is in test_two_nodes_eevidence_outcomes.py.
"""

from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.support.nodes import (
    ENFORCING,
    ENFORCING_STAFF,
    GERMAN,
    PROSECUTOR,
    PROVIDER,
    PROVIDER_STAFF,
    ConsoleError,
    Postgres,
    TwoNodes,
    post,
    wait_for,
)
from tests.support.two_nodes import (
    DELIVERY_TIMEOUT,
    attempts_refused,
    by_prosecutor,
    by_provider,
    certificate_ready,
    copy_on,
    delivered_again_changes_nothing,
    message_settled,
    next_message,
    outbox_message,
    outbox_settled,
    provider_acknowledged,
    received_once,
    send_from_a,
    sent_and_received,
    sha256,
    stale_requeued,
    step_followed,
    step_take,
    timeline_events,
)

pytestmark = pytest.mark.two_nodes

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


# An EPOC for traffic data: the provider, the enforcing authority, the produced data ----------


def test_an_epoc_for_traffic_data_reaches_the_provider_and_the_enforcing_authority_whose_no_ground_lets_the_data_be_produced_to_a(  # noqa: E501
    nodes: TwoNodes,
) -> None:
    reference = certificate_ready(nodes, "epoc", ["traffic"])

    send_from_a(nodes, reference)

    [notification] = nodes.a.call("notifications_sent", reference=reference)
    assert notification != reference
    assert outbox_settled(nodes.a, reference)["recipient"] == PROVIDER
    assert outbox_settled(nodes.a, notification)["recipient"] == ENFORCING
    sent = copy_on(nodes.a, reference)
    assert sent["state"] == "delivered"
    assert "M" in sent["data"]
    # The provider's copy: once, without section M (for the enforcing authority only).
    provided = received_once(nodes.b, reference)
    assert (provided["issuing_authority"], provided["executing_authority"]) == (GERMAN, PROVIDER)
    assert provided["state"] == "received"
    assert "M" not in provided["data"]
    assert provided["data"] == {k: v for k, v in sent["data"].items() if k != "M"}
    # The enforcing authority's copy of the notification: once, with section M.
    enforcing = received_once(nodes.b, notification)
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
    assert copy_on(nodes.b, notification)["state"] == "no_grounds"
    epoc = copy_on(nodes.a, reference)
    assert timeline_events(epoc).count("no_grounds") == 1
    assert epoc["state"] == "delivered"  # the EPOC goes on
    # A tells the provider's copy, which may then produce at once (Art. 10(2)).
    told = next_message(nodes.a, reference, count=2)
    assert told["recipient"] == PROVIDER
    provided = copy_on(nodes.b, reference)
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
            lambda service=service: by_provider(nodes, f"executing:{service}", reference),
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
        {"name": name, "sha256": sha256(content), "size": len(content)}
        for name, content in PRODUCED
    ]
    step = executed["timeline"][-1]
    assert step["payload"]["files"] == expected
    assert (step["actor_name"], step["authority_name"]) == (
        "Léa Martin",
        "Exemple Mail SAS (designated establishment)",
    )
    provided = copy_on(nodes.b, reference)
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
        assert sha256(received) == sha256(content)
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
    epoc = copy_on(nodes.a, reference)
    for event in ("no_grounds", "acknowledged", "preserved", "executed"):
        assert timeline_events(epoc).count(event) == 1, event
    assert len(epoc["attachments"]) == len(PRODUCED)
    assert timeline_events(copy_on(nodes.b, reference)).count("no_grounds") == 1

    # A confirms it received the data: its signed receipt, naming each file's digest, is
    # written once on A and kept on the provider's copy, which stays executed.
    kept = step_followed(
        nodes.a,
        nodes.b,
        reference,
        lambda: step_take(
            nodes.a, PROSECUTOR, "certificates:certificate_confirm_receipt", reference
        ),
        event="data_receipt_signed",
    )
    assert kept["state"] == "executed"
    [signed] = [
        e
        for e in copy_on(nodes.a, reference)["timeline"]
        if e["event"] == kept["timeline"][-1]["event"]
    ]
    assert kept["timeline"][-1]["payload"] == signed["payload"]
    assert signed["payload"]["files"] == [
        {"name": item["name"], "sha256": item["sha256"]} for item in expected
    ]


# Faults ------------------------------------------------------------------------------------


def test_a_providers_step_whose_receipt_was_lost_is_requeued_and_applied_once_on_a(
    nodes: TwoNodes,
) -> None:
    # Subscriber data only: no notification (Art. 8(1)), one request message.
    reference = certificate_ready(nodes, "epoc", ["subscriber"])
    send_from_a(nodes, reference)
    outbox_settled(nodes.a, reference)
    received_once(nodes.b, reference)

    nodes.a.web.pause()
    try:
        by_provider(nodes, "executing:request_acknowledge", reference)
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
    issuing = copy_on(nodes.a, reference)
    assert issuing["state"] == "acknowledged"
    assert timeline_events(issuing).count("acknowledged") == 1


# An EPOC-PR: preserved on B, extended by Annex VI on A --------------------------------------


def test_an_epoc_pr_preserved_on_b_is_extended_on_a_while_bs_web_server_is_down_and_b_follows(
    nodes: TwoNodes,
) -> None:
    reference = certificate_ready(nodes, "epoc_pr", ["subscriber", "traffic"])
    send_from_a(nodes, reference)
    outbox_settled(nodes.a, reference)
    # No enforcing authority is notified of a preservation order.
    assert nodes.a.call("notifications_sent", reference=reference) == []
    assert received_once(nodes.b, reference)["state"] == "received"
    step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: by_provider(nodes, "executing:request_acknowledge", reference),
        event="acknowledged",
    )
    preserved = step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: by_provider(nodes, "executing:request_preserve", reference),
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
        assert timeline_events(copy_on(nodes.b, reference)).count("preservation_extended") == 0
    finally:
        nodes.b.start_web()

    message_settled(nodes.a, extension["message_id"])
    [applied] = nodes.b.call("inbox", message_id=extension["message_id"])
    assert applied["manifest"]["data"]["event"] == "preservation_extended"
    preserving = copy_on(nodes.b, reference)
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
    assert copy_on(nodes.a, reference)["state"] == "extended"


# A data set larger than one message: parts first, the production step with the last -------


def test_a_data_set_over_the_part_limit_arrives_in_parts_and_is_received_with_the_last(
    nodes: TwoNodes,
) -> None:
    reference = certificate_ready(nodes, "epoc", ["subscriber"])
    send_from_a(nodes, reference)
    outbox_settled(nodes.a, reference)
    received_once(nodes.b, reference)
    by_provider(nodes, "executing:request_acknowledge", reference)
    by_provider(nodes, "executing:request_preserve", reference)
    # Three files of 600 KB under a part limit of 1 MB: two parts ahead of the step.
    large = [[f"mailbox-{n}.mbox", bytes([n]) * 600_000] for n in range(3)]
    before = len(nodes.b.call("outbox", reference=reference))

    nodes.b.call("certificate_produce", reference=reference, username=PROVIDER_STAFF, files=large)

    sent = nodes.b.call("outbox", reference=reference)[before:]
    assert [m["event"] for m in sent] == ["data_part_received", "data_part_received", "executed"]
    for message in sent:
        message_settled(nodes.b, message["message_id"])
    issuing = copy_on(nodes.a, reference)
    assert issuing["state"] == "executed"
    events = timeline_events(issuing)
    assert events[-3:] == ["data_part_received", "data_part_received", "executed"]
    parts = [e["payload"] for e in issuing["timeline"] if e["event"] == "data_part_received"]
    assert [(p["part"], p["of"]) for p in parts] == [(1, 3), (2, 3)]
    assert {(a["name"], a["sha256"]) for a in issuing["attachments"]} == {
        (name, sha256(content)) for name, content in large
    }


# The receipt of the data produced --------------------------------------------------------------


def test_data_in_parts_arriving_out_of_order_are_received_once_and_their_signed_receipt_reaches_the_provider(  # noqa: E501
    nodes: TwoNodes,
) -> None:
    reference = certificate_ready(nodes, "epoc", ["subscriber"])
    sent_and_received(nodes, reference)
    provider_acknowledged(nodes, reference, preserve=True)
    large = [[f"mailbox-{n}.mbox", bytes([n + 1]) * 600_000] for n in range(3)]
    before = len(nodes.b.call("outbox", reference=reference))

    # B's worker is stopped: the parts and the step wait in its outbox, and arrive at A out
    # of order, by hand: the step ahead of its parts is refused, the second part is taken.
    nodes.b.worker.pause()
    try:
        nodes.b.call(
            "certificate_produce", reference=reference, username=PROVIDER_STAFF, files=large
        )
        first, second, step = nodes.b.call("outbox", reference=reference)[before:]
        assert [m["event"] for m in (first, second, step)] == [
            "data_part_received",
            "data_part_received",
            "executed",
        ]
        audit_a = nodes.a.call("audit_entries_count")
        code, body = post(
            nodes.a.inbox_url, nodes.b.call("outbox_sealed", message_id=step["message_id"])
        )
        assert code == 422
        assert b"incomplete" in body
        assert nodes.a.call("audit_entries_count") == audit_a
        assert nodes.a.call("inbox", message_id=step["message_id"]) == []
        assert copy_on(nodes.a, reference)["attachments"] == []
        code, _receipt = post(
            nodes.a.inbox_url, nodes.b.call("outbox_sealed", message_id=second["message_id"])
        )
        assert code == 200
        waiting = copy_on(nodes.a, reference)
        assert waiting["state"] == "preserved"
        assert [a["name"] for a in waiting["attachments"]] == ["mailbox-1.mbox"]
    finally:
        nodes.b.worker.resume()

    for message in (first, second, step):
        message_settled(nodes.b, message["message_id"])
    issuing = copy_on(nodes.a, reference)
    assert issuing["state"] == "executed"
    events = timeline_events(issuing)
    assert [events.count(e) for e in ("data_part_received", "executed")] == [2, 1]
    assert sorted((a["name"], a["sha256"]) for a in issuing["attachments"]) == sorted(
        (name, sha256(content)) for name, content in large
    )
    assert all(a["stored_sha256"] == a["sha256"] for a in issuing["attachments"])
    delivered_again_changes_nothing(nodes, reference)
    assert len(copy_on(nodes.a, reference)["attachments"]) == 3

    # A confirms the receipt while B's web server is down: the signed receipt is written
    # once on A, and reaches the provider's copy when B is back.
    nodes.b.stop_web()
    try:
        by_prosecutor(nodes, "certificates:certificate_confirm_receipt", reference)
        with pytest.raises(ConsoleError, match="already confirmed"):
            by_prosecutor(nodes, "certificates:certificate_confirm_receipt", reference)
        receipt_message = nodes.a.call("outbox", reference=reference)[-1]
        assert receipt_message["event"] == "data_receipt_signed"
        attempts_refused(nodes.a, receipt_message["message_id"])
    finally:
        nodes.b.start_web()
    message_settled(nodes.a, receipt_message["message_id"])

    issuing = copy_on(nodes.a, reference)
    [signed] = [e for e in issuing["timeline"] if e["event"] == "data_receipt_signed"]
    assert [(f["name"], f["sha256"]) for f in signed["payload"]["files"]] == [
        (name, sha256(content)) for name, content in large
    ]
    assert signed["payload"]["fingerprint"] == nodes.fingerprints[GERMAN]
    assert signed["payload"]["signature"].startswith("-----BEGIN PGP SIGNATURE-----")
    provided = copy_on(nodes.b, reference)
    [kept] = [e for e in provided["timeline"] if e["event"] == "data_receipt_signed"]
    assert kept["payload"] == signed["payload"]
    assert (kept["actor_name"], kept["authority_name"]) == (
        "Jonas Becker",
        "Staatsanwaltschaft Berlin",
    )
    assert provided["state"] == "executed"
    # The provider's node verifies the receipt against the key it pins for the issuer.
    assert (
        nodes.b.run(_RECEIPT_VERIFIED, payload=kept["payload"], issuer=GERMAN)
        == nodes.fingerprints[GERMAN]
    )

    delivered_again_changes_nothing(nodes, reference)
    for node in (nodes.a, nodes.b):
        copy = copy_on(node, reference)
        assert timeline_events(copy).count("data_receipt_signed") == 1
        assert copy["state"] == "executed"
        assert len(copy["attachments"]) == 3


_RECEIPT_VERIFIED = """
from django.utils import timezone

from contact_points.models import Authority
from mla.exchange.wire.seal import signature_check
from mla.requests.models import canonical_json

receipt = {key: payload[key] for key in ("reference", "issuing_authority", "files", "received_at")}
result = signature_check(
    data=canonical_json(receipt),
    signature=payload["signature"].encode(),
    signer=Authority.objects.get(identifier=issuer),
    now=timezone.now(),
    part="receipt",
)
"""
