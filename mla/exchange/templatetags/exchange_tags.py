from django import template

from mla.accounts.models import User
from mla.exchange.transfer import may_import

register = template.Library()


@register.filter
def can_import_messages(user: object) -> bool:
    """Whether the "import a message" page is in the user's menu (staff of an authority this
    node hosts): for a message or receipt that came on a file, not over the network."""
    if not isinstance(user, User) or user.authority_id is None:
        return False
    return may_import(user=user)
