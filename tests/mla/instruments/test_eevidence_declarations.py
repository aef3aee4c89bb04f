"""The EPOC (Annex I), the EPOC-PR (Annex II) and the enforcing authority's copy of an EPOC:
their completeness rules, the need for validation by authority kind and data category
(Art. 4), Annex IV and the provenance of their labels."""

import json

import pytest

from mla.instruments import eevidence
from mla.instruments.annex_iv import ANNEX_IV_CATEGORIES, ANNEX_IV_VERIFIED, annex_iv_label_key
from mla.instruments.completeness import request_completeness
from mla.instruments.declarations import DECLARATIONS, declaration_for
from mla.instruments.declarations.eevidence import EPOC, EPOC_NOTIFICATION, EPOC_PR
from mla.instruments.labels import LABELS_DIR, label, label_source, label_verified
from tests.support.labels import label_keys
from tests.support.samples import certificate_data


def _problems(declaration, data) -> dict[str, str]:
    return {
        problem.path: problem.message
        for problem in request_completeness(declaration=declaration, data=data)
    }


@pytest.mark.parametrize("code", ["epoc", "epoc_pr", "epoc_notification"])
def test_a_complete_certificate_has_no_problem(code):
    declaration = declaration_for(code)

    assert _problems(declaration, certificate_data(code)) == {}
    assert _problems(declaration, certificate_data(code, emergency=True)) == {}


def test_the_declarations_are_registered_with_their_annexes():
    assert {code: DECLARATIONS[code].legal_basis for code in eevidence.E_EVIDENCE_DECLARATIONS} == {
        "epoc": "Regulation (EU) 2023/1543, Annex I",
        "epoc_pr": "Regulation (EU) 2023/1543, Annex II",
        "epoc_notification": "Regulation (EU) 2023/1543, Annex I; Art. 8",
    }
    assert [section.code for section in EPOC.sections] == list("ABCDEFGHIJKLM")
    assert [section.code for section in EPOC_PR.sections] == list("ABDEFGIJKL")
    assert EPOC.directory_instrument == "epoc"
    assert EPOC_NOTIFICATION.directory_instrument == "epoc_notification"
    assert (EPOC.drafted, EPOC_PR.drafted, EPOC_NOTIFICATION.drafted) == (True, True, False)
    assert EPOC.issuer_kinds == ("court", "investigating_judge", "prosecutor", "police")


def test_an_emergency_needs_its_grounds_and_their_justification():
    data = certificate_data()
    data["C"]["deadline"] = eevidence.EIGHT_HOURS

    problems = _problems(EPOC, data)

    assert set(problems) == {"C.emergency_grounds", "C.emergency_justification"}
    assert eevidence.is_emergency(data)


def test_traffic_or_content_data_need_the_art_5_4_basis_and_the_art_8_answers():
    data = certificate_data(categories=(eevidence.CONTENT,))
    for name in ("art_5_4_basis", "offence_in_issuing_state", "person_resides_in_issuing_state"):
        data["G"][name] = ""

    problems = _problems(EPOC, data)

    assert {
        "G.art_5_4_basis",
        "G.offence_in_issuing_state",
        "G.person_resides_in_issuing_state",
    } <= set(problems)


def test_subscriber_data_alone_need_neither_the_basis_nor_the_answers():
    data = certificate_data(categories=(eevidence.SUBSCRIBER, eevidence.IDENTIFICATION))
    for name in ("art_5_4_basis", "offence_in_issuing_state", "person_resides_in_issuing_state"):
        data["G"][name] = ""

    assert _problems(EPOC, data) == {}
    assert data["H"]["enforcing_authority_notified"] == "no"


def test_delaying_the_information_of_the_person_needs_a_justification():
    data = certificate_data()
    data["G"]["information_delayed"] = True
    data["G"]["information_delay_justification"] = ""

    assert set(_problems(EPOC, data)) == {"G.information_delay_justification"}


def test_at_least_one_data_category_and_the_detail_of_each():
    data = certificate_data()
    data["F"]["data_categories"] = []
    assert "F.data_categories" in _problems(EPOC, data)

    data = certificate_data(categories=(eevidence.SUBSCRIBER, eevidence.TRAFFIC))
    data["F"]["traffic_details"] = ""
    assert set(_problems(EPOC, data)) == {"F.traffic_details"}


def test_another_establishment_is_addressed_only_in_an_emergency_and_with_reasons():
    data = certificate_data()
    data["B"]["other_establishment"] = True

    problems = _problems(EPOC, data)
    assert set(problems) == {"B.other_establishment"}
    assert "8-hour" in problems["B.other_establishment"]

    data = certificate_data(emergency=True)
    data["B"]["other_establishment"] = True
    data["B"]["other_establishment_justification"] = ""
    assert set(_problems(EPOC, data)) == {"B.other_establishment_justification"}


@pytest.mark.parametrize(
    ("categories", "offence_home", "person_home", "notified"),
    [
        ((eevidence.TRAFFIC,), "no", "unknown", True),
        ((eevidence.CONTENT,), "yes", "yes", False),
        ((eevidence.SUBSCRIBER,), "no", "no", False),
    ],
)
def test_section_h_must_state_what_article_8_decides(
    categories, offence_home, person_home, notified
):
    data = certificate_data(
        categories=categories,
        offence_in_issuing_state=offence_home,
        person_resides_in_issuing_state=person_home,
    )
    assert data["H"]["enforcing_authority_notified"] == ("yes" if notified else "no")
    assert _problems(EPOC, data) == {}

    data["H"]["enforcing_authority_notified"] = "no" if notified else "yes"
    problems = _problems(EPOC, data)

    assert set(problems) == {"H.enforcing_authority_notified"}
    assert ("must be notified" in problems["H.enforcing_authority_notified"]) == notified


@pytest.mark.parametrize(
    ("kind", "categories", "needed"),
    [
        ("court", (eevidence.CONTENT,), False),
        ("investigating_judge", (eevidence.TRAFFIC,), False),
        ("prosecutor", (eevidence.TRAFFIC,), True),
        ("prosecutor", (eevidence.SUBSCRIBER, eevidence.IDENTIFICATION), False),
        ("police", (eevidence.SUBSCRIBER,), True),
        ("police", (eevidence.CONTENT,), True),
        ("prosecutor", (), False),
        ("police", (), True),
    ],
)
def test_a_production_order_needs_validation_when_its_issuer_may_not_issue_it_alone(
    kind, categories, needed
):
    data = certificate_data(categories=categories)

    assert EPOC.validation_rule is not None
    assert EPOC.validation_rule(data, kind) is needed
    assert EPOC_NOTIFICATION.validation_rule(data, kind) is needed


@pytest.mark.parametrize(
    ("kind", "needed"), [("court", False), ("prosecutor", False), ("police", True)]
)
def test_a_preservation_order_of_any_data_needs_validation_only_from_the_police(kind, needed):
    data = certificate_data("epoc_pr", categories=(eevidence.CONTENT,))

    assert EPOC_PR.validation_rule is not None
    assert EPOC_PR.validation_rule(data, kind) is needed


def test_validators_of_sensitive_data_are_judges_only():
    sensitive = certificate_data(categories=(eevidence.TRAFFIC,))
    subscriber = certificate_data(categories=(eevidence.SUBSCRIBER,))

    assert eevidence.validator_kinds(sensitive) == {"court", "investigating_judge"}
    assert "prosecutor" in eevidence.validator_kinds(subscriber)
    assert "prosecutor" in eevidence.validator_kinds(sensitive, eevidence.EPOC_PR)


def test_section_g_offers_the_annex_iv_categories_marked_unverified():
    field = next(item for item in EPOC.sections[6].items if item.name == "annex_iv_category")

    assert field.type == "choice"
    assert field.choices == ANNEX_IV_CATEGORIES
    assert len(ANNEX_IV_CATEGORIES) == 32
    assert not ANNEX_IV_VERIFIED
    for code in ANNEX_IV_CATEGORIES:
        assert annex_iv_label_key(code) == f"{field.label}.{code}"
        assert not label_verified(annex_iv_label_key(code), "en")
    assert label(annex_iv_label_key("terrorism"), "fr") == "terrorisme"


def test_section_m_is_withheld_from_the_addressee_only():
    data = certificate_data()

    assert "M" in data
    assert "M" not in eevidence.data_for_addressee(declaration_code="epoc", data=data)
    assert "M" in eevidence.data_for_addressee(declaration_code="epoc_notification", data=data)


@pytest.mark.parametrize("language", ["en", "fr", "de", "es"])
def test_every_e_evidence_label_is_marked_unverified_with_its_source(language):
    provenance = json.loads((LABELS_DIR / "provenance.json").read_text(encoding="utf-8"))
    keys = {
        key for declaration in (EPOC, EPOC_PR, EPOC_NOTIFICATION) for key in label_keys(declaration)
    }

    assert sorted(keys - set(provenance["unverified"][language])) == []
    assert "2023/1543" in label_source("epoc.G.title", language)
    assert "2023/1543" in label_source("epoc_pr.title", language)
    assert "2023/1543" in label_source("epoc_notification.title", language)


@pytest.mark.parametrize("emergency", [False, True])
@pytest.mark.parametrize("categories", [("subscriber",), ("traffic",), ("content", "subscriber")])
def test_exactly_one_production_clock_applies_to_any_epoc(emergency, categories):
    data = certificate_data("epoc", categories=categories, emergency=emergency)
    applying = [
        rule
        for rule in EPOC.deadlines
        if rule.code == "production" and (rule.applies_if is None or rule.applies_if(data))
    ]

    (production,) = applying
    if emergency:
        assert (production.hours, production.source) == (8, "Regulation (EU) 2023/1543, Art. 10(4)")
    else:
        assert production.days == 10
        notified = eevidence.notification_required(data)
        assert production.source.endswith("Art. 10(2)" if notified else "Art. 10(3)")


def test_each_certificate_lists_its_clocks():
    assert {rule.code for rule in EPOC.deadlines} == {"production", "impossibility_answer"}
    assert {rule.code for rule in EPOC_PR.deadlines} == {"preservation", "impossibility_answer"}
    assert [rule.code for rule in EPOC_NOTIFICATION.deadlines] == [
        eevidence.ENFORCING_ASSESSMENT,
        eevidence.ENFORCING_ASSESSMENT_EMERGENCY,
    ]
