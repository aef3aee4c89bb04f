"""The passkey ceremonies, under the namespace django-otp-webauthn's template tags expect."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from mla.accounts import passkeys
from mla.accounts.decorators import second_factor_step

app_name = "otp_webauthn"
urlpatterns = [
    path(
        "registration/begin/",
        passkeys.begin_registration,
        name="credential-registration-begin",
    ),
    path(
        "registration/complete/",
        passkeys.complete_registration,
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        passkeys.begin_authentication,
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        passkeys.complete_authentication,
        name="credential-authentication-complete",
    ),
    path(
        "jsi18n/",
        second_factor_step(JavaScriptCatalog.as_view(packages=["django_otp_webauthn"])),
        name="js-i18n-catalog",
    ),
]
