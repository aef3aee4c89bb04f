from django import template

from mla.accounts.models import User
from mla.requests.events import Event
from mla.requests.lifecycle.rules import QUEUE_READER_ROLES

register = template.Library()


@register.filter
def audit_event(code: str) -> str:
    """The audit event's name in the interface language (the code itself if unknown)."""
    return str(Event(code).label) if code in Event.values else code


@register.filter
def can_see_queue(user: object) -> bool:
    """Whether the incoming queue is in the user's menu (executing staff, supervisors,
    auditors)."""
    return isinstance(user, User) and any(user.has_role(role) for role in QUEUE_READER_ROLES)
