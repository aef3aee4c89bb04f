"""The incoming queue through the API: the page's order, filters and keyset pages behind a
signed cursor; a received request taken and given back."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mla.api.cursors import cursor_encode
from mla.core.pagination import cursor_encode as page_cursor_encode
from mla.instruments.declarations import declaration_for
from mla.requests.access import request_grant_authority
from mla.requests.desk.queue import QueueFilters, queue_page
from mla.requests.events import Event
from mla.requests.models import Request, Urgency
from tests.support.api import ApiClient, api_etag, api_request_path, api_token_for
from tests.support.factories import UserFactory

State = Request.State
pytestmark = pytest.mark.django_db


@pytest.fixture
def received(authorities, countries):
    """Make a request received in Berlin's queue, built directly (the path to it is the
    lifecycle's to test); ``due_in`` sets its nearest deadline from now."""
    counter = iter(range(1, 1000))

    def make(*, urgency=Urgency.NORMAL, due_in=None, state=State.RECEIVED):
        item = Request.objects.create(
            reference=f"FR-EIO-2026-{next(counter):06d}",
            direction=Request.Direction.INCOMING,
            declaration_code="eio",
            issuing_authority=authorities["paris"],
            executing_country=countries["DE"],
            executing_authority=authorities["berlin"],
            state=state,
            received_at=timezone.now(),
            urgency=urgency,
            next_due_at=timezone.now() + due_in if due_in is not None else None,
        )
        Request.objects.filter(pk=item.pk).update(
            issuing_country_code="FR",
            instrument_code=declaration_for("eio").directory_instrument,
        )
        request_grant_authority(request=item, authority=authorities["berlin"])
        item.refresh_from_db()
        return item

    return make


def _references(page) -> list[str]:
    return [row["reference"] for row in page.json()["items"]]


def test_the_queue_in_the_pages_order_page_by_page(received, berlin_staff):
    hour = datetime.timedelta(hours=1)
    late = received(due_in=48 * hour)
    soon = received(due_in=2 * hour)
    undated = received()
    urgent = received(urgency=Urgency.URGENT, due_in=72 * hour)
    api = ApiClient(api_token_for(berlin_staff, "read"))

    seen, cursor, pages = [], "", 0
    while True:
        page = api.get("/queue/", limit=1, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.content
        seen += _references(page)
        pages += 1
        cursor = page.json()["next_cursor"]
        if not cursor:
            break

    order = [urgent, soon, late, undated]
    assert seen == [item.reference for item in order]
    assert pages == 4
    everything = queue_page(user=berlin_staff, filters=QueueFilters())
    assert seen == [item.reference for item in everything.rows]
    first = api.get("/queue/").json()["items"][0]
    assert first["issuer"] == "fr-paris"
    assert first["state"] == State.RECEIVED
    assert first["url"] == f"/api/v1{api_request_path(urgent)}"


def test_a_page_costs_the_same_queries_whatever_its_length(received, berlin_staff):
    api = ApiClient(api_token_for(berlin_staff, "read"))
    hour = datetime.timedelta(hours=1)
    received(urgency=Urgency.URGENT, due_in=hour)
    received(due_in=hour)
    api.get("/queue/")  # the token's first use is recorded once

    def counted() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/queue/").status_code == 200
        return len(queries)

    two = counted()
    for n in range(6):
        received(urgency=Urgency.URGENT if n % 2 else Urgency.NORMAL, due_in=n * hour)
    taken = received()
    taken.assignee = berlin_staff
    taken.save()

    assert counted() == two


def test_a_forged_or_altered_cursor_is_refused_400(received, berlin_staff):
    for _ in range(3):
        received()
    api = ApiClient(api_token_for(berlin_staff, "read"))
    cursor = api.get("/queue/", limit=1).json()["next_cursor"]
    # The page's own cursor, unsigned: what a client could make up.
    made_up = page_cursor_encode("2", "", "1")

    for forged in (made_up, cursor[:-2] + "xx", cursor_encode(kind="requests", key=["x"])):
        refused = api.get("/queue/", cursor=forged)
        assert refused.status_code == 400, forged
        assert refused.json()["code"] == "invalid_cursor"


def test_the_pages_filters(received, berlin_staff, authorities):
    mine = received(state=State.ACKNOWLEDGED)
    mine.assignee = berlin_staff
    mine.save()
    nobodys = received()
    overdue = received(due_in=-datetime.timedelta(hours=1))
    closed = received(state=State.EXECUTED)
    api = ApiClient(api_token_for(berlin_staff, "read"))

    assert _references(api.get("/queue/", mine="true")) == [mine.reference]
    assert set(_references(api.get("/queue/", unassigned="true"))) == {
        nobodys.reference,
        overdue.reference,
    }
    assert _references(api.get("/queue/", overdue="true")) == [overdue.reference]
    assert _references(api.get("/queue/", state="executed")) == [closed.reference]
    assert closed.reference not in _references(api.get("/queue/"))
    assert _references(api.get("/queue/", q=nobodys.reference.lower())) == [nobodys.reference]
    assert len(_references(api.get("/queue/", country="fr"))) == 3
    assert _references(api.get("/queue/", country="DE")) == []


def test_unknown_parameters_wrong_values_and_unbounded_pages_are_refused(berlin_staff):
    api = ApiClient(api_token_for(berlin_staff, "read"))

    for query in (
        {"after": "x"},
        {"state": "nonsense"},
        {"instrument": "nonsense"},
        {"limit": 0},
        {"limit": 101},
        {"country": "FRA"},
        {"q": "x" * 101},
    ):
        refused = api.get("/queue/", **query)
        assert refused.status_code == 422, query
        assert refused["Content-Type"] == "application/problem+json"


def test_for_someone_who_does_not_work_the_queue_it_does_not_exist(prosecutor, received):
    received()

    refused = ApiClient(api_token_for(prosecutor, "read")).get("/queue/")

    assert refused.status_code == 404


def test_the_queue_needs_the_read_scope(berlin_staff):
    refused = ApiClient(api_token_for(berlin_staff, "execute")).get("/queue/")

    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"


# Take and release ------------------------------------------------------------------------


def test_take_and_release_with_if_match(received, berlin_staff):
    item = received()
    api = ApiClient(api_token_for(berlin_staff, "read", "execute"))
    path = api_request_path(item)
    before = api_etag(api, item)

    taken = api.post(f"{path}take/", if_match=before)
    stale = api.post(f"{path}release/", if_match=before)
    released = api.post(f"{path}release/", if_match=taken["ETag"])

    assert taken.status_code == 200, taken.content
    assert taken.json()["assignee"] == berlin_staff.username
    assert taken["ETag"] != before
    assert stale.status_code == 412
    assert released.status_code == 200
    assert released.json()["assignee"] is None
    item.refresh_from_db()
    assert item.assignee is None
    events = list(item.audit_entries.values_list("event", flat=True))
    assert events[-2:] == [Event.ASSIGNED, Event.RELEASED]


def test_someone_else_holding_it_is_told_who_as_on_the_page(received, berlin_staff, authorities):
    item = received()
    colleague = UserFactory(
        username="lena", authority=authorities["berlin"], roles=["contact_point_staff"]
    )
    mine = ApiClient(api_token_for(berlin_staff))
    theirs = ApiClient(api_token_for(colleague))
    mine.post(f"{api_request_path(item)}take/", if_match=api_etag(mine, item))

    taken = theirs.post(f"{api_request_path(item)}take/", if_match=api_etag(theirs, item))
    released = theirs.post(f"{api_request_path(item)}release/", if_match=api_etag(theirs, item))

    assert taken.status_code == 422
    assert taken.json()["detail"] == "Kai Weber has already taken this request."
    assert released.status_code == 422
    assert released.json()["detail"] == "Only the person who holds a request releases it."
    item.refresh_from_db()
    assert item.assignee == berlin_staff


def test_take_refusals(received, berlin_staff, sent_eio, prosecutor):
    item = received()
    path = api_request_path(item)
    paris, _berlin = sent_eio

    missing = ApiClient(api_token_for(berlin_staff)).post(f"{path}take/")
    scope = ApiClient(api_token_for(berlin_staff, "read")).post(f"{path}take/", if_match="*")
    # The issuing copy is not in anyone's queue: there is nothing to take.
    outgoing = ApiClient(api_token_for(prosecutor)).post(
        f"{api_request_path(paris)}take/", if_match="*"
    )
    unseen = ApiClient(api_token_for(prosecutor)).post(f"{path}take/", if_match="*")

    assert missing.status_code == 428
    assert scope.status_code == 403
    assert outgoing.status_code == 404
    assert unseen.status_code == 404
    item.refresh_from_db()
    assert item.assignee is None
