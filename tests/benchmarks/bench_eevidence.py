"""e-Evidence (Regulation (EU) 2023/1543): issuing an EPOC for traffic data on this node
(sending it to the provider's establishment and notifying the enforcing authority, Art. 8)
beside sending an EIO; and a provider's queue with 1,000 and with 100,000 certificates
(median, queries: the same at both sizes)."""

import os
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contact_points.models import Country
from mla.demo.seeding import SeedPlan, requests_seed
from mla.instruments import eevidence
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.issuing import request_send, request_submit, request_validate
from mla.requests.models import Request
from tests.benchmarks.harness import Harness, Result
from tests.support.factories import (
    AuthorityFactory,
    CountryFactory,
    ServiceProviderFactory,
    UserFactory,
)
from tests.support.journeys import ready_eio
from tests.support.samples import certificate_data

FILTERS = {
    "default order": {},
    "instrument epoc": {"instrument": "epoc"},
    "state received": {"state": "received"},
    "overdue": {"overdue": "1"},
}


def _bound(code: str, name: str) -> Country:
    country = Country.objects.filter(code=code).first() or CountryFactory(code=code, name=name)
    country.eevidence_bound = True
    country.eio_bound = True
    country.save()
    return country


def run(harness: Harness) -> None:
    france, germany = _bound("FR", "France"), _bound("DE", "Germany")
    paris = AuthorityFactory(identifier="bench-ee-paris", country=france, kind="prosecutor")
    judges = AuthorityFactory(
        identifier="bench-ee-judge", country=france, kind="investigating_judge"
    )
    provider = ServiceProviderFactory(identifier="bench-ee-provider", country=germany)
    enforcing = AuthorityFactory(
        identifier="bench-ee-enforcing",
        country=germany,
        kind="central_authority",
        instruments=[eevidence.EPOC_NOTIFICATION],
    )
    berlin = AuthorityFactory(
        identifier="bench-ee-berlin", country=germany, kind="prosecutor", instruments=["eio"]
    )
    prosecutor = UserFactory(authority=paris, roles=["prosecutor"])
    judge = UserFactory(authority=judges, roles=["validating_authority"])
    staff = [UserFactory(authority=provider, roles=["provider_staff"]) for _ in range(4)]
    # Each receiver works on this node, so every send below delivers its copies here.
    UserFactory(authority=enforcing, roles=["central_authority_staff"])
    UserFactory(authority=berlin, roles=["contact_point_staff"])

    # Issuing: the send of a validated EPOC for traffic data (its provider's copy and the
    # enforcing authority's notification made and delivered here, all audited, deadlines
    # computed), beside the send of an EIO to an authority on this node; measured again once
    # the provider holds 100,000 certificates (same queries at both sizes).
    def sends(size_label: str) -> None:
        epoc_sends, epoc_queries, eio_sends, eio_queries = [], [], [], []
        for _ in range(15):
            draft = request_create(
                actor=prosecutor,
                declaration_code=eevidence.EPOC,
                executing_country=germany,
                executing_authority=provider,
            )
            draft.data = certificate_data(eevidence.EPOC, categories=(eevidence.TRAFFIC,))
            draft.save()
            request_submit(request=draft, actor=prosecutor, validating_authority=judges)
            request_validate(request=draft, actor=judge)
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as captured:
                request_send(request=draft, actor=prosecutor)
            epoc_sends.append((time.perf_counter() - started) * 1000)
            epoc_queries.append(len(captured.captured_queries))
            eio = ready_eio(prosecutor=prosecutor, country=germany, authority=berlin)
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as captured:
                request_send(request=eio, actor=prosecutor)
            eio_sends.append((time.perf_counter() - started) * 1000)
            eio_queries.append(len(captured.captured_queries))
        epoc_sends.sort()
        eio_sends.sort()
        harness.record(
            Result(
                f"send an EPOC for traffic data, {size_label} certificates held",
                epoc_sends[7],
                15,
                note=(
                    f"{sorted(epoc_queries)[7]} queries; an EIO's send: {eio_sends[7]:.1f} ms, "
                    f"{sorted(eio_queries)[7]} queries"
                ),
            )
        )

    # The provider's queue.
    client = Client()
    client.force_login(staff[0])
    url = reverse("requests:queue")
    large_count = int(os.environ.get("BENCH_EEVIDENCE_ROWS", "100000"))

    def measure(size_label: str) -> dict[str, Result]:
        results = {}
        for name, params in FILTERS.items():

            def page(params: dict[str, str] = params) -> None:
                assert client.get(url, params).status_code == 200

            results[name] = harness.measure(
                f"provider's queue, {size_label} certificates: {name}",
                page,
                runs=15,
                target="< 50 ms, same queries" if size_label != "1,000" else "",
            )
        return results

    plan = SeedPlan(
        receiver=provider,
        issuers=[paris],
        staff=staff,
        count=1_000,
        prefix="EPOC-SEED",
        codes=(eevidence.EPOC, eevidence.EPOC_PR),
    )
    requests_seed(plan=plan)
    sends("1,000")
    small = measure("1,000")
    requests_seed(plan=SeedPlan(**{**plan.__dict__, "count": large_count - 1_000}))
    seeded = Request.objects.filter(executing_authority=provider, reference__startswith="EPOC-SEED")
    assert seeded.count() == large_count
    large = measure(f"{large_count:,}")
    sends(f"{large_count:,}")
    for name in FILTERS:
        large[name].note = f"queries {small[name].queries} at 1,000, {large[name].queries} here"
