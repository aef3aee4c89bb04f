import re

import pytest
from playwright.sync_api import Page, expect

from contact_points.models import AcceptedLanguages
from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.journeys import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def prosecutor():
    france = CountryFactory(code="FR", name="France", eio_bound=True, budapest_party=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True, budapest_party=True)
    policy = AcceptedLanguages.objects.create(country=germany, instrument="eio")
    policy.languages.set(["de", "en"])
    AuthorityFactory(
        identifier="de-berlin",
        name="Staatsanwaltschaft Berlin",
        country=germany,
        kind="prosecutor",
        instruments=["eio", "mla"],
        languages=["de", "en"],
    )
    paris = AuthorityFactory(
        identifier="fr-paris",
        name="Parquet de Paris",
        country=france,
        kind="prosecutor",
        phone="+33144325151",
        email="parquet@justice-fr.example",
    )
    return UserFactory(
        username="camille", authority=paris, roles=["prosecutor"], preferred_language="en"
    )


def test_a_prosecutor_drafts_an_eio_over_two_sittings_and_downloads_its_pdf(
    live_server, page: Page, prosecutor, tmp_path
):
    base = live_server.url
    # First sitting: start the EIO to Germany and write the facts.
    log_in(page, base, "camille")
    page.get_by_role("link", name="Draft a new request").click()
    page.get_by_label("Executing country").select_option("DE")
    page.get_by_role("button", name="Show the possible requests").click()
    eio = page.locator("article.option").filter(has_text="European Investigation Order")
    expect(eio).to_contain_text("Languages accepted: de, en")
    eio.get_by_role("button", name="Start the draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("SECTION A")
    expect(page.get_by_label("Issuing State")).to_have_value("FR")

    page.get_by_role("link", name=re.compile("SECTION G")).click()
    page.locator("#field-G-facts").fill("Victims were recruited through fake job offers online.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    draft = Request.objects.get()
    reference = draft.reference

    # Typing that was never saved is offered back after a reload.
    page.locator("#field-G-stage").fill("Investigation")
    page.reload()
    page.get_by_role("button", name="Restore what you typed before").click()
    expect(page.locator("#field-G-stage")).to_have_value("Investigation")
    page.get_by_role("button", name="Log out").click()

    # Second sitting: the facts are there; the completeness check says what is missing.
    log_in(page, base, "camille")
    page.get_by_role("link", name="Requests", exact=True).first.click()
    page.get_by_role("link", name=reference).click()
    page.get_by_role("link", name=re.compile("SECTION G")).click()
    expect(page.locator("#field-G-facts")).to_have_value(
        "Victims were recruited through fake job offers online."
    )
    page.get_by_role("link", name="Completeness check").click()
    expect(page.get_by_role("status")).to_contain_text("need your attention")
    page.get_by_role("link", name="Type of proceedings").first.click()
    expect(page).to_have_url(re.compile(r"/section/F/#field-F-"))

    page.goto(f"{base}{draft.get_absolute_url()}")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the PDF").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert download.suggested_filename == f"{reference}.pdf"
    assert target.read_bytes().startswith(b"%PDF-")


def _draft_keys(page: Page) -> list[str]:
    return page.evaluate(
        "() => Object.keys(localStorage).filter((key) => key.startsWith('mla-draft:'))"
    )


def test_unsaved_typing_is_kept_under_an_opaque_user_key_and_forgotten_at_logout(
    live_server, page: Page, prosecutor
):
    base = live_server.url
    log_in(page, base, "camille")
    page.get_by_role("link", name="Draft a new request").click()
    page.get_by_label("Executing country").select_option("DE")
    page.get_by_role("button", name="Show the possible requests").click()
    eio = page.locator("article.option").filter(has_text="European Investigation Order")
    eio.get_by_role("button", name="Start the draft").click()
    page.get_by_role("link", name=re.compile("SECTION G")).click()
    section_url = page.url

    page.locator("#field-G-facts").fill("Unsaved: the suspect's second address.")
    keys = _draft_keys(page)
    assert len(keys) == 1
    owner = keys[0].split(":")[1]
    assert re.fullmatch(r"[0-9a-f]{32}", owner)
    assert "camille" not in keys[0]

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Username")).to_be_visible()
    assert _draft_keys(page) == []

    log_in(page, base, "camille")
    page.goto(section_url)
    expect(page.locator("#field-G-facts")).to_have_value("")
    expect(page.get_by_role("button", name="Restore what you typed before")).to_be_hidden()
