"""Requests: the PDF of a full EIO, our overhead over WeasyPrint, the completeness check."""

import subprocess
import tempfile
import time
from pathlib import Path

from django.conf import settings
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from contact_points.models import Country
from mla.instruments.completeness import request_completeness
from mla.instruments.declarations import declaration_for
from mla.requests.documents.rendering import (
    ASSETS,
    DocumentRenderError,
    request_html,
    request_pdf,
)
from mla.requests.models import Request
from tests.benchmarks.harness import Harness, Result
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.samples import LONG_FACTS, complete_data

EIO = declaration_for("eio")


def full_eio() -> Request:
    """3 persons, 4 measures with their section H data, and long facts."""
    france = Country.objects.filter(code="FR").first() or CountryFactory(code="FR", name="France")
    germany = Country.objects.filter(code="DE").first() or CountryFactory(code="DE", name="Germany")
    issuer = AuthorityFactory(identifier="bench-fr-paris", country=france, kind="prosecutor")
    executing = AuthorityFactory(identifier="bench-de-berlin", country=germany, kind="prosecutor")
    user = UserFactory(authority=issuer)
    data = complete_data(EIO, rows=3)
    data["C"]["measures"] = list(
        next(i for i in EIO.sections[2].items if i.name == "measures").choices[:4]
    )
    data["G"]["facts"] = LONG_FACTS * 2
    return Request.objects.create(
        reference="FR-EIO-2026-BENCH",
        declaration_code="eio",
        issuing_authority=issuer,
        executing_country=germany,
        executing_authority=executing,
        created_by=user,
        data=data,
        issuing_language="en",
        executing_language="fr",
    )


def _pages(pdf: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        Path(handle.name).write_bytes(pdf)
        info = subprocess.run(["pdfinfo", handle.name], capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def _median(function, runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1000)
    return sorted(timings)[len(timings) // 2]


def run(harness: Harness) -> None:
    request = full_eio()
    problems = request_completeness(declaration=EIO, data=request.data)
    assert problems == [], problems
    pdf = request_pdf(request=request)  # warm-up: fonts and stylesheet
    pages = _pages(pdf)

    ours = _median(lambda: request_pdf(request=request), runs=5)
    html = request_html(request=request)
    base_url = ASSETS.as_uri() + "/"
    # WeasyPrint alone on the same HTML and stylesheet, with a font configuration kept across
    # documents as a long-lived worker keeps it (as ours does): the fair comparison.
    fonts = FontConfiguration()
    stylesheet = CSS(filename=str(ASSETS / "print.css"), font_config=fonts)
    alone = _median(
        lambda: HTML(string=html, base_url=base_url).write_pdf(
            stylesheets=[stylesheet], font_config=fonts
        ),
        runs=5,
    )
    cold = _median(
        lambda: HTML(string=html, base_url=base_url).write_pdf(
            stylesheets=[CSS(filename=str(ASSETS / "print.css"))]
        ),
        runs=3,
    )
    harness.record(
        Result(
            "PDF of a full EIO (ours: template + PDF/A-3b + JSON)",
            ours,
            5,
            note=f"{pages} pages, {len(pdf):,} bytes",
        )
    )
    harness.record(
        Result(
            "  same HTML, WeasyPrint alone (fonts kept)",
            alone,
            5,
            target="overhead < 15%",
            note=f"ours/alone = {ours / alone:.2f}",
        )
    )
    harness.record(
        Result(
            "  same HTML, WeasyPrint alone (fresh fonts)",
            cold,
            3,
            note=f"ours/alone = {ours / cold:.2f}",
        )
    )
    _long_token(harness, request)
    harness.measure(
        "completeness check of a full EIO",
        lambda: request_completeness(declaration=EIO, data=request.data),
        runs=50,
        target="< 20 ms",
    )


LONG_TOKEN = 100_000


def _long_token(harness: Harness, request: Request) -> None:
    """A 100,000-character token in the facts: rendered (made breakable) within the budget,
    and, raw, stopped by the budget instead of holding the worker for many minutes."""
    budget = float(settings.PDF_RENDER_BUDGET_SECONDS)
    token = "".join("QZXJ"[index * 7 % 4] for index in range(LONG_TOKEN))
    request.data["G"]["facts"] = f"Token: {token} end."
    request.save()
    start = time.perf_counter()
    pdf = request_pdf(request=request)
    elapsed = (time.perf_counter() - start) * 1000
    harness.record(
        Result(
            f"PDF of an EIO with a {LONG_TOKEN:,}-character token",
            elapsed,
            1,
            target=f"< budget ({budget:g} s)",
            note=f"{_pages(pdf)} pages",
        )
    )
    # The same token without break opportunities, as before: the budget stops it.
    html = request_html(request=request).replace("\u200b", "")
    settings.PDF_RENDER_BUDGET_SECONDS = 20
    start = time.perf_counter()
    try:
        from mla.requests.documents.rendering import html_to_pdf

        html_to_pdf(html=html, json_data=b"{}")
        outcome = "finished (unexpected)"
    except DocumentRenderError as error:
        outcome = f"stopped: {error.extra.get('reason')}"
    finally:
        settings.PDF_RENDER_BUDGET_SECONDS = budget
    harness.record(
        Result(
            "  same token unbroken (before), under a 20 s budget",
            (time.perf_counter() - start) * 1000,
            1,
            target="stopped at the budget",
            note=outcome,
        )
    )
