"""The one way a template shows an instant: ``{{ value|instant }}``.

- ``value|instant`` — ``<time datetime="2026-03-02T10:00:00Z" title="Europe/Paris,
  UTC+01:00">2026-03-02 11:00 CET</time>``, in the viewer's (active) zone.
- ``value|instant:"America/New_York"`` — the same, in a zone the page names (another side's
  time).
- ``value|instant_text[:zone]`` — the text alone, for attributes and sentences.
- ``value|instant_date[:zone]`` — the day in that zone, the full instant in its tooltip.

An empty value gives an empty string, so ``|default:"—"`` still works after the filter.
"""

import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from mla.core.instants import (
    format_date,
    format_instant,
    utc_iso,
    zone_description,
)

register = template.Library()


def _aware(value: object) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value
    return None


def _plain(value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


@register.filter(is_safe=True)
def instant(value: object, zone: str | None = None) -> SafeString | str:
    moment = _aware(value)
    if moment is None:
        return _plain(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        utc_iso(moment),
        zone_description(moment, zone or None),
        format_instant(moment, zone or None),
    )


@register.filter
def instant_text(value: object, zone: str | None = None) -> str:
    moment = _aware(value)
    if moment is None:
        return _plain(value)
    return format_instant(moment, zone or None)


@register.filter(is_safe=True)
def instant_date(value: object, zone: str | None = None) -> SafeString | str:
    moment = _aware(value)
    if moment is None:
        return _plain(value)
    return format_html(
        '<time datetime="{}" title="{} ({})">{}</time>',
        utc_iso(moment),
        format_instant(moment, zone or None),
        zone_description(moment, zone or None),
        format_date(moment, zone or None),
    )
