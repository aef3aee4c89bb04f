"""Who calls the API: a personal token (``Authorization: Bearer mla_…``) or, for the
browsable documentation, the signed-in session with its CSRF token.

The caller acts as the token's user, with that user's roles and authority: the services
check permissions as they do for the pages. A token carries scopes on top of that; the
session, which is the person at the keyboard, is not narrowed by any.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import APIKeyCookie, HttpBearer

from mla.accounts.models import User
from mla.api.models import ApiToken, Scope
from mla.api.tokens import api_token_authenticate
from mla.core.errors import ApplicationError
from mla.core.reauthentication import authentication_is_recent


@dataclass(frozen=True)
class ApiCaller:
    user: User
    token: ApiToken | None  # None: the browser's session

    def has_scope(self, scope: str) -> bool:
        return self.token is None or scope in self.token.scopes

    @property
    def ident(self) -> str:
        """What the rate limit counts by: the token, or the session's user."""
        return f"token:{self.token.pk}" if self.token else f"user:{self.user.pk}"


class ScopeRefused(AuthorizationError):
    def __init__(self, scope: str) -> None:
        super().__init__(message=_("This token lacks the “%(scope)s” scope.") % {"scope": scope})
        self.scope = scope


class TokenRefused(AuthenticationError):
    def __init__(self) -> None:
        super().__init__(
            message=_("The API token is unknown, expired or revoked."),
        )


def _scoped(caller: ApiCaller, scope: str) -> ApiCaller:
    if not caller.has_scope(scope):
        raise ScopeRefused(scope)
    return caller


class TokenAuth(HttpBearer):
    """A personal API token with ``scope``. A wrong token is refused outright, never passed
    on to the session: a client that sent a token meant to use it."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiCaller:
        found = api_token_authenticate(raw=token)
        if found is None:
            raise TokenRefused
        caller = _scoped(ApiCaller(user=found.user, token=found), self.scope)
        # The services and the views read the actor from request.user, as for a page.
        request.user = found.user
        return caller


class SessionAuth(APIKeyCookie):
    """The signed-in browser session, with Django's CSRF check on every unsafe method."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self, scope: str) -> None:
        super().__init__(csrf=True)
        self.scope = scope

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiCaller | None:
        if request.headers.get("Authorization"):
            return None  # a token was sent: TokenAuth answered for it
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_authenticated and user.is_active:
            return ApiCaller(user=user, token=None)
        return None


def scoped(scope: Scope | str) -> list[Any]:
    """The authentication of an operation that needs ``scope``."""
    return [TokenAuth(str(scope)), SessionAuth(str(scope))]


def caller_of(request: HttpRequest) -> ApiCaller:
    caller = getattr(request, "auth", None)
    assert isinstance(caller, ApiCaller)
    return caller


def recent_authentication_check(*, http_request: HttpRequest) -> None:
    """For an action whose page asks for a recent password (and second factor): a session
    caller must have given them lately, as on the page. A token was made after one, on the
    tokens' page, and stands for it."""
    caller = caller_of(http_request)
    if caller.token is None and not authentication_is_recent(
        user=caller.user, session=http_request.session
    ):
        raise ApplicationError(
            _("Confirm your password again on the node's pages, then repeat this call."),
            code="reauthentication_required",
        )
