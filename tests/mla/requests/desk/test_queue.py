"""The incoming queue: order, filters, keyset pages, claims (and their race), bulk
acknowledgement, handover notes, the shift view and the polling endpoint."""

import datetime
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mla.core.errors import ApplicationError
from mla.instruments import eevidence
from mla.instruments.declarations import declaration_for
from mla.requests.access import request_grant_authority
from mla.requests.deadlines.store import deadlines_refresh
from mla.requests.desk.queue import (
    QueueFilters,
    queue_changes,
    queue_page,
    request_claim,
    request_handover_note_set,
    request_release,
    requests_acknowledge_bulk,
    shift_view,
)
from mla.requests.models import AuditEntry, Request, Urgency
from tests.support.factories import AuthorityFactory, UserFactory

State = Request.State


def _received(*, authorities, countries, prosecutor, n, urgency=Urgency.NORMAL, due_in=None, **kw):
    """A received request in Berlin's queue, built directly (the path to it is tested
    elsewhere): ``due_in`` sets its nearest deadline from now."""
    item = Request.objects.create(
        reference=f"FR-EIO-2026-{n:06d}",
        direction=Request.Direction.INCOMING,
        declaration_code=kw.pop("declaration_code", "eio"),
        issuing_authority=kw.pop("issuing", authorities["paris"]),
        executing_country=countries["DE"],
        executing_authority=authorities["berlin"],
        created_by=None,
        state=kw.pop("state", State.RECEIVED),
        received_at=timezone.now(),
        urgency=urgency,
        next_due_at=timezone.now() + due_in if due_in is not None else None,
        **kw,
    )
    Request.objects.filter(pk=item.pk).update(
        issuing_country_code=item.issuing_authority.country_code,
        instrument_code=declaration_for(item.declaration_code).directory_instrument,
    )
    request_grant_authority(request=item, authority=authorities["berlin"])
    item.refresh_from_db()
    return item


@pytest.fixture
def make(authorities, countries, prosecutor):
    counter = iter(range(1, 1000))

    def build(**kw):
        return _received(
            authorities=authorities,
            countries=countries,
            prosecutor=prosecutor,
            n=next(counter),
            **kw,
        )

    return build


@pytest.mark.django_db
def test_most_urgent_first_then_nearest_deadline_then_arrival(make, berlin_staff):
    hour = datetime.timedelta(hours=1)
    normal_soon = make(due_in=2 * hour)
    normal_late = make(due_in=48 * hour)
    normal_none = make()
    urgent_late = make(urgency=Urgency.URGENT, due_in=100 * hour)
    emergency = make(urgency=Urgency.EMERGENCY, due_in=20 * hour)
    overdue = make(due_in=-3 * hour)
    make(state=State.EXECUTED)  # closed: not in the queue

    page = queue_page(user=berlin_staff, filters=QueueFilters())

    assert [r.pk for r in page.rows] == [
        emergency.pk,
        urgent_late.pk,
        overdue.pk,
        normal_soon.pk,
        normal_late.pk,
        normal_none.pk,
    ]


@pytest.mark.django_db
def test_pages_continue_after_the_last_row_without_gaps(make, berlin_staff):
    hour = datetime.timedelta(hours=1)
    made = [make(urgency=n % 3, due_in=(n % 4) * hour if n % 5 else None) for n in range(23)]

    seen, cursor = [], None
    while True:
        page = queue_page(user=berlin_staff, filters=QueueFilters(), cursor=cursor, size=5)
        seen += [r.pk for r in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor

    assert sorted(seen) == sorted(r.pk for r in made)
    assert len(seen) == len(set(seen))
    everything = queue_page(user=berlin_staff, filters=QueueFilters(), size=100)
    assert seen == [r.pk for r in everything.rows]


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 2, 3])
def test_pages_walk_rows_sharing_a_deadline_and_rows_without_one_in_order(make, berlin_staff, size):
    shared = timezone.now() + datetime.timedelta(hours=5)
    made = [make(urgency=n % 2, due_in=datetime.timedelta(hours=1)) for n in range(9)]
    Request.objects.filter(pk__in=[r.pk for r in made[:6]]).update(next_due_at=shared)
    Request.objects.filter(pk__in=[r.pk for r in made[6:]]).update(next_due_at=None)
    filters = QueueFilters(state=State.RECEIVED)

    seen, cursor = [], None
    while True:
        page = queue_page(user=berlin_staff, filters=filters, cursor=cursor, size=size)
        seen += [r.pk for r in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor

    everything = queue_page(user=berlin_staff, filters=filters, size=100)
    assert seen == [r.pk for r in everything.rows]
    assert sorted(seen) == sorted(r.pk for r in made)


@pytest.mark.django_db
def test_each_filter(make, berlin_staff, authorities, countries):
    hour = datetime.timedelta(hours=1)
    us = AuthorityFactory(
        identifier="us-doj",
        name="Office of International Affairs",
        country=countries["US"],
        kind="central_authority",
    )
    from_us = make(issuing=us, declaration_code="mla")
    overdue = make(due_in=-hour)
    mine = make(assignee=berlin_staff)
    acknowledged = make(state=State.ACKNOWLEDGED)
    preservation = make(declaration_code="preservation")

    def refs(**filters):
        page = queue_page(user=berlin_staff, filters=QueueFilters(**filters))
        return {r.pk for r in page.rows}

    assert refs(country="US") == {from_us.pk}
    assert refs(instrument="mla") == {from_us.pk}
    assert refs(instrument="preservation") == {preservation.pk}
    assert refs(overdue=True) == {overdue.pk}
    assert refs(mine=True) == {mine.pk}
    assert mine.pk not in refs(unassigned=True)
    assert refs(state="acknowledged") == {acknowledged.pk}
    assert refs(search="international affairs") == {from_us.pk}
    assert refs(search=overdue.reference.lower()) == {overdue.pk}


@pytest.mark.django_db
def test_another_authoritys_queue_is_not_mine(make, authorities):
    make()
    elsewhere = UserFactory(
        authority=AuthorityFactory(identifier="de-munich"), roles=["contact_point_staff"]
    )

    assert queue_page(user=elsewhere, filters=QueueFilters()).rows == []


@pytest.mark.django_db
def test_claim_release_and_a_colleagues_claim(make, berlin_staff, authorities):
    item = make()
    colleague = UserFactory(authority=authorities["berlin"], roles=["contact_point_staff"])

    request_claim(request=item, actor=berlin_staff)
    with pytest.raises(ApplicationError, match="Kai Weber has already taken this request"):
        request_claim(request=item, actor=colleague)
    with pytest.raises(ApplicationError, match="Only the person who holds"):
        request_release(request=item, actor=colleague)
    request_release(request=item, actor=berlin_staff)
    request_claim(request=item, actor=colleague)

    item.refresh_from_db()
    assert item.assignee == colleague
    assert [e.event for e in item.audit_entries.all()] == ["assigned", "released", "assigned"]


@pytest.mark.django_db(transaction=True)
def test_two_staff_claiming_at_once_one_gets_it(make, berlin_staff, authorities):
    item = make()
    colleague = UserFactory(authority=authorities["berlin"], roles=["contact_point_staff"])
    barrier = threading.Barrier(2)
    outcomes = []

    def claim(user):
        try:
            copy = Request.objects.get(pk=item.pk)
            barrier.wait()
            request_claim(request=copy, actor=user)
            outcomes.append("won")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(u,)) for u in (berlin_staff, colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "won"]
    assert AuditEntry.objects.filter(request_id=item.pk, event="assigned").count() == 1


@pytest.mark.django_db
def test_a_claimed_request_goes_to_assigned_when_acknowledged(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    request_claim(request=executing, actor=berlin_staff)
    outcomes = requests_acknowledge_bulk(copies=[executing.copy_key], actor=berlin_staff)

    executing.refresh_from_db()
    assert [o.error for o in outcomes] == [""]
    assert executing.state == State.ASSIGNED
    assert executing.assignee == berlin_staff


@pytest.mark.django_db
def test_bulk_acknowledgement_reports_each_request(sent_eio, berlin_staff, make):
    _issuing, executing = sent_eio
    done = make(state=State.ACKNOWLEDGED)

    # Another issuer's copy key with this reference names nothing of this authority's.
    forged = f"fr-police/{executing.reference}"

    outcomes = requests_acknowledge_bulk(
        copies=[executing.copy_key, done.copy_key, "XX-NOPE-1", forged], actor=berlin_staff
    )

    assert [(o.reference, bool(o.error)) for o in outcomes] == [
        (executing.reference, False),
        (done.copy_key, True),
        ("XX-NOPE-1", True),
        (forged, True),
    ]
    executing.refresh_from_db()
    assert executing.state == State.ACKNOWLEDGED


@pytest.mark.django_db
def test_handover_note_is_kept_and_audited(make, berlin_staff, prosecutor):
    item = make()

    request_handover_note_set(request=item, actor=berlin_staff, note="Called Paris, awaiting fax")

    item.refresh_from_db()
    assert item.handover_note == "Called Paris, awaiting fax"
    assert item.audit_entries.last().event == "handover_note"
    with pytest.raises(ApplicationError):
        request_handover_note_set(request=item, actor=prosecutor, note="x")


@pytest.mark.django_db
def test_the_shift_view_groups_overdue_due_soon_and_unassigned(make, berlin_staff):
    hour = datetime.timedelta(hours=1)
    overdue = make(due_in=-hour, assignee=berlin_staff)
    soon = make(due_in=5 * hour, assignee=berlin_staff)
    later = make(due_in=50 * hour)

    view = shift_view(user=berlin_staff)

    assert [r.pk for r in view.overdue] == [overdue.pk]
    assert [r.pk for r in view.due_soon] == [soon.pk]
    assert [r.pk for r in view.unassigned] == [later.pk]
    assert (view.overdue_count, view.due_soon_count, view.unassigned_count) == (1, 1, 1)
    # Taken requests stay in view, with who holds them.
    assert [r.pk for r in view.taken] == [overdue.pk, soon.pk]
    assert view.taken_count == 2


@pytest.mark.django_db
def test_the_shift_page_keeps_a_taken_request_with_its_holder_and_note(client, make, berlin_staff):
    taken = make(due_in=datetime.timedelta(hours=50), assignee=berlin_staff)
    request_handover_note_set(request=taken, actor=berlin_staff, note="Called Paris, awaiting fax")
    client.force_login(berlin_staff)

    response = client.get(reverse("requests:shift"))

    page = response.content.decode()
    taken_group = page.split("Taken, with who holds them")[1]
    assert taken.reference in taken_group
    assert "Kai Weber" in taken_group
    assert 'value="Called Paris, awaiting fax"' in taken_group
    assert reverse("requests:handover", args=[*taken.url_args]) in taken_group
    assert taken.reference not in page.split("Not taken by anyone")[1].split("Taken, with")[0]


@pytest.mark.django_db
def test_changes_tell_of_urgent_arrivals_since_a_time(make, berlin_staff):
    before = timezone.now() - datetime.timedelta(seconds=1)
    make()
    urgent = make(urgency=Urgency.EMERGENCY)

    changes = queue_changes(user=berlin_staff, since=before)

    assert changes.urgent == [{"reference": urgent.reference, "url": urgent.get_absolute_url()}]
    assert changes.latest


@pytest.mark.django_db
def test_the_queue_page_and_its_query_count(
    client, make, berlin_staff, django_assert_max_num_queries
):
    client.force_login(berlin_staff)
    for _ in range(3):
        make(due_in=datetime.timedelta(hours=3))
    with django_assert_max_num_queries(30) as few:
        response = client.get(reverse("requests:queue"))
    assert response.status_code == 200
    for _ in range(20):
        make(due_in=datetime.timedelta(hours=3))

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("requests:queue"))

    page = response.content.decode()
    assert page.count('data-reference="') == 23
    assert "Take" in page


@pytest.mark.django_db
def test_the_queue_is_not_there_for_a_prosecutor(client, prosecutor):
    client.force_login(prosecutor)

    assert client.get(reverse("requests:queue")).status_code == 404
    assert client.get(reverse("requests:queue_changes")).status_code == 404


@pytest.mark.django_db
def test_an_auditor_reads_the_queue_without_actions(client, make, authorities):
    make()
    auditor = UserFactory(authority=authorities["berlin"], roles=["auditor"])
    client.force_login(auditor)

    page = client.get(reverse("requests:queue")).content.decode()

    assert 'data-reference="' in page
    assert "formaction=" not in page


@pytest.mark.django_db
def test_claim_from_the_page_keeps_the_filters(client, make, berlin_staff):
    item = make()
    client.force_login(berlin_staff)
    back = reverse("requests:queue") + "?unassigned=1"

    response = client.post(reverse("requests:claim", args=[*item.url_args]), {"next": back})

    assert response.status_code == 302
    assert response["Location"] == back
    item.refresh_from_db()
    assert item.assignee == berlin_staff


@pytest.mark.django_db
def test_claiming_someone_elses_request_is_404(client, make, countries):
    item = make()
    outsider = UserFactory(
        authority=AuthorityFactory(identifier="de-other", country=countries["DE"]),
        roles=["contact_point_staff"],
    )
    client.force_login(outsider)

    assert client.post(reverse("requests:claim", args=[*item.url_args])).status_code == 404


@pytest.mark.django_db
def test_deadlines_refresh_sets_the_nearest_deadline(sent_eio):
    _issuing, executing = sent_eio

    deadlines_refresh(request=executing)

    executing.refresh_from_db()
    # Overdue deadlines count: the sample's requested date has passed, so it is the nearest.
    nearest = min(d.due_at for d in executing.deadlines.all() if d.state in ("running", "missed"))
    assert executing.next_due_at == nearest


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["garbage", "MXx8", "MXxub3QtYS1kYXRlfDE", "!!"])
def test_an_unreadable_cursor_gives_the_first_page(make, berlin_staff, cursor):
    made = [make(due_in=datetime.timedelta(hours=n)) for n in range(3)]

    page = queue_page(user=berlin_staff, filters=QueueFilters(), cursor=cursor)

    assert page.first
    assert [r.pk for r in page.rows] == [r.pk for r in made]


@pytest.mark.django_db
def test_the_queue_marks_urgency_only_where_the_instrument_or_issuer_says_so(
    client, make, berlin_staff
):
    preservation = make(declaration_code="preservation", urgency=Urgency.EMERGENCY)
    marked = make(
        urgency=Urgency.URGENT,
        data={"B": {"urgent": True, "urgency_reasons": "Trial opens on 3 May"}},
    )
    # A column saying urgent that the request's data does not back is not shown.
    unfounded = make(urgency=Urgency.URGENT, data={"B": {"urgent": False}})
    normal = make()
    client.force_login(berlin_staff)

    page = client.get(reverse("requests:queue")).content.decode()

    emergency = page.split(f'data-reference="{preservation.reference}"')[1].split("</tr>")[0]
    assert ">Emergency<" in emergency
    assert 'title="Expedited preservation (Budapest Convention, Art. 29)' in emergency
    assert '<span class="visually-hidden">: Expedited preservation' in emergency
    urgent = page.split(f'data-reference="{marked.reference}"')[1].split("</tr>")[0]
    assert ">Urgent<" in urgent
    assert 'title="The issuing authority marked it urgent: Trial opens on 3 May"' in urgent
    for quiet in (unfounded, normal):
        row = page.split(f'data-reference="{quiet.reference}"')[1].split("</tr>")[0]
        assert "badge urgency" not in row


def _row_of(page, item):
    return page.split(f'data-reference="{item.reference}"')[1].split("</tr>")[0]


@pytest.mark.django_db
def test_the_queue_names_a_certificate_s_state_in_its_own_words(client, make, berlin_staff):
    preserved_epoc = make(declaration_code=eevidence.EPOC, state=State.PRESERVED)
    preserved_epoc_pr = make(declaration_code=eevidence.EPOC_PR, state=State.PRESERVED)
    preservation = make(declaration_code="preservation", state=State.PRESERVED)
    produced = make(declaration_code=eevidence.EPOC, state=State.EXECUTED)
    partly = make(declaration_code=eevidence.EPOC, state=State.PARTIALLY_EXECUTED)
    executed = make(state=State.EXECUTED)
    client.force_login(berlin_staff)

    open_page = client.get(reverse("requests:queue")).content.decode()
    executed_page = client.get(reverse("requests:queue"), {"state": "executed"}).content.decode()
    partly_page = client.get(
        reverse("requests:queue"), {"state": "partially_executed"}
    ).content.decode()

    assert "<td>Data preserved</td>" in _row_of(open_page, preserved_epoc)
    assert "<td>Data preserved</td>" in _row_of(open_page, preserved_epoc_pr)
    assert "<td>Preserved</td>" in _row_of(open_page, preservation)
    assert "<td>Data produced</td>" in _row_of(executed_page, produced)
    assert "<td>Executed</td>" in _row_of(executed_page, executed)
    assert "<td>Data partly produced</td>" in _row_of(partly_page, partly)


@pytest.mark.django_db
def test_the_request_page_says_why_a_provisional_measure_is_an_emergency(
    client, make, berlin_staff
):
    item = make(
        urgency=Urgency.EMERGENCY,
        data={"C": {"measures": ["provisional_measures"]}},
    )
    plain = make()
    client.force_login(berlin_staff)

    page = client.get(item.get_absolute_url()).content.decode()
    plain_page = client.get(plain.get_absolute_url()).content.decode()

    assert 'Emergency<span class="visually-hidden">: The EIO asks for a provisional' in page
    assert 'title="The EIO asks for a provisional measure, to be decided within 24 hours' in page
    assert "badge urgency" not in plain_page


def _counted(client, url):
    client.get(url)  # what a first request caches is not counted
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


@pytest.mark.django_db
def test_the_shift_view_costs_the_same_queries_for_few_or_many_requests(client, make, berlin_staff):
    hour = datetime.timedelta(hours=1)
    client.force_login(berlin_staff)
    url = reverse("requests:shift")

    def three():
        for due_in in (-hour, 5 * hour, 50 * hour):
            make(due_in=due_in)

    three()
    few, _page = _counted(client, url)
    for _ in range(6):
        three()

    many, page = _counted(client, url)

    assert many == few
    # Seven overdue, seven due within a day, the first 20 of the 21 not taken: a handover
    # box on each row.
    assert page.count('name="note"') == 7 + 7 + 20


@pytest.mark.django_db
def test_the_received_list_costs_the_same_queries_for_few_or_many_requests(
    client, make, berlin_staff
):
    client.force_login(berlin_staff)
    url = reverse("requests:list")
    for _ in range(2):
        make(due_in=datetime.timedelta(hours=3))
    few, _page = _counted(client, url)
    for _ in range(28):
        make(due_in=datetime.timedelta(hours=3))

    many, page = _counted(client, url)

    assert many == few
    assert page.split('class="results incoming"')[1].split("</table>")[0].count("<tr>") == 31
