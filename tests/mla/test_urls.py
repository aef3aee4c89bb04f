import importlib

import pytest
from django.urls import clear_url_caches

import mla.urls
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_urls(settings, tmp_path):
    """The URLs as the embedded default (DEBUG on) builds them, uploads kept in tmp_path."""
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    importlib.reload(mla.urls)
    clear_url_caches()
    yield tmp_path
    settings.DEBUG = False
    importlib.reload(mla.urls)
    clear_url_caches()


def test_uploaded_files_have_no_url_even_under_debug(client, debug_urls):
    stored = debug_urls / "attachments" / "ab" / "abcdef.pdf"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"%PDF-1.7 another authority's evidence")
    client.force_login(UserFactory())

    response = client.get("/media/attachments/ab/abcdef.pdf")

    assert response.status_code == 404
    assert b"evidence" not in response.content
