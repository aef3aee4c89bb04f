"""The site's URLs with two pages that fail on purpose, for the tests of the error pages:
one refuses (403), one breaks (500)."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path

from mla.urls import handler500
from mla.urls import urlpatterns as site_urlpatterns

__all__ = ["handler500", "urlpatterns"]


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a failure the error page must not show")


urlpatterns = [
    path("test-errors/forbidden/", forbidden),
    path("test-errors/broken/", broken),
    *site_urlpatterns,
]
