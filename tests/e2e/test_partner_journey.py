"""Introducing a partner node, in the browser: one administrator takes the partner's signed
introduction in, compares it side by side, ticks the fingerprint read aloud over the phone
and proposes it; a second administrator approves it, and only then is the key pinned."""

import pytest
from playwright.sync_api import Page, expect

from contact_points.models import Authority, DirectoryChange
from mla.accounts.roles import Role
from mla.exchange.models import IntroductionConfirmation
from tests.support.factories import TEST_PASSWORD, UserFactory
from tests.support.introductions import PARTNER_INBOX, our_node, partner_introduction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def test_one_administrator_takes_the_introduction_in_and_another_approves_the_key(
    live_server, page: Page, settings, exchange_keys
):
    introduction = partner_introduction(settings, exchange_keys)
    ours = our_node(settings, exchange_keys)
    UserFactory(username="alice", authority=ours, roles=[Role.DIRECTORY_ADMINISTRATOR])
    UserFactory(username="bob", authority=ours, roles=[Role.DIRECTORY_ADMINISTRATOR])
    grouped = " ".join(exchange_keys.partner[i : i + 4] for i in range(0, 40, 4))

    _log_in(page, live_server.url, "alice")
    page.get_by_role("link", name="Partners").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download our introduction").click()
    assert download.value.suggested_filename.endswith(".mlaintro.json")
    page.get_by_label("Partner's introduction file").set_input_files(
        {"name": "partner.mlaintro.json", "mimeType": "application/json", "buffer": introduction}
    )
    page.get_by_role("button", name="Verify and review").click()

    row = page.locator("tr[data-authority=cc-partner]")
    expect(row.locator("[data-comparison]")).to_have_text("new authority")
    expect(row.locator("code[data-fingerprint=file]")).to_have_text(grouped)
    expect(row.locator("code[data-fingerprint=ours]")).to_have_text("—")
    expect(page.get_by_text(PARTNER_INBOX)).to_be_visible()
    page.get_by_label("The partner read this fingerprint aloud to me").check()
    page.get_by_label("Person you spoke to at the partner").fill("Ion Popescu")
    page.get_by_role("button", name="Propose the confirmed keys").click()
    expect(page.locator(".messages")).to_contain_text("Another administrator must approve")
    expect(page.locator("tr[data-confirmation=cc-partner]")).to_contain_text("Ion Popescu")
    assert Authority.objects.get(identifier="cc-partner").key_fingerprint == ""

    change = DirectoryChange.objects.get()
    page.goto(f"{live_server.url}/admin/contact_points/directorychange/{change.pk}/change/")
    expect(page.get_by_role("button", name="Approve the change")).to_have_count(0)

    _log_in(page, live_server.url, "bob")
    page.goto(f"{live_server.url}/exchange/partners/")
    page.get_by_role("link", name="Partner ministry node").click()
    page.locator("tr[data-confirmation=cc-partner]").get_by_role("link").click()
    expect(page.locator("code[data-fingerprint=new]")).to_have_text(grouped)
    page.get_by_role("button", name="Approve the change").click()
    expect(page.locator(".messagelist")).to_contain_text("is now in force")

    partner = Authority.objects.get(identifier="cc-partner")
    assert partner.key_fingerprint == exchange_keys.partner
    assert partner.inbox_url == PARTNER_INBOX
    change.refresh_from_db()
    assert (change.status, change.decided_by.username) == (DirectoryChange.Status.APPROVED, "bob")
    assert IntroductionConfirmation.objects.get().confirmed_by.username == "alice"
