"""A directory administrator, who must have a second factor, enrols an authenticator app,
logs out, and logs in again with a code; then adds a passkey (Chromium's virtual
authenticator) and signs in with it."""

import base64
import re
import time

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Locator, Page, expect

from mla.accounts.models import SecurityEvent, SecurityEventKind
from tests.support.factories import TEST_PASSWORD, UserFactory
from tests.support.journeys import log_in, log_out
from tests.support.second_factor import totp_code, totp_code_accepted_now

# How long a passkey ceremony may take (two round trips and the authenticator's signature).
CEREMONY_MS = 20_000


def _passkey_ceremony(page: Page, button: str, done: Locator) -> None:
    """Click the passkey library's button until its script takes the click, then wait for
    ``done``. Now and then headless Chromium loses a click that lands while the library is
    still setting the button up (the button never reads "Verifying…" and nothing is sent);
    a person would click again, and so does the test, at most three times. A click taken
    (the button renamed or gone, or ``done`` shown) is never repeated."""
    for _attempt in range(3):
        page.get_by_role("button", name=button).click()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if done.count() or not page.get_by_role("button", name=button, exact=True).count():
                expect(done).to_be_visible(timeout=CEREMONY_MS)
                return
            page.wait_for_timeout(100)
    expect(done).to_be_visible(timeout=CEREMONY_MS)


pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def administrator(settings):
    settings.MFA_REQUIRED_FOR_ADMINISTRATORS = True
    settings.MFA_REQUIRED_FOR_ALL = False
    return UserFactory(username="dana", roles=["directory_administrator"], is_staff=True)


def _enrol_totp(page: Page) -> None:
    page.get_by_role("link", name="Add an authenticator app").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code").fill(totp_code(key))
    page.get_by_role("button", name="Add the app").click()


def test_enrol_an_app_log_out_and_log_in_with_a_code(page: Page, live_server, administrator):
    base = live_server.url

    log_in(page, base, "dana")
    # Nothing opens before a second factor is added.
    expect(page).to_have_url(re.compile(r"/accounts/security/"))
    expect(page.get_by_text("Your account must have a second factor")).to_be_visible()
    page.goto(f"{base}/directory/")
    expect(page).to_have_url(re.compile(r"/accounts/security/"))

    _enrol_totp(page)
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    expect(page.locator(".recovery-codes code")).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    page.goto(f"{base}/directory/")
    expect(page).to_have_url(re.compile(r"/directory/"))
    log_out(page)

    log_in(page, base, "dana")
    expect(page).to_have_url(re.compile(r"/accounts/second-factor/"))
    # The code of the enrolment cannot be used again: the app's next one.
    page.get_by_label("Code").fill(
        totp_code_accepted_now(TOTPDevice.objects.get(user__username="dana"))
    )
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_text("You act for")).to_be_visible()
    kinds = set(SecurityEvent.objects.filter(user__username="dana").values_list("kind", flat=True))
    assert {
        SecurityEventKind.FACTOR_ENROLLED,
        SecurityEventKind.RECOVERY_CODES_GENERATED,
        SecurityEventKind.SIGNED_IN_WITH_SECOND_FACTOR,
    } <= kinds


def test_add_a_passkey_and_sign_in_with_it(page: Page, live_server, administrator, settings):
    base = live_server.url.replace("127.0.0.1", "localhost")
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [base]
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )

    log_in(page, base, "dana")
    expect(page).to_have_url(re.compile(r"/accounts/security/"))
    _passkey_ceremony(page, "Add a passkey", page.get_by_text("Passkey:"))
    page.get_by_role("button", name="Make new recovery codes").click()
    expect(page.locator(".recovery-codes code")).to_have_count(10)
    log_out(page)

    log_in(page, base, "dana")
    expect(page).to_have_url(re.compile(r"/accounts/second-factor/"))
    _passkey_ceremony(page, "Use a passkey", page.get_by_text("You act for"))
    signed_in = SecurityEvent.objects.get(
        user__username="dana", kind=SecurityEventKind.SIGNED_IN_WITH_SECOND_FACTOR
    )
    assert signed_in.detail.startswith("passkey #")
    assert SecurityEvent.objects.get(
        user__username="dana", kind=SecurityEventKind.FACTOR_ENROLLED
    ).detail.startswith("passkey #")

    # Re-authentication with a passkey: the password first, then the passkey.
    settings.REAUTHENTICATION_MAX_AGE = 0
    page.goto(f"{base}/accounts/reauthenticate/?next=/directory/")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    # The passkey is asked on the next page: wait for it, not for a button of this one.
    expect(page.get_by_text("Now confirm with your passkey.")).to_be_visible()
    _passkey_ceremony(
        page, "Use a passkey", page.get_by_role("heading", name=re.compile("Directory"))
    )
    expect(page).to_have_url(f"{base}/directory/")
    assert SecurityEvent.objects.filter(
        user__username="dana", kind=SecurityEventKind.REAUTHENTICATED
    ).exists()
