"""The API's edge: who may call, how it refuses, its limits."""

import pytest
from django.test import Client

from tests.support.api import ApiClient, api_token_for
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_without_a_token_the_answer_is_a_401_problem_not_a_login_page():
    response = Client().get("/api/v1/requests/")

    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["code"] == "unauthenticated"
    assert body["type"] == "urn:mla-exchange:problem:unauthenticated"
    assert body["status"] == 401


def test_a_wrong_token_is_refused_even_with_a_signed_in_session(client):
    user = UserFactory()
    client.force_login(user)

    response = client.get("/api/v1/requests/", headers={"Authorization": "Bearer mla_00_x"})

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_a_token_without_the_scope_gets_403_insufficient_scope():
    token = api_token_for(UserFactory(), "webhooks")

    response = ApiClient(token).get("/requests/")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_a_token_never_opens_an_html_page():
    token = api_token_for(UserFactory())

    response = Client().get("/requests/", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_session_reads_the_api_but_writes_only_with_its_csrf_token():
    user = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    assert browser.get("/api/v1/requests/").status_code == 200
    refused = browser.post("/api/v1/requests/", data="{}", content_type="application/json")

    # Refused before the endpoint: without CSRF, the session is not a caller at all.
    assert refused.status_code == 403
    assert refused["Content-Type"] == PROBLEM
    assert refused.json()["code"] == "csrf_failed"


def test_a_method_the_endpoint_does_not_take_is_a_405_problem_with_allow():
    response = ApiClient(api_token_for(UserFactory())).send("DELETE", "/directory/countries/")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


def test_over_the_rate_limit_the_answer_is_429_with_retry_after(settings):
    settings.API_RATE_LIMIT = "3/m"
    api = ApiClient(api_token_for(UserFactory()))

    answers = [api.get("/requests/") for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["code"] == "rate_limited"
    assert 1 <= int(answers[-1]["Retry-After"]) <= 60
    # Another token of another user is counted apart.
    assert ApiClient(api_token_for(UserFactory())).get("/requests/").status_code == 200


def test_a_body_over_the_limit_is_refused_before_it_is_read(settings):
    settings.API_MAX_BODY_BYTES = 100
    api = ApiClient(api_token_for(UserFactory()))

    response = api.post("/requests/", raw=b"{" + b" " * 200 + b"}")

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(b'{"type": "eio", ', 400, "malformed", id="malformed JSON"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, 400, "malformed", id="nested too deep"),
        pytest.param(b'["eio", "DE"]', 422, "invalid", id="an array for an object"),
        pytest.param(
            b'{"type": 7, "executing_country": "DE"}', 422, "invalid", id="a number for a text"
        ),
        pytest.param(
            b'{"type": "' + b"e" * 1_000_000 + b'", "executing_country": "DE"}',
            422,
            "invalid",
            id="a huge string",
        ),
        pytest.param(
            b'{"type": "eio", "executing_country": "DE", "colour": "blue"}',
            422,
            "invalid",
            id="an unknown field",
        ),
        pytest.param(
            b'{"type": "eio", "executing_country": "DE", "data": {"G": {"facts": '
            + b"[" * 200
            + b"]" * 200
            + b"}}}",
            422,
            "fields_refused",
            id="a nested value for a text",
        ),
    ],
)
def test_a_bad_body_is_a_4xx_problem_document(prosecutor, body, status, code):
    response = ApiClient(api_token_for(prosecutor)).post("/requests/", raw=body)

    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code
    assert len(response.content) < 10_000  # never the input echoed back


def test_an_unknown_endpoint_is_a_404_problem():
    response = ApiClient(api_token_for(UserFactory())).get("/nothing/here/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_forged_cursor_is_a_400_problem():
    api = ApiClient(api_token_for(UserFactory()))

    for cursor in ("abc", "x" * 600, "eyJ0ZXN0IjoxfQ:1abc:def"):
        response = api.get("/requests/", cursor=cursor)
        assert response.status_code in (400, 422), cursor
        assert response["Content-Type"] == PROBLEM


def test_a_wrong_type_in_the_query_is_a_422_problem_naming_the_field():
    response = ApiClient(api_token_for(UserFactory())).get("/requests/", limit="many")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"][0]["location"][-1] == "limit"


def test_an_unknown_query_parameter_is_refused():
    response = ApiClient(api_token_for(UserFactory())).get("/requests/", colour="blue")

    assert response.status_code == 422


def test_the_schema_is_openapi_3_1_for_a_token_and_the_docs_need_a_signed_in_user(client):
    assert client.get("/api/v1/schema/").status_code == 302
    schema = ApiClient(api_token_for(UserFactory(), "read")).get("/schema/")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.1")

    assert client.get("/api/v1/docs/").status_code == 302
    client.force_login(UserFactory())
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
