"""Read-side queries of users."""

from collections.abc import Iterable

from django.db.models import QuerySet

from mla.accounts.models import User


def users_with_roles(*, authority_id: int | None, roles: Iterable[str]) -> QuerySet[User]:
    """Active users of an authority holding any of ``roles`` (none for no authority)."""
    if authority_id is None:
        return User.objects.none()
    return User.objects.filter(
        authority_id=authority_id, is_active=True, groups__name__in=list(roles)
    ).distinct()
