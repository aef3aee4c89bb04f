"""The accounts' security log: one append-only row per event, some e-mailed to the user."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from mla.accounts.models import SecurityEvent, SecurityEventKind, User
from mla.core.instants import format_instant

# Events the user is told of by e-mail: a change to their factors, or a recovery code spent,
# is what someone who took over the account would do.
EMAILED_KINDS = frozenset(
    {
        SecurityEventKind.FACTOR_ENROLLED,
        SecurityEventKind.FACTOR_REMOVED,
        SecurityEventKind.RECOVERY_CODE_USED,
        SecurityEventKind.RECOVERY_CODES_GENERATED,
    }
)


def security_event_record(
    *, user: User, kind: SecurityEventKind, address: str | None, detail: str = ""
) -> SecurityEvent:
    """Add a row to the log; if the event is one users are told of, e-mail them once the
    transaction commits."""
    event = SecurityEvent.objects.create(
        user=user, username=user.username, kind=kind, detail=detail[:200], address=address
    )
    if kind in EMAILED_KINDS and user.email:
        event_id = event.pk
        transaction.on_commit(lambda: _email_task_queue(event_id=event_id))
    return event


def _email_task_queue(*, event_id: int) -> None:
    # Imported here: the task module imports this one.
    from mla.accounts.tasks import security_event_email_send

    security_event_email_send.delay(event_id)


def security_event_email_deliver(*, event_id: int) -> bool:
    """E-mail the user what happened to their account; False when there is no one to tell.

    Sent whatever the notification preferences: a security message is not a notification
    one may turn off.
    """
    event = SecurityEvent.objects.select_related("user").filter(pk=event_id).first()
    if event is None or event.user is None or not event.user.email:
        return False
    user = event.user
    with translation.override(user.preferred_language):
        what = str(SecurityEventKind(event.kind).label)
        lines = [
            _("Hello %(name)s,") % {"name": user.get_full_name() or user.username},
            _("This happened to your account %(username)s on %(node)s:")
            % {"username": user.username, "node": settings.NODE_NAME},
            f"{what}{f' ({event.detail})' if event.detail else ''}",
            _("When: %(when)s. From address: %(address)s.")
            % {
                "when": format_instant(event.created_at, user.zone),
                "address": event.address or "—",
            },
            _("If this was not you, change your password at once and tell your administrator."),
        ]
        subject = _("Security of your account: %(what)s") % {"what": what}
    send_mail(
        subject=f"{getattr(settings, 'EMAIL_SUBJECT_PREFIX', '')}{subject}",
        message="\n\n".join(lines) + "\n",
        from_email=None,
        recipient_list=[user.email],
        fail_silently=False,
    )
    return True
