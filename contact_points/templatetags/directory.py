from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils import dateformat, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contact_points.instruments import instrument_short_name
from contact_points.models import Authority
from contact_points.office_hours import is_open_at

register = template.Library()


def _utc_offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


@register.simple_tag
def local_time(time_zone: str) -> str:
    """The time now in ``time_zone``, with its day and offset: “Tue 14:05 (UTC+02:00)”."""
    moment = timezone.now().astimezone(ZoneInfo(time_zone))
    # Django's own catalogue names the weekday in the interface language.
    return f"{dateformat.format(moment, 'D H:i')} ({_utc_offset(moment)})"


@register.filter
def phone(number: str) -> str:
    """An E.164 number grouped for reading: +40210000010 → +40 21 000 0010."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@register.simple_tag
def open_now(authority: Authority) -> str:
    if authority.available_24_7:
        return _("Open now (24/7)")
    state = is_open_at(
        office_hours=authority.office_hours, time_zone=authority.time_zone, moment=timezone.now()
    )
    if state is None:
        return _("Office hours not recorded")
    return _("Open now") if state else _("Closed now")


@register.filter
def instrument_short(code: str) -> str:
    """An instrument's short name in the interface's language (EIO, DEE)."""
    return instrument_short_name(code)


# The reasons the directory's services give its history rows (simple_history), as stored.
HISTORY_REASONS = {
    "import": gettext_lazy("imported"),
    "verified": gettext_lazy("marked as verified"),
}


@register.filter
def history_reason(reason: str | None) -> str:
    """A history row's change reason in the interface language (as stored if unknown)."""
    if not reason:
        return ""
    if reason in HISTORY_REASONS:
        return str(HISTORY_REASONS[reason])
    number = reason.removeprefix("change ").removesuffix(" approved")
    if reason.startswith("change ") and reason.endswith(" approved") and number.isdigit():
        return _("change %(number)s approved") % {"number": number}
    return reason


@register.filter
def history_field(record: Any, name: str) -> str:
    """The name of a field of a history row's model, in the interface language."""
    try:
        field = record.instance_type._meta.get_field(name)
    except (AttributeError, FieldDoesNotExist):
        return name
    return str(capfirst(getattr(field, "verbose_name", name)))
