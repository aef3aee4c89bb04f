"""Making, using and revoking personal API tokens (mla.api.models.ApiToken)."""

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.accounts.models import User
from mla.accounts.second_factor import user_has_second_factor
from mla.api.models import ApiToken, Scope
from mla.core.errors import ApplicationError

TOKEN_PREFIX = "mla_"  # noqa: S105  # the visible prefix of every token, not a secret
MAX_LIFETIME = datetime.timedelta(days=365)
DEFAULT_LIFETIME = datetime.timedelta(days=90)
# The last use is written at most this often: a busy client does not write a row per call.
LAST_USE_PRECISION = datetime.timedelta(minutes=1)
# The identifier is hex: it never holds the "_" that separates it from the secret.
_KEY_ID_BYTES = 6  # 12 hex digits
_SECRET_BYTES = 32


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the whole token, shown once


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _scopes_clean(scopes: Iterable[str]) -> list[str]:
    chosen = sorted(set(scopes))
    unknown = [scope for scope in chosen if scope not in Scope.values]
    if unknown:
        raise ApplicationError(
            _("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(unknown)},
            code="invalid_scope",
        )
    if not chosen:
        raise ApplicationError(_("Choose at least one scope."), code="invalid_scope")
    return chosen


def api_token_create(
    *,
    user: User,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime.datetime | None = None,
    second_factor_verified: bool,
) -> IssuedToken:
    """A new token for ``user`` itself. Where the user has a second factor, it must have been
    passed in this session: a password alone does not mint a key that outlives the session."""
    if not user.is_active:
        raise ApplicationError(_("This account is deactivated."), code="forbidden")
    if user_has_second_factor(user=user) and not second_factor_verified:
        raise ApplicationError(_("Confirm your second factor first."), code="second_factor")
    name = name.strip()
    if not name or len(name) > 100:
        raise ApplicationError(_("Give the token a name of 1 to 100 characters."), code="invalid")
    now = timezone.now()
    expires_at = expires_at or now + DEFAULT_LIFETIME
    if expires_at <= now:
        raise ApplicationError(_("The expiry must be in the future."), code="invalid")
    if expires_at > now + MAX_LIFETIME:
        raise ApplicationError(_("A token lasts one year at most."), code="invalid")
    key_id = secrets.token_hex(_KEY_ID_BYTES)
    raw = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_id=key_id,
        digest=_digest(raw),
        scopes=_scopes_clean(scopes),
        expires_at=expires_at,
    )
    return IssuedToken(token=token, secret=raw)


def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    """Revoke one of the actor's own tokens (at once: the next call with it is refused)."""
    if token.user_id != actor.pk:
        raise ApplicationError(_("This is not one of your tokens."), code="not_found")
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
    return locked


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token ``raw`` names, with its user, or None (unknown, wrong, expired,
    revoked, or its user deactivated). Records the last use."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    key_id, _sep, _secret = raw[len(TOKEN_PREFIX) :].partition("_")
    token = ApiToken.objects.select_related("user", "user__authority").filter(key_id=key_id).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(raw)):
        return None
    now = timezone.now()
    if token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        # Not the token's state, a stamp: written without the model's save.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first: active, expired and revoked alike."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def api_token_of(*, user: User, token_id: int) -> ApiToken | None:
    """One of the user's own tokens; None for another user's, as for a missing one."""
    return ApiToken.objects.filter(user=user, pk=token_id).first()
