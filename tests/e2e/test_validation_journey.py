import pytest
from playwright.sync_api import Page, expect

from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import request_create
from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.journeys import log_in
from tests.support.samples import complete_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def police_eio():
    france = CountryFactory(code="FR", name="France", eio_bound=True, budapest_party=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True, budapest_party=True)
    berlin = AuthorityFactory(
        identifier="de-berlin",
        name="Staatsanwaltschaft Berlin",
        country=germany,
        kind="prosecutor",
        instruments=["eio"],
    )
    police = AuthorityFactory(
        identifier="fr-police", name="Office central (police)", country=france, kind="police"
    )
    judge_office = AuthorityFactory(
        identifier="fr-judge",
        name="Juge d'instruction de Paris",
        country=france,
        kind="investigating_judge",
    )
    officer = UserFactory(
        username="officer", authority=police, roles=["investigator"], preferred_language="en"
    )
    UserFactory(
        username="judge",
        authority=judge_office,
        roles=["validating_authority"],
        preferred_language="en",
    )
    draft = request_create(
        actor=officer, declaration_code="eio", executing_country=germany, executing_authority=berlin
    )
    draft.data = complete_data(declaration_for("eio"))
    draft.data["K"]["issuer_type"] = "other_authority"  # Art. 2(c)(ii): validation needed
    draft.save()
    return draft


def test_a_police_eio_is_submitted_then_validated_by_the_judge(live_server, page: Page, police_eio):
    base = live_server.url
    log_in(page, base, "officer")
    page.goto(f"{base}{police_eio.get_absolute_url()}")
    page.get_by_label("Validating authority").select_option(label="Juge d'instruction de Paris")
    page.get_by_role("button", name="Submit for validation").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Awaiting validation")
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, "judge")
    page.get_by_role("link", name="Requests", exact=True).first.click()
    page.get_by_role("link", name=police_eio.reference).click()
    page.get_by_label("Note (optional)").fill("Necessary and proportionate.")
    page.get_by_role("button", name="Validate").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Ready to send")
    expect(page.locator(".timeline")).to_contain_text("Validated")
    expect(page.locator(".timeline")).to_contain_text("Necessary and proportionate.")
    assert Request.objects.get().state == Request.State.READY
