"""e-Evidence (Regulation (EU) 2023/1543) between two nodes: how a certificate ends short of
the data. The enforcing authority's ground against the whole order or some of its data
(Art. 12), and the addressee's Annex III with the issuing authority's answer (Art.
10(5)-(8)), each under the faults the EIO's two-node tests inject: a message delivered twice,
a worker killed mid-delivery (its task comes back, acks_late), a node down for a while; and
steps of the two sides crossing on their way.

Node A hosts the German issuing prosecutor; node B the provider's designated establishment and
the French enforcing authority (tests/support/nodes.py). The nodes are started once for the
module; each test uses certificates of its own.
"""

import datetime
from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.support.nodes import (
    PROVIDER,
    PROVIDER_STAFF,
    ConsoleError,
    Postgres,
    TwoNodes,
)
from tests.support.two_nodes import (
    attempts_refused,
    by_enforcing,
    by_prosecutor,
    by_provider,
    certificate_ready,
    copy_on,
    crash_mid_delivery,
    deadlines_on,
    delivered_again_changes_nothing,
    enforcing_decision_on,
    message_settled,
    provider_acknowledged,
    sent_and_received,
    sha256,
    step_followed,
    timeline_events,
)

pytestmark = pytest.mark.two_nodes

SUBSCRIBER_FILE = ["subscriber.csv", b"account,name,created\nx@example.org,X,2024-01-02\n"]
ANNEX_III = {
    "reasons": ["insufficient_information"],
    "explanation": "The account identifier matches no account.",
    "additional_information": "The full e-mail address.",
    "data_preserved": True,
}


@pytest.fixture(scope="module")
def nodes() -> Iterator[TwoNodes]:
    prefix = f"{settings.DATABASES['default']['TEST']['NAME']}_eevo"
    # Attempts enough for a node to stay down over several steps (none here runs out of
    # them: test_two_nodes.py shows a message failing after its last attempt).
    with TwoNodes.start(
        prefix=prefix,
        postgres=Postgres.from_django(),
        eevidence=True,
        settings={"EXCHANGE_MAX_ATTEMPTS": "40"},
    ) as pair:
        yield pair


@pytest.fixture(autouse=True)
def _exchange_homes() -> None:
    """Replaces the directory's single-node key homes: the nodes have their own."""


@pytest.fixture(autouse=True)
def _restored(nodes: TwoNodes) -> Iterator[None]:
    yield
    print(nodes.logs())
    nodes.ensure_running()


def _notification_acknowledged(nodes: TwoNodes, notification: str) -> None:
    step_followed(
        nodes.b,
        nodes.a,
        notification,
        lambda: by_enforcing(nodes, "executing:request_acknowledge", notification),
        event="acknowledged",
    )


# The enforcing authority (Art. 12) -----------------------------------------------------------


def test_a_full_ground_raised_on_b_refuses_both_copies_of_the_epoc_and_the_provider_cannot_produce(
    nodes: TwoNodes,
) -> None:
    reference = certificate_ready(nodes, "epoc", ["traffic"])
    [notification] = sent_and_received(nodes, reference)
    provider_acknowledged(nodes, reference, preserve=True)
    _notification_acknowledged(nodes, notification)

    # A relays the decision to the provider's copy; its worker is killed after posting it,
    # before B's answer: the relay comes back as a stale message, and B applies it once.
    relay = crash_mid_delivery(
        nodes.a,
        nodes.b,
        lambda: by_enforcing(
            nodes,
            "enforcing:enforcing_grounds_raise",
            notification,
            scope="full",
            ground="ne_bis_in_idem",
            explanation="Final judgment in France for the same acts.",
        ),
        reference=reference,
    )

    assert relay["recipient"] == PROVIDER
    [told] = nodes.b.call("inbox", message_id=relay["message_id"])
    assert told["manifest"]["data"]["event"] == "grounds_raised"
    # A: the notification records the decision; the EPOC records it and is refused.
    decided = copy_on(nodes.a, notification)
    assert decided["state"] == "grounds_raised"
    assert decided["timeline"][-1]["note"] == "Final judgment in France for the same acts."
    epoc = copy_on(nodes.a, reference)
    assert epoc["state"] == "refused"
    assert timeline_events(epoc)[-2:] == ["grounds_raised", "refused"]
    assert epoc["timeline"][-1]["payload"] == {
        "ground": "ne_bis_in_idem",
        "by": "enforcing_authority",
    }
    assert enforcing_decision_on(nodes.a, reference) == {
        "state": "grounds_raised",
        "ground": "ne_bis_in_idem",
        "scope": "full",
        "affected_categories": ["traffic"],
        "refused": True,
    }
    # B: the enforcing authority's copy decided, the provider's copy refused (the
    # explanation stays with the issuing side).
    assert copy_on(nodes.b, notification)["state"] == "grounds_raised"
    provided = copy_on(nodes.b, reference)
    assert provided["state"] == "refused"
    assert timeline_events(provided)[-2:] == ["grounds_raised", "refused"]
    assert provided["timeline"][-2]["note"] == ""
    assert provided["timeline"][-2]["payload"]["scope"] == "full"
    assert enforcing_decision_on(nodes.b, reference)["refused"] is True
    # The clocks: the enforcing authority's met on both copies of the notification; the
    # provider's time to produce no longer runs.
    for node in (nodes.a, nodes.b):
        assert deadlines_on(node, notification)["enforcing_assessment"]["state"] == "met"
        assert deadlines_on(node, reference)["production"]["state"] == "cancelled"

    # The provider cannot produce: refused before anything is stored or sent.
    outbox_b = len(nodes.b.call("outbox", reference=reference))
    with pytest.raises(ConsoleError, match="cannot mark as executed"):
        nodes.b.call(
            "certificate_produce",
            reference=reference,
            username=PROVIDER_STAFF,
            files=[SUBSCRIBER_FILE],
        )
    assert copy_on(nodes.b, reference)["attachments"] == []
    assert len(nodes.b.call("outbox", reference=reference)) == outbox_b

    # Every message of the exchange delivered again: nothing is applied twice.
    delivered_again_changes_nothing(nodes, reference, notification)
    for node in (nodes.a, nodes.b):
        copy = copy_on(node, reference)
        assert copy["state"] == "refused"
        assert [timeline_events(copy).count(e) for e in ("grounds_raised", "refused")] == [1, 1]
        assert copy["attachments"] == []
        assert timeline_events(copy_on(node, notification)).count("grounds_raised") == 1


def test_a_providers_step_crossing_the_full_ground_on_its_way_is_kept_on_the_refused_copy_on_a(
    nodes: TwoNodes,
) -> None:
    reference = certificate_ready(nodes, "epoc", ["traffic"])
    [notification] = sent_and_received(nodes, reference)
    _notification_acknowledged(nodes, notification)
    relayed = len(nodes.a.call("outbox", reference=reference))

    # B's web server is down: the ground reaches A, which refuses the EPOC, but not yet the
    # provider's copy, whose staff acknowledge it meanwhile. The two steps cross.
    nodes.b.stop_web()
    try:
        step_followed(
            nodes.b,
            nodes.a,
            notification,
            lambda: by_enforcing(
                nodes,
                "enforcing:enforcing_grounds_raise",
                notification,
                scope="full",
                ground="fundamental_rights",
                explanation="A manifest breach of the right to a fair trial.",
            ),
            event="grounds_raised",
        )
        assert copy_on(nodes.a, reference)["state"] == "refused"
        relay = nodes.a.call("outbox", reference=reference)[relayed]
        attempts_refused(nodes.a, relay["message_id"])
        acknowledged = by_provider(nodes, "executing:request_acknowledge", reference)
        assert acknowledged == "acknowledged"
        crossed = nodes.b.call("outbox", reference=reference)[-1]
        # A takes the provider's step, which happened, without reopening the EPOC.
        message_settled(nodes.b, crossed["message_id"])
        issuing = copy_on(nodes.a, reference)
        assert issuing["state"] == "refused"
        assert timeline_events(issuing)[-3:] == ["grounds_raised", "refused", "acknowledged"]
        assert issuing["timeline"][-1]["actor_name"] == "Léa Martin"
    finally:
        nodes.b.start_web()

    message_settled(nodes.a, relay["message_id"])
    provided = copy_on(nodes.b, reference)
    assert provided["state"] == "refused"
    assert timeline_events(provided)[-3:] == ["acknowledged", "grounds_raised", "refused"]
    assert [m["state"] for m in nodes.b.call("outbox", reference=reference)] == ["delivered"]
    delivered_again_changes_nothing(nodes, reference, notification)
    for node in (nodes.a, nodes.b):
        copy = copy_on(node, reference)
        assert copy["state"] == "refused"
        for event in ("acknowledged", "grounds_raised", "refused"):
            assert timeline_events(copy).count(event) == 1, (node.name, event)


def test_a_ground_against_traffic_data_raised_while_b_is_down_reaches_the_provider_later_who_then_produces_the_subscriber_data(  # noqa: E501
    nodes: TwoNodes,
) -> None:
    reference = certificate_ready(nodes, "epoc", ["subscriber", "traffic"])
    [notification] = sent_and_received(nodes, reference)
    provider_acknowledged(nodes, reference, preserve=True)
    _notification_acknowledged(nodes, notification)
    before = len(nodes.a.call("outbox", reference=reference))

    # B's web server is down when its enforcing authority decides: A records the decision,
    # and keeps trying to tell the provider's copy.
    nodes.b.stop_web()
    try:
        decided = step_followed(
            nodes.b,
            nodes.a,
            notification,
            lambda: by_enforcing(
                nodes,
                "enforcing:enforcing_grounds_raise",
                notification,
                scope="partial",
                ground="immunities_privileges",
                categories=["traffic"],
                explanation="The traffic data would reveal a journalist's sources.",
            ),
            event="grounds_raised",
        )
        assert decided["state"] == "grounds_raised"
        # A sees the partial refusal: the EPOC stays open, its traffic data refused.
        epoc = copy_on(nodes.a, reference)
        assert epoc["state"] == "preserved"
        assert epoc["timeline"][-1]["event"] == "grounds_raised"
        assert epoc["timeline"][-1]["payload"] == {
            "scope": "partial",
            "ground": "immunities_privileges",
            "categories": ["traffic"],
        }
        assert enforcing_decision_on(nodes.a, reference) == {
            "state": "grounds_raised",
            "ground": "immunities_privileges",
            "scope": "partial",
            "affected_categories": ["traffic"],
            "refused": False,
        }
        relay = nodes.a.call("outbox", reference=reference)[before]
        attempts_refused(nodes.a, relay["message_id"])
        # Meanwhile the provider's copy knows of no decision: it may not produce yet
        # (Art. 10(2)), and nothing is stored.
        assert enforcing_decision_on(nodes.b, reference) is None
        with pytest.raises(ConsoleError, match=r"10 days"):
            nodes.b.call(
                "certificate_produce",
                reference=reference,
                username=PROVIDER_STAFF,
                files=[SUBSCRIBER_FILE],
            )
        assert copy_on(nodes.b, reference)["attachments"] == []
    finally:
        nodes.b.start_web()

    message_settled(nodes.a, relay["message_id"])
    provided = copy_on(nodes.b, reference)
    assert provided["state"] == "preserved"
    assert timeline_events(provided).count("grounds_raised") == 1
    assert enforcing_decision_on(nodes.b, reference)["affected_categories"] == ["traffic"]

    # The rest may go now: the provider produces the subscriber data, saying what is not.
    produced = step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: str(
            nodes.b.run(
                _PRODUCE_PARTIALLY,
                reference=reference,
                username=PROVIDER_STAFF,
                files=[SUBSCRIBER_FILE],
                note="Traffic data withheld: the enforcing authority raised a ground (Art. 12).",
            )
        ),
        event="partially_executed",
    )
    assert produced["state"] == "partially_executed"
    assert [(a["name"], a["sha256"]) for a in produced["attachments"]] == [
        (SUBSCRIBER_FILE[0], sha256(SUBSCRIBER_FILE[1]))
    ]
    assert copy_on(nodes.b, reference)["state"] == "partially_executed"
    assert deadlines_on(nodes.b, reference)["production"]["state"] == "met"

    delivered_again_changes_nothing(nodes, reference, notification)
    for node in (nodes.a, nodes.b):
        copy = copy_on(node, reference)
        assert copy["state"] == "partially_executed"
        assert timeline_events(copy).count("grounds_raised") == 1
        assert timeline_events(copy).count("partially_executed") == 1
        assert len(copy["attachments"]) == 1


_PRODUCE_PARTIALLY = """
from mla.accounts.models import User
from mla.requests.lifecycle.certificates import ProducedFile, certificate_produce
from mla.requests.models import Request

provided = Request.objects.get(reference=reference, direction="incoming")
certificate_produce(
    request=provided,
    actor=User.objects.get(username=username),
    files=[ProducedFile(name=name, content=content) for name, content in files],
    partially=True,
    note=note,
)
provided.refresh_from_db()
result = provided.state
"""


# Annex III (Art. 10(5)-(8)) ------------------------------------------------------------------


def test_an_annex_iii_reported_on_b_reaches_a_once_and_its_completion_returns_both_copies_with_the_new_version(  # noqa: E501
    nodes: TwoNodes,
) -> None:
    reference = certificate_ready(nodes, "epoc", ["subscriber"])
    sent_and_received(nodes, reference)
    provider_acknowledged(nodes, reference, preserve=True)

    # B's worker is killed after posting the Annex III, before A's answer.
    reported = crash_mid_delivery(
        nodes.b,
        nodes.a,
        lambda: by_provider(
            nodes, "certificates:certificate_report_impossibility", reference, **ANNEX_III
        ),
        reference=reference,
    )

    assert reported["event"] == "impossibility_reported"
    issuing = copy_on(nodes.a, reference)
    assert issuing["state"] == "impossible"
    entry = issuing["timeline"][-1]
    assert entry["event"] == "impossibility_reported"
    assert timeline_events(issuing).count("impossibility_reported") == 1
    assert entry["payload"] == {
        "reasons": ["insufficient_information"],
        "explanation": "The account identifier matches no account.",
        "additional_information": "The full e-mail address.",
        "data_preserved": True,
    }
    assert (entry["actor_name"], entry["authority_name"]) == (
        "Léa Martin",
        "Exemple Mail SAS (designated establishment)",
    )
    # The issuing authority's 5 days run from the Annex III as taken on B.
    answer = deadlines_on(nodes.a, reference)["impossibility_answer"]
    assert answer["state"] == "running"
    assert answer["source"] == "Regulation (EU) 2023/1543, Art. 10(5)-(6)"
    reported_at = datetime.datetime.fromisoformat(entry["at"])
    assert answer["due_at"] - reported_at == datetime.timedelta(days=5)
    provided = copy_on(nodes.b, reference)
    assert provided["state"] == "impossible"
    taken_at = datetime.datetime.fromisoformat(provided["timeline"][-1]["at"])
    assert taken_at == reported_at
    assert deadlines_on(nodes.b, reference)["production"]["state"] == "suspended"

    # A completes the certificate while B's web server is down: the answer waits, then
    # goes, and B's copy takes the new version (without section M).
    completed = {
        **issuing["data"],
        "E": {**issuing["data"].get("E", {}), "account": "x@example.org"},
    }
    nodes.b.stop_web()
    try:
        state = by_prosecutor(
            nodes,
            "certificates:certificate_answer_impossibility",
            reference,
            answer="completed",
            note="The full address is in section E.",
            data=completed,
        )
        assert state == "preserved"
        answered = nodes.a.call("outbox", reference=reference)[-1]
        assert answered["event"] == "impossibility_answered"
        attempts_refused(nodes.a, answered["message_id"])
        assert copy_on(nodes.b, reference)["state"] == "impossible"
    finally:
        nodes.b.start_web()
    message_settled(nodes.a, answered["message_id"])

    issuing, provided = copy_on(nodes.a, reference), copy_on(nodes.b, reference)
    assert (issuing["state"], provided["state"]) == ("preserved", "preserved")
    assert provided["timeline"][-1]["event"] == "impossibility_answered"
    assert provided["timeline"][-1]["payload"]["answer"] == "completed"
    assert provided["data"]["E"]["account"] == "x@example.org"
    assert provided["data"] == {k: v for k, v in issuing["data"].items() if k != "M"}
    assert "M" in issuing["data"]
    for node in (nodes.a, nodes.b):
        assert deadlines_on(node, reference)["impossibility_answer"]["state"] == "met"
    assert deadlines_on(nodes.b, reference)["production"]["state"] == "running"

    delivered_again_changes_nothing(nodes, reference)
    for node in (nodes.a, nodes.b):
        copy = copy_on(node, reference)
        assert copy["state"] == "preserved"
        for event in ("impossibility_reported", "impossibility_answered"):
            assert timeline_events(copy).count(event) == 1, (node.name, event)


def test_an_annex_iii_answered_by_withdrawal_withdraws_the_epoc_and_its_notification_on_b(
    nodes: TwoNodes,
) -> None:
    reference = certificate_ready(nodes, "epoc", ["traffic"])
    [notification] = sent_and_received(nodes, reference)
    provider_acknowledged(nodes, reference)
    step_followed(
        nodes.b,
        nodes.a,
        reference,
        lambda: by_provider(
            nodes,
            "certificates:certificate_report_impossibility",
            reference,
            **{**ANNEX_III, "reasons": ["data_not_stored"], "data_preserved": False},
        ),
        event="impossibility_reported",
    )
    assert copy_on(nodes.a, reference)["state"] == "impossible"
    assert deadlines_on(nodes.a, reference)["impossibility_answer"]["state"] == "running"

    # A's worker is killed after posting the withdrawal to the provider's copy.
    withdrawal = crash_mid_delivery(
        nodes.a,
        nodes.b,
        lambda: by_prosecutor(
            nodes,
            "certificates:certificate_answer_impossibility",
            reference,
            answer="withdrawn",
            note="The data were obtained otherwise.",
        ),
        reference=reference,
    )

    assert withdrawal["event"] == "withdrawn"
    # The notification's withdrawal follows to the enforcing authority's copy.
    [told] = [m for m in nodes.a.call("outbox", reference=notification) if m["kind"] == "status"]
    message_settled(nodes.a, told["message_id"])
    issuing = copy_on(nodes.a, reference)
    assert issuing["state"] == "withdrawn"
    assert timeline_events(issuing)[-2:] == ["impossibility_answered", "withdraw"]
    assert issuing["timeline"][-2]["payload"] == {"answer": "withdrawn"}
    provided = copy_on(nodes.b, reference)
    assert provided["state"] == "withdrawn"
    assert timeline_events(provided)[-2:] == ["impossibility_reported", "withdrawn"]
    assert provided["timeline"][-1]["note"] == "The data were obtained otherwise."
    for node, event in ((nodes.a, "withdraw"), (nodes.b, "withdrawn")):
        notified = copy_on(node, notification)
        assert (notified["state"], timeline_events(notified)[-1]) == ("withdrawn", event)
    # The 5 days met by the answer on A; on B every clock ends with the withdrawal.
    assert {code: d["state"] for code, d in deadlines_on(nodes.a, reference).items()} == {
        "impossibility_answer": "met",
        "production": "cancelled",
    }
    assert {code: d["state"] for code, d in deadlines_on(nodes.b, reference).items()} == {
        "impossibility_answer": "cancelled",
        "production": "cancelled",
    }
    for node in (nodes.a, nodes.b):
        assert deadlines_on(node, notification)["enforcing_assessment"]["state"] == "cancelled"
    # Withdrawn, the certificate takes no step of the provider.
    with pytest.raises(ConsoleError, match="Withdrawn"):
        by_provider(nodes, "executing:request_preserve", reference)

    delivered_again_changes_nothing(nodes, reference, notification)
    for node, event in ((nodes.a, "withdraw"), (nodes.b, "withdrawn")):
        for withdrawn in (reference, notification):
            copy = copy_on(node, withdrawn)
            assert copy["state"] == "withdrawn"
            assert timeline_events(copy).count(event) == 1, (node.name, withdrawn)
