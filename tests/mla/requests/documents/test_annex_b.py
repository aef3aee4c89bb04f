"""Annex B, the acknowledgement of receipt of an EIO: content, dates, languages, PDF/A, safety.

The facts are built by hand: no database is needed.
"""

import hashlib
import json
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from django.utils.html import escape

from mla.instruments.labels import ANNEX_B_LABEL_KEYS, catalogue, label
from mla.requests.documents import rendering
from mla.requests.documents.annex_b import (
    ANNEX_B_JSON_NAME,
    AnnexBFacts,
    annex_b_facts,
    annex_b_html,
    annex_b_json,
    annex_b_pdf,
)
from mla.requests.documents.rendering import AssetsOnlyFetcher, html_to_document
from mla.requests.lifecycle.executing import request_acknowledge
from tests.support.pdf_layout import page_spans, split_rows
from tests.support.pdfa import pdfa3b_problems

HOSTILE = "<script>alert(1)</script> <img src=http://evil.example/x>"

FACTS = AnnexBFacts(
    reference="FR-EIO-2026-000123",
    issuing_authority_name="Parquet de Paris",
    issuing_authority_address="1 parvis du Tribunal\n75017 Paris",
    issuing_country_name="France (FR)",
    date_of_issue=date(2026, 3, 20),
    # 01:30 UTC on the night summer time starts in Berlin (01:00 UTC): 03:30 local, not 02:30.
    received_at=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    acknowledged_at=datetime(2026, 3, 30, 8, 0, tzinfo=UTC),
    receiving_authority_name="Staatsanwaltschaft Berlin",
    receiving_authority_address="Turmstraße 91\n10559 Berlin",
    receiving_authority_phone="+49 30 9014 0",
    receiving_authority_email="poststelle@sta-berlin.example",
    receiving_authority_zone="Europe/Berlin",
    receiving_file_reference="276 Js 123/26",
    forwarded_to_name="",
    forwarded_to_address="",
    forwarded_at=None,
    other_information="",
    signed_by="Dr. Maria Muster, Staatsanwältin",
    issuing_language="fr",
    executing_language="en",
)

# Forwarded on the night summer time ends (01:00 UTC): 01:30 UTC is the second 02:30 local.
FORWARDED = replace(
    FACTS,
    received_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    acknowledged_at=datetime(2026, 10, 26, 9, 0, tzinfo=UTC),
    forwarded_to_name="Staatsanwaltschaft München I",
    forwarded_to_address="Linprunstraße 25\n80335 München",
    forwarded_at=datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "annex_b.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _both(key: str) -> tuple[str, str]:
    return label(f"annex_b.{key}", "fr"), label(f"annex_b.{key}", "en")


def test_the_pdf_acknowledges_the_eio_in_both_languages(tmp_path):
    text = _pdf_text(annex_b_pdf(facts=FACTS), tmp_path)
    flat = _flat(text)

    for value in (
        FACTS.reference,
        "Parquet de Paris",
        "France (FR)",
        "2026-03-20",
        "Staatsanwaltschaft Berlin",
        "276 Js 123/26",
        "+49 30 9014 0",
        "poststelle@sta-berlin.example",
        "Dr. Maria Muster, Staatsanwältin",
    ):
        assert value in flat, value
    assert "2026-03-29 03:30 Europe/Berlin (UTC+02:00)" in text  # the receipt, local time
    assert "2026-03-29 02:30" not in text
    assert "2026-03-30 10:00 Europe/Berlin (UTC+02:00)" in text  # the acknowledgement
    for key in ("title", "A.title", "B.title", "C.title", "D.title", "E.title"):
        french, english = _both(key)
        assert french in flat
        assert english in flat
    assert "Annexe B — Confirmation de la réception d'une décision d'enquête européenne" in flat
    assert "Annex B — Confirmation of the receipt of an EIO" in flat
    assert all(word in flat for word in _both("C.not_forwarded"))
    assert "Date de réception" in flat
    assert "Date of receipt" in flat
    assert "Page 1 sur" in flat


def test_a_forwarded_eio_names_the_competent_authority_and_the_date_of_transfer(tmp_path):
    text = _pdf_text(annex_b_pdf(facts=FORWARDED), tmp_path)
    flat = _flat(text)

    assert "Staatsanwaltschaft München I" in flat
    assert "Linprunstraße 25" in flat
    # The same wall-clock time twice, told apart by the offset.
    assert "2026-10-25 02:30 Europe/Berlin (UTC+02:00)" in text  # received
    assert "2026-10-25 02:30 Europe/Berlin (UTC+01:00)" in text  # forwarded
    for key in ("C.name", "C.date_of_transfer"):
        assert all(word in flat for word in _both(key))
    assert not any(word in flat for word in _both("C.not_forwarded"))


def test_an_eio_not_forwarded_shows_no_transfer_fields():
    html = annex_b_html(facts=FACTS)

    assert escape(label("annex_b.C.not_forwarded", "fr")) in html
    assert escape(label("annex_b.C.date_of_transfer", "en")) not in html


def test_the_pdf_is_pdf_a_3b_and_its_digest_is_of_the_embedded_facts(tmp_path):
    pdf = annex_b_pdf(facts=FORWARDED)
    path = tmp_path / "annex_b.pdf"
    path.write_bytes(pdf)
    metadata = subprocess.run(
        ["pdfinfo", "-meta", str(path)], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run(["pdfdetach", "-saveall", "-o", str(tmp_path), str(path)], check=True)
    embedded = (tmp_path / ANNEX_B_JSON_NAME).read_bytes()

    assert ("pdfaid:part" in metadata and ">3<" in metadata.replace(" ", "")) or (
        'pdfaid:part="3"' in metadata
    )
    assert "pdfaid:conformance" in metadata
    assert embedded == annex_b_json(facts=FORWARDED)
    assert json.loads(embedded)["forwarded_at"] == "2026-10-25T01:30:00+00:00"
    assert json.loads(embedded)["date_of_issue"] == "2026-03-20"
    digest = hashlib.sha256(embedded).hexdigest()
    assert f"SHA-256 {digest}" in _pdf_text(pdf, tmp_path)


def test_the_json_names_instants_whatever_the_offset_they_came_with():
    paris = timezone(timedelta(hours=2))
    same_instant = replace(FACTS, received_at=FACTS.received_at.astimezone(paris))

    assert annex_b_json(facts=same_instant) == annex_b_json(facts=FACTS)
    assert annex_b_json(facts=FORWARDED) != annex_b_json(facts=FACTS)


def test_hostile_text_is_escaped_and_nothing_is_fetched(tmp_path, monkeypatch, settings):
    settings.PDF_RENDER_BUDGET_SECONDS = 0  # in this process, where the fetcher is watched
    fetched: list[str] = []
    original = AssetsOnlyFetcher.fetch

    def recording_fetch(self, url, headers=None):
        fetched.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(AssetsOnlyFetcher, "fetch", recording_fetch)
    facts = replace(
        FORWARDED,
        reference='EIO-1"; } body { display: none } /*',
        other_information=f"{HOSTILE}\nSecond line",
        signed_by='<img src="file:///etc/passwd">',
        forwarded_to_name="<b>Competent</b>",
    )

    html = annex_b_html(facts=facts)
    text = _pdf_text(annex_b_pdf(facts=facts), tmp_path)

    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>Competent" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=http://evil.example/x&gt;" in html
    assert "<script>alert(1)</script> <img src=http://evil.example/x>" in text  # shown as typed
    assert "Second line" in text
    assert 'src="file:///etc/passwd"' in text
    assert "root:x:0:0" not in text
    assert "Staatsanwaltschaft Berlin" in text  # the reference did not break out of the margin
    assert not any("evil.example" in url or "passwd" in url for url in fetched), fetched
    assert all(url.startswith(rendering.ASSETS.as_uri()) for url in fetched), fetched


def test_a_language_without_a_catalogue_shows_english_and_says_so():
    html = annex_b_html(facts=replace(FACTS, executing_language="ja"))

    assert escape(label("annex_b.A.title", "fr")) in html
    assert escape(label("annex_b.A.title", "en")) in html
    assert '<html lang="fr">' in html
    assert 'lang="en"' in html
    assert 'lang="ja"' not in html


def test_one_language_on_both_sides_shows_each_label_once():
    html = annex_b_html(facts=replace(FACTS, issuing_language="fr", executing_language="fr"))

    assert escape(label("annex_b.A.title", "fr")) in html
    assert escape(label("annex_b.A.title", "en")) not in html
    assert 'class="secondary"' not in html


def test_the_margin_shows_when_it_was_generated_in_the_receiving_zone():
    with time_machine.travel(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), tick=False):
        html = annex_b_html(facts=FACTS)

    # As a CSS string: spaces and the slash are kept, "+" and ":" too.
    assert "2026-07-01 14:00 Europe/Berlin (UTC+02:00)" in html


def test_the_screen_version_links_the_screen_stylesheet():
    assert "requests/document.css" in annex_b_html(facts=FACTS, for_screen=True)
    assert "requests/document.css" not in annex_b_html(facts=FACTS)


@pytest.mark.parametrize(
    "changes",
    [
        {"received_at": datetime(2026, 3, 29, 1, 30)},  # naive
        {"acknowledged_at": datetime(2026, 3, 30, 8, 0)},
        {"forwarded_at": datetime(2026, 3, 29, 9, 0, tzinfo=UTC)},  # to nobody
        {"forwarded_to_name": "Somebody"},  # at no time
        {"receiving_authority_zone": "Mars/Olympus_Mons"},
        {"receiving_authority_zone": "../../etc/passwd"},
    ],
)
def test_inconsistent_facts_are_refused(changes):
    with pytest.raises(ValueError):  # noqa: PT011  # each case has its own message
        replace(FACTS, **changes)


# Labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_annex_b_key_is_in_the_catalogue_and_no_other(language):
    texts = catalogue(language)

    assert [key for key in ANNEX_B_LABEL_KEYS if not texts.get(key, "").strip()] == []
    assert sorted(key for key in texts if key.startswith("annex_b.")) == sorted(ANNEX_B_LABEL_KEYS)


@pytest.mark.parametrize("facts", [FACTS, FORWARDED], ids=["not_forwarded", "forwarded"])
def test_the_document_uses_no_key_missing_from_the_catalogues(facts):
    # label() falls back to the key itself: a key the code names but no catalogue has
    # would appear as "annex_b.…".
    html = annex_b_html(facts=facts)

    assert "annex_b." not in html
    assert "document." not in html


@pytest.mark.parametrize("facts", [FACTS, FORWARDED, replace(FACTS, executing_language="fr")])
def test_the_acknowledgement_fits_one_page_when_its_content_does(facts):
    document = html_to_document(html=annex_b_html(facts=facts))

    assert len(document.pages) == 1


def test_a_long_acknowledgement_keeps_its_signature_with_its_section(tmp_path):
    facts = replace(FACTS, other_information="Ein langer Hinweis. " * 200)

    document = html_to_document(html=annex_b_html(facts=facts))
    spans = page_spans(document)
    signature_section = next(element for element in spans if element.get("id") == "section-E")

    assert len(document.pages) == 2
    assert spans[signature_section][0] == spans[signature_section][1]
    assert split_rows(document) == []


def test_the_acknowledgement_has_the_properties_pdf_a_3b_requires():
    assert pdfa3b_problems(annex_b_pdf(facts=FORWARDED)) == []


def test_the_page_numbers_are_in_both_languages(tmp_path):
    text = _flat(_pdf_text(annex_b_pdf(facts=FACTS), tmp_path))

    assert "Page 1 sur 1 / Page 1 of 1" in text


@pytest.mark.django_db
def test_the_issuing_state_is_named_in_both_sides_languages(sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    executing.issuing_language, executing.executing_language = "fr", "de"
    executing.save()
    request_acknowledge(request=executing, actor=berlin_staff)

    facts = annex_b_facts(request=executing)

    assert facts is not None
    assert facts.issuing_country_name == "France / Frankreich (FR)"
