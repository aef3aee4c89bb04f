"""The French catalogue is complete: every string the code and templates mark is translated.
The German catalogue compiles, and the interface reads in German."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from mla.requests.lifecycle.enforcing import ENFORCING_GROUND_LABELS
from tests.support.factories import UserFactory

BASE = Path(settings.BASE_DIR)
CATALOGUE = BASE / "mla" / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def _entries(po_text: str) -> list[tuple[str, list[str], bool]]:
    """(msgid, msgstrs, fuzzy) for each entry of a .po file, header excluded."""
    entries = []
    for block in po_text.split("\n\n"):
        if "msgid" not in block or block.lstrip().startswith("#~"):
            continue
        fuzzy = "#, fuzzy" in block
        msgid = "".join(
            re.findall(r'^(?:msgid|msgid_plural)?\s*"(.*)"$', block.split("msgstr")[0], re.M)
        )
        msgstrs = re.findall(r'^msgstr(?:\[\d\])? "(.*)"(?:\n"(.*)")*', block, re.M)
        strings = ["".join(parts) for parts in msgstrs]
        entries.append((msgid, strings, fuzzy))
    return [entry for entry in entries if entry[0]]


@pytest.mark.parametrize("language", ["fr", "de"])
def test_the_catalogue_compiles_with_no_fuzzy_or_missing_translation(language):
    catalogue = BASE / "mla" / "locale" / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(catalogue)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr
    assert "untranslated" not in result.stderr


def test_every_marked_string_is_in_the_french_catalogue(tmp_path):
    # Extract afresh from a copy of the sources, as `makemessages` would, and compare.
    for part in ("mla", "contact_points", "templates", "manage.py"):
        source = BASE / part
        if source.is_dir():
            shutil.copytree(source, tmp_path / part, ignore=shutil.ignore_patterns("*.mo"))
        else:
            shutil.copy(source, tmp_path / part)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete", "-v0"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={
            "DJANGO_SETTINGS_MODULE": "mla.settings.test",
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(tmp_path),
        },
    )
    fresh = (tmp_path / "mla" / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_text()

    untranslated = [msgid for msgid, strings, fuzzy in _entries(fresh) if fuzzy or not all(strings)]

    assert untranslated == [], "Run `manage.py makemessages -l fr` and translate these"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "french"),
    [
        ("core:home", "Annuaire"),
        ("contact_points:search", "Rechercher"),
        ("accounts:profile", "Votre compte"),
        ("accounts:password_change", "Modifier le mot de passe"),
    ],
)
def test_pages_render_in_french(client, url_name, french):
    client.force_login(UserFactory(preferred_language="fr"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    page = client.get(reverse(url_name)).content.decode()

    assert french in page
    assert 'lang="fr"' in page


def test_model_labels_are_translated():
    from contact_points.models import AuthorityKind

    with translation.override("fr"):
        assert str(AuthorityKind.PROSECUTOR.label) != "Judicial authority: prosecutor's office"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "german"),
    [
        ("core:home", "Verzeichnis"),
        ("contact_points:search", "Suchen"),
        ("accounts:profile", "Ihr Konto"),
        ("accounts:password_change", "Passwort ändern"),
    ],
)
def test_pages_render_in_german(client, url_name, german):
    client.force_login(UserFactory(preferred_language="de"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"

    page = client.get(reverse(url_name)).content.decode()

    assert german in page
    assert 'lang="de"' in page


@pytest.mark.django_db
def test_the_login_page_reads_in_german_for_a_german_browser(client):
    page = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content

    assert "Anmelden" in page.decode()
    assert 'lang="de"' in page.decode()


def test_the_interface_languages_are_english_and_each_catalogue():
    catalogues = {
        path.parent.parent.name
        for path in (BASE / "mla" / "locale").glob("*/LC_MESSAGES/django.po")
    }

    assert [code for code, _name in settings.LANGUAGES] == ["en", *sorted(catalogues)]
    assert {"fr", "de"} <= catalogues


@pytest.mark.django_db
def test_the_language_switcher_lists_every_interface_language(client):
    page = client.get(reverse("accounts:login")).content.decode()

    options = re.findall(r'<option value="(\w+)"[^>]*>([^<]+)</option>', page)

    assert options == [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]


# An article cited in the English manner ("Art. 12(1)(d)") rather than the language's own.
ENGLISH_CITATION = re.compile(r"\bArt\. \d+\(")


@pytest.mark.parametrize("language", ["fr", "de"])
def test_translations_cite_articles_in_their_own_language_style(language):
    catalogue = BASE / "mla" / "locale" / language / "LC_MESSAGES" / "django.po"

    english_style = [
        text
        for _msgid, strings, _fuzzy in _entries(catalogue.read_text())
        for text in strings
        if ENGLISH_CITATION.search(text)
        # French writes "art." in lower case, except where a text begins with it.
        or (language == "fr" and re.search(r"(?<!^)\bArt\. ", text))
    ]

    assert english_style == []


@pytest.mark.parametrize(
    ("language", "ground"),
    [
        ("fr", "Art. 12, par. 1, point d) : les faits ne constituent pas une infraction"),
        ("de", "Art. 12 Abs. 1 Buchst. d: keine Straftat im Vollstreckungsstaat"),
    ],
)
def test_the_enforcing_authority_s_grounds_cite_in_the_reader_s_language(language, ground):
    with translation.override(language):
        assert str(ENFORCING_GROUND_LABELS["double_criminality"]).startswith(ground)
