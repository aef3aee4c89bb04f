"""Whether the signed-in user proved who they are recently, and the mark on views whose
actions need it (send, share, a key approval…).

In the core, so that every app may mark its views: the session key is written at sign-in
and at re-authentication by mla.accounts (mla.accounts.sessions), whose page
``accounts:reauthenticate`` asks for the password and second factor again.
"""

from collections.abc import Callable, MutableMapping
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

AUTHENTICATED_AT_KEY = "mla_authenticated_at"

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])
RequestPredicate = Callable[..., bool]
Session = MutableMapping[str, Any]


def _now() -> float:
    return timezone.now().timestamp()


def authentication_is_recent(
    *, user: "AbstractBaseUser | AnonymousUser", session: Session, max_age: int | None = None
) -> bool:
    """True when ``user`` gave the password (and second factor) in this session within
    ``max_age`` seconds (REAUTHENTICATION_MAX_AGE by default)."""
    if not user.is_authenticated:
        return False
    window = settings.REAUTHENTICATION_MAX_AGE if max_age is None else max_age
    authenticated_at = session.get(AUTHENTICATED_AT_KEY)
    if not isinstance(authenticated_at, int | float):
        return False
    return _now() - authenticated_at <= window


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
