import zoneinfo
from contextlib import suppress
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.accounts.services import user_set_language, user_time_zone_set
from mla.core.errors import ApplicationError


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user: User = form.get_user()
        # The interface follows the user's saved preference from the first page on.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            user.preferred_language,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        # The browser forgets what it kept for the user: the unsaved typing of drafts
        # (localStorage, mla/static/requests/draft.js) and anything else stored for the site.
        response["Clear-Site-Data"] = '"storage"'
        return response


@login_not_required
@require_POST
def language_switch(request: HttpRequest) -> HttpResponseBase:
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and isinstance(request.user, User):
        # set_language already ignored an unsupported language; so does the preference.
        with suppress(ApplicationError):
            user_set_language(user=request.user, language=language)
    return response


@lru_cache(maxsize=1)
def _time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if request.method == "POST":
        try:
            user_time_zone_set(user=user, time_zone=request.POST.get("time_zone", ""))
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Your time zone is saved."))
            return redirect("accounts:profile")
    roles = [str(Role(name).label) for name in sorted(user.role_names()) if name in Role]
    return render(
        request,
        "accounts/profile.html",
        {
            "roles": roles,
            "time_zones": _time_zones(),
            "authority_zone": user.authority.time_zone or "UTC",
            "now": timezone.now(),
        },
    )
