from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils.translation import gettext as _

from mla.exchange.evidence import evidence_bundle, evidence_file_name
from mla.requests.models import Request


class Command(BaseCommand):
    help = (
        "Write the evidence bundle of a request (a ZIP of its messages, signatures, receipts, "
        "keys and timeline, with instructions to check them with gpg alone)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("reference", help="The request's reference.")
        parser.add_argument(
            "-o", "--output", help="The ZIP file to write; by default a name of its own, here."
        )
        parser.add_argument(
            "--authority",
            help=(
                "Directory identifier of the authority whose copy to take (the issuer's "
                "outgoing copy or a receiver's incoming one), when this node holds several."
            ),
        )
        parser.add_argument(
            "--issuer",
            help="Directory identifier of the issuing authority, when that still leaves several.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        request = self._request(options["reference"], options["authority"], options["issuer"])
        path = Path(options["output"] or evidence_file_name(request=request))
        path.write_bytes(evidence_bundle(request=request))
        self.stdout.write(str(path))

    def _request(self, reference: str, authority: str | None, issuer: str | None) -> Request:
        copies = Request.objects.filter(reference=reference).select_related(
            "issuing_authority", "executing_authority"
        )
        if authority:
            # The copy an authority holds: the issuer's outgoing one, a receiver's incoming one.
            copies = copies.filter(
                Q(direction=Request.Direction.OUTGOING, issuing_authority__identifier=authority)
                | Q(direction=Request.Direction.INCOMING, executing_authority__identifier=authority)
            )
        if issuer:
            copies = copies.filter(issuing_authority__identifier=issuer)
        found = list(copies.order_by("id")[:20])
        if not found:
            raise CommandError(
                _("No request %(reference)s on this node.") % {"reference": reference}
            )
        if len(found) > 1:
            listed = "\n".join(
                "  "
                + _("%(direction)s copy held by %(holder)s (issuer %(issuer)s)")
                % {
                    "direction": item.direction,
                    "holder": item.executing_authority.identifier
                    if item.direction == Request.Direction.INCOMING and item.executing_authority
                    else item.issuing_authority.identifier,
                    "issuer": item.issuing_authority.identifier,
                }
                for item in found
            )
            raise CommandError(
                _(
                    "This node holds several copies of request %(reference)s; choose one with "
                    "--authority (and --issuer if needed):\n%(copies)s"
                )
                % {"reference": reference, "copies": listed}
            )
        return found[0]
