"""`node_init`: the first start of a real node (mla.node.setup says what it does).

Without a terminal, or with --no-input, every answer comes from the options (or, on a run
after the first, from what the node already holds); with a terminal, a missing answer is
asked for.
"""

import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from contact_points.instruments import Instrument
from contact_points.models import Authority, AuthorityKind, instruments_offered_by_default
from mla.core.errors import ApplicationError
from mla.core.node import node_identity
from mla.node.setup import (
    FirstAdministrator,
    KeyAction,
    NewAuthority,
    NodeInitResult,
    node_administrators,
    node_init,
)

PASSWORD_VARIABLE = "DJANGO_SUPERUSER_PASSWORD"  # noqa: S105  # the name of the variable


class Command(BaseCommand):
    help = (
        "First start of the node: its name and public base URL, the authorities it hosts "
        "(already in the directory, or created now) with their key pairs and inbox URLs, and "
        "its first administrator (a superuser with the node administrator role), whose random "
        "password is printed once unless --admin-password-file or DJANGO_SUPERUSER_PASSWORD "
        "gives one. Safe to run again: what exists is kept, and a run that failed is finished."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="", help="The node's name, shown to partners.")
        parser.add_argument(
            "--base-url", default="", help="The public base URL, e.g. https://mla.example.org."
        )
        parser.add_argument(
            "--authority",
            action="append",
            default=[],
            metavar="IDENTIFIER",
            help="An authority in the directory that this node hosts (repeatable).",
        )
        parser.add_argument(
            "--create-authority",
            default="",
            metavar="IDENTIFIER",
            help="Add an authority to the directory and host it (with --authority-name, "
            "--country, --kind and --time-zone).",
        )
        parser.add_argument("--authority-name", default="", help="Its name.")
        parser.add_argument("--country", default="", help="Its ISO 3166 country code, e.g. DE.")
        parser.add_argument(
            "--kind", default="", help=f"Its kind: {', '.join(AuthorityKind.values)}."
        )
        parser.add_argument("--time-zone", default="", help="Its time zone, e.g. Europe/Berlin.")
        parser.add_argument(
            "--instruments",
            default="",
            help="The instruments it receives, separated by commas (eio, mla, preservation).",
        )
        parser.add_argument("--admin-username", default="", help="The first administrator.")
        parser.add_argument("--admin-email", default="", help="The first administrator's e-mail.")
        parser.add_argument(
            "--admin-authority",
            default="",
            metavar="IDENTIFIER",
            help="The first administrator's authority (default: the first hosted one).",
        )
        parser.add_argument(
            "--admin-password-file",
            default="",
            metavar="PATH",
            help=f"Read the first administrator's password from this file (else "
            f"{PASSWORD_VARIABLE}, else a random one is printed once).",
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_true",
            dest="no_input",
            help="Never ask; fail on a missing answer.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.interactive = not options["no_input"] and sys.stdin is not None and sys.stdin.isatty()
        identity = node_identity()
        name = options["name"] or (identity.name if identity else "")
        base_url = options["base_url"] or (identity.base_url if identity else "")
        if not name and self.interactive:
            name = self._ask(_("Name of this node"))
        if not base_url and self.interactive:
            base_url = self._ask(_("Public base URL (https://…)"))
        authorities = list(options["authority"])
        new_authority = self._new_authority(options)
        if not authorities and new_authority is None and self.interactive:
            authorities, new_authority = self._ask_authority()
        administrator = self._administrator(options, authorities, new_authority)
        try:
            result = node_init(
                name=name,
                base_url=base_url,
                authorities=authorities,
                new_authority=new_authority,
                administrator=administrator,
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self._summary(result, password_source=self._password_source(options))

    # Answers ----------------------------------------------------------------------------------

    def _ask(self, label: str, default: str = "") -> str:
        shown = f"{label} [{default}]: " if default else f"{label}: "
        return input(shown).strip() or default

    def _new_authority(self, options: dict[str, Any]) -> NewAuthority | None:
        if not options["create_authority"]:
            for option in ("authority_name", "country", "kind", "time_zone", "instruments"):
                if options[option]:
                    raise CommandError(
                        _("--%(option)s describes a new authority: give --create-authority too.")
                        % {"option": option.replace("_", "-")}
                    )
            return None
        return NewAuthority(
            identifier=options["create_authority"],
            name=options["authority_name"],
            country_code=options["country"],
            kind=options["kind"],
            time_zone=options["time_zone"],
            instruments=tuple(filter(None, options["instruments"].replace(" ", "").split(","))),
        )

    def _ask_authority(self) -> tuple[list[str], NewAuthority | None]:
        identifier = self._ask(_("Identifier of the authority this node hosts"))
        if not identifier or Authority.objects.filter(identifier=identifier).exists():
            return [identifier], None
        self.stdout.write(
            _("%(identifier)s is not in the directory: it will be added.")
            % {"identifier": identifier}
        )
        name = self._ask(_("Its name"))
        country_code = self._ask(_("Its country (ISO code, e.g. DE)"))
        kind = self._ask(_("Its kind (%(kinds)s)") % {"kinds": ", ".join(AuthorityKind.values)})
        return [], NewAuthority(
            identifier=identifier,
            name=name,
            country_code=country_code,
            kind=kind,
            time_zone=self._ask(_("Its time zone"), "UTC"),
            instruments=tuple(
                filter(
                    None,
                    self._ask(
                        _("The instruments it receives (%(codes)s)")
                        % {"codes": ", ".join(Instrument.values)},
                        ",".join(instruments_offered_by_default(kind=kind.strip())),
                    )
                    .replace(" ", "")
                    .split(","),
                )
            ),
        )

    def _administrator(
        self,
        options: dict[str, Any],
        authorities: list[str],
        new_authority: NewAuthority | None,
    ) -> FirstAdministrator | None:
        username, email = options["admin_username"], options["admin_email"]
        if not (username or email) and node_administrators():
            return None
        if self.interactive:
            username = username or self._ask(_("Username of the first administrator"))
            email = email or self._ask(_("E-mail of the first administrator"))
        if not (username or email):
            return None
        return FirstAdministrator(
            username=username,
            email=email,
            authority_identifier=options["admin_authority"],
            password=self._password(options),
        )

    def _password(self, options: dict[str, Any]) -> str:
        path = options["admin_password_file"]
        if path:
            try:
                password = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(
                    _("--admin-password-file: cannot read %(path)s (%(reason)s).")
                    % {"path": path, "reason": error}
                ) from error
            if not password:
                raise CommandError(_("--admin-password-file: %(path)s is empty.") % {"path": path})
            return password
        return os.environ.get(PASSWORD_VARIABLE, "")

    def _password_source(self, options: dict[str, Any]) -> str:
        if options["admin_password_file"]:
            return "--admin-password-file"
        return PASSWORD_VARIABLE if os.environ.get(PASSWORD_VARIABLE) else ""

    # Summary ----------------------------------------------------------------------------------

    def _summary(self, result: NodeInitResult, *, password_source: str) -> None:
        write = self.stdout.write
        key_said = {
            KeyAction.CREATED: _("key pair created"),
            KeyAction.KEPT: _("key pair already here"),
            KeyAction.PINNED_AGAIN: _("key pair of an earlier run, pinned now"),
        }
        write(_("Node: %(name)s") % {"name": result.name})
        write(_("Public base URL: %(url)s") % {"url": result.base_url})
        write(_("Hosted authorities:"))
        for authority in result.authorities:
            write(f"  {authority.identifier}: {authority.name}")
            write(
                "    "
                + _("Fingerprint: %(fingerprint)s (%(action)s)")
                % {
                    "fingerprint": authority.fingerprint_groups,
                    "action": key_said[authority.key_action],
                }
            )
            inbox = (
                _("Inbox URL: %(url)s (set)")
                if authority.inbox_set
                else _("Inbox URL: %(url)s (kept)")
            )
            write("    " + inbox % {"url": authority.inbox_url})
        administrator = result.administrator
        if administrator is not None:
            if administrator.created:
                write(
                    _(
                        "First administrator: %(username)s (created: superuser and node "
                        "administrator)"
                    )
                    % {"username": administrator.username}
                )
            else:
                write(
                    _("First administrator: %(username)s (already there)")
                    % {"username": administrator.username}
                )
        write(_("Sign in at: %(url)s") % {"url": result.sign_in_url})
        if administrator is not None and administrator.created:
            if administrator.password:
                write(
                    _(
                        "Credentials: username %(username)s, password %(password)s (shown this "
                        "once and stored only as a hash: note it now, change it after signing in)"
                    )
                    % {"username": administrator.username, "password": administrator.password}
                )
            else:
                write(
                    _("Credentials: username %(username)s, password as given by %(source)s")
                    % {"username": administrator.username, "source": password_source}
                )
            if settings.MFA_REQUIRED_FOR_ADMINISTRATORS:
                write(_("At the first sign-in the administrator enrols a second factor."))
        elif administrator is not None:
            write(_("Credentials: unchanged (the administrator was already there)."))
        for note in result.notes:
            write(_("Note: %(note)s") % {"note": note})
