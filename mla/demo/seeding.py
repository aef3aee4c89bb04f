"""Bulk requests for load tests and benchmarks: a million rows in well under a minute.

On PostgreSQL rows go in with COPY, with the statistics' triggers paused and the rows counted
in the rollups in bulk; elsewhere with bulk_create. The rows are plausible
(received requests spread over urgencies, states, countries, instruments, deadlines near
and far, some taken, some overdue) but carry no structured data: they exist to be listed,
counted and escalated, not opened.
"""

import datetime
import io
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from contact_points.models import Authority
from mla.accounts.models import User
from mla.requests.deadlines.engine import DeadlineState
from mla.requests.models import Deadline, Request
from mla.statistics.services import rollups_compact

OPEN_STATES = (
    Request.State.RECEIVED,
    Request.State.ACKNOWLEDGED,
    Request.State.ASSIGNED,
    Request.State.RECOGNISED,
    Request.State.IN_EXECUTION,
)
CLOSED_STATES = (Request.State.EXECUTED, Request.State.REFUSED, Request.State.WITHDRAWN)
# The issuing side's copies of requests it sent.
SENT_STATES = (
    Request.State.SENT,
    Request.State.DELIVERED,
    Request.State.ACKNOWLEDGED,
    Request.State.IN_EXECUTION,
)
CODES = ("eio", "mla", "preservation")


@dataclass(frozen=True)
class SeedPlan:
    receiver: Authority  # whose queue the requests land in
    issuers: Sequence[Authority]  # requesting authorities, of several countries
    staff: Sequence[User]  # some requests are taken by them
    count: int
    prefix: str = "SEED"
    seed: int = 2026
    # The request types, in turn (e-Evidence certificates for a provider's queue).
    codes: Sequence[str] = CODES
    # Whose copies: the receiver's (its queue), or the issuers' own (their outgoing lists).
    direction: str = Request.Direction.INCOMING


def _rows(plan: SeedPlan, start: int) -> Iterator[tuple[dict[str, object], dict[str, object]]]:
    chance = random.Random(plan.seed + start)  # noqa: S311 - load data, not secrets
    now = timezone.now()
    for n in range(start, start + plan.count):
        issuer = plan.issuers[n % len(plan.issuers)]
        code = plan.codes[n % len(plan.codes)]
        closed = chance.random() < 0.3
        outgoing = plan.direction == Request.Direction.OUTGOING
        state = chance.choice(CLOSED_STATES if closed else SENT_STATES if outgoing else OPEN_STATES)
        received = now - datetime.timedelta(minutes=chance.randint(1, 60 * 24 * 120))
        # Most due in the weeks ahead; a few hundred per million within the next day, and
        # as many overdue: what a queue worked every day looks like.
        roll = chance.random()
        if roll < 0.0003:
            due = now + datetime.timedelta(minutes=chance.randint(1, 60 * 24))
        elif roll < 0.0006:
            due = now - datetime.timedelta(minutes=chance.randint(1, 60 * 24 * 3))
        else:
            due = now + datetime.timedelta(minutes=chance.randint(60 * 24 * 2, 60 * 24 * 120))
        taken = (
            plan.staff[n % len(plan.staff)]
            if plan.staff and not outgoing and chance.random() < 0.4
            else None
        )
        urgency = 0 if code in ("preservation", "epoc_pr") else (1 if chance.random() < 0.15 else 2)
        request = {
            "reference": f"{plan.prefix}-{n:08d}",
            "direction": plan.direction,
            "declaration_code": code,
            "instrument_code": code,
            "issuing_authority_id": issuer.pk,
            "executing_country_id": plan.receiver.country_id,
            "executing_authority_id": plan.receiver.pk,
            "state": state,
            "assignee_id": taken.pk if taken else None,
            "sent_at": received if outgoing else None,
            "received_at": None if outgoing else received,
            "acknowledged_at": received + datetime.timedelta(days=2)
            if state not in ("received", "sent", "delivered")
            else None,
            "closed_at": received + datetime.timedelta(days=40) if closed else None,
            "urgency": urgency,
            "next_due_at": None if closed else due,
            "issuing_country_code": issuer.country_code,
            "created_at": received,
            "updated_at": received,
        }
        deadline = {
            "code": "acknowledgement",
            "label": "eio.deadline.acknowledgement",
            "source": "Directive 2014/41/EU, Art. 16(1), Annex B",
            "starts_at": received,
            "due_at": due,
            "state": DeadlineState.MET if closed else DeadlineState.RUNNING,
            "computed_at": now,
        }
        yield request, deadline


def _defaults(model: type[Request] | type[Deadline]) -> dict[str, object]:
    """Every concrete column's value when the plan does not set it."""
    values: dict[str, object] = {}
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        column = model_field.attname
        if model_field.has_default():
            values[column] = model_field.get_default()
        elif model_field.null:
            values[column] = None
        else:
            values[column] = ""
    return values


def _copy_text(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return "{}"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _statistics_paused(paused: bool) -> None:
    """Pause the triggers that keep the statistics' rollups (mla/statistics/sql/), for this
    transaction: the load counts its rows in bulk instead (_statistics_count), in a fraction
    of the time the triggers take a row at a time."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('mla.statistics_rollup', %s, true)", ["off" if paused else "on"]
        )


def _statistics_count(ids: list[int]) -> None:
    """Count the requests ``ids``, their durations and their deadlines in the rollups, as
    the triggers would have."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT mla_stats_add_requests(%s::bigint[])", [ids])


@transaction.atomic
def requests_seed(*, plan: SeedPlan, batch: int = 50_000) -> int:
    """Add ``plan.count`` requests (received, or sent: ``plan.direction``), each with a
    deadline. Returns the count."""
    if connection.vendor != "postgresql":
        return _seed(plan=plan, batch=batch)
    _statistics_paused(True)
    done = _seed(plan=plan, batch=batch)
    # On an error the rollback undoes the pause too.
    _statistics_paused(False)
    return done


def _seed(*, plan: SeedPlan, batch: int) -> int:
    start = Request.objects.filter(reference__startswith=f"{plan.prefix}-").count()
    request_defaults = _defaults(Request)
    deadline_defaults = _defaults(Deadline)
    request_columns = list(request_defaults)
    deadline_columns = [c for c in deadline_defaults if c != "request_id"]
    rows = _rows(plan, start)
    done = 0
    while done < plan.count:
        chunk = [next(rows) for _ in range(min(batch, plan.count - done))]
        if connection.vendor == "postgresql":
            ids = _copy_requests(chunk, request_defaults, request_columns)
        else:
            created = Request.objects.bulk_create(
                [Request(**{**request_defaults, **request}) for request, _d in chunk]
            )
            ids = [row.pk for row in created]
        Deadline.objects.bulk_create(
            [
                Deadline(
                    request_id=pk,
                    **{c: deadline.get(c, deadline_defaults[c]) for c in deadline_columns},
                )
                for pk, (_r, deadline) in zip(ids, chunk, strict=True)
            ],
            batch_size=10_000,
        )
        if connection.vendor == "postgresql":
            _statistics_count(ids)
        done += len(chunk)
    if connection.vendor == "postgresql":
        # Each batch added rows for the same keys: one per key again.
        rollups_compact()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE mla_requests_request")
            cursor.execute("ANALYZE mla_requests_deadline")
            cursor.execute("ANALYZE mla_requests_stats_requests")
            cursor.execute("ANALYZE mla_requests_stats_deadlines")
            cursor.execute("ANALYZE mla_requests_stats_durations")
    return done


def _copy_requests(
    chunk: list[tuple[dict[str, object], dict[str, object]]],
    defaults: dict[str, object],
    columns: list[str],
) -> list[int]:
    buffer = io.StringIO()
    for request, _deadline in chunk:
        values = {**defaults, **request}
        buffer.write("\t".join(_copy_text(values[c]) for c in columns) + "\n")
    table = Request._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        before = cursor.fetchone()[0]
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        cursor.execute(
            f"SELECT id FROM {table} WHERE id > %s ORDER BY id",  # noqa: S608
            [before],
        )
        return [row[0] for row in cursor.fetchall()]
