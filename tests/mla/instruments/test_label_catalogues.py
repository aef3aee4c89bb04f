"""Every label catalogue carries exactly the English catalogue's keys, with the same
placeholders, and records where its wording of the official forms comes from.

Pure Python: no database, no Django settings needed.
"""

import json
import re
from pathlib import Path

import pytest

from mla.instruments.labels import (
    UNVERIFIED_MARK,
    label,
    label_marked,
    label_source,
    label_verified,
    section_heading,
)

LABELS = Path(__file__).resolve().parents[3] / "mla" / "instruments" / "labels"
LANGUAGES = tuple(sorted(path.stem for path in LABELS.glob("*.json") if path.stem != "provenance"))
TRANSLATIONS = tuple(language for language in LANGUAGES if language != "en")
PLACEHOLDER = re.compile(r"\{\w+\}")
# The prefixes of the official forms: each catalogue names the official text it follows.
FORM_PREFIXES = (
    "eio.",
    "annex_b.",
    "preservation.",
    "epoc.",
    "epoc_pr.",
    "epoc_notification.",
    "annex_iii.",
    "annex_v.",
    "annex_vi.",
)


def _catalogue(language: str) -> dict[str, str]:
    return json.loads((LABELS / f"{language}.json").read_text(encoding="utf-8"))


def _provenance() -> dict:
    return json.loads((LABELS / "provenance.json").read_text(encoding="utf-8"))


def test_german_is_among_the_catalogues():
    assert {"en", "fr", "de"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_a_catalogue_has_exactly_the_english_keys(language):
    english, other = set(_catalogue("en")), set(_catalogue(language))

    assert sorted(english - other) == []
    assert sorted(other - english) == []


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_a_catalogue_keeps_the_placeholders_of_the_english_text(language):
    english, other = _catalogue("en"), _catalogue(language)

    differing = {
        key: (PLACEHOLDER.findall(text), PLACEHOLDER.findall(other[key]))
        for key, text in english.items()
        if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(other[key]))
    }

    assert differing == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_catalogue_names_the_official_text_of_each_form(language):
    sources = _provenance()["sources"][language]

    assert sorted(sources) == sorted(FORM_PREFIXES)
    assert all(text.strip() for text in sources.values())


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_listed_as_unverified_is_in_the_catalogue_once(language):
    unverified = _provenance()["unverified"][language]

    assert sorted(set(unverified) - set(_catalogue(language))) == []
    assert len(unverified) == len(set(unverified))


def test_the_german_heading_of_annex_a_section_a_is_the_official_wording():
    heading = label("eio.A.title", "de")

    assert heading == "ABSCHNITT A — Anordnungsstaat/Vollstreckungsstaat"
    assert label_verified("eio.A.title", "de")
    assert label_marked("eio.A.title", "de") == heading  # no dagger: checked
    assert section_heading("A", heading) == heading  # the code is not printed twice
    assert "2014/41/EU" in label_source("eio.A.title", "de")


def test_german_wording_not_checked_against_the_official_text_is_marked():
    # Section H's blocks and the whole of Annex B were not found in the official German text.
    assert label_marked("eio.H.H7", "de") == f"{label('eio.H.H7', 'de')} {UNVERIFIED_MARK}"
    assert not label_verified("annex_b.A.title", "de")
    assert not label_verified("preservation.9.title", "de")
    # The certification and sections A and B were checked.
    assert label_verified("eio.certification", "de")
    assert label_verified("eio.B.urgency_grounds.imminent_trial", "de")


def test_the_german_catalogue_is_german():
    english, german = _catalogue("en"), _catalogue("de")

    assert german["eio.title"] == "Europäische Ermittlungsanordnung (EEA)"
    assert german["annex_b.title"].startswith("Anhang B")
    # Some labels (IMEI, URL, "Name") read the same in both languages; most do not.
    same = [key for key in english if english[key] == german[key]]
    assert len(same) < len(english) // 20, same


def test_the_spanish_catalogue_is_a_working_translation_marked_as_such():
    assert label("eio.A.title", "es") == "SECCIÓN A — Estado de emisión/Estado de ejecución"
    assert label_marked("eio.A.title", "es").endswith(UNVERIFIED_MARK)
    assert section_heading("A", label("eio.A.title", "es")) == label("eio.A.title", "es")
    assert "no encontrad" in label_source("eio.A.title", "es")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_section_title_carries_its_code_once(language):
    from mla.instruments.declarations import DECLARATIONS

    added = [
        (code, section.code)
        for code, declaration in DECLARATIONS.items()
        for section in declaration.sections
        if section_heading(section.code, label(section.title, language))
        != label(section.title, language)
    ]

    assert added == []
    assert section_heading("A", "Anordnungsstaat") == "A. Anordnungsstaat"
    assert section_heading("1", "10 — Confidentiality") == "1. 10 — Confidentiality"
