"""The pages in the reader's interface language: the timeline's states, the lists' request
types, the footer."""

import html

import pytest
from django.conf import settings
from django.utils import translation

from mla.requests.lifecycle.executing import request_acknowledge
from mla.requests.models import Request

pytestmark = pytest.mark.django_db


def _page(client, user, url: str, language: str) -> str:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return html.unescape(client.get(url).content.decode())


def test_the_timeline_names_the_states_in_french(client, sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    request_acknowledge(request=executing, actor=berlin_staff)

    page = _page(client, berlin_staff, executing.get_absolute_url(), "fr")

    with translation.override("fr"):
        received = str(Request.State.RECEIVED.label)
        acknowledged = str(Request.State.ACKNOWLEDGED.label)
    assert acknowledged != "Acknowledged"
    assert f"({received} → {acknowledged})" in page
    assert "(received → acknowledged)" not in page
    assert "Nœud d\u2019échange" in page  # the footer


def test_an_english_reader_sees_the_request_type_in_english(client, sent_eio, berlin_staff):
    berlin_staff.preferred_language = "fr"
    berlin_staff.save(update_fields=["preferred_language"])

    page = _page(client, berlin_staff, "/requests/", "en")

    assert "European Investigation Order" in page
    assert "Décision d'enquête européenne" not in page


def test_the_directory_in_french_sorts_countries_by_their_french_names(
    client, authorities, berlin_staff
):
    page = _page(client, berlin_staff, "/directory/", "fr")

    options = page[page.index('name="country"') :]
    options = options[: options.index("</select>")]
    names = [
        name for name in ("Allemagne (DE)", "États-Unis (US)", "France (FR)") if name in options
    ]
    assert names == ["Allemagne (DE)", "États-Unis (US)", "France (FR)"]
    assert [options.index(name) for name in names] == sorted(options.index(n) for n in names)
    assert "Germany" not in options
    # Instruments by their French short names, not their codes.
    assert "DEE" in page
    assert ">EIO<" not in page
