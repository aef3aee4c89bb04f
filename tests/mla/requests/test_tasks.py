"""Deadlines stored, recomputed and checked over (frozen) time, across a daylight-saving
change; the periodic checks and their idempotency."""

import datetime

import pytest
import time_machine

from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.executing import (
    request_acknowledge,
    request_extend_recognition,
    request_preserve,
)
from mla.requests.lifecycle.issuing import request_send, request_submit
from mla.requests.models import Request
from mla.requests.tasks import deadlines_check, preservations_check
from tests.support.samples import complete_data

UTC = datetime.UTC


def _at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def berlin_in_its_zone(authorities):
    authorities["berlin"].time_zone = "Europe/Berlin"
    authorities["berlin"].save()
    return authorities["berlin"]


def _send(ready, prosecutor):
    request_send(request=ready, actor=prosecutor)
    ready.refresh_from_db()
    return ready, ready.counterpart


@pytest.mark.django_db
def test_the_deadline_table_across_the_autumn_clock_change(
    ready_eio, prosecutor, berlin_staff, berlin_in_its_zone
):
    # Received on Tuesday 20 October 2026 at 10:00 in Berlin (CEST, UTC+2); clocks go back
    # on Sunday 25 October, so "7 days later at 10:00 Berlin time" is 09:00 UTC.
    with time_machine.travel(_at("2026-10-20T08:00:00"), tick=False):
        issuing, executing = _send(ready_eio, prosecutor)

    table = {d.code: d for d in executing.deadlines.all()}
    assert table["acknowledgement"].due_at == _at("2026-10-27T09:00:00")
    assert table["recognition"].due_at == _at("2026-11-19T09:00:00")
    # The requested date of section B (2026-11-20) ends at midnight in Berlin.
    assert table["requested_date"].due_at == _at("2026-11-20T23:00:00")
    assert {d.state for d in table.values()} == {"running"}

    # One hour before the due instant nothing is missed; one minute after, it is.
    with time_machine.travel(_at("2026-10-27T08:00:00"), tick=False):
        assert deadlines_check() == 0
    with time_machine.travel(_at("2026-10-27T09:01:00"), tick=False):
        assert deadlines_check() == 2  # both copies
        assert deadlines_check() == 0  # a second run finds nothing left to do
    assert executing.deadlines.get(code="acknowledgement").state == "missed"
    assert issuing.deadlines.get(code="acknowledgement").state == "missed"
    assert executing.deadlines.get(code="recognition").state == "running"

    # Acknowledged late: met, marked late; an extension of the recognition with its reason.
    with time_machine.travel(_at("2026-10-28T07:00:00"), tick=False):
        request_acknowledge(request=executing, actor=berlin_staff)
        request_extend_recognition(
            request=Request.objects.get(pk=executing.pk),
            actor=berlin_staff,
            days=30,
            reason="Hearing of the bank needed",
        )
    acknowledgement = executing.deadlines.get(code="acknowledgement")
    assert (acknowledgement.state, acknowledgement.late) == ("met", True)
    recognition = executing.deadlines.get(code="recognition")
    assert recognition.state == "extended"
    assert recognition.due_at == _at("2026-12-19T09:00:00")


@pytest.mark.django_db
def test_the_spring_clock_change_shortens_the_elapsed_week(
    ready_eio, prosecutor, berlin_staff, berlin_in_its_zone
):
    # Received Wednesday 25 March 2026, 10:00 Berlin (CET); clocks go forward on 29 March.
    with time_machine.travel(_at("2026-03-25T09:00:00"), tick=False):
        _issuing, executing = _send(ready_eio, prosecutor)

    due = executing.deadlines.get(code="acknowledgement").due_at
    assert due == _at("2026-04-01T08:00:00")
    assert due - executing.received_at == datetime.timedelta(days=7, hours=-1)


@pytest.mark.django_db
def test_a_lapsed_preservation_is_ended_once(prosecutor, countries, authorities):
    from tests.support.factories import UserFactory

    us_staff = UserFactory(authority=authorities["us_247"], roles=["contact_point_staff"])
    draft = request_create(
        actor=prosecutor,
        declaration_code="preservation",
        executing_country=countries["US"],
        executing_authority=authorities["us_247"],
    )
    draft.data = complete_data(declaration_for("preservation"))
    draft.save()
    with time_machine.travel(_at("2026-06-01T12:00:00"), tick=False):
        request_submit(request=draft, actor=prosecutor)
        issuing, executing = _send(draft, prosecutor)
        request_acknowledge(request=executing, actor=us_staff)
        request_preserve(request=Request.objects.get(pk=executing.pk), actor=us_staff)

    with time_machine.travel(_at("2026-07-31T11:00:00"), tick=False):
        assert preservations_check() == 0  # 60 days not over yet
    with time_machine.travel(_at("2026-07-31T13:00:00"), tick=False):
        assert preservations_check() == 1
        assert preservations_check() == 0

    issuing.refresh_from_db()
    executing.refresh_from_db()
    assert (issuing.state, executing.state) == ("expired", "expired")
    assert executing.deadlines.get(code="preservation").state == "missed"
    assert executing.audit_entries.last().actor_name == "system"


@pytest.mark.django_db
def test_the_render_task_keeps_the_pdf_for_download(eio_draft, document_storage):
    from mla.requests.documents.downloads import request_document_content
    from mla.requests.tasks import request_document_render_task

    assert request_document_render_task.apply(args=[eio_draft.pk]).get() == "ready"
    assert request_document_content(request=eio_draft).startswith(b"%PDF-")
