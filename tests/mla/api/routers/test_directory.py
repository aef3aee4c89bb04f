import pytest

from tests.support.api import ApiClient, api_token_for
from tests.support.factories import AuthorityFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(authorities):
    return ApiClient(api_token_for(UserFactory(authority=authorities["paris"]), "read"))


def test_countries_carry_their_instruments_and_accepted_languages(api, countries):
    response = api.get("/directory/countries/")

    assert response.status_code == 200
    germany = next(row for row in response.json() if row["code"] == "DE")
    assert germany["eio_bound"] is True
    assert germany["accepted_languages"] == {"eio": ["de", "en"]}


def test_the_search_filters_like_the_directory_page(api, authorities):
    response = api.get("/directory/authorities/", country="DE", instrument="eio")

    assert response.status_code == 200
    assert [row["identifier"] for row in response.json()["items"]] == ["de-berlin"]
    assert response.json()["items"][0]["languages"] == ["de"]


def test_pages_follow_the_cursor_to_the_end_without_repeating(api, countries):
    for number in range(7):
        AuthorityFactory(
            identifier=f"fr-extra-{number}", name=f"Extra {number}", country=countries["FR"]
        )
    seen: list[str] = []
    cursor = ""
    while True:
        params = {"country": "FR", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/directory/authorities/", **params).json()
        seen += [row["identifier"] for row in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert len(seen) == len(set(seen)) == 9  # 7 extra, Paris and its police unit


def test_one_authority_and_a_missing_one(api, authorities):
    found = api.get("/directory/authorities/fr-paris/")
    assert found.status_code == 200
    assert found.json()["postal_address"].startswith("1 parvis")

    missing = api.get("/directory/authorities/nowhere/")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
