import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mla.requests.deadlines.store import PENDING_STATES, deadlines_refresh
from mla.requests.lifecycle.executing import request_acknowledge
from mla.requests.models import Deadline, Request

pytestmark = pytest.mark.django_db


def _writes(queries: CaptureQueriesContext, table: str) -> list[str]:
    return [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith(("INSERT", "UPDATE", "DELETE")) and f'"{table}"' in query["sql"]
    ]


def test_a_received_copy_gets_its_deadlines_and_next_due_with_one_write_of_its_row(
    ready_eio, prosecutor, berlin_staff
):
    from mla.requests.lifecycle.issuing import request_send

    with CaptureQueriesContext(connection) as queries:
        request_send(request=ready_eio, actor=prosecutor)
    incoming = Request.objects.get(pk=ready_eio.counterpart_id)

    deadlines = list(incoming.deadlines.all())
    assert {row.code for row in deadlines} >= {"acknowledgement", "recognition"}
    pending = [row.due_at for row in deadlines if row.state in PENDING_STATES]
    assert incoming.next_due_at == min(pending)
    # Its INSERT carried the next due instant and the derived columns.
    this_row = re.compile(rf'"mla_requests_request"\."id" = {incoming.pk}\b')
    copy_updates = [
        sql.split(" WHERE ")[0]
        for sql in _writes(queries, "mla_requests_request")
        if sql.startswith("UPDATE") and this_row.search(sql)
    ]
    # The only later write of the copy's row is its link to the issuing copy.
    assert [sql.split(" SET ")[1] for sql in copy_updates] == [f'"counterpart_id" = {ready_eio.pk}']


def test_a_refresh_writes_only_the_deadlines_whose_values_changed(sent_eio, berlin_staff):
    _issuing, incoming = sent_eio
    before = {row.code: row for row in incoming.deadlines.all()}

    with CaptureQueriesContext(connection) as queries:
        deadlines_refresh(request=incoming, now=timezone.now() + timedelta(minutes=1))

    assert _writes(queries, "mla_requests_deadline") == []
    assert {row.code: row.computed_at for row in incoming.deadlines.all()} == {
        code: row.computed_at for code, row in before.items()
    }

    request_acknowledge(request=incoming, actor=berlin_staff)

    after = {row.code: row for row in incoming.deadlines.all()}
    acknowledged = after["acknowledgement"]
    assert acknowledged.state == "met"
    assert acknowledged.computed_at > before["acknowledgement"].computed_at
    for code, row in after.items():
        unchanged = [getattr(row, name) for name in ("due_at", "state", "met_at", "late")] == [
            getattr(before[code], name) for name in ("due_at", "state", "met_at", "late")
        ]
        if unchanged:
            assert row.computed_at == before[code].computed_at, code
    assert Deadline.objects.filter(request=incoming).count() == len(before)
