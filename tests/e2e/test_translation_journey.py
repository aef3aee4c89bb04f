"""An EIO from France to Germany, drafted in French with German labels in the executing
side's column and the facts translated side by side; its PDF carries Annex A's German
headings for every section with the French original beside them."""

import re

import pytest
from playwright.sync_api import Page, expect

from contact_points.models import AcceptedLanguages
from mla.instruments.completeness import TRANSLATIONS_KEY, section_applies
from mla.instruments.declarations import declaration_for
from mla.instruments.labels import has_language, label_marked, section_heading
from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, CountryFactory, UserFactory
from tests.support.journeys import log_in
from tests.support.pdf_text import flat, pdf_pages
from tests.support.samples import complete_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FACTS = "Les victimes ont été recrutées par de fausses offres d'emploi en ligne."
FACTS_DE = "Die Opfer wurden über gefälschte Stellenangebote im Internet angeworben."
CLASSIFICATION = "Traite des êtres humains, article 225-4-1 du code pénal."
CLASSIFICATION_DE = "Menschenhandel, Artikel 225-4-1 des französischen Strafgesetzbuchs."


@pytest.fixture
def prosecutor():
    if not has_language("de"):
        pytest.fail("The German label catalogue (mla/instruments/labels/de.json) is missing.")
    france = CountryFactory(code="FR", name="France", eio_bound=True, budapest_party=True)
    germany = CountryFactory(code="DE", name="Germany", eio_bound=True, budapest_party=True)
    policy = AcceptedLanguages.objects.create(country=germany, instrument="eio")
    policy.languages.set(["de"])  # German only (Directive 2014/41/EU, Art. 5(2))
    AuthorityFactory(
        identifier="de-berlin",
        name="Staatsanwaltschaft Berlin",
        country=germany,
        kind="prosecutor",
        instruments=["eio", "mla"],
        languages=["de"],
    )
    paris = AuthorityFactory(
        identifier="fr-paris",
        name="Parquet de Paris",
        country=france,
        kind="prosecutor",
        phone="+33144325151",
        email="parquet@justice-fr.example",
    )
    return UserFactory(
        username="camille", authority=paris, roles=["prosecutor"], preferred_language="fr"
    )


def test_an_eio_to_germany_is_drafted_with_german_labels_and_the_facts_translated(
    live_server, page: Page, prosecutor, tmp_path
):
    base = live_server.url
    eio = declaration_for("eio")
    log_in(page, base, "camille")

    # The new-request page says the EIO goes in German, and why.
    page.goto(f"{base}/requests/new/?country=DE")
    option = page.locator("article.option").filter(has=page.locator("input[value='eio']"))
    expect(option.locator(".target-language")).to_contain_text("allemand")
    option.locator("button.primary").click()
    expect(page.locator("h1")).to_contain_text("A")
    draft = Request.objects.get()
    assert (draft.issuing_language, draft.executing_language) == ("fr", "de")

    # Section G: each free text in French on the left, its German translation on the right,
    # under the German form's label.
    page.goto(f"{base}{draft.get_absolute_url()}section/G/")
    facts = page.locator("#field-G-facts-wrap .side-by-side")
    expect(facts.locator(".translation label")).to_contain_text(label_marked("eio.G.facts", "de"))
    expect(facts.locator(".translation textarea")).to_have_attribute("lang", "de")
    page.locator("#field-G-facts").fill(FACTS)
    page.locator("#field-G-legal_classification").fill(CLASSIFICATION)
    page.locator("#field-G-facts-translation").fill(FACTS_DE)
    page.locator("button[name=action][value=save]").click()
    expect(page.locator("#field-G-facts-translation")).to_have_value(FACTS_DE)
    # The classification's translation is still missing: said beside it.
    expect(page.locator("#field-G-legal_classification-translation-wrap .error")).to_be_visible()
    page.locator("#field-G-legal_classification-translation").fill(CLASSIFICATION_DE)
    page.locator("button[name=action][value=save]").click()
    expect(page.locator("#field-G-legal_classification-translation-wrap .error")).to_have_count(0)

    # The other sections as a colleague would have typed them (translated into German too).
    draft.refresh_from_db()
    data = complete_data(eio, translated_into=("de",))
    data["K"]["issuer_type"] = "prosecutor"
    data.pop("L")
    data["G"] = draft.data["G"]
    draft.data = data
    draft.version += 1
    draft.save()
    assert draft.data["G"][TRANSLATIONS_KEY]["de"]["facts"] == FACTS_DE

    page.goto(f"{base}{draft.get_absolute_url()}check/")
    expect(page.locator("ul.problems")).to_have_count(0)
    page.goto(f"{base}{draft.get_absolute_url()}")
    with page.expect_download() as download_info:
        page.locator(f"a[href='{draft.get_absolute_url()}pdf/']").click()
    target = tmp_path / "request.pdf"
    download_info.value.save_as(target)

    pdf = target.read_bytes()
    text = flat("\n".join(pdf_pages(pdf, tmp_path, layout=False)))
    printed = [section for section in eio.sections if section_applies(section, draft.data)]
    assert len(printed) >= 10
    for section in printed:
        german = section_heading(section.code, label_marked(section.title, "de"))
        french = section_heading(section.code, label_marked(section.title, "fr"))
        assert flat(german) in text, section.code
        assert flat(french) in text, section.code
    # The facts in French and, in the German column beside them, their translation.
    lines = [line for page_text in pdf_pages(pdf, tmp_path) for line in page_text.splitlines()]
    original, translation = "Les victimes", "Die Opfer"
    start = next(line for line in lines if original in line)
    assert translation in start
    assert start.index(translation) > start.index(original)
    assert re.search(r"Zusammenfassung des Sachverhalts", text)
