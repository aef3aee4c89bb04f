"""Lifecycle: one transition (service with guard, permission and audit); the outgoing
requests list of a prosecutor with 1,000 and with 100,000 requests in the database."""

import time

from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.urls import reverse

from contact_points.models import Country
from mla.accounts.services import authority_group
from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.executing import request_acknowledge
from mla.requests.lifecycle.issuing import request_send, request_submit, request_withdraw
from mla.requests.models import Request, RequestGroupObjectPermission
from tests.benchmarks.harness import Harness, Result
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.samples import complete_data

EIO = declaration_for("eio")


def _seed(*, count: int, issuer, executing, user) -> None:
    """Requests of ``issuer`` in bulk, each visible to the issuer's group."""
    permission = Permission.objects.get(
        codename="view_request", content_type__app_label="mla_requests"
    )
    group = authority_group(authority=issuer)
    start = Request.objects.count()
    batch = 5000
    for offset in range(0, count, batch):
        size = min(batch, count - offset)
        rows = Request.objects.bulk_create(
            [
                Request(
                    reference=f"BENCH-{start + offset + n:07d}",
                    declaration_code="eio",
                    issuing_authority=issuer,
                    executing_country=executing,
                    created_by=user,
                )
                for n in range(size)
            ]
        )
        RequestGroupObjectPermission.objects.bulk_create(
            [
                RequestGroupObjectPermission(group=group, permission=permission, content_object=r)
                for r in rows
            ]
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def run(harness: Harness) -> None:
    france = Country.objects.filter(code="FR").first() or CountryFactory(code="FR", name="France")
    germany = Country.objects.filter(code="DE").first() or CountryFactory(code="DE", name="Germany")
    issuer = AuthorityFactory(identifier="bench-lc-paris", country=france, kind="prosecutor")
    other = AuthorityFactory(identifier="bench-lc-lyon", country=france, kind="prosecutor")
    user = UserFactory(authority=issuer, roles=["prosecutor"])
    other_user = UserFactory(authority=other, roles=["prosecutor"])

    # One transition: submit of a complete draft (guard, permission, save, audit entry).
    timings = []
    for _ in range(15):
        draft = request_create(actor=user, declaration_code="eio", executing_country=germany)
        draft.data = complete_data(EIO)
        draft.data["K"]["issuer_type"] = "prosecutor"
        draft.data.pop("L")
        draft.save()
        started = time.perf_counter()
        request_submit(request=draft, actor=user)
        timings.append((time.perf_counter() - started) * 1000)
        request_withdraw(request=draft, actor=user)
    timings.sort()
    harness.record(Result("one transition (submit: guard + permission + audit)", timings[7], 15))

    # The path after it: sending to an authority hosted here (its copy created, both audited,
    # both deadlines computed) and the executing side's acknowledgement moving both copies.
    receiver = AuthorityFactory(
        identifier="bench-lc-berlin", country=germany, kind="prosecutor", instruments=["eio"]
    )
    staff = UserFactory(authority=receiver, roles=["contact_point_staff"])
    sends, acknowledgements = [], []
    for _ in range(15):
        draft = request_create(
            actor=user,
            declaration_code="eio",
            executing_country=germany,
            executing_authority=receiver,
        )
        draft.data = complete_data(EIO)
        draft.data["K"]["issuer_type"] = "prosecutor"
        draft.data.pop("L")
        draft.save()
        request_submit(request=draft, actor=user)
        started = time.perf_counter()
        request_send(request=draft, actor=user)
        sends.append((time.perf_counter() - started) * 1000)
        incoming = Request.objects.get(pk=draft.counterpart_id)
        started = time.perf_counter()
        request_acknowledge(request=incoming, actor=staff)
        acknowledgements.append((time.perf_counter() - started) * 1000)
    sends.sort()
    acknowledgements.sort()
    harness.record(Result("send, delivered to an authority on this node", sends[7], 15))
    harness.record(
        Result("acknowledge (executing side; both copies, deadlines)", acknowledgements[7], 15)
    )

    client = Client()
    client.force_login(user)
    url = reverse("requests:list")

    def page() -> None:
        assert client.get(url).status_code == 200

    # Another authority's requests are in the database too: the filter must not scan them.
    _seed(count=1_000, issuer=issuer, executing=germany, user=user)
    _seed(count=1_000, issuer=other, executing=germany, user=other_user)
    small = harness.measure("outgoing list, 1,000 requests", page, runs=20)
    _seed(count=99_000, issuer=issuer, executing=germany, user=user)
    large = harness.measure(
        "outgoing list, 100,000 requests", page, runs=20, target="< 50 ms, same queries"
    )
    large.note = f"queries {small.queries} at 1,000 and {large.queries} at 100,000"
    import os

    # BENCH_EXPLAIN=1 prints the plan of the slowest query of the list at 100,000 requests.
    if os.environ.get("BENCH_EXPLAIN"):
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            page()
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + slowest["sql"])
            print("\n".join(row[0] for row in cursor.fetchall()))
