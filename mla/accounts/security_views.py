"""Pages of the second factor: the step after the password, the enrolment and management of
factors, recovery codes, and the re-authentication asked before sensitive actions."""

from io import BytesIO

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django import forms
from django.contrib import auth, messages
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from mla.accounts.client_ip import client_ip
from mla.accounts.decorators import enrolment_step, second_factor_step
from mla.accounts.models import SecurityEvent, User
from mla.accounts.second_factor import (
    factor_remove,
    recovery_codes_generate,
    recovery_codes_left,
    second_factor_passed_record,
    second_factor_required,
    second_factor_verify,
    totp_enrolment_confirm,
    totp_enrolment_start,
    user_factors,
    user_has_passkey,
    user_has_second_factor,
    user_has_totp,
)
from mla.accounts.sessions import (
    authentication_mark_recent,
    reauthentication_password_given,
)
from mla.core.errors import ApplicationError
from mla.core.reauthentication import recent_authentication_required


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class ReauthenticationForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    code = forms.CharField(
        label=gettext_lazy("Code from your app, or a recovery code"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _is_verified(request: HttpRequest) -> bool:
    return bool(request.user.is_verified())  # type: ignore[union-attr]  # django-otp


def _next_url(request: HttpRequest, default: str = "/") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _failure_counted(request: HttpRequest, user: User) -> HttpResponseBase | None:
    """Count a failed second step against the username and address, as a wrong password
    is (django-axes); past the limit, end the half-signed-in session: the lockout page."""
    credentials = {"username": user.username}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if AxesProxyHandler.is_locked(request, credentials):
        auth.logout(request)
        return get_lockout_response(request, None, credentials)
    return None


@second_factor_step
@never_cache
def second_factor_view(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    next_url = _next_url(request)
    if _is_verified(request) or not user_has_second_factor(user=user):
        return redirect(next_url)
    credentials = {"username": user.username}
    if AxesProxyHandler.is_locked(request, credentials):
        auth.logout(request)
        return get_lockout_response(request, None, credentials)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = second_factor_verify(
                user=user, token=form.cleaned_data["code"], address=client_ip(request)
            )
        except ApplicationError as error:
            lockout = _failure_counted(request, user)
            if lockout is not None:
                return lockout
            form.add_error("code", str(error))
        else:
            otp_login(request, device)
            authentication_mark_recent(session=request.session)
            return redirect(next_url)
    return render(
        request,
        "accounts/second_factor.html",
        {
            "form": form,
            "next": next_url,
            "has_totp": user_has_totp(user=user),
            "has_passkey": user_has_passkey(user=user),
        },
    )


@enrolment_step
@never_cache
def security_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "accounts/security.html",
        {
            "factors": user_factors(user=user),
            "required": second_factor_required(user=user),
            "recovery_codes_left": recovery_codes_left(user=user),
            "events": SecurityEvent.objects.filter(user=user)[:20],
            "next": _next_url(request, default=""),
        },
    )


def _qr_svg(data: str) -> str:
    buffer = BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=4, xmldecl=False, svgns=True)
    return buffer.getvalue().decode()


@enrolment_step
@recent_authentication_required
@never_cache
def totp_enrol_view(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    verified = _is_verified(request)
    try:
        device = totp_enrolment_start(user=user, verified=verified)
    except ApplicationError as error:
        messages.error(request, str(error))
        return redirect("accounts:security")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            confirmed, codes = totp_enrolment_confirm(
                user=user,
                verified=verified,
                device_id=device.pk,
                token=form.cleaned_data["code"],
                address=client_ip(request),
            )
        except ApplicationError as error:
            form.add_error("code", str(error))
        else:
            otp_login(request, confirmed)
            authentication_mark_recent(session=request.session)
            messages.success(request, _("The authenticator app is added."))
            if codes:
                return _recovery_codes_page(request, codes)
            return redirect(_next_url(request, default=reverse("accounts:security")))
    return render(
        request,
        "accounts/totp_enrol.html",
        {
            "form": form,
            # segno writes the QR code as plain SVG shapes: no script, no style attribute.
            "qr_svg": mark_safe(_qr_svg(device.config_url)),  # noqa: S308
            "secret": _base32(device),
            "next": _next_url(request, default=""),
        },
    )


def _base32(device: TOTPDevice) -> str:
    from base64 import b32encode

    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _recovery_codes_page(request: HttpRequest, codes: list[str]) -> HttpResponse:
    # Shown in this response only: the codes are stored as digests and never shown again.
    response = render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "next": _next_url(request, default="")},
    )
    response["Cache-Control"] = "no-store, private"
    return response


@enrolment_step
@require_POST
@recent_authentication_required(return_to=lambda request: reverse("accounts:security"))
def recovery_codes_view(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    try:
        codes = recovery_codes_generate(
            user=user, verified=_is_verified(request), address=client_ip(request)
        )
    except ApplicationError as error:
        messages.error(request, str(error))
        return redirect("accounts:security")
    return _recovery_codes_page(request, codes)


@require_POST
@recent_authentication_required(
    return_to=lambda request, kind, factor_id: reverse("accounts:security")
)
def factor_remove_view(request: HttpRequest, kind: str, factor_id: int) -> HttpResponseBase:
    try:
        factor_remove(
            user=_user(request),
            verified=_is_verified(request),
            kind=kind,
            factor_id=factor_id,
            address=client_ip(request),
        )
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The factor is removed."))
    return redirect("accounts:security")


@never_cache
def reauthenticate_view(request: HttpRequest) -> HttpResponseBase:
    """The password again, and the second factor if the user has one."""
    user = _user(request)
    next_url = _next_url(request)
    has_factor = user_has_second_factor(user=user)
    credentials = {"username": user.username}
    form = ReauthenticationForm(request.POST or None)
    passkey_step = False
    if request.method == "POST" and form.is_valid():
        address = client_ip(request)
        # Through the authentication backends, so that django-axes counts a wrong password.
        password_ok = (
            auth.authenticate(
                request, username=user.username, password=form.cleaned_data["password"]
            )
            == user
        )
        code = form.cleaned_data["code"]
        if not password_ok:
            if AxesProxyHandler.is_locked(request, credentials):
                auth.logout(request)
                return get_lockout_response(request, None, credentials)
            form.add_error("password", _("The password is not right."))
        elif not has_factor:
            second_factor_passed_record(user=user, address=address, reauthentication=True)
            authentication_mark_recent(session=request.session)
            return redirect(next_url)
        elif code:
            try:
                second_factor_verify(user=user, token=code, address=address, reauthentication=True)
            except ApplicationError as error:
                lockout = _failure_counted(request, user)
                if lockout is not None:
                    return lockout
                form.add_error("code", str(error))
            else:
                authentication_mark_recent(session=request.session)
                return redirect(next_url)
        elif user_has_passkey(user=user):
            # The passkey comes next, on the same page; the password stays good for minutes.
            reauthentication_password_given(session=request.session)
            passkey_step = True
        else:
            form.add_error("code", _("Enter the code from your authenticator app."))
    return render(
        request,
        "accounts/reauthenticate.html",
        {
            "form": form,
            "next": next_url,
            "has_factor": has_factor,
            "has_totp": user_has_totp(user=user),
            "has_passkey": user_has_passkey(user=user),
            "passkey_step": passkey_step,
        },
    )
