"""Storing the deadlines the engine (mla.requests.deadlines.engine) computes from a
request's events.

The events are the request's own audit entries: what the timeline shows is what the
deadlines count from. Each copy of a request (issuing and executing) computes its own, from
the same steps, in the executing authority's time zone.
"""

import datetime
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils import timezone

from mla.instruments.declarations import declaration_for
from mla.requests.audit import audit_trail
from mla.requests.deadlines.engine import (
    EVENT_KINDS,
    ComputedDeadline,
    DeadlineState,
    LifecycleEvent,
    deadline_schedule,
)
from mla.requests.events import Event
from mla.requests.models import AuditEntry, Deadline, Request

# The issuing copy's own events that stand for the executing side's: the engine computes
# both copies' deadlines from the executing side's events.
_ENGINE_KINDS: dict[str, tuple[str, ...]] = {
    Event.DELIVERED: (Event.RECEIVED,),  # received by the executing authority
    Event.WITHDRAW: (Event.WITHDRAWN,),
}
# On the issuing copy a forward means the competent authority received it: the clocks
# start again from that receipt.
_ISSUING_FORWARDED = (Event.FORWARDED, Event.RECEIVED)

OPEN_STATES = (DeadlineState.RUNNING, DeadlineState.EXTENDED)
# Deadlines still to be met, overdue ones included: the nearest is the request's next.
PENDING_STATES = (*OPEN_STATES, DeadlineState.MISSED)


def _engine_kinds(*, request: Request, event: str) -> tuple[str, ...]:
    if event == Event.FORWARDED and request.direction == Request.Direction.OUTGOING:
        return _ISSUING_FORWARDED
    if event in _ENGINE_KINDS:
        return _ENGINE_KINDS[event]
    return (event,) if event in EVENT_KINDS else ()


def lifecycle_events(
    *, request: Request, entries: Iterable[AuditEntry] | None = None
) -> list[LifecycleEvent]:
    rows = entries if entries is not None else audit_trail(request=request)
    return [
        LifecycleEvent(kind=kind, at=entry.at, payload=entry.payload or {})
        for entry in rows
        for kind in _engine_kinds(request=request, event=entry.event)
    ]


def executing_zone(*, request: Request) -> str:
    authority = request.executing_authority
    return authority.time_zone if authority is not None and authority.time_zone else "UTC"


def _schedule(
    *, request: Request, events: list[LifecycleEvent], now: datetime.datetime
) -> list[ComputedDeadline]:
    return deadline_schedule(
        declaration=declaration_for(request.declaration_code),
        data=request.data,
        events=events,
        zone=executing_zone(request=request),
        now=now,
    )


def received_copy_next_due(*, request: Request, at: datetime.datetime) -> datetime.datetime | None:
    """The next due instant of a copy not yet saved, received at ``at``: set before its
    INSERT, so that storing its deadlines (``deadlines_refresh(created=True)``) finds it
    right and writes the request only once. Every index of the request table is written on
    each write of a row."""
    events = [
        LifecycleEvent(kind=kind, at=at, payload={})
        for kind in _engine_kinds(request=request, event=Event.RECEIVED)
    ]
    computed = _schedule(request=request, events=events, now=timezone.now())
    return _next_due(request=request, deadlines=computed)


def _next_due(
    *, request: Request, deadlines: Iterable[ComputedDeadline | Deadline]
) -> datetime.datetime | None:
    if not request.is_open:
        return None
    return min((row.due_at for row in deadlines if row.state in PENDING_STATES), default=None)


def extension_check(*, request: Request, event: str, payload: Mapping[str, object]) -> None:
    """Let the engine refuse an extension (a second one, too long, no reason) before it is
    recorded: raises ApplicationError."""
    now = timezone.now()
    events = lifecycle_events(request=request)
    events.append(LifecycleEvent(kind=event, at=now, payload=dict(payload)))
    _schedule(request=request, events=events, now=now)


def _computed_values(item: ComputedDeadline) -> dict[str, object]:
    """The columns of a stored deadline that the engine's computation gives."""
    return {
        "label": item.label,
        "source": item.source,
        "starts_at": item.starts_at,
        "due_at": item.due_at,
        "state": item.state,
        "met_at": item.met_at,
        "late": item.late,
        "extended_days": item.extended_days,
        "extension_reason": item.extension_reason,
        "suspended_since": item.suspended_since,
        "paused_seconds": int(item.paused.total_seconds()),
    }


def deadlines_computed(
    *, request: Request, entries: Iterable[AuditEntry], now: datetime.datetime
) -> tuple[list[Deadline], datetime.datetime | None]:
    """The deadlines, not saved, and the next due instant that ``deadlines_refresh`` would
    store for a request whose audit entries are ``entries``: for rows written in bulk (the
    demo's history), so that they hold what the steps would have left."""
    events = lifecycle_events(request=request, entries=entries)
    computed = _schedule(request=request, events=events, now=now)
    rows = [
        Deadline(request=request, code=item.code, computed_at=now, **_computed_values(item))
        for item in computed
    ]
    return rows, _next_due(request=request, deadlines=rows)


# No savepoint of its own: it runs inside the step it follows, which fails as a whole.
@transaction.atomic(savepoint=False)
def deadlines_refresh(
    *,
    request: Request,
    now: datetime.datetime | None = None,
    entries: Iterable[AuditEntry] | None = None,
    created: bool = False,
) -> list[Deadline]:
    """Recompute and store the request's deadlines; returns them in due order.

    ``entries``: all the request's audit entries, when the caller holds them; ``created``:
    the request was created in this transaction, so it has no deadline stored yet. Only the
    rows whose values changed are written (``computed_at`` is when they last did): new rows
    in one insert, changed ones in one update."""
    now = now or timezone.now()
    events = lifecycle_events(request=request, entries=entries)
    computed = _schedule(request=request, events=events, now=now)
    existing = (
        {} if created else {row.code: row for row in Deadline.objects.filter(request=request)}
    )
    kept: list[Deadline] = []
    added: list[Deadline] = []
    changed: list[Deadline] = []
    changed_fields = {"computed_at"}
    for item in computed:
        values = _computed_values(item)
        row = existing.pop(item.code, None)
        if row is None:
            row = Deadline(request=request, code=item.code, computed_at=now, **values)
            added.append(row)
        elif differing := [name for name, value in values.items() if getattr(row, name) != value]:
            for name in differing:
                setattr(row, name, values[name])
            row.computed_at = now
            changed.append(row)
            changed_fields.update(differing)
        kept.append(row)
    if added:
        Deadline.objects.bulk_create(added)
    if changed:
        Deadline.objects.bulk_update(changed, sorted(changed_fields))
    if existing:
        Deadline.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()
    next_due = _next_due(request=request, deadlines=kept)
    if next_due != request.next_due_at:
        request.next_due_at = next_due
        # A derived column, not the state: updated in place, "last changed" left alone.
        Request.objects.filter(pk=request.pk).update(next_due_at=next_due)
    return sorted(kept, key=lambda row: (row.due_at, row.pk))


def deadlines_mark_missed(*, now: datetime.datetime | None = None, batch: int = 500) -> int:
    """Recompute the requests whose open deadlines are past due, so that those deadlines
    read "missed". Returns how many requests were recomputed."""
    now = now or timezone.now()
    done = 0
    after = 0
    while True:
        # In request order, from where the last batch ended: each request is done once.
        request_ids = list(
            Deadline.objects.filter(state__in=OPEN_STATES, due_at__lt=now, request_id__gt=after)
            .order_by("request_id")
            .values_list("request_id", flat=True)
            .distinct()[:batch]
        )
        if not request_ids:
            return done
        for request in Request.objects.filter(pk__in=request_ids).select_related(
            "executing_authority"
        ):
            deadlines_refresh(request=request, now=now)
            done += 1
        after = request_ids[-1]
