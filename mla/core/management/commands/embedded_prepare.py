from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mla.core.embedded import secret_key_ensure, serve_address_check
from mla.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Before `make run` serves the embedded default: write a secret key of this install "
        "into .env on first run, and refuse a non-loopback HOST while DEBUG is on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", required=True, help="The address runserver will bind.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            serve_address_check(host=options["host"], debug=settings.DEBUG)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        env_file = settings.BASE_DIR / ".env"
        if secret_key_ensure(env_file=env_file):
            self.stdout.write(f"Wrote a secret key for this install into {env_file}.")
