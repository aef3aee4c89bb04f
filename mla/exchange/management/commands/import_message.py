from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.exchange.stored import RECEIPT_FILE_EXTENSION
from mla.exchange.transfer import message_import, message_size_check, receipt_import
from mla.exchange.wire.errors import MessageRefused
from mla.exchange.wire.receipts import MAX_RECEIPT_BYTES


class Command(BaseCommand):
    help = (
        "Receive a message brought as a file (.mlamsg), with the checks of the inbox, and "
        "write its signed receipt to carry back; or accept a receipt file (.mlarcpt) for a "
        "message this node sent. Exits non-zero, storing nothing, when the file is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The message (.mlamsg) or receipt (.mlarcpt) file.")
        parser.add_argument(
            "-o",
            "--output",
            help=(
                "Where to write the receipt of an imported message; by default beside the "
                f"message, with the extension {RECEIPT_FILE_EXTENSION}."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("%(path)s is not a file.") % {"path": path})
        try:
            if path.suffix == RECEIPT_FILE_EXTENSION:
                self._receipt(path)
            else:
                self._message(path, options["output"])
        except MessageRefused as error:
            raise CommandError(
                _("Refused (%(code)s): %(message)s")
                % {"code": error.reason_code, "message": error.message}
            ) from error
        except ApplicationError as error:
            raise CommandError(error.message) from error

    def _message(self, path: Path, output: str | None) -> None:
        message_size_check(size=path.stat().st_size)
        imported = message_import(sealed=path.read_bytes())
        message = imported.message
        receipt_path = Path(output) if output else path.with_suffix(RECEIPT_FILE_EXTENSION)
        receipt_path.write_bytes(imported.receipt)
        if imported.repeated:
            self.stdout.write(
                _("Message %(id)s was already received on %(time)s; nothing new was stored.")
                % {"id": message.message_id, "time": message.received_at.isoformat()}
            )
        else:
            self.stdout.write(
                _("Received %(kind)s message %(id)s from %(sender)s to %(recipient)s.")
                % {
                    "kind": message.kind,
                    "id": message.message_id,
                    "sender": message.sender.identifier,
                    "recipient": message.recipient.identifier,
                }
            )
        if message.request is not None:
            self.stdout.write(
                _("Request: %(reference)s") % {"reference": message.request.reference}
            )
        self.stdout.write(_("Receipt: %(path)s") % {"path": receipt_path})

    def _receipt(self, path: Path) -> None:
        if path.stat().st_size > MAX_RECEIPT_BYTES:
            raise CommandError(
                _("The receipt is larger than %(limit)d bytes.") % {"limit": MAX_RECEIPT_BYTES}
            )
        message = receipt_import(receipt=path.read_bytes())
        self.stdout.write(
            _("Message %(id)s to %(recipient)s is delivered (%(time)s).")
            % {
                "id": message.message_id,
                "recipient": message.recipient.identifier,
                "time": message.delivered_at.isoformat() if message.delivered_at else "",
            }
        )
