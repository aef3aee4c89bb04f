"""The API of the node, /api/v1/: one NinjaAPI, its routers, and how it refuses.

django-ninja validates every call against the same pydantic models the OpenAPI 3.1 schema
is generated from, so that the schema is what is enforced, not a description beside it.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser

from mla.api.auth import ScopeRefused
from mla.api.problems import ProblemsOpenAPISchema, problem_response
from mla.api.routers import (
    directory,
    directory_changes,
    documents,
    drafting,
    notifications,
    queue,
    requests,
    steps,
    webhooks,
)
from mla.api.throttle import CallerRateThrottle
from mla.api.tokens import api_token_authenticate
from mla.core.errors import ApplicationError

DESCRIPTION = """
The API of an MLA exchange node: what the pages do, under the same rules.

Authenticate with a personal API token (`Authorization: Bearer mla_…`), made on the
“API tokens” page of your account; the token acts as you, with your roles and authority,
narrowed to its scopes. Every refusal is a problem document (RFC 9457) with a stable
`code`. Writes to a request carry `If-Match` with the ETag last read.
"""


def _signed_in_or_token(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The schema and its documentation page: for signed-in users, and for a client with a
    token (which reads the schema to build itself); anyone else is sent to sign in."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and api_token_authenticate(raw=raw.strip()) is not None:
            return view(request, *args, **kwargs)
        return redirect_to_login(request.get_full_path())

    return guarded


class BodyNotJson(Exception):
    """A body sent in another media type to an operation that reads JSON."""


class JsonBodyParser(Parser):
    """A JSON body only when it is sent as JSON: text that happens to parse is not taken
    for it (415, mla.api.problems)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        media_type = request.content_type or ""
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise BodyNotJson(media_type)
        return super().parse_body(request)


class NodeApi(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> ProblemsOpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ProblemsOpenAPISchema(self, path_prefix)


api = NodeApi(
    title="MLA exchange node API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    openapi_url="/schema/",
    docs_url="/docs/",
    docs_decorator=_signed_in_or_token,
    throttle=[CallerRateThrottle()],
    parser=JsonBodyParser(),
)


@api.exception_handler(ApplicationError)
def _refused(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    problems = error.extra.get("problems") if error.extra else None
    errors: list[dict[str, Any]] = []
    if isinstance(problems, list):
        errors = [
            {
                "section": getattr(item, "section", ""),
                "field": getattr(item, "field", ""),
                "code": getattr(item, "code", ""),
                "message": str(getattr(item, "message", item)),
            }
            for item in problems
        ]
    return problem_response(request=request, code=error.code, detail=error.message, errors=errors)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return problem_response(request=request, code="not_found", detail=_("Not found."))


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    errors = [
        {
            "location": [str(part) for part in item.get("loc", ())],
            "code": str(item.get("type", "invalid")),
            "message": str(item.get("msg", "")),
        }
        for item in error.errors
    ]
    return problem_response(
        request=request,
        code="invalid",
        status=422,
        detail=_("The request does not match the schema."),
        errors=errors,
    )


@api.exception_handler(RequestDataTooBig)
def _too_large(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    return problem_response(request=request, code="too_large", detail=_("The body is too large."))


@api.exception_handler(MultiPartParserError)
def _malformed_parts(request: HttpRequest, error: MultiPartParserError) -> HttpResponse:
    # A step taking files reads multipart/form-data: a body that is not, is the client's.
    return problem_response(
        request=request, code="malformed", detail=_("The body is not valid multipart/form-data.")
    )


@api.exception_handler(SuspiciousOperation)
def _unreadable(request: HttpRequest, error: SuspiciousOperation) -> HttpResponse:
    # Django refuses a body past its limits (too many fields or files) before the endpoint
    # reads it: the client's, answered as any other malformed body.
    return problem_response(
        request=request, code="malformed", detail=_("The body cannot be read as it is sent.")
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if isinstance(error, Throttled):
        return problem_response(
            request=request,
            code="rate_limited",
            detail=_("Too many calls with this token; try again later."),
        )
    if isinstance(error, ScopeRefused):
        return problem_response(request=request, code="insufficient_scope", detail=error.message)
    if isinstance(error, AuthenticationError):
        return problem_response(
            request=request,
            code="unauthenticated",
            detail=error.message
            if error.message != "Unauthorized"
            else _("Send a personal API token: Authorization: Bearer mla_…"),
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if error.status_code == 403:
        return problem_response(
            request=request,
            code="csrf_failed",
            status=403,
            detail=_("A call with the session's cookie needs its CSRF token (X-CSRFToken)."),
        )
    if error.status_code == 400 and isinstance(error.__cause__, BodyNotJson):
        return problem_response(
            request=request,
            code="unsupported_media_type",
            detail=_("Send the body as application/json."),
        )
    if error.status_code == 400:
        return problem_response(
            request=request, code="malformed", detail=_("The body is not valid JSON.")
        )
    return problem_response(
        request=request, code="refused", status=error.status_code, detail=error.message
    )


api.add_router("/directory/", directory.router)
api.add_router("/requests/", requests.router)
api.add_router("/requests/", drafting.router)
api.add_router("/requests/", documents.router)
api.add_router("/notifications/", notifications.router)
api.add_router("/directory/changes/", directory_changes.router)
api.add_router("/requests/", steps.router)
api.add_router("/", queue.router)
api.add_router("/webhooks/", webhooks.router)
