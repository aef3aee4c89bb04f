"""Escalation of deadlines over frozen time: who hears what and when, once per deadline and
level, even when the task runs twice or two runs overlap."""

import datetime
import threading

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from mla.instruments.declarations import declaration_for
from mla.notifications.models import Notification
from mla.requests.deadlines.escalation import EscalationReport, deadlines_escalate
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.executing import (
    request_acknowledge,
    request_assign,
    request_extend_preservation,
    request_preserve,
)
from mla.requests.lifecycle.issuing import request_send, request_submit
from mla.requests.models import AuditEntry, Request
from mla.requests.tasks import deadlines_check, deadlines_escalate_task
from tests.support.factories import UserFactory
from tests.support.samples import complete_data

UTC = datetime.UTC
# A Monday in June: no clock change within the 60 days counted from it.
T0 = datetime.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)


def _sent(draft, prosecutor, *, provisional=False):
    """Complete, submit and send an EIO at the current (frozen) time: (issuing, executing)."""
    draft.data = complete_data(declaration_for(draft.declaration_code))
    if draft.declaration_code == "eio":
        draft.data["K"]["issuer_type"] = "prosecutor"
        draft.data.pop("L")
        if provisional:
            draft.data["C"]["measures"] = [*draft.data["C"]["measures"], "provisional_measures"]
    draft.save()
    request_submit(request=draft, actor=prosecutor)
    request_send(request=draft, actor=prosecutor)
    draft.refresh_from_db()
    return draft, draft.counterpart


def _escalate(moment):
    with time_machine.travel(moment, tick=False):
        return deadlines_escalate()


def _notified(kind):
    return Notification.objects.filter(kind=kind)


@pytest.fixture
def colleague(authorities):
    return UserFactory(
        username="lena", authority=authorities["berlin"], roles=["central_authority_staff"]
    )


@pytest.fixture
def supervisor(authorities):
    return UserFactory(username="sabine", authority=authorities["berlin"], roles=["supervisor"])


@pytest.fixture
def paris_supervisor(authorities):
    return UserFactory(username="pierre", authority=authorities["paris"], roles=["supervisor"])


@pytest.fixture
def us_staff(authorities):
    return UserFactory(
        username="sam", authority=authorities["us_247"], roles=["contact_point_staff"]
    )


@pytest.mark.django_db
def test_a_seven_day_deadline_warns_the_staff_24_hours_before_not_25(
    eio_draft, prosecutor, berlin_staff, colleague
):
    with time_machine.travel(T0, tick=False):
        _issuing, executing = _sent(eio_draft, prosecutor)
    due = executing.deadlines.get(code="acknowledgement").due_at
    assert due == T0 + datetime.timedelta(days=7)

    assert _escalate(due - 25 * HOUR) == EscalationReport()
    assert not _notified("deadline_approaching").exists()

    report = _escalate(due - 24 * HOUR)

    assert report == EscalationReport(approaching=2)
    notes = _notified("deadline_approaching")
    # Nobody holds it yet: the executing staff hear of it; the issuing side does not.
    assert {note.recipient for note in notes} == {berlin_staff, colleague}
    note = notes.get(recipient=berlin_staff)
    assert note.request == executing
    assert note.url == executing.get_absolute_url()
    assert note.subject == (
        f"{executing.reference}: Acknowledgement of receipt (Annex B), 1 d left"
    )
    assert "Art. 16(1)" in note.body
    assert note.dedupe_key.endswith(f":{due.isoformat()}:approaching")


@pytest.mark.django_db
def test_a_24_hour_deadline_warns_at_a_fifth_of_its_span(eio_draft, prosecutor, berlin_staff):
    with time_machine.travel(T0, tick=False):
        _issuing, executing = _sent(eio_draft, prosecutor, provisional=True)
    provisional = executing.deadlines.get(code="provisional_measures")
    assert provisional.due_at == T0 + 24 * HOUR

    # 6 hours before is inside the 24-hour window but not within a fifth (4.8 hours).
    assert _escalate(provisional.due_at - 6 * HOUR) == EscalationReport()
    report = _escalate(provisional.due_at - datetime.timedelta(hours=4, minutes=48))

    assert report == EscalationReport(approaching=1)
    note = _notified("deadline_approaching").get()
    assert note.recipient == berlin_staff
    assert "Decision on the provisional measure" in note.subject
    assert note.dedupe_key == (
        f"deadline:{provisional.pk}:{provisional.due_at.isoformat()}:approaching"
    )


@pytest.mark.django_db
def test_a_missed_deadline_tells_the_assignee_and_supervisors_and_marks_the_request_once(
    sent_eio, berlin_staff, colleague, supervisor, paris_supervisor
):
    # sent_eio is delivered now; acknowledged and assigned at once, then left undecided.
    _issuing, executing = sent_eio
    request_acknowledge(request=executing, actor=berlin_staff)
    request_assign(
        request=Request.objects.get(pk=executing.pk), actor=berlin_staff, assignee=berlin_staff
    )
    recognition = executing.deadlines.get(code="recognition")
    after_due = recognition.due_at + datetime.timedelta(minutes=1)
    with time_machine.travel(after_due, tick=False):
        deadlines_check()  # the every-minute check marked it missed already
    recognition.refresh_from_db()
    assert recognition.state == "missed"

    report = _escalate(after_due + HOUR)

    assert report == EscalationReport(missed=2, marked=1)
    notes = _notified("deadline_missed")
    # The assignee (not the other staff) and the executing authority's supervisors only.
    assert {note.recipient for note in notes} == {berlin_staff, supervisor}
    assert "Decision on the recognition or execution" in notes.first().subject
    mark = AuditEntry.objects.get(request=executing, event="deadline_missed")
    assert mark.payload == {
        "deadline": "recognition",
        "due_at": recognition.due_at.isoformat(),
    }
    assert (mark.actor, mark.actor_name) == (None, "system")

    assert _escalate(after_due + 2 * HOUR) == EscalationReport()
    assert AuditEntry.objects.filter(event="deadline_missed").count() == 1
    assert notes.count() == 2


@pytest.mark.django_db
def test_a_deadline_past_due_but_not_yet_marked_missed_is_escalated_to_all_staff(
    eio_draft, prosecutor, berlin_staff, colleague, supervisor
):
    with time_machine.travel(T0, tick=False):
        _issuing, executing = _sent(eio_draft, prosecutor)
    due = executing.deadlines.get(code="acknowledgement").due_at

    report = _escalate(due + datetime.timedelta(minutes=2))

    assert report == EscalationReport(missed=3, marked=1)
    assert {n.recipient for n in _notified("deadline_missed")} == {
        berlin_staff,
        colleague,
        supervisor,
    }
    # Marking it recomputed its deadlines: the acknowledgement now reads missed.
    assert executing.deadlines.get(code="acknowledgement").state == "missed"


@pytest.mark.django_db
def test_a_preservation_ending_in_ten_days_tells_the_prosecutor_with_both_ways_on(
    prosecutor, countries, authorities, us_staff
):
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
    assert period.due_at == T0 + datetime.timedelta(days=60)

    ten_days_before = period.due_at - datetime.timedelta(days=10)
    assert _escalate(ten_days_before - HOUR) == EscalationReport()
    report = _escalate(ten_days_before)

    assert report == EscalationReport(preservation_expiring=1)
    note = _notified("preservation_expiring").get()
    assert note.recipient == prosecutor
    assert note.request == issuing
    site = settings.SITE_URL.rstrip("/")
    assert f"Extend the preservation (ask US 24/7 point): {site}/requests/" in note.body
    assert f"Send the follow-up MLA request: {site}/requests/new/?country=US" in note.body
    assert f"{site}{issuing.get_absolute_url()}#step-follow_up" in note.body
    assert _escalate(ten_days_before + HOUR) == EscalationReport()

    # Extended: a new end, so a new warning ten days before it.
    with time_machine.travel(ten_days_before + 2 * HOUR, tick=False):
        request_extend_preservation(
            request=Request.objects.get(pk=executing.pk),
            actor=us_staff,
            days=90,
            reason="MLA request in preparation",
        )
    extended = issuing.deadlines.get(code="preservation")
    assert extended.due_at > period.due_at
    report = _escalate(extended.due_at - datetime.timedelta(days=9))
    assert report == EscalationReport(preservation_expiring=1)
    assert _notified("preservation_expiring").count() == 2


@pytest.mark.django_db
def test_running_the_task_twice_creates_nothing_new(
    eio_draft, prosecutor, berlin_staff, supervisor
):
    with time_machine.travel(T0, tick=False):
        _sent(eio_draft, prosecutor, provisional=True)
    # The provisional measure is overdue; the acknowledgement is due in under 24 hours.
    moment = T0 + datetime.timedelta(days=6, hours=9)

    with time_machine.travel(moment, tick=False):
        first = deadlines_escalate_task()
        second = deadlines_escalate_task()

    assert first == {
        "approaching": 1,
        "missed": 2,
        "preservation_expiring": 0,
        "marked": 1,
        "repeated": 0,
    }
    assert second == {
        "approaching": 0,
        "missed": 0,
        "preservation_expiring": 0,
        "marked": 0,
        "repeated": 0,
    }
    assert Notification.objects.filter(kind__startswith="deadline_").count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_notify_and_mark_once(
    eio_draft, prosecutor, berlin_staff, colleague, supervisor
):
    with time_machine.travel(T0, tick=False):
        _issuing, executing = _sent(eio_draft, prosecutor, provisional=True)
    moment = T0 + datetime.timedelta(days=6, hours=9)
    barrier = threading.Barrier(2)
    reports: list[EscalationReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(deadlines_escalate(now=moment))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    with time_machine.travel(moment, tick=False):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    # Staff of two (approaching), staff of two and a supervisor (missed): five, once each.
    assert sum(r.approaching for r in reports) == 2
    assert sum(r.missed for r in reports) == 3
    assert sum(r.marked for r in reports) == 1
    assert Notification.objects.filter(kind__startswith="deadline_").count() == 5
    assert AuditEntry.objects.filter(request=executing, event="deadline_missed").count() == 1


@pytest.mark.django_db
def test_each_recipient_reads_the_due_time_in_their_own_zone(
    eio_draft, prosecutor, berlin_staff, colleague, authorities
):
    authorities["berlin"].time_zone = "Europe/Berlin"
    authorities["berlin"].save()
    colleague.time_zone = "America/New_York"
    colleague.save()
    with time_machine.travel(T0, tick=False):
        _issuing, _executing = _sent(eio_draft, prosecutor)

    _escalate(T0 + datetime.timedelta(days=6))

    notes = _notified("deadline_approaching")
    # Due 2026-06-08 08:00 UTC: 10:00 in Berlin (the authority's zone), 04:00 in New York.
    assert "due on 2026-06-08 10:00 CEST (Europe/Berlin)" in notes.get(recipient=berlin_staff).body
    assert "due on 2026-06-08 04:00 EDT (America/New_York)" in notes.get(recipient=colleague).body
