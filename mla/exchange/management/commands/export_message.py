import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.transfer import inbox_receipt_file, outbox_message_file, outbox_receipt_file


class Command(BaseCommand):
    help = (
        "Write a message this node sent as a file (.mlamsg), to carry by a channel that is "
        "not online; with --receipt, the signed receipt kept for a message sent or received "
        "(.mlarcpt)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("message_id", help="The message id (a UUID).")
        parser.add_argument(
            "-o",
            "--output",
            help="The file to write; by default the message's own file name, here.",
        )
        parser.add_argument(
            "--receipt", action="store_true", help="Write the message's receipt instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            message_id = uuid.UUID(options["message_id"])
        except ValueError as error:
            raise CommandError(
                _("%(value)s is not a message id.") % {"value": options["message_id"]}
            ) from error
        try:
            name, content = self._file(message_id, receipt=options["receipt"])
        except ApplicationError as error:
            raise CommandError(error.message) from error
        path = Path(options["output"] or name)
        path.write_bytes(content)
        self.stdout.write(str(path))

    def _file(self, message_id: uuid.UUID, *, receipt: bool) -> tuple[str, bytes]:
        sent = (
            OutboxMessage.objects.select_related("sender", "recipient")
            .filter(message_id=message_id)
            .first()
        )
        if not receipt:
            if sent is None:
                raise CommandError(
                    _("No message with the id %(id)s was sent from this node.") % {"id": message_id}
                )
            return outbox_message_file(message=sent)
        # The same id is in the inbox too when the recipient is hosted here: either copy of
        # the receipt will do, they are the same bytes.
        found = outbox_receipt_file(message=sent) if sent is not None else None
        if found is not None:
            return found
        received = (
            InboxMessage.objects.select_related("sender", "recipient")
            .filter(message_id=message_id)
            .first()
        )
        if received is not None:
            return inbox_receipt_file(message=received)
        if sent is not None:
            raise CommandError(_("Message %(id)s has no receipt yet.") % {"id": message_id})
        raise CommandError(
            _("No message with the id %(id)s was sent or received here.") % {"id": message_id}
        )
