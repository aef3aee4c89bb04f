"""Four eyes on a partner's key, in the browser: one directory administrator proposes a new
key in the change form, a second one compares the fingerprints and approves it."""

import pytest
from playwright.sync_api import Page, expect

from contact_points.models import DirectoryChange
from contact_points.services import authority_set_public_key
from mla.accounts.roles import Role
from tests.support.factories import TEST_PASSWORD, AuthorityFactory, CountryFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def test_two_administrators_propose_and_approve_a_new_partner_key(
    live_server, page: Page, openpgp_keys
):
    romania = CountryFactory(code="RO", name="Romania")
    point = AuthorityFactory(
        identifier="ro-247-point",
        name="Romanian cybercrime 24/7 point",
        country=romania,
        kind="point_24_7",
        inbox_url="https://ro.example/exchange/inbox/",
    )
    authority_set_public_key(authority=point, armored=openpgp_keys.valid)
    home = AuthorityFactory(identifier="fr-directory", country=CountryFactory(code="FR"))
    UserFactory(username="alice", authority=home, roles=[Role.DIRECTORY_ADMINISTRATOR])
    UserFactory(username="bob", authority=home, roles=[Role.DIRECTORY_ADMINISTRATOR])
    old = " ".join(openpgp_keys.valid_fingerprint[i : i + 4] for i in range(0, 40, 4))

    _log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/admin/contact_points/authority/{point.pk}/change/")
    page.locator("#id_public_key").fill(openpgp_keys.second_valid)
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("awaits the approval of another")

    change = DirectoryChange.objects.get()
    new = change.new_fingerprint_groups
    page.goto(f"{live_server.url}/admin/contact_points/directorychange/{change.pk}/change/")
    expect(page.locator("code[data-fingerprint=old]")).to_have_text(old)
    expect(page.locator("code[data-fingerprint=new]")).to_have_text(new)
    expect(page.get_by_role("button", name="Approve the change")).to_have_count(0)

    _log_in(page, live_server.url, "bob")
    page.goto(f"{live_server.url}/admin/contact_points/directorychange/")
    page.get_by_role("link").filter(has_text="Romanian cybercrime").click()
    expect(page.locator("code[data-fingerprint=old]")).to_have_text(old)
    expect(page.locator("code[data-fingerprint=new]")).to_have_text(new)
    page.get_by_role("button", name="Approve the change").click()
    expect(page.locator(".messagelist")).to_contain_text("is now in force")

    point.refresh_from_db()
    assert point.key_fingerprint == change.new_fingerprint
    change.refresh_from_db()
    assert change.status == DirectoryChange.Status.APPROVED
    assert change.decided_by.username == "bob"
