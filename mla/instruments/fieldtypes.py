"""Checking one field's value, in words a prosecutor understands.

Values are kept as typed (strings, lists of codes, booleans, and small objects for
date-times), so that a draft keeps everything, even what does not pass yet; these checks
say what is wrong without changing it.
"""

import ipaddress
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.translation import gettext as _

from contact_points.validators import validate_time_zone
from mla.core.text import control_characters, json_strings, text_problem
from mla.instruments.declarations.schema import Field, FieldType

DEFAULT_TEXT_LENGTH = 500
DEFAULT_TEXTAREA_LENGTH = 20_000
# The most characters a value of each type may have, unless its field says otherwise
# (Field.max_length: names and references are shorter than a one-line text). They fit the
# meaning (an e-mail address is at most 254 characters by RFC 5321, a phone number in
# international form well under 50) and keep every document quick to render: one field
# cannot fill a PDF with pages.
TYPE_MAX_LENGTHS: dict[FieldType, int] = {
    "text": DEFAULT_TEXT_LENGTH,
    "textarea": DEFAULT_TEXTAREA_LENGTH,
    "integer": 20,
    "date": 10,
    "datetime": 40,
    "datetime_range": 40,
    "choice": 100,
    "multichoice": 100,
    "email": 254,
    "phone": 50,
    "url": 2_000,
    "ip": 45,
    "country": 2,
    "language": 3,
    # A typed identifier may be an e-mail address (254) or a domain (253).
    "identifier": 255,
}
# Types typed on one line: a line break in their value is refused.
MULTILINE_TYPES: frozenset[FieldType] = frozenset({"textarea"})
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$", re.I)
_IMEI = re.compile(r"^\d{15}$")


def max_length(field: Field) -> int:
    """The most characters one value (or each part of a date-time) of ``field`` may have."""
    return field.max_length or TYPE_MAX_LENGTHS.get(field.type, DEFAULT_TEXT_LENGTH)


@dataclass(frozen=True)
class Refusal:
    """Why a value cannot be stored, for a person (``message``) and a program (``code``)."""

    code: str  # control_character, line_break, too_long, wrong_type
    message: str


def text_refusal(field: Field, value: Any) -> Refusal | None:
    """Why ``value`` cannot even be stored in a draft, or None: longer than the field's
    limit, holding a control character, or a line break in a one-line field. The other
    checks (check_value) let a draft keep what does not pass yet; these do not."""
    limit = max_length(field)
    one_line = field.type not in MULTILINE_TYPES
    texts = [text for _path, text in json_strings(value)]
    # A hidden character first: it is what the person cannot see in what they typed.
    for text in texts:
        problem = text_problem(text, one_line=one_line)
        if problem:
            code = "control_character" if control_characters(text) else "line_break"
            return Refusal(code, problem)
    for text in texts:
        if len(text) > limit:
            return Refusal(
                "too_long",
                _("This is too long: %(length)d characters, %(limit)d at most for this field.")
                % {"length": len(text), "limit": limit},
            )
    return None


def refusal(field: Field, value: Any) -> str | None:
    """The message of text_refusal, or None."""
    found = text_refusal(field, value)
    return found.message if found else None


def _strings(value: Any, keys: frozenset[str]) -> bool:
    return (
        isinstance(value, dict)
        and set(value) <= keys
        and all(isinstance(part, str) for part in value.values())
    )


def form_refusal(field: Field, value: Any) -> Refusal | None:
    """Why ``value`` is not of the form ``field``'s type is kept in, or None: a text for
    most types, true or false for a tick box, a list of codes for a tick-box list, an
    object for a date-time or a period. The section editor always posts these forms; a
    value given as JSON (the API) may not, and is refused before anything reads it."""
    if value is None:
        return None  # empty, whatever the type
    kind = field.type
    if kind == "boolean":
        fits, expected = isinstance(value, bool), _("true or false")
    elif kind == "multichoice":
        fits = (
            isinstance(value, list)
            and len(value) <= len(field.choices)
            and all(isinstance(code, str) for code in value)
        )
        expected = _("a list of at most %(count)d codes") % {"count": len(field.choices)}
    elif kind == "datetime":
        fits = _strings(value, frozenset({"value", "tz"}))
        expected = _('a date and time with its time zone, {"value": …, "tz": …}')
    elif kind == "datetime_range":
        fits = _strings(value, frozenset({"start", "end", "tz"}))
        expected = _('a period, {"start": …, "end": …, "tz": …}')
    else:
        fits, expected = isinstance(value, str), _("a text")
    if fits:
        return None
    return Refusal(
        "wrong_type",
        _("This value has the wrong form: %(expected)s expected.") % {"expected": expected},
    )


def storage_refusal(field: Field, value: Any) -> Refusal | None:
    """Why ``value`` cannot be stored in ``field`` of a draft: its form, then its text."""
    return form_refusal(field, value) or text_refusal(field, value)


def is_empty(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not value
    if isinstance(value, dict):
        return all(is_empty(part) for key, part in value.items() if key != "tz")
    return False


def _check_date(text: str) -> str | None:
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return _("Enter a date as YYYY-MM-DD, for example 2026-11-28.")
    return None


def _parse_local(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _check_zone(value: dict[str, Any]) -> str | None:
    zone = str(value.get("tz") or "").strip()
    if not zone:
        return _("Choose the time zone the times are in.")
    try:
        validate_time_zone(zone)
    except ValidationError as error:
        return str(error.messages[0])
    return None


def _check_datetime(value: Any) -> str | None:
    if not isinstance(value, dict) or _parse_local(str(value.get("value") or "")) is None:
        return _("Enter a date and time, for example 2026-11-28 14:30.")
    return _check_zone(value)


def _check_range(value: Any) -> str | None:
    if not isinstance(value, dict):
        return _("Enter the start and the end of the period.")
    start = _parse_local(str(value.get("start") or ""))
    end = _parse_local(str(value.get("end") or ""))
    if start is None or end is None:
        return _("Enter both the start and the end of the period, as date and time.")
    zone_problem = _check_zone(value)
    if zone_problem:
        return zone_problem
    zone = ZoneInfo(str(value["tz"]))
    if end.replace(tzinfo=zone) <= start.replace(tzinfo=zone):
        return _("The end of the period must come after its start.")
    return None


def _check_phone(text: str) -> str | None:
    candidate = text.strip()
    if not candidate.startswith("+"):
        return _("Write the phone number in international form, e.g. +40 21 123 4567.")
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return _("This is not a phone number.")
    if not phonenumbers.is_possible_number(number):
        return _("This phone number has the wrong number of digits for its country.")
    return None


def _check_email(text: str) -> str | None:
    try:
        EmailValidator()(text.strip())
    except ValidationError:
        return _("Enter a valid e-mail address.")
    return None


def _check_url(text: str) -> str | None:
    try:
        URLValidator(schemes=["http", "https"])(text.strip())
    except ValidationError:
        return _("Enter a full web address, starting with https:// or http://.")
    return None


def _check_ip(text: str) -> str | None:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return _("This is not an IPv4 or IPv6 address.")
    return None


def _check_identifier(text: str, identifier_type: str) -> str | None:
    checks = {
        "ip": _check_ip,
        "email": _check_email,
        "phone": _check_phone,
        "url": _check_url,
        "domain": lambda value: (
            None
            if _DOMAIN.match(value.strip())
            else _("This is not a domain name, such as example.org.")
        ),
        "imei": lambda value: None if _IMEI.match(value.strip()) else _("An IMEI has 15 digits."),
    }
    check = checks.get(identifier_type)
    return check(text) if check else None


def check_value(field: Field, value: Any, *, row: dict[str, Any] | None = None) -> str | None:
    """What is wrong with a non-empty ``value`` of ``field``, or None."""
    refused = refusal(field, value)
    if refused:
        return refused
    kind = field.type
    if kind in ("datetime", "datetime_range"):
        return _check_datetime(value) if kind == "datetime" else _check_range(value)
    if kind == "boolean":
        return None if isinstance(value, bool) else _("Tick the box or leave it empty.")
    if kind == "multichoice":
        if not isinstance(value, list) or any(code not in field.choices for code in value):
            return _("Choose among the options offered.")
        return None
    if not isinstance(value, str):
        return _("This value cannot be read; type it again.")
    text = value.strip()
    if kind == "choice":
        return None if text in field.choices else _("Choose among the options offered.")
    if kind == "integer":
        return None if re.fullmatch(r"-?\d+", text) else _("Enter a whole number.")
    if kind == "date":
        return _check_date(text)
    if kind == "email":
        return _check_email(text)
    if kind == "phone":
        return _check_phone(text)
    if kind == "url":
        return _check_url(text)
    if kind == "ip":
        return _check_ip(text)
    if kind == "country":
        return (
            None
            if pycountry.countries.get(alpha_2=text.upper())
            else _("Choose a country (ISO code such as RO).")
        )
    if kind == "language":
        return (
            None
            if pycountry.languages.get(alpha_2=text.lower())
            else _("Choose a language (ISO code such as fr).")
        )
    if kind == "identifier":
        return _check_identifier(text, str((row or {}).get("identifier_type") or ""))
    return None
