from typing import Any

from django.core.management.base import BaseCommand

from mla.demo.setup import (
    DEMO_PASSWORD,
    DEMO_USERS,
    demo_directory_load,
    demo_keys_ensure,
    demo_requests_ensure,
    demo_users_ensure,
)


class Command(BaseCommand):
    help = "Load the fictional demo directory, generate its key pairs and create demo users."

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_directory_load()
        self.stdout.write(f"Demo directory: {report}")
        keys = demo_keys_ensure()
        self.stdout.write(f"Demo key pairs generated: {keys}")
        created = demo_users_ensure()
        self.stdout.write(f"Demo users created: {len(created)}")
        self.stdout.write(f"Demo draft requests created: {demo_requests_ensure()}")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for demo in DEMO_USERS:
            roles = ", ".join(str(role.label) for role in demo.roles)
            self.stdout.write(f"  {demo.username:<16} {roles} — {demo.authority}")
