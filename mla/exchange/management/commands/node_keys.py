from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.core.errors import ApplicationError
from mla.exchange.keys import (
    node_key_create,
    node_key_export,
    node_key_repin,
    node_key_rotate,
    node_keys_list,
)


class Command(BaseCommand):
    help = (
        "Key pairs of the authorities hosted on this node: create, list, rotate, repin, export. "
        "The public key of a new pair is pinned in the authority's directory entry."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Create the first key pair of an authority.")
        create.add_argument("identifier", help="Directory identifier of the authority.")
        actions.add_parser("list", help="List the key pairs on this node.")
        rotate = actions.add_parser(
            "rotate", help="Make a new key pair and pin it; the old secret key is kept."
        )
        rotate.add_argument("identifier", help="Directory identifier of the authority.")
        repin = actions.add_parser(
            "repin",
            help="Pin again a key pair this node holds for the authority (the newest, or "
            "--fingerprint): repairs a pin overwritten by an import or by hand.",
        )
        repin.add_argument("identifier", help="Directory identifier of the authority.")
        repin.add_argument(
            "--fingerprint", default="", help="The key pair to pin (default: the newest)."
        )
        export = actions.add_parser("export", help="Print or write the pinned public key.")
        export.add_argument("identifier", help="Directory identifier of the authority.")
        export.add_argument("-o", "--output", help="Write the key to this file.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                self._list()
            elif action == "create":
                fingerprint = node_key_create(authority=self._authority(options["identifier"]))
                self.stdout.write(f"{options['identifier']}: {fingerprint}")
            elif action == "rotate":
                fingerprint = node_key_rotate(authority=self._authority(options["identifier"]))
                self.stdout.write(f"{options['identifier']}: {fingerprint}")
            elif action == "repin":
                authority = self._authority(options["identifier"])
                before = authority.key_fingerprint
                fingerprint = node_key_repin(
                    authority=authority, fingerprint=options["fingerprint"]
                )
                if fingerprint == before:
                    self.stdout.write(
                        _("%(identifier)s: %(fingerprint)s (already pinned)")
                        % {"identifier": options["identifier"], "fingerprint": fingerprint}
                    )
                else:
                    self.stdout.write(f"{options['identifier']}: {fingerprint}")
            elif action == "export":
                armored = node_key_export(authority=self._authority(options["identifier"]))
                if options["output"]:
                    Path(options["output"]).write_text(armored, encoding="ascii")
                else:
                    self.stdout.write(armored, ending="")
        except ApplicationError as error:
            raise CommandError(error.message) from error

    def _authority(self, identifier: str) -> Authority:
        authority = (
            Authority.objects.select_related("country").filter(identifier=identifier).first()
        )
        if authority is None:
            raise CommandError(
                _("No authority with identifier “%(identifier)s” in the directory.")
                % {"identifier": identifier}
            )
        return authority

    def _list(self) -> None:
        for key in node_keys_list():
            expires = key.expires_at.date().isoformat() if key.expires_at else "-"
            pinned = "pinned" if key.pinned else "old"
            self.stdout.write(
                f"{key.authority_identifier or '?':<40} {key.fingerprint} "
                f"{key.created_at.date().isoformat()} {expires:<10} {pinned}"
            )
