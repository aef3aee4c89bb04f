"""What an authority's webhooks are told of its copies: each state change (from whichever
service it comes, through the audit trail), each deadline missed and each deadline's
warning once, and nothing of the other entries of the timeline."""

import datetime

import pytest
import time_machine

from mla.instruments.declarations import declaration_for
from mla.requests.deadlines.escalation import deadlines_escalate
from mla.requests.drafting.services import request_create, request_save_section
from mla.requests.lifecycle.executing import (
    request_acknowledge,
    request_assign,
    request_preserve,
)
from mla.requests.lifecycle.issuing import request_send, request_submit
from mla.requests.models import Deadline, Request
from mla.requests.tasks import deadlines_check
from mla.requests.webhook_events import deadlines_approaching_announce
from mla.webhooks.models import WebhookDelivery, WebhookEvent
from mla.webhooks.services import webhook_register
from tests.support.factories import UserFactory
from tests.support.samples import complete_data

UTC = datetime.UTC
T0 = datetime.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
URL = "http://127.0.0.1:9/hooks/mla"


def _told(authority) -> list[tuple[str, str, str]]:
    """(type, step, state) of each event recorded for ``authority``, in order."""
    return [
        (event.kind, event.payload.get("event", ""), event.payload["state"])
        for event in WebhookEvent.objects.filter(authority=authority).order_by("pk")
    ]


def _sent(draft, prosecutor):
    draft.data = complete_data(declaration_for(draft.declaration_code))
    if draft.declaration_code == "eio":
        draft.data["K"]["issuer_type"] = "prosecutor"
        draft.data.pop("L")
    draft.save()
    request_submit(request=draft, actor=prosecutor)
    request_send(request=draft, actor=prosecutor)
    draft.refresh_from_db()
    return draft, draft.counterpart


@pytest.fixture
def hooks(prosecutor, berlin_staff):
    """A webhook of Paris (issuing) and one of Berlin (executing)."""
    return (
        webhook_register(actor=prosecutor, url=URL).webhook,
        webhook_register(actor=berlin_staff, url=URL).webhook,
    )


@pytest.mark.django_db
def test_each_copy_s_state_changes_go_to_its_own_authority_s_webhooks(
    hooks, authorities, eio_draft, prosecutor, berlin_staff
):
    _issuing, executing = _sent(eio_draft, prosecutor)
    request_acknowledge(request=executing, actor=berlin_staff)

    assert _told(authorities["paris"]) == [
        ("request.state_changed", "created", "draft"),
        ("request.state_changed", "submit", "ready"),
        ("request.state_changed", "sent", "sent"),
        ("request.state_changed", "delivered", "delivered"),
        ("request.state_changed", "acknowledged", "acknowledged"),
    ]
    assert _told(authorities["berlin"]) == [
        ("request.state_changed", "received", "received"),
        ("request.state_changed", "acknowledged", "acknowledged"),
    ]
    received = WebhookEvent.objects.filter(authority=authorities["berlin"]).first()
    assert received.request == executing
    assert received.payload["authority"] == "de-berlin"
    assert received.payload["request"]["direction"] == "incoming"
    assert received.payload["request"]["issuer"] == "fr-paris"
    # One delivery per event and webhook of the authority.
    assert WebhookDelivery.objects.filter(webhook=hooks[0]).count() == 5
    assert WebhookDelivery.objects.filter(webhook=hooks[1]).count() == 2


@pytest.mark.django_db
def test_entries_that_change_no_state_tell_nothing(hooks, prosecutor, countries, authorities):
    draft = request_create(
        actor=prosecutor,
        declaration_code="eio",
        executing_country=countries["DE"],
        executing_authority=authorities["berlin"],
    )
    # Created: a draft is a state of the copy.
    assert _told(authorities["paris"]) == [("request.state_changed", "created", "draft")]

    request_save_section(
        request=draft,
        actor=prosecutor,
        section_code="A",
        values={},
        expected_version=draft.version,
    )

    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db
def test_a_missed_deadline_is_told_once_with_its_code_and_due_time(
    hooks, authorities, sent_eio, berlin_staff
):
    _issuing, executing = sent_eio
    request_acknowledge(request=executing, actor=berlin_staff)
    request_assign(
        request=Request.objects.get(pk=executing.pk), actor=berlin_staff, assignee=berlin_staff
    )
    recognition = executing.deadlines.get(code="recognition")
    after_due = recognition.due_at + datetime.timedelta(minutes=1)
    with time_machine.travel(after_due, tick=False):
        deadlines_check()
    before = WebhookEvent.objects.filter(authority=authorities["berlin"]).count()

    for hours in (1, 2):
        deadlines_escalate(now=after_due + hours * HOUR)

    missed = WebhookEvent.objects.filter(
        authority=authorities["berlin"], kind="request.deadline_missed"
    )
    assert missed.count() == 1
    assert WebhookEvent.objects.filter(authority=authorities["berlin"]).count() == before + 1
    assert missed.get().payload["deadline"] == {
        "code": "recognition",
        "due_at": recognition.due_at.isoformat(),
    }
    assert missed.get().payload["state"] == "assigned"


@pytest.mark.django_db
def test_an_approaching_deadline_is_told_once_whoever_is_notified(
    hooks, authorities, eio_draft, prosecutor, berlin_staff
):
    with time_machine.travel(T0, tick=False):
        _issuing, executing = _sent(eio_draft, prosecutor)
    due = executing.deadlines.get(code="acknowledgement").due_at

    with time_machine.travel(due - 25 * HOUR, tick=False):
        deadlines_escalate()
    assert not WebhookEvent.objects.filter(kind="request.deadline_approaching").exists()
    for moment in (due - 24 * HOUR, due - 23 * HOUR):
        with time_machine.travel(moment, tick=False):
            deadlines_escalate()

    approaching = WebhookEvent.objects.get(kind="request.deadline_approaching")
    assert approaching.authority == authorities["berlin"]
    assert approaching.request == executing
    assert approaching.payload["deadline"] == {
        "code": "acknowledgement",
        "due_at": due.isoformat(),
    }
    assert approaching.payload["request"]["direction"] == "incoming"


@pytest.mark.django_db
def test_a_preservation_ending_is_told_to_the_issuing_authority(prosecutor, countries, authorities):
    us_staff = UserFactory(
        username="sam", authority=authorities["us_247"], roles=["contact_point_staff"]
    )
    webhook_register(actor=prosecutor, url=URL)
    draft = request_create(
        actor=prosecutor,
        declaration_code="preservation",
        executing_country=countries["US"],
        executing_authority=authorities["us_247"],
    )
    with time_machine.travel(T0, tick=False):
        issuing, executing = _sent(draft, prosecutor)
        request_acknowledge(request=executing, actor=us_staff)
        request_preserve(request=Request.objects.get(pk=executing.pk), actor=us_staff)
    period = issuing.deadlines.get(code="preservation")

    for days in (10, 9):
        with time_machine.travel(period.due_at - datetime.timedelta(days=days), tick=False):
            deadlines_escalate()

    ending = WebhookEvent.objects.get(kind="request.deadline_approaching")
    assert ending.authority == authorities["paris"]
    assert ending.request == issuing
    assert ending.payload["deadline"]["code"] == "preservation"
    assert ending.payload["state"] == "preserved"


@pytest.mark.django_db
def test_a_batch_of_deadlines_of_authorities_without_webhooks_costs_one_query(
    authorities, eio_draft, prosecutor, berlin_staff, django_assert_num_queries
):
    with time_machine.travel(T0, tick=False):
        _sent(eio_draft, prosecutor)
    rows = list(Deadline.objects.select_related("request"))
    assert len(rows) > 1

    with django_assert_num_queries(1):
        deadlines_approaching_announce(
            deadlines=rows, dedupe_keys={row.pk: f"deadline:{row.pk}" for row in rows}
        )
