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
