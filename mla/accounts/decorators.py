"""Marks on views: which ones a timer calls, which ones a half-signed-in user may reach, and
which ones need a recent authentication."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpResponseBase

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
