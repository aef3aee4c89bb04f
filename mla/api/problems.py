"""Problem documents (RFC 9457, ``application/problem+json``): every refusal of the API.

A refusal carries a stable ``code`` (the rule's name, mla.core.errors.ApplicationError.code)
and the message the page would show in ``detail``, in the language asked for. The ``type``
is a URN made from the code, so that a client may switch on either.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpRequest, HttpResponse

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
