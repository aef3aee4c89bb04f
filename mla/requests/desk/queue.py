"""The incoming queue of contact-point and central-authority staff.

Open requests received by the user's authority, most urgent first (emergency, urgent,
normal), then by nearest deadline (overdue ones first), then by arrival. A page is read
from the partial index ``request_queue`` (executing authority, urgency, next deadline, id)
and the next page starts after the last row of this one, so it costs the same on a queue
of a thousand or a million requests.
"""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Q, QuerySet, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority, search_fold
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.core.pagination import aware_or_none, cursor_decode, cursor_encode
from mla.instruments.declarations import DECLARATIONS
from mla.requests.audit import audit_record
from mla.requests.derived import urgency_with_reason
from mla.requests.events import Event
from mla.requests.lifecycle.executing import request_acknowledge, request_assign, require_executor
from mla.requests.lifecycle.rules import QUEUE_READER_ROLES
from mla.requests.models import Request, Urgency
from mla.requests.selectors import request_for_user

PAGE_SIZE = 50
# Sorts a row without a deadline's missing date (never compared: it sorts after the dated).
_EPOCH = datetime.datetime.min.replace(tzinfo=datetime.UTC)
# Counts on the shift view stop here: past it the number is shown as "at least".
COUNT_CAP = 1000


@dataclass(frozen=True)
class QueueFilters:
    state: str = ""
    instrument: str = ""  # contact_points Instrument value: eio, mla, preservation
    country: str = ""  # the requesting (issuing) country's code
    overdue: bool = False
    mine: bool = False
    unassigned: bool = False
    search: str = ""

    @classmethod
    def from_query(cls, query: Any) -> "QueueFilters":
        states = {value for value, _label in Request.State.choices}
        instruments = {d.directory_instrument for d in DECLARATIONS.values()}
        state = str(query.get("state", ""))
        instrument = str(query.get("instrument", ""))
        country = str(query.get("country", "")).strip().upper()
        return cls(
            state=state if state in states else "",
            instrument=instrument if instrument in instruments else "",
            country=country if len(country) == 2 and country.isalpha() else "",
            overdue=query.get("overdue") == "1",
            mine=query.get("mine") == "1",
            unassigned=query.get("unassigned") == "1",
            search=str(query.get("q", "")).strip()[:100],
        )


@dataclass(frozen=True)
class QueuePage:
    rows: list[Request]
    next_cursor: str
    first: bool
    now: datetime.datetime
    filters: QueueFilters = field(default_factory=QueueFilters)


def may_read_queue(*, user: User) -> bool:
    """Staff of the authority, its supervisors and auditors; for anyone else the queue does
    not exist."""
    return any(user.has_role(role) for role in QUEUE_READER_ROLES)


def received_request_for_user(*, user: User, issuer: str, reference: str) -> Request | None:
    """The user's copy of a received request, taken or released from the queue; None when
    they see no such copy (or only an outgoing one): for them it is not in the queue."""
    item = request_for_user(user=user, issuer=issuer, reference=reference)
    if item is None or item.direction != Request.Direction.INCOMING:
        return None
    return item


def _base(*, user: User) -> QuerySet[Request]:
    return Request.objects.filter(
        direction=Request.Direction.INCOMING, executing_authority_id=user.authority_id
    )


def _filtered(*, user: User, filters: QueueFilters, now: datetime.datetime) -> QuerySet[Request]:
    rows = _base(user=user)
    if filters.state:
        rows = rows.filter(state=filters.state)
    else:
        rows = rows.exclude(state__in=Request.FINAL)
    if filters.instrument:
        rows = rows.filter(instrument_code=filters.instrument)
    if filters.country:
        rows = rows.filter(issuing_country_code=filters.country)
    if filters.overdue:
        rows = rows.filter(next_due_at__lt=now)
    if filters.mine:
        rows = rows.filter(assignee_id=user.pk)
    if filters.unassigned:
        rows = rows.filter(assignee__isnull=True)
    if filters.search:
        # The matching authorities first (the directory's trigram index), as a literal list:
        # the request side is then two index lookups (reference, issuing authority).
        authorities = list(
            Authority.objects.filter(search_text__contains=search_fold(filters.search)).values_list(
                "pk", flat=True
            )[:200]
        )
        rows = rows.filter(
            Q(reference=filters.search.upper()) | Q(issuing_authority_id__in=authorities)
        )
    return rows


def _encode(urgency: int, due: datetime.datetime | None, pk: int) -> str:
    return cursor_encode(str(urgency), due.isoformat() if due else "", str(pk))


def _decode(cursor: str) -> tuple[int, datetime.datetime | None, int] | None:
    parts = cursor_decode(cursor, parts=3)
    if parts is None or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    due = aware_or_none(parts[1])
    if parts[1] and due is None:
        return None
    return int(parts[0]), due, int(parts[2])


_ORDER = ("urgency", F("next_due_at").asc(nulls_last=True), "id")


def _after(
    rows: QuerySet[Request], key: tuple[int, datetime.datetime | None, int], size: int
) -> list[int]:
    """The ids of the first ``size`` rows after ``key`` in (urgency, next deadline with none
    last, id) order, in one query.

    Each run of that order (the rest of the cursor's deadline, the later deadlines of its
    urgency, its requests without a deadline, the later urgencies) is a range of the queue's
    indexes read from where the cursor points: written as one OR, the planner would read the
    queue from its top and drop every row before the cursor (half a million, half-way down a
    million)."""
    urgency, due, pk = key
    if due is None:
        runs = [rows.filter(urgency=urgency, next_due_at__isnull=True, pk__gt=pk)]
    else:
        runs = [
            rows.filter(urgency=urgency, next_due_at=due, pk__gt=pk),
            rows.filter(urgency=urgency, next_due_at__gt=due),
            rows.filter(urgency=urgency, next_due_at__isnull=True),
        ]
    runs.append(rows.filter(urgency__gt=urgency))
    parts = [
        run.order_by(*_ORDER).values_list("urgency", "next_due_at", "id")[:size] for run in runs
    ]
    found = list(parts[0].union(*parts[1:], all=True))
    found.sort(key=lambda row: (row[0], row[1] is None, row[1] or _EPOCH, row[2]))
    return [row[2] for row in found[:size]]


def queue_page(
    *,
    user: User,
    filters: QueueFilters,
    cursor: str | None = None,
    size: int = PAGE_SIZE,
    now: datetime.datetime | None = None,
) -> QueuePage:
    now = now or timezone.now()
    key = _decode(cursor) if cursor else None
    rows = _filtered(user=user, filters=filters, now=now)
    if key is not None:
        rows = Request.objects.filter(pk__in=_after(rows, key, size + 1))
    page = list(
        rows.select_related("issuing_authority", "assignee")
        .prefetch_related("deadlines")
        .defer("data")
        .order_by(*_ORDER)[: size + 1]
    )
    more = len(page) > size
    page = page[:size]
    last = page[-1] if page else None
    return QueuePage(
        rows=page,
        next_cursor=_encode(last.urgency, last.next_due_at, last.pk) if more and last else "",
        first=key is None,
        now=now,
        filters=filters,
    )


def urgency_reasons(*, rows: list[Request]) -> dict[int, tuple[int, str]]:
    """How urgent each of ``rows`` is and why, read from its data in one query (a page's
    rows are read without their data), for the rows whose urgency column is above normal.

    A row whose data does not say so (neither its instrument nor its issuer) is left out:
    the page marks a request urgent only where the instrument or the issuer says it is."""
    marked = [row.pk for row in rows if row.urgency < Urgency.NORMAL]
    if not marked:
        return {}
    found: dict[int, tuple[int, str]] = {}
    for pk, code, data in Request.objects.filter(pk__in=marked).values_list(
        "pk", "declaration_code", "data"
    ):
        level, reason = urgency_with_reason(declaration_code=code, data=data or {})
        if level < Urgency.NORMAL:
            found[pk] = (level, reason)
    return found


@dataclass(frozen=True)
class QueueChanges:
    latest: str  # ISO time of the latest change in the authority's received requests
    # Urgent arrivals since the given time: their references and the URLs of their pages.
    urgent: list[dict[str, str]]


def queue_changes(*, user: User, since: datetime.datetime | None) -> QueueChanges:
    """What changed in the queue since ``since``: the page polls this, cheaply."""
    latest = _base(user=user).aggregate(latest=Max("updated_at"))["latest"]
    urgent: list[dict[str, str]] = []
    if since is not None:
        urgent = [
            {
                "reference": reference,
                "url": reverse("requests:detail", args=[issuer, reference]),
            }
            for reference, issuer in _base(user=user)
            .filter(received_at__gt=since, urgency__lte=Urgency.URGENT)
            .order_by("received_at")
            .values_list("reference", "issuing_authority__identifier")[:20]
        ]
    return QueueChanges(latest=latest.isoformat() if latest else "", urgent=urgent)


@dataclass(frozen=True)
class ShiftView:
    overdue: list[Request]
    due_soon: list[Request]
    unassigned: list[Request]
    overdue_count: int
    due_soon_count: int
    unassigned_count: int
    # Taken by someone: who holds each and their handover note, for the next shift.
    taken: list[Request] = field(default_factory=list)
    taken_count: int = 0
    cap: int = COUNT_CAP


def shift_view(*, user: User, now: datetime.datetime | None = None, size: int = 20) -> ShiftView:
    """What the next shift must know: overdue, due within 24 hours, not yet taken, and
    taken (by whom, with the holder's handover note)."""
    now = now or timezone.now()
    open_ = _base(user=user).exclude(state__in=Request.FINAL)
    order = ("urgency", F("next_due_at").asc(nulls_last=True), "id")
    groups = {
        "overdue": open_.filter(next_due_at__lt=now),
        "due_soon": open_.filter(
            next_due_at__gte=now, next_due_at__lt=now + datetime.timedelta(hours=24)
        ),
        "unassigned": open_.filter(assignee__isnull=True),
        "taken": open_.filter(assignee__isnull=False),
    }

    def rows(items: QuerySet[Request]) -> list[Request]:
        return list(
            items.select_related("issuing_authority", "assignee")
            .defer("data")
            .order_by(*order)[:size]
        )

    def count(items: QuerySet[Request]) -> int:
        return len(items.values_list("pk", flat=True)[:COUNT_CAP])

    overdue, due_soon, unassigned, taken = (rows(groups[name]) for name in groups)
    # Each row's nearest deadline is named on the page: read for all the lists at once.
    prefetch_related_objects([*overdue, *due_soon, *unassigned, *taken], "deadlines")
    return ShiftView(
        overdue=overdue,
        due_soon=due_soon,
        unassigned=unassigned,
        overdue_count=count(groups["overdue"]),
        due_soon_count=count(groups["due_soon"]),
        unassigned_count=count(groups["unassigned"]),
        taken=taken,
        taken_count=count(groups["taken"]),
    )


@transaction.atomic
def request_claim(*, request: Request, actor: User) -> Request:
    """Take a received request: of two people claiming at once, one gets it and the other
    is told who has it."""
    locked = Request.objects.select_for_update().get(pk=request.pk)
    require_executor(request=locked, actor=actor)
    holder = locked.assignee
    if holder is not None and holder.pk != actor.pk:
        raise ApplicationError(
            _("%(name)s has already taken this request.")
            % {"name": holder.get_full_name() or holder.username}
        )
    if holder is not None:
        return locked
    return request_assign(request=locked, actor=actor, assignee=actor)


@transaction.atomic
def request_release(*, request: Request, actor: User) -> Request:
    """Give a request back to the queue: only its holder does."""
    locked = Request.objects.select_for_update().get(pk=request.pk)
    if locked.assignee_id != actor.pk:
        raise ApplicationError(_("Only the person who holds a request releases it."))
    return request_assign(request=locked, actor=actor, assignee=None)


@dataclass(frozen=True)
class BulkOutcome:
    reference: str
    error: str  # "" when it worked


def requests_acknowledge_bulk(*, copies: list[str], actor: User) -> list[BulkOutcome]:
    """Acknowledge several received requests, each named by its ``copy_key`` (issuer and
    reference, never the reference alone); each on its own, so that one refused (taken
    meanwhile, not visible) does not hold back the others."""
    asked = copies[:PAGE_SIZE]
    pairs = [key.split("/", 1) for key in asked if "/" in key]
    named = Q(pk__in=[])
    for issuer, reference in pairs:
        named |= Q(issuing_authority__identifier=issuer, reference=reference)
    found = {
        item.copy_key: item
        for item in _base(user=actor)
        .filter(named, state=Request.State.RECEIVED)
        .select_related("issuing_authority")
    }
    outcomes = []
    for key in asked:
        item = found.get(key)
        if item is None:
            outcomes.append(BulkOutcome(key, _("It is not a received request of your authority.")))
            continue
        try:
            request_acknowledge(request=item, actor=actor, expected_state=Request.State.RECEIVED)
        except ApplicationError as error:
            outcomes.append(BulkOutcome(item.reference, error.message))
        else:
            outcomes.append(BulkOutcome(item.reference, ""))
    return outcomes


@transaction.atomic
def request_handover_note_set(*, request: Request, actor: User, note: str) -> Request:
    """Leave a note for the next shift on a received request; the timeline keeps each."""
    require_executor(request=request, actor=actor)
    text = note.strip()[:2000]
    request.handover_note = text
    request.save(update_fields=["handover_note", "updated_at"])
    audit_record(request=request, actor=actor, event=Event.HANDOVER_NOTE, note=text)
    return request
