from django import template
from django.utils.translation import gettext_lazy as _

from mla.accounts.models import User
from mla.requests.lifecycle.rules import QUEUE_READER_ROLES

register = template.Library()

AUDIT_EVENTS = {
    "created": _("Created"),
    "duplicated": _("Created as a copy"),
    "linked": _("Linked to another request"),
    "unlinked": _("Link removed"),
    "attachment_added": _("Document attached"),
    "attachment_removed": _("Document removed"),
    "note": _("Note"),
    "submit": _("Submitted"),
    "validate": _("Validated"),
    "return_for_changes": _("Returned for changes"),
    "withdraw": _("Withdrawn"),
    "share": _("Shared"),
    "revoke": _("Access revoked"),
    "downloaded": _("Confidential copy downloaded"),
    "sent": _("Sent"),
    "delivered": _("Delivered"),
    "received": _("Received"),
    "acknowledged": _("Receipt acknowledged"),
    "assigned": _("Assigned"),
    "released": _("Released (unassigned)"),
    "recognised": _("Recognised"),
    "execution_started": _("Execution started"),
    "executed": _("Executed"),
    "partially_executed": _("Partially executed"),
    "refused": _("Refused"),
    "postponed": _("Postponed"),
    "resumed": _("Resumed"),
    "info_requested": _("Additional information requested"),
    "info_answered": _("Information provided"),
    "forwarded": _("Forwarded to the competent authority"),
    "recognition_extended": _("Time to decide extended"),
    "provisional_decided": _("Provisional measure decided"),
    "preserved": _("Data preserved"),
    "preservation_extended": _("Preservation extended"),
    "followed_up": _("Followed up by a request for the data"),
    "follow_up_decided": _("Follow-up request decided"),
    "expired": _("Preservation ended"),
    "chased": _("Reminder sent to the executing side"),
    "not_transmitted": _("Could not be sent to the competent authority"),
    "deadline_missed": _("Deadline missed"),
    "handover_note": _("Handover note"),
}


@register.filter
def audit_event(code: str) -> str:
    """The audit event's name in the interface language (the code itself if unknown)."""
    return str(AUDIT_EVENTS.get(code, code))


@register.filter
def can_see_queue(user: object) -> bool:
    """Whether the incoming queue is in the user's menu (executing staff, supervisors,
    auditors)."""
    return isinstance(user, User) and any(user.has_role(role) for role in QUEUE_READER_ROLES)


@register.filter
def can_import_messages(user: object) -> bool:
    """Whether the "import a message" page is in the user's menu (staff of an authority this
    node hosts): for a message or receipt that came on a file, not over the network."""
    if not isinstance(user, User) or user.authority_id is None:
        return False
    from mla.exchange.transfer import may_import

    return may_import(user=user)
