"""Keyset pagination: pages of a list ordered newest first, without counting the list.

A page is read from the index that serves the order, starting after the last row of the
previous page, so its cost does not grow with the list (an OFFSET and a COUNT do).
"""

import base64
import datetime
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    rows: list[M]
    next_cursor: str  # "" on the last page
    first: bool  # no cursor was given


def cursor_encode(*parts: str) -> str:
    """An opaque, URL-safe cursor holding the sort key of a page's last row."""
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def cursor_decode(cursor: str, *, parts: int) -> list[str] | None:
    """The parts of a cursor, or None when it cannot be read (edited by hand, truncated)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        return None
    return values if len(values) == parts else None


def aware_or_none(text: str) -> datetime.datetime | None:
    """A cursor's date-time part; None when empty, unreadable or without a zone."""
    try:
        moment = datetime.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _encode(moment: datetime.datetime, pk: int) -> str:
    return cursor_encode(moment.isoformat(), str(pk))


def _decode(cursor: str) -> tuple[datetime.datetime, int] | None:
    parts = cursor_decode(cursor, parts=2)
    if parts is None or not parts[1].isdigit():
        return None
    moment = aware_or_none(parts[0])
    return (moment, int(parts[1])) if moment is not None else None


def keyset_page(
    queryset: QuerySet[M], *, cursor: str | None, size: int, time_field: str = "updated_at"
) -> KeysetPage[M]:
    """The page after ``cursor`` of ``queryset`` ordered by (-time_field, -pk).

    A cursor that cannot be read (edited by hand, truncated) gives the first page."""
    key = _decode(cursor) if cursor else None
    ordered = queryset.order_by(f"-{time_field}", "-pk")
    if key is not None:
        moment, pk = key
        ordered = ordered.filter(
            Q(**{f"{time_field}__lt": moment}) | Q(**{time_field: moment, "pk__lt": pk})
        )
    rows = list(ordered[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = _encode(getattr(rows[-1], time_field), rows[-1].pk) if more and rows else ""
    return KeysetPage(rows=rows, next_cursor=next_cursor, first=key is None)
