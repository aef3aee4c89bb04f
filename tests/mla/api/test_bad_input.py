"""Bad input on every operation of the schema, of the kinds a generator from the schema does
not make: a body that is not JSON or not sent as JSON, JSON of the wrong type, a body over
the limit, a cursor the node did not give. Each is a 4xx problem document with a status the
operation documents, never a 5xx.

The operations are read from the schema, so one added later is covered without naming it.
"""

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from mla.api.cursors import cursor_encode
from mla.api.main import api
from mla.api.problems import PROBLEM_MEDIA_TYPE
from tests.support.api import ApiClient, ApiWorld, api_token_for, api_world_create
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

SCHEMA = api.get_openapi_schema()
OPERATION = ("method", "path", "operation")
OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]


def _ids(operations: list[tuple[str, str, dict]]) -> list[str]:
    return [f"{method} {path}" for method, path, _operation in operations]


def _with_body(operations: list[tuple[str, str, dict]]) -> list[tuple[str, str, dict]]:
    return [
        item
        for item in operations
        if "application/json" in item[2].get("requestBody", {}).get("content", {})
    ]


def _with_cursor(operations: list[tuple[str, str, dict]]) -> list[tuple[str, str, dict]]:
    return [
        item
        for item in operations
        if any(p["in"] == "query" and p["name"] == "cursor" for p in item[2]["parameters"])
    ]


def _path(path: str, operation: dict, world: ApiWorld | None = None) -> str:
    """The path with each parameter filled in: with something of the caller's where the
    world has it, else with a value of the parameter's type and pattern."""
    for parameter in operation["parameters"]:
        if parameter["in"] == "path":
            known = world.examples.get(parameter["name"]) if world else None
            value = known[0] if known else _sample(parameter["schema"])
            path = path.replace("{" + parameter["name"] + "}", value)
    return path.removeprefix("/api/v1")


def _sample(schema: dict) -> str:
    if schema.get("type") == "integer":
        return "1"
    if schema.get("format") == "uuid":
        return "00000000-0000-4000-8000-000000000001"
    return "x1"


def _refused(response: Any, operation: dict, status: int) -> dict:
    assert response.status_code == status, response.content
    assert str(status) in {str(key) for key in operation["responses"]}
    assert response["Content-Type"] == PROBLEM_MEDIA_TYPE
    return response.json()


def _call(client: ApiClient, method: str, path: str, body: bytes) -> Any:
    """Any method with a body (a GET too) and If-Match, so that a write gets to its body."""
    return client.client.generic(
        method,
        f"/api/v1{path}",
        data=body,
        content_type="application/json",
        headers={**client.headers, "If-Match": "*"},
    )


@pytest.fixture
def client() -> ApiClient:
    return ApiClient(api_token_for(UserFactory()))


@pytest.mark.parametrize(OPERATION, OPERATIONS, ids=_ids(OPERATIONS))
def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client, settings, method, path, operation
):
    settings.API_MAX_BODY_BYTES = 1000
    body = json.dumps({"padding": "x" * 2000})

    response = _call(client, method, _path(path, operation), body.encode())

    assert _refused(response, operation, 413)["code"] == "too_large"


BODY_OPERATIONS = _with_body(OPERATIONS)


@pytest.mark.parametrize(OPERATION, BODY_OPERATIONS, ids=_ids(BODY_OPERATIONS))
@pytest.mark.parametrize("body", [b"{", b'{"a": 1', b"\xff\xfe", b"{'single': 'quotes'}"])
def test_a_body_that_is_not_json_is_a_400(client, method, path, operation, body):
    response = _call(client, method, _path(path, operation), body)

    assert _refused(response, operation, 400)["code"] == "malformed"


@pytest.mark.parametrize(OPERATION, BODY_OPERATIONS, ids=_ids(BODY_OPERATIONS))
@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_json_sent_as_another_media_type_is_a_415(client, method, path, operation, media_type):
    response = client.client.generic(
        method,
        f"/api/v1{_path(path, operation)}",
        data=b'{"url": "https://example.org/"}',
        content_type=media_type,
        headers={**client.headers, "If-Match": "*"},
    )

    assert _refused(response, operation, 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(OPERATION, BODY_OPERATIONS, ids=_ids(BODY_OPERATIONS))
@pytest.mark.parametrize("body", ["a string", 12, None, [[]], {"x-unknown-field": 1}])
def test_json_of_the_wrong_shape_is_a_422_naming_where(client, method, path, operation, body):
    response = _call(client, method, _path(path, operation), json.dumps(body).encode())

    problem = _refused(response, operation, 422)
    assert problem["code"] == "invalid"
    assert problem["errors"]


CURSOR_OPERATIONS = _with_cursor(OPERATIONS)


def _forged_cursors() -> list[str]:
    signed_elsewhere = cursor_encode(kind="some-other-list", key=[1])
    return [
        "abc",
        "x" * 500,
        signed_elsewhere,
        signed_elsewhere[:-2],
        signed_elsewhere.replace(":", ";"),
        "eyJ0ZXN0IjoxfQ:1abc:def",
    ]


@pytest.fixture
def world(sent_eio, authorities, countries) -> ApiWorld:
    return api_world_create(authorities=authorities, countries=countries, sent_eio=sent_eio)


@pytest.mark.parametrize(OPERATION, CURSOR_OPERATIONS, ids=_ids(CURSOR_OPERATIONS))
def test_a_cursor_the_node_did_not_give_for_this_list_is_a_400(world, method, path, operation):
    """Asked by someone who may read the list (a first page without a cursor is a 200)."""
    client = ApiClient(api_token_for(world.caller))
    listed = f"/api/v1{_path(path, operation, world)}"
    first_page = client.client.generic(method, listed, headers=client.headers)
    assert first_page.status_code == 200

    for cursor in _forged_cursors():
        response = client.client.generic(
            method, f"{listed}?{urlencode({'cursor': cursor})}", headers=client.headers
        )

        assert _refused(response, operation, 400)["code"] == "invalid_cursor", cursor


def test_the_node_has_operations_of_each_kind_these_tests_cover():
    assert OPERATIONS
    assert CURSOR_OPERATIONS
