"""Instants as people read them: wall-clock time in a named zone, always with the zone.

A time shown without its zone is a guess for whoever reads it in another country. Every
page, notification, e-mail and document formats an instant here: in the reader's zone (the
active one on a page, see ``mla.accounts.middleware.TimeZoneMiddleware``), or in a zone it
names (a document states the issuing authority's zone, with its UTC offset).
"""

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

WALL_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"
UTC_ZONE = "UTC"


def zone_named(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``; UTC for an empty or unknown name (a directory entry that is
    wrong must not take a page down, and UTC is labelled as such)."""
    try:
        return ZoneInfo(name or UTC_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_ZONE)


def _zone(zone: str | datetime.tzinfo | None) -> datetime.tzinfo:
    if zone is None:
        return timezone.get_current_timezone()
    if isinstance(zone, str):
        return zone_named(zone)
    return zone


def utc_offset(moment: datetime.datetime) -> str:
    """``moment``'s offset from UTC as “UTC+01:00” (“UTC” for UTC itself)."""
    offset = moment.utcoffset()
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_abbreviation(moment: datetime.datetime) -> str:
    """The short name of ``moment``'s zone at that instant (“CET”, “EDT”, “JST”), or its
    UTC offset where the zone has no letters of its own (tzdata writes “+03” for those)."""
    name = moment.tzname() or ""
    if not name or name[0] in "+-" or name[0].isdigit():
        return utc_offset(moment)
    return name


def zone_key(zone: datetime.tzinfo) -> str:
    """The IANA name of ``zone`` (“Europe/Paris”); its str() for anything else."""
    return str(getattr(zone, "key", "") or zone)


def in_zone(
    moment: datetime.datetime, zone: str | datetime.tzinfo | None = None
) -> datetime.datetime:
    """``moment`` on the wall clock of ``zone`` (the active zone when None)."""
    if timezone.is_naive(moment):
        raise ValueError(f"An instant must be timezone-aware: {moment!r}.")
    return moment.astimezone(_zone(zone))


def format_instant(moment: datetime.datetime, zone: str | datetime.tzinfo | None = None) -> str:
    """“2026-03-02 11:00 CET”: the wall-clock time in ``zone`` (the active zone when None)
    and that zone's short name at that instant."""
    local = in_zone(moment, zone)
    return f"{local.strftime(WALL_FORMAT)} {zone_abbreviation(local)}"


def format_instant_stated(
    moment: datetime.datetime, zone: str | datetime.tzinfo | None = None
) -> str:
    """“2026-03-02 11:00 Europe/Paris (UTC+01:00)”: for documents, which state their zone by
    name and offset, since they are read away from any page."""
    local = in_zone(moment, zone)
    name = zone_key(local.tzinfo or _zone(zone))
    return f"{local.strftime(WALL_FORMAT)} {name} ({utc_offset(local)})"


def zone_description(moment: datetime.datetime, zone: str | datetime.tzinfo | None = None) -> str:
    """“Europe/Paris, UTC+01:00”: the zone an instant is shown in, for a tooltip."""
    local = in_zone(moment, zone)
    return f"{zone_key(local.tzinfo or _zone(zone))}, {utc_offset(local)}"


def format_date(moment: datetime.datetime, zone: str | datetime.tzinfo | None = None) -> str:
    """The calendar day of ``moment`` in ``zone`` (the active zone when None)."""
    return in_zone(moment, zone).strftime(DATE_FORMAT)


def utc_iso(moment: datetime.datetime) -> str:
    """The instant for machines (a <time datetime=…> attribute): ISO 8601 in UTC."""
    return in_zone(moment, UTC_ZONE).strftime("%Y-%m-%dT%H:%M:%SZ")
