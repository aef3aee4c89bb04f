"""Free text's translation in the document: printed in the executing side's column of the
PDF beside the original, and carried in the JSON (downloaded and embedded alike)."""

import json
import subprocess

import pytest
from django.urls import reverse

from mla.instruments.completeness import TRANSLATIONS_KEY
from mla.instruments.declarations import declaration_for
from mla.requests.documents.rendering import JSON_ATTACHMENT_NAME, request_pdf, structured_export
from tests.support.pdf_text import flat, pdf_pages
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db

ORIGINAL = "Escroquerie en bande organisée."
TRANSLATION = "Bandenmäßiger Betrug."


@pytest.fixture
def translated_eio(eio_draft):
    """Written in French, going out in English (a language with a catalogue on any tree),
    the facts translated beside them."""
    eio_draft.issuing_language, eio_draft.executing_language = "fr", "en"
    eio_draft.data = complete_data(declaration_for("eio"), translated_into=())
    eio_draft.data["G"]["legal_classification"] = ORIGINAL
    eio_draft.data["G"][TRANSLATIONS_KEY] = {"en": {"legal_classification": TRANSLATION}}
    eio_draft.data["E"]["persons"][0][TRANSLATIONS_KEY] = {"en": {"residence": "Translated home"}}
    eio_draft.save()
    return eio_draft


def test_the_pdf_prints_the_translation_in_the_target_column(translated_eio, tmp_path):
    pages = pdf_pages(request_pdf(request=translated_eio), tmp_path)

    lines = [line for page in pages for line in page.splitlines()]
    # Side by side: the original in the issuing side's column, the translation right of it
    # (each wrapped in its own column).
    line = next(line for line in lines if "Escroquerie" in line)
    assert "Bandenmäßiger" in line
    assert line.index("Bandenmäßiger") > line.index("Escroquerie")
    assert "Translated home" in flat("\n".join(pages))


def test_a_document_in_one_language_prints_no_translation(translated_eio, tmp_path):
    translated_eio.executing_language = "fr"
    translated_eio.save()

    text = flat("\n".join(pdf_pages(request_pdf(request=translated_eio), tmp_path)))

    assert ORIGINAL in text
    assert TRANSLATION not in text


def test_the_json_carries_the_translations_downloaded_and_embedded_alike(
    translated_eio, prosecutor, client, tmp_path
):
    client.force_login(prosecutor)
    downloaded = client.get(reverse("requests:json", args=translated_eio.url_args)).content
    (tmp_path / "request.pdf").write_bytes(request_pdf(request=translated_eio))
    subprocess.run(
        ["pdfdetach", "-saveall", "-o", str(tmp_path), str(tmp_path / "request.pdf")], check=True
    )
    embedded = (tmp_path / JSON_ATTACHMENT_NAME).read_bytes()

    assert downloaded == embedded == structured_export(request=translated_eio)
    data = json.loads(downloaded)
    assert data["data"]["G"][TRANSLATIONS_KEY] == {"en": {"legal_classification": TRANSLATION}}
    assert data["languages"] == {
        "issuing": "fr",
        "executing": "en",
        "translation_attached": False,
        "reason": "",
    }
