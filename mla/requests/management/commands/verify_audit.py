from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mla.core.errors import ApplicationError
from mla.requests.audit import AnchorFile, audit_verify_anchored


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chains and the chain against every signed checkpoint "
        "this node keeps (and those in the files given); exit non-zero naming the first "
        "broken entry."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoints",
            action="append",
            default=[],
            metavar="FILE",
            help=(
                "A file of this node's checkpoints as a partner received them (made there by "
                "`audit_checkpoint export --from IDENT`); may be given several times."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        files = []
        for name in options["checkpoints"]:
            try:
                files.append(AnchorFile(name=name, content=Path(name).read_bytes()))
            except OSError as error:
                raise CommandError(f"Cannot read {name}: {error.strerror or error}.") from error
        try:
            audit = audit_verify_anchored(files=files)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        if audit.breaks:
            for found in audit.breaks:
                self.stderr.write(str(found))
            raise CommandError(f"The audit trail is broken: first at {audit.breaks[0]}.")
        message = f"The audit trail is intact ({audit.entries} entries)."
        if audit.anchors:
            message += (
                f" It matches {len(audit.anchors)} signed checkpoints, the last at position "
                f"{audit.covered_position}; {audit.uncovered_entries} entries after it are "
                "covered by no checkpoint yet."
            )
        else:
            message += " No signed checkpoint covers it yet."
        self.stdout.write(message)
