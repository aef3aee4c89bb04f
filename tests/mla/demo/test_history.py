"""The demo's history: every instrument in every state, as the lifecycle would have left it,
and something real on the supervisor's statistics page."""

import itertools
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from mla.accounts.models import User
from mla.demo.history import FICTIONAL, LAPSED_NOTE, demo_history_ensure
from mla.demo.setup import demo_directory_load, demo_users_ensure
from mla.requests.access import visible_requests
from mla.requests.audit import audit_verify
from mla.requests.deadlines.store import deadlines_refresh
from mla.requests.events import Event
from mla.requests.models import AuditEntry, Deadline, Request, RequestOffence

pytestmark = pytest.mark.django_db
State = Request.State
DEADLINE_COLUMNS = ("code", "due_at", "state", "met_at", "late", "extended_days", "paused_seconds")


@pytest.fixture
def demo_node():
    """The demo directory and users, without the key pairs (not needed to write history)."""
    demo_directory_load()
    demo_users_ensure()


@pytest.fixture
def history(demo_node):
    now = timezone.now()
    return now, demo_history_ensure(now=now)


def _transitions() -> set[tuple[str, str]]:
    """Every (source, target) pair the model's state machine allows."""
    state = Request._meta.get_field("state")
    pairs = set()
    for transition in state.get_all_transitions(Request):  # type: ignore[attr-defined]
        targets = getattr(transition.target, "allowed_states", None) or [transition.target]
        for target in targets:
            pairs.add((transition.source, target))
    return pairs


def test_the_history_has_every_instrument_in_every_state_as_the_lifecycle_leaves_it(history):
    now, cases = history
    transitions = _transitions()

    assert 250 <= cases <= 400
    states = Counter(Request.objects.values_list("instrument_code", "direction", "state"))
    for instrument in ("eio", "mla"):
        for state in (
            State.RECEIVED,
            State.ACKNOWLEDGED,
            State.RECOGNISED,
            State.IN_EXECUTION,
            State.EXECUTED,
            State.REFUSED,
        ):
            assert states[(instrument, "incoming", state)] > 0, (instrument, state)
    for state in (State.PRESERVED, State.EXTENDED, State.EXPIRED, State.REFUSED):
        assert states[("preservation", "incoming", state)] > 0, state
    assert states[("eio", "outgoing", State.DRAFT)] > 0
    assert states[("eio", "outgoing", State.WITHDRAWN)] > 0
    # A deadline run out on a received copy was marked by the periodic escalation.
    marks = AuditEntry.objects.filter(event="deadline_missed")
    assert marks.filter(request__direction="incoming").count() > 20
    assert not marks.filter(request__direction="outgoing")
    # Some overdue, lapsed preservations, trafficking cases; all said to be fictional.
    assert Deadline.objects.filter(state="missed", request__state__in=Request.EXECUTING_OPEN)
    lapsed = AuditEntry.objects.filter(event=Event.EXPIRED, note=LAPSED_NOTE)
    assert lapsed.filter(request__direction="incoming", actor_name="system").exists()
    assert RequestOffence.objects.filter(category="trafficking_human_beings").count() >= 10
    assert all(
        FICTIONAL in str(request.data)
        for request in Request.objects.filter(declaration_code__in=["eio", "mla", "preservation"])
    )
    # Spread over the past months, none in the future.
    created = Request.objects.values_list("created_at", flat=True)
    assert max(created) <= timezone.now()
    assert (max(created) - min(created)).days >= 120

    # The audit trail is chained as if each step had been recorded as it happened.
    assert audit_verify() == []
    for request in Request.objects.select_related("executing_authority", "counterpart"):
        entries = list(request.audit_entries.order_by("sequence"))
        assert [e for e in entries if e.to_state][-1].to_state == request.state
        for before, entry in itertools.pairwise(entries):
            assert entry.at >= before.at
        moves = [entry for entry in entries if entry.to_state]
        for before, entry in itertools.pairwise(moves):
            if entry.from_state != entry.to_state:
                assert entry.from_state == before.to_state, entry.event
                assert (entry.from_state, entry.to_state) in transitions, entry.event
        # The deadlines and the next due instant are those the engine computes from them.
        stored = list(request.deadlines.order_by("code").values(*DEADLINE_COLUMNS))
        next_due = request.next_due_at
        deadlines_refresh(request=request, now=now)
        request.refresh_from_db(fields=["next_due_at"])
        assert list(request.deadlines.order_by("code").values(*DEADLINE_COLUMNS)) == stored
        assert request.next_due_at == next_due
        # Both copies of a sent request, each the other's counterpart and in the same state
        # (the issuing copy says "delivered" where the other has not acknowledged yet).
        if request.direction == "incoming":
            issuing = request.counterpart
            assert issuing is not None
            assert issuing.counterpart_id == request.pk
            assert issuing.reference == request.reference
            if request.state not in (State.RECEIVED, State.ASSIGNED):
                assert issuing.state == request.state

    # Each side sees its own copies.
    intake = User.objects.get(username="intake.de")
    prosecutor = User.objects.get(username="prosecutor.fr")

    received = visible_requests(user=intake)
    issued = visible_requests(user=prosecutor)

    assert received.filter(direction="incoming").count() > 50
    assert not received.filter(direction="outgoing", issuing_authority=prosecutor.authority)
    assert issued.filter(direction="outgoing").count() > 50
    assert not issued.filter(direction="incoming")

    # A second run adds nothing.
    count = Request.objects.count()
    assert demo_history_ensure() == 0
    assert Request.objects.count() == count


def test_the_supervisor_statistics_page_shows_the_history(client, history):
    supervisor = User.objects.get(username="supervisor.de")
    client.force_login(supervisor)

    response = client.get(reverse("statistics:page"))

    assert response.status_code == 200
    found = response.context["statistics"]
    assert found.authority == supervisor.authority
    assert found.counts.total > 100
    assert {row.key for row in found.counts.by_state} >= {"executed", "refused", "recognised"}
    assert {row.key for row in found.counts.by_instrument} >= {"eio", "preservation"}
    assert found.durations
    assert any(row.on_time and row.missed for row in found.deadlines)
    assert "Executed" in response.content.decode()
