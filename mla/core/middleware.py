"""Response headers that hold for the whole site."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

NO_STORE = "no-store, private"


class NoStoreMiddleware:
    """`Cache-Control: no-store, private` on every response to a signed-in user (pages,
    fragments, downloads) and on every download: neither the browser's cache nor a shared
    one keeps a request, a document or a list once the user has gone (a shared computer,
    the back button after logout)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # Read before the view: the logout page is the response to a user signed in until then.
        signed_in = request.user.is_authenticated
        response = self.get_response(request)
        is_download = response.has_header("Content-Disposition")
        if signed_in or request.user.is_authenticated or is_download:
            response["Cache-Control"] = NO_STORE
            # An Expires header would let an HTTP/1.0 cache keep it anyway.
            response.headers.pop("Expires", None)
        return response
