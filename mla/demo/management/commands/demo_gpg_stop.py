from typing import Any

from django.core.management.base import BaseCommand

from mla.openpgp.homes import agents_stop, node_homes


class Command(BaseCommand):
    help = (
        "Stop the gpg-agent of the node's GnuPG homes: `make run` calls it when the demo "
        "server stops, so that no agent outlives it."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        agents_stop(homes=node_homes())
