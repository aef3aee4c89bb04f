from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.node.backup import node_backup


class Command(BaseCommand):
    help = (
        "Back up this node (database, media, both GnuPG homes, and the environment file if "
        "given) into a new tar archive in DIR, readable by its owner only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", required=True, metavar="DIR", help="Directory for the new archive."
        )
        parser.add_argument(
            "--env-file",
            metavar="PATH",
            help="The node's environment file (/etc/mla/mla.env, or .env): it holds secrets.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        env_file = Path(options["env_file"]) if options["env_file"] else None
        try:
            backup = node_backup(output_dir=Path(options["output"]), env_file=env_file)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        head = backup.manifest["audit_chain_head"]
        self.stdout.write(
            _(
                "Backup written: %(path)s (%(size)s bytes, SHA-256 %(sha256)s). Audit chain "
                "head at position %(position)s. It holds the node's secret keys: encrypt it "
                "and keep it off this host."
            )
            % {
                "path": backup.path,
                "size": backup.size,
                "sha256": backup.sha256,
                "position": head["position"],
            }
        )
        if env_file is None:
            self.stdout.write(
                _(
                    "No environment file in this backup (--env-file): keep a copy of it "
                    "elsewhere, or the secret keys' passphrase and SECRET_KEY are lost."
                )
            )
