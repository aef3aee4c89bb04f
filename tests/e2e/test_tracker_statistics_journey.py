"""The prosecutor's tracker prompts for a request left unacknowledged for over a week and
chases it; the receiving side's contact point hears of it; its supervisor reads the
statistics and downloads them."""

import datetime
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from mla.requests.lifecycle.issuing import request_send
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.journeys import log_in, ready_eio

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def delivered_nine_days_ago():
    france = CountryFactory(code="FR", name="France", eio_bound=True, budapest_party=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True, budapest_party=True)
    paris = AuthorityFactory(identifier="fr-paris", name="Parquet de Paris", country=france)
    berlin = AuthorityFactory(
        identifier="de-berlin",
        name="Staatsanwaltschaft Berlin",
        country=germany,
        kind="prosecutor",
        instruments=["eio"],
    )
    prosecutor = UserFactory(
        username="camille", authority=paris, roles=["prosecutor"], preferred_language="en"
    )
    UserFactory(
        username="kai", authority=berlin, roles=["contact_point_staff"], preferred_language="en"
    )
    UserFactory(username="greta", authority=berlin, roles=["supervisor"], preferred_language="en")
    with time_machine.travel(timezone.now() - datetime.timedelta(days=9), tick=False):
        draft = ready_eio(prosecutor=prosecutor, country=germany, authority=berlin)
        request_send(request=draft, actor=prosecutor)
    return draft


def test_a_late_request_is_chased_and_the_statistics_show_it(
    live_server, page: Page, delivered_nine_days_ago
):
    base = live_server.url
    reference = delivered_nine_days_ago.reference

    log_in(page, base, "camille")
    page.get_by_role("link", name="Tracker").click()
    row = page.locator("table.tracker tr", has_text=reference)
    expect(row).to_contain_text("No acknowledgement 7 days after delivery")
    row.get_by_placeholder("Message (optional)").fill("Please confirm receipt.")
    row.get_by_role("button", name="Chase").click()
    expect(page.locator(".messages")).to_contain_text(
        f"{reference}: the executing side was asked where it stands."
    )
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, "kai")
    page.get_by_role("link", name="Notifications").click()
    expect(page.locator("main")).to_contain_text(reference)
    page.goto(f"{base}{delivered_nine_days_ago.get_absolute_url()}")
    expect(page.locator(".timeline")).to_contain_text("Please confirm receipt.")
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, "greta")
    page.get_by_role("link", name="Statistics").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Statistics")
    expect(page.locator("main")).to_contain_text("Received")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert "total,,Requests,count,1" in lines
    assert "state,received,Received,count,1" in lines
    assert any(line.startswith("country,FR,") and line.endswith(",count,1") for line in lines)
