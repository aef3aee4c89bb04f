"""A prosecutor makes an API token for the office's case-management system, copies it from
the one page that shows it, uses it with the API, and revokes it: the API refuses it."""

import re

import pytest
from playwright.sync_api import Page, Playwright, expect

from mla.api.models import ApiToken
from tests.support.factories import UserFactory
from tests.support.journeys import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _status_with(playwright: Playwright, base: str, secret: str) -> int:
    """What a program holding ``secret`` is answered: its own client, no browser cookie."""
    client = playwright.request.new_context(base_url=base)
    try:
        response = client.get(
            "/api/v1/directory/countries/", headers={"Authorization": f"Bearer {secret}"}
        )
        return response.status
    finally:
        client.dispose()


def test_make_copy_use_and_revoke_a_token(live_server, page: Page, playwright: Playwright):
    base = live_server.url
    UserFactory(username="camille", roles=["prosecutor"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)

    log_in(page, base, "camille")
    page.get_by_role("link", name="Ana Ionescu").click()
    page.get_by_role("link", name="Second factor and recovery codes").click()
    page.get_by_role("link", name="Your API tokens").click()
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()

    page.get_by_role("link", name="Make a token").click()
    page.get_by_label("Name").fill("Case system")
    expect(page.get_by_label("read: Read requests")).to_be_checked()
    page.get_by_label("draft: Create and change drafts").check()
    page.get_by_role("button", name="Make the token").click()

    expect(page.get_by_role("heading", name="Your new API token")).to_be_visible()
    secret = page.locator("#api-token-secret").inner_text().strip()
    assert re.fullmatch(r"mla_[0-9a-f]{12}_[-\w]+", secret)
    page.get_by_role("button", name="Copy the token").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.get_by_role("link", name="I have copied it: back to the API tokens").click()
    key_id = ApiToken.objects.get(user__username="camille").key_id
    row = page.get_by_role("row").filter(has_text="Case system")
    expect(row).to_contain_text(f"mla_{key_id}_…")
    expect(row).to_contain_text("draft, read")
    expect(row).to_contain_text("Never")
    assert secret not in page.content()

    assert _status_with(playwright, base, secret) == 200
    page.reload()
    expect(row).not_to_contain_text("Never")

    row.get_by_role("link", name="Revoke").click()
    page.get_by_role("button", name="Revoke the token").click()

    expect(
        page.get_by_text("The token “Case system” is revoked: it no longer works.")
    ).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Case system")).to_contain_text("Revoked")
    assert _status_with(playwright, base, secret) == 401
