"""Headers of every response: a strict Content-Security-Policy, and no caching of what a
signed-in user sees or downloads."""

import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";")]
    return {name: values for name, *values in directives if name}


@pytest.fixture
def client_of(client, prosecutor):
    client.force_login(prosecutor)
    return client


def test_the_login_page_carries_a_strict_policy(client):
    policy = _policy(client.get(reverse("accounts:login")))

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


@pytest.mark.parametrize("name", ["detail", "preview"])
def test_signed_in_pages_carry_the_policy_and_are_never_stored(client_of, eio_draft, name):
    response = client_of.get(reverse(f"requests:{name}", args=[*eio_draft.url_args]))

    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    assert response["Cache-Control"] == "no-store, private"
    assert not response.has_header("Expires")


def test_the_home_page_is_never_stored(client_of):
    assert client_of.get(reverse("core:home"))["Cache-Control"] == "no-store, private"


@pytest.mark.parametrize("name", ["pdf", "json"])
def test_document_downloads_are_never_stored(client_of, eio_draft, name):
    response = client_of.get(reverse(f"requests:{name}", args=[*eio_draft.url_args]))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"


def test_an_attachment_download_is_never_stored(client_of, eio_draft, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("order.pdf", b"%PDF-1.7 test", "application/pdf")
    client_of.post(reverse("requests:attach", args=[*eio_draft.url_args]), {"file": upload})
    attachment = eio_draft.attachments.get()

    response = client_of.get(
        reverse("requests:attachment", args=[*eio_draft.url_args, attachment.pk])
    )

    assert response["Cache-Control"] == "no-store, private"
    assert b"".join(response.streaming_content) == b"%PDF-1.7 test"


def test_the_logout_answer_is_never_stored_and_clears_the_browser_storage(client_of):
    response = client_of.post(reverse("accounts:logout"))

    assert response["Cache-Control"] == "no-store, private"
    assert response["Clear-Site-Data"] == '"storage"'


# The policy allows no inline script or style: no page template may carry one. The PDF
# templates are rendered by WeasyPrint on the server; their inline styles are only sent to
# a browser never (the screen preview drops them).
_PDF_TEMPLATES = {"requests/document.html", "requests/fixed_form.html"}
_INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "inline <script>"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "style attribute"),
    (re.compile(r"<style", re.IGNORECASE), "<style> element"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "event handler attribute"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]


def test_no_page_template_carries_inline_script_or_style():
    base = settings.BASE_DIR
    templates = [
        *(base / "templates").rglob("*.html"),
        *(base / "mla").glob("**/templates/**/*.html"),
        *(base / "contact_points").glob("**/templates/**/*.html"),
    ]
    found = [
        f"{path}: {what}"
        for path in templates
        if str(path).split("/templates/", 1)[1] not in _PDF_TEMPLATES
        for pattern, what in _INLINE
        if pattern.search(path.read_text())
    ]

    assert len(templates) > 20
    assert found == []
