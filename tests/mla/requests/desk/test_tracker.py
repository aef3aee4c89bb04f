"""The prosecutor's tracker: rows, late prompts over frozen time, the chase and its limits."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mla.core.errors import ApplicationError
from mla.instruments.declarations import declaration_for
from mla.notifications.models import Notification
from mla.requests.desk.tracker import (
    NO_ACKNOWLEDGEMENT,
    NO_DECISION,
    latest_entries,
    request_chase,
    tracker_rows,
)
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.executing import request_acknowledge, request_assign
from mla.requests.lifecycle.issuing import request_send, request_submit
from mla.requests.models import AuditEntry, Request
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.samples import complete_data

UTC = datetime.UTC
T0 = datetime.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
DAY = datetime.timedelta(days=1)


def _draft(prosecutor, countries, authorities):
    draft = request_create(
        actor=prosecutor,
        declaration_code="eio",
        executing_country=countries["DE"],
        executing_authority=authorities["berlin"],
    )
    draft.data = complete_data(declaration_for("eio"))
    draft.data["K"]["issuer_type"] = "prosecutor"
    draft.data.pop("L")
    draft.save()
    return draft


def _sent(prosecutor, countries, authorities, *, at=T0):
    """An EIO from Paris delivered to Berlin at ``at``: (issuing, executing)."""
    draft = _draft(prosecutor, countries, authorities)
    with time_machine.travel(at, tick=False):
        request_submit(request=draft, actor=prosecutor)
        request_send(request=draft, actor=prosecutor)
    draft.refresh_from_db()
    return draft, draft.counterpart


def _rows(user, at, **options):
    with time_machine.travel(at, tick=False):
        return tracker_rows(user=user, cursor=None, size=50, **options).rows


def _row(user, at, request):
    return next(row for row in _rows(user, at) if row.request.pk == request.pk)


@pytest.fixture
def clerk(authorities):
    """A colleague of the author at Paris who is not a prosecutor."""
    return UserFactory(username="claude", authority=authorities["paris"])


@pytest.mark.django_db
def test_a_delivered_request_is_late_seven_days_after_delivery(
    prosecutor, countries, authorities, berlin_staff
):
    issuing, _executing = _sent(prosecutor, countries, authorities)
    draft = _draft(prosecutor, countries, authorities)  # not sent: not tracked

    row = _row(prosecutor, T0 + 6 * DAY, issuing)
    assert (row.prompt, row.may_chase) == ("", False)
    assert [r.request.pk for r in _rows(prosecutor, T0 + 6 * DAY)] == [issuing.pk]
    assert draft.pk not in [r.request.pk for r in _rows(prosecutor, T0 + 6 * DAY)]

    row = _row(prosecutor, T0 + 8 * DAY, issuing)
    assert row.prompt == NO_ACKNOWLEDGEMENT
    assert row.prompt_text == "No acknowledgement 7 days after delivery"
    assert row.may_chase
    assert row.title == "European Investigation Order (EIO)"
    assert row.last_event is not None
    assert (row.last_event.event, row.last_event.authority_name) == (
        "delivered",
        "Staatsanwaltschaft Berlin",
    )
    # The nearest open deadline, overdue by now, in the user's authority's zone.
    deadline = row.next_deadline
    assert deadline is not None
    assert deadline.label == "Acknowledgement of receipt (Annex B)"
    assert deadline.overdue
    assert deadline.zone == authorities["paris"].time_zone
    assert deadline.due == T0 + 7 * DAY
    assert deadline.due.tzinfo.key == authorities["paris"].time_zone


@pytest.mark.django_db
def test_an_acknowledged_request_is_late_thirty_days_after_acknowledgement(
    prosecutor, countries, authorities, berlin_staff
):
    issuing, executing = _sent(prosecutor, countries, authorities)
    with time_machine.travel(T0 + DAY, tick=False):
        request_acknowledge(request=executing, actor=berlin_staff)
    issuing.refresh_from_db()
    assert issuing.state == Request.State.ACKNOWLEDGED

    assert _row(prosecutor, T0 + 30 * DAY, issuing).prompt == ""
    row = _row(prosecutor, T0 + 32 * DAY, issuing)
    assert row.prompt == NO_DECISION
    assert row.prompt_text == "No decision 30 days after acknowledgement"
    assert row.last_event is not None
    assert row.last_event.event == "acknowledged"
    assert row.next_deadline is not None
    assert row.next_deadline.label == "Decision on the recognition or execution"


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_for_3_or_15_requests(
    prosecutor, countries, authorities, berlin_staff
):
    def queries(count):
        user = type(prosecutor).objects.get(pk=prosecutor.pk)  # nothing cached on it
        with CaptureQueriesContext(connection) as captured:
            rows = _rows(user, when)
        assert len(rows) == count
        return len(captured.captured_queries)

    for _ in range(3):
        _sent(prosecutor, countries, authorities)
    when = T0 + 8 * DAY
    small = queries(3)
    for index in range(12):
        _issuing, executing = _sent(prosecutor, countries, authorities)
        if index % 3 == 0:
            with time_machine.travel(T0 + DAY, tick=False):
                request_acknowledge(request=executing, actor=berlin_staff)
    assert queries(15) == small
    assert small <= 6


@pytest.mark.django_db
def test_the_latest_entries_read_the_same_with_or_without_distinct_on(
    prosecutor, countries, authorities, berlin_staff
):
    issuing, executing = _sent(prosecutor, countries, authorities)
    other, _other_executing = _sent(prosecutor, countries, authorities)
    request_acknowledge(request=executing, actor=berlin_staff)
    ids = [issuing.pk, other.pk]

    for per_event in (False, True):
        fast, portable = (
            latest_entries(
                request_ids=ids, condition=Q(), per_event=per_event, distinct_on=distinct_on
            )
            for distinct_on in (True, False)
        )
        assert sorted(e.pk for e in fast) == sorted(e.pk for e in portable)
    latest = {e.request_id: e.event for e in latest_entries(request_ids=ids, condition=Q())}
    assert latest == {issuing.pk: "acknowledged", other.pk: "delivered"}


@pytest.mark.django_db
def test_a_chase_is_recorded_on_both_copies_and_told_to_the_assignee(
    prosecutor, countries, authorities, berlin_staff
):
    colleague = UserFactory(authority=authorities["berlin"], roles=["contact_point_staff"])
    issuing, executing = _sent(prosecutor, countries, authorities)
    with time_machine.travel(T0 + 8 * DAY, tick=False):
        request_chase(request=issuing, actor=prosecutor, note="Please confirm receipt.")

    mine = AuditEntry.objects.get(request=issuing, event="chased")
    assert (mine.actor, mine.note, mine.at) == (prosecutor, "Please confirm receipt.", T0 + 8 * DAY)
    theirs = AuditEntry.objects.get(request=executing, event="chased")
    assert (theirs.actor, theirs.actor_name, theirs.authority_name) == (
        None,
        prosecutor.get_full_name(),
        "Parquet de Paris",
    )
    # Nobody holds it: all the executing staff hear of it, in their inbox.
    told = Notification.objects.filter(request=executing, subject__contains="asks where")
    assert {n.recipient for n in told} == {berlin_staff, colleague}
    note = told.get(recipient=berlin_staff)
    assert note.subject == f"Parquet de Paris asks where {issuing.reference} stands"
    assert note.body.endswith("Please confirm receipt.")
    # The tracker shows it was chased, and offers no second chase the same day.
    row = _row(prosecutor, T0 + 8 * DAY + datetime.timedelta(hours=1), issuing)
    assert row.prompt == NO_ACKNOWLEDGEMENT
    assert not row.may_chase
    assert row.chased_at == T0 + 8 * DAY

    # Once acknowledged and assigned, only the assignee hears of the next chase.
    with time_machine.travel(T0 + 9 * DAY, tick=False):
        request_acknowledge(request=Request.objects.get(pk=executing.pk), actor=berlin_staff)
        request_assign(
            request=Request.objects.get(pk=executing.pk), actor=berlin_staff, assignee=colleague
        )
        request_chase(request=Request.objects.get(pk=issuing.pk), actor=prosecutor)
    assert told.all().count() == 3  # told was read above: count afresh
    assert told.latest("pk").recipient == colleague


@pytest.mark.django_db
def test_a_second_chase_within_24_hours_is_refused(
    prosecutor, countries, authorities, berlin_staff
):
    issuing, _executing = _sent(prosecutor, countries, authorities)
    with time_machine.travel(T0 + 8 * DAY, tick=False):
        request_chase(request=issuing, actor=prosecutor)
    with (
        time_machine.travel(T0 + 9 * DAY - datetime.timedelta(minutes=1), tick=False),
        pytest.raises(ApplicationError, match="it can be chased again from"),
    ):
        request_chase(request=issuing, actor=prosecutor)
    with time_machine.travel(T0 + 9 * DAY, tick=False):
        request_chase(request=issuing, actor=prosecutor)
    assert AuditEntry.objects.filter(request=issuing, event="chased").count() == 2


@pytest.mark.django_db
def test_only_the_author_or_a_prosecutor_chases_a_request_awaited_from_the_other_side(
    prosecutor, countries, authorities, berlin_staff, clerk
):
    issuing, executing = _sent(prosecutor, countries, authorities)
    draft = _draft(prosecutor, countries, authorities)
    with pytest.raises(ApplicationError, match=r"Only a prosecutor .* chases a request"):
        request_chase(request=issuing, actor=clerk)
    with pytest.raises(ApplicationError, match=r"Only a prosecutor .* chases a request"):
        request_chase(request=executing, actor=berlin_staff)
    with pytest.raises(ApplicationError, match="nothing is awaited"):
        request_chase(request=draft, actor=prosecutor)
    other_prosecutor = UserFactory(authority=authorities["paris"], roles=["prosecutor"])
    request_chase(request=issuing, actor=other_prosecutor)
    assert AuditEntry.objects.filter(event="chased").count() == 2  # both copies, once


@pytest.mark.django_db
def test_the_page_shows_the_prompt_and_chases(
    client, prosecutor, countries, authorities, berlin_staff
):
    issuing, executing = _sent(prosecutor, countries, authorities)
    client.force_login(prosecutor)
    with time_machine.travel(T0 + 8 * DAY, tick=False):
        page = client.get(reverse("requests:tracker")).content.decode()
        assert "No acknowledgement 7 days after delivery" in page
        chase_url = reverse("requests:chase", args=[*issuing.url_args])
        assert f'action="{chase_url}"' in page
        assert 'href="/requests/tracker/"' in page  # the menu

        response = client.post(chase_url, {"note": "Any news?"})
        assert response.status_code == 302
        assert response.url == reverse("requests:tracker")
        page = client.get(reverse("requests:tracker")).content.decode()
    assert AuditEntry.objects.get(request=issuing, event="chased").note == "Any news?"
    assert AuditEntry.objects.filter(request=executing, event="chased").exists()
    assert "the executing side was asked where it stands" in page
    assert f'action="{chase_url}"' not in page
    assert "Chased on" in page


@pytest.mark.django_db
def test_the_chase_page_refuses_clerks_and_hides_the_request_from_outsiders(
    client, prosecutor, countries, authorities, berlin_staff, clerk
):
    issuing, _executing = _sent(prosecutor, countries, authorities)
    chase_url = reverse("requests:chase", args=[*issuing.url_args])
    outsider = UserFactory(
        authority=AuthorityFactory(country=countries["FR"]), roles=["prosecutor"]
    )

    client.force_login(outsider)
    assert client.post(chase_url).status_code == 404
    assert client.get(chase_url).status_code == 405

    client.force_login(clerk)
    page = client.get(reverse("requests:tracker")).content.decode()
    assert issuing.reference in page
    assert f'action="{chase_url}"' not in page
    response = client.post(chase_url, follow=True)
    assert "Only a prosecutor (or another role allowed to issue)" in response.content.decode()
    assert not AuditEntry.objects.filter(event="chased").exists()


@pytest.mark.django_db
def test_the_tracker_page_costs_the_same_queries_for_2_or_12_requests(
    client, prosecutor, countries, authorities, berlin_staff
):
    client.force_login(prosecutor)
    url = reverse("requests:tracker")

    def counted():
        client.get(url)  # what a first request caches is not counted
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        return len(captured.captured_queries), response.content.decode()

    for _ in range(2):
        _sent(prosecutor, countries, authorities)
    few, _page = counted()
    for index in range(10):
        _issuing, executing = _sent(prosecutor, countries, authorities)
        if index % 3 == 0:
            request_acknowledge(request=executing, actor=berlin_staff)

    many, page = counted()

    assert many == few
    assert page.split("<tbody>")[1].split("</tbody>")[0].count("<tr") == 12


def test_the_issuers_own_annex_vi_is_not_news_from_the_provider(
    send_certificate, provider_staff, prosecutor
):
    from mla.instruments import eevidence
    from mla.requests.lifecycle.certificates import certificate_extend_preservation
    from mla.requests.lifecycle.executing import request_preserve

    issuing, provided = send_certificate(eevidence.EPOC_PR)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    before = _row(prosecutor, timezone.now(), issuing).last_event
    assert (before.event, before.authority_name) == ("preserved", provided.executing_authority.name)

    certificate_extend_preservation(
        request=Request.objects.get(pk=issuing.pk), actor=prosecutor, reason="Being validated"
    )

    after = _row(prosecutor, timezone.now(), issuing).last_event
    assert (after.event, after.authority_name) == ("preserved", provided.executing_authority.name)


def test_the_tracker_names_an_epoc_s_state_and_news_in_its_own_words(
    client, send_certificate, provider_staff, prosecutor, document_storage
):
    from mla.instruments import eevidence
    from mla.requests.lifecycle.certificates import certificate_produce
    from mla.requests.lifecycle.executing import request_preserve
    from tests.support.certificates import EPOC_SUBSCRIBER_DATA, FILES

    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    certificate_produce(
        request=Request.objects.get(pk=provided.pk), actor=provider_staff, files=FILES
    )
    client.force_login(prosecutor)

    page = client.get(reverse("requests:tracker")).content.decode()

    row = page.split(f">{issuing.reference}</a>")[1].split("</tr>")[0]
    assert "<td>Data received</td>" in row
    assert "Data produced<br>" in row
    assert "Executed" not in row
