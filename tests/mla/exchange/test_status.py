"""Status messages: both sides' copies of a request on two nodes stay in step.

One test database plays both nodes. Both authorities' key pairs are in this node's secret
home, so the outbox delivers straight to the local inbox (through the same opening and
verification as over HTTP); which authority "works here" (has its people on this node, the
test of mla.requests.lifecycle.counterpart) is switched per step, so that each side
reaches the other by messages alone, as it would between two nodes.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contact_points.models import Authority
from contact_points.services import authority_set_public_key
from mla.core.errors import ApplicationError
from mla.exchange import inbox, status, tasks
from mla.exchange.inbox import inbox_receive
from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.outbox import outbox_deliver
from mla.exchange.wire.errors import MessageRefused
from mla.exchange.wire.manifest import manifest_build
from mla.exchange.wire.seal import message_open, message_seal
from mla.requests.desk import tracker
from mla.requests.documents.annex_b import annex_b_document_name
from mla.requests.documents.eevidence_annexes import ANNEX_III, ANNEX_VI, annex_content
from mla.requests.lifecycle import certificates, channels, counterpart
from mla.requests.lifecycle import executing as execution
from mla.requests.lifecycle import issuing as lifecycle
from mla.requests.models import AuditEntry, Request
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.sending import outgoing_request

pytestmark = pytest.mark.django_db

State = Request.State


class Nodes:
    """Which authorities have their people on "this" node, for the step being taken."""

    def __init__(self, issuer: Authority, executor: Authority) -> None:
        self.issuer, self.executor = issuer, executor
        self.here: set[int] = set()

    def hosted_here(self, *, authority: Authority) -> bool:
        return authority.pk in self.here

    def deliver(self, message_id: str) -> None:
        """Deliver a message now; the recipient's node opens and applies it."""
        recipient = OutboxMessage.objects.get(message_id=message_id).recipient_id
        previous, self.here = self.here, {recipient}
        try:
            outbox_deliver(message_id=message_id)
        finally:
            self.here = previous

    @contextmanager
    def on(self, authority: Authority, capture: Callable[..., object]) -> Iterator[None]:
        """Act as the node of ``authority``; messages queued meanwhile are delivered (with
        whatever they queue in turn) once the step commits."""
        self.here = {authority.pk}
        with capture(execute=True):
            yield


@pytest.fixture
def nodes(sender, recipient, monkeypatch) -> Nodes:
    nodes = Nodes(sender, recipient)
    monkeypatch.setattr(channels, "authority_served_here", nodes.hosted_here)
    monkeypatch.setattr(tasks.outbox_deliver_task, "delay", nodes.deliver)
    return nodes


@pytest.fixture
def prosecutor(sender):
    return UserFactory(authority=sender, roles=["prosecutor"])


@pytest.fixture
def staff(recipient):
    return UserFactory(authority=recipient, roles=["contact_point_staff"])


def _sent(issuer: Authority, executor: Authority, author, code: str = "eio") -> Request:
    return outgoing_request(issuer, executor, author, code=code)


def _transmitted(nodes: Nodes, request: Request, prosecutor, capture) -> Request:
    """Sent from the issuer's node: the executing copy made on the other from the message."""
    with nodes.on(nodes.issuer, capture):
        counterpart.deliver(request=request, actor=prosecutor, at=timezone.now())
    request.refresh_from_db()
    assert request.state == State.DELIVERED
    assert request.counterpart is None
    return Request.objects.get(
        direction=Request.Direction.INCOMING,
        reference=request.reference,
        executing_authority=nodes.executor,
    )


def _events(request: Request) -> list[str]:
    return list(request.audit_entries.order_by("sequence").values_list("event", flat=True))


def _fresh(request: Request) -> Request:
    return Request.objects.get(pk=request.pk)


def test_an_eio_runs_its_course_with_each_step_as_a_message(
    nodes, prosecutor, staff, client, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor)
    executing = _transmitted(nodes, issuing, prosecutor, capture)

    with nodes.on(nodes.executor, capture):
        execution.request_acknowledge(request=executing, actor=staff, note="Received intact.")
    issuing = _fresh(issuing)
    assert issuing.state == State.ACKNOWLEDGED
    acknowledged = issuing.audit_entries.get(event="acknowledged")
    assert (acknowledged.actor_name, acknowledged.authority_name) == (
        staff.get_full_name() or staff.username,
        nodes.executor.name,
    )
    assert acknowledged.note == "Received intact."
    assert acknowledged.at == _fresh(executing).audit_entries.get(event="acknowledged").at

    # The acknowledgement carried the executing side's Annex B, kept as received.
    message = InboxMessage.objects.get(request=issuing, kind="status")
    opened = message_open(sealed=bytes(message.sealed), now=message.received_at)
    (annex_b,) = opened.documents
    assert annex_b.name == f"annex-b-{issuing.reference}.pdf"
    assert annex_b.content.startswith(b"%PDF")
    assert (
        status.document_received(request=issuing, name=annex_b_document_name(request=issuing))
        == annex_b.content
    )
    client.force_login(prosecutor)
    download = client.get(reverse("requests:annex_b", args=[*issuing.url_args]))
    assert download.status_code == 200
    assert download.content == annex_b.content

    with nodes.on(nodes.executor, capture):
        execution.request_recognise(request=_fresh(executing), actor=staff)
        execution.request_start_execution(request=_fresh(executing), actor=staff)
        execution.request_execute(request=_fresh(executing), actor=staff, note="Data attached.")

    issuing = _fresh(issuing)
    assert issuing.state == State.EXECUTED
    assert issuing.closed_at is not None
    assert _events(issuing)[-4:] == [
        "acknowledged",
        "recognised",
        "execution_started",
        "executed",
    ]
    sent = OutboxMessage.objects.filter(request=executing).order_by("pk")
    assert [m.kind for m in sent] == ["status"] * 4
    assert {m.state for m in sent} == {OutboxMessage.State.DELIVERED}
    assert all(m.receipt for m in sent)
    assert InboxMessage.objects.filter(request=issuing, kind="status").count() == 4


def test_the_information_loop_goes_both_ways(
    nodes, prosecutor, staff, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor)
    executing = _transmitted(nodes, issuing, prosecutor, capture)
    with nodes.on(nodes.executor, capture):
        execution.request_acknowledge(request=executing, actor=staff)
        execution.request_ask_information(
            request=_fresh(executing), actor=staff, question="Which account numbers?"
        )
    issuing = _fresh(issuing)
    assert issuing.state == State.INFO_REQUESTED
    assert issuing.audit_entries.get(event="info_requested").note == "Which account numbers?"

    with nodes.on(nodes.issuer, capture):
        lifecycle.request_answer_information(
            request=issuing, actor=prosecutor, note="Accounts 1 and 2."
        )

    executing = _fresh(executing)
    assert executing.state == State.ACKNOWLEDGED
    answered = executing.audit_entries.get(event="info_answered")
    assert (answered.note, answered.authority_name) == ("Accounts 1 and 2.", nodes.issuer.name)
    assert _fresh(issuing).state == State.ACKNOWLEDGED
    assert OutboxMessage.objects.get(request=issuing, kind="status").state == "delivered"


def test_a_refusal_and_a_chase_and_a_withdrawal(
    nodes, prosecutor, staff, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor)
    executing = _transmitted(nodes, issuing, prosecutor, capture)

    with nodes.on(nodes.issuer, capture):
        tracker.request_chase(request=_fresh(issuing), actor=prosecutor, note="Any news?")
    chased = _fresh(executing).audit_entries.get(event="chased")
    assert (chased.note, chased.authority_name) == ("Any news?", nodes.issuer.name)

    with nodes.on(nodes.executor, capture):
        ground = execution.refusal_grounds(request=executing)[0][0]
        execution.request_refuse(
            request=_fresh(executing), actor=staff, ground=ground, motivation="Immunity applies."
        )
    refused = _fresh(issuing).audit_entries.get(event="refused")
    assert _fresh(issuing).state == State.REFUSED
    assert (refused.note, refused.payload["ground"]) == ("Immunity applies.", ground)

    # Withdrawing a request the other side closed is still told, and changes nothing there.
    second = _sent(nodes.issuer, nodes.executor, prosecutor)
    second_executing = _transmitted(nodes, second, prosecutor, capture)
    with nodes.on(nodes.issuer, capture):
        lifecycle.request_withdraw(request=_fresh(second), actor=prosecutor, note="Case closed.")
    assert _fresh(second_executing).state == State.WITHDRAWN
    assert _fresh(second_executing).audit_entries.get(event="withdrawn").note == "Case closed."


def test_a_preservation_is_followed_up_and_released_across_nodes(
    nodes, prosecutor, staff, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    preservation = _sent(nodes.issuer, nodes.executor, prosecutor, code="preservation")
    preserving = _transmitted(nodes, preservation, prosecutor, capture)
    with nodes.on(nodes.executor, capture):
        execution.request_acknowledge(request=preserving, actor=staff)
        execution.request_preserve(request=_fresh(preserving), actor=staff)
        execution.request_extend_preservation(
            request=_fresh(preserving), actor=staff, days=30, reason="The MLA is on its way."
        )
    assert _fresh(preservation).state == State.EXTENDED

    follow_up = _sent(nodes.issuer, nodes.executor, prosecutor, code="mla")
    follow_up_executing = _transmitted(nodes, follow_up, prosecutor, capture)
    with nodes.on(nodes.issuer, capture):
        lifecycle.request_follow_up(
            request=_fresh(preservation), actor=prosecutor, follow_up=_fresh(follow_up)
        )
    assert _fresh(preserving).state == State.FOLLOWED_UP
    assert _fresh(preserving).audit_entries.get(event="followed_up").payload == {
        "request": follow_up.reference
    }

    with nodes.on(nodes.executor, capture):
        execution.request_acknowledge(request=follow_up_executing, actor=staff)
        execution.request_recognise(request=_fresh(follow_up_executing), actor=staff)
    # Deciding the follow-up releases the preservation on both nodes.
    assert _fresh(follow_up).state == State.RECOGNISED
    assert _fresh(preservation).audit_entries.filter(event="follow_up_decided").count() == 1
    assert _fresh(preserving).audit_entries.filter(event="follow_up_decided").count() == 1


def _carried(request: Request, event: str) -> list[tuple[str, bytes]]:
    """The documents of the status message that brought ``event`` to ``request``."""
    for message in InboxMessage.objects.filter(request=request, kind="status"):
        if message.manifest["data"]["event"] == event:
            opened = message_open(sealed=bytes(message.sealed), now=message.received_at)
            return [(document.name, document.content) for document in opened.documents]
    raise AssertionError(f"no status message brought {event}")


def test_an_epoc_prs_annexes_travel_with_their_steps_and_are_served_as_received(
    nodes, prosecutor, staff, client, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    preservation = _sent(nodes.issuer, nodes.executor, prosecutor, code="epoc_pr")
    preserving = _transmitted(nodes, preservation, prosecutor, capture)
    with nodes.on(nodes.executor, capture):
        execution.request_acknowledge(request=preserving, actor=staff)
        execution.request_preserve(request=_fresh(preserving), actor=staff)

    # Annex VI, from the issuing authority's node to the addressee's.
    with nodes.on(nodes.issuer, capture):
        certificates.certificate_extend_preservation(
            request=_fresh(preservation), actor=prosecutor, reason="The EPOC is being validated."
        )
    assert _fresh(preserving).state == State.EXTENDED
    [(name, annex_vi)] = _carried(preserving, "preservation_extended")
    assert name == f"annex-vi-{preserving.reference}.pdf"
    assert annex_vi.startswith(b"%PDF-")
    assert annex_content(request=_fresh(preserving), annex=ANNEX_VI) == annex_vi
    client.force_login(staff)
    download = client.get(reverse("requests:annex_vi", args=[*preserving.url_args]))
    assert download.content == annex_vi

    # Annex III, from the addressee's node to the issuing authority's.
    with nodes.on(nodes.executor, capture):
        certificates.certificate_report_impossibility(
            request=_fresh(preserving),
            actor=staff,
            reasons=["data_no_longer_held"],
            explanation="The account was deleted before the order arrived.",
        )
    assert _fresh(preservation).state == State.IMPOSSIBLE
    [(name, annex_iii)] = _carried(preservation, "impossibility_reported")
    assert name == f"annex-iii-{preservation.reference}.pdf"
    assert annex_content(request=_fresh(preservation), annex=ANNEX_III) == annex_iii


def test_a_request_forwarded_to_an_authority_of_a_third_node_is_sent_there_by_the_issuer(
    nodes, prosecutor, staff, exchange_keys, django_capture_on_commit_callbacks
):
    """Only the issuing authority can send the request in its own name: when the competent
    authority works on neither node, the issuer's node transmits it there itself."""
    capture = django_capture_on_commit_callbacks
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor, code="mla")
    executing = _transmitted(nodes, issuing, prosecutor, capture)
    competent = AuthorityFactory(
        identifier="bb-competent", country=nodes.executor.country, instruments=["mla"]
    )
    authority_set_public_key(
        authority=competent, armored=exchange_keys.armored[exchange_keys.partner]
    )

    with nodes.on(nodes.executor, capture):
        execution.request_forward(request=executing, actor=staff, to=competent, note="Not ours.")

    assert _fresh(executing).state == State.FORWARDED
    issuing = _fresh(issuing)
    assert (issuing.state, issuing.executing_authority) == (State.DELIVERED, competent)
    forwarded = issuing.audit_entries.get(event="forwarded")
    assert (forwarded.note, forwarded.payload) == (
        "Not ours.",
        {"to": competent.identifier, "delivered": False},
    )
    resent = OutboxMessage.objects.get(request=issuing, recipient=competent)
    assert (resent.kind, resent.sender) == ("request", nodes.issuer)
    # The third node is not reachable in this test: the message waits with the reason.
    assert resent.state == OutboxMessage.State.PENDING
    assert "no inbox URL" in resent.last_error


def test_a_forwarding_to_an_authority_of_another_country_is_refused(
    nodes, prosecutor, django_capture_on_commit_callbacks
):
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor)
    _transmitted(nodes, issuing, prosecutor, django_capture_on_commit_callbacks)
    elsewhere = AuthorityFactory(
        identifier="zz-elsewhere",
        country=CountryFactory(code="PT", name="Portugal"),
        instruments=["eio"],
    )
    sealed = _status_message(
        nodes,
        issuing.reference,
        event="forwarded",
        payload={"to": elsewhere.identifier, "delivered": False},
    )

    with pytest.raises(MessageRefused, match="not in the directory for"):
        inbox_receive(sealed=sealed)

    assert _fresh(issuing).executing_authority == nodes.executor
    assert not OutboxMessage.objects.filter(recipient=elsewhere).exists()


def test_steps_leave_in_order_when_the_first_is_held_up(
    nodes, prosecutor, staff, django_capture_on_commit_callbacks, monkeypatch
):
    capture = django_capture_on_commit_callbacks
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor)
    executing = _transmitted(nodes, issuing, prosecutor, capture)
    held: list[str] = []
    monkeypatch.setattr(tasks.outbox_deliver_task, "delay", held.append)

    with nodes.on(nodes.executor, capture):
        execution.request_acknowledge(request=executing, actor=staff)
        execution.request_recognise(request=_fresh(executing), actor=staff)
    first, second = OutboxMessage.objects.filter(request=executing).order_by("pk")

    # The recognition may not overtake the acknowledgement.
    assert outbox_deliver(message_id=str(second.message_id)).state == "pending"
    assert _fresh(issuing).state == State.DELIVERED
    held.clear()
    with capture(execute=True):
        outbox_deliver(message_id=str(first.message_id))
    assert _fresh(issuing).state == State.ACKNOWLEDGED
    assert held == [str(second.message_id)]
    outbox_deliver(message_id=held.pop())
    assert _fresh(issuing).state == State.RECOGNISED


def _status_message(
    nodes: Nodes, reference: str, *, side: str = "executing", **data: object
) -> bytes:
    sender, recipient = (
        (nodes.executor, nodes.issuer) if side == "executing" else (nodes.issuer, nodes.executor)
    )
    content = {
        "event": "acknowledged",
        "note": "",
        "payload": {},
        "acted_by": "Someone",
        "acted_at": timezone.now().isoformat(),
        "side": side,
        "state": "acknowledged",
    } | data
    manifest = manifest_build(
        kind="status", sender=sender, recipient=recipient, reference=reference, data=content
    )
    return message_seal(manifest=manifest, documents=[], sender=sender, recipient=recipient)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"event": "executed"}, "cannot take this step"),
        ({"event": "launched"}, "is not one the executing side takes"),
        ({"side": "sideways"}, "side"),
        ({"acted_at": "yesterday"}, "acted_at"),
        ({"payload": ["x"]}, "payload"),
        ({"event": "withdrawn"}, "is not one the executing side takes"),
    ],
)
def test_a_status_that_does_not_fit_the_copy_is_refused_and_nothing_changes(
    nodes, prosecutor, django_capture_on_commit_callbacks, data, reason
):
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor)
    _transmitted(nodes, issuing, prosecutor, django_capture_on_commit_callbacks)
    entries = AuditEntry.objects.count()
    received = InboxMessage.objects.count()

    with pytest.raises(MessageRefused) as refused:
        inbox_receive(sealed=_status_message(nodes, issuing.reference, **data))

    assert refused.value.reason_code == inbox.REJECTED
    assert reason in refused.value.message
    assert (AuditEntry.objects.count(), InboxMessage.objects.count()) == (entries, received)
    assert _fresh(issuing).state == State.DELIVERED


def test_a_step_that_crossed_the_withdrawal_is_kept_on_the_withdrawn_copy(
    nodes, prosecutor, django_capture_on_commit_callbacks
):
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor)
    _transmitted(nodes, issuing, prosecutor, django_capture_on_commit_callbacks)
    with nodes.on(nodes.issuer, django_capture_on_commit_callbacks):
        lifecycle.request_withdraw(request=_fresh(issuing), actor=prosecutor, note="Case closed.")
    # Acknowledged over there before the withdrawal arrived: the two messages crossed.
    acknowledged = _status_message(nodes, issuing.reference, acted_by="Camille Roux")

    inbox_receive(sealed=acknowledged)

    withdrawn = _fresh(issuing)
    assert withdrawn.state == State.WITHDRAWN
    assert _events(withdrawn)[-2:] == ["withdraw", "acknowledged"]
    entry = withdrawn.audit_entries.get(event="acknowledged")
    assert (entry.actor_name, entry.authority_name) == ("Camille Roux", nodes.executor.name)
    assert (entry.from_state, entry.to_state) == ("", "")
    assert InboxMessage.objects.filter(kind="status", request=withdrawn).count() == 1


def test_a_status_about_an_unknown_request_is_refused(nodes):
    with pytest.raises(MessageRefused) as refused:
        inbox_receive(sealed=_status_message(nodes, "ZZ-2026-000001"))
    assert "sent no request ZZ-2026-000001" in refused.value.message
    assert not InboxMessage.objects.exists()


def test_a_step_dated_ahead_of_this_nodes_clock_is_recorded_at_arrival(
    nodes, prosecutor, django_capture_on_commit_callbacks
):
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor)
    _transmitted(nodes, issuing, prosecutor, django_capture_on_commit_callbacks)
    ahead = timezone.now() + timedelta(minutes=3)

    inbox_receive(sealed=_status_message(nodes, issuing.reference, acted_at=ahead.isoformat()))

    assert _fresh(issuing).audit_entries.get(event="acknowledged").at < ahead


def test_a_side_without_a_key_pair_records_its_step_alone(
    nodes, prosecutor, django_capture_on_commit_callbacks, caplog
):
    issuing = _sent(nodes.issuer, nodes.executor, prosecutor)
    executing = _transmitted(nodes, issuing, prosecutor, django_capture_on_commit_callbacks)
    unkeyed_staff = UserFactory(roles=["contact_point_staff"])
    executing.executing_authority = unkeyed_staff.authority
    executing.save(update_fields=["executing_authority"])

    with nodes.on(unkeyed_staff.authority, django_capture_on_commit_callbacks):
        execution.request_acknowledge(request=executing, actor=unkeyed_staff)

    assert not OutboxMessage.objects.filter(request=executing).exists()
    assert "has no key pair on this node" in caplog.text


def test_an_application_error_is_not_swallowed_for_local_copies(
    sender, recipient, prosecutor, staff
):
    """Both sides on this node: the copies move together, with no message at all."""
    issuing = _sent(sender, recipient, prosecutor)
    counterpart.deliver(request=issuing, actor=prosecutor, at=timezone.now())
    executing = _fresh(issuing).counterpart
    assert executing is not None
    execution.request_acknowledge(request=executing, actor=staff)
    assert _fresh(issuing).state == State.ACKNOWLEDGED
    assert not OutboxMessage.objects.exists()
    with pytest.raises(ApplicationError):
        execution.request_acknowledge(request=_fresh(executing), actor=staff)
