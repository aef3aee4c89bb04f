"""Escalating deadlines (run by Celery beat): who hears that a deadline is near, or was missed.

Three levels, each notified once per deadline and due instant (an extension moves the due
instant, so it is notified again), however often the task runs and even when two runs
overlap:

- approaching: an open deadline of a received copy is due within 24 hours, or within a fifth
  of its whole span when that is shorter (a 24-hour deadline warns 4.8 hours before). Its
  assignee hears of it, or, while nobody holds the request, the executing staff.
- missed: the deadline of a received copy ran out. The same people and the supervisors of
  the executing authority hear of it, and the request records a "deadline_missed" act.
- repeated: an emergency deadline (8 hours or less: an emergency EPOC, Regulation (EU)
  2023/1543 Art. 10(4)) of a received copy nobody has acknowledged yet is notified again
  every 15 minutes from its warning on, missed or not, to its holder (or the executing
  staff) and the supervisors, until someone acknowledges the request.
- preservation_expiring: a preservation ends within 10 days. The prosecutor who asked for
  it hears of it on the issuing copy, with the ways on: ask for an extension, or send the
  request for the data.

The webhooks of the authority holding the copy hear of an approaching deadline and of a
preservation ending once per deadline and due instant too, whoever is notified; of a missed
deadline through the request's "deadline_missed" act (mla.requests.webhook_events).

Deadlines are read in (due, id) order from the partial index of open deadlines
(``deadline_open_due``), so a run reads the rows due soon, not every open request. Those
already missed are no longer in that index; they are read within ``MISSED_LOOKBACK``.
"""

import datetime
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.core.instants import format_instant
from mla.notifications.kinds import Kind
from mla.notifications.messages import message, message_render
from mla.notifications.models import Notification
from mla.notifications.services import notification_send
from mla.requests.deadlines.engine import DeadlineState, format_remaining
from mla.requests.deadlines.store import OPEN_STATES, executing_zone
from mla.requests.lifecycle.rules import EXECUTING_ROLES, executing_roles
from mla.requests.lifecycle.runner import record_act
from mla.requests.models import AuditEntry, Deadline, Request
from mla.requests.webhook_events import deadlines_approaching_announce

logger = logging.getLogger(__name__)

APPROACHING = "approaching"
MISSED = "missed"
PRESERVATION_EXPIRING = "preservation_expiring"
REPEATED = "repeated"

APPROACHING_WINDOW = datetime.timedelta(hours=24)
# A deadline shorter than five days warns at a fifth of its span before it is due.
APPROACHING_FRACTION = 5
PRESERVATION_WARNING = datetime.timedelta(days=10)
# Emergency deadlines are told again, every REPEAT_EVERY, until the request is acknowledged.
REPEAT_SPAN = datetime.timedelta(hours=8)
REPEAT_EVERY = datetime.timedelta(minutes=15)
# The issuing side's own deadlines, counted on both copies: never the executing staff's to hear.
# e-Evidence: the issuing authority's answer to an Annex III (Art. 10(5)-(6)).
ISSUING_SIDE_DEADLINES = ("impossibility_answer",)
# Missed deadlines leave the index of open ones; those missed longer ago than this and never
# escalated (the task was stopped for a week) are left to the queue, which shows them overdue.
MISSED_LOOKBACK = datetime.timedelta(days=7)
BATCH_SIZE = 500
MISSED_EVENT = "deadline_missed"
# Deadlock or serialisation failure: the request was being changed at the same instant.
_RETRY_NEXT_RUN = ("40P01", "40001")

# Source strings, marked for extraction and translated per recipient at sending time.
APPROACHING_SUBJECT = gettext_noop("%(reference)s: %(deadline)s, %(remaining)s")
APPROACHING_BODY = gettext_noop(
    "The deadline “%(deadline)s” (%(source)s) is due on %(due)s (%(zone)s)."
)
MISSED_SUBJECT = gettext_noop("%(reference)s: the deadline “%(deadline)s” was missed")
MISSED_BODY = gettext_noop(
    "The deadline “%(deadline)s” (%(source)s) was due on %(due)s (%(zone)s): %(remaining)s."
)
PRESERVATION_SUBJECT = gettext_noop("%(reference)s: the preservation ends on %(due)s")
PRESERVATION_BODY = gettext_noop(
    "%(authority)s keeps the data preserved until %(due)s (%(zone)s), %(remaining)s.\n"
    "Extend the preservation (ask %(authority)s): %(extend_url)s\n"
    "Send the follow-up MLA request: %(follow_up_url)s\n"
    "Then record it as the follow-up of this preservation: %(record_url)s"
)


@dataclass(frozen=True)
class EscalationReport:
    """Notifications created by one run, per level, and the requests marked as having
    missed a deadline."""

    approaching: int = 0
    missed: int = 0
    preservation_expiring: int = 0
    marked: int = 0
    repeated: int = 0


class _People:
    """The active staff, supervisors and prosecutors of authorities, read once per run for
    all the authorities of a batch."""

    ROLES = (*EXECUTING_ROLES, Role.PROVIDER_STAFF, Role.SUPERVISOR, Role.PROSECUTOR)

    def __init__(self) -> None:
        self._by_authority: dict[int, dict[str, list[User]]] = {}

    def load(self, authority_ids: Iterable[int | None]) -> None:
        missing = {pk for pk in authority_ids if pk is not None} - self._by_authority.keys()
        if not missing:
            return
        for pk in missing:
            self._by_authority[pk] = {}
        users = (
            User.objects.filter(
                authority_id__in=missing, is_active=True, groups__name__in=list(self.ROLES)
            )
            .annotate(role_name=F("groups__name"))
            .order_by("pk")
        )
        for user in users:
            self._by_authority[user.authority_id].setdefault(user.role_name, []).append(user)

    def with_roles(self, authority_id: int | None, roles: Iterable[str]) -> list[User]:
        found = self._by_authority.get(authority_id or 0, {})
        return _unique(user for role in roles for user in found.get(str(role), []))


def _unique(users: Iterable[User]) -> list[User]:
    by_pk = {user.pk: user for user in users if user.is_active}
    return [by_pk[pk] for pk in sorted(by_pk)]


def _executors(request: Request, people: _People) -> list[User]:
    """Who works on a received request: its assignee, or while nobody holds it, the staff."""
    if request.assignee is not None and request.assignee.is_active:
        return [request.assignee]
    # e-Evidence: the addressee's provider staff work its certificates.
    return people.with_roles(request.executing_authority_id, executing_roles(request))


def _requesting_prosecutor(request: Request, people: _People) -> list[User]:
    """The author of an outgoing request; if they left, the prosecutors of their authority."""
    if request.created_by is not None and request.created_by.is_active:
        return [request.created_by]
    return people.with_roles(request.issuing_authority_id, [Role.PROSECUTOR])


def _dedupe_key(deadline: Deadline, level: str) -> str:
    due = deadline.due_at.astimezone(datetime.UTC).isoformat()
    return f"deadline:{deadline.pk}:{due}:{level}"


def _link(path: str) -> str:
    # The body is e-mailed as it is: its links must name the site.
    site = getattr(settings, "SITE_URL", "")
    return f"{site.rstrip('/')}{path}" if site else path


def _base(*, direction: str) -> QuerySet[Deadline]:
    rows = Deadline.objects.filter(request__direction=direction)
    if direction == Request.Direction.INCOMING:
        rows = rows.exclude(code__in=ISSUING_SIDE_DEADLINES)
    return (
        rows.exclude(request__state__in=Request.FINAL)
        .select_related(
            "request",
            "request__executing_authority",
            "request__executing_country",
            "request__issuing_authority",
            "request__assignee",
            "request__created_by",
        )
        .defer("request__data")  # can be large, and no message needs it
    )


def _batches(queryset: QuerySet[Deadline], *, size: int) -> Iterator[list[Deadline]]:
    """Keyset pages in (due, id) order: the order of the partial index on the due instant,
    so each page starts where the last ended without re-reading it."""
    ordered = queryset.order_by("due_at", "pk")
    after: tuple[datetime.datetime, int] | None = None
    while True:
        page = ordered
        if after is not None:
            page = page.filter(Q(due_at__gt=after[0]) | Q(due_at=after[0], pk__gt=after[1]))
        rows = list(page[:size])
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = (rows[-1].due_at, rows[-1].pk)


def _already_notified(wanted: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (recipient, key) pairs have their notification already: one query a batch."""
    pairs = set(wanted)
    if not pairs:
        return set()
    return set(
        Notification.objects.filter(
            recipient_id__in={user_id for user_id, _key in pairs},
            dedupe_key__in={key for _user_id, key in pairs},
        )
        .exclude(dedupe_key="")  # the unique index's condition: lets it serve the lookup
        .values_list("recipient_id", "dedupe_key")
    )


def _send(
    *,
    recipients: Sequence[User],
    deadline: Deadline,
    level: str,
    kind: str,
    subject: str,
    body: str,
    zone: str,
    now: datetime.datetime,
    extra: dict[str, str] | None = None,
) -> int:
    """Notify each recipient once, in their language and time zone (their own choice, else
    ``zone``, their authority's); how many notifications were new."""
    request = deadline.request
    url = request.get_absolute_url()
    by_reader: dict[tuple[str, str], list[User]] = {}
    for user in recipients:
        reader = (user.preferred_language or "en", user.time_zone or zone)
        by_reader.setdefault(reader, []).append(user)
    created = 0
    for (language, reader_zone), users in sorted(by_reader.items()):
        with translation.override(language):
            # Stored to be worded when read, in the reader's language; the due time is on
            # the clock of this group of readers, labelled with its zone.
            stored = message(
                subject=subject,
                body=body,
                params={
                    "reference": request.reference,
                    "deadline": {"label": deadline.label},
                    "source": {"msgid": deadline.source},
                    "due": format_instant(deadline.due_at, reader_zone),
                    "zone": reader_zone,
                    "remaining": remaining_value(due_at=deadline.due_at, now=now),
                    **(extra or {}),
                },
            )
            subject_text, body_text = message_render(stored)
            created += len(
                notification_send(
                    recipients=users,
                    kind=kind,
                    subject=subject_text,
                    body=body_text,
                    url=url,
                    request=request,
                    dedupe_key=_dedupe_key(deadline, level),
                    message=stored,
                )
            )
    return created


def remaining_value(*, due_at: datetime.datetime, now: datetime.datetime) -> dict[str, str]:
    """The time left before ``due_at`` as of ``now``, as a notification stores it: worded
    when read, in the reader's language (remaining_render)."""
    return {"kind": "remaining", "due": due_at.isoformat(), "at": now.isoformat()}


def remaining_render(value: Mapping[str, Any]) -> str:
    return format_remaining(
        due_at=datetime.datetime.fromisoformat(str(value["due"])),
        now=datetime.datetime.fromisoformat(str(value["at"])),
    )


def _approaching(deadline: Deadline, now: datetime.datetime) -> bool:
    window = APPROACHING_WINDOW
    if deadline.starts_at is not None:
        window = min(window, (deadline.due_at - deadline.starts_at) / APPROACHING_FRACTION)
    return now < deadline.due_at and deadline.due_at - now <= window


def _escalate_approaching(*, now: datetime.datetime, people: _People) -> int:
    created = 0
    due_soon = _base(direction=Request.Direction.INCOMING).filter(
        state__in=OPEN_STATES, due_at__gt=now, due_at__lte=now + APPROACHING_WINDOW
    )
    for batch in _batches(due_soon, size=BATCH_SIZE):
        rows = [row for row in batch if _approaching(row, now)]
        # The executing authority's systems hear of it whether or not anyone is notified.
        deadlines_approaching_announce(
            deadlines=rows, dedupe_keys={row.pk: _dedupe_key(row, APPROACHING) for row in rows}
        )
        people.load(row.request.executing_authority_id for row in rows)
        plan = [(row, _executors(row.request, people)) for row in rows]
        known = _already_notified(
            (user.pk, _dedupe_key(row, APPROACHING)) for row, users in plan for user in users
        )
        for row, users in plan:
            key = _dedupe_key(row, APPROACHING)
            pending = [user for user in users if (user.pk, key) not in known]
            if not pending:
                continue
            created += _send(
                recipients=pending,
                deadline=row,
                level=APPROACHING,
                kind=Kind.DEADLINE_APPROACHING,
                subject=APPROACHING_SUBJECT,
                body=APPROACHING_BODY,
                zone=executing_zone(request=row.request),
                now=now,
            )
    return created


def _marked(deadline: Deadline) -> Q:
    due = deadline.due_at.astimezone(datetime.UTC).isoformat()
    return Q(
        request_id=deadline.request_id,
        event=MISSED_EVENT,
        payload__deadline=deadline.code,
        payload__due_at=due,
    )


def _missed_and_notify(
    *, deadline: Deadline, recipients: Sequence[User], mark: bool, now: datetime.datetime
) -> tuple[int, bool]:
    """Mark the request (once) and notify, in one transaction under the request's row lock:
    a second run waiting on the lock then finds both done."""
    marked = False
    with transaction.atomic():
        # The request row first, as every step of a request locks it first (its UPDATE).
        locked = (
            Request.objects.select_for_update(of=("self",))
            .select_related("executing_authority")
            .get(pk=deadline.request_id)
        )
        if not locked.is_open:
            return 0, False  # closed since the batch was read: nothing is expected any more
        if mark and not AuditEntry.objects.filter(_marked(deadline)).exists():
            record_act(
                request=locked,
                actor=None,
                event=MISSED_EVENT,
                payload={
                    "deadline": deadline.code,
                    "due_at": deadline.due_at.astimezone(datetime.UTC).isoformat(),
                },
            )
            marked = True
        created = (
            _send(
                recipients=recipients,
                deadline=deadline,
                level=MISSED,
                kind=Kind.DEADLINE_MISSED,
                subject=MISSED_SUBJECT,
                body=MISSED_BODY,
                zone=executing_zone(request=deadline.request),
                now=now,
            )
            if recipients
            else 0
        )
    return created, marked


def _escalate_missed(*, now: datetime.datetime, people: _People) -> tuple[int, int]:
    created = marked = 0
    incoming = _base(direction=Request.Direction.INCOMING)
    sources = (
        # Ran out since the last event of their request, not yet recomputed: still indexed.
        incoming.filter(state__in=OPEN_STATES, due_at__lte=now),
        incoming.filter(
            state=DeadlineState.MISSED, due_at__gt=now - MISSED_LOOKBACK, due_at__lte=now
        ),
    )
    for source in sources:
        for batch in _batches(source, size=BATCH_SIZE):
            people.load(row.request.executing_authority_id for row in batch)
            plan = [
                (
                    row,
                    _unique(
                        [
                            *_executors(row.request, people),
                            *people.with_roles(
                                row.request.executing_authority_id, [Role.SUPERVISOR]
                            ),
                        ]
                    ),
                )
                for row in batch
            ]
            known = _already_notified(
                (user.pk, _dedupe_key(row, MISSED)) for row, users in plan for user in users
            )
            done = {
                (request_id, payload.get("deadline"), payload.get("due_at"))
                for request_id, payload in AuditEntry.objects.filter(
                    request_id__in={row.request_id for row in batch}, event=MISSED_EVENT
                ).values_list("request_id", "payload")
            }
            for row, users in plan:
                key = _dedupe_key(row, MISSED)
                pending = [user for user in users if (user.pk, key) not in known]
                due = row.due_at.astimezone(datetime.UTC).isoformat()
                mark = (row.request_id, row.code, due) not in done
                if not pending and not mark:
                    continue
                try:
                    new, was_marked = _missed_and_notify(
                        deadline=row, recipients=pending, mark=mark, now=now
                    )
                except OperationalError as error:
                    if getattr(error.__cause__, "sqlstate", None) not in _RETRY_NEXT_RUN:
                        raise
                    logger.warning("Deadline %s left for the next run: %s", row.pk, error)
                    continue
                created += new
                marked += int(was_marked)
    return created, marked


def _warning_starts(deadline: Deadline) -> datetime.datetime:
    assert deadline.starts_at is not None
    return deadline.due_at - (deadline.due_at - deadline.starts_at) / APPROACHING_FRACTION


def _repeat_slot(deadline: Deadline, now: datetime.datetime) -> int:
    """Which repetition is due now: 1 from REPEAT_EVERY after the warning on (0 is the
    warning itself, sent as "approaching")."""
    return int((now - _warning_starts(deadline)) / REPEAT_EVERY)


def _escalate_repeated(*, now: datetime.datetime, people: _People) -> int:
    created = 0
    short = (
        _base(direction=Request.Direction.INCOMING)
        .filter(
            request__state=Request.State.RECEIVED,  # nobody has acknowledged it yet
            starts_at__isnull=False,
            state__in=(*OPEN_STATES, DeadlineState.MISSED),
            due_at__gt=now - MISSED_LOOKBACK,
            due_at__lte=now + REPEAT_SPAN / APPROACHING_FRACTION,
        )
        .filter(due_at__lte=F("starts_at") + REPEAT_SPAN)
    )
    for batch in _batches(short, size=BATCH_SIZE):
        rows = [row for row in batch if _repeat_slot(row, now) >= 1]
        people.load(row.request.executing_authority_id for row in rows)
        for row in rows:
            level = f"{REPEATED}:{_repeat_slot(row, now)}"
            users = _unique(
                [
                    *_executors(row.request, people),
                    *people.with_roles(row.request.executing_authority_id, [Role.SUPERVISOR]),
                ]
            )
            key = _dedupe_key(row, level)
            known = _already_notified((user.pk, key) for user in users)
            pending = [user for user in users if (user.pk, key) not in known]
            if not pending:
                continue
            overdue = now >= row.due_at
            created += _send(
                recipients=pending,
                deadline=row,
                level=level,
                kind=Kind.DEADLINE_MISSED if overdue else Kind.DEADLINE_APPROACHING,
                subject=MISSED_SUBJECT if overdue else APPROACHING_SUBJECT,
                body=MISSED_BODY if overdue else APPROACHING_BODY,
                zone=executing_zone(request=row.request),
                now=now,
            )
    return created


def _escalate_preservations(*, now: datetime.datetime, people: _People) -> int:
    created = 0
    ending = _base(direction=Request.Direction.OUTGOING).filter(
        code="preservation",
        state__in=OPEN_STATES,
        due_at__gt=now,
        due_at__lte=now + PRESERVATION_WARNING,
    )
    for batch in _batches(ending, size=BATCH_SIZE):
        deadlines_approaching_announce(
            deadlines=batch,
            dedupe_keys={row.pk: _dedupe_key(row, PRESERVATION_EXPIRING) for row in batch},
        )
        people.load(
            row.request.issuing_authority_id
            for row in batch
            if row.request.created_by is None or not row.request.created_by.is_active
        )
        plan = [(row, _requesting_prosecutor(row.request, people)) for row in batch]
        known = _already_notified(
            (user.pk, _dedupe_key(row, PRESERVATION_EXPIRING))
            for row, users in plan
            for user in users
        )
        for row, users in plan:
            key = _dedupe_key(row, PRESERVATION_EXPIRING)
            pending = [user for user in users if (user.pk, key) not in known]
            if not pending:
                continue
            request = row.request
            detail = request.get_absolute_url()
            new_request = (
                reverse("requests:new")
                + "?"
                + urlencode({"country": request.executing_country.code})
            )
            created += _send(
                recipients=pending,
                deadline=row,
                level=PRESERVATION_EXPIRING,
                kind=Kind.PRESERVATION_EXPIRING,
                subject=PRESERVATION_SUBJECT,
                body=PRESERVATION_BODY,
                # The prosecutor reads it in their own authority's zone.
                zone=request.issuing_authority.time_zone or "UTC",
                now=now,
                extra={
                    "authority": request.executing_authority.name
                    if request.executing_authority
                    else request.executing_country.name,
                    "extend_url": _link(detail),
                    "follow_up_url": _link(new_request),
                    "record_url": _link(f"{detail}#step-follow_up"),
                },
            )
    return created


def deadlines_escalate(*, now: datetime.datetime | None = None) -> EscalationReport:
    """Notify the approaching, missed and soon-ending deadlines not yet notified.

    Not one transaction: each deadline's notifications (and its request's mark) commit on
    their own, so a run stopped halfway keeps what it did and the next run does the rest.
    """
    now = now or timezone.now()
    people = _People()
    approaching = _escalate_approaching(now=now, people=people)
    missed, marked = _escalate_missed(now=now, people=people)
    preservation = _escalate_preservations(now=now, people=people)
    repeated = _escalate_repeated(now=now, people=people)
    return EscalationReport(
        approaching=approaching,
        missed=missed,
        preservation_expiring=preservation,
        marked=marked,
        repeated=repeated,
    )
