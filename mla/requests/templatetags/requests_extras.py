from django import template
from django.utils.translation import gettext_lazy as _

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
}


@register.filter
def audit_event(code: str) -> str:
    """The audit event's name in the interface language (the code itself if unknown)."""
    return str(AUDIT_EVENTS.get(code, code))
