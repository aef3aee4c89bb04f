"""Second factors: TOTP apps, passkeys (WebAuthn) and one-time recovery codes.

django-otp keeps the devices and checks the codes; these services decide who must have a
factor, and record every enrolment, removal, recovery and failure in the security log.
"""

import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from mla.accounts.models import RecoveryCode, RecoveryCodeDevice, SecurityEventKind, User
from mla.accounts.roles import Role
from mla.accounts.security_events import security_event_record
from mla.core.errors import ApplicationError

# Recovery codes: ten characters of an alphabet without look-alikes (50 random bits).
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
# Roles whose holders must have a second factor under MFA_REQUIRED_FOR_ADMINISTRATORS: they
# change the directory's trust anchors, or who may use the node.
ADMINISTRATOR_ROLES = frozenset(
    {
        Role.DIRECTORY_ADMINISTRATOR.value,
        Role.ACCOUNT_ADMINISTRATOR.value,
        Role.NODE_ADMINISTRATOR.value,
    }
)


class FactorKind:
    TOTP = "totp"
    PASSKEY = "passkey"


@dataclass(frozen=True)
class Factor:
    kind: str
    id: int
    name: str


def recovery_code_digest(code: str) -> str:
    # Spaces, dashes and case are what people get wrong when they copy a code.
    normalised = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(normalised.encode()).hexdigest()


def second_factor_required(*, user: User) -> bool:
    """Whether ``user`` must have a second factor before using the node."""
    if settings.MFA_REQUIRED_FOR_ALL:
        return True
    return settings.MFA_REQUIRED_FOR_ADMINISTRATORS and (
        user.is_superuser or bool(user.role_names() & ADMINISTRATOR_ROLES)
    )


def user_factors(*, user: User) -> list[Factor]:
    """The user's confirmed TOTP apps and passkeys (recovery codes are not a factor)."""
    totps = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk")
    passkeys = WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("pk")
    return [Factor(FactorKind.TOTP, device.pk, device.name) for device in totps] + [
        Factor(FactorKind.PASSKEY, device.pk, device.name) for device in passkeys
    ]


def user_has_second_factor(*, user: User) -> bool:
    # One query: the middleware asks on every request of a user not yet verified.
    return (
        User.objects.filter(pk=user.pk)
        .filter(
            Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
            | Exists(WebAuthnCredential.objects.filter(user=OuterRef("pk"), confirmed=True))
        )
        .exists()
    )


def user_has_totp(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def user_has_passkey(*, user: User) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(
        device__user=user, device__confirmed=True, used_at__isnull=True
    ).count()


def _factor_change_allowed(*, user: User, verified: bool) -> None:
    # Someone who knows only the password must not add their own factor to an account that
    # has one: changes to the factors need the second step passed in this session.
    if user_has_second_factor(user=user) and not verified:
        raise ApplicationError(_("Confirm your second factor first."))


def totp_enrolment_start(*, user: User, verified: bool) -> TOTPDevice:
    """An unconfirmed TOTP device for the user to scan (the same one until confirmed)."""
    _factor_change_allowed(user=user, verified=verified)
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


@transaction.atomic
def totp_enrolment_confirm(
    *, user: User, verified: bool, device_id: int, token: str, address: str | None
) -> tuple[TOTPDevice, list[str]]:
    """Confirm the app with a code it shows; returns the device and, for a first factor,
    new recovery codes (shown once, only their digests are kept)."""
    _factor_change_allowed(user=user, verified=verified)
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False, pk=device_id)
        .first()
    )
    if device is None:
        raise ApplicationError(_("This enrolment has expired: start again."))
    if not device.verify_token("".join(token.split())):
        raise ApplicationError(
            _("The code is not right. Check the clock of your phone and try the next code.")
        )
    device.confirmed = True
    device.save()
    security_event_record(
        user=user, kind=SecurityEventKind.FACTOR_ENROLLED, address=address, detail="TOTP"
    )
    codes = _recovery_codes_if_none(user=user, address=address)
    return device, codes


def passkey_enrolment_record(*, user: User, credential_id: int, address: str | None) -> None:
    """Log a passkey the library just registered (its recovery codes are made on the
    security page, which asks for them while there are none)."""
    security_event_record(
        user=user,
        kind=SecurityEventKind.FACTOR_ENROLLED,
        address=address,
        detail=f"passkey #{credential_id}",
    )


def _recovery_codes_if_none(*, user: User, address: str | None) -> list[str]:
    if RecoveryCodeDevice.objects.filter(user=user, confirmed=True).exists():
        return []
    return recovery_codes_generate(user=user, verified=True, address=address)


@transaction.atomic
def recovery_codes_generate(*, user: User, verified: bool, address: str | None) -> list[str]:
    """Replace the user's recovery codes with new ones; returns them, to be shown once."""
    _factor_change_allowed(user=user, verified=verified)
    if not user_has_second_factor(user=user):
        raise ApplicationError(_("Add an authenticator app or a passkey first."))
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name=_("Recovery codes"), confirmed=True)
    codes = [
        "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(settings.MFA_RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, digest=recovery_code_digest(code)) for code in codes
    )
    security_event_record(
        user=user, kind=SecurityEventKind.RECOVERY_CODES_GENERATED, address=address
    )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def second_factor_verify(
    *, user: User, token: str, address: str | None, reauthentication: bool = False
) -> Device:
    """Check a code from the user's TOTP app, or one of their recovery codes (spent).

    Raises ApplicationError if it matches nothing; the failure is logged either way.
    """
    token = "".join(token.split())
    matched: Device | None = None
    if token and user_has_second_factor(user=user):
        with transaction.atomic():
            for device in TOTPDevice.objects.filter(user=user, confirmed=True):
                allowed, _detail = device.verify_is_allowed()
                if allowed and device.verify_token(token):
                    matched = device
                    break
            if matched is None:
                for recovery in RecoveryCodeDevice.objects.filter(user=user, confirmed=True):
                    if recovery.verify_token(token):
                        matched = recovery
                        security_event_record(
                            user=user,
                            kind=SecurityEventKind.RECOVERY_CODE_USED,
                            address=address,
                            detail=_("%(count)d left") % {"count": recovery_codes_left(user=user)},
                        )
                        break
            if matched is not None:
                second_factor_passed_record(
                    user=user, address=address, reauthentication=reauthentication
                )
    if matched is None:
        security_event_record(
            user=user, kind=SecurityEventKind.SECOND_FACTOR_FAILED, address=address
        )
        raise ApplicationError(_("The code is not right."))
    return matched


def second_factor_passed_record(
    *, user: User, address: str | None, reauthentication: bool, detail: str = ""
) -> None:
    security_event_record(
        user=user,
        kind=(
            SecurityEventKind.REAUTHENTICATED
            if reauthentication
            else SecurityEventKind.SIGNED_IN_WITH_SECOND_FACTOR
        ),
        address=address,
        detail=detail,
    )


@transaction.atomic
def factor_remove(
    *, user: User, verified: bool, kind: str, factor_id: int, address: str | None
) -> None:
    """Remove one of the user's TOTP apps or passkeys. The last factor of a user who must
    have one stays; the recovery codes go with the last factor."""
    _factor_change_allowed(user=user, verified=verified)
    model: type[TOTPDevice] | type[WebAuthnCredential]
    model = TOTPDevice if kind == FactorKind.TOTP else WebAuthnCredential
    if kind not in (FactorKind.TOTP, FactorKind.PASSKEY):
        raise ApplicationError(_("Unknown kind of factor."))
    device = model.objects.select_for_update().filter(user=user, pk=factor_id).first()
    if device is None:
        raise ApplicationError(_("This factor no longer exists."))
    if len(user_factors(user=user)) == 1 and second_factor_required(user=user):
        raise ApplicationError(
            _("Your account must keep a second factor: add another one before removing this.")
        )
    device.delete()
    security_event_record(
        user=user,
        kind=SecurityEventKind.FACTOR_REMOVED,
        address=address,
        detail="TOTP" if kind == FactorKind.TOTP else f"passkey #{factor_id}",
    )
    if not user_has_second_factor(user=user):
        RecoveryCodeDevice.objects.filter(user=user).delete()
