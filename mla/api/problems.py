"""Problem documents (RFC 9457, ``application/problem+json``): every refusal of the API.

A refusal carries a stable ``code`` (the rule's name, mla.core.errors.ApplicationError.code)
and the message the page would show in ``detail``, in the language asked for. The ``type``
is a URN made from the code, so that a client may switch on either.

The schema documents them on every operation (ProblemsOpenAPISchema): the refusals any
operation may give are added to each one, so that an operation declares in its
``response={...}`` only its own (``**problems(409)``), or nothing.
"""

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.schema import NinjaGenerateJsonSchema

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:mla-exchange:problem:"

# The HTTP status of each rule's refusal; a rule not listed refused a well-formed request
# for a reason of the domain (422).
STATUS_BY_CODE: Mapping[str, int] = {
    "unauthenticated": 401,
    "forbidden": 403,
    "insufficient_scope": 403,
    "second_factor": 403,
    "reauthentication_required": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "stale": 409,
    "not_allowed_in_state": 409,
    "incomplete": 409,
    "already_registered": 409,
    "limit_reached": 409,
    "precondition_failed": 412,
    "too_large": 413,
    "unsupported_media_type": 415,
    "precondition_required": 428,
    "rate_limited": 429,
    "malformed": 400,
    "invalid_cursor": 400,
}
TITLES: Mapping[int, str] = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict with the request's current state",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Refused",
    428: "Precondition required",
    429: "Too many requests",
    500: "Server error",
}


def problem_status(code: str) -> int:
    return STATUS_BY_CODE.get(code, 422)


def problem_response(
    *,
    request: HttpRequest | None,
    code: str,
    detail: str,
    status: int | None = None,
    errors: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    status = status or problem_status(code)
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{code}",
        "title": TITLES.get(status, "Refused"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.path
    if errors:
        body["errors"] = list(errors)
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type=PROBLEM_MEDIA_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class ProblemItem(Schema):
    """One of several problems: a field the completeness check or a service refused
    (``section``, ``field``), or a part of the call that does not match the schema
    (``location``)."""

    code: str
    message: str
    section: str | None = None
    field: str | None = None
    location: list[str] | None = None


class Problem(Schema):
    """A refusal (RFC 9457)."""

    type: str = Field(description="urn:mla-exchange:problem: and the code.")
    title: str
    status: int
    code: str = Field(description="The rule that refused the call; stable across versions.")
    detail: str = Field(description="What the page would say, in the language asked for.")
    instance: str | None = Field(None, description="The path that was called.")
    errors: list[ProblemItem] | None = None


def problems(*statuses: int) -> dict[int, type[Problem]]:
    """An operation's own refusals, for its ``response={200: Out, **problems(409)}``."""
    return dict.fromkeys(statuses, Problem)


# Any operation: no or a wrong token (401), a scope or a permission missing (403), a call that
# does not match the schema or a rule of the domain (422), malformed JSON or a forged cursor
# (400), a body over settings.API_MAX_BODY_BYTES, which is refused before anything reads it,
# whatever the method (413), too many calls (429).
# Something the caller may not see does not exist for them (404): a request, a webhook, the
# queue itself for whoever does not work it, an authority a body names.
ANY_OPERATION = (400, 401, 403, 404, 413, 422, 429)
# An operation that takes a body, sent in a media type it does not read.
WITH_BODY = (415,)
# A write: refused in the request's current state, or by a rule of the domain.
WRITE = (409,)
# A write to a request: the ETag it was read with, in If-Match (mla.api.etags).
WRITE_TO_REQUEST = (412, 428)
# The ``openapi_extra`` of an operation under a request's path that writes nothing of the
# request (it asks for a document to be made again), and so takes no If-Match.
_IF_MATCH_EXEMPT = "x-if-match-exempt"
NOT_A_WRITE_TO_THE_REQUEST: dict[str, Any] = {_IF_MATCH_EXEMPT: True}
_UNSAFE = {"post", "put", "patch", "delete"}
_REQUEST_PATH = re.compile(r"/requests/\{issuer\}/\{reference\}/")
_HEADERS: Mapping[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "Bearer, as the token to send.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before calling again.",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The ETag of the request as last read (412 if it changed since).",
    "schema": {"type": "string", "maxLength": 500},
}


def writes_to_request(*, method: str, path: str, operation: Mapping[str, Any]) -> bool:
    """Every write under a request's path changes the request, unless it says otherwise."""
    return (
        method in _UNSAFE
        and _REQUEST_PATH.search(path) is not None
        and not operation.get(_IF_MATCH_EXEMPT)
    )


def problem_statuses(*, method: str, path: str, operation: Mapping[str, Any]) -> list[int]:
    """The refusals an operation may give whatever it does, from its method and path."""
    statuses = list(ANY_OPERATION)
    if "requestBody" in operation:
        statuses += WITH_BODY
    if method in _UNSAFE:
        statuses += WRITE
    if writes_to_request(method=method, path=path, operation=operation):
        statuses += WRITE_TO_REQUEST
    return sorted(statuses)


class ProblemsOpenAPISchema(OpenAPISchema):
    """The schema with every operation's refusals as problem documents."""

    def get_paths(self) -> dict[str, Any]:
        paths = super().get_paths()
        reference = self._problem_reference()
        for path, operations in paths.items():
            for method, operation in operations.items():
                _document_problems(
                    operation,
                    statuses=problem_statuses(method=method, path=path, operation=operation),
                    problem=reference,
                )
                if writes_to_request(method=method, path=path, operation=operation):
                    _if_match_require(operation)
                operation.pop(_IF_MATCH_EXEMPT, None)
        return paths

    def _problem_reference(self) -> dict[str, Any]:
        schema = Problem.model_json_schema(
            ref_template=REF_TEMPLATE,
            by_alias=True,
            schema_generator=NinjaGenerateJsonSchema,
            mode="serialization",
        )
        self.add_schema_definitions({**schema.pop("$defs", {}), Problem.__name__: schema})
        return {"$ref": REF_TEMPLATE.format(model=Problem.__name__)}


def _document_problems(
    operation: dict[str, Any], *, statuses: list[int], problem: dict[str, Any]
) -> None:
    responses = operation["responses"]
    for status in statuses:
        responses.setdefault(status, {"description": TITLES.get(status, "Refused")})
    for status, response in responses.items():
        content = response.get("content") or {}
        declared = [body.get("schema") for body in content.values()]
        if int(status) < 400 or (declared and declared != [problem]):
            continue
        response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem}}
        if int(status) in _HEADERS:
            response.setdefault("headers", _HEADERS[int(status)])


def _if_match_require(operation: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(
        item.get("in") == "header" and item.get("name", "").lower() == "if-match"
        for item in parameters
    ):
        parameters.append(IF_MATCH)
