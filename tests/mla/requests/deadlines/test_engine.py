"""The deadline engine: pure, from the real declarations and a list of lifecycle events."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mla.core.errors import ApplicationError
from mla.instruments.declarations import DECLARATIONS, declaration_for
from mla.requests.deadlines.engine import (
    EVENT_KINDS,
    MET_BY,
    ComputedDeadline,
    DeadlineState,
    LifecycleEvent,
    deadline_schedule,
    format_remaining,
    in_zone,
)
from tests.support.samples import complete_data

EIO = declaration_for("eio")
PRESERVATION = declaration_for("preservation")
MLA = declaration_for("mla")
PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"
# Winter: no daylight-saving change in Paris within 60 days of this.
RECEIVED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def day(number: float, *, hours: float = 0) -> datetime:
    return RECEIVED + timedelta(days=number, hours=hours)


def event(kind: str, at: datetime, **payload: object) -> LifecycleEvent:
    return LifecycleEvent(kind=kind, at=at, payload=payload)


def eio_data(*, provisional: bool = False, requested_date: str = "") -> dict:
    data = complete_data(EIO)
    if provisional:
        data["C"]["measures"] = [*data["C"]["measures"], "provisional_measures"]
    data["B"]["requested_date"] = requested_date
    return data


def schedule(
    events: list[LifecycleEvent],
    *,
    now: datetime,
    declaration=EIO,
    data: dict | None = None,
    zone: str = PARIS,
) -> dict[str, ComputedDeadline]:
    if data is None:
        data = eio_data() if declaration is EIO else complete_data(declaration)
    deadlines = deadline_schedule(
        declaration=declaration, data=data, events=events, zone=zone, now=now
    )
    return {deadline.code: deadline for deadline in deadlines}


def test_the_eio_provisional_measures_deadline_applies_only_when_asked():
    rule = next(rule for rule in EIO.deadlines if rule.code == "provisional_measures")

    assert rule.applies_when is not None
    assert rule.applies_when.field == "C.measures"
    assert rule.applies_when.values == ("provisional_measures",)
    assert all(r.applies_when is None for r in EIO.deadlines if r is not rule)


@pytest.mark.parametrize("declaration", DECLARATIONS.values(), ids=lambda d: d.code)
def test_every_declared_deadline_is_known_to_the_engine(declaration):
    for rule in declaration.deadlines:
        assert rule.code in MET_BY
        assert rule.starts_at in EVENT_KINDS or "." in rule.starts_at
    preservations = ("preservation", "epoc_pr")
    start = "preserved" if declaration.directory_instrument in preservations else "received"
    events = [event("received", day(0)), event(start, day(0))]
    deadlines = deadline_schedule(
        declaration=declaration,
        data=complete_data(declaration),
        events=events,
        zone=PARIS,
        now=day(1),
    )

    assert deadlines
    assert {d.state for d in deadlines} == {DeadlineState.RUNNING}


def test_no_deadline_before_its_start_event():
    assert schedule([], now=day(1)) == {}
    assert set(schedule([event("received", day(0))], now=day(1))) == {
        "acknowledgement",
        "recognition",
    }


# (events as (kind, day, payload), now as a day, the deadline, its state, late, met on day)
EIO_TABLE = [
    ("ack-on-day-3", [("acknowledged", 3, {})], 10, "acknowledgement", "met", False, 3),
    ("ack-late", [("acknowledged", 8, {})], 10, "acknowledgement", "met", True, 8),
    ("ack-never", [], 8, "acknowledgement", "missed", True, None),
    ("ack-due-exactly-now", [], 7, "acknowledgement", "running", False, None),
    ("recognised-day-20", [("recognised", 20, {})], 25, "recognition", "met", False, 20),
    ("recognition-running", [], 29, "recognition", "running", False, None),
    ("recognition-missed", [], 31, "recognition", "missed", True, None),
    ("recognised-late", [("recognised", 33, {})], 40, "recognition", "met", True, 33),
    (
        "extended-open",
        [("recognition_extended", 25, {"days": 20, "reason": "Hearing abroad"})],
        35,
        "recognition",
        "extended",
        False,
        None,
    ),
    (
        "extended-then-missed",
        [("recognition_extended", 25, {"days": 20, "reason": "Hearing abroad"})],
        51,
        "recognition",
        "missed",
        True,
        None,
    ),
    (
        "extended-then-met",
        [
            ("recognition_extended", 25, {"days": 20, "reason": "Hearing abroad"}),
            ("recognised", 45, {}),
        ],
        60,
        "recognition",
        "met",
        False,
        45,
    ),
    ("executed-meets-recognition", [("executed", 12, {})], 40, "recognition", "met", False, 12),
    ("refused-is-a-decision", [("refused", 12, {})], 40, "recognition", "met", False, 12),
    ("refusal-cancels-ack", [("refused", 5, {})], 40, "acknowledgement", "cancelled", False, None),
    ("withdrawal-cancels", [("withdrawn", 5, {})], 40, "recognition", "cancelled", False, None),
    ("forward-cancels", [("forwarded", 5, {})], 40, "acknowledgement", "cancelled", False, None),
    # Already missed when withdrawn: the record keeps the miss.
    ("missed-stays-missed", [("withdrawn", 9, {})], 40, "acknowledgement", "missed", True, None),
]


@pytest.mark.parametrize(
    ("events", "now", "code", "state", "late", "met_on"),
    [row[1:] for row in EIO_TABLE],
    ids=[row[0] for row in EIO_TABLE],
)
def test_eio_deadlines_table(events, now, code, state, late, met_on):
    all_events = [event("received", day(0))]
    all_events += [event(kind, day(number), **payload) for kind, number, payload in events]

    deadline = schedule(all_events, now=day(now))[code]

    assert (deadline.state, deadline.late) == (state, late)
    assert deadline.met_at == (day(met_on) if met_on is not None else None)


def test_acknowledgement_and_recognition_count_calendar_days_from_receipt():
    deadlines = schedule([event("received", day(0))], now=day(1))

    assert deadlines["acknowledgement"].starts_at == RECEIVED
    assert deadlines["acknowledgement"].due_at == day(7)
    assert deadlines["recognition"].due_at == day(30)
    assert deadlines["recognition"].source.endswith("Art. 12(3)")
    assert deadlines["recognition"].label == "eio.deadline.recognition"
    assert deadlines["recognition"].due_at.tzinfo is UTC


def test_a_recognition_extension_adds_its_days_and_keeps_the_reason():
    events = [
        event("received", day(0)),
        event("recognition_extended", day(25), days=20, reason="Hearing abroad"),
    ]

    recognition = schedule(events, now=day(35))["recognition"]

    assert recognition.due_at == day(50)
    assert (recognition.extended_days, recognition.extension_reason) == (20, "Hearing abroad")


def test_the_recognition_time_limit_is_extended_once_only():
    events = [
        event("received", day(0)),
        event("recognition_extended", day(25), days=10, reason="Expert needed"),
        event("recognition_extended", day(34), days=5, reason="Still waiting"),
    ]

    with pytest.raises(ApplicationError, match="already extended"):
        schedule(events, now=day(35))


@pytest.mark.parametrize(
    "payload",
    [
        {"days": 0, "reason": "x"},
        {"days": 31, "reason": "x"},
        {"days": True, "reason": "x"},
        {"days": "10", "reason": "x"},
        {"days": 10, "reason": "  "},
        {"days": 10},
    ],
)
def test_a_recognition_extension_needs_1_to_30_days_and_a_reason(payload):
    events = [event("received", day(0)), event("recognition_extended", day(5), **payload)]

    with pytest.raises(ApplicationError):
        schedule(events, now=day(6))


@pytest.mark.parametrize(
    "history",
    [
        [],  # not received yet
        [("received", 0), ("recognised", 10)],  # already decided
        [("received", 0), ("withdrawn", 10)],
        [("received", 0)],  # already overdue on day 31
    ],
    ids=["not-received", "decided", "withdrawn", "overdue"],
)
def test_only_a_running_recognition_deadline_may_be_extended(history):
    events = [event(kind, day(number)) for kind, number in history]
    events.append(event("recognition_extended", day(31), days=10, reason="Expert needed"))

    with pytest.raises(ApplicationError, match="no running time limit"):
        schedule(events, now=day(32))


def test_an_mla_request_has_no_recognition_deadline_to_extend():
    events = [
        event("received", day(0)),
        event("recognition_extended", day(5), days=10, reason="Expert needed"),
    ]

    with pytest.raises(ApplicationError):
        schedule(events, now=day(6), declaration=MLA)


def test_execution_counts_90_days_from_recognition():
    events = [event("received", day(0))]
    assert "execution" not in schedule(events, now=day(10))

    events.append(event("recognised", day(10)))
    execution = schedule(events, now=day(11))["execution"]

    # 2026-01-15 10:00 in Paris (winter) + 90 days = 2026-04-15 10:00 in Paris (summer).
    assert execution.starts_at == day(10)
    assert in_zone(execution.due_at, PARIS).replace(tzinfo=None) == datetime(2026, 4, 15, 10, 0)
    assert execution.due_at == datetime(2026, 4, 15, 8, 0, tzinfo=UTC)
    assert execution.due_at - execution.starts_at == timedelta(days=90, hours=-1)
    assert execution.state == "running"

    events.append(event("executed", day(80)))
    execution = schedule(events, now=day(120))["execution"]
    assert (execution.state, execution.met_at, execution.late) == ("met", day(80), False)


def test_partial_execution_also_meets_execution():
    events = [
        event("received", day(0)),
        event("recognised", day(10)),
        event("partially_executed", day(120)),
    ]

    execution = schedule(events, now=day(130))["execution"]

    assert (execution.state, execution.late) == ("met", True)


def test_a_request_for_information_moves_recognition_by_exactly_the_paused_time():
    received = [event("received", day(0))]
    base = schedule(received, now=day(1))
    asked = [*received, event("info_requested", day(10))]

    during = schedule(asked, now=day(12))
    recognition = during["recognition"]
    assert recognition.state == "suspended"
    assert recognition.suspended_since == day(10)
    # While suspended: the due instant at the suspension plus the pause so far.
    assert recognition.paused == timedelta(days=2)
    assert recognition.due_at == base["recognition"].due_at + timedelta(days=2)
    # Acknowledgement is not held by the request for information: missed on day 8.
    assert during["acknowledgement"].state == "missed"
    assert during["acknowledgement"].due_at == base["acknowledgement"].due_at
    assert during["acknowledgement"].paused == timedelta()

    answered = [*asked, event("info_answered", day(15, hours=6))]
    after = schedule(answered, now=day(20))["recognition"]
    assert after.state == "running"
    assert after.suspended_since is None
    assert after.paused == timedelta(days=5, hours=6)
    assert after.due_at == base["recognition"].due_at + timedelta(days=5, hours=6)

    # Without the pause it would be missed on day 33; with it, not before day 35 6 h.
    assert schedule(answered, now=day(34))["recognition"].state == "running"
    assert schedule(answered, now=day(35, hours=7))["recognition"].state == "missed"


def test_a_suspended_deadline_is_never_missed_while_suspended():
    events = [event("received", day(0)), event("info_requested", day(10))]

    recognition = schedule(events, now=day(100))["recognition"]

    assert (recognition.state, recognition.late) == ("suspended", False)
    assert recognition.due_at == day(120)


def test_a_request_for_information_also_holds_execution():
    events = [
        event("received", day(0)),
        event("recognised", day(10)),
        event("info_requested", day(20)),
        event("info_answered", day(23)),
    ]

    execution = schedule(events, now=day(30))["execution"]

    assert execution.paused == timedelta(days=3)
    assert execution.due_at == datetime(2026, 4, 18, 8, 0, tzinfo=UTC)


def test_postponement_pauses_execution_only():
    events = [
        event("received", day(0)),
        event("acknowledged", day(1)),
        event("recognised", day(10)),
        event("postponed", day(20)),
    ]
    base_due = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)

    during = schedule(events, now=day(25))
    assert during["execution"].state == "suspended"
    assert during["execution"].suspended_since == day(20)
    assert during["recognition"].state == "met"

    events.append(event("resumed", day(50)))
    execution = schedule(events, now=day(60))["execution"]
    assert execution.state == "running"
    assert execution.paused == timedelta(days=30)
    assert execution.due_at == base_due + timedelta(days=30)


def test_overlapping_suspensions_resume_when_the_last_one_ends():
    events = [
        event("received", day(0)),
        event("recognised", day(10)),
        event("postponed", day(20)),
        event("info_requested", day(25)),
        event("resumed", day(30)),
    ]

    assert schedule(events, now=day(31))["execution"].state == "suspended"

    events.append(event("info_answered", day(40)))
    execution = schedule(events, now=day(41))["execution"]
    assert execution.state == "running"
    assert execution.paused == timedelta(days=20)


def test_provisional_measures_only_when_the_eio_asks_for_them():
    events = [event("received", day(0))]

    assert "provisional_measures" not in schedule(events, now=day(0, hours=1))

    deadline = schedule(events, now=day(0, hours=1), data=eio_data(provisional=True))[
        "provisional_measures"
    ]
    assert deadline.due_at == day(0, hours=24)
    assert deadline.state == "running"


@pytest.mark.parametrize(
    ("kind", "hours", "state", "late"),
    [
        ("provisional_decided", 20, "met", False),
        ("provisional_decided", 30, "met", True),
        ("recognised", 10, "met", False),
        ("refused", 10, "met", False),
    ],
)
def test_provisional_measures_are_met_by_a_decision(kind, hours, state, late):
    events = [event("received", day(0)), event(kind, day(0, hours=hours))]

    deadline = schedule(events, now=day(3), data=eio_data(provisional=True))["provisional_measures"]

    assert (deadline.state, deadline.late) == (state, late)


def test_provisional_measures_missed_after_24_hours():
    events = [event("received", day(0))]

    deadline = schedule(events, now=day(0, hours=25), data=eio_data(provisional=True))

    assert deadline["provisional_measures"].state == "missed"


def test_the_24_hours_are_elapsed_time_across_the_daylight_saving_night():
    # 2026-10-24 12:00 in Paris (summer); clocks go back in the night of 24 to 25 October.
    received = datetime(2026, 10, 24, 10, 0, tzinfo=UTC)
    events = [event("received", received)]

    deadline = schedule(events, now=received, data=eio_data(provisional=True))[
        "provisional_measures"
    ]

    assert deadline.due_at - received == timedelta(hours=24)
    assert in_zone(deadline.due_at, PARIS).replace(tzinfo=None) == datetime(2026, 10, 25, 11, 0)


def test_a_requested_date_is_due_at_the_end_of_that_day_in_the_zone():
    data = eio_data(requested_date="2026-01-20")
    events = [event("received", day(0))]

    assert "requested_date" not in schedule([], now=day(0), data=data)
    paris = schedule(events, now=day(1), data=data)["requested_date"]
    new_york = schedule(events, now=day(1), data=data, zone=NEW_YORK)["requested_date"]

    assert paris.starts_at is None
    assert paris.due_at == datetime(2026, 1, 20, 23, 0, tzinfo=UTC)  # midnight CET
    assert new_york.due_at == datetime(2026, 1, 21, 5, 0, tzinfo=UTC)  # midnight EST
    assert paris.source.startswith("Directive 2014/41/EU, Art. 12(2)")

    executed = schedule([*events, event("executed", day(14))], now=day(20), data=data)
    assert (executed["requested_date"].state, executed["requested_date"].late) == ("met", False)
    late = schedule([*events, event("executed", day(16))], now=day(20), data=data)
    assert (late["requested_date"].state, late["requested_date"].late) == ("met", True)
    missed = schedule(events, now=day(16), data=data)
    assert missed["requested_date"].state == "missed"


def test_a_requested_date_is_not_paused_by_a_request_for_information():
    data = eio_data(requested_date="2026-01-20")
    events = [event("received", day(0)), event("info_requested", day(2))]

    deadline = schedule(events, now=day(3), data=data)["requested_date"]

    assert (deadline.state, deadline.paused) == ("running", timedelta())


@pytest.mark.parametrize("value", ["", "not a date", "2026-02-30", None])
def test_no_requested_date_deadline_without_a_valid_date(value):
    data = eio_data()
    data["B"]["requested_date"] = value

    assert "requested_date" not in schedule([event("received", day(0))], now=day(1), data=data)


def test_an_mla_request_tracks_its_requested_date():
    data = complete_data(MLA)
    data["11"]["requested_date"] = "2026-02-01"

    (deadline,) = deadline_schedule(
        declaration=MLA, data=data, events=[event("received", day(0))], zone=PARIS, now=day(1)
    )

    assert deadline.code == "requested_date"
    assert deadline.due_at == datetime(2026, 2, 1, 23, 0, tzinfo=UTC)


def test_refusal_meets_recognition_and_cancels_execution_and_the_rest():
    events = [
        event("received", day(0)),
        event("acknowledged", day(1)),
        event("recognised", day(10)),
        event("refused", day(15)),
    ]
    data = eio_data(requested_date="2026-03-01")

    deadlines = schedule(events, now=day(200), data=data)

    assert {code: d.state for code, d in deadlines.items()} == {
        "acknowledgement": "met",
        "recognition": "met",
        "execution": "cancelled",
        "requested_date": "cancelled",
    }
    assert not any(d.late for d in deadlines.values())


def test_withdrawal_cancels_every_open_deadline():
    events = [
        event("received", day(0)),
        event("acknowledged", day(1)),
        event("recognised", day(2)),
        event("postponed", day(5)),
        event("withdrawn", day(6)),
    ]
    data = eio_data(provisional=True, requested_date="2026-03-01")

    deadlines = schedule(events, now=day(200), data=data)

    assert {code: d.state for code, d in deadlines.items()} == {
        "acknowledgement": "met",
        "recognition": "met",
        "execution": "cancelled",
        "provisional_measures": "met",
        "requested_date": "cancelled",
    }
    # The suspension ended with the cancellation: its pause is credited, then frozen.
    assert deadlines["execution"].suspended_since is None
    assert deadlines["execution"].paused == timedelta(days=1)
    # Later events do not reopen a cancelled deadline.
    later = schedule([*events, event("executed", day(50))], now=day(200), data=data)
    assert later["execution"].state == "cancelled"


def test_a_forwarded_request_counts_again_from_its_last_receipt():
    events = [
        event("received", day(0)),
        event("forwarded", day(3)),
        event("received", day(4)),
    ]

    deadlines = schedule(events, now=day(5))

    assert deadlines["acknowledgement"].state == "running"
    assert deadlines["acknowledgement"].starts_at == day(4)
    assert deadlines["acknowledgement"].due_at == day(11)
    assert deadlines["recognition"].due_at == day(34)


def test_events_are_taken_in_time_order():
    events = [
        event("acknowledged", day(3)),
        event("received", day(0)),
    ]

    assert schedule(events, now=day(10))["acknowledgement"].state == "met"


def test_an_unknown_event_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="recieved"):
        schedule([event("recieved", day(0))], now=day(1))


def test_naive_date_times_and_unknown_zones_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule([event("received", datetime(2026, 1, 5, 9, 0))], now=day(1))
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule([], now=datetime(2026, 1, 5, 9, 0))
    with pytest.raises(ValueError, match="Mars/Olympus"):
        schedule([], now=day(1), zone="Mars/Olympus")


# Daylight saving: days are calendar days in the executing authority's zone.


def test_autumn_change_a_week_is_seven_days_and_one_hour():
    received = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)  # 10:00 in Paris (CEST)

    ack = schedule([event("received", received)], now=received)["acknowledgement"]

    assert ack.due_at == datetime(2026, 10, 27, 9, 0, tzinfo=UTC)  # 10:00 in Paris (CET)
    assert in_zone(ack.due_at, PARIS).replace(tzinfo=None) == datetime(2026, 10, 27, 10, 0)
    assert ack.due_at - received == timedelta(days=7, hours=1)


def test_spring_change_a_week_is_seven_days_less_one_hour():
    received = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)  # 10:00 in Paris (CET)

    ack = schedule([event("received", received)], now=received)["acknowledgement"]

    assert ack.due_at == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)  # 10:00 in Paris (CEST)
    assert ack.due_at - received == timedelta(days=6, hours=23)


def test_a_due_instant_is_the_same_instant_seen_from_another_zone():
    received = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
    ack = schedule([event("received", received)], now=received)["acknowledgement"]

    in_paris = in_zone(ack.due_at, PARIS)
    in_new_york = in_zone(ack.due_at, NEW_YORK)

    assert in_paris.hour == 10
    assert in_new_york.hour == 5  # New York is still on summer time until 1 November
    assert in_paris == in_new_york == ack.due_at


def test_the_executing_authority_zone_decides_the_calendar():
    # The same receipt counted by an authority in New York: no change there that week,
    # so the week is exactly 7 x 24 hours, unlike in Paris.
    received = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)

    ack = schedule([event("received", received)], now=received, zone=NEW_YORK)["acknowledgement"]

    assert ack.due_at == datetime(2026, 10, 27, 8, 0, tzinfo=UTC)
    assert in_zone(ack.due_at, NEW_YORK).replace(tzinfo=None) == datetime(2026, 10, 27, 4, 0)


def test_a_wall_clock_time_that_does_not_exist_is_read_before_the_change():
    # 02:30 on 29 March 2026 does not exist in Paris: read with the winter offset.
    received = datetime(2026, 3, 22, 1, 30, tzinfo=UTC)  # 02:30 CET

    ack = schedule([event("received", received)], now=received)["acknowledgement"]

    assert ack.due_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # shown as 03:30 CEST


def test_a_wall_clock_time_that_happens_twice_is_its_first_occurrence():
    # 02:30 on 25 October 2026 happens twice in Paris: the first one, in summer time.
    received = datetime(2026, 10, 18, 0, 30, tzinfo=UTC)  # 02:30 CEST

    ack = schedule([event("received", received)], now=received)["acknowledgement"]

    assert ack.due_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


# Preservation (Budapest Convention, Art. 29(7)).


def preserve(*later: LifecycleEvent, now: datetime) -> ComputedDeadline:
    events = [event("received", day(0)), event("preserved", day(0)), *later]
    return schedule(events, now=now, declaration=PRESERVATION)["preservation"]


def test_preservation_lasts_60_days():
    running = preserve(now=day(30))

    assert (running.due_at, running.state) == (day(60), "running")


def test_preservation_extended_twice_followed_up_then_decided():
    first = event("preservation_extended", day(40), days=30, reason="Request being drafted")
    second = event("preservation_extended", day(80), days=15, reason="Translation")

    extended = preserve(first, second, now=day(85))
    assert extended.state == "extended"
    # 105 calendar days in Paris, past the spring change: 10:00 there, one hour less elapsed.
    assert in_zone(extended.due_at, PARIS).replace(tzinfo=None) == datetime(2026, 4, 20, 10, 0)
    assert extended.due_at == day(105, hours=-1)
    assert extended.extended_days == 45
    assert extended.extension_reason == "Request being drafted; Translation"

    followed = event("followed_up", day(100))
    suspended = preserve(first, second, followed, now=day(300))
    assert suspended.state == "suspended"
    assert suspended.suspended_since == day(100)
    assert suspended.late is False

    decided = preserve(first, second, followed, event("follow_up_decided", day(400)), now=day(500))
    assert (decided.state, decided.met_at, decided.late) == ("met", day(400), False)
    assert decided.paused == timedelta(days=300)
    assert decided.suspended_since is None


def test_preservation_lapses_without_a_follow_up():
    assert preserve(now=day(61)).state == "missed"

    lapsed = preserve(event("expired", day(61)), now=day(70))
    assert (lapsed.state, lapsed.late, lapsed.met_at) == ("missed", True, None)


def test_preservation_that_expires_after_a_follow_up_is_met():
    expired = preserve(event("followed_up", day(50)), event("expired", day(90)), now=day(100))

    assert (expired.state, expired.met_at, expired.late) == ("met", day(90), False)


@pytest.mark.parametrize(
    "payload",
    [
        {"days": 0, "reason": "x"},
        {"days": 10, "reason": ""},
        # More days than a date can hold: refused with a reason, never an overflow.
        {"days": 10**12, "reason": "x"},
        {"days": 3651, "reason": "x"},
    ],
)
def test_a_preservation_extension_needs_days_and_a_reason(payload):
    with pytest.raises(ApplicationError):
        preserve(event("preservation_extended", day(10), **payload), now=day(11))


def test_preservation_is_not_held_by_a_request_for_information():
    held = preserve(event("info_requested", day(10)), now=day(20))

    assert (held.state, held.paused) == ("running", timedelta())


# Display helpers.


@pytest.mark.parametrize(
    ("remaining", "text"),
    [
        (timedelta(days=3, hours=4, minutes=20), "3 d 4 h left"),
        (timedelta(days=3), "3 d left"),
        (timedelta(hours=5, minutes=59), "5 h left"),
        (timedelta(minutes=45), "45 min left"),
        (timedelta(seconds=20), "1 min left"),
        (timedelta(), "due now"),
        (-timedelta(days=2, minutes=5), "overdue by 2 d"),
        (-timedelta(hours=3), "overdue by 3 h"),
    ],
)
def test_format_remaining(remaining, text):
    now = day(0)

    assert format_remaining(due_at=now + remaining, now=now) == text


def test_in_zone_gives_the_wall_clock_time():
    moment = in_zone(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), PARIS)

    assert moment.tzinfo == ZoneInfo(PARIS)
    assert (moment.hour, moment.utcoffset()) == (14, timedelta(hours=2))


def test_deadline_states_are_translatable_choices():
    assert DeadlineState.values == [
        "running",
        "met",
        "missed",
        "suspended",
        "extended",
        "cancelled",
    ]
    assert str(DeadlineState.CANCELLED.label) == "Cancelled"
