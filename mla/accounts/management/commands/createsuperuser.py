"""`createsuperuser`, asking for the user's authority by its directory identifier.

Django's command would take the authority's primary key, which no administrator knows; the
identifier is what the directory shows (``fr-paris-prosecutor``). With ``--noinput`` it is
``--authority IDENTIFIER`` or ``DJANGO_SUPERUSER_AUTHORITY``; a primary key still works.
"""

import os
from typing import Any

from django.contrib.auth.management.commands import createsuperuser
from django.core.management.base import CommandError

from contact_points.models import Authority

ENVIRONMENT_VARIABLE = "DJANGO_SUPERUSER_AUTHORITY"


def _authority_key(value: str) -> str:
    """The primary key (as text) of the authority named by identifier or primary key."""
    text = value.strip()
    found = (
        Authority.objects.filter(pk=int(text)).first()
        if text.isdigit()
        else Authority.objects.filter(identifier=text).first()
    )
    if found is None:
        raise CommandError(
            f"No authority “{text}” in the directory: give its identifier, as the directory "
            "shows it (import the directory first, or create the authority in the admin)."
        )
    return str(found.pk)


class Command(createsuperuser.Command):
    help = (
        "Create a superuser of an authority of the directory (asked for by its identifier). "
        "A superuser must enrol a second factor at first sign-in where the settings say so."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("authority"):
            options["authority"] = _authority_key(str(options["authority"]))
        elif os.environ.get(ENVIRONMENT_VARIABLE):
            os.environ[ENVIRONMENT_VARIABLE] = _authority_key(os.environ[ENVIRONMENT_VARIABLE])
        super().handle(*args, **options)

    def _get_input_message(self, field: Any, default: Any = None) -> str:
        if field.name == "authority":
            return "Authority (its identifier in the directory): "
        return str(super()._get_input_message(field, default))  # type: ignore[misc]  # not in the stubs

    def get_input_data(self, field: Any, message: str, default: Any = None) -> Any:
        if field.name != "authority":
            return super().get_input_data(field, message, default)
        raw = input(message).strip()
        try:
            return int(_authority_key(raw))
        except CommandError as error:
            self.stderr.write(f"Error: {error}")
            return None
