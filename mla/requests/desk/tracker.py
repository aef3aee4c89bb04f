"""The prosecutor's tracker: the authority's sent requests, where each stands, and a prompt
to chase the executing side where an answer is expected and late.

The tracker lists the outgoing requests once sent (drafts, requests awaiting validation and
ready ones are the list's business, not awaited from anyone), closed ones included, newest
activity first. A page costs a constant number of queries, whatever its size: the page, its
open deadlines, and the latest audit entries per request read in two queries.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.core.instants import format_instant
from mla.core.pagination import keyset_page
from mla.instruments.declarations import declaration_for
from mla.instruments.labels import label
from mla.requests.deadlines.engine import DeadlineState, format_remaining, in_zone
from mla.requests.deadlines.store import PENDING_STATES
from mla.requests.events import EXECUTING_SIDE_EVENTS, ISSUING_SIDE_EVENTS, Event
from mla.requests.lifecycle import counterpart
from mla.requests.lifecycle.rules import may_act_for_issuer
from mla.requests.lifecycle.runner import record_act
from mla.requests.models import AuditEntry, Deadline, Request
from mla.requests.selectors import outgoing_requests

State = Request.State

# Not yet sent: nothing is awaited from the executing side.
NOT_SENT = (State.DRAFT, State.AWAITING_VALIDATION, State.READY)
# Waiting on the executing side: what may be chased. (While it asks for information, it
# waits on the issuer.)
CHASEABLE = (
    State.SENT,
    State.DELIVERED,
    State.ACKNOWLEDGED,
    State.RECOGNISED,
    State.IN_EXECUTION,
    State.POSTPONED,
    State.PRESERVED,
    State.EXTENDED,
    State.FOLLOWED_UP,
)
NO_ACKNOWLEDGEMENT_AFTER = datetime.timedelta(days=7)
NO_DECISION_AFTER = datetime.timedelta(days=30)
CHASE_INTERVAL = datetime.timedelta(hours=24)
CHASED = Event.CHASED

# Read per request and event: when it was delivered (or forwarded to the competent
# authority, which restarts the wait), acknowledged, and last chased.
MARKER_EVENTS = (Event.DELIVERED, Event.FORWARDED, Event.ACKNOWLEDGED, CHASED)

NO_ACKNOWLEDGEMENT = "no_acknowledgement"
NO_DECISION = "no_decision"


@dataclass(frozen=True)
class TrackerDeadline:
    label: str
    due: datetime.datetime  # in the user's zone
    zone: str
    overdue: bool
    remaining: str


@dataclass(frozen=True)
class TrackerEvent:
    event: str  # the audit event code
    at: datetime.datetime  # in the user's zone
    actor_name: str
    authority_name: str
    note: str


@dataclass(frozen=True)
class TrackerRow:
    request: Request
    title: str
    next_deadline: TrackerDeadline | None
    last_event: TrackerEvent | None  # the latest news from the executing side
    prompt: str  # NO_ACKNOWLEDGEMENT, NO_DECISION or ""
    prompt_text: str
    chased_at: datetime.datetime | None  # in the user's zone
    may_chase: bool  # the prompt's action, for this user, now


@dataclass(frozen=True)
class TrackerPage:
    rows: list[TrackerRow]
    next_cursor: str
    first: bool


def latest_entries(
    *,
    request_ids: Sequence[int],
    condition: Q,
    per_event: bool = False,
    distinct_on: bool | None = None,
) -> list[AuditEntry]:
    """The latest audit entry matching ``condition`` of each request (of each request and
    event with ``per_event``), in one query.

    PostgreSQL reads it with DISTINCT ON from the (request, sequence) index; other
    databases number the rows with a window function. ``distinct_on`` forces either."""
    if not request_ids:
        return []
    keys = ["request_id", "event"] if per_event else ["request_id"]
    entries = AuditEntry.objects.filter(condition, request_id__in=list(request_ids)).only(
        "request_id", "sequence", "event", "at", "actor_name", "authority_name", "note"
    )
    if distinct_on is None:
        distinct_on = connection.vendor == "postgresql"
    if distinct_on:
        return list(entries.order_by(*keys, "-sequence").distinct(*keys))
    ranked = entries.annotate(
        rank=Window(
            RowNumber(), partition_by=[F(key) for key in keys], order_by=F("sequence").desc()
        )
    )
    return list(ranked.filter(rank=1).order_by(*keys))


def _other_side(*, own_authority_name: str) -> Q:
    # Steps of the executing side; and whatever another authority recorded that the issuing
    # side does not do itself (news arriving from another node under a name we do not know).
    # A step of that kind the issuing authority took itself is not news: an EPOC-PR's
    # extension (Annex VI) is the issuer's, where a Budapest preservation's is the other side's.
    return (Q(event__in=EXECUTING_SIDE_EVENTS) & ~Q(authority_name=own_authority_name)) | (
        ~Q(authority_name__in=["", own_authority_name]) & ~Q(event__in=ISSUING_SIDE_EVENTS)
    )


def _next_deadlines(request_ids: Sequence[int]) -> dict[int, Deadline]:
    nearest: dict[int, Deadline] = {}
    rows = Deadline.objects.filter(request_id__in=list(request_ids), state__in=PENDING_STATES)
    for row in rows.order_by("request_id", "due_at", "pk").only(
        "request_id", "label", "due_at", "state"
    ):
        nearest.setdefault(row.request_id, row)
    return nearest


def _prompt(*, request: Request, markers: dict[str, AuditEntry], now: datetime.datetime) -> str:
    if request.state == State.DELIVERED:
        arrivals = [markers[e].at for e in ("delivered", "forwarded") if e in markers]
        since = max(arrivals) if arrivals else request.sent_at
        if since is not None and now - since >= NO_ACKNOWLEDGEMENT_AFTER:
            return NO_ACKNOWLEDGEMENT
    if request.state == State.ACKNOWLEDGED:
        acknowledged = markers.get("acknowledged")
        since = request.acknowledged_at or (acknowledged.at if acknowledged else None)
        if since is not None and now - since >= NO_DECISION_AFTER:
            return NO_DECISION
    return ""


def _prompt_text(prompt: str) -> str:
    if prompt == NO_ACKNOWLEDGEMENT:
        return _("No acknowledgement 7 days after delivery")
    if prompt == NO_DECISION:
        return _("No decision 30 days after acknowledgement")
    return ""


def tracker_rows(
    *, user: User, cursor: str | None, size: int, now: datetime.datetime | None = None
) -> TrackerPage:
    """A page of the user's authority's sent requests, newest activity first."""
    now = now or timezone.now()
    language = get_language()  # the page's
    authority = user.authority
    zone = user.zone
    page = keyset_page(
        outgoing_requests(user=user).exclude(state__in=NOT_SENT), cursor=cursor, size=size
    )
    ids = [item.pk for item in page.rows]
    if not ids:
        return TrackerPage(rows=[], next_cursor=page.next_cursor, first=page.first)
    deadlines = _next_deadlines(ids)
    news = {
        entry.request_id: entry
        for entry in latest_entries(
            request_ids=ids, condition=_other_side(own_authority_name=authority.name)
        )
    }
    markers: dict[int, dict[str, AuditEntry]] = {}
    for entry in latest_entries(
        request_ids=ids, condition=Q(event__in=MARKER_EVENTS), per_event=True
    ):
        markers.setdefault(entry.request_id, {})[entry.event] = entry
    rows = []
    for item in page.rows:
        own = markers.get(item.pk, {})
        deadline = deadlines.get(item.pk) if item.is_open else None
        last = news.get(item.pk)
        chased = own.get(CHASED)
        prompt = _prompt(request=item, markers=own, now=now)
        rows.append(
            TrackerRow(
                request=item,
                title=label(declaration_for(item.declaration_code).title, language),
                next_deadline=TrackerDeadline(
                    label=label(deadline.label, language),
                    due=in_zone(deadline.due_at, zone),
                    zone=zone,
                    overdue=deadline.state == DeadlineState.MISSED or deadline.due_at < now,
                    remaining=format_remaining(due_at=deadline.due_at, now=now),
                )
                if deadline is not None
                else None,
                last_event=TrackerEvent(
                    event=last.event,
                    at=in_zone(last.at, zone),
                    actor_name=last.actor_name,
                    authority_name=last.authority_name,
                    note=last.note,
                )
                if last is not None
                else None,
                prompt=prompt,
                prompt_text=_prompt_text(prompt),
                chased_at=in_zone(chased.at, zone) if chased is not None else None,
                may_chase=bool(prompt)
                and (chased is None or now - chased.at >= CHASE_INTERVAL)
                and may_act_for_issuer(request=item, user=user),
            )
        )
    return TrackerPage(rows=rows, next_cursor=page.next_cursor, first=page.first)


@transaction.atomic
def request_chase(*, request: Request, actor: User, note: str = "") -> AuditEntry:
    """Ask the executing side where a request stands: recorded on the issuing copy, and,
    when the executing copy is on this node, on it too, and its people are told.

    At most once per request in ``CHASE_INTERVAL``; the request's row lock makes two chases
    at the same moment count as two."""
    if not may_act_for_issuer(request=request, user=actor):
        raise ApplicationError(
            _(
                "Only a prosecutor (or another role allowed to issue) of the issuing "
                "authority chases a request."
            )
        )
    locked = Request.objects.select_for_update(of=("self",)).get(pk=request.pk)
    if locked.state == State.INFO_REQUESTED:
        raise ApplicationError(
            _("The executing side is waiting for your answer to its question, not you for it.")
        )
    if locked.state not in CHASEABLE:
        raise ApplicationError(
            _("This request is “%(state)s”: nothing is awaited from the executing side.")
            % {"state": locked.get_state_display()}
        )
    now = timezone.now()
    last = AuditEntry.objects.filter(request=locked, event=CHASED).order_by("-sequence").first()
    if last is not None and now - last.at < CHASE_INTERVAL:
        zone = actor.zone
        raise ApplicationError(
            _(
                "This request was chased on %(at)s; it can be chased again from %(again)s "
                "(%(zone)s)."
            )
            % {
                "at": format_instant(last.at, zone),
                "again": format_instant(last.at + CHASE_INTERVAL, zone),
                "zone": zone,
            }
        )
    note = note.strip()
    entry = record_act(request=locked, actor=actor, event=CHASED, note=note, at=now)
    # The executing copy records it and its people are told, here or on its node.
    counterpart.issuer_step(request=locked, actor=actor, event=CHASED, note=note, at=now)
    return entry
