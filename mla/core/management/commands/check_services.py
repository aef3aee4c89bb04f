from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mla.core.health import node_health


class Command(BaseCommand):
    help = "Check that the database, the broker and gpg answer; exit non-zero if one does not."

    def handle(self, *args: Any, **options: Any) -> None:
        failed = []
        for name, check in node_health().items():
            state = "ok" if check["ok"] else "DOWN"
            self.stdout.write(f"{name:<9} {state:<5} {check['detail']}")
            if not check["ok"]:
                failed.append(name)
        if failed:
            raise CommandError(
                f"Not available: {', '.join(failed)}. The test suite needs them all; start them "
                "or point DATABASE_URL / CELERY_BROKER_URL at running ones."
            )
