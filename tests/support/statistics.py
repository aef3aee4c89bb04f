"""Requests for the statistics tests, stored as they would be at a given time (T0 is
2 March 2026, 12:00 UTC), with their deadlines. The data set the tests count against is the
``data`` fixture (tests/support/fixtures/statistics.py)."""

import datetime

from mla.requests.models import Deadline, Request

UTC = datetime.UTC
T0 = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def request_add(reference, *, created_at=None, **fields):
    request = Request.objects.create(reference=reference, **fields)
    if created_at is not None:
        Request.objects.filter(pk=request.pk).update(created_at=created_at)
    return request


def incoming_add(
    reference, *, to, sender, code, received, ack=None, decided=None, closed=None, state, ground=""
):
    return request_add(
        reference,
        direction=Request.Direction.INCOMING,
        declaration_code=code,
        issuing_authority=sender,
        issuing_country_code=sender.country.code,
        executing_authority=to,
        executing_country=to.country,
        state=state,
        received_at=received,
        acknowledged_at=received + ack if ack else None,
        decided_at=received + decided if decided else None,
        closed_at=received + closed if closed else None,
        outcome_ground=ground,
    )


def outgoing_add(reference, *, by, to, code, created, state, ground=""):
    return request_add(
        reference,
        direction=Request.Direction.OUTGOING,
        declaration_code=code,
        issuing_authority=by,
        issuing_country_code=by.country.code,
        executing_authority=to,
        executing_country=to.country,
        state=state,
        outcome_ground=ground,
        created_at=created,
    )


def deadline_add(request, code, state, *, late=False):
    return Deadline.objects.create(
        request=request,
        code=code,
        label=f"eio.deadline.{code}",
        source="test",
        due_at=T0,
        state=state,
        late=late,
        computed_at=T0,
    )
