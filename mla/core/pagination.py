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


def _encode(moment: datetime.datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{pk}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime.datetime, int] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, pk = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        parsed = datetime.datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            return None
        return parsed, int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


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
