"""A request's pages cost the same number of queries whatever the length of its timeline,
and the page shows the latest entries of a long timeline, the whole of it on demand.
(Their speed is measured in tests/benchmarks/bench_pages.py, not here.)"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mla.requests.audit import audit_record
from mla.requests.events import Event
from mla.requests.models import AuditEntry
from mla.requests.selectors import TIMELINE_SIZE

pytestmark = pytest.mark.django_db


def _notes(request, actor, until):
    """Notes on the request until its timeline holds ``until`` entries."""
    have = AuditEntry.objects.filter(request=request).count()
    with transaction.atomic():
        for number in range(have, until):
            audit_record(request=request, actor=actor, event=Event.NOTE, note=f"Note {number}.")


def _timeline(page):
    return page.split('id="timeline"')[1].split("</ol>")[0]


def _queries(client, url):
    client.get(url)  # what a first request caches (roles, content types) is not counted
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


@pytest.mark.parametrize("side", ["issuing", "executing"])
def test_a_sent_requests_page_costs_the_same_queries_for_2_or_30_timeline_entries(
    client, sent_eio, prosecutor, berlin_staff, side
):
    issuing, executing = sent_eio
    item, user = (issuing, prosecutor) if side == "issuing" else (executing, berlin_staff)
    client.force_login(user)
    _notes(item, user, 2)
    small, _page = _queries(client, item.get_absolute_url())

    _notes(item, user, 30)
    large, page = _queries(client, item.get_absolute_url())

    assert large == small
    assert _timeline(page).count("<li>") == 30
    assert "Note 29." in _timeline(page)


def test_a_draft_page_and_its_preview_cost_the_same_queries_for_2_or_30_entries(
    client, eio_draft, prosecutor
):
    client.force_login(prosecutor)
    detail = eio_draft.get_absolute_url()
    preview = reverse("requests:preview", args=eio_draft.url_args)
    _notes(eio_draft, prosecutor, 2)
    small = [_queries(client, url)[0] for url in (detail, preview)]

    _notes(eio_draft, prosecutor, 30)

    assert [_queries(client, url)[0] for url in (detail, preview)] == small


def test_a_long_timeline_shows_its_latest_entries_and_the_whole_on_demand(
    client, eio_draft, prosecutor
):
    client.force_login(prosecutor)
    _notes(eio_draft, prosecutor, TIMELINE_SIZE + 3)  # "created" and the notes 1 to 102

    page = client.get(eio_draft.get_absolute_url()).content.decode()
    timeline = _timeline(page)

    assert timeline.count("<li>") == TIMELINE_SIZE
    assert "3 earlier entries are not" in timeline
    assert "Note 3." in timeline
    assert "Note 2." not in timeline
    assert timeline.index("Note 3.") < timeline.index(f"Note {TIMELINE_SIZE + 2}.")
    everything = client.get(eio_draft.get_absolute_url(), {"timeline": "all"}).content.decode()
    whole = _timeline(everything)
    assert whole.count("<li>") == TIMELINE_SIZE + 3
    assert "earlier entries" not in whole
    assert whole.index("Created") < whole.index("Note 1.") < whole.index("Note 2.")


def test_a_short_timeline_is_shown_whole_without_a_note(client, eio_draft, prosecutor):
    client.force_login(prosecutor)
    _notes(eio_draft, prosecutor, 3)

    timeline = _timeline(client.get(eio_draft.get_absolute_url()).content.decode())

    assert timeline.count("<li>") == 3
    assert "earlier entr" not in timeline
