"""A prosecutor sends an EIO; the receiving authority's contact point acknowledges it (Annex
B), takes it, asks for information, recognises and executes it; the prosecutor follows every
step on their own copy."""

import pytest
from playwright.sync_api import Page, expect

from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.journeys import log_in, log_out, open_step, ready_eio

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eio_to_berlin():
    france = CountryFactory(code="FR", name="France", eio_bound=True, budapest_party=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True, budapest_party=True)
    paris = AuthorityFactory(
        identifier="fr-paris",
        name="Parquet de Paris",
        country=france,
        kind="prosecutor",
        time_zone="Europe/Paris",
    )
    berlin = AuthorityFactory(
        identifier="de-berlin",
        name="Staatsanwaltschaft Berlin",
        country=germany,
        kind="prosecutor",
        instruments=["eio"],
        time_zone="Europe/Berlin",
    )
    prosecutor = UserFactory(
        username="camille", authority=paris, roles=["prosecutor"], preferred_language="en"
    )
    UserFactory(
        username="kai",
        first_name="Kai",
        last_name="Weber",
        authority=berlin,
        roles=["contact_point_staff"],
        preferred_language="en",
    )
    return ready_eio(prosecutor=prosecutor, country=germany, authority=berlin)


def test_an_eio_is_sent_acknowledged_and_executed(live_server, page: Page, eio_to_berlin):
    base = live_server.url
    reference = eio_to_berlin.reference
    heading = page.get_by_role("heading", level=1)

    log_in(page, base, "camille")
    page.goto(f"{base}{eio_to_berlin.get_absolute_url()}")
    page.get_by_role("button", name="Send to the executing authority").click()
    expect(heading).to_contain_text("Delivered")
    expect(page.locator(".deadlines")).to_contain_text("Acknowledgement of receipt (Annex B)")
    expect(page.locator(".deadlines")).to_contain_text("Europe/Berlin")
    log_out(page)

    log_in(page, base, "kai")
    page.get_by_role("link", name="Requests", exact=True).first.click()
    expect(page.locator("table.incoming")).to_contain_text("Parquet de Paris")
    page.get_by_role("link", name=reference).click()
    expect(heading).to_contain_text("Received")
    page.get_by_label("Other information (optional)").fill("Our file 7 Js 12/26")
    page.get_by_role("button", name="Acknowledge receipt").click()
    expect(heading).to_contain_text("Acknowledged")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the acknowledgement (Annex B)").click()
    assert download.value.suggested_filename == f"{reference}-annex-b.pdf"

    open_step(page, "assign")
    page.get_by_label("Assigned to").select_option("me")
    page.get_by_role("button", name="Assign").click()
    expect(heading).to_contain_text("Assigned")
    open_step(page, "request_information")
    page.get_by_label("What information is needed").fill("The IBAN of the second account?")
    page.get_by_role("button", name="Ask the issuer for information").click()
    expect(heading).to_contain_text("Additional information requested")
    log_out(page)

    log_in(page, base, "camille")
    page.goto(f"{base}{eio_to_berlin.get_absolute_url()}")
    expect(heading).to_contain_text("Additional information requested")
    expect(page.locator(".timeline")).to_contain_text("The IBAN of the second account?")
    page.get_by_label("The information asked for").fill("DE89 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Send the answer").click()
    expect(heading).to_contain_text("Acknowledged")
    log_out(page)

    log_in(page, base, "kai")
    page.goto(f"{base}{eio_to_berlin.get_absolute_url()}")
    expect(heading).to_contain_text("Assigned")
    expect(page.locator(".timeline")).to_contain_text("DE89 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Recognise: it will be executed").click()
    expect(heading).to_contain_text("Recognised")
    page.get_by_label("What was done (optional)").fill("Bank records obtained.")
    page.get_by_role("button", name="Executed", exact=True).click()
    expect(heading).to_contain_text("Executed")
    log_out(page)

    log_in(page, base, "camille")
    page.goto(f"{base}{eio_to_berlin.get_absolute_url()}")
    expect(heading).to_contain_text("Executed")
    expect(page.locator(".timeline")).to_contain_text("Bank records obtained.")
    expect(page.locator(".timeline")).to_contain_text("Staatsanwaltschaft Berlin")
    expect(page.locator(".deadlines")).to_contain_text("Met")
    states = sorted(Request.objects.values_list("direction", "state"))
    assert states == [("incoming", "executed"), ("outgoing", "executed")]
