from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mla.core.errors import ApplicationError
from mla.exchange.anchor import audit_checkpoint_make, received_checkpoints_export


class Command(BaseCommand):
    help = (
        "Sign a checkpoint of the audit chain now and send it to the partners exchanged with "
        "since the last one (nothing when the chain has not moved); or, with `export`, write "
        "the checkpoints received from a partner's authority, for its verify_audit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action")
        actions.add_parser("create", help="Sign a checkpoint now (the default).")
        export = actions.add_parser(
            "export", help="Write the checkpoints received from a partner's authority."
        )
        export.add_argument(
            "--from",
            dest="sender",
            required=True,
            metavar="IDENT",
            help="The directory identifier of the authority that sent them.",
        )
        export.add_argument(
            "-o",
            "--output",
            required=True,
            metavar="FILE",
            help="The file to write (- for stdout).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "export":
                self._export(sender=options["sender"], output=options["output"])
            else:
                self._create()
        except ApplicationError as error:
            raise CommandError(error.message) from error

    def _create(self) -> None:
        outcome = audit_checkpoint_make()
        if outcome.position == 0:
            self.stdout.write("The audit trail has no entry yet: nothing to sign.")
            return
        if not outcome.created:
            signed = outcome.checkpoints[0].signed_at if outcome.checkpoints else None
            self.stdout.write(
                f"The audit chain has not moved since the checkpoint at position "
                f"{outcome.position}"
                + (f" of {signed:%Y-%m-%d %H:%M:%S %Z}" if signed else "")
                + ": nothing new to sign."
            )
            return
        signers = ", ".join(checkpoint.authority.identifier for checkpoint in outcome.checkpoints)
        partners = sorted({message.recipient.identifier for message in outcome.messages})
        self.stdout.write(
            f"Checkpoint at position {outcome.position} signed by {signers}; "
            + (
                f"sent to {', '.join(partners)}."
                if partners
                else "no partner was exchanged with since the last one, so it is kept here only."
            )
        )

    def _export(self, *, sender: str, output: str) -> None:
        content = received_checkpoints_export(sender=sender)
        if output == "-":
            self.stdout.write(content.decode("utf-8"), ending="")
            return
        try:
            Path(output).write_bytes(content)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror or error}.") from error
        self.stdout.write(f"Checkpoints received from {sender} written to {output}.")
