"""Requests for the statistics tests, stored as they would be at a given time (T0 is
2 March 2026, 12:00 UTC), with their deadlines. The data set the tests count against is the
``data`` fixture (tests/support/fixtures/statistics.py)."""

import datetime
from collections import Counter

from django.db import connection
from django.db.models import F, Sum

from mla.requests.models import Deadline, Request
from mla.statistics.models import (
    StatisticsDeadlineCount,
    StatisticsDuration,
    StatisticsRequestCount,
)
from mla.statistics.queries import StatisticsFilter

D = datetime.date

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


# The rollups' own view, for the tests of their triggers and their compaction.

FILTERS = [
    StatisticsFilter(),
    StatisticsFilter(direction="incoming"),
    StatisticsFilter(direction="outgoing"),
    StatisticsFilter(instrument="eio"),
    StatisticsFilter(instrument="preservation", direction="incoming"),
    StatisticsFilter(offence="trafficking_human_beings"),
    StatisticsFilter(offence="fraud", direction="incoming"),
    StatisticsFilter(date_from=D(2026, 3, 3), date_to=D(2026, 3, 3)),
    StatisticsFilter(date_from=D(2026, 3, 2)),
    StatisticsFilter(date_to=D(2026, 3, 2)),
    StatisticsFilter(date_from=D(2026, 1, 1), date_to=D(2026, 3, 4), instrument="eio"),
    StatisticsFilter(date_from=D(2026, 3, 3), offence="fraud"),
]


def rollups_counted() -> dict[str, Counter]:
    """Each rollup as key -> count, the rows of a key summed, the keys counting none left out;
    the durations as rows -> how many."""
    found = {}
    for model in (StatisticsRequestCount, StatisticsDeadlineCount):
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in ("id", "n")]
        counted: Counter = Counter()
        for row in model.objects.values_list(*fields, "n"):
            counted[row[:-1]] += row[-1]
        found[model.__name__] = +counted
    fields = [f.attname for f in StatisticsDuration._meta.concrete_fields if f.name != "id"]
    found["StatisticsDuration"] = Counter(StatisticsDuration.objects.values_list(*fields))
    return found


def rollups_assert_kept() -> None:
    kept = rollups_counted()
    for model in (StatisticsRequestCount, StatisticsDeadlineCount, StatisticsDuration):
        model.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT mla_stats_add_requests(NULL)")
    assert kept == rollups_counted()


COUNTS = (StatisticsRequestCount, StatisticsDeadlineCount)


def _key_fields(model):
    return [f.attname for f in model._meta.concrete_fields if f.name not in ("id", "n")]


def rows_split() -> None:
    """Each row in two with the same sum, one of them perhaps counting nothing: what
    writers that found a row of their key taken leave behind."""
    for model in COUNTS:
        rows = list(model.objects.all())
        model.objects.update(n=F("n") - 1)
        for row in rows:
            row.pk, row.n = None, 1
        model.objects.bulk_create(rows)


def keys_counting_something(model) -> int:
    return model.objects.values(*_key_fields(model)).annotate(sum=Sum("n")).exclude(sum=0).count()
