"""References: one strict pattern, numbered per issuing authority, never from a node-wide key."""

import pytest
from django.utils import timezone

from contact_points.reference_codes import reference_code_derive
from mla.requests.drafting.services import request_create
from mla.requests.models import ReferenceCounter
from mla.requests.references import reference_next, reference_parse
from tests.support.factories import AuthorityFactory, UserFactory

pytestmark = pytest.mark.django_db


def _draft(author, countries, authorities, code="eio"):
    return request_create(
        actor=author,
        declaration_code=code,
        executing_country=countries["DE"],
        executing_authority=authorities["berlin"],
    )


def test_references_of_two_authorities_are_numbered_independently(
    prosecutor, countries, authorities
):
    lyon = AuthorityFactory(
        identifier="fr-lyon", name="Parquet de Lyon", country=countries["FR"], kind="prosecutor"
    )
    lyon_prosecutor = UserFactory(authority=lyon, roles=["prosecutor"])
    year = timezone.now().year

    paris = [_draft(prosecutor, countries, authorities) for _ in range(3)]
    first_of_lyon = _draft(lyon_prosecutor, countries, authorities)

    assert [draft.reference for draft in paris] == [
        f"FR-PARIS-EIO-{year}-00000{n}" for n in (1, 2, 3)
    ]
    # Lyon's first draft says nothing of how many Paris has made (nor of the node's rows).
    assert first_of_lyon.reference == f"FR-LYON-EIO-{year}-000001"
    assert first_of_lyon.pk != 1


def test_a_reference_has_the_one_pattern_with_its_issuers_country_and_code(eio_draft):
    parts = reference_parse(eio_draft.reference)

    assert parts is not None
    assert (parts.country, parts.authority, parts.instrument, parts.number) == (
        "FR",
        eio_draft.issuing_authority.reference_code,
        "EIO",
        1,
    )


def test_each_year_starts_its_own_sequence(authorities):
    paris = authorities["paris"]

    reference_next(authority=paris, declaration_code="mla", year=2026)
    last_of_2026 = reference_next(authority=paris, declaration_code="mla", year=2026)
    first_of_2027 = reference_next(authority=paris, declaration_code="eio", year=2027)

    assert last_of_2026 == "FR-PARIS-MLA-2026-000002"
    assert first_of_2027 == "FR-PARIS-EIO-2027-000001"
    assert ReferenceCounter.objects.filter(authority=paris).count() == 2


@pytest.mark.parametrize(
    "text",
    [
        "FR-PARIS-EIO-2026-000042/",
        "FR/PARIS-EIO-2026-000042",
        "../FR-PARIS-EIO-2026-000042",
        "fr-paris-eio-2026-000042",
        "FR-PARIS-EIO-2026-000042\n",
        "FR-EIO-2026-000042",  # the former pattern: still readable, never made or received
        "FR-PARIS-EIO-2026-42",
        "FR-A-EIO-2026-000042",
        "",
        "FR-PARIS-EIO-2026-" + "9" * 40,
    ],
)
def test_anything_else_is_not_a_reference(text):
    assert reference_parse(text) is None


def test_an_authority_gets_a_code_from_its_identifier_unique_on_the_node(countries):
    first = AuthorityFactory(identifier="fr-paris-1", country=countries["FR"])
    second = AuthorityFactory(identifier="fr-paris1", country=countries["FR"])
    long_named = AuthorityFactory(identifier="fr-tribunal-judiciaire-de-paris")

    assert first.reference_code == "PARIS1"
    # The same readable code is taken: a digest of the identifier tells them apart.
    assert second.reference_code != "PARIS1"
    assert second.reference_code == reference_code_derive(
        identifier="fr-paris1", country_code="FR", taken={"PARIS1"}
    )
    assert len(second.reference_code) == 12
    assert long_named.reference_code == "FRTRIBUNALJU"  # RO by the factory: no FR prefix cut


def test_a_derived_code_avoids_a_digest_already_taken():
    readable_taken = {"PROSECUTOR00"}
    first = reference_code_derive(
        identifier="xx-prosecutor-00001", country_code="XX", taken=readable_taken
    )

    second = reference_code_derive(
        identifier="xx-prosecutor-00001", country_code="XX", taken={*readable_taken, first}
    )

    assert first != second
    assert len(second) == 12
    assert second.startswith("PROSECUT")


def test_an_import_of_thousands_of_numbered_offices_gives_each_its_own_code(countries):
    import json

    from contact_points.directory_io import directory_export_json, directory_import
    from contact_points.models import Authority

    document = json.loads(directory_export_json())
    template = {
        "country": "FR",
        "kind": "prosecutor",
        "name": "Office",
        "time_zone": "Europe/Paris",
    }
    document["authorities"] = [
        {**template, "identifier": f"fr-prosecutor-{number:05d}", "name": f"Office {number}"}
        for number in range(3000)
    ]

    directory_import(data=json.dumps(document).encode(), fmt="json")

    codes = list(Authority.objects.values_list("reference_code", flat=True))
    assert len(codes) == len(set(codes)) == 3000
