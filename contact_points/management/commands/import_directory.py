from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contact_points.directory_io import directory_import
from mla.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Import a directory file (JSON or CSV). All-or-nothing: every bad row is reported "
        "with its place in the file and nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--format", choices=["json", "csv"], help="Default: from the file extension."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        fmt = options["format"] or ("csv" if path.suffix.lower() == ".csv" else "json")
        try:
            report = directory_import(data=path.read_bytes(), fmt=fmt)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(str(report))
