"""Directory: import of 20,000 authorities from JSON, then searches over them."""

import json
import random
import time

from django.db import connection
from django.test import Client
from django.urls import reverse

from contact_points.directory_io import directory_import
from contact_points.models import Authority
from contact_points.selectors import DirectoryQuery, authority_page_details, authority_search
from tests.benchmarks.harness import Harness, Result
from tests.support.factories import UserFactory

AUTHORITIES = 20_000
COUNTRIES = [
    ("AT", "Austria", "Europe/Vienna", "de"),
    ("BE", "Belgium", "Europe/Brussels", "nl"),
    ("BG", "Bulgaria", "Europe/Sofia", "bg"),
    ("CZ", "Czechia", "Europe/Prague", "cs"),
    ("DE", "Germany", "Europe/Berlin", "de"),
    ("ES", "Spain", "Europe/Madrid", "es"),
    ("FI", "Finland", "Europe/Helsinki", "fi"),
    ("FR", "France", "Europe/Paris", "fr"),
    ("GR", "Greece", "Europe/Athens", "el"),
    ("HR", "Croatia", "Europe/Zagreb", "hr"),
    ("HU", "Hungary", "Europe/Budapest", "hu"),
    ("IT", "Italy", "Europe/Rome", "it"),
    ("LT", "Lithuania", "Europe/Vilnius", "lt"),
    ("NL", "Netherlands", "Europe/Amsterdam", "nl"),
    ("PL", "Poland", "Europe/Warsaw", "pl"),
    ("PT", "Portugal", "Europe/Lisbon", "pt"),
    ("RO", "Romania", "Europe/Bucharest", "ro"),
    ("SE", "Sweden", "Europe/Stockholm", "sv"),
    ("US", "United States", "America/New_York", "en"),
    ("JP", "Japan", "Asia/Tokyo", "ja"),
]
CITIES = [
    "Berlin",
    "Paris",
    "Lyon",
    "Bucharest",
    "Cluj",
    "Madrid",
    "Rome",
    "Vienna",
    "Sofia",
    "Warsaw",
    "Lisbon",
    "Athens",
    "Prague",
    "Tokyo",
    "Boston",
    "Turin",
    "Porto",
    "Brno",
]
KINDS = [
    "prosecutor",
    "court",
    "investigating_judge",
    "police",
    "ejn_contact_point",
    "central_authority",
    "point_24_7",
]


def synthetic_directory(count: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    countries = [
        {
            "code": code,
            "name": name,
            "eio_bound": code not in ("US", "JP"),
            "budapest_party": True,
            "budapest_second_protocol_party": code == "JP",
            "accepted_languages": {"mla": sorted({language, "en"})},
        }
        for code, name, _zone, language in COUNTRIES
    ]
    authorities = []
    for number in range(count):
        code, _country_name, zone, language = COUNTRIES[number % len(COUNTRIES)]
        kind = KINDS[rng.randrange(len(KINDS))]
        city = CITIES[rng.randrange(len(CITIES))]
        instruments = ["mla"] + (["eio"] if code not in ("US", "JP") else [])
        if kind == "point_24_7":
            instruments.append("preservation")
        authorities.append(
            {
                "identifier": f"{code.lower()}-{kind}-{number:05d}",
                "name": f"{kind.replace('_', ' ').title()} of {city} no. {number}",
                "name_local": "",
                "country": code,
                "kind": kind,
                "postal_address": f"{number} Justice Street\n{city}",
                "phone": "",
                "email": f"office{number}@justice-{code.lower()}.example",
                "time_zone": zone,
                "office_hours": "" if kind == "point_24_7" else "Mon-Fri 08:00-17:00",
                "available_24_7": kind == "point_24_7",
                "active": rng.random() > 0.05,
                "source": "benchmark",
                "last_verified_at": None,
                "last_verified_by": "",
                "inbox_url": "",
                "parent": None,
                "languages": sorted({language, "en"} if rng.random() > 0.5 else {language}),
                "instruments": sorted(instruments),
                "public_key": "",
                "key_fingerprint": "",
                "contacts": [],
            }
        )
    return json.dumps(
        {
            "format": "mla-directory",
            "version": 1,
            "countries": countries,
            "authorities": authorities,
        }
    ).encode()


def run(harness: Harness) -> None:
    data = synthetic_directory(AUTHORITIES)
    start = time.perf_counter()
    report = directory_import(data=data, fmt="json")
    elapsed = (time.perf_counter() - start) * 1000
    harness.record(
        Result(
            f"import {AUTHORITIES:,} authorities (JSON, empty db)",
            elapsed,
            1,
            target="< 30,000 ms",
            note=str(report.created) + " created",
        )
    )
    start = time.perf_counter()
    report = directory_import(data=data, fmt="json")
    elapsed = (time.perf_counter() - start) * 1000
    harness.record(
        Result(
            f"re-import the same {AUTHORITIES:,} (no change)",
            elapsed,
            1,
            note=f"{report.unchanged} unchanged",
        )
    )
    assert Authority.objects.count() == AUTHORITIES
    # What autovacuum does shortly after a bulk load on a live server.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    queries = {
        "no filter": DirectoryQuery(),
        "EIO receivers in DE": DirectoryQuery(country="DE", instrument="eio"),
        "24/7 point of RO": DirectoryQuery(country="RO", kind="point_24_7"),
        "language en, 24/7": DirectoryQuery(language="en", available_24_7=True),
        "text 'court of lyon'": DirectoryQuery(text="court of lyon"),
        "text + country + instrument": DirectoryQuery(text="paris", country="FR", instrument="mla"),
    }
    for label, query in queries.items():

        def first_page(query: DirectoryQuery = query) -> None:
            results = authority_search(query=query)
            results.count()
            authority_page_details(authorities=results[:50])

        harness.measure(f"search query: {label}", first_page, target="< 30 ms")

    user = UserFactory(authority=Authority.objects.first())
    client = Client()
    client.force_login(user)
    url = reverse("contact_points:search")
    page_params = {
        "EIO receivers in DE": {"country": "DE", "instrument": "eio"},
        "24/7 point of RO": {"country": "RO", "kind": "point_24_7"},
        "text 'court of lyon'": {"q": "court of lyon"},
    }
    for label, params in page_params.items():

        def render(params: dict[str, str] = params) -> None:
            response = client.get(url, params)
            assert response.status_code == 200

        harness.measure(
            f"search page (rendered): {label}",
            render,
            runs=20,
            note="whole request: form, query, template",
        )
