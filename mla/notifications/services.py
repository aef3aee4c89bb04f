"""Write-side services of notifications: send, mark read, e-mail preferences, e-mail copies."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.core.instants import format_instant
from mla.notifications.kinds import Kind
from mla.notifications.models import EmailPreference, Notification, is_site_relative
from mla.notifications.selectors import users_wanting_email

if TYPE_CHECKING:
    from mla.requests.models import Request

SUBJECT_MAX_LENGTH = 255
URL_MAX_LENGTH = 500
DEDUPE_KEY_MAX_LENGTH = 200


def _one_line(text: str, *, limit: int) -> str:
    # The subject becomes an e-mail header: no line breaks, and it must fit its column.
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def notification_send(
    *,
    recipients: Iterable[User],
    kind: str,
    subject: str,
    body: str = "",
    url: str = "",
    request: Request | None = None,
    dedupe_key: str = "",
) -> list[Notification]:
    """Notify each active recipient once; e-mail a copy, after commit, to those who want one.

    With a ``dedupe_key``, a recipient who already has a notification with that key gets
    nothing, even when another transaction is creating it at the same moment. Returns the
    notifications created by this call only.

    Not durable: it joins the caller's transaction (a step of a request), so that the
    notifications commit, and their e-mails leave, only if the step does.
    """
    if kind not in Kind.values:
        raise ApplicationError(
            _("Unknown kind of notification: %(kind)s.") % {"kind": kind}, extra={"kind": kind}
        )
    if url and not (is_site_relative(url) and len(url) <= URL_MAX_LENGTH):
        raise ApplicationError(
            _("A notification links to a page of this site only."), extra={"url": url}
        )
    if len(dedupe_key) > DEDUPE_KEY_MAX_LENGTH:
        # Cutting it would merge different notifications: the caller must choose shorter keys.
        raise ApplicationError(
            _("The key of a notification is too long."), extra={"dedupe_key": dedupe_key}
        )
    users = {user.pk: user for user in recipients if user.is_active}
    if not users:
        return []
    now = timezone.now()
    rows = [
        Notification(
            recipient=user,
            kind=kind,
            request=request,
            subject=_one_line(subject, limit=SUBJECT_MAX_LENGTH),
            body=body,
            url=url,
            created_at=now,
            dedupe_key=dedupe_key,
        )
        for user in users.values()
    ]
    # No savepoint of its own: it joins the caller's step (see above), and fails with it.
    with transaction.atomic(savepoint=False):
        if dedupe_key:
            created = _create_missing(rows=rows, dedupe_key=dedupe_key)
        else:
            created = Notification.objects.bulk_create(rows)
        _emails_queue(notifications=created, kind=kind)
    return created


def _create_missing(*, rows: list[Notification], dedupe_key: str) -> list[Notification]:
    existing = set(
        Notification.objects.filter(
            recipient_id__in=[row.recipient_id for row in rows], dedupe_key=dedupe_key
        ).values_list("recipient_id", flat=True)
    )
    created = []
    for row in rows:
        if row.recipient_id in existing:
            continue
        try:
            # A savepoint per row: a conflict must not break the caller's transaction.
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            # Another transaction inserted the same key since we looked (on PostgreSQL our
            # INSERT waited for it to commit): theirs is the notification. Anything else
            # that failed is not ours to hide.
            if not Notification.objects.filter(
                recipient_id=row.recipient_id, dedupe_key=dedupe_key
            ).exists():
                raise
            continue
        created.append(row)
    return created


def _email_task_queue(notification_id: int) -> None:
    # Imported here: the task module imports this one.
    from mla.notifications.tasks import notification_email_send

    notification_email_send.delay(notification_id)


def _emails_queue(*, notifications: list[Notification], kind: str) -> None:
    addressed = [item for item in notifications if item.recipient.email]
    if not addressed:
        return
    wanting = users_wanting_email(user_ids=[item.recipient_id for item in addressed], kind=kind)
    for item in addressed:
        if item.recipient_id in wanting:
            transaction.on_commit(partial(_email_task_queue, item.pk))


def notification_mark_read(*, notification: Notification, actor: User) -> Notification:
    if notification.recipient_id != actor.pk:
        raise ApplicationError(_("This notification is addressed to someone else."))
    if notification.read_at is None:
        now = timezone.now()
        # Conditional, so that the first reading time stays when two tabs mark it at once.
        marked = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=now
        )
        if marked:
            notification.read_at = now
        else:
            notification.refresh_from_db(fields=["read_at"])
    return notification


def notification_mark_all_read(*, actor: User) -> int:
    """Mark every unread notification of ``actor`` read; how many were unread."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def email_preferences_set(*, user: User, kinds: Collection[str]) -> set[str]:
    """Receive exactly ``kinds`` by e-mail; returns them.

    A choice is stored for every kind known today, so a later change of the defaults
    does not override it; kinds added later follow their default.
    """
    chosen = set(kinds)
    unknown = sorted(chosen - set(Kind.values))
    if unknown:
        raise ApplicationError(
            _("Unknown kind of notification: %(kind)s.") % {"kind": ", ".join(unknown)},
            extra={"kinds": unknown},
        )
    EmailPreference.objects.bulk_create(
        [EmailPreference(user=user, kind=kind, email=kind in chosen) for kind in Kind.values],
        update_conflicts=True,
        unique_fields=["user", "kind"],
        update_fields=["email", "updated_at"],
    )
    return chosen


def notification_email_deliver(*, notification_id: int) -> bool:
    """E-mail a copy of one notification unless that was done already; True if sent now.

    Idempotent: the row stays locked while the mail is handed to the server, so a second
    worker waits and then finds it sent. At least once rather than exactly once: if the
    process dies after the hand-off but before the commit, the next attempt sends again.
    The recipient's preference and address are read again here, as they may have changed
    since the notification was queued.
    """
    with transaction.atomic(durable=True):
        try:
            notification = (
                Notification.objects.select_for_update(of=("self",))
                .select_related("recipient")
                .get(pk=notification_id)
            )
        except Notification.DoesNotExist:
            return False  # deleted with its request or its recipient
        recipient = notification.recipient
        if (
            notification.emailed_at is not None
            or not recipient.is_active
            or not recipient.email
            or not users_wanting_email(user_ids=[recipient.pk], kind=notification.kind)
        ):
            return False
        prefix = getattr(settings, "EMAIL_SUBJECT_PREFIX", "")
        send_mail(
            subject=_one_line(f"{prefix}{notification.subject}", limit=998),
            message=_email_text(notification=notification),
            from_email=None,
            recipient_list=[recipient.email],
            fail_silently=False,
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True


def _absolute(path: str) -> str:
    site = getattr(settings, "SITE_URL", "")
    return f"{site.rstrip('/')}{path}" if site else ""


def _email_text(*, notification: Notification) -> str:
    recipient = notification.recipient
    with translation.override(recipient.preferred_language):
        parts = [notification.body.strip()] if notification.body.strip() else []
        # When it happened, on the recipient's clock and labelled: the mail may be read later,
        # elsewhere, or arrive after a retry.
        parts.append(
            _("Notified on %(time)s.")
            % {"time": format_instant(notification.created_at, recipient.zone)}
        )
        link = _absolute(notification.safe_url) if notification.safe_url else ""
        if link:
            parts.append(_("Open it: %(link)s") % {"link": link})
        settings_link = _absolute(reverse("notifications:preferences"))
        if settings_link:
            parts.append(
                _("You receive this e-mail because of your notification settings: %(link)s")
                % {"link": settings_link}
            )
        return "\n\n".join(parts) + "\n"
