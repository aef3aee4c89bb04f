from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mla.requests.audit import audit_verify
from mla.requests.models import AuditEntry


class Command(BaseCommand):
    help = "Check the audit trail's hash chains; exit non-zero naming the first broken entry."

    def handle(self, *args: Any, **options: Any) -> None:
        breaks = audit_verify()
        if breaks:
            for found in breaks:
                self.stderr.write(str(found))
            raise CommandError(f"The audit trail is broken: first at {breaks[0]}.")
        self.stdout.write(f"The audit trail is intact ({AuditEntry.objects.count()} entries).")
