"""The clocks of the e-Evidence certificates (Regulation (EU) 2023/1543) over frozen time:
which production clock applies, the Annex III answer, the EPOC-PR's 60 (+30) days held after
Annex V, across daylight-saving changes, and the escalation of the 8-hour emergency."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from mla.instruments import eevidence
from mla.instruments.declarations import declaration_for
from mla.notifications.models import Notification
from mla.requests.deadlines.engine import LifecycleEvent, deadline_schedule
from mla.requests.deadlines.escalation import EscalationReport, deadlines_escalate
from mla.requests.lifecycle.certificates import certificate_report_impossibility
from mla.requests.lifecycle.executing import request_acknowledge
from tests.support.certificates import (
    EPOC_DATA,
    EPOC_EMERGENCY_DATA,
    EPOC_SUBSCRIBER_DATA,
)
from tests.support.factories import UserFactory

UTC = datetime.UTC
BERLIN = ZoneInfo("Europe/Berlin")
EPOC = declaration_for(eevidence.EPOC)
EPOC_PR = declaration_for(eevidence.EPOC_PR)


def _schedule(declaration, data, events, now):
    return {
        row.code: row
        for row in deadline_schedule(
            declaration=declaration,
            data=data,
            events=[LifecycleEvent(kind, at, payload) for kind, at, payload in events],
            zone="Europe/Berlin",
            now=now,
        )
    }


def _at(*args):
    return datetime.datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("data", "source", "span"),
    [
        (EPOC_SUBSCRIBER_DATA, "Art. 10(3)", datetime.timedelta(days=10)),
        (EPOC_DATA, "Art. 10(2)", datetime.timedelta(days=10)),
        (EPOC_EMERGENCY_DATA, "Art. 10(4)", datetime.timedelta(hours=8)),
    ],
)
def test_one_production_clock_applies_as_the_certificate_reads(data, source, span):
    received = _at(2026, 9, 1, 10)
    rows = _schedule(EPOC, data, [("received", received, {})], received)

    assert list(rows) == ["production"]
    assert rows["production"].source == f"Regulation (EU) 2023/1543, {source}"
    assert rows["production"].due_at - received == span


def test_the_eight_hours_of_an_emergency_are_elapsed_time_across_the_spring_change():
    # 00:30 CET on 29 March 2026; clocks jump from 02:00 to 03:00.
    received = _at(2026, 3, 29, 0, 30)
    rows = _schedule(EPOC, EPOC_EMERGENCY_DATA, [("received", received, {})], received)

    due = rows["production"].due_at
    assert due == datetime.datetime(2026, 3, 29, 7, 30, tzinfo=UTC)
    assert due - received == datetime.timedelta(hours=8)
    assert due.astimezone(BERLIN).hour == 9  # 09:30 CEST on the wall clock


def test_ten_days_are_calendar_days_across_the_autumn_change():
    # 10:00 CEST on 20 October; clocks go back on 25 October.
    received = _at(2026, 10, 20, 10)
    rows = _schedule(EPOC, EPOC_DATA, [("received", received, {})], received)

    due = rows["production"].due_at
    assert due.astimezone(BERLIN) == _at(2026, 10, 30, 10)
    assert due - received == datetime.timedelta(days=10, hours=1)


def test_annex_iii_holds_production_and_starts_the_five_days_of_the_answer():
    received = _at(2026, 9, 1, 10)
    reported = received + datetime.timedelta(days=2)
    answered = reported + datetime.timedelta(days=3)
    events = [("received", received, {}), ("impossibility_reported", reported, {})]

    held = _schedule(EPOC, EPOC_SUBSCRIBER_DATA, events, answered)
    assert held["production"].state == "suspended"
    assert held["impossibility_answer"].due_at == reported + datetime.timedelta(days=5)
    assert held["impossibility_answer"].source == "Regulation (EU) 2023/1543, Art. 10(5)-(6)"

    rows = _schedule(
        EPOC,
        EPOC_SUBSCRIBER_DATA,
        [*events, ("impossibility_answered", answered, {"answer": "corrected"})],
        answered,
    )
    assert rows["impossibility_answer"].state == "met"
    assert rows["production"].state == "running"
    # The three days spent on the answer are added to the production's time.
    assert rows["production"].due_at == _at(2026, 9, 11, 10) + datetime.timedelta(days=3)

    late = _schedule(EPOC, EPOC_SUBSCRIBER_DATA, events, reported + datetime.timedelta(days=6))
    assert late["impossibility_answer"].state == "missed"


def test_an_epoc_pr_keeps_sixty_days_thirty_more_by_annex_vi_then_until_production():
    preserved = _at(2026, 9, 1, 10)
    extended = preserved + datetime.timedelta(days=40)
    events = [
        ("received", preserved, {}),
        ("preserved", preserved, {}),
        ("preservation_extended", extended, {"days": 30, "reason": "Annex VI"}),
    ]
    rows = _schedule(EPOC_PR, {}, events, extended)
    assert rows["preservation"].source == "Regulation (EU) 2023/1543, Art. 11(1)"
    # 90 calendar days in Berlin, across the autumn change.
    assert rows["preservation"].due_at.astimezone(BERLIN) == _at(2026, 11, 30, 10)

    followed = extended + datetime.timedelta(days=10)
    events.append(("followed_up", followed, {"request": "FR-EPOC-1"}))
    long_after = preserved + datetime.timedelta(days=200)
    assert _schedule(EPOC_PR, {}, events, long_after)["preservation"].state == "suspended"
    events += [("follow_up_decided", long_after, {}), ("expired", long_after, {})]
    assert _schedule(EPOC_PR, {}, events, long_after)["preservation"].state == "met"


@pytest.mark.django_db
def test_the_emergency_is_told_at_a_fifth_of_its_span_then_every_fifteen_minutes(
    send_certificate, provider, provider_staff
):
    supervisor = UserFactory(authority=provider, roles=["supervisor"])
    received = datetime.datetime(2026, 9, 1, 8, tzinfo=UTC)
    with time_machine.travel(received, tick=False):
        _issuing, provided = send_certificate(eevidence.EPOC, EPOC_EMERGENCY_DATA)
    due = received + datetime.timedelta(hours=8)
    warning = due - datetime.timedelta(hours=8) / 5  # 1 h 36 min before

    def escalate(moment):
        with time_machine.travel(moment, tick=False):
            return deadlines_escalate()

    assert escalate(warning - datetime.timedelta(minutes=1)) == EscalationReport()
    # The warning goes to the provider's staff who work it.
    assert escalate(warning) == EscalationReport(approaching=1)
    told = Notification.objects.filter(kind__startswith="deadline_")
    assert list(told.values_list("recipient__username", flat=True)) == ["pia"]
    assert escalate(warning + datetime.timedelta(minutes=5)) == EscalationReport()
    # Every 15 minutes, to the staff and the supervisors, once per quarter of an hour.
    assert escalate(warning + datetime.timedelta(minutes=15)) == EscalationReport(repeated=2)
    assert escalate(warning + datetime.timedelta(minutes=20)) == EscalationReport()
    assert escalate(warning + datetime.timedelta(minutes=30)) == EscalationReport(repeated=2)
    assert told.filter(recipient=supervisor).count() == 2
    # Missed: told as missed, and still every 15 minutes while nobody acknowledges.
    report = escalate(due + datetime.timedelta(minutes=1))
    assert (report.missed, report.marked) == (2, 1)
    assert escalate(due + datetime.timedelta(minutes=16)).repeated == 2

    with time_machine.travel(due + datetime.timedelta(minutes=20), tick=False):
        request_acknowledge(request=provided, actor=provider_staff)
    assert escalate(due + datetime.timedelta(minutes=31)) == EscalationReport()


@pytest.mark.django_db
def test_the_answer_to_an_annex_iii_is_not_the_providers_to_hear(send_certificate, provider_staff):
    reported = datetime.datetime(2026, 9, 1, 8, tzinfo=UTC)
    with time_machine.travel(reported, tick=False):
        _issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
        certificate_report_impossibility(
            request=provided, actor=provider_staff, reasons=["incomplete"], explanation="E empty."
        )
    assert provided.deadlines.get(code="impossibility_answer").state == "running"

    with time_machine.travel(reported + datetime.timedelta(days=5, hours=1), tick=False):
        report = deadlines_escalate()

    assert report.missed == 0
    assert not Notification.objects.filter(
        recipient=provider_staff, kind__startswith="deadline_"
    ).exists()
