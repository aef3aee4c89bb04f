from django.http import HttpRequest

from mla.accounts.models import User
from mla.notifications.selectors import unread_count


def unread_notifications(request: HttpRequest) -> dict[str, object]:
    """The header's unread count: one COUNT for a signed-in user, nothing for anyone else."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {}
    return {"unread_notifications": unread_count(user=user)}
