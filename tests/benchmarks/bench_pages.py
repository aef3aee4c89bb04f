"""Pages as a user opens them (server time through the test client, and their queries): a
request's page on either side, its draft and its preview, the request list, the 24/7 queue,
the shift view, the tracker and the directory administrator's change form of an authority.

Measured twice: with few requests (10 sent EIOs) and 10 entries in the timeline of the
request opened, then with many (BENCH_PAGE_REQUESTS, 1,000 by default) and 1,000 entries.
The query count of a page must not grow from one to the other.
"""

import os
import statistics
import time

from django.db import connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contact_points.models import AcceptedLanguages, Country
from mla.accounts.models import User
from mla.instruments.declarations import declaration_for
from mla.requests.audit import audit_record
from mla.requests.drafting.services import request_create
from mla.requests.events import Event
from mla.requests.lifecycle.executing import request_acknowledge
from mla.requests.lifecycle.issuing import request_send, request_submit
from mla.requests.models import AuditEntry, Request
from tests.benchmarks.harness import Harness, Result
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.samples import LONG_FACTS, complete_data

EIO = declaration_for("eio")
TARGET = "< 150 ms"


def _country(code: str, name: str) -> Country:
    country = Country.objects.filter(code=code).first() or CountryFactory(code=code, name=name)
    country.eio_bound = True
    country.budapest_party = True
    country.save()
    return country


class Scene:
    """Paris sends EIOs to Berlin; both authorities are hosted on this node."""

    def __init__(self) -> None:
        france = _country("FR", "France")
        germany = _country("DE", "Germany")
        policy, _created = AcceptedLanguages.objects.get_or_create(
            country=germany, instrument="eio"
        )
        policy.languages.set(["de", "en"])
        self.paris = AuthorityFactory(
            identifier="bench-p-paris",
            name="Parquet de Paris (bench)",
            country=france,
            kind="prosecutor",
            time_zone="Europe/Paris",
        )
        self.berlin = AuthorityFactory(
            identifier="bench-p-berlin",
            name="Staatsanwaltschaft Berlin (bench)",
            country=germany,
            kind="prosecutor",
            instruments=["eio", "mla"],
            languages=["de"],
            time_zone="Europe/Berlin",
        )
        self.prosecutor = UserFactory(
            authority=self.paris, roles=["prosecutor"], preferred_language="en"
        )
        self.staff = UserFactory(
            authority=self.berlin, roles=["contact_point_staff"], preferred_language="en"
        )
        self.admin = UserFactory(
            authority=self.paris,
            roles=["directory_administrator"],
            is_superuser=True,
            is_staff=True,
        )
        self.pairs: list[tuple[Request, Request]] = []

    def draft(self, *, long: bool = False) -> Request:
        draft = request_create(
            actor=self.prosecutor,
            declaration_code="eio",
            executing_country=self.berlin.country,
            executing_authority=self.berlin,
        )
        draft.data = complete_data(EIO)
        draft.data["K"]["issuer_type"] = "prosecutor"
        draft.data.pop("L")
        if long:
            draft.data["G"]["facts"] = LONG_FACTS * 2
        draft.save()
        return draft

    def send(self, count: int) -> None:
        """``count`` more EIOs sent and delivered, every third acknowledged."""
        for _ in range(count):
            draft = self.draft()
            request_submit(request=draft, actor=self.prosecutor)
            request_send(request=draft, actor=self.prosecutor)
            draft.refresh_from_db()
            executing = draft.counterpart
            assert executing is not None
            if len(self.pairs) % 3 == 1:
                request_acknowledge(request=executing, actor=self.staff)
            self.pairs.append((draft, executing))

    def timeline(self, request: Request, *, entries: int, actor: User) -> None:
        """Notes until the request's timeline holds ``entries`` entries."""
        have = AuditEntry.objects.filter(request=request).count()
        with transaction.atomic():
            for number in range(have, entries):
                audit_record(
                    request=request, actor=actor, event=Event.NOTE, note=f"Note number {number}."
                )


def _page(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def _measure(harness: Harness, case: str, client: Client, url: str, runs: int = 15) -> Result:
    """The median server time of the page (and, in the note, the median CPU time of this
    process alone: on a busy machine the first waits for the processor, the second not)."""
    for _ in range(3):
        _page(client, url)
    timings, processor = [], []
    reset_queries()  # as the harness does: a request starts by emptying the log
    with CaptureQueriesContext(connection) as captured:
        _page(client, url)
    queries = len(captured.captured_queries)  # before the next request empties the log
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        _page(client, url)
        timings.append((time.perf_counter() - start) * 1000)
        processor.append((time.process_time() - cpu) * 1000)
    result = Result(
        case,
        statistics.median(timings),
        runs,
        queries,
        TARGET,
        f"cpu {statistics.median(processor):,.0f} ms",
    )
    harness.record(result)
    return result


def run(harness: Harness) -> None:
    scene = Scene()
    many = int(os.environ.get("BENCH_PAGE_REQUESTS", "1000"))
    prosecutor, staff, admin = Client(), Client(), Client()
    prosecutor.force_login(scene.prosecutor)
    staff.force_login(scene.staff)
    admin.force_login(scene.admin)

    scene.send(10)
    issuing, executing = scene.pairs[1]  # acknowledged: deadlines met and running
    draft = scene.draft(long=True)

    pages: list[tuple[str, Client, str]] = [
        ("request page, issuing side (sent)", prosecutor, issuing.get_absolute_url()),
        ("request page, executing side", staff, executing.get_absolute_url()),
        ("request page, draft", prosecutor, draft.get_absolute_url()),
        ("preview of a sent EIO", prosecutor, reverse("requests:preview", args=issuing.url_args)),
        ("request list (prosecutor)", prosecutor, reverse("requests:list")),
        ("request list (executing side)", staff, reverse("requests:list")),
        ("24/7 queue", staff, reverse("requests:queue")),
        ("shift view", staff, reverse("requests:shift")),
        ("deadline tracker", prosecutor, reverse("requests:tracker")),
        (
            "admin change form of an authority",
            admin,
            reverse("admin:contact_points_authority_change", args=[scene.berlin.pk]),
        ),
    ]

    def measure(size: str, entries: int) -> dict[str, Result]:
        for request, actor in ((issuing, scene.prosecutor), (executing, scene.staff)):
            scene.timeline(request, entries=entries, actor=actor)
        scene.timeline(draft, entries=entries, actor=scene.prosecutor)
        return {
            name: _measure(harness, f"{name}, {size}", client, url) for name, client, url in pages
        }

    few = measure("10 requests, 10 entries", 10)
    scene.send(many - len(scene.pairs))
    large = measure(f"{many:,} requests, 1,000 entries", 1000)
    for name, result in large.items():
        result.note += f"; queries {few[name].queries} at the small size, {result.queries} here"
    harness.record(
        Result(
            "pages whose query count grew",
            0.0,
            0,
            note=", ".join(name for name in large if large[name].queries != few[name].queries)
            or "none",
        )
    )
