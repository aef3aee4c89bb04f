import pytest
from django.urls import reverse
from django.utils import timezone

from contact_points.services import authority_set_public_key
from tests.support.factories import (
    AuthorityFactory,
    CountryFactory,
    ServiceProviderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_client(client):
    client.force_login(UserFactory())
    return client


@pytest.fixture
def directory():
    romania = CountryFactory(code="RO", name="Romania")
    germany = CountryFactory(code="DE", name="Germany")
    return {
        "ro_247": AuthorityFactory(
            identifier="ro-247-point",
            name="Romanian 24/7 point",
            country=romania,
            kind="point_24_7",
            available_24_7=True,
            time_zone="Europe/Bucharest",
            office_hours="",
            languages=["en", "ro"],
            instruments=["preservation"],
            last_verified_at=timezone.localdate(),
        ),
        "de_prosecutor": AuthorityFactory(
            identifier="de-berlin-prosecutor",
            name="Berlin public prosecutor",
            name_local="Staatsanwaltschaft Berlin",
            country=germany,
            kind="prosecutor",
            time_zone="Europe/Berlin",
            languages=["de"],
            instruments=["eio", "mla"],
        ),
        "de_court": AuthorityFactory(
            identifier="de-munich-court",
            name="Munich regional court",
            country=germany,
            kind="court",
            time_zone="Europe/Berlin",
            languages=["de", "en"],
            instruments=["mla"],
        ),
        "de_inactive": AuthorityFactory(
            identifier="de-old",
            name="Former unit",
            country=germany,
            kind="prosecutor",
            instruments=["eio"],
            active=False,
        ),
    }


def _names(response):
    return [row.authority.name for row in response.context["rows"]]


def test_the_directory_requires_login(client):
    response = client.get(reverse("contact_points:search"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_who_receives_an_eio_in_germany_and_in_which_languages(user_client, directory):
    response = user_client.get(
        reverse("contact_points:search"), {"country": "DE", "instrument": "eio"}
    )

    assert _names(response) == ["Berlin public prosecutor"]
    assert "Staatsanwaltschaft Berlin" in response.content.decode()


def test_which_247_point_covers_romania_and_its_time_now(user_client, directory):
    response = user_client.get(
        reverse("contact_points:search"), {"country": "RO", "kind": "point_24_7"}
    )

    assert _names(response) == ["Romanian 24/7 point"]
    page = response.content.decode()
    assert "Europe/Bucharest" in page
    assert "(UTC+02:00)" in page or "(UTC+03:00)" in page  # EET or EEST


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"language": "en"}, ["Munich regional court", "Romanian 24/7 point"]),
        ({"q": "munich"}, ["Munich regional court"]),
        ({"q": "staatsanwaltschaft"}, ["Berlin public prosecutor"]),
        ({"q": "germany court"}, ["Munich regional court"]),
        ({"available_24_7": "on"}, ["Romanian 24/7 point"]),
        (
            {"country": "DE", "inactive": "on"},
            ["Berlin public prosecutor", "Former unit", "Munich regional court"],
        ),
        ({"stale": "on", "country": "DE"}, ["Berlin public prosecutor", "Munich regional court"]),
        ({"q": "nothing-like-this"}, []),
    ],
)
def test_search_filters(user_client, directory, params, expected):
    response = user_client.get(reverse("contact_points:search"), params)

    assert sorted(_names(response)) == sorted(expected)


def test_an_invalid_filter_value_is_reported_not_crashed(user_client, directory):
    response = user_client.get(reverse("contact_points:search"), {"kind": "<script>"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert "<script>" not in response.content.decode()


def test_detail_shows_the_fingerprint_in_groups_of_four(user_client, directory, openpgp_keys):
    authority = directory["ro_247"]
    authority_set_public_key(authority=authority, armored=openpgp_keys.valid)
    fpr = openpgp_keys.valid_fingerprint

    response = user_client.get(reverse("contact_points:authority", args=["ro-247-point"]))

    grouped = " ".join(fpr[i : i + 4] for i in range(0, 40, 4))
    assert grouped in response.content.decode()
    assert "Open now (24/7)" in response.content.decode()


def test_detail_of_an_unknown_authority_is_404(user_client):
    response = user_client.get(reverse("contact_points:authority", args=["nope"]))

    assert response.status_code == 404


def test_user_text_is_escaped(user_client):
    AuthorityFactory(identifier="ro-x", name="<img src=x onerror=alert(1)>")

    response = user_client.get(reverse("contact_points:search"))

    assert "<img src=x" not in response.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.content.decode()


def test_search_page_query_count_does_not_grow_with_results(
    user_client, directory, django_assert_max_num_queries
):
    with django_assert_max_num_queries(15) as few:
        user_client.get(reverse("contact_points:search"))
    for number in range(30):
        AuthorityFactory(identifier=f"ro-extra-{number}", languages=["ro"], instruments=["mla"])

    with django_assert_max_num_queries(len(few.captured_queries)):
        user_client.get(reverse("contact_points:search"))


def test_detail_groups_phone_numbers_for_reading(user_client, directory):
    directory["ro_247"].phone = "+40210000010"
    directory["ro_247"].save()

    response = user_client.get(reverse("contact_points:authority", args=["ro-247-point"]))

    assert "+40 21 000 0010" in response.content.decode()


def test_country_and_language_names_follow_the_interface_language(user_client, directory):
    user_client.cookies["django_language"] = "fr"

    response = user_client.get(reverse("contact_points:search"), {"country": "RO"})

    page = response.content.decode()
    assert "Roumanie" in page
    assert "2 autorités trouvées" in page  # the 24/7 point and the user's own office


# --- e-Evidence: service providers, enforcing and central authorities ------------------------


@pytest.fixture
def eevidence_directory():
    netherlands = CountryFactory(code="NL", name="Netherlands", eevidence_bound=True)
    return {
        "provider": ServiceProviderFactory(
            identifier="nl-example-hosting",
            name="Example Hosting, designated establishment",
            country=netherlands,
            provider_name="Example Hosting B.V.",
            provider_services=["domain_name_ip_numbering"],
            emergency_phone="+31700000031",
            emergency_email="emergency@example-hosting.example",
            languages=["en", "nl"],
        ),
        "enforcing": AuthorityFactory(
            identifier="nl-eevidence-enforcing",
            name="Dutch enforcing authority",
            country=netherlands,
            kind="central_authority",
            instruments=["epoc_notification"],
        ),
        "central": AuthorityFactory(
            identifier="nl-central-authority",
            name="Dutch central authority",
            country=netherlands,
            kind="central_authority",
            instruments=["eio", "mla"],
            eevidence_central_authority=True,
        ),
    }


def test_the_directory_lists_a_service_provider_with_its_fields(user_client, eevidence_directory):
    response = user_client.get(
        reverse("contact_points:search"), {"kind": "service_provider", "country": "NL"}
    )

    assert _names(response) == ["Example Hosting, designated establishment"]
    page = response.content.decode()
    assert "Example Hosting B.V." in page
    assert "Designated establishment" in page
    assert "Internet domain name and IP numbering services" in page
    assert "emergency@example-hosting.example" in page
    assert "tel:+31700000031" in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"service": "domain_name_ip_numbering"}, ["Example Hosting, designated establishment"]),
        ({"service": "electronic_communications"}, []),
        (
            {"designation": "designated_establishment"},
            ["Example Hosting, designated establishment"],
        ),
        ({"designation": "legal_representative"}, []),
        ({"instrument": "epoc_notification"}, ["Dutch enforcing authority"]),
    ],
)
def test_the_directory_filters_on_a_providers_fields(
    user_client, eevidence_directory, params, expected
):
    response = user_client.get(reverse("contact_points:search"), params)

    assert _names(response) == expected


def test_a_providers_page_shows_what_an_issuer_needs(user_client, eevidence_directory):
    response = user_client.get(reverse("contact_points:authority", args=["nl-example-hosting"]))

    page = response.content.decode()
    assert "Service provider (e-Evidence addressee)" in page
    assert "Example Hosting B.V." in page
    assert "Languages it accepts orders in" in page
    assert "emergency@example-hosting.example" in page
    assert "Enforcing authority under Regulation (EU) 2023/1543" not in page


def test_enforcing_and_central_authorities_are_named_as_such(user_client, eevidence_directory):
    enforcing = user_client.get(
        reverse("contact_points:authority", args=["nl-eevidence-enforcing"])
    ).content.decode()
    central = user_client.get(
        reverse("contact_points:authority", args=["nl-central-authority"])
    ).content.decode()

    assert "Enforcing authority under Regulation (EU) 2023/1543" in enforcing
    assert "Central authority under Directive (EU) 2023/1544" not in enforcing
    assert "Central authority under Directive (EU) 2023/1544 (Art. 6)" in central
    assert "Enforcing authority under Regulation (EU) 2023/1543" not in central
    assert "Service provider (e-Evidence addressee)" not in central
