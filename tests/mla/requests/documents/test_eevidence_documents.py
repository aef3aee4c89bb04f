"""The EPOC and EPOC-PR as documents: both columns like the EIO, unverified wording marked,
and section M (for the enforcing authority only) never in what goes to the addressee."""

import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from mla.instruments.eevidence import data_for_addressee
from mla.instruments.labels import UNVERIFIED_MARK, label
from mla.requests.documents.rendering import (
    JSON_ATTACHMENT_NAME,
    request_html,
    request_pdf,
    structured_export,
)
from mla.requests.drafting.services import request_create
from tests.support.factories import service_provider_addressee
from tests.support.samples import certificate_data

pytestmark = pytest.mark.django_db

SECRET = "Known to the enforcing authority only: the suspect is a journalist."


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    # pypdf rather than poppler: the text is all that is read here.
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def _embedded_json(pdf: bytes) -> dict:
    (content,) = PdfReader(io.BytesIO(pdf)).attachments[JSON_ATTACHMENT_NAME]
    return json.loads(content)


def _draft(code, prosecutor, countries):
    for country in (countries["FR"], countries["DE"]):
        country.eevidence_bound = True
        country.save(update_fields=["eevidence_bound"])
    provider = service_provider_addressee(
        country=countries["DE"], identifier="de-mailcorp", name="MailCorp GmbH", languages=["de"]
    )
    draft = request_create(
        actor=prosecutor,
        declaration_code=code,
        executing_country=countries["DE"],
        executing_authority=provider,
    )
    draft.data = certificate_data(code)
    if code == "epoc":
        draft.data["M"]["enforcing_information"] = SECRET
    draft.save()
    return draft


@pytest.fixture
def epoc(prosecutor, countries):
    return _draft("epoc", prosecutor, countries)


@pytest.fixture
def epoc_pr(prosecutor, countries):
    return _draft("epoc_pr", prosecutor, countries)


def _heading_words(key: str, language: str) -> str:
    # The heading's first words: long titles wrap in the PDF's narrow columns.
    return " ".join(label(key, language).split()[:4])


def test_the_epoc_pdf_prints_every_section_but_m_in_both_languages(epoc, tmp_path):
    pdf = request_pdf(request=epoc)
    text = _pdf_text(pdf, tmp_path)

    assert epoc.executing_language == "de"
    for code in "ABCDEFGHIJKL":
        assert _heading_words(f"epoc.{code}.title", "en") in text, code
        assert _heading_words(f"epoc.{code}.title", "de") in text, code
    assert _heading_words("epoc.M.title", "en") not in text
    assert SECRET not in text
    assert UNVERIFIED_MARK in text
    assert "Regulation (EU) 2023/1543, Annex I" in text
    embedded = _embedded_json(pdf)
    assert "M" not in embedded["data"]
    assert embedded["data"]["G"] == epoc.data["G"]


def test_the_issuing_sides_record_of_an_epoc_shows_section_m(epoc, tmp_path):
    full = _pdf_text(request_pdf(request=epoc, for_addressee=False), tmp_path)
    preview = request_html(request=epoc)

    assert _heading_words("epoc.M.title", "en") in full
    assert SECRET in full
    assert SECRET in preview
    assert "M" not in data_for_addressee(declaration_code="epoc", data=epoc.data)
    assert "M" in epoc.data


def test_the_json_for_the_addressee_leaves_section_m_out(epoc):
    exported = json.loads(structured_export(request=epoc))
    full = json.loads(structured_export(request=epoc, for_addressee=False))

    assert "M" not in exported["data"]
    assert exported["data"]["F"] == epoc.data["F"]
    assert full["data"]["M"]["enforcing_information"] == SECRET
    assert full["sha256"] == epoc.data_digest
    assert exported["sha256"] != epoc.data_digest
    assert exported["type"] == "epoc"


def test_the_epoc_pr_pdf_prints_its_sections(epoc_pr, tmp_path):
    text = _pdf_text(request_pdf(request=epoc_pr), tmp_path)

    for key in ("epoc.A.title", "epoc_pr.D.title", "epoc.F.title", "epoc_pr.G.title"):
        assert _heading_words(key, "en") in text, key
        assert _heading_words(key, "de") in text, key
    assert _heading_words("epoc.C.title", "en") not in text
    assert "Regulation (EU) 2023/1543, Annex II" in text
    assert epoc_pr.reference.startswith("FR-")
    assert "-EPOCPR-" in epoc_pr.reference
