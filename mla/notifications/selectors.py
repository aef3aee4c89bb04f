"""Read-side queries of notifications: a user only ever sees their own."""

from collections.abc import Collection

from django.db.models import QuerySet

from mla.accounts.models import User
from mla.notifications.kinds import Kind, emailed_by_default
from mla.notifications.models import EmailPreference, Notification


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_for_user(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The inbox, newest first; only what is still unread when ``unread_only``."""
    found = Notification.objects.filter(recipient=user)
    if unread_only:
        found = found.filter(read_at__isnull=True)
    return found.order_by("-created_at", "-id")


def notification_for_user(*, user: User, notification_id: int) -> Notification | None:
    """One of the user's notifications; None for another user's, as for a missing one."""
    return Notification.objects.filter(recipient=user, pk=notification_id).first()


def email_kinds_for_user(*, user: User) -> set[str]:
    """The kinds of notification the user receives by e-mail."""
    chosen = dict(EmailPreference.objects.filter(user=user).values_list("kind", "email"))
    return {kind for kind in Kind.values if chosen.get(kind, emailed_by_default(kind))}


def users_wanting_email(*, user_ids: Collection[int], kind: str) -> set[int]:
    """Those of ``user_ids`` who receive ``kind`` by e-mail (their choice, else the default)."""
    chosen = dict(
        EmailPreference.objects.filter(user_id__in=user_ids, kind=kind).values_list(
            "user_id", "email"
        )
    )
    default = emailed_by_default(kind)
    return {user_id for user_id in user_ids if chosen.get(user_id, default)}
