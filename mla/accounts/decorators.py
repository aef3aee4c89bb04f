"""Marks on views: which ones a timer calls, which ones a half-signed-in user may reach, and
which ones need a recent authentication."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

from mla.accounts.sessions import authentication_is_recent

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])
RequestPredicate = Callable[..., bool]

# Attributes the middleware reads on the view function.
IDLE_UNTOUCHED_ATTRIBUTE = "mla_session_idle_untouched"
SECOND_FACTOR_STEP_ATTRIBUTE = "mla_second_factor_step"
ENROLMENT_STEP_ATTRIBUTE = "mla_second_factor_enrolment"


def session_idle_untouched(
    view: ViewFunc | None = None, *, when: RequestPredicate | None = None
) -> Any:
    """A view called by a timer (a poll): its requests do not push the session's idle
    expiry forward, so that an open page does not keep a session alive forever.

    ``when(request)`` limits this to some requests of the view (a page that is also
    opened by hand).
    """

    def mark(function: ViewFunc) -> ViewFunc:
        setattr(function, IDLE_UNTOUCHED_ATTRIBUTE, when or (lambda request: True))
        return function

    return mark(view) if view is not None else mark


def second_factor_step(view: ViewFunc) -> ViewFunc:
    """A view a user who gave the password but not yet the second factor may reach."""
    setattr(view, SECOND_FACTOR_STEP_ATTRIBUTE, True)
    return view


def enrolment_step(view: ViewFunc) -> ViewFunc:
    """A view a user who must have a second factor, and has none, may reach to enrol."""
    setattr(view, ENROLMENT_STEP_ATTRIBUTE, True)
    return view


def reauthentication_url(*, next_url: str) -> str:
    return f"{reverse('accounts:reauthenticate')}?{urlencode({'next': next_url})}"


def recent_authentication_required(
    view: ViewFunc | None = None,
    *,
    when: RequestPredicate | None = None,
    return_to: Callable[..., str] | None = None,
) -> Any:
    """Send the user to confirm their password (and second factor) when the last
    authentication is older than REAUTHENTICATION_MAX_AGE, then back.

    Works on any function view. ``when(request, *args, **kwargs)`` limits it to some
    requests (one action of a view). A GET comes back to itself; a POST cannot be replayed,
    so it comes back to ``return_to(request, *args, **kwargs)`` (the page holding the form,
    where what the user typed is still kept by the browser), else to the referring page of
    this site, else to the same URL.
    """

    def decorate(function: ViewFunc) -> ViewFunc:
        @wraps(function)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            applies = when is None or when(request, *args, **kwargs)
            if applies and not authentication_is_recent(user=request.user, session=request.session):
                if request.method in ("GET", "HEAD"):
                    next_url = request.get_full_path()
                elif return_to is not None:
                    next_url = return_to(request, *args, **kwargs)
                else:
                    next_url = request.path
                return redirect(reauthentication_url(next_url=next_url))
            return function(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate(view) if view is not None else decorate
