"""Second factors in tests: a confirmed TOTP app and the codes it would show."""

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from mla.accounts.models import User


def totp_device_confirmed(user: User) -> TOTPDevice:
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    return device


def totp_code(key: bytes, *, steps_ahead: int = 0) -> str:
    """The code an app shows now, or ``steps_ahead`` 30-second steps later (a code is taken
    once: a second sign-in within the same step needs the next step's code, which the
    server's tolerance of one step accepts)."""
    return f"{totp(key, step=30, t0=0, digits=6, drift=steps_ahead):06d}"


def totp_code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    return totp_code(device.bin_key, steps_ahead=steps_ahead)
