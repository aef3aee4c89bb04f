from typing import Any

from django import template
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, gettext_noop

from mla.accounts.models import User
from mla.requests.events import event_label
from mla.requests.lifecycle.rules import QUEUE_READER_ROLES
from mla.requests.models import Request, state_label

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


@register.filter
def audit_event(code: str, item: Request | None = None) -> str:
    """The audit event's name in the interface language, in the words of ``item``, the
    request it happened to (``{{ entry.event|audit_event:item }}``); the code itself if
    unknown."""
    declaration_code = item.declaration_code if item is not None else ""
    return str(event_label(event=code, declaration_code=declaration_code))


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
    gettext_noop("Regulation (EU) 2023/1543, Art. 10(2)"),
    gettext_noop("Regulation (EU) 2023/1543, Art. 10(3)"),
    gettext_noop("Regulation (EU) 2023/1543, Art. 10(4)"),
    gettext_noop("Regulation (EU) 2023/1543, Art. 10(4), 12(1)"),
    gettext_noop("Regulation (EU) 2023/1543, Art. 10(5)-(6)"),
    gettext_noop("Regulation (EU) 2023/1543, Art. 11(1)"),
    gettext_noop("Regulation (EU) 2023/1543, Art. 12(1)"),
)


@register.filter
def legal_source(text: str) -> str:
    """A deadline's legal source in the interface language (as stored if unknown)."""
    return gettext(text) if text else text


@register.filter
def state_name(code: str, item: Request | None = None) -> str:
    """A state's name in the interface language, in the words of ``item``, the request it is
    a state of (``{{ entry.to_state|state_name:item }}``); the code itself if unknown."""
    if item is None:
        return str(state_label(state=code))
    return str(
        state_label(state=code, declaration_code=item.declaration_code, direction=item.direction)
    )


@register.filter
def can_see_queue(user: object) -> bool:
    """Whether the incoming queue is in the user's menu (executing staff, supervisors,
    auditors)."""
    return isinstance(user, User) and any(user.has_role(role) for role in QUEUE_READER_ROLES)
