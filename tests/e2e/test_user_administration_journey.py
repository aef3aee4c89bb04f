"""An account administrator invites a prosecutor by e-mail; the prosecutor follows the link,
sets a password, is held at the second-factor enrolment (every user must have one here),
enrols an authenticator app and signs in; the administrator deactivates the account, and
the prosecutor's open session ends and the password no longer signs in."""

import base64
import re

import pytest
from django.core import mail
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from mla.accounts.models import AccountChange, AccountChangeKind, User
from tests.support.accounts import link_path_from_mail
from tests.support.factories import TEST_PASSWORD, AuthorityFactory, UserFactory
from tests.support.second_factor import totp_code, totp_code_accepted_now, totp_device_confirmed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROSECUTOR_PASSWORD = "Bucharest-Evidence-Desk-2026"


@pytest.fixture
def administrator(settings):
    settings.MFA_REQUIRED_FOR_ADMINISTRATORS = True
    settings.MFA_REQUIRED_FOR_ALL = True
    authority = AuthorityFactory(
        identifier="ro-bucharest-prosecutor", name="Bucharest prosecutor's office"
    )
    user = UserFactory(
        username="ana.accounts", roles=["account_administrator"], authority=authority
    )
    totp_device_confirmed(user)
    return user


def _sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _second_step(page: Page, username: str) -> None:
    expect(page).to_have_url(re.compile(r"/accounts/second-factor/"))
    page.get_by_label("Code").fill(
        totp_code_accepted_now(TOTPDevice.objects.get(user__username=username, confirmed=True))
    )
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("You act for")).to_be_visible()


def test_invite_enrol_sign_in_and_deactivate(
    page: Page, live_server, administrator, settings, browser, browser_context_args
):
    base = live_server.url
    settings.SITE_URL = base  # the link in the e-mail leads to this server

    # The administrator invites a prosecutor.
    _sign_in(page, base, "ana.accounts", TEST_PASSWORD)
    _second_step(page, "ana.accounts")
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="Invite a user").click()
    page.get_by_label("Username").fill("mihai.prosecutor")
    page.get_by_label("First name").fill("Mihai")
    page.get_by_label("Last name").fill("Ionescu")
    page.get_by_label("E-mail").fill("mihai@example.org")
    page.get_by_label("Prosecutor", exact=True).check()
    # Node-wide roles are not offered to an account administrator.
    expect(page.get_by_label("Node administrator")).to_have_count(0)
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("mihai.prosecutor is invited")).to_be_visible()
    expect(page.locator("#account-status")).to_have_text("Invited: no password set yet")

    [message] = mail.outbox
    assert message.to == ["mihai@example.org"]
    link = link_path_from_mail(message)

    # The prosecutor, in their own browser, follows the link.
    prosecutor_context = browser.new_context(**browser_context_args)
    prosecutor = prosecutor_context.new_page()
    prosecutor.goto(f"{base}{link}")
    expect(prosecutor.get_by_role("heading", name="Set your password")).to_be_visible()
    prosecutor.get_by_label(re.compile(r"^New password:?$")).fill(PROSECUTOR_PASSWORD)
    prosecutor.get_by_label("New password again").fill(PROSECUTOR_PASSWORD)
    prosecutor.get_by_role("button", name="Set the password").click()

    # Held at the enrolment of a second factor: nothing else opens before it.
    expect(prosecutor).to_have_url(re.compile(r"/accounts/security/"))
    expect(prosecutor.get_by_text("Your account must have a second factor")).to_be_visible()
    prosecutor.get_by_role("link", name="Add an authenticator app").click()
    secret = prosecutor.locator("#totp-secret").inner_text().replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    prosecutor.get_by_label("Code").fill(totp_code(key))
    prosecutor.get_by_role("button", name="Add the app").click()
    expect(prosecutor.get_by_role("heading", name="Recovery codes")).to_be_visible()
    prosecutor.get_by_role("link", name="I have kept them: continue").click()
    prosecutor.get_by_role("button", name="Log out").click()

    # The link is spent.
    prosecutor.goto(f"{base}{link}")
    expect(prosecutor.get_by_text("This link was used already")).to_be_visible()

    # The prosecutor signs in with the new password and the app.
    _sign_in(prosecutor, base, "mihai.prosecutor", PROSECUTOR_PASSWORD)
    _second_step(prosecutor, "mihai.prosecutor")

    # The administrator sees the accepted invitation, and deactivates the account.
    page.get_by_role("link", name="Users", exact=True).click()
    row = page.get_by_role("row").filter(has_text="mihai.prosecutor")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Enrolled")
    row.get_by_role("link", name="mihai.prosecutor").click()
    expect(page.get_by_text("Invitation accepted, password set")).to_be_visible()
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_text("mihai.prosecutor is deactivated")).to_be_visible()
    expect(page.locator("#account-status")).to_have_text("Deactivated")

    # The prosecutor's open session has ended, and the password no longer signs in.
    prosecutor.goto(f"{base}/requests/")
    expect(prosecutor).to_have_url(re.compile(r"/accounts/login/"))
    _sign_in(prosecutor, base, "mihai.prosecutor", PROSECUTOR_PASSWORD)
    expect(prosecutor.get_by_role("alert")).to_be_visible()
    expect(prosecutor).to_have_url(re.compile(r"/accounts/login/"))
    prosecutor_context.close()

    invited = User.objects.get(username="mihai.prosecutor")
    assert not invited.is_active
    assert list(
        AccountChange.objects.filter(subject=invited).order_by("pk").values_list("kind", flat=True)
    ) == [
        AccountChangeKind.INVITED,
        AccountChangeKind.INVITATION_ACCEPTED,
        AccountChangeKind.DEACTIVATED,
    ]
