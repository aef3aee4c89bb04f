"""Office hours as a short, readable text: ``Mon-Fri 08:00-18:00; Sat 09:00-12:00``.

Kept as text so that administrators edit and read it as they would write it, and parsed
so that the directory can say whether an authority is open now in its own time zone.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{2}:\d{2})-(?P<end>\d{2}:\d{2})$"
)


@dataclass(frozen=True)
class OfficeSpan:
    weekdays: frozenset[int]
    start: time
    end: time


def _parse_time(text: str, whole: str) -> time:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        if hours == 24 and minutes == 0:
            return time.max
        return time(hours, minutes)
    except ValueError as exc:
        raise ValidationError(
            _("“%(part)s” is not a time of day (use HH:MM)."), params={"part": whole}
        ) from exc


def parse_office_hours(text: str) -> list[OfficeSpan]:
    spans: list[OfficeSpan] = []
    for raw_part in text.split(";"):
        part = " ".join(raw_part.split()).lower()
        if not part:
            continue
        match = _SPAN.match(part)
        if match is None or match["first"] not in DAYS or (match["last"] or "mon") not in DAYS:
            raise ValidationError(
                _("“%(part)s” is not understood; write for example “Mon-Fri 08:00-18:00”."),
                params={"part": raw_part.strip()},
            )
        first = DAYS.index(match["first"])
        last = DAYS.index(match["last"]) if match["last"] else first
        if last < first:
            raise ValidationError(
                _("“%(part)s”: the days must run forward (Mon-Fri, not Fri-Mon)."),
                params={"part": raw_part.strip()},
            )
        start = _parse_time(match["start"], raw_part.strip())
        end = _parse_time(match["end"], raw_part.strip())
        if end <= start:
            raise ValidationError(
                _("“%(part)s”: the closing time must be after the opening time."),
                params={"part": raw_part.strip()},
            )
        spans.append(OfficeSpan(frozenset(range(first, last + 1)), start, end))
    return spans


def validate_office_hours(text: str) -> None:
    parse_office_hours(text)


def is_open_at(*, office_hours: str, time_zone: str, moment: datetime) -> bool | None:
    """True or False when the hours are known, None when they are not recorded."""
    spans = parse_office_hours(office_hours)
    if not spans:
        return None
    local = moment.astimezone(ZoneInfo(time_zone))
    now = local.time()
    return any(local.weekday() in span.weekdays and span.start <= now < span.end for span in spans)
