"""/api/v1/: the API's own URLs, outside the pages' login redirect (a client is answered
401 with a problem document, never sent to a login form), with its body size bounded
before anything parses it."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from mla.api.main import api
from mla.api.problems import problem_response

View = Callable[..., HttpResponse]


def _bounded(view: View) -> View:
    def bounded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY_BYTES:
            return problem_response(
                request=request,
                code="too_large",
                detail=_("The body is larger than %(size)d bytes.")
                % {"size": settings.API_MAX_BODY_BYTES},
            )
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            return problem_response(
                request=request,
                code="method_not_allowed",
                detail=_("This endpoint does not take %(method)s.") % {"method": request.method},
                headers={"Allow": response["Allow"]},
            )
        return response

    bounded.__name__ = getattr(view, "__name__", "api_view")
    return bounded


def _open(pattern: URLPattern | URLResolver) -> URLPattern | URLResolver:
    # The schema and the documentation page guard themselves (mla.api.main): a token or a
    # signed-in user.
    if isinstance(pattern, URLPattern):
        pattern.callback = csrf_exempt(login_not_required(_bounded(pattern.callback)))
    return pattern


@login_not_required
@csrf_exempt
def _unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    return problem_response(request=request, code="not_found", detail=_("No such endpoint."))


_patterns, app_name, _namespace = api.urls
urlpatterns = [_open(pattern) for pattern in _patterns]
urlpatterns.append(re_path(r"^(?P<rest>.*)$", _unknown))
