"""The language a request goes in, the reason recorded when the executing country accepts
no language with a form, and the translation of free text (mla.requests.drafting.language)."""

import pytest

from contact_points.models import AcceptedLanguages
from mla.core.errors import ApplicationError
from mla.instruments.completeness import TRANSLATIONS_KEY
from mla.instruments.declarations import declaration_for
from mla.instruments.labels import has_language
from mla.requests.drafting.language import (
    LANGUAGE_PROBLEM_PATH,
    request_language_reason_record,
    request_problems,
    request_translation_attached_set,
    target_language,
)
from mla.requests.drafting.services import (
    SectionFieldsRefused,
    request_create,
    request_save_section,
)
from mla.requests.events import Event
from mla.requests.lifecycle.issuing import request_submit
from mla.requests.models import Request
from tests.support.factories import CountryFactory
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db
EIO = declaration_for("eio")
# Basque: a language with no label catalogue, and none planned.
NO_FORM = "eu"


@pytest.fixture
def basque_country(db):
    country = CountryFactory(code="XB", name="Basqueland", eio_bound=True)
    policy = AcceptedLanguages.objects.create(country=country, instrument="eio")
    policy.languages.set([NO_FORM])
    return country


def _untranslated(request: Request) -> Request:
    request.data = complete_data(EIO, translated_into=())
    request.data["K"]["issuer_type"] = "prosecutor"
    request.data.pop("L")
    request.save()
    return request


def test_the_target_is_the_first_accepted_language_with_a_form_and_says_why(countries):
    assert not has_language(NO_FORM)
    choice = target_language(country=countries["DE"], declaration=EIO)

    # Germany accepts German and English for the EIO: its own language comes first.
    expected = "de" if has_language("de") else "en"
    assert choice.code == expected
    assert choice.accepted == ("de", "en")
    assert choice.accepted_with_form
    assert not choice.needs_reason
    if expected == "de":
        assert choice.reason == "Germany accepts German for the EIO."


def test_a_country_accepting_no_language_with_a_form_warns_and_falls_back(basque_country):
    choice = target_language(country=basque_country, declaration=EIO)

    assert choice.code == "en"
    assert choice.needs_reason
    assert "Basque" in choice.reason
    assert "record why" in choice.reason


def test_a_country_with_no_recorded_language_is_drafted_in_english_without_a_problem(countries):
    choice = target_language(country=countries["FR"], declaration=EIO)

    assert (choice.code, choice.accepted, choice.needs_reason) == ("en", (), False)


def test_a_new_request_goes_in_the_chosen_language(eio_draft):
    assert eio_draft.executing_language == ("de" if has_language("de") else "en")


def test_the_language_problem_blocks_until_a_reason_is_recorded_and_audited(
    prosecutor, basque_country
):
    draft = request_create(
        actor=prosecutor, declaration_code="eio", executing_country=basque_country
    )
    _untranslated(draft)

    problems = request_problems(request=draft)
    assert problems[0].path == LANGUAGE_PROBLEM_PATH
    assert problems[0].section == ""
    assert "Basque" in problems[0].message
    assert not draft.is_complete
    with pytest.raises(ApplicationError, match="completeness check"):
        request_submit(request=draft, actor=prosecutor)

    recorded = request_language_reason_record(
        request=draft, actor=prosecutor, reason="  Agreed with the executing authority.  "
    )

    assert recorded.language_reason == "Agreed with the executing authority."
    assert LANGUAGE_PROBLEM_PATH not in [p.path for p in request_problems(request=recorded)]
    entry = recorded.audit_entries.get(event=Event.LANGUAGE_REASON)
    assert entry.note == "Agreed with the executing authority."
    assert entry.payload == {"language": "en"}
    assert recorded.is_complete
    assert request_submit(request=recorded, actor=prosecutor).state != Request.State.DRAFT


def test_a_language_reason_holding_a_control_character_is_refused(prosecutor, basque_country):
    draft = request_create(
        actor=prosecutor, declaration_code="eio", executing_country=basque_country
    )

    with pytest.raises(ApplicationError, match="control character"):
        request_language_reason_record(request=draft, actor=prosecutor, reason="Agreed\x00")
    with pytest.raises(ApplicationError, match="too long"):
        request_language_reason_record(request=draft, actor=prosecutor, reason="x" * 2001)
    draft.refresh_from_db()
    assert draft.language_reason == ""
    assert not draft.audit_entries.filter(event=Event.LANGUAGE_REASON).exists()


def test_each_free_text_without_its_translation_is_a_problem_of_its_section(eio_draft):
    eio_draft.issuing_language, eio_draft.executing_language = "fr", "en"
    _untranslated(eio_draft)

    problems = [p for p in request_problems(request=eio_draft) if p.path.endswith(".translation")]

    paths = {p.path for p in problems}
    assert "G.facts.translation" in paths
    assert "C.description.translation" in paths
    facts = next(p for p in problems if p.path == "G.facts.translation")
    assert (facts.section, facts.label) == ("G", "eio.G.facts")
    assert facts.message == "No translation into English yet."
    assert facts.anchor == "field-G-facts-translation"
    # A free text left empty needs no translation.
    assert "G.stage.translation" in paths
    eio_draft.data["G"]["stage"] = ""
    eio_draft.save()
    assert "G.stage.translation" not in {p.path for p in request_problems(request=eio_draft)}


def test_a_translation_in_the_target_language_satisfies_the_check(eio_draft):
    eio_draft.issuing_language, eio_draft.executing_language = "fr", "en"
    eio_draft.data = complete_data(EIO, translated_into=("de",))
    eio_draft.save()
    assert any(p.path.endswith(".translation") for p in request_problems(request=eio_draft))

    eio_draft.data = complete_data(EIO, translated_into=("en",))
    eio_draft.save()
    assert not any(p.path.endswith(".translation") for p in request_problems(request=eio_draft))


def test_the_same_language_on_both_sides_needs_no_translation(eio_draft):
    eio_draft.issuing_language = eio_draft.executing_language = "en"
    _untranslated(eio_draft)

    assert not any(p.path.endswith(".translation") for p in request_problems(request=eio_draft))


def test_a_translation_attached_as_a_document_satisfies_the_check_and_is_audited(
    eio_draft, prosecutor
):
    eio_draft.issuing_language, eio_draft.executing_language = "fr", "en"
    _untranslated(eio_draft)
    assert any(p.path.endswith(".translation") for p in request_problems(request=eio_draft))

    attached = request_translation_attached_set(request=eio_draft, actor=prosecutor, attached=True)

    assert attached.translation_attached
    assert not any(p.path.endswith(".translation") for p in request_problems(request=attached))
    assert attached.audit_entries.filter(event=Event.TRANSLATION_ATTACHED).count() == 1

    beside = request_translation_attached_set(request=attached, actor=prosecutor, attached=False)
    assert not beside.translation_attached
    assert beside.audit_entries.filter(event=Event.TRANSLATION_BESIDE).count() == 1
    assert any(p.path.endswith(".translation") for p in request_problems(request=beside))


def test_a_translation_is_saved_beside_its_value_in_the_section_and_its_row(eio_draft, prosecutor):
    values = {
        "facts": "Les faits.",
        "legal_classification": "Escroquerie.",
        TRANSLATIONS_KEY: {"de": {"facts": "Der Sachverhalt."}},
    }

    saved = request_save_section(
        request=eio_draft,
        actor=prosecutor,
        section_code="G",
        values=values,
        expected_version=eio_draft.version,
    )

    assert saved.data["G"][TRANSLATIONS_KEY] == {"de": {"facts": "Der Sachverhalt."}}


def test_a_translation_follows_its_fields_rules(eio_draft, prosecutor):
    values = {
        "facts": "Les faits.",
        TRANSLATIONS_KEY: {"de": {"facts": "Der\x1bSachverhalt", "legal_classification": "x"}},
        "persons": [
            {
                "kind": "natural",
                "residence": "Paris",
                TRANSLATIONS_KEY: {"de": {"residence": "y" * 20_001}},
            }
        ],
    }

    with pytest.raises(SectionFieldsRefused) as refused:
        request_save_section(
            request=eio_draft,
            actor=prosecutor,
            section_code="G",
            values={k: v for k, v in values.items() if k != "persons"},
            expected_version=eio_draft.version,
        )
    problems = refused.value.extra["problems"]
    assert [p.path for p in problems] == ["G.facts.translation"]
    assert "control character" in problems[0].message
    stored = refused.value.extra["request"].data["G"]
    assert stored["facts"] == "Les faits."
    assert stored[TRANSLATIONS_KEY]["de"] == {"facts": "", "legal_classification": "x"}

    draft = refused.value.extra["request"]
    with pytest.raises(SectionFieldsRefused) as refused:
        request_save_section(
            request=draft,
            actor=prosecutor,
            section_code="E",
            values={"persons": values["persons"]},
            expected_version=draft.version,
        )
    problems = refused.value.extra["problems"]
    assert [(p.path, p.row) for p in problems] == [("E.persons.0.residence.translation", 0)]
    assert "too long" in problems[0].message
    row = refused.value.extra["request"].data["E"]["persons"][0]
    assert row["residence"] == "Paris"
    assert row[TRANSLATIONS_KEY]["de"]["residence"] == ""


def test_the_received_copy_keeps_the_translations_and_is_read_only(sent_eio, berlin_staff):
    issuing, received = sent_eio

    assert received.data == issuing.data
    with pytest.raises(ApplicationError, match="Only a draft"):
        request_translation_attached_set(request=received, actor=berlin_staff, attached=True)
    with pytest.raises(ApplicationError, match="Only a draft"):
        request_language_reason_record(request=received, actor=berlin_staff, reason="x")
    with pytest.raises(ApplicationError, match="Only a draft"):
        request_save_section(
            request=received,
            actor=berlin_staff,
            section_code="G",
            values={"facts": "x", TRANSLATIONS_KEY: {"de": {"facts": "y"}}},
            expected_version=received.version,
        )


def test_the_received_copy_learns_the_translation_choice_and_the_reason(
    ready_eio, prosecutor, berlin_staff, client
):
    from mla.requests.lifecycle.issuing import request_send

    Request.objects.filter(pk=ready_eio.pk).update(
        translation_attached=True, language_reason="Agreed with Berlin."
    )
    ready_eio.refresh_from_db()
    request_send(request=ready_eio, actor=prosecutor)
    ready_eio.refresh_from_db()
    received = ready_eio.counterpart

    assert received.translation_attached
    assert received.language_reason == "Agreed with Berlin."
    client.force_login(berlin_staff)
    page = client.get(received.get_absolute_url()).content.decode()
    assert "Agreed with Berlin." in page
    assert "is attached as a document." in page
    assert 'name="translation_attached"' not in page
