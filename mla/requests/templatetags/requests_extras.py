from typing import Any

from django import template
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, gettext_noop

from mla.accounts.models import User
from mla.requests.events import Event
from mla.requests.lifecycle.rules import QUEUE_READER_ROLES
from mla.requests.models import Request

register = template.Library()


@register.simple_tag
def request_url(name: str, item: Request, *args: Any) -> str:
    """The URL ``name`` of a request's page: ``{% request_url 'requests:pdf' item %}``, with
    any further arguments after the request's own (its issuer and reference)."""
    return reverse(name, args=[*item.url_args, *args])


@register.filter
def draft_owner(user: object) -> str:
    """An opaque, stable name of the user for the browser's keys of unsaved typing: two users
    of one browser never see each other's, and the key tells nothing about who typed."""
    user_id = getattr(user, "pk", None) or ""
    return salted_hmac("mla.requests.draft-owner", str(user_id)).hexdigest()[:32]


# Each event's (lazy) label by its code: Event.values builds its list anew on every call,
# which over a long timeline cost more than the page's queries.
EVENT_LABELS = {event.value: event.label for event in Event}


@register.filter
def audit_event(code: str) -> str:
    """The audit event's name in the interface language (the code itself if unknown)."""
    found = EVENT_LABELS.get(code)
    return code if found is None else str(found)


# The legal sources the declarations give their deadlines (mla.instruments.declarations),
# as stored with each deadline: marked here so that their translations are kept.
LEGAL_SOURCES = (
    gettext_noop("Directive 2014/41/EU, Art. 16(1), Annex B"),
    gettext_noop("Directive 2014/41/EU, Art. 12(3)"),
    gettext_noop("Directive 2014/41/EU, Art. 12(4)"),
    gettext_noop("Directive 2014/41/EU, Art. 32(2)"),
    gettext_noop("Directive 2014/41/EU, Art. 12(2); the EIO, section B"),
    gettext_noop("the request, section urgency"),
    gettext_noop("Budapest Convention (ETS 185), Art. 29(7)"),
)


@register.filter
def legal_source(text: str) -> str:
    """A deadline's legal source in the interface language (as stored if unknown)."""
    return gettext(text) if text else text


@register.filter
def state_name(code: str) -> str:
    """A request state's name in the interface language (the code itself if unknown)."""
    return str(Request.State(code).label) if code in Request.State.values else code


@register.filter
def can_see_queue(user: object) -> bool:
    """Whether the incoming queue is in the user's menu (executing staff, supervisors,
    auditors)."""
    return isinstance(user, User) and any(user.has_role(role) for role in QUEUE_READER_ROLES)
