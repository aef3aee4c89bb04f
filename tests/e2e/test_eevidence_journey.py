"""An emergency European Production Order for traffic data, end to end in the browser: the
prosecutor issues it, the investigating judge validates it (Art. 4(2)), it is sent to a
provider's designated establishment in Germany and the German enforcing authority is
notified (Art. 8) and raises no ground (Art. 12); the provider's staff preserve and transmit
two files; the prosecutor finds them, with their SHA-256, and the evidence bundle."""

import hashlib
import io
import json
import zipfile

import pytest
from playwright.sync_api import Page, expect

from mla.instruments import eevidence
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.enforcing import notifications_of
from mla.requests.models import Request
from tests.support.factories import (
    AuthorityFactory,
    CountryFactory,
    ServiceProviderFactory,
    UserFactory,
)
from tests.support.journeys import log_in, log_out
from tests.support.samples import certificate_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TRAFFIC_LOG = b"2026-09-01T10:00:00Z 203.0.113.7:443 -> 198.51.100.2:51234\n"
SUBSCRIBER_CSV = "account;name\nmax@example-mail.example;M. Mustermann\n".encode()


@pytest.fixture
def emergency_epoc():
    france = CountryFactory(code="FR", name="France", eio_bound=True, eevidence_bound=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True, eevidence_bound=True)
    paris = AuthorityFactory(
        identifier="fr-paris", name="Parquet de Paris", country=france, kind="prosecutor"
    )
    judges = AuthorityFactory(
        identifier="fr-judge",
        name="Juge d'instruction de Paris",
        country=france,
        kind="investigating_judge",
    )
    provider = ServiceProviderFactory(
        identifier="de-example-mail",
        name="Example Mail GmbH (designated establishment)",
        country=germany,
        time_zone="Europe/Berlin",
    )
    enforcing = AuthorityFactory(
        identifier="de-enforcing",
        name="Bundesamt für Justiz",
        country=germany,
        kind="central_authority",
        instruments=[eevidence.EPOC_NOTIFICATION],
        time_zone="Europe/Berlin",
    )
    prosecutor = UserFactory(
        username="camille", authority=paris, roles=["prosecutor"], preferred_language="en"
    )
    UserFactory(
        username="juliette",
        authority=judges,
        roles=["validating_authority"],
        preferred_language="en",
    )
    UserFactory(
        username="pia", authority=provider, roles=["provider_staff"], preferred_language="en"
    )
    UserFactory(
        username="erik",
        authority=enforcing,
        roles=["central_authority_staff"],
        preferred_language="en",
    )
    draft = request_create(
        actor=prosecutor,
        declaration_code=eevidence.EPOC,
        executing_country=germany,
        executing_authority=provider,
    )
    draft.data = certificate_data(
        eevidence.EPOC, categories=(eevidence.SUBSCRIBER, eevidence.TRAFFIC), emergency=True
    )
    draft.data["M"] = {"enforcing_information": "The suspect is a minor's trafficker."}
    draft.save()
    return draft


def test_an_emergency_epoc_is_validated_notified_produced_and_received(
    live_server, page: Page, emergency_epoc, tmp_path
):
    base = live_server.url
    heading = page.get_by_role("heading", level=1)
    epoc = emergency_epoc

    # The prosecutor may not issue an order for traffic data alone (Art. 4(2)).
    log_in(page, base, "camille")
    page.goto(f"{base}{epoc.get_absolute_url()}")
    page.get_by_label("Validating authority").select_option(label="Juge d'instruction de Paris")
    page.get_by_role("button", name="Submit for validation").click()
    expect(heading).to_contain_text("Awaiting validation")
    log_out(page)

    log_in(page, base, "juliette")
    page.goto(f"{base}{epoc.get_absolute_url()}")
    page.get_by_role("button", name="Validate").click()
    expect(heading).to_contain_text("Ready to send")
    log_out(page)

    log_in(page, base, "camille")
    page.goto(f"{base}{epoc.get_absolute_url()}")
    page.get_by_role("button", name="Send to the executing authority").click()
    expect(heading).to_contain_text("Delivered")
    expect(page.locator(".timeline")).to_contain_text("Enforcing authority notified")
    log_out(page)

    # The enforcing authority of Germany sees the whole certificate, section M included.
    epoc.refresh_from_db()
    (notification,) = notifications_of(certificate=epoc)
    enforcing_copy = Request.objects.get(pk=notification.counterpart_id)
    log_in(page, base, "erik")
    page.goto(f"{base}{enforcing_copy.get_absolute_url()}")
    expect(heading).to_contain_text("Received")
    page.get_by_role("button", name="Acknowledge receipt").click()
    expect(heading).to_contain_text("Acknowledged")
    expect(page.locator(".deadlines")).to_contain_text("96 hours")
    page.get_by_role("button", name="No ground for refusal").click()
    expect(heading).to_contain_text("No ground for refusal raised")
    log_out(page)

    # The provider's staff: the 8-hour clock, no section M, then preservation and production.
    provided = Request.objects.get(pk=epoc.counterpart_id)
    assert "M" not in provided.data
    log_in(page, base, "pia")
    page.get_by_role("link", name="Requests", exact=True).first.click()
    page.get_by_role("link", name=epoc.reference).click()
    expect(heading).to_contain_text("Received")
    expect(page.locator(".deadlines")).to_contain_text("8 hours")
    expect(page.locator("body")).not_to_contain_text("The suspect is a minor's trafficker.")
    page.get_by_role("button", name="Acknowledge receipt").click()
    expect(heading).to_contain_text("Acknowledged")
    page.get_by_role("button", name="Data preserved").click()
    expect(heading).to_contain_text("Preserved")
    traffic, subscriber = tmp_path / "traffic.log", tmp_path / "subscriber.csv"
    traffic.write_bytes(TRAFFIC_LOG)
    subscriber.write_bytes(SUBSCRIBER_CSV)
    page.get_by_label("The data produced (one or more files)").set_input_files(
        [traffic, subscriber]
    )
    page.get_by_role("button", name="Transmit the data", exact=True).click()
    expect(heading).to_contain_text("Executed")
    log_out(page)

    # The prosecutor receives both files with their digests, confirms, takes the bundle.
    log_in(page, base, "camille")
    page.goto(f"{base}{epoc.get_absolute_url()}")
    expect(heading).to_contain_text("Executed")
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Enforcing authority raised no ground for refusal")
    for content in (TRAFFIC_LOG, SUBSCRIBER_CSV):
        expect(page.locator("body")).to_contain_text(hashlib.sha256(content).hexdigest()[:16])
    with page.expect_download() as download:
        page.get_by_role("link", name="traffic.log").first.click()
    assert download.value.path().read_bytes() == TRAFFIC_LOG
    page.get_by_role("button", name="Confirm receipt of the data").click()
    expect(timeline).to_contain_text("Receipt for the produced data signed")
    with page.expect_download() as bundle:
        page.get_by_role("link", name="Download the evidence bundle (ZIP)").click()
    with zipfile.ZipFile(io.BytesIO(bundle.value.path().read_bytes())) as archive:
        index = json.loads(archive.read("index.json"))
        produced = {
            name: archive.read(name) for name in archive.namelist() if name.startswith("produced/")
        }
    assert sorted(produced.values()) == sorted([TRAFFIC_LOG, SUBSCRIBER_CSV])
    assert "e_evidence" in index
    states = sorted(
        Request.objects.filter(declaration_code=eevidence.EPOC).values_list("direction", "state")
    )
    assert states == [("incoming", "executed"), ("outgoing", "executed")]
