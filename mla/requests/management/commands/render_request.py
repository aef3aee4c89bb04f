from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mla.requests.documents.rendering import DocumentRenderError, request_pdf
from mla.requests.models import Request


class Command(BaseCommand):
    help = "Render a request to PDF/A-3b (with its structured data embedded as JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference")
        parser.add_argument("-o", "--output", required=True, help="The PDF file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        request = (
            Request.objects.select_related(
                "issuing_authority", "executing_country", "executing_authority"
            )
            .filter(reference=options["reference"])
            .first()
        )
        if request is None:
            raise CommandError(f"No request {options['reference']} on this node.")
        output = Path(options["output"])
        try:
            content = request_pdf(request=request)
        except DocumentRenderError as error:
            raise CommandError(error.message) from error
        output.write_bytes(content)
        self.stdout.write(f"Wrote {output} ({output.stat().st_size:,} bytes)")
