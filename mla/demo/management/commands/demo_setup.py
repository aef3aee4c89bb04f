from typing import Any

from django.core.management.base import BaseCommand

from mla.demo.history import demo_history_ensure
from mla.demo.setup import (
    DEMO_PASSWORD,
    DEMO_USERS,
    demo_directory_load,
    demo_keys_ensure,
    demo_requests_ensure,
    demo_users_ensure,
)
from mla.openpgp.homes import agents_stop, node_homes


class Command(BaseCommand):
    help = (
        "Load what is missing of the fictional demo directory, its key pairs, demo users and "
        "history; what exists (and what an administrator edited) is left as it is."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_directory_load()
        self.stdout.write(f"Demo directory: {report}")
        try:
            keys = demo_keys_ensure()
        finally:
            # Generating keys started a gpg-agent in the secret home: not left running.
            agents_stop(homes=node_homes())
        self.stdout.write(f"Demo key pairs generated: {keys}")
        created = demo_users_ensure()
        self.stdout.write(f"Demo users created: {len(created)}")
        self.stdout.write(f"Demo draft requests created: {demo_requests_ensure()}")
        self.stdout.write(f"Demo history: {demo_history_ensure()} fictional cases written")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for demo in DEMO_USERS:
            roles = ", ".join(str(role.label) for role in demo.roles)
            self.stdout.write(f"  {demo.username:<16} {roles} — {demo.authority}")
