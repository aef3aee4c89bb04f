import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from contact_points.directory_io import directory_export_csv, directory_export_json


class Command(BaseCommand):
    help = "Export the directory as JSON (everything, round-trips exactly) or CSV (flat)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("-o", "--output", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        content = directory_export_json() if options["format"] == "json" else directory_export_csv()
        if options["output"]:
            Path(options["output"]).write_text(content, encoding="utf-8")
            self.stderr.write(f"Wrote {options['output']}")
        else:
            sys.stdout.write(content)
