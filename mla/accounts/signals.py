from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from mla.accounts.roles import ROLE_PERMISSIONS, Role
from mla.accounts.second_factor import user_has_second_factor
from mla.accounts.sessions import session_signed_in


def roles_sync(**kwargs: Any) -> None:
    """Create the role groups and give them their permissions (idempotent).

    Runs after every migrate (and after the test runner flushes the database). The
    permissions it grants are created first: this app is listed before django.contrib.auth
    (its commands replace Django's), so this receiver may run before auth's own.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    using = kwargs.get("using") or "default"
    for label in sorted(
        {name.split(".")[0] for names in ROLE_PERMISSIONS.values() for name in names}
    ):
        create_permissions(apps.get_app_config(label), verbosity=0, using=using)
    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        wanted = ROLE_PERMISSIONS.get(role.value, [])
        if not wanted:
            continue
        condition = Q()
        for label in wanted:
            app_label, codename = label.split(".")
            condition |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.add(*Permission.objects.filter(condition))


def session_signed_in_record(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Every sign-in (password form, admin, test client) starts the session's clocks."""
    if request is not None and hasattr(request, "session"):
        session_signed_in(
            session=request.session, second_factor_enrolled=user_has_second_factor(user=user)
        )
