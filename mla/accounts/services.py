from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from contact_points.models import Authority
from contact_points.validators import validate_time_zone
from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.core.errors import ApplicationError

AUTHORITY_GROUP_PREFIX = "authority:"
# Requests of other authorities made visible to this one (to validate, or shared with it)
# are granted to a second group, so that the first holds only the authority's own requests.
AUTHORITY_SHARED_GROUP_PREFIX = "authority-shared:"


def authority_group(*, authority: Authority, shared: bool = False) -> Group:
    """A group of an authority's users, to which object permissions are granted."""
    prefix = AUTHORITY_SHARED_GROUP_PREFIX if shared else AUTHORITY_GROUP_PREFIX
    group, _created = Group.objects.get_or_create(name=f"{prefix}{authority.identifier}")
    return group


@transaction.atomic
def user_authority_group_sync(*, user: User) -> None:
    """Put the user in their authority's two groups, and in no other authority's."""
    own = [
        authority_group(authority=user.authority),
        authority_group(authority=user.authority, shared=True),
    ]
    stale = user.groups.filter(
        Q(name__startswith=AUTHORITY_GROUP_PREFIX)
        | Q(name__startswith=AUTHORITY_SHARED_GROUP_PREFIX)
    ).exclude(pk__in=[group.pk for group in own])
    user.groups.remove(*stale)
    user.groups.add(*own)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    authority: Authority,
    roles: Iterable[Role | str],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    preferred_language: str = "en",
) -> User:
    """Create a user of ``authority`` holding ``roles``; the password must pass the validators."""
    role_names = sorted({str(role) for role in roles})
    unknown = set(role_names) - set(Role.values)
    if unknown:
        raise ApplicationError(f"Unknown roles: {', '.join(sorted(unknown))}")
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError(f"The username “{username}” is taken.")
    user = User(
        username=username,
        authority=authority,
        first_name=first_name,
        last_name=last_name,
        email=email,
        preferred_language=preferred_language,
        # The Django admin is where directory administrators edit the directory.
        is_staff=Role.DIRECTORY_ADMINISTRATOR in role_names,
    )
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages)) from error
    user.set_password(password)
    user.save()
    user.groups.set(Group.objects.filter(name__in=role_names))
    user_authority_group_sync(user=user)
    return user


def user_set_language(*, user: User, language: str) -> None:
    if language not in dict(User._meta.get_field("preferred_language").choices or []):
        raise ApplicationError(f"Unsupported language “{language}”.")
    if user.preferred_language != language:
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])


def user_time_zone_set(*, user: User, time_zone: str) -> None:
    """The zone ``user`` reads times in; empty: their authority's (the directory's)."""
    time_zone = time_zone.strip()
    if time_zone:
        try:
            validate_time_zone(time_zone)
        except ValidationError as error:
            raise ApplicationError(" ".join(error.messages)) from error
    if user.time_zone != time_zone:
        user.time_zone = time_zone
        user.save(update_fields=["time_zone"])
