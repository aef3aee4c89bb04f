"""The API's lists (the requests, both ways, and the queue) with 1,000 and with 1,000,000
requests of the caller's authority: the first page, the page after it (its next_cursor) and
a page after a cursor deep in the list, through the Django test client with a token (URL
routing, middleware, authentication, rate limit, validation, JSON): median server time and
queries, the same at both sizes, and the plan of each query of the requests table.

Each list is one entry of LISTINGS: a list added to the API is measured by adding its entry.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contact_points.models import Authority, Country
from mla.api.cursors import cursor_encode
from mla.demo.seeding import SeedPlan, requests_seed
from mla.requests.desk.queue import _encode as queue_key
from mla.requests.models import Request
from tests.benchmarks.harness import Harness, Result
from tests.support.api import api_token_for
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory

ISSUER = "issuer"  # the prosecutor's office that sent the requests
RECEIVER = "receiver"  # the authority that received them
SMALL = 1_000


def _requests_cursor(row: Request) -> str:
    return cursor_encode(kind="requests", key=[row.updated_at.isoformat(), row.pk])


@dataclass(frozen=True)
class Listing:
    name: str
    path: str
    params: dict[str, str]
    caller: str  # ISSUER or RECEIVER: whose token lists
    # The list's cursor that resumes after ``row`` (for a page deep in the list), if known.
    cursor_after: Callable[[Request], str] | None = field(default=None)


def _queue_cursor(row: Request) -> str:
    # The queue page's own key (urgency, deadline, id), as the API signs it.
    return cursor_encode(kind="queue", key=[queue_key(row.urgency, row.next_due_at, row.pk)])


LISTINGS = (
    Listing("requests, outgoing", "/api/v1/requests/", {}, ISSUER, _requests_cursor),
    Listing(
        "requests, incoming",
        "/api/v1/requests/",
        {"direction": "incoming"},
        RECEIVER,
        _requests_cursor,
    ),
    Listing("queue", "/api/v1/queue/", {}, RECEIVER, _queue_cursor),
)


def _country(code: str, name: str) -> Country:
    return Country.objects.filter(code=code).first() or CountryFactory(code=code, name=name)


@dataclass
class Parties:
    issuer: Authority
    receiver: Authority
    tokens: dict[str, str]


def _parties() -> Parties:
    issuer = AuthorityFactory(
        identifier="bench-api-issuer", country=_country("FR", "France"), kind="prosecutor"
    )
    receiver = AuthorityFactory(
        identifier="bench-api-receiver", country=_country("DE", "Germany"), kind="prosecutor"
    )
    return Parties(
        issuer=issuer,
        receiver=receiver,
        tokens={
            ISSUER: api_token_for(UserFactory(authority=issuer, roles=["prosecutor"]), "read"),
            RECEIVER: api_token_for(
                UserFactory(authority=receiver, roles=["contact_point_staff"]), "read"
            ),
        },
    )


def _seed(parties: Parties, count: int) -> None:
    """``count`` more requests sent by the issuer to the receiver: each side's copy."""
    for direction, prefix in (
        (Request.Direction.OUTGOING, "APIOUT"),
        (Request.Direction.INCOMING, "APIIN"),
    ):
        requests_seed(
            plan=SeedPlan(
                receiver=parties.receiver,
                issuers=[parties.issuer],
                staff=[],
                count=count,
                prefix=prefix,
                direction=direction,
            )
        )


def _deep_row(parties: Parties, listing: Listing, size: int) -> Request:
    """A request a third of the way through the seeded ones, with a deadline, so that it
    stands at a like place in every list at both sizes."""
    prefix = "APIOUT" if listing.caller == ISSUER else "APIIN"
    return (
        Request.objects.filter(
            issuing_authority=parties.issuer,
            reference__startswith=f"{prefix}-",
            next_due_at__isnull=False,
        )
        .order_by("reference")
        .defer("data")[size // 3]
    )


def _measure(harness: Harness, parties: Parties, size: int) -> dict[str, Result]:
    results = {}
    label = f"{size:,}"
    for listing in LISTINGS:
        client = Client()
        token = parties.tokens[listing.caller]
        first = _page(client, listing, token, listing.params)
        assert first["next_cursor"], "the list has more than one page"
        cases = {
            "first page": dict(listing.params),
            "page after the first": {**listing.params, "cursor": first["next_cursor"]},
        }
        if listing.cursor_after is not None:
            deep = listing.cursor_after(_deep_row(parties, listing, size))
            cases["page deep in the list"] = {**listing.params, "cursor": deep}
        for case, params in cases.items():
            results[f"{listing.name}: {case}"] = harness.measure(
                f"API {listing.name}, {label} rows: {case}",
                lambda client=client, listing=listing, token=token, params=params: _page(
                    client, listing, token, params
                ),
                runs=25,
                target="< 50 ms, same queries" if size > SMALL else "",
            )
            if size > SMALL:
                print(_plan(listing, parties, params), flush=True)
    return results


def _page(client: Client, listing: Listing, token: str, params: dict[str, str]) -> dict:
    response = client.get(listing.path, params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    return response.json()


def _plan(listing: Listing, parties: Parties, params: dict[str, str]) -> str:
    """Each query of the requests table the page makes: which index it reads, how, and its
    time, to show that none reads more rows at a million than at a thousand."""
    with CaptureQueriesContext(connection) as captured:
        _page(Client(), listing, parties.tokens[listing.caller], params)
    table = Request._meta.db_table
    shown = []
    for item in captured.captured_queries:
        if f'FROM "{table}"' not in item["sql"] and f"FROM {table}" not in item["sql"]:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {item['sql']}")
            lines = [row[0] for row in cursor.fetchall()]
        shown += [
            line
            for line in lines
            if any(word in line for word in ("Scan using", "Index Cond", "Removed", "Execution"))
        ]
    return "    " + "\n    ".join(shown)


def run(harness: Harness) -> None:
    settings.API_RATE_LIMIT = "1000000/m"
    large = int(os.environ.get("BENCH_API_ROWS", "1000000"))
    parties = _parties()
    _seed(parties, SMALL)
    small = _measure(harness, parties, SMALL)
    _seed(parties, large - SMALL)
    assert (
        Request.objects.filter(
            issuing_authority=parties.issuer, direction=Request.Direction.OUTGOING
        ).count()
        == large
    )
    big = _measure(harness, parties, large)
    for name, result in big.items():
        result.note = f"queries {small[name].queries} at {SMALL:,}, {result.queries} here"
