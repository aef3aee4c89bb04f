import zoneinfo
from functools import lru_cache

import phonenumbers
import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(
            _("“%(value)s” is not an IANA time zone; write for example “Europe/Bucharest”."),
            params={"value": value},
        )


def validate_country_code(value: str) -> None:
    if len(value) != 2 or not value.isupper() or pycountry.countries.get(alpha_2=value) is None:
        raise ValidationError(
            _("“%(value)s” is not an ISO 3166-1 alpha-2 country code (for example “RO”)."),
            params={"value": value},
        )


def normalise_phone(value: str) -> str:
    """Return ``value`` in E.164 form, or raise ValidationError saying what is wrong."""
    text = value.strip()
    if not text:
        return ""
    if not text.startswith("+") and not text.startswith("00"):
        raise ValidationError(
            _("“%(value)s”: write the phone number with its country code, e.g. +40 21 123 4567."),
            params={"value": value},
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), params={"value": value}
        ) from exc
    if not phonenumbers.is_possible_number(number):
        raise ValidationError(
            _("“%(value)s” has the wrong number of digits for its country."),
            params={"value": value},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_phone(value: str) -> None:
    normalise_phone(value)


def validate_inbox_url(value: str) -> None:
    """An inbox URL is https when DIRECTORY_INBOX_URL_REQUIRE_HTTPS is on (production).

    Plain http is for nodes talking over loopback in tests and the embedded default only:
    over a network it would hand every sealed message's metadata, and the choice of where
    it goes, to whoever sits on the path.
    """
    if not value:
        return
    scheme = value.split(":", 1)[0].lower()
    if scheme == "https":
        return
    if scheme == "http" and not settings.DIRECTORY_INBOX_URL_REQUIRE_HTTPS:
        return
    raise ValidationError(
        _("“%(value)s”: an inbox URL must start with https://."), params={"value": value}
    )
