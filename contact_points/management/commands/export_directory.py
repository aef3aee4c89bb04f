import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from contact_points.directory_io import directory_export_csv, directory_export_json
from contact_points.directory_signing import (
    SIGNATURE_SUFFIX,
    directory_publisher_key_export,
    directory_sign,
)
from mla.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Export the directory as JSON (everything, round-trips exactly) or CSV (flat). "
        "With --sign FINGERPRINT -o FILE, also write FILE.asc, a detached ASCII-armoured "
        "signature by that key of the node's secret GnuPG home (NODE_SECRET_GNUPG_HOME), "
        "which importing nodes check (and plain `gpg --verify FILE.asc FILE` too). "
        "--export-publisher-key FINGERPRINT prints that key's public key instead, to hand "
        "to the nodes that import."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("-o", "--output", help="File to write (default: standard output).")
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--sign",
            metavar="FINGERPRINT",
            help="Sign the export with this publisher key (full fingerprint); needs -o.",
        )
        action.add_argument(
            "--export-publisher-key",
            metavar="FINGERPRINT",
            help="Write the public key of this publisher key instead of the directory.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output = options["output"]
        try:
            if options["export_publisher_key"]:
                armored = directory_publisher_key_export(
                    fingerprint=options["export_publisher_key"]
                )
                self._write(output, armored.encode("ascii"))
                return
            if options["sign"] and not output:
                raise CommandError(
                    _(
                        "A signed export needs a file: give -o FILE, and the signature is "
                        "written to FILE%(suffix)s."
                    )
                    % {"suffix": SIGNATURE_SUFFIX}
                )
            content = (
                directory_export_json() if options["format"] == "json" else directory_export_csv()
            ).encode("utf-8")
            # Signed before anything is written, so a refusal leaves no unsigned file behind.
            signature = (
                directory_sign(content=content, fingerprint=options["sign"])
                if options["sign"]
                else None
            )
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self._write(output, content)
        if signature is not None:
            self._write(f"{output}{SIGNATURE_SUFFIX}", signature)

    def _write(self, output: str | None, data: bytes) -> None:
        if output:
            Path(output).write_bytes(data)
            self.stderr.write(f"Wrote {output}")
        else:
            sys.stdout.write(data.decode("utf-8"))
