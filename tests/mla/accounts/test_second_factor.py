import re

import pytest
from django.conf import settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from mla.accounts.models import RecoveryCode, SecurityEvent, SecurityEventKind
from mla.accounts.second_factor import (
    recovery_codes_generate,
    second_factor_verify,
    user_has_second_factor,
)
from mla.core.errors import ApplicationError
from tests.support.factories import TEST_PASSWORD, UserFactory
from tests.support.second_factor import totp_code_for, totp_device_confirmed

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")


def _log_in(client, user, next_url=""):
    return client.post(
        LOGIN + (f"?next={next_url}" if next_url else ""),
        {"username": user.username, "password": TEST_PASSWORD},
    )


def _kinds(user):
    return list(
        SecurityEvent.objects.filter(user=user).order_by("pk").values_list("kind", flat=True)
    )


@pytest.fixture
def administrator():
    return UserFactory(roles=["directory_administrator"], is_staff=True)


@pytest.fixture
def required_for_administrators(settings):
    settings.MFA_REQUIRED_FOR_ADMINISTRATORS = True
    settings.MFA_REQUIRED_FOR_ALL = False


# --- Enforcement -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["directory_administrator", "superuser"])
def test_an_administrator_without_a_factor_is_sent_to_enrol_before_anything_else(
    client, required_for_administrators, kind
):
    if kind == "superuser":
        user = UserFactory(is_superuser=True, is_staff=True)
    else:
        user = UserFactory(roles=["directory_administrator"], is_staff=True)
    _log_in(client, user)

    for url in (reverse("core:home"), reverse("contact_points:search"), "/admin/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:security")), url
    page = client.get(reverse("accounts:security")).content.decode()
    assert "Your account must have a second factor" in page


def test_a_prosecutor_needs_no_factor_unless_required_for_all(client, settings):
    settings.MFA_REQUIRED_FOR_ADMINISTRATORS = True
    settings.MFA_REQUIRED_FOR_ALL = False
    prosecutor = UserFactory(roles=["prosecutor"])
    _log_in(client, prosecutor)
    assert client.get(reverse("core:home")).status_code == 200

    settings.MFA_REQUIRED_FOR_ALL = True
    response = client.get(reverse("core:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:security"))


def test_nobody_is_required_to_enrol_when_both_switches_are_off(client, settings, administrator):
    settings.MFA_REQUIRED_FOR_ADMINISTRATORS = False
    settings.MFA_REQUIRED_FOR_ALL = False
    _log_in(client, administrator)

    assert client.get(reverse("core:home")).status_code == 200


def test_the_settings_require_factors_in_production_and_not_in_the_demo():
    from mla.settings import base, local

    assert base.MFA_REQUIRED_FOR_ALL is True
    assert base.MFA_REQUIRED_FOR_ADMINISTRATORS is True
    assert local.MFA_REQUIRED_FOR_ALL is False
    assert local.MFA_REQUIRED_FOR_ADMINISTRATORS is False


# --- Enrolment -------------------------------------------------------------------------------


def test_enrolling_an_app_is_audited_emailed_and_gives_recovery_codes_once(
    client,
    required_for_administrators,
    administrator,
    django_capture_on_commit_callbacks,
    security_mail_at_once,
    mailoutbox,
):
    _log_in(client, administrator)
    page = client.get(reverse("accounts:totp_enrol")).content.decode()
    assert "<svg" in page
    device = TOTPDevice.objects.get(user=administrator, confirmed=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:totp_enrol"), {"code": totp_code_for(device)})

    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", response.content.decode())
    assert len(codes) == settings.MFA_RECOVERY_CODE_COUNT
    assert "no-store" in response["Cache-Control"]
    # Only digests are kept.
    stored = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert not any(code.replace("-", "") in stored for code in codes)
    assert _kinds(administrator) == [
        SecurityEventKind.FACTOR_ENROLLED,
        SecurityEventKind.RECOVERY_CODES_GENERATED,
    ]
    assert [message.to for message in mailoutbox] == [[administrator.email]] * 2
    assert "Second factor added" in mailoutbox[0].subject
    # Enrolled and verified: the node opens.
    assert client.get(reverse("core:home")).status_code == 200


def test_a_wrong_enrolment_code_is_refused_and_nothing_is_enrolled(client, administrator):
    _log_in(client, administrator)
    client.get(reverse("accounts:totp_enrol"))

    response = client.post(reverse("accounts:totp_enrol"), {"code": "000000"})

    assert "The code is not right" in response.content.decode()
    assert not user_has_second_factor(user=administrator)
    assert _kinds(administrator) == []


def test_a_password_alone_cannot_add_a_factor_to_an_account_that_has_one(client, administrator):
    totp_device_confirmed(administrator)
    _log_in(client, administrator)

    response = client.get(reverse("accounts:totp_enrol"))

    assert response["Location"].startswith(reverse("accounts:second_factor"))
    assert TOTPDevice.objects.filter(user=administrator).count() == 1
    with pytest.raises(ApplicationError):
        recovery_codes_generate(user=administrator, verified=False, address=None)


@pytest.mark.parametrize(
    "url_name", ["accounts:security", "accounts:totp_enrol", "accounts:reauthenticate"]
)
def test_the_pages_carry_no_inline_script_or_style(client, administrator, url_name):
    totp_device_confirmed(administrator)
    client.force_login(administrator)
    page = client.get(reverse("accounts:second_factor")).content.decode()
    client.post(reverse("accounts:second_factor"), {"code": "x"})
    pages = [page, client.get(reverse(url_name)).content.decode()]

    for html in pages:
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, tag
        assert " style=" not in html


# --- Sign-in with the second step ------------------------------------------------------------


def test_a_user_with_a_factor_gives_it_after_the_password(client):
    user = UserFactory(roles=["prosecutor"])  # not required: having a factor is enough
    device = totp_device_confirmed(user)

    response = _log_in(client, user, next_url="/requests/")
    home = client.get(response["Location"])
    assert home.status_code == 302
    assert home["Location"].startswith(reverse("accounts:second_factor"))

    verified = client.post(
        reverse("accounts:second_factor"), {"code": totp_code_for(device), "next": "/requests/"}
    )

    assert verified["Location"] == "/requests/"
    assert client.get(reverse("core:home")).status_code == 200
    assert _kinds(user) == [SecurityEventKind.SIGNED_IN_WITH_SECOND_FACTOR]


def test_a_wrong_code_is_refused_logged_and_counted_by_the_login_throttle(client, settings):
    user = UserFactory()
    totp_device_confirmed(user)
    _log_in(client, user)

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("accounts:second_factor"), {"code": "123456"})
        assert "The code is not right" in response.content.decode()
    last = client.post(reverse("accounts:second_factor"), {"code": "123456"})

    assert last.status_code == 429
    assert "_auth_user_id" not in client.session  # the half-signed-in session is ended
    assert _kinds(user) == [SecurityEventKind.SECOND_FACTOR_FAILED] * settings.AXES_FAILURE_LIMIT
    # Locked out: even the right password is refused now.
    _log_in(client, user)
    assert "_auth_user_id" not in client.session


def test_a_recovery_code_works_once_and_is_audited_and_emailed(
    client, django_capture_on_commit_callbacks, security_mail_at_once, mailoutbox
):
    user = UserFactory()
    totp_device_confirmed(user)
    codes = recovery_codes_generate(user=user, verified=True, address=None)
    mailoutbox.clear()

    _log_in(client, user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:second_factor"), {"code": codes[3].upper()})
    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 200
    used = SecurityEvent.objects.get(user=user, kind=SecurityEventKind.RECOVERY_CODE_USED)
    assert used.detail == f"{settings.MFA_RECOVERY_CODE_COUNT - 1} left"
    assert used.address == "127.0.0.1"
    assert len(mailoutbox) == 1
    assert "Recovery code used" in mailoutbox[0].subject

    client.logout()
    _log_in(client, user)
    again = client.post(reverse("accounts:second_factor"), {"code": codes[3]})
    assert "The code is not right" in again.content.decode()


def test_a_recovery_code_is_spent_by_the_service_once(db):
    user = UserFactory()
    totp_device_confirmed(user)
    code = recovery_codes_generate(user=user, verified=True, address=None)[0]

    second_factor_verify(user=user, token=code, address=None)
    with pytest.raises(ApplicationError):
        second_factor_verify(user=user, token=code, address=None)


# --- Removal ---------------------------------------------------------------------------------


def test_removing_a_factor_is_audited_and_emailed(
    client, django_capture_on_commit_callbacks, security_mail_at_once, mailoutbox
):
    user = UserFactory()
    device = totp_device_confirmed(user)
    recovery_codes_generate(user=user, verified=True, address=None)
    mailoutbox.clear()
    _log_in(client, user)
    client.post(reverse("accounts:second_factor"), {"code": totp_code_for(device)})

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:factor_remove", args=["totp", device.pk]))

    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert not RecoveryCode.objects.filter(device__user=user).exists()
    assert SecurityEventKind.FACTOR_REMOVED in _kinds(user)
    assert [message.subject for message in mailoutbox] == [
        f"{settings.EMAIL_SUBJECT_PREFIX}Security of your account: Second factor removed"
    ]


def test_the_last_factor_of_a_user_who_must_have_one_stays(
    client, required_for_administrators, administrator
):
    device = totp_device_confirmed(administrator)
    _log_in(client, administrator)
    client.post(reverse("accounts:second_factor"), {"code": totp_code_for(device)})

    response = client.post(reverse("accounts:factor_remove", args=["totp", device.pk]), follow=True)

    assert "must keep a second factor" in response.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


# --- The log ---------------------------------------------------------------------------------


def test_the_security_log_is_append_only_and_read_only_in_the_admin(client):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    event = SecurityEvent.objects.create(
        user=superuser, username=superuser.username, kind=SecurityEventKind.FACTOR_ENROLLED
    )
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()

    client.force_login(superuser)
    changelist = client.get(reverse("admin:accounts_securityevent_changelist"))
    assert changelist.status_code == 200
    assert superuser.username in changelist.content.decode()
    assert client.get(reverse("admin:accounts_securityevent_add")).status_code == 403
    assert (
        client.post(reverse("admin:accounts_securityevent_delete", args=[event.pk])).status_code
        == 403
    )
