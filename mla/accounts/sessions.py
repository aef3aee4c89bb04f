"""When a session began and when its user last proved who they are.

Both are kept in the session as POSIX timestamps: the sign-in time bounds the session's
absolute lifetime, the last authentication (password, and second factor if enrolled)
decides whether a sensitive action needs the password again.
"""

from collections.abc import MutableMapping
from typing import Any

from django.conf import settings
from django.utils import timezone

from mla.core.reauthentication import AUTHENTICATED_AT_KEY

SIGNED_IN_AT_KEY = "mla_signed_in_at"
# The password was typed again on the re-authentication page, and a passkey is still to come.
REAUTHENTICATION_PASSWORD_AT_KEY = "mla_reauthentication_password_at"  # noqa: S105
# Whether the user had a second factor when the session began: the middleware asks on every
# request of a session not yet verified, and a query each time would cost every page.
SECOND_FACTOR_ENROLLED_KEY = "mla_second_factor_enrolled"
# How long the password typed on the re-authentication page waits for the passkey.
REAUTHENTICATION_PASSKEY_WINDOW_SECONDS = 300

Session = MutableMapping[str, Any]


def _now() -> float:
    return timezone.now().timestamp()


def session_signed_in(*, session: Session, second_factor_enrolled: bool) -> None:
    """Mark the start of a signed-in session: the password was just checked."""
    now = _now()
    session[SIGNED_IN_AT_KEY] = now
    session[AUTHENTICATED_AT_KEY] = now
    session[SECOND_FACTOR_ENROLLED_KEY] = second_factor_enrolled


def session_is_past_lifetime(*, session: Session) -> bool:
    """True when the session began longer ago than SESSION_ABSOLUTE_MAX_AGE.

    A signed-in session without a start time predates this rule and is ended too.
    """
    signed_in_at = session.get(SIGNED_IN_AT_KEY)
    if not isinstance(signed_in_at, int | float):
        return True
    return _now() - signed_in_at > settings.SESSION_ABSOLUTE_MAX_AGE


def authentication_mark_recent(*, session: Session) -> None:
    session[AUTHENTICATED_AT_KEY] = _now()
    session.pop(REAUTHENTICATION_PASSWORD_AT_KEY, None)


def reauthentication_password_given(*, session: Session) -> None:
    session[REAUTHENTICATION_PASSWORD_AT_KEY] = _now()


def reauthentication_password_is_fresh(*, session: Session) -> bool:
    given_at = session.get(REAUTHENTICATION_PASSWORD_AT_KEY)
    if not isinstance(given_at, int | float):
        return False
    return _now() - given_at <= REAUTHENTICATION_PASSKEY_WINDOW_SECONDS
