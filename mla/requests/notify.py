"""Who hears about a step of a request, in their own language.

Notifications are rows written in the step's transaction; their e-mail copies are queued on
commit by mla.notifications. The actor is never told about their own step.
"""

from collections.abc import Iterable

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from contact_points.models import Authority
from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.notifications.kinds import Kind
from mla.notifications.services import notification_send
from mla.requests.lifecycle_rules import EXECUTING_ROLES
from mla.requests.models import Request


def _staff(authority: Authority | None, roles: Iterable[str]) -> QuerySet[User]:
    return User.objects.filter(
        authority=authority, is_active=True, groups__name__in=list(roles)
    ).distinct()


def _send(
    *,
    recipients: Iterable[User],
    request: Request,
    kind: str,
    subject: str,
    body: str = "",
    actor: User | None = None,
) -> None:
    """Send one notification per recipient, worded in the recipient's language.

    ``subject`` and ``body`` are English source strings with %(reference)s and %(state)s,
    translated per recipient."""
    url = reverse("requests:detail", kwargs={"reference": request.reference})
    by_language: dict[str, list[User]] = {}
    for user in recipients:
        if actor is not None and user.pk == actor.pk:
            continue
        by_language.setdefault(user.preferred_language or "en", []).append(user)
    for language, users in by_language.items():
        with translation.override(language):
            values = {"reference": request.reference, "state": request.get_state_display()}
            notification_send(
                recipients=users,
                kind=kind,
                subject=_(subject) % values,
                body=_(body) % values if body else "",
                url=url,
                request=request,
            )


# Source strings, marked for extraction and translated at sending time.
VALIDATION_REQUESTED = gettext_noop("%(reference)s awaits your validation")
RETURNED = gettext_noop("%(reference)s was returned for changes")
STATE_CHANGED = gettext_noop("%(reference)s is now “%(state)s”")
RECEIVED = gettext_noop("New request received: %(reference)s")


def validation_requested(*, request: Request) -> None:
    _send(
        recipients=_staff(request.validating_authority, [Role.VALIDATING_AUTHORITY]),
        request=request,
        kind=Kind.VALIDATION_REQUESTED,
        subject=VALIDATION_REQUESTED,
    )


def issuer_told(
    *, request: Request, actor: User | None, returned: bool = False, event: str = ""
) -> None:
    """The author of an outgoing request hears of each step taken on it by others."""
    recipients = [request.created_by] if request.created_by and request.created_by.is_active else []
    _send(
        recipients=recipients,
        request=request,
        kind=Kind.REQUEST_RETURNED if returned else Kind.REQUEST_STATE_CHANGED,
        subject=RETURNED if returned else STATE_CHANGED,
        actor=actor,
    )


def request_received(*, request: Request) -> None:
    _send(
        recipients=_staff(request.executing_authority, EXECUTING_ROLES),
        request=request,
        kind=Kind.REQUEST_RECEIVED,
        subject=RECEIVED,
    )


def executor_told(*, request: Request, event: str) -> None:
    """The executing side hears of the issuer's steps: its assignee, or else its staff."""
    recipients: Iterable[User] = (
        [request.assignee]
        if request.assignee is not None
        else _staff(request.executing_authority, EXECUTING_ROLES)
    )
    _send(
        recipients=recipients,
        request=request,
        kind=Kind.REQUEST_STATE_CHANGED,
        subject=STATE_CHANGED,
    )
