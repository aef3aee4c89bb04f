from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.node.backup import node_restore


class Command(BaseCommand):
    help = (
        "Restore a node_backup archive into this fresh node (an empty database, empty media "
        "and GnuPG homes), migrate, verify the audit trail and list the hosted keys. Put the "
        "environment file back first: this command reads its settings from it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", metavar="BACKUP", help="The archive node_backup wrote.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            restored = node_restore(archive_path=Path(options["archive"]))
        except ApplicationError as error:
            raise CommandError(error.message) from error
        manifest = restored.manifest
        self.stdout.write(
            _("Restored the backup of %(created_at)s (code %(version)s, %(engine)s).")
            % {
                "created_at": manifest["created_at"],
                "version": manifest["code_version"],
                "engine": manifest["database"]["engine"],
            }
        )
        for key in restored.hosted_keys:
            self.stdout.write(
                _("Hosted key: %(authority)s %(fingerprint)s (%(pinned)s)")
                % {
                    "authority": key.authority_identifier or "?",
                    "fingerprint": key.fingerprint,
                    "pinned": _("pinned") if key.pinned else _("not pinned"),
                }
            )
        if not restored.hosted_keys:
            self.stdout.write(_("No hosted key pair in the restored secret home."))
        if manifest["environment_file"]:
            self.stdout.write(
                _(
                    "The archive holds the environment file as %(member)s; this command did "
                    "not restore it (it must be in place before)."
                )
                % {"member": manifest["environment_file"]["member"]}
            )
        audit = restored.audit
        if audit.breaks:
            for found in audit.breaks:
                self.stderr.write(str(found))
            raise CommandError(
                _("Restored, but the audit trail is broken: first at %(first)s.")
                % {"first": audit.breaks[0]}
            )
        if not restored.audit_head_matches:
            raise CommandError(
                _(
                    "Restored, but the audit chain head is at position %(position)s, not at "
                    "the backup's %(recorded)s."
                )
                % {
                    "position": restored.audit_head[0],
                    "recorded": manifest["audit_chain_head"]["position"],
                }
            )
        self.stdout.write(
            _(
                "The audit trail is intact (%(count)s entries, head at position %(position)s "
                "as in the backup)."
            )
            % {"count": audit.entries, "position": restored.audit_head[0]}
        )
        if audit.anchors:
            self.stdout.write(
                _("It matches %(count)s signed checkpoints, the last at position %(position)s.")
                % {"count": len(audit.anchors), "position": audit.covered_position}
            )
