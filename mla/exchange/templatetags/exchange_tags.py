from typing import Any

from django import template

from mla.accounts.models import User
from mla.exchange.introduction import may_introduce
from mla.exchange.selectors import request_messages
from mla.exchange.transfer import may_import, receipts_to_bring_back

register = template.Library()


@register.filter
def can_import_messages(user: object) -> bool:
    """Whether the "import a message" page is in the user's menu (staff of an authority this
    node hosts): for a message or receipt that came on a file, not over the network."""
    if not isinstance(user, User) or user.authority_id is None:
        return False
    return may_import(user=user)


@register.filter
def can_introduce_partners(user: object) -> bool:
    """Whether the partners page (introductions between nodes) is in the user's menu."""
    return isinstance(user, User) and may_introduce(user)


@register.inclusion_tag("exchange/_request_messages.html", takes_context=True)
def request_exchange_panel(context: template.Context) -> dict[str, Any]:
    """The request page's Exchange panel: the messages about the request (``item``) that
    this node sent or received, their delivery, files and receipts. The request pages
    show it without the requests app knowing of the exchange."""
    item, user = context["item"], context["user"]
    messages = request_messages(request=item)
    return {
        "item": item,
        "draft": context.get("draft"),
        "csrf_token": context.get("csrf_token"),
        "exchange": {
            "messages": messages,
            "may_import": may_import(user=user),
            "receipts_to_bring_back": receipts_to_bring_back(user=user, messages=messages),
        },
    }
