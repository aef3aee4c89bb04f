"""Drafting a European Production or Preservation Order: what the new-request page offers,
the language it goes in (the addressee's), and when it needs validation (Art. 4)."""

import pytest

from contact_points.models import AcceptedLanguages
from mla.core.errors import ApplicationError
from mla.instruments import eevidence
from mla.instruments.declarations import declaration_for
from mla.requests.drafting.language import request_problems, target_language
from mla.requests.drafting.services import request_create
from mla.requests.selectors import drafting_options
from tests.support.factories import CountryFactory, UserFactory, service_provider_addressee
from tests.support.samples import certificate_data

pytestmark = pytest.mark.django_db

EPOC = declaration_for("epoc")


@pytest.fixture
def eevidence_countries(countries):
    for code in ("FR", "DE"):
        countries[code].eevidence_bound = True
        countries[code].save(update_fields=["eevidence_bound"])
    denmark = CountryFactory(code="DK", name="Denmark", eio_bound=False, eevidence_bound=False)
    return {**countries, "DK": denmark}


@pytest.fixture
def provider(eevidence_countries):
    return service_provider_addressee(
        country=eevidence_countries["DE"],
        identifier="de-mailcorp",
        name="MailCorp GmbH (designated establishment)",
    )


def _options(user, country) -> dict:
    return {
        option.declaration.code: option
        for option in drafting_options(user=user, executing_country=country, language="en")
    }


def test_epoc_and_epoc_pr_are_offered_between_two_member_states_with_their_basis(
    prosecutor, eevidence_countries, provider
):
    options = _options(prosecutor, eevidence_countries["DE"])

    for code in ("epoc", "epoc_pr"):
        assert options[code].applies, code
        assert "e-Evidence Regulation" in options[code].basis
        assert options[code].authorities == [provider]
    assert "epoc_notification" not in options


def test_no_epoc_to_denmark_nor_to_ones_own_country(prosecutor, eevidence_countries, provider):
    to_denmark = _options(prosecutor, eevidence_countries["DK"])["epoc"]
    at_home = _options(prosecutor, eevidence_countries["FR"])["epoc"]

    assert not to_denmark.applies
    assert "does not take part" in to_denmark.reason
    assert not at_home.applies
    assert "national law" in at_home.reason
    assert "epoc_notification" not in _options(prosecutor, eevidence_countries["DK"])


def test_the_copy_for_the_enforcing_authority_is_never_drafted(
    prosecutor, eevidence_countries, provider
):
    with pytest.raises(ApplicationError, match="made by the system"):
        request_create(
            actor=prosecutor,
            declaration_code="epoc_notification",
            executing_country=eevidence_countries["DE"],
        )


def test_an_epoc_goes_in_a_language_its_addressee_accepts(
    prosecutor, eevidence_countries, provider
):
    # The country accepts German; the provider declared English only.
    policy = AcceptedLanguages.objects.create(country=eevidence_countries["DE"], instrument="epoc")
    policy.languages.set(["de"])
    provider.languages.set(["en"])

    choice = target_language(
        country=eevidence_countries["DE"], declaration=EPOC, authority=provider
    )
    draft = request_create(
        actor=prosecutor,
        declaration_code="epoc",
        executing_country=eevidence_countries["DE"],
        executing_authority=provider,
    )

    assert (choice.code, choice.accepted) == ("en", ("en",))
    assert choice.reason == f"{provider.name} accepts English for European Production Orders."
    assert draft.executing_language == "en"
    assert draft.data["B"]["addressee"] == provider.name
    assert draft.data["B"]["executing_state"] == "DE"


def test_an_addressee_that_declared_no_language_takes_its_countrys(
    prosecutor, eevidence_countries, provider
):
    policy = AcceptedLanguages.objects.create(country=eevidence_countries["DE"], instrument="epoc")
    policy.languages.set(["de", "en"])

    choice = target_language(
        country=eevidence_countries["DE"], declaration=EPOC, authority=provider
    )

    assert (choice.code, choice.accepted) == ("de", ("de", "en"))
    assert choice.reason == "Germany accepts German for European Production Orders."


def test_an_eio_ignores_the_authoritys_own_languages(countries, authorities):
    choice = target_language(
        country=countries["DE"], declaration=declaration_for("eio"), authority=authorities["berlin"]
    )

    # Berlin lists German only; Germany accepts German and English for the EIO.
    assert choice.accepted == ("de", "en")


def test_a_language_the_addressee_does_not_accept_needs_a_reason(
    prosecutor, eevidence_countries, provider
):
    provider.languages.set(["pt"])
    draft = request_create(
        actor=prosecutor,
        declaration_code="epoc",
        executing_country=eevidence_countries["DE"],
        executing_authority=provider,
    )
    draft.data = certificate_data()
    draft.save()

    problems = [problem for problem in request_problems(request=draft) if not problem.section]

    assert draft.executing_language == "en"
    assert len(problems) == 1
    assert provider.name in problems[0].message


@pytest.mark.parametrize(
    ("kind", "categories", "needed"),
    [
        ("prosecutor", (eevidence.SUBSCRIBER,), False),
        ("prosecutor", (eevidence.SUBSCRIBER, eevidence.TRAFFIC), True),
        ("court", (eevidence.CONTENT,), False),
        ("police", (eevidence.IDENTIFICATION,), True),
    ],
)
def test_a_request_needs_validation_by_its_issuers_kind_and_the_data(
    eevidence_countries, provider, kind, categories, needed
):
    authority = provider.__class__.objects.create(
        identifier=f"fr-{kind}",
        name=f"French {kind}",
        country=eevidence_countries["FR"],
        kind=kind,
    )
    user = UserFactory(authority=authority, roles=["prosecutor"], preferred_language="en")
    draft = request_create(
        actor=user,
        declaration_code="epoc",
        executing_country=eevidence_countries["DE"],
        executing_authority=provider,
    )
    draft.data = certificate_data(categories=categories)
    draft.save()

    assert draft.needs_validation is needed


def test_other_requests_keep_their_validation_rule(eio_draft):
    eio_draft.data = {"K": {"issuer_type": "other_authority"}}
    assert eio_draft.needs_validation
    eio_draft.data = {"K": {"issuer_type": "prosecutor"}}
    assert not eio_draft.needs_validation
