"""Service providers as addressees of Regulation (EU) 2023/1543: their fields, and which
entries may receive the e-Evidence instruments."""

import pytest
from django.core.exceptions import ValidationError

from contact_points.models import (
    Authority,
    authority_instruments_problems,
    instruments_offered_by_default,
)
from contact_points.selectors import DirectoryQuery, authority_search
from contact_points.services import authority_instruments_check
from mla.core.errors import ApplicationError
from tests.support.factories import AuthorityFactory, CountryFactory, ServiceProviderFactory

pytestmark = pytest.mark.django_db


def test_a_complete_service_provider_is_valid_and_its_fields_are_normalised():
    provider = ServiceProviderFactory.build(
        identifier="ie-example-mail",
        country=CountryFactory(code="IE", name="Ireland", eevidence_bound=True),
        emergency_phone="00353 1 555 0100",
        provider_services=["information_society", "electronic_communications"],
    )

    provider.full_clean()

    assert provider.emergency_phone == "+35315550100"
    assert provider.provider_services == ["electronic_communications", "information_society"]


def test_a_service_provider_without_its_provider_fields_is_refused_field_by_field():
    provider = ServiceProviderFactory.build(
        identifier="ie-bare-provider",
        country=CountryFactory(code="IE", name="Ireland", eevidence_bound=True),
        provider_name="",
        provider_services=[],
        provider_designation="",
        emergency_phone="",
        emergency_email="",
    )

    with pytest.raises(ValidationError) as caught:
        provider.full_clean()

    errors = caught.value.message_dict
    assert set(errors) == {
        "provider_name",
        "provider_services",
        "provider_designation",
        "emergency_phone",
        "emergency_email",
    }
    assert "8 hours" in errors["emergency_phone"][0]


def test_another_kind_of_entry_may_not_carry_provider_fields():
    prosecutor = AuthorityFactory.build(
        identifier="ro-prosecutor",
        country=CountryFactory(),
        provider_name="Example Mail Ltd",
        emergency_email="emergency@example.org",
    )

    with pytest.raises(ValidationError) as caught:
        prosecutor.full_clean()

    errors = caught.value.message_dict
    assert set(errors) == {"provider_name", "emergency_email"}
    assert "service provider" in errors["provider_name"][0]


def test_unknown_services_are_refused():
    provider = ServiceProviderFactory.build(
        identifier="ie-provider",
        country=CountryFactory(code="IE", name="Ireland", eevidence_bound=True),
        provider_services=["electronic_communications", "carrier_pigeons"],
    )

    with pytest.raises(ValidationError) as caught:
        provider.full_clean()

    assert "carrier_pigeons" in caught.value.message_dict["provider_services"][0]


@pytest.mark.parametrize(
    ("kind", "bound", "instruments", "refused_because"),
    [
        ("service_provider", True, ["epoc", "epoc_pr"], None),
        ("service_provider", False, ["epoc"], "does not take part"),
        ("service_provider", True, ["epoc_notification"], "cannot be an enforcing authority"),
        ("service_provider", True, ["epoc", "mla"], "receives only"),
        ("prosecutor", True, ["epoc_pr"], "only an entry of kind"),
        ("central_authority", True, ["epoc_notification", "eio"], None),
        ("prosecutor", False, ["eio", "mla"], None),
    ],
)
def test_which_entries_receive_the_e_evidence_instruments(
    kind, bound, instruments, refused_because
):
    country = (
        CountryFactory(code="NL", name="Netherlands", eevidence_bound=True)
        if bound
        else CountryFactory(code="DK", name="Denmark", eevidence_bound=False)
    )

    problems = authority_instruments_problems(kind=kind, country=country, instruments=instruments)

    if refused_because is None:
        assert problems == []
        authority_instruments_check(kind=kind, country=country, instruments=instruments)
    else:
        assert len(problems) == 1
        assert refused_because in problems[0]
        with pytest.raises(ApplicationError, match=refused_because):
            authority_instruments_check(kind=kind, country=country, instruments=instruments)


def test_a_new_entry_is_offered_the_instruments_of_its_kind():
    assert instruments_offered_by_default(kind="service_provider") == ["epoc", "epoc_pr"]
    assert instruments_offered_by_default(kind="prosecutor") == ["eio", "mla", "preservation"]


def test_enforcing_and_provider_facts_read_from_the_entry():
    provider = ServiceProviderFactory(identifier="ie-example-mail")
    enforcing = AuthorityFactory(
        kind="central_authority",
        instruments=["epoc_notification"],
        eevidence_central_authority=True,
    )

    assert provider.is_service_provider
    assert not provider.is_enforcing_authority
    assert [str(label) for label in provider.provider_services_labels] == [
        "Electronic communications services",
        "Other information society services enabling communication or storage",
    ]
    assert enforcing.is_enforcing_authority
    assert not enforcing.is_service_provider


def test_the_directory_search_filters_on_a_providers_service_and_capacity():
    mail = ServiceProviderFactory(identifier="ie-example-mail", name="Example Mail (IE)")
    domains = ServiceProviderFactory(
        identifier="ie-example-domains",
        name="Example Domains (IE)",
        provider_name="Example Domains Ltd",
        provider_services=["domain_name_ip_numbering"],
        provider_designation="legal_representative",
    )
    AuthorityFactory(identifier="ro-prosecutor")

    def found(**query):
        return set(
            authority_search(query=DirectoryQuery(**query)).values_list("identifier", flat=True)
        )

    assert found(provider_service="domain_name_ip_numbering") == {domains.identifier}
    assert found(provider_service="electronic_communications") == {mail.identifier}
    assert found(provider_designation="designated_establishment") == {mail.identifier}
    # The provider's name is searched as the entry's own.
    assert found(text="example mail ltd") == {mail.identifier}
    assert Authority.objects.filter(kind="service_provider").count() == 2
