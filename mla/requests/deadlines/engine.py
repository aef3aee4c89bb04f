"""The legal deadlines of a request, computed from its lifecycle events.

Pure: no database access. The caller gives the request's declaration, its structured data
and every lifecycle event so far; it stores what comes back and recomputes it on each new
event. A service also calls it *before* committing an event, so the validation errors it
raises (an extension given twice, say) reach the user as an ``ApplicationError``.

Counting: ``days`` are calendar days in the executing authority's time zone (the start's
local wall-clock time N days later, so N*24 ± 1 hours across a daylight-saving change);
``hours`` are elapsed time. A fixed requested date is due at the end of that date in the
zone. Suspended time (a request for information, a postponement) is elapsed time and is
added to the due instant when the suspension ends.

While a deadline is suspended its due instant is the due instant when the suspension began
plus the pause so far (it moves with ``now``), and ``paused`` includes that ongoing pause:
``due_at`` is always the counted due plus ``paused``. So a suspended deadline is never
overdue, and once it resumes its due instant stays where the pause left it.

A deadline is closed by a fulfilling event (met; late if it happened after the due
instant), by a cancellation (withdrawal, forwarding, refusal for the other deadlines), or,
for preservation, by expiry without a follow-up (missed). An unfulfilled deadline past its
due instant is missed, but stays fulfillable (met late); cancellations and suspensions only
touch the deadlines still open at that moment, so a deadline already missed stays missed.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from mla.core.errors import ApplicationError
from mla.instruments.completeness import holds
from mla.instruments.declarations.schema import DeadlineRule, InstrumentDeclaration
from mla.requests.events import Event

EVENT_KINDS = frozenset(
    {
        Event.RECEIVED,
        Event.ACKNOWLEDGED,
        Event.RECOGNISED,
        Event.REFUSED,
        Event.PROVISIONAL_DECIDED,
        Event.EXECUTED,
        Event.PARTIALLY_EXECUTED,
        Event.RECOGNITION_EXTENDED,
        Event.INFO_REQUESTED,
        Event.INFO_ANSWERED,
        Event.POSTPONED,
        Event.RESUMED,
        Event.PRESERVED,
        Event.PRESERVATION_EXTENDED,
        Event.FOLLOWED_UP,
        Event.FOLLOW_UP_DECIDED,
        Event.EXPIRED,
        Event.WITHDRAWN,
        Event.FORWARDED,
        # Enforcing authority (e-Evidence): its decision on a notified production order.
        Event.NO_GROUNDS,
        Event.GROUNDS_RAISED,
        # e-Evidence: the addressee's Annex III and the issuing authority's answer.
        Event.IMPOSSIBILITY_REPORTED,
        Event.IMPOSSIBILITY_ANSWERED,
    }
)

_EXECUTED = frozenset({Event.EXECUTED, Event.PARTIALLY_EXECUTED})
_DECIDED = frozenset({Event.RECOGNISED, Event.REFUSED}) | _EXECUTED

# The events that fulfil each deadline, by DeadlineRule.code. A declaration's deadline
# must be listed here, so that a new rule cannot silently never be met.
MET_BY: Mapping[str, frozenset[Event]] = {
    "acknowledgement": frozenset({Event.ACKNOWLEDGED}),
    "recognition": _DECIDED,
    "provisional_measures": _DECIDED | {Event.PROVISIONAL_DECIDED},
    "execution": _EXECUTED,
    "requested_date": _EXECUTED,
    "preservation": frozenset({Event.FOLLOW_UP_DECIDED}),
    # Enforcing authority (e-Evidence): Art. 12(1), and Art. 10(4) in an emergency.
    "enforcing_assessment": frozenset({Event.NO_GROUNDS, Event.GROUNDS_RAISED}),
    "enforcing_assessment_emergency": frozenset({Event.NO_GROUNDS, Event.GROUNDS_RAISED}),
    # e-Evidence (Regulation (EU) 2023/1543): the addressee produces the data (Art. 10(2)-(4));
    # the issuing authority answers an Annex III (Art. 10(5)-(6)).
    "production": _EXECUTED,
    "impossibility_answer": frozenset({Event.IMPOSSIBILITY_ANSWERED}),
}

_FOLLOW_UP = "follow_up"
_ANNEX_III = "annex_iii"
# Suspensions: the event starting one -> (its name, the deadlines it holds).
_SUSPENDED_BY: Mapping[str, tuple[str, frozenset[str]]] = {
    Event.INFO_REQUESTED: ("info", frozenset({"recognition", "execution"})),
    Event.POSTPONED: ("postponement", frozenset({"execution"})),  # Art. 15
    # Art. 29(7): kept until the follow-up request is decided, however long that takes.
    Event.FOLLOWED_UP: (_FOLLOW_UP, frozenset({"preservation"})),
    # e-Evidence: while the issuing authority answers an Annex III the addressee cannot
    # produce; the time left runs on once the certificate is corrected or completed. [K]
    Event.IMPOSSIBILITY_REPORTED: (_ANNEX_III, frozenset({"production"})),
}
_RESUMED_BY: Mapping[str, str] = {
    Event.IMPOSSIBILITY_ANSWERED: _ANNEX_III,
    Event.INFO_ANSWERED: "info",
    Event.RESUMED: "postponement",
    Event.FOLLOW_UP_DECIDED: _FOLLOW_UP,
    Event.EXPIRED: _FOLLOW_UP,
}
_CANCELLING = frozenset({Event.WITHDRAWN, Event.FORWARDED})
_FIXED_DATE_START = Event.RECEIVED
_RECOGNITION_EXTENSION_MAX_DAYS = 30  # Art. 12(5)
# Budapest Art. 29(7) sets no longest extension; ten years bounds what a date can hold, so
# that a mistyped or hostile number is refused with a reason instead of overflowing.
_PRESERVATION_EXTENSION_MAX_DAYS = 3650


class DeadlineState(models.TextChoices):
    RUNNING = "running", gettext_lazy("Running")
    MET = "met", gettext_lazy("Met")
    MISSED = "missed", gettext_lazy("Missed")
    SUSPENDED = "suspended", gettext_lazy("Suspended")
    EXTENDED = "extended", gettext_lazy("Extended")
    # No longer applies: the request was withdrawn, forwarded, or refused before this step.
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


@dataclass(frozen=True)
class LifecycleEvent:
    kind: str  # one of EVENT_KINDS
    at: datetime  # timezone-aware
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComputedDeadline:
    code: str
    label: str  # label key
    source: str
    starts_at: datetime | None  # the event it counts from; None for a fixed requested date
    due_at: datetime  # in UTC
    state: str  # a DeadlineState value, as of ``now``
    met_at: datetime | None
    extended_days: int
    extension_reason: str  # "; "-joined
    suspended_since: datetime | None
    paused: timedelta  # suspended time credited to due_at, the ongoing pause included
    late: bool  # met after due_at, or missed


def _zone(zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time zone {zone!r}.") from None


def _check_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware: {moment!r}.")


def in_zone(moment: datetime, zone: str) -> datetime:
    """``moment`` as wall-clock time in the IANA ``zone``."""
    _check_aware(moment, "moment")
    return moment.astimezone(_zone(zone))


def _from_wall_clock(wall: datetime, tz: ZoneInfo) -> datetime:
    # A wall-clock time skipped by a spring change, or repeated by an autumn one, is read
    # with the offset in force before the change (fold=0): deterministic, never an error.
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _add_calendar_days(moment: datetime, days: int, tz: ZoneInfo) -> datetime:
    if not days:
        return moment.astimezone(UTC)
    wall = moment.astimezone(tz).replace(tzinfo=None)
    return _from_wall_clock(wall + timedelta(days=days), tz)


def _end_of_day(day: date, tz: ZoneInfo) -> datetime:
    return _from_wall_clock(datetime.combine(day + timedelta(days=1), time()), tz)


def _fixed_date(rule: DeadlineRule, data: Mapping[str, Any]) -> date | None:
    section_code, name = rule.starts_at.split(".", 1)
    section = data.get(section_code)
    value = section.get(name) if isinstance(section, Mapping) else None
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _is_fixed_date(rule: DeadlineRule) -> bool:
    return "." in rule.starts_at


def _check_rule(rule: DeadlineRule) -> None:
    if rule.code not in MET_BY:
        raise ValueError(f"No event is known to fulfil the deadline {rule.code!r}.")
    counted = rule.days is not None or rule.hours is not None
    if _is_fixed_date(rule):
        if counted:
            raise ValueError(f"Deadline {rule.code!r} reads a date and cannot also count time.")
    elif rule.starts_at not in EVENT_KINDS or not counted:
        raise ValueError(f"Deadline {rule.code!r} must count days or hours from an event.")


def _counted_due(rule: DeadlineRule, start: datetime, extra_days: int, tz: ZoneInfo) -> datetime:
    # Elapsed hours: added in UTC, as adding to a zoned time would count the wall clock
    # (one hour short across a spring change).
    due = start.astimezone(UTC) + timedelta(hours=rule.hours or 0)
    return _add_calendar_days(due, (rule.days or 0) + extra_days, tz)


@dataclass
class _Tracker:
    rule: DeadlineRule
    tz: ZoneInfo
    starts_at: datetime | None  # None for a fixed date
    fixed_due: datetime | None = None  # the end of a fixed requested date
    extended_days: int = 0
    reasons: list[str] = field(default_factory=list)
    paused: timedelta = timedelta()  # completed pauses
    holds: set[str] = field(default_factory=set)
    suspended_since: datetime | None = None
    closed: DeadlineState | None = None  # MET, CANCELLED, or MISSED (a lapse)
    met_at: datetime | None = None
    followed_up: bool = False

    def ongoing_pause(self, at: datetime) -> timedelta:
        if self.suspended_since is None:
            return timedelta()
        return max(at - self.suspended_since, timedelta())

    def due(self, at: datetime) -> datetime:
        """The due instant as seen at ``at``: counted, extended, then moved by the pauses."""
        if self.starts_at is None:
            assert self.fixed_due is not None  # a fixed date has no start event
            counted = self.fixed_due
        else:
            counted = _counted_due(self.rule, self.starts_at, self.extended_days, self.tz)
        return counted + self.paused + self.ongoing_pause(at)

    def is_open(self, at: datetime) -> bool:
        """Not closed and not already overdue at ``at``."""
        if self.closed is not None:
            return False
        return self.suspended_since is not None or at <= self.due(at)

    def suspend(self, hold: str, at: datetime) -> None:
        self.followed_up = self.followed_up or hold == _FOLLOW_UP
        if not self.holds:
            self.suspended_since = at
        self.holds.add(hold)

    def resume(self, hold: str, at: datetime) -> None:
        if hold not in self.holds:
            return
        self.holds.discard(hold)
        if not self.holds and self.suspended_since is not None:
            self.paused += self.ongoing_pause(at)
            self.suspended_since = None

    def close(self, state: DeadlineState, at: datetime) -> None:
        for hold in list(self.holds):
            self.resume(hold, at)
        self.closed = state
        if state == DeadlineState.MET:
            self.met_at = at

    def computed(self, now: datetime) -> ComputedDeadline:
        due_at = self.due(now)
        if self.closed is not None:
            state = self.closed
        elif self.suspended_since is not None:
            state = DeadlineState.SUSPENDED
        elif now > due_at:
            state = DeadlineState.MISSED
        elif self.extended_days:
            state = DeadlineState.EXTENDED
        else:
            state = DeadlineState.RUNNING
        if state == DeadlineState.MET:
            late = self.met_at is not None and self.met_at > due_at
        else:
            late = state == DeadlineState.MISSED
        return ComputedDeadline(
            code=self.rule.code,
            label=self.rule.label,
            source=self.rule.source,
            starts_at=_utc(self.starts_at),
            due_at=due_at.astimezone(UTC),
            state=state.value,
            met_at=_utc(self.met_at),
            extended_days=self.extended_days,
            extension_reason="; ".join(self.reasons),
            suspended_since=_utc(self.suspended_since),
            paused=self.paused + self.ongoing_pause(now),
            late=late,
        )


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _extension(event: LifecycleEvent, *, max_days: int) -> tuple[int, str]:
    days = event.payload.get("days")
    reason = event.payload.get("reason")
    valid_days = (
        isinstance(days, int) and not isinstance(days, bool) and days >= 1 and days <= max_days
    )
    if not valid_days:
        raise ApplicationError(_("An extension adds from 1 to %(max)d days.") % {"max": max_days})
    if not isinstance(reason, str) or not reason.strip():
        raise ApplicationError(_("Give the reason for the extension."))
    assert isinstance(days, int)  # narrowed above, for mypy
    return days, reason.strip()


class _Schedule:
    def __init__(
        self, *, declaration: InstrumentDeclaration, data: Mapping[str, Any], tz: ZoneInfo
    ) -> None:
        for rule in declaration.deadlines:
            _check_rule(rule)
        plain = dict(data)
        self.rules = [
            rule
            for rule in declaration.deadlines
            if (rule.applies_when is None or holds(rule.applies_when, plain))
            and (rule.applies_if is None or rule.applies_if(plain))
        ]
        self.data = data
        self.tz = tz
        self.trackers: dict[str, _Tracker] = {}
        self.active_holds: dict[str, frozenset[str]] = {}  # name -> deadline codes held

    def start(self, event: LifecycleEvent) -> None:
        for rule in self.rules:
            if rule.starts_at == event.kind:
                self._track(_Tracker(rule=rule, tz=self.tz, starts_at=event.at), event.at)
            elif _is_fixed_date(rule) and event.kind == _FIXED_DATE_START:
                day = _fixed_date(rule, self.data)
                if day is not None:
                    due = _end_of_day(day, self.tz)
                    tracker = _Tracker(rule=rule, tz=self.tz, starts_at=None, fixed_due=due)
                    self._track(tracker, event.at)

    def _track(self, tracker: _Tracker, at: datetime) -> None:
        # A later start event replaces the deadline: it counts from the last one. One that
        # starts during a suspension that holds it starts suspended.
        self.trackers[tracker.rule.code] = tracker
        for hold, codes in self.active_holds.items():
            if tracker.rule.code in codes:
                tracker.suspend(hold, at)

    def open_tracker(self, code: str, at: datetime) -> _Tracker | None:
        tracker = self.trackers.get(code)
        return tracker if tracker is not None and tracker.is_open(at) else None

    def apply(self, event: LifecycleEvent) -> None:
        kind, at = event.kind, event.at
        self.start(event)
        for code, tracker in self.trackers.items():
            if tracker.closed is None and kind in MET_BY[code]:
                tracker.close(DeadlineState.MET, at)
        if kind == "refused" or kind in _CANCELLING:
            for tracker in self.trackers.values():
                if tracker.is_open(at):
                    tracker.close(DeadlineState.CANCELLED, at)
        if kind in _SUSPENDED_BY:
            self._suspend(*_SUSPENDED_BY[kind], at)
        if kind in _RESUMED_BY:
            hold = _RESUMED_BY[kind]
            self.active_holds.pop(hold, None)
            if kind == "expired":
                self._expire(at)
            for tracker in self.trackers.values():
                tracker.resume(hold, at)
        if kind == "recognition_extended":
            self._extend("recognition", event, max_days=_RECOGNITION_EXTENSION_MAX_DAYS)
        elif kind == "preservation_extended":
            self._extend("preservation", event, max_days=_PRESERVATION_EXTENSION_MAX_DAYS)

    def _suspend(self, hold: str, codes: frozenset[str], at: datetime) -> None:
        if hold in self.active_holds:  # asked again before the answer: still the first
            return
        self.active_holds[hold] = codes
        for code in codes:
            tracker = self.open_tracker(code, at)
            if tracker is not None:
                tracker.suspend(hold, at)

    def _expire(self, at: datetime) -> None:
        tracker = self.trackers.get("preservation")
        if tracker is None or tracker.closed is not None:
            return
        # Kept until the follow-up was decided: done. Never followed up: it lapsed.
        tracker.close(DeadlineState.MET if tracker.followed_up else DeadlineState.MISSED, at)

    def _extend(self, code: str, event: LifecycleEvent, *, max_days: int) -> None:
        days, reason = _extension(event, max_days=max_days)
        tracker = self.open_tracker(code, event.at)
        if tracker is None:
            raise ApplicationError(_("There is no running time limit to extend."))
        if code == "recognition" and tracker.extended_days:
            # Art. 12(5): the recognition time limit may be extended once.
            raise ApplicationError(_("The time limit for recognition was already extended."))
        tracker.extended_days += days
        tracker.reasons.append(reason)


def deadline_schedule(
    *,
    declaration: InstrumentDeclaration,
    data: Mapping[str, Any],
    events: Sequence[LifecycleEvent],
    zone: str,
    now: datetime,
) -> list[ComputedDeadline]:
    """The request's deadlines as of ``now``, in the declaration's order.

    Raises ValueError for a programming error (an unknown event kind, a naive date-time,
    an unknown zone) and ApplicationError for an event the rules refuse (a second
    extension of the recognition time limit, an extension without a reason).
    """
    _check_aware(now, "now")
    for event in events:
        if event.kind not in EVENT_KINDS:
            raise ValueError(f"Unknown lifecycle event kind {event.kind!r}.")
        _check_aware(event.at, f"The {event.kind!r} event's time")
    schedule = _Schedule(declaration=declaration, data=data, tz=_zone(zone))
    for event in sorted(events, key=attrgetter("at")):
        schedule.apply(event)
    return [
        schedule.trackers[rule.code].computed(now)
        for rule in schedule.rules
        if rule.code in schedule.trackers
    ]


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        text = ngettext("%(count)d d", "%(count)d d", days) % {"count": days}
        if hours:
            text += " " + ngettext("%(count)d h", "%(count)d h", hours) % {"count": hours}
        return text
    if hours:
        return ngettext("%(count)d h", "%(count)d h", hours) % {"count": hours}
    minutes = max(rest // 60, 1)
    return ngettext("%(count)d min", "%(count)d min", minutes) % {"count": minutes}


def format_remaining(*, due_at: datetime, now: datetime) -> str:
    """A short text of the time left ("3 d 4 h left") or overdue ("overdue by 2 d")."""
    _check_aware(due_at, "due_at")
    _check_aware(now, "now")
    seconds = int((due_at - now).total_seconds())
    if seconds > 0:
        return _("%(duration)s left") % {"duration": _duration(seconds)}
    if seconds < 0:
        return _("overdue by %(duration)s") % {"duration": _duration(-seconds)}
    return _("due now")
