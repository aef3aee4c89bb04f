"""The enforcing authority's clock (Regulation (EU) 2023/1543, Art. 12(1) and 10(4)): 10
calendar days from the receipt of the notification in its time zone, 96 hours in an
emergency, met by its decision; on its copy and on the notification's issuing copy."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from mla.instruments import eevidence
from mla.instruments.declarations import eevidence as eevidence_declarations
from mla.requests.deadlines.engine import MET_BY, LifecycleEvent, deadline_schedule
from mla.requests.events import Event
from mla.requests.lifecycle.enforcing import (
    enforcing_grounds_raise,
    enforcing_no_grounds,
    notifications_of,
)
from mla.requests.lifecycle.executing import request_acknowledge
from mla.requests.lifecycle.issuing import request_send
from mla.requests.models import Request

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
UTC = datetime.UTC


def _send(ready_epoc, parties, at, **options):
    with time_machine.travel(at, tick=False):
        epoc = ready_epoc(**options)
        request_send(request=epoc, actor=parties["prosecutor"])
    (notification,) = notifications_of(certificate=Request.objects.get(pk=epoc.pk))
    return notification, Request.objects.get(pk=notification.counterpart_id)


def _deadlines(request):
    return {row.code: row for row in Request.objects.get(pk=request.pk).deadlines.all()}


def test_every_enforcing_deadline_is_met_by_a_decision():
    for rule in eevidence_declarations.ENFORCING_DEADLINES:
        assert MET_BY[rule.code] == {Event.NO_GROUNDS, Event.GROUNDS_RAISED}


def test_ten_days_across_the_autumn_change_of_time(ready_epoc, eevidence_parties):
    # Received on 20 October 2026 at 10:00 in Paris (summer time); the clocks go back on
    # 25 October: due on 30 October at 10:00 in Paris (winter time), 241 hours later.
    received = datetime.datetime(2026, 10, 20, 10, 0, tzinfo=PARIS)
    notification, enforcing = _send(ready_epoc, eevidence_parties, received)

    for copy in (enforcing, notification):
        deadlines = _deadlines(copy)
        assert set(deadlines) == {eevidence.ENFORCING_ASSESSMENT}
        row = deadlines[eevidence.ENFORCING_ASSESSMENT]
        assert row.due_at == datetime.datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
        assert row.due_at - row.starts_at == datetime.timedelta(hours=241)
        assert row.due_at.astimezone(PARIS).hour == 10
        assert row.state == "running"
        assert row.source == "Regulation (EU) 2023/1543, Art. 12(1)"
    assert Request.objects.get(pk=enforcing.pk).next_due_at == datetime.datetime(
        2026, 10, 30, 9, 0, tzinfo=UTC
    )

    staff = eevidence_parties["enforcing_staff"]
    with time_machine.travel(datetime.datetime(2026, 10, 26, 9, 0, tzinfo=PARIS), tick=False):
        request_acknowledge(request=enforcing, actor=staff)
        # Confirmed before the 10 days end (Art. 10(2)): met, not late.
        enforcing_no_grounds(request=Request.objects.get(pk=enforcing.pk), actor=staff)

    for copy in (enforcing, notification):
        row = _deadlines(copy)[eevidence.ENFORCING_ASSESSMENT]
        assert row.state == "met"
        assert row.met_at == datetime.datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
        assert not row.late
    assert Request.objects.get(pk=enforcing.pk).next_due_at is None


def test_ninety_six_hours_across_the_spring_change_of_time(ready_epoc, eevidence_parties):
    # An emergency notified on 27 March 2026 at 12:00 in Paris; the clocks go forward on
    # 29 March. 96 hours are elapsed time: due on 31 March at 13:00 in Paris.
    received = datetime.datetime(2026, 3, 27, 12, 0, tzinfo=PARIS)
    notification, enforcing = _send(
        ready_epoc, eevidence_parties, received, categories=(eevidence.CONTENT,), emergency=True
    )

    for copy in (enforcing, notification):
        deadlines = _deadlines(copy)
        assert set(deadlines) == {eevidence.ENFORCING_ASSESSMENT_EMERGENCY}
        row = deadlines[eevidence.ENFORCING_ASSESSMENT_EMERGENCY]
        assert row.due_at == datetime.datetime(2026, 3, 31, 11, 0, tzinfo=UTC)
        assert row.due_at - row.starts_at == datetime.timedelta(hours=96)
        assert row.due_at.astimezone(PARIS).hour == 13

    staff = eevidence_parties["enforcing_staff"]
    late = datetime.datetime(2026, 3, 31, 14, 0, tzinfo=PARIS)
    with time_machine.travel(late, tick=False):
        request_acknowledge(request=enforcing, actor=staff)
        row = _deadlines(enforcing)[eevidence.ENFORCING_ASSESSMENT_EMERGENCY]
        assert row.state == "missed"
        enforcing_grounds_raise(
            request=Request.objects.get(pk=enforcing.pk),
            actor=staff,
            scope=eevidence.FULL,
            ground="fundamental_rights",
            explanation="A manifest breach.",
        )

    for copy in (enforcing, notification):
        row = _deadlines(copy)[eevidence.ENFORCING_ASSESSMENT_EMERGENCY]
        assert row.state == "met"
        assert row.late


def test_the_engine_counts_the_rules_from_the_receipt():
    declaration = _declaration_with_enforcing_deadlines()
    received = datetime.datetime(2026, 10, 20, 10, 0, tzinfo=PARIS)
    (ten_days,) = deadline_schedule(
        declaration=declaration,
        data={"C": {"deadline": eevidence.TEN_DAYS}},
        events=[LifecycleEvent(kind=Event.RECEIVED, at=received)],
        zone="Europe/Paris",
        now=received,
    )
    (emergency,) = deadline_schedule(
        declaration=declaration,
        data={"C": {"deadline": eevidence.EIGHT_HOURS}},
        events=[LifecycleEvent(kind=Event.RECEIVED, at=received)],
        zone="Europe/Paris",
        now=received,
    )

    assert ten_days.code == eevidence.ENFORCING_ASSESSMENT
    assert ten_days.due_at == datetime.datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
    assert emergency.code == eevidence.ENFORCING_ASSESSMENT_EMERGENCY
    assert emergency.due_at == received + datetime.timedelta(hours=96)


def _declaration_with_enforcing_deadlines():
    from mla.instruments.declarations.schema import InstrumentDeclaration

    return InstrumentDeclaration(
        code=eevidence.EPOC_NOTIFICATION,
        directory_instrument=eevidence.EPOC_NOTIFICATION,
        title="epoc_notification.title",
        legal_basis="Regulation (EU) 2023/1543",
        sections=(),
        channel="epoc_notification.channel",
        issuer_kinds=("court",),
        deadlines=eevidence_declarations.ENFORCING_DEADLINES,
    )
