"""The "Next step" box of a request's page: the likely step is one clear action that takes
the step; the other steps wait each in its own disclosure, with its labels and help; no
label or button wraps mid-phrase."""

import pytest
from playwright.sync_api import Page, expect

from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.journeys import log_in, ready_eio

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Each label, button and disclosure title of the box on one line: its height is at most
# one line's (with room for the padding of a button or a disclosure's title).
_WRAPPED = """box => [...box.querySelectorAll("label, button, summary")]
  .filter(el => el.offsetParent !== null)
  .filter(el => {
    const style = getComputedStyle(el);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    return el.getBoundingClientRect().height > line * 1.5 + padding;
  })
  .map(el => el.textContent.trim())"""


@pytest.fixture
def received_eio():
    france = CountryFactory(code="FR", name="France", eio_bound=True, budapest_party=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True, budapest_party=True)
    paris = AuthorityFactory(
        identifier="fr-paris", name="Parquet de Paris", country=france, kind="prosecutor"
    )
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
        username="kai",
        first_name="Kai",
        last_name="Weber",
        authority=berlin,
        roles=["contact_point_staff"],
        preferred_language="en",
    )
    from mla.requests.lifecycle.issuing import request_send

    issuing = ready_eio(prosecutor=prosecutor, country=germany, authority=berlin)
    request_send(request=issuing, actor=prosecutor)
    issuing.refresh_from_db()
    return issuing.counterpart


def test_the_primary_action_takes_the_likely_step(live_server, page: Page, received_eio):
    log_in(page, live_server.url, "kai")
    page.goto(f"{live_server.url}{received_eio.get_absolute_url()}")
    heading = page.get_by_role("heading", level=1)
    box = page.locator("#next-step")
    expect(heading).to_contain_text("Received")

    # One clear action, with its field and its help; the other steps closed, each apart.
    likely = box.locator(".step-likely")
    expect(likely.get_by_role("button")).to_have_count(1)
    expect(likely.get_by_role("button")).to_have_text("Acknowledge receipt")
    expect(likely.get_by_role("button")).to_have_class("primary")
    expect(likely.get_by_label("Other information (optional)")).to_be_visible()
    expect(likely).to_contain_text("Annex B acknowledgement of receipt")
    expect(box.get_by_role("button", name="Refuse")).to_have_count(0)  # closed
    expect(box.get_by_label("Written motivation")).to_be_hidden()
    refuse = box.locator('details[data-step-disclosure="refuse"]')
    expect(refuse.locator("summary")).to_have_text("Refuse")
    assert box.evaluate(_WRAPPED) == []

    # A disclosure opened shows its step's labelled fields, one line each.
    refuse.locator("summary").click()
    expect(box.get_by_label("Ground for refusal")).to_be_visible()
    expect(box.get_by_label("Written motivation")).to_be_visible()
    expect(refuse.get_by_role("button", name="Refuse")).to_be_visible()
    assert box.evaluate(_WRAPPED) == []

    likely.get_by_label("Other information (optional)").fill("Our file 7 Js 12/26")
    likely.get_by_role("button", name="Acknowledge receipt").click()

    expect(heading).to_contain_text("Acknowledged")
    received_eio.refresh_from_db()
    assert received_eio.state == Request.State.ACKNOWLEDGED
    assert received_eio.audit_entries.filter(
        event="acknowledged", note="Our file 7 Js 12/26"
    ).exists()
    # The next likely step is the one clear action now.
    expect(page.locator("#next-step .step-likely").get_by_role("button")).to_have_text(
        "Recognise: it will be executed"
    )


def test_a_narrow_window_wraps_no_label_mid_phrase(live_server, page: Page, received_eio):
    page.set_viewport_size({"width": 800, "height": 900})
    log_in(page, live_server.url, "kai")
    page.goto(f"{live_server.url}{received_eio.get_absolute_url()}")
    box = page.locator("#next-step")

    for details in box.locator("details").all():
        details.locator("summary").click()

    assert box.evaluate(_WRAPPED) == []


def test_a_link_to_a_step_opens_its_disclosure(live_server, page: Page, received_eio):
    log_in(page, live_server.url, "kai")

    page.goto(f"{live_server.url}{received_eio.get_absolute_url()}#step-forward")

    forward = page.locator('details[data-step-disclosure="forward"]')
    expect(forward).to_have_attribute("open", "")
    expect(page.get_by_label("Forward to the competent authority")).to_be_visible()
    expect(page.locator('details[data-step-disclosure="refuse"]')).not_to_have_attribute("open", "")
