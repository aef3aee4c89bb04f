"""django-otp-webauthn's ceremony views, with this node's rules: registering a passkey is
an enrolment (recent authentication, logged, e-mailed); using one is the second step of
the sign-in or of a re-authentication (logged)."""

import json
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django_otp_webauthn import exceptions
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.models import AbstractWebAuthnCredential

from mla.accounts.client_ip import client_ip
from mla.accounts.decorators import enrolment_step, second_factor_step
from mla.accounts.models import User
from mla.accounts.second_factor import passkey_enrolment_record, second_factor_passed_record
from mla.accounts.sessions import authentication_mark_recent, reauthentication_password_is_fresh
from mla.core.reauthentication import authentication_is_recent


class ReauthenticationNeeded(exceptions.OTPWebAuthnApiError):
    status_code = 403
    code = "reauthentication_needed"
    default_detail = "Confirm your password again before adding a passkey."


class BeginRegistrationView(webauthn_views.BeginCredentialRegistrationView):
    def check_can_register(self) -> None:
        if not authentication_is_recent(user=self.request.user, session=self.request.session):
            raise ReauthenticationNeeded()


class CompleteRegistrationView(webauthn_views.CompleteCredentialRegistrationView):
    def check_can_register(self) -> None:
        if not authentication_is_recent(user=self.request.user, session=self.request.session):
            raise ReauthenticationNeeded()

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        with transaction.atomic():
            response: HttpResponse = super().post(*args, **kwargs)
            if response.status_code == 200:
                user = self.request.user
                assert isinstance(user, User)
                passkey_enrolment_record(
                    user=user,
                    credential_id=int(json.loads(response.content)["id"]),
                    address=client_ip(self.request),
                )
        return response


class CompleteAuthenticationView(webauthn_views.CompleteCredentialAuthenticationView):
    def complete_auth(self, device: AbstractWebAuthnCredential) -> Any:
        request = self.request
        user = request.user
        assert isinstance(user, User)
        already_verified = bool(user.is_verified())  # type: ignore[attr-defined]
        reauthentication = already_verified and reauthentication_password_is_fresh(
            session=request.session
        )
        super().complete_auth(device)
        if already_verified and not reauthentication:
            return None  # a passkey alone does not renew a re-authentication
        authentication_mark_recent(session=request.session)
        second_factor_passed_record(
            user=user,
            address=client_ip(request),
            reauthentication=reauthentication,
            detail=f"passkey #{device.pk}",
        )
        return None


def _marked(view: Any, *marks: Any) -> Any:
    for mark in marks:
        view = mark(view)
    return view


begin_registration = _marked(BeginRegistrationView.as_view(), enrolment_step)
complete_registration = _marked(CompleteRegistrationView.as_view(), enrolment_step)
begin_authentication = _marked(
    webauthn_views.BeginCredentialAuthenticationView.as_view(), second_factor_step
)
complete_authentication = _marked(CompleteAuthenticationView.as_view(), second_factor_step)
