"""Telling people when a partner's trust anchors change.

When a change of a partner's key or inbox URL takes effect (approved by a second directory
administrator, or carried by a directory signed by a pinned publisher), the staff of the
authorities on this node that exchanged with that partner in the last year are notified, in
the transaction that applies it: if a substituted key slipped through, those who send to
that partner are the ones who can tell, by asking the partner.
"""

from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from contact_points.models import Authority, DirectoryChange
from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.exchange.models import InboxMessage, OutboxMessage
from mla.notifications.kinds import Kind
from mla.notifications.messages import message, message_render
from mla.notifications.services import notification_send
from mla.requests.models import Request

EXCHANGED_WITHIN = timedelta(days=365)

SUBJECT = gettext_noop("New key or inbox URL for %(authority)s")
BODY = gettext_noop(
    "The directory now pins a new key or inbox URL for %(authority)s, with whom your authority "
    "exchanged requests in the last year.\n"
    "Key fingerprint: %(old)s → %(new)s\n"
    "Inbox URL: %(old_url)s → %(new_url)s\n"
    "%(approval)s\n"
    "If you did not expect it, check the fingerprint with the partner by a phone number you "
    "already know before sending anything."
)
APPROVED_BY = gettext_noop("Proposed by %(proposer)s, approved by %(approver)s.")
SIGNED_BY = gettext_noop("Carried by a directory signed by the pinned publisher %(publisher)s.")


def authorities_exchanging_with(*, partner: Authority, since: Any) -> set[int]:
    """The authorities on this node that sent to, or received from, ``partner`` since then."""
    sent = OutboxMessage.objects.filter(recipient=partner, created_at__gte=since).values_list(
        "sender_id", flat=True
    )
    received = InboxMessage.objects.filter(sender=partner, received_at__gte=since).values_list(
        "recipient_id", flat=True
    )
    # Requests count too, delivered by the exchange or not: the outgoing copies addressed to
    # the partner, and the incoming copies it issued.
    requested = Request.objects.filter(
        Q(direction=Request.Direction.OUTGOING, executing_authority=partner)
        | Q(direction=Request.Direction.INCOMING, issuing_authority=partner),
        created_at__gte=since,
    ).values_list("issuing_authority_id", "executing_authority_id")
    ids = {*sent.distinct(), *received.distinct()}
    for issuing_id, executing_id in requested.distinct():
        ids.add(executing_id if issuing_id == partner.pk else issuing_id)
    ids.discard(None)
    ids.discard(partner.pk)
    return {int(pk) for pk in ids if pk is not None}


def _who(user: User | None) -> str | dict[str, str]:
    """Who acted, as a notification's message holds it (translated when read)."""
    if user is None:
        return {"msgid": gettext_noop("an import on the command line")}
    return user.get_full_name() or user.username


def trust_change_notify(*, change: DirectoryChange) -> int:
    """Notify the staff concerned by an applied change; how many were notified."""
    partner = change.authority
    since = (change.decided_at or timezone.now()) - EXCHANGED_WITHIN
    authority_ids = authorities_exchanging_with(partner=partner, since=since)
    if not authority_ids:
        return 0
    staff = list(User.objects.filter(authority_id__in=authority_ids, is_active=True))
    by_language: dict[str, list[User]] = {}
    for user in staff:
        by_language.setdefault(user.preferred_language or "en", []).append(user)
    url = reverse("contact_points:authority", kwargs={"identifier": partner.identifier})
    if change.publisher_fingerprint:
        approval: dict[str, Any] = {
            "msgid": SIGNED_BY,
            "params": {"publisher": change.publisher_fingerprint},
        }
    else:
        approval = {
            "msgid": APPROVED_BY,
            "params": {"proposer": _who(change.proposed_by), "approver": _who(change.decided_by)},
        }
    stored = message(
        subject=SUBJECT,
        body=BODY,
        params={
            "authority": partner.name,
            "old": change.old_fingerprint_groups or "—",
            "new": change.new_fingerprint_groups or "—",
            "old_url": change.old_inbox_url or "—",
            "new_url": change.new_inbox_url or "—",
            "approval": approval,
        },
    )
    for language, users in by_language.items():
        with translation.override(language):
            subject, body = message_render(stored)
            notification_send(
                recipients=users,
                kind=Kind.PARTNER_TRUST_CHANGED,
                subject=subject,
                body=body,
                url=url,
                dedupe_key=f"trust-change:{change.pk}",
                message=stored,
            )
    return len(staff)


PROPOSED_SUBJECT = gettext_noop("Key or inbox changes await your approval: %(count)d")
PROPOSED_BODY = gettext_noop(
    "%(who)s proposed new keys or inbox URLs for: %(authorities)s.\n"
    "They take effect only once another directory administrator approves them. Compare each "
    "new fingerprint with the partner, by a phone number you already know, before approving."
)


def trust_changes_proposed_notify(*, changes: list[DirectoryChange]) -> int:
    """Tell the directory administrators, other than the proposer, that changes wait for
    their approval; how many were told."""
    if not changes:
        return 0
    proposers = {change.proposed_by_id for change in changes}
    administrators = list(
        User.objects.filter(is_active=True, groups__name=Role.DIRECTORY_ADMINISTRATOR)
        .exclude(pk__in=[pk for pk in proposers if pk is not None])
        .distinct()
    )
    if not administrators:
        return 0
    names = sorted(
        Authority.objects.filter(pk__in={change.authority_id for change in changes})
        .order_by("name")
        .values_list("name", flat=True)[:21]
    )
    proposer = changes[0].proposed_by if len(proposers) == 1 else None
    url = reverse("admin:contact_points_directorychange_changelist")
    by_language: dict[str, list[User]] = {}
    for user in administrators:
        by_language.setdefault(user.preferred_language or "en", []).append(user)
    stored = message(
        subject=PROPOSED_SUBJECT,
        body=PROPOSED_BODY,
        params={
            "count": len(changes),
            "who": _who(proposer),
            "authorities": ", ".join(names[:20]) + (" …" if len(names) > 20 else ""),
        },
    )
    for language, users in by_language.items():
        with translation.override(language):
            subject, body = message_render(stored)
            notification_send(
                recipients=users,
                kind=Kind.TRUST_CHANGE_PROPOSED,
                subject=subject,
                body=body,
                url=url,
                dedupe_key=f"trust-proposed:{min(change.pk for change in changes)}",
                message=stored,
            )
    return len(administrators)


def on_trust_changes_proposed(
    sender: Any, *, changes: list[DirectoryChange], **kwargs: Any
) -> None:
    trust_changes_proposed_notify(changes=changes)


def on_trust_change_applied(sender: Any, *, change: DirectoryChange, **kwargs: Any) -> None:
    trust_change_notify(change=change)
