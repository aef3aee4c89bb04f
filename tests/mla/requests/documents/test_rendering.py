import json
import re
import subprocess
from pathlib import Path

import pytest
from django.utils.html import escape

from mla.instruments.declarations import declaration_for
from mla.instruments.labels import UNVERIFIED_MARK, label
from mla.requests.documents import rendering
from mla.requests.documents.rendering import (
    JSON_ATTACHMENT_NAME,
    AssetsOnlyFetcher,
    request_html,
    request_pdf,
    structured_export,
)
from tests.support.pdf import pdf_tool
from tests.support.pdf_text import flat, pdf_pages
from tests.support.pdfa import pdfa3b_problems
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db

HOSTILE = '<img src="file:///etc/passwd"> <script>alert(1)</script> https://attacker.example/x.png'


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "request.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def full_eio(eio_draft):
    eio_draft.data = complete_data(declaration_for("eio"), long_text=True)
    eio_draft.save()
    return eio_draft


def test_the_pdf_follows_the_official_structure(full_eio, tmp_path):
    text = _pdf_text(request_pdf(request=full_eio), tmp_path)

    eio = declaration_for("eio")
    for section in eio.sections[:11]:  # L is not needed: the issuer is judicial
        first_words = label(section.title, "en").split()[0:3]
        assert " ".join(first_words) in " ".join(text.split())
    assert full_eio.reference in text
    assert "Page 1 of" in " ".join(text.split())
    assert full_eio.data_digest in text.replace("\n", "")
    assert "Sample authority_name" in text
    assert "☒" in text
    assert "☐" in text


def test_the_pdf_is_pdf_a_3b_and_carries_the_request_as_json(full_eio, tmp_path):
    pdf = request_pdf(request=full_eio)
    (tmp_path / "request.pdf").write_bytes(pdf)
    metadata = subprocess.run(
        ["pdfinfo", "-meta", str(tmp_path / "request.pdf")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    subprocess.run(
        ["pdfdetach", "-saveall", "-o", str(tmp_path), str(tmp_path / "request.pdf")], check=True
    )
    embedded = json.loads((tmp_path / JSON_ATTACHMENT_NAME).read_bytes())

    assert ("pdfaid:part" in metadata and ">3<" in metadata.replace(" ", "")) or (
        'pdfaid:part="3"' in metadata
    )
    assert "pdfaid:conformance" in metadata
    assert embedded == json.loads(structured_export(request=full_eio))
    assert embedded["data"] == full_eio.data
    assert embedded["reference"] == full_eio.reference


def test_labels_stand_in_both_languages_when_the_sides_differ(full_eio, tmp_path):
    full_eio.issuing_language, full_eio.executing_language = "en", "fr"
    full_eio.save()

    html = request_html(request=full_eio)

    assert escape(label("eio.A.title", "en")) in html
    assert escape(label("eio.A.title", "fr")) in html


def test_hostile_text_stays_inert_text(eio_draft, tmp_path, monkeypatch, settings):
    settings.PDF_RENDER_BUDGET_SECONDS = 0  # in this process, where the fetcher is watched
    fetched: list[str] = []
    original = AssetsOnlyFetcher.fetch

    def recording_fetch(self, url, headers=None):
        fetched.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(AssetsOnlyFetcher, "fetch", recording_fetch)
    odd_unicode = "Ω ﬁ اختبار עברית \U0001d518\U0001d52b\U0001d526"  # RTL and Fraktur letters
    eio_draft.data["G"] = {"facts": HOSTILE, "legal_classification": odd_unicode}
    eio_draft.data["K"]["authority_name"] = "x" * 5000
    eio_draft.save()

    html = request_html(request=eio_draft)
    text = _pdf_text(request_pdf(request=eio_draft), tmp_path)

    assert "<img src" not in html
    assert "<script>" not in html
    assert "&lt;img src=&quot;file:///etc/passwd&quot;&gt;" in html
    assert 'src="file:///etc/passwd"' in text  # shown as the text that was typed
    assert "root:x:0:0" not in text
    assert "اختبار" in text
    assert all(url.startswith(rendering.ASSETS.as_uri()) for url in fetched)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "https://attacker.example/x.png", "http://127.0.0.1:9/", "data:,x"],
)
def test_the_fetcher_serves_only_the_assets(url):
    with pytest.raises(ValueError, match="blocked"):
        AssetsOnlyFetcher().fetch(url)


def test_render_request_command_writes_the_pdf(full_eio, tmp_path):
    from django.core.management import call_command

    output = tmp_path / "out.pdf"
    call_command("render_request", full_eio.reference, "-o", str(output))

    assert output.read_bytes().startswith(b"%PDF-")
    assert full_eio.reference in _pdf_text(output.read_bytes(), tmp_path)


def test_the_preservation_request_has_the_templates_fax_function_and_expedited_tick(eio_draft):
    eio_draft.declaration_code = "preservation"
    data = complete_data(declaration_for("preservation"))
    data["5"].update(function="Duty prosecutor", fax="+40211234599", expedited_response=True)
    eio_draft.data = data
    eio_draft.save()

    html = request_html(request=eio_draft)

    assert "Duty prosecutor" in html
    assert "+40211234599" in html
    assert f"Response by e-mail or other expedited means {UNVERIFIED_MARK}" in html
    assert "Fax number" in html


def test_page_numbers_and_country_names_stand_in_both_languages(full_eio, tmp_path):
    full_eio.issuing_language, full_eio.executing_language = "fr", "en"
    full_eio.data["A"]["executing_state"] = "DE"
    full_eio.save()

    pages = pdf_pages(request_pdf(request=full_eio), tmp_path)

    assert f"Page 1 sur {len(pages)} / Page 1 of {len(pages)}" in flat(pages[0])
    assert "Généré le / Generated" in flat(pages[0])
    assert "Allemagne / Germany (DE)" in flat(" ".join(pages))


@pytest.mark.parametrize("code", ["eio", "preservation", "mla"])
def test_the_pdf_has_the_properties_pdf_a_3b_requires(code, eio_draft):
    eio_draft.declaration_code = code
    eio_draft.data = complete_data(declaration_for(code))
    eio_draft.save()

    assert pdfa3b_problems(request_pdf(request=eio_draft)) == []


def test_a_render_over_the_budget_is_a_clear_error(eio_draft, settings):
    settings.PDF_RENDER_BUDGET_SECONDS = 0.001  # not even a fork and a page fit in it

    with pytest.raises(rendering.DocumentRenderError, match=r"longer than 0\.001 seconds"):
        request_pdf(request=eio_draft)


def test_a_100000_character_token_renders_whole_within_the_budget(eio_draft, tmp_path):
    # Unbroken it took minutes (WeasyPrint re-lays the rest of the token for every line);
    # with a break opportunity every 16 characters it takes seconds, far within 300 s.
    token = "".join("QZXJ"[index * 7 % 4] for index in range(100_000))
    eio_draft.data["G"] = {"facts": f"Token: {token} end."}
    eio_draft.save()

    text = pdf_tool("pdftotext", request_pdf(request=eio_draft), tmp_path)

    # Every line holds whole 16-character pieces of it, in order, across the pages.
    assert "".join(re.findall(r"[QZXJ]{16,}", text)) == token
    assert "end." in text


def test_each_value_is_isolated_for_direction(eio_draft, tmp_path):
    eio_draft.data["G"] = {"facts": "\u202egnp.exe\nThe rest reads as typed."}
    eio_draft.save()

    html = request_html(request=eio_draft)
    text = pdf_tool("pdftotext", request_pdf(request=eio_draft), tmp_path)

    assert "<bdi>\u202egnp.exe</bdi><br><bdi>The rest reads as typed.</bdi>" in html
    assert "The rest reads as typed." in text


def test_an_emoji_prints_with_a_font_that_has_it(eio_draft, tmp_path):
    eio_draft.data["G"] = {"facts": "Message read: \U0001f600 \U0001f44d 2026-000001"}
    eio_draft.save()
    pdf = request_pdf(request=eio_draft)

    fonts = pdf_tool("pdffonts", pdf, tmp_path)

    # DejaVu has no emoji (they were .notdef boxes); Noto Color Emoji has them, and only them
    # is taken from it: the digits stay in DejaVu.
    assert "Noto-Color-Emoji" in fonts
    assert "\U0001f600" in pdf_tool("pdftotext", pdf, tmp_path)


def test_the_render_command_says_when_the_budget_stopped_it(eio_draft, tmp_path, settings):
    from django.core.management import CommandError, call_command

    settings.PDF_RENDER_BUDGET_SECONDS = 0.001

    with pytest.raises(CommandError, match="took longer than"):
        call_command("render_request", eio_draft.reference, "-o", str(tmp_path / "out.pdf"))
    assert not (tmp_path / "out.pdf").exists()


def test_a_character_no_font_has_prints_as_a_marker_with_its_code_point(eio_draft, tmp_path):
    eio_draft.data["G"] = {"facts": "Nickname \ue000x on the forum"}
    eio_draft.save()

    text = pdf_tool("pdftotext", request_pdf(request=eio_draft), tmp_path)

    # The marker is boxed: pdftotext reads the box's edge as a space.
    assert "Nickname [U+E000] x on the forum" in text
    assert "\ue000" not in text
