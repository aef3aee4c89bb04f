"""Refusals in the schema: every operation documents the problem documents it may answer,
in application/problem+json, without each operation listing them."""

import pytest
from django.http import HttpRequest
from ninja import Router, Schema

from mla.api.main import NodeApi, api
from mla.api.problems import (
    NOT_A_WRITE_TO_THE_REQUEST,
    PROBLEM_MEDIA_TYPE,
    Problem,
    problem_response,
    problems,
)

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


class Note(Schema):
    text: str


def _sample_api() -> NodeApi:
    """An API with one operation of each kind the rules tell apart."""
    sample = NodeApi(urls_namespace="problems-sample", docs_url=None)
    router = Router()

    @router.get("/things/", response=list[Note])
    def things(request: HttpRequest) -> list[dict]:
        return []

    @router.post("/things/", response={201: Note})
    def thing_add(request: HttpRequest, note: Note) -> tuple[int, dict]:
        return 201, {}

    @router.post("/requests/{issuer}/{reference}/notes/", response={201: Note, **problems(410)})
    def request_note_add(request: HttpRequest, issuer: str, reference: str, note: Note) -> dict:
        return {}

    @router.post(
        "/requests/{issuer}/{reference}/document/retry/",
        response={202: Note},
        openapi_extra=NOT_A_WRITE_TO_THE_REQUEST,
    )
    def document_retry(request: HttpRequest, issuer: str, reference: str) -> tuple[int, dict]:
        return 202, {}

    sample.add_router("/", router)
    return sample


@pytest.fixture(scope="module")
def sample_schema() -> dict:
    return _sample_api().get_openapi_schema(path_prefix="")


def _problem_statuses(operation: dict) -> set[int]:
    return {
        int(status)
        for status, response in operation["responses"].items()
        if response.get("content") == {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
    }


def test_every_operation_of_the_node_documents_its_refusals_as_problem_documents():
    schema = api.get_openapi_schema()

    assert "Problem" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = _problem_statuses(operation)
            assert {400, 401, 403, 404, 413, 422, 429} <= statuses, (method, path)
            assert operation["responses"][401]["headers"]["WWW-Authenticate"]["required"]
            assert operation["responses"][429]["headers"]["Retry-After"]["required"]


def test_a_read_documents_no_write_refusal(sample_schema):
    operation = sample_schema["paths"]["/things/"]["get"]

    assert _problem_statuses(operation) == {400, 401, 403, 404, 413, 422, 429}
    assert operation["responses"][200]["content"]["application/json"]


def test_a_write_documents_the_conflict_and_the_media_type_it_refuses(sample_schema):
    operation = sample_schema["paths"]["/things/"]["post"]

    assert {409, 415} <= _problem_statuses(operation)
    assert not {412, 428} & _problem_statuses(operation)
    assert not [item for item in operation["parameters"] if item["in"] == "header"]


def test_a_write_to_a_request_requires_if_match_and_keeps_its_own_refusals(sample_schema):
    operation = sample_schema["paths"]["/requests/{issuer}/{reference}/notes/"]["post"]

    assert {404, 409, 410, 412, 428} <= _problem_statuses(operation)
    (if_match,) = [item for item in operation["parameters"] if item["in"] == "header"]
    assert if_match["name"] == "If-Match"
    assert if_match["required"] is True


def test_a_call_under_a_request_that_writes_nothing_of_it_takes_no_if_match(sample_schema):
    operation = sample_schema["paths"]["/requests/{issuer}/{reference}/document/retry/"]["post"]

    assert not {412, 428} & _problem_statuses(operation)
    assert not [item for item in operation["parameters"] if item["in"] == "header"]
    assert not [key for key in operation if key.startswith("x-")]


def test_the_documented_problem_is_the_one_answered():
    response = problem_response(
        request=None,
        code="incomplete",
        detail="Section C is incomplete.",
        errors=[{"section": "C", "field": "measures", "code": "required", "message": "x"}],
    )

    body = Problem.model_validate_json(response.content)
    assert response["Content-Type"] == PROBLEM_MEDIA_TYPE
    assert body.status == 409
    assert [item.field for item in body.errors or []] == ["measures"]
