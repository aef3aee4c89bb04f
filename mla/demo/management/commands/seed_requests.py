from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contact_points.models import Authority
from mla.accounts.models import User
from mla.demo.seeding import SeedPlan, requests_seed
from mla.requests.lifecycle.rules import EXECUTING_ROLES


class Command(BaseCommand):
    help = (
        "Add received requests in bulk to an authority's queue, for load tests and "
        "benchmarks (COPY on PostgreSQL): e.g. --count 1000000 --receiver de-berlin-prosecutor."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--receiver", required=True, help="directory identifier")
        parser.add_argument("--prefix", default="SEED", help="reference prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        receiver = Authority.objects.filter(identifier=options["receiver"]).first()
        if receiver is None:
            raise CommandError(f"No authority with the identifier {options['receiver']!r}.")
        if options["count"] < 1:
            raise CommandError("--count must be at least 1.")
        issuers = list(
            Authority.objects.filter(active=True)
            .exclude(country_id=receiver.country_id)
            .order_by("country_code", "identifier")[:50]
        )
        if not issuers:
            raise CommandError("The directory has no authority of another country to send them.")
        staff = list(
            User.objects.filter(
                authority=receiver, is_active=True, groups__name__in=list(EXECUTING_ROLES)
            ).distinct()
        )
        done = requests_seed(
            plan=SeedPlan(
                receiver=receiver,
                issuers=issuers,
                staff=staff,
                count=options["count"],
                prefix=options["prefix"],
            )
        )
        self.stdout.write(f"Added {done} received requests to {receiver.identifier}.")
