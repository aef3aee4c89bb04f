"""European Production and Preservation Orders end to end in the browser.

- An emergency EPOC for traffic data: the prosecutor issues it, the investigating judge
  validates it (Art. 4(2)), it is sent to a provider's designated establishment in Germany
  and the German enforcing authority is notified (Art. 8) and raises no ground (Art. 12); the
  provider's staff preserve and transmit two files; the prosecutor finds them, with their
  SHA-256, and the evidence bundle.
- An EPOC-PR preserved, extended by Annex VI and followed up by Annex V naming an EPOC.
- An EPOC the provider cannot execute (Annex III), answered by the prosecutor within 5 days.
"""

import hashlib
import io
import json
import zipfile

import pytest
from django.db.models import Q
from playwright.sync_api import Page, expect

from mla.instruments import eevidence
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.enforcing import notifications_of
from mla.requests.models import Request, RequestLink
from tests.support.factories import (
    AuthorityFactory,
    CountryFactory,
    ServiceProviderFactory,
    UserFactory,
)
from tests.support.journeys import log_in, log_out, open_step
from tests.support.samples import certificate_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TRAFFIC_LOG = b"2026-09-01T10:00:00Z 203.0.113.7:443 -> 198.51.100.2:51234\n"
SUBSCRIBER_CSV = b"account;name\nmax@example-mail.example;M. Mustermann\n"


@pytest.fixture
def parties():
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
    return {"prosecutor": prosecutor, "provider": provider, "germany": germany}


def _draft(parties, code: str, **options) -> Request:
    draft = request_create(
        actor=parties["prosecutor"],
        declaration_code=code,
        executing_country=parties["germany"],
        executing_authority=parties["provider"],
    )
    draft.data = certificate_data(code, **options)
    draft.save()
    return draft


@pytest.fixture
def emergency_epoc(parties):
    draft = _draft(
        parties,
        eevidence.EPOC,
        categories=(eevidence.SUBSCRIBER, eevidence.TRAFFIC),
        emergency=True,
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
    expect(heading).to_contain_text("Data preserved")
    traffic, subscriber = tmp_path / "traffic.log", tmp_path / "subscriber.csv"
    traffic.write_bytes(TRAFFIC_LOG)
    subscriber.write_bytes(SUBSCRIBER_CSV)
    page.get_by_label("The data produced (one or more files)").set_input_files(
        [traffic, subscriber]
    )
    page.get_by_role("button", name="Transmit the data", exact=True).click()
    expect(heading).to_contain_text("Data produced")
    log_out(page)

    # The prosecutor receives both files with their digests, confirms, takes the bundle.
    log_in(page, base, "camille")
    page.goto(f"{base}{epoc.get_absolute_url()}")
    expect(heading).to_contain_text("Data received")
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


def _submit_and_send(page: Page, base: str, request: Request) -> None:
    heading = page.get_by_role("heading", level=1)
    log_in(page, base, "camille")
    page.goto(f"{base}{request.get_absolute_url()}")
    page.get_by_role("button", name="Submit: ready to send").click()
    expect(heading).to_contain_text("Ready to send")
    page.get_by_role("button", name="Send to the executing authority").click()
    expect(heading).to_contain_text("Delivered")
    log_out(page)


def test_a_preservation_is_extended_by_annex_vi_and_followed_up_by_annex_v(
    live_server, page: Page, parties
):
    base = live_server.url
    heading = page.get_by_role("heading", level=1)
    preservation = _draft(parties, eevidence.EPOC_PR)
    production = _draft(parties, eevidence.EPOC, categories=(eevidence.SUBSCRIBER,))
    _submit_and_send(page, base, preservation)

    log_in(page, base, "pia")
    page.goto(f"{base}{Request.objects.get(pk=preservation.pk).counterpart.get_absolute_url()}")
    page.get_by_role("button", name="Acknowledge receipt").click()
    page.get_by_role("button", name="Data preserved").click()
    expect(heading).to_contain_text("Data preserved")
    expect(page.locator(".deadlines")).to_contain_text("Preservation of the data")
    log_out(page)

    log_in(page, base, "camille")
    page.goto(f"{base}{preservation.get_absolute_url()}")
    expect(heading).to_contain_text("Data preserved")
    open_step(page, "order_extension")
    page.get_by_label("Reason for the extension").fill("The production order is being validated.")
    page.get_by_role("button", name="Extend the preservation by 30 days (Annex VI)").click()
    expect(heading).to_contain_text("Preservation extended")
    open_step(page, "follow_up")
    page.get_by_label("Reference of the request for the data that follows this preservation").fill(
        production.reference
    )
    page.get_by_role("button", name="Confirm the production request (Annex V)").click()
    expect(heading).to_contain_text("Followed up by a request")
    log_out(page)

    log_in(page, base, "pia")
    page.goto(f"{base}{Request.objects.get(pk=preservation.pk).counterpart.get_absolute_url()}")
    expect(heading).to_contain_text("Followed up by a request")
    expect(page.locator(".timeline")).to_contain_text("Preservation extended")
    expect(page.locator(".timeline")).to_contain_text("The production order is being validated.")
    preservation.refresh_from_db()
    deadline = preservation.deadlines.get(code="preservation")
    assert deadline.extended_days == 30
    assert deadline.state == "suspended"  # held after Annex V until the EPOC is decided
    assert RequestLink.objects.filter(
        Q(from_request=preservation, to_request=production)
        | Q(from_request=production, to_request=preservation)
    ).exists()


def test_an_annex_iii_is_answered_by_the_prosecutor_within_five_days(
    live_server, page: Page, parties
):
    base = live_server.url
    heading = page.get_by_role("heading", level=1)
    epoc = _draft(parties, eevidence.EPOC, categories=(eevidence.SUBSCRIBER,))
    _submit_and_send(page, base, epoc)

    log_in(page, base, "pia")
    page.goto(f"{base}{Request.objects.get(pk=epoc.pk).counterpart.get_absolute_url()}")
    page.get_by_role("button", name="Acknowledge receipt").click()
    expect(heading).to_contain_text("Acknowledged")
    open_step(page, "report_impossibility")
    page.get_by_label("The certificate is incomplete").check()
    page.get_by_label("Explanation").fill("The account identifier in section E is cut short.")
    page.get_by_role("button", name="Report that it cannot be executed (Annex III)").click()
    expect(heading).to_contain_text("Impossible to execute (Annex III)")
    log_out(page)

    log_in(page, base, "camille")
    page.goto(f"{base}{epoc.get_absolute_url()}")
    expect(heading).to_contain_text("Impossible to execute (Annex III)")
    expect(page.locator(".timeline")).to_contain_text("cut short")
    expect(page.locator(".deadlines")).to_contain_text("Annex III (5 days)")
    page.get_by_label("Answer", exact=True).select_option("completed")
    page.get_by_label("What was corrected or completed, or why it is withdrawn").fill(
        "The full identifier is max.mustermann@example-mail.example."
    )
    page.get_by_role("button", name="Answer the Annex III").click()
    expect(heading).to_contain_text("Acknowledged")
    expect(page.locator(".deadlines")).to_contain_text("Met")
    log_out(page)

    log_in(page, base, "pia")
    page.goto(f"{base}{Request.objects.get(pk=epoc.pk).counterpart.get_absolute_url()}")
    expect(heading).to_contain_text("Acknowledged")
    expect(page.locator(".timeline")).to_contain_text("max.mustermann@example-mail.example")
