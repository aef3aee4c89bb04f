"""With 1,000 and with 1,000,000 requests in the database (all in one authority's queue, the
worst case): the queue's first page with the default order and with each filter (median,
queries); then, at the larger size, the escalation task and the statistics page (with each
section's selector timed apart in the note: durations include the query that finds their
groups)."""

import os
import statistics
import time
from datetime import date, timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contact_points.models import Authority, Country
from mla.demo.seeding import SeedPlan, requests_seed
from mla.requests.deadlines.escalation import deadlines_escalate
from mla.requests.models import Request
from mla.statistics.queries import (
    BOTH,
    StatisticsFilter,
    statistics_counts,
    statistics_deadlines,
    statistics_durations,
)
from tests.benchmarks.harness import Harness, Result
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory

FILTERS = {
    "default order": {},
    "state acknowledged": {"state": "acknowledged"},
    "instrument mla": {"instrument": "mla"},
    "country RO": {"country": "RO"},
    "overdue": {"overdue": "1"},
    "taken by me": {"mine": "1"},
    "not taken": {"unassigned": "1"},
    "search reference": {"q": "SEED-00000777"},
    "search authority": {"q": "bench issuer 3"},
}


def _country(code: str, name: str) -> Country:
    return Country.objects.filter(code=code).first() or CountryFactory(code=code, name=name)


def run(harness: Harness) -> None:
    germany = _country("DE", "Germany")
    issuers = [
        AuthorityFactory(
            identifier=f"bench-q-issuer-{n}",
            name=f"Bench issuer {n}",
            country=_country(code, name),
            kind="prosecutor",
        )
        for n, (code, name) in enumerate(
            [
                ("FR", "France"),
                ("RO", "Romania"),
                ("NL", "Netherlands"),
                ("ES", "Spain"),
                ("IT", "Italy"),
            ]
            * 4
        )
    ]
    receiver = AuthorityFactory(identifier="bench-q-receiver", country=germany, kind="point_24_7")
    staff = [UserFactory(authority=receiver, roles=["contact_point_staff"]) for _ in range(8)]
    user = staff[0]
    client = Client()
    client.force_login(user)
    url = reverse("requests:queue")
    large_count = int(os.environ.get("BENCH_QUEUE_ROWS", "1000000"))

    def measure(size_label: str) -> dict[str, Result]:
        results = {}
        for name, params in FILTERS.items():

            def page(params: dict[str, str] = params) -> None:
                assert client.get(url, params).status_code == 200

            result = harness.measure(
                f"queue, {size_label}: {name}",
                page,
                runs=15,
                target="< 50 ms" if size_label != "1,000" else "",
            )
            results[name] = result
        return results

    plan = SeedPlan(receiver=receiver, issuers=issuers, staff=staff, count=1_000)
    requests_seed(plan=plan)
    small = measure("1,000")
    requests_seed(plan=SeedPlan(**{**plan.__dict__, "count": large_count - 1_000}))
    assert Request.objects.filter(executing_authority=receiver).count() == large_count
    large = measure(f"{large_count:,}")
    for name in FILTERS:
        large[name].note = f"queries {small[name].queries} at 1,000, {large[name].queries} here"

    # Escalation: the first run notifies the backlog the seeding left (a few hundred due
    # within a day or overdue); the next runs, as every five minutes, find nothing new.
    UserFactory(authority=receiver, roles=["supervisor"])
    first = time.perf_counter()
    report = deadlines_escalate()
    harness.record(
        Result(
            f"escalation, {large_count:,} open requests: first run",
            (time.perf_counter() - first) * 1000,
            1,
            target="< 10 s",
            note=f"{report}",
        )
    )
    harness.measure(
        f"escalation, {large_count:,} open requests: next runs",
        lambda: deadlines_escalate(),
        runs=3,
        warmup=0,
        target="< 10 s",
    )

    supervisor = UserFactory(authority=receiver, roles=["supervisor"])
    client.force_login(supervisor)
    statistics_url = reverse("statistics:page")
    today = timezone.localdate()
    for name, params in {
        "all time": {},
        "last 30 days": {"date_from": (today - timedelta(days=30)).isoformat()},
        "this year": {"date_from": today.replace(month=1, day=1).isoformat()},
        "one day": {
            "date_from": (today - timedelta(days=3)).isoformat(),
            "date_to": (today - timedelta(days=3)).isoformat(),
        },
        "incoming MLA": {"direction": "incoming", "instrument": "mla"},
        "offence fraud": {"offence": "fraud"},
    }.items():

        def statistics_page(params: dict[str, str] = params) -> None:
            assert client.get(statistics_url, params).status_code == 200

        harness.measure(
            f"statistics page, {large_count:,} requests of the authority: {name}",
            statistics_page,
            runs=5,
            warmup=1,
            target="< 1 s",
            note=_sections(receiver, params),
        )

    # A node's million requests are shared by its authorities: one with a tenth of them.
    office = AuthorityFactory(identifier="bench-q-office", country=germany, kind="prosecutor")
    requests_seed(
        plan=SeedPlan(
            receiver=office,
            issuers=issuers,
            staff=[UserFactory(authority=office, roles=["contact_point_staff"])],
            count=large_count // 10,
            prefix="SEEDB",
        )
    )
    client.force_login(UserFactory(authority=office, roles=["supervisor"]))
    harness.measure(
        f"statistics page, {large_count // 10:,} of {large_count * 11 // 10:,} requests: all time",
        lambda: client.get(statistics_url),
        runs=5,
        warmup=1,
        target="< 1 s",
        note=_sections(office, {}),
    )


def _sections(authority: Authority, params: dict[str, str]) -> str:
    """The median time of each section's selector, for the note."""
    filters = StatisticsFilter(
        date_from=date.fromisoformat(params["date_from"]) if "date_from" in params else None,
        date_to=date.fromisoformat(params["date_to"]) if "date_to" in params else None,
        direction=params.get("direction", BOTH),
        instrument=params.get("instrument", ""),
        offence=params.get("offence", ""),
    )
    timed = []
    for name, selector in (
        ("counts", statistics_counts),
        ("durations", statistics_durations),
        ("deadlines", statistics_deadlines),
    ):
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            selector(authority=authority, filters=filters)
            timings.append((time.perf_counter() - start) * 1000)
        timed.append(f"{name} {statistics.median(timings):,.0f}")
    return "ms: " + ", ".join(timed)
