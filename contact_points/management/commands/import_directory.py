from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from contact_points.directory_io import directory_import
from contact_points.directory_signing import (
    SIGNATURE_SUFFIX,
    directory_publisher_keys_read,
    directory_publishers_pinned,
    directory_signature_read,
    directory_signature_verify,
)
from mla.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Import a directory file (JSON or CSV). All-or-nothing: every bad row is reported "
        "with its place in the file and nothing is written. "
        "Signed directories: with --require-signature FINGERPRINT[,FINGERPRINT...], or when "
        "the setting DIRECTORY_PUBLISHER_FINGERPRINTS pins publishers, the file is imported "
        "only if FILE.asc (or --signature PATH) is a good signature by one of those keys, "
        "checked in a throw-away GnuPG home holding only the pinned public keys, read from "
        "--publisher-key PATH (armoured public key; repeatable) or else from every *.asc file "
        "in DIRECTORY_PUBLISHER_KEYS_DIR. With the setting, --allow-unsigned imports without "
        "checking a signature. Changes of key or inbox URL of entries already in the directory "
        "take effect at once only from a signed file; from an unsigned one they await the "
        "approval of a directory administrator in the administration."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--format", choices=["json", "csv"], help="Default: from the file extension."
        )
        signed = parser.add_mutually_exclusive_group()
        signed.add_argument(
            "--require-signature",
            metavar="FINGERPRINT[,FINGERPRINT...]",
            help=(
                "Full fingerprints of the publishers whose signature is accepted (instead of "
                "DIRECTORY_PUBLISHER_FINGERPRINTS)."
            ),
        )
        signed.add_argument(
            "--allow-unsigned",
            action="store_true",
            help="Import without checking a signature, although DIRECTORY_PUBLISHER_FINGERPRINTS "
            "pins publishers.",
        )
        parser.add_argument(
            "--signature",
            metavar="PATH",
            help=f"The detached signature (default: FILE{SIGNATURE_SUFFIX}).",
        )
        parser.add_argument(
            "--publisher-key",
            metavar="PATH",
            action="append",
            default=[],
            help="Armoured public key of a pinned publisher (default: the *.asc files in "
            "DIRECTORY_PUBLISHER_KEYS_DIR).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        fmt = options["format"] or ("csv" if path.suffix.lower() == ".csv" else "json")
        try:
            pinned = directory_publishers_pinned(given=options["require_signature"])
            check = bool(pinned) and not options["allow_unsigned"]
            if not check and (options["signature"] or options["publisher_key"]):
                raise CommandError(
                    _(
                        "--signature and --publisher-key need pinned publishers: give "
                        "--require-signature or set DIRECTORY_PUBLISHER_FINGERPRINTS (and "
                        "drop --allow-unsigned)."
                    )
                )
            # Read once: the bytes whose signature is checked are the bytes imported.
            data = path.read_bytes()
            signed_by = ""
            if check:
                signature = directory_signature_read(
                    path=Path(options["signature"] or f"{path}{SIGNATURE_SUFFIX}")
                )
                signed_by = directory_signature_verify(
                    content=data,
                    signature=signature,
                    pinned=pinned,
                    publisher_keys=directory_publisher_keys_read(paths=options["publisher_key"]),
                )
                self.stdout.write(
                    _("Signature verified: signed by %(fingerprint)s.") % {"fingerprint": signed_by}
                )
            # Signed by a pinned publisher: its signature approves the key changes it
            # carries. Otherwise they await a directory administrator's approval.
            report = directory_import(data=data, fmt=fmt, signed_by=signed_by)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if not check and pinned:
            self.stderr.write(_("Imported without checking a signature (--allow-unsigned)."))
        self.stdout.write(str(report))
