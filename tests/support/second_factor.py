"""Second factors in tests: a confirmed TOTP app and the codes it would show."""

import time

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from mla.accounts.models import User


def totp_device_confirmed(user: User) -> TOTPDevice:
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    return device


def totp_code(key: bytes) -> str:
    """The code an app holding ``key`` shows now."""
    return f"{totp(key, step=30, t0=0, digits=6):06d}"


def totp_code_for(device: TOTPDevice) -> str:
    return totp_code(device.bin_key)


def totp_code_accepted_now(device: TOTPDevice) -> str:
    """A code the server accepts now: within its window around the device's drift, and
    after the last code it took (a code is never taken twice)."""
    device.refresh_from_db()
    now_step = int(time.time()) // 30
    step = max(now_step + device.drift, device.last_t + 1)
    return f"{totp(device.bin_key, step=30, t0=0, digits=6, drift=step - now_step):06d}"
