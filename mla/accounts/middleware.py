"""Session lifetime and the second-factor step.

- ``SessionMiddleware``: Django's, except that a request to a view marked
  ``session_idle_untouched`` (a timer's poll) neither saves the session nor renews its cookie,
  so the idle timeout counts from the user's last real request.
- ``SessionLifetimeMiddleware``: a session older than SESSION_ABSOLUTE_MAX_AGE since sign-in
  is ended, however active.
- ``SecondFactorMiddleware``: a signed-in user who has a second factor and has not given it in
  this session reaches only the second-factor step; one who must have a factor and has none
  reaches only the enrolment pages.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode

from mla.accounts.client_ip import client_ip
from mla.accounts.decorators import (
    ENROLMENT_STEP_ATTRIBUTE,
    IDLE_UNTOUCHED_ATTRIBUTE,
    SECOND_FACTOR_STEP_ATTRIBUTE,
)
from mla.accounts.models import SecurityEventKind, User
from mla.accounts.second_factor import second_factor_required, user_has_second_factor
from mla.accounts.security_events import security_event_record
from mla.accounts.sessions import SECOND_FACTOR_ENROLLED_KEY, session_is_past_lifetime
from mla.core.instants import zone_named

IDLE_UNTOUCHED_REQUEST_ATTRIBUTE = "mla_session_idle_untouched"


class SessionMiddleware(DjangoSessionMiddleware):
    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> None:
        when = getattr(view_func, IDLE_UNTOUCHED_ATTRIBUTE, None)
        if when is not None and when(request):
            setattr(request, IDLE_UNTOUCHED_REQUEST_ATTRIBUTE, True)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not getattr(request, IDLE_UNTOUCHED_REQUEST_ATTRIBUTE, False):
            return super().process_response(request, response)
        # A poll: the stored session and its expiry stay as they are (a poll changes nothing
        # worth keeping), unless the session was emptied (signed out): then the cookie goes.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.session.is_empty():
            return super().process_response(request, response)
        if request.session.accessed:
            patch_vary_headers(response, ("Cookie",))
        return response


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = request.user
        if user.is_authenticated and session_is_past_lifetime(session=request.session):
            if isinstance(user, User):
                security_event_record(
                    user=user, kind=SecurityEventKind.SESSION_ENDED, address=client_ip(request)
                )
            auth.logout(request)
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponseBase | None:
        user = request.user
        if not user.is_authenticated or not isinstance(user, User):
            return None
        if user.is_verified():  # type: ignore[attr-defined]  # set by django-otp
            return None
        if getattr(view_func, "login_required", True) is False:
            return None  # the login page, /healthz
        if getattr(view_func, SECOND_FACTOR_STEP_ATTRIBUTE, False):
            return None
        next_query = urlencode({"next": request.get_full_path()})
        # Known since sign-in (a factor added later in another session is asked from the
        # next sign-in on); a session that began before this rule is asked once.
        enrolled = request.session.get(SECOND_FACTOR_ENROLLED_KEY)
        if enrolled is None:
            enrolled = request.session[SECOND_FACTOR_ENROLLED_KEY] = user_has_second_factor(
                user=user
            )
        if enrolled:
            return redirect(f"{reverse('accounts:second_factor')}?{next_query}")
        if second_factor_required(user=user):
            if getattr(view_func, ENROLMENT_STEP_ATTRIBUTE, False):
                return None
            return redirect(f"{reverse('accounts:security')}?{next_query}")
        return None


class TimeZoneMiddleware:
    """Times on a page are in the signed-in user's zone (their own choice, else their
    authority's); anyone else reads UTC. Every time is shown with its zone's name."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_authenticated:
            timezone.activate(zone_named(user.zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
