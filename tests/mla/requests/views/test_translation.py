"""The pages of a request going out in another language: the target language on the new
request page, free text and its translation side by side in the section editor, the
completeness check, the language card, and the received copy read-only."""

import re

import pytest
from django.urls import reverse

from contact_points.models import AcceptedLanguages
from mla.instruments.completeness import TRANSLATIONS_KEY
from mla.instruments.declarations import declaration_for
from mla.instruments.labels import label
from mla.requests.events import Event
from tests.support.factories import CountryFactory

pytestmark = pytest.mark.django_db
EIO = declaration_for("eio")


@pytest.fixture
def client_of(client, prosecutor):
    client.force_login(prosecutor)
    return client


@pytest.fixture
def french_to_english(eio_draft):
    """The Paris draft, written in French and going out in English."""
    eio_draft.issuing_language, eio_draft.executing_language = "fr", "en"
    eio_draft.save()
    return eio_draft


def _url(name, item, *args):
    return reverse(name, args=[*item.url_args, *args])


def test_the_new_request_page_says_which_language_and_why(client_of, countries):
    response = client_of.get(reverse("requests:new"), {"country": "DE"})

    offers = {option.declaration.code: target for option, target in response.context["offers"]}
    # Germany accepts German and English for the EIO (the fixture's directory).
    assert offers["eio"].code == "de"
    assert offers["eio"].reason == "Germany accepts German for the EIO."
    assert "Drafted for the executing side in German: Germany accepts German for the EIO." in (
        " ".join(response.content.decode().split())
    )


def test_the_new_request_page_warns_before_the_first_save(client_of, countries):
    country = CountryFactory(code="XB", name="Basqueland", eio_bound=True)
    policy = AcceptedLanguages.objects.create(country=country, instrument="eio")
    policy.languages.set(["eu"])

    page = client_of.get(reverse("requests:new"), {"country": "XB"}).content.decode()

    warning = re.search(r'<p class="warning target-language" role="alert">(.*?)</p>', page, re.S)
    assert warning is not None
    assert "Basque" in warning.group(1)
    assert "record why" in warning.group(1)


def test_the_editor_shows_each_free_text_beside_its_translation(client_of, french_to_english):
    french_to_english.data["G"] = {
        "facts": "Les faits.",
        TRANSLATIONS_KEY: {"en": {"facts": "The facts."}},
    }
    french_to_english.save()

    page = client_of.get(_url("requests:section", french_to_english, "G")).content.decode()

    pair = re.search(
        r'<div class="side-by-side">\s*<div class="original" lang="fr">(.*?)</div>\s*'
        r'<div class="translation[^"]*" id="field-G-facts-translation-wrap">(.*?)</div>\s*</div>',
        page,
        re.S,
    )
    assert pair is not None
    original, translation = pair.groups()
    assert 'name="facts"' in original
    assert "Les faits." in original
    assert 'name="facts__translation"' in translation
    assert 'lang="en"' in translation
    assert "The facts." in translation
    assert label("eio.G.facts", "en") in translation
    assert "(translation into English)" in translation
    # A one-line field has no translation.
    assert "surname__translation" not in page


def test_the_editor_saves_the_translation_and_shows_a_missing_one(client_of, french_to_english):
    url = _url("requests:section", french_to_english, "G")
    response = client_of.post(
        url,
        {
            "version": french_to_english.version,
            "facts": "Les faits.",
            "facts__translation": "The facts.",
            "legal_classification": "Escroquerie.",
            "legal_classification__translation": "",
            "action": "save",
        },
    )

    assert response.status_code == 302
    french_to_english.refresh_from_db()
    assert french_to_english.data["G"][TRANSLATIONS_KEY] == {
        "en": {"facts": "The facts.", "legal_classification": "", "stage": ""}
    }
    page = client_of.get(url).content.decode()
    wrap = re.search(
        r'id="field-G-legal_classification-translation-wrap">(.*?)</div>\s*</div>', page, re.S
    )
    assert wrap is not None
    assert "No translation into English yet." in wrap.group(1)


def test_the_check_lists_a_missing_translation_by_section_and_field(client_of, french_to_english):
    french_to_english.data["G"] = {"facts": "Les faits."}
    french_to_english.save()

    page = client_of.get(_url("requests:check", french_to_english)).content.decode()

    assert f"{label('eio.G.facts', 'fr')} (translation)" in page
    assert "#field-G-facts-translation" in page
    assert "No translation into English yet." in page


def test_the_language_card_records_the_reason_and_the_translation_choice(
    client_of, prosecutor, countries
):
    from mla.requests.drafting.services import request_create

    country = CountryFactory(code="XB", name="Basqueland", eio_bound=True)
    policy = AcceptedLanguages.objects.create(country=country, instrument="eio")
    policy.languages.set(["eu"])
    draft = request_create(actor=prosecutor, declaration_code="eio", executing_country=country)
    draft.issuing_language = "fr"
    draft.save()

    page = client_of.get(draft.get_absolute_url()).content.decode()
    assert 'id="language"' in page
    assert 'name="reason"' in page
    assert "does not accept English" in page
    check = client_of.get(_url("requests:check", draft)).content.decode()
    assert "Language of the request" in check
    assert "#language" in check

    client_of.post(_url("requests:language", draft), {"reason": "Agreed by telephone."})
    client_of.post(
        _url("requests:language", draft), {"translation": "1", "translation_attached": "1"}
    )

    draft.refresh_from_db()
    assert draft.language_reason == "Agreed by telephone."
    assert draft.translation_attached
    assert draft.audit_entries.filter(event=Event.LANGUAGE_REASON).exists()
    assert draft.audit_entries.filter(event=Event.TRANSLATION_ATTACHED).exists()
    page = client_of.get(draft.get_absolute_url()).content.decode()
    assert "does not accept English" not in page
    assert (
        "Language of the request"
        not in client_of.get(_url("requests:check", draft)).content.decode()
    )


def test_the_received_copy_shows_translations_read_only(client, sent_eio, berlin_staff):
    _issuing, received = sent_eio
    client.force_login(berlin_staff)
    url = _url("requests:section", received, "G")

    page = client.get(url).content.decode()

    assert received.executing_language != received.issuing_language
    assert 'name="facts__translation"' in page
    assert re.search(r'<fieldset class="controls" disabled>', page)
    before = received.data
    client.post(url, {"version": received.version, "facts": "x", "facts__translation": "y"})
    received.refresh_from_db()
    assert received.data == before
    page = client.get(received.get_absolute_url()).content.decode()
    assert 'name="translation_attached"' not in page
    assert 'id="id_language_reason"' not in page
