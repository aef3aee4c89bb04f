"""A 24/7 contact point has the queue open; an urgent preservation request arrives and
shows up without a reload, announced; it is taken and acknowledged from the queue."""

import pytest
from playwright.sync_api import Page, expect

from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.issuing import request_send, request_submit
from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.journeys import log_in
from tests.support.samples import complete_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def parties(settings):
    settings.QUEUE_POLL_SECONDS = 1
    france = CountryFactory(code="FR", name="France", eio_bound=True, budapest_party=True)
    romania = CountryFactory(code="RO", name="Romania", eio_bound=True, budapest_party=True)
    paris = AuthorityFactory(
        identifier="fr-paris", name="Parquet de Paris", country=france, kind="prosecutor"
    )
    point = AuthorityFactory(
        identifier="ro-247",
        name="Romanian 24/7 point",
        country=romania,
        kind="point_24_7",
        instruments=["preservation", "mla"],
        time_zone="Europe/Bucharest",
    )
    prosecutor = UserFactory(username="camille", authority=paris, roles=["prosecutor"])
    UserFactory(
        username="andrei",
        first_name="Andrei",
        last_name="Popescu",
        authority=point,
        roles=["contact_point_staff"],
        preferred_language="en",
    )
    return prosecutor, romania, point


def test_an_urgent_preservation_appears_is_taken_and_acknowledged(live_server, page: Page, parties):
    prosecutor, romania, point = parties
    log_in(page, live_server.url, "andrei")
    page.get_by_role("link", name="Queue").click()
    expect(page.locator("table.queue")).to_contain_text("Nothing in the queue")

    # Meanwhile, in Paris: a preservation request is sent to the Romanian 24/7 point.
    draft = request_create(
        actor=prosecutor,
        declaration_code="preservation",
        executing_country=romania,
        executing_authority=point,
    )
    draft.data = complete_data(declaration_for("preservation"))
    draft.save()
    request_submit(request=draft, actor=prosecutor)
    request_send(request=draft, actor=prosecutor)

    row = page.locator(f'tr[data-reference="{draft.reference}"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_contain_text("Emergency")
    expect(page.get_by_role("alert")).to_contain_text(draft.reference)

    row.get_by_role("button", name="Take").click()
    expect(page.locator(".messages")).to_contain_text(f"You hold {draft.reference}")
    row = page.locator(f'tr[data-reference="{draft.reference}"]')
    expect(row).to_contain_text("Andrei Popescu")
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Acknowledge the ticked requests").click()
    expect(page.locator(".messages")).to_contain_text(f"Acknowledged: {draft.reference}")

    received = Request.objects.get(direction="incoming", reference=draft.reference)
    assert received.state == Request.State.ASSIGNED
    assert received.assignee.username == "andrei"
    draft.refresh_from_db()
    assert draft.state == Request.State.ACKNOWLEDGED
