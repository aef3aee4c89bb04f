"""Who hears about a step of a request, in their own language.

Notifications are rows written in the step's transaction; their e-mail copies are queued on
commit by mla.notifications. The actor is never told about their own step.
"""

from collections.abc import Iterable, Mapping

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_noop

from contact_points.models import Authority
from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.accounts.selectors import users_with_roles
from mla.notifications.kinds import Kind
from mla.notifications.messages import message, message_render, msgid
from mla.notifications.services import notification_send
from mla.requests.lifecycle.rules import executing_roles
from mla.requests.models import Request, state_label


def _staff(authority: Authority | None, roles: Iterable[str]) -> QuerySet[User]:
    return users_with_roles(authority_id=authority.pk if authority else None, roles=roles)


def executing_side(*, request: Request) -> list[User]:
    """Who hears of the issuer's steps on a received request: its holder, or while nobody
    holds it, the receiving authority's executing staff."""
    if request.assignee is not None and request.assignee.is_active:
        return [request.assignee]
    return list(_staff(request.executing_authority, executing_roles(request)))


def send(
    *,
    recipients: Iterable[User],
    request: Request,
    kind: str,
    subject: str,
    body: str = "",
    actor: User | None = None,
    values: Mapping[str, str] | None = None,
    postscript: str = "",
) -> None:
    """Send one notification per recipient, worded in the recipient's language, and again
    in the reader's when read (mla.notifications.messages).

    ``subject`` and ``body`` are English source strings with %(reference)s, %(state)s and
    any of ``values``, translated per recipient; ``postscript`` (a user's own words) is
    added to the body as typed."""
    url = request.get_absolute_url()
    stored = message(
        subject=subject,
        body=body,
        params={
            "reference": request.reference,
            "state": msgid(
                state_label(
                    state=request.state,
                    declaration_code=request.declaration_code,
                    direction=request.direction,
                )
            ),
            **(values or {}),
        },
        postscript=postscript,
    )
    by_language: dict[str, list[User]] = {}
    for user in recipients:
        if actor is not None and user.pk == actor.pk:
            continue
        by_language.setdefault(user.preferred_language or "en", []).append(user)
    for language, users in by_language.items():
        with translation.override(language):
            subject_text, body_text = message_render(stored)
            notification_send(
                recipients=users,
                kind=kind,
                subject=subject_text,
                body=body_text,
                url=url,
                request=request,
                message=stored,
            )


# Source strings, marked for extraction and translated at sending time.
VALIDATION_REQUESTED = gettext_noop("%(reference)s awaits your validation")
RETURNED = gettext_noop("%(reference)s was returned for changes")
STATE_CHANGED = gettext_noop("%(reference)s is now “%(state)s”")
RECEIVED = gettext_noop("New request received: %(reference)s")


def validation_requested(*, request: Request) -> None:
    send(
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
    send(
        recipients=recipients,
        request=request,
        kind=Kind.REQUEST_RETURNED if returned else Kind.REQUEST_STATE_CHANGED,
        subject=RETURNED if returned else STATE_CHANGED,
        actor=actor,
    )


def request_received(*, request: Request) -> None:
    send(
        # e-Evidence: an EPOC or EPOC-PR reaches the provider's staff too.
        recipients=_staff(request.executing_authority, executing_roles(request)),
        request=request,
        kind=Kind.REQUEST_RECEIVED,
        subject=RECEIVED,
    )


def executor_told(*, request: Request, event: str) -> None:
    """The executing side hears of the issuer's steps: its assignee, or else its staff."""
    send(
        recipients=executing_side(request=request),
        request=request,
        kind=Kind.REQUEST_STATE_CHANGED,
        subject=STATE_CHANGED,
    )


_CHASED_SUBJECT = gettext_noop("%(authority)s asks where %(reference)s stands")
_CHASED_BODY = gettext_noop("%(person)s (%(authority)s) is waiting for news of this request.")


def chase_told(*, executing: Request, person: str, authority: str, note: str) -> None:
    """The executing copy's holder hears of the chase, or while nobody holds it, its staff;
    each in their language."""
    send(
        recipients=executing_side(request=executing),
        request=executing,
        # Not a new kind: that would change the notification model's choices.
        kind=Kind.REQUEST_STATE_CHANGED,
        subject=_CHASED_SUBJECT,
        body=_CHASED_BODY,
        values={"authority": authority, "person": person},
        postscript=note,
    )
