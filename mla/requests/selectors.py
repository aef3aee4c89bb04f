"""Read-side queries of requests.

Until per-object permissions arrive with the lifecycle, a user sees the requests of their
own authority; a request they may not see answers 404, as one that does not exist.
"""

from django.db.models import QuerySet

from contact_points.models import Authority, AuthorityInstrument, Country
from mla.accounts.models import User
from mla.requests.declarations import InstrumentDeclaration
from mla.requests.models import Request


def receiving_authorities(
    *, country: Country, declaration: InstrumentDeclaration
) -> QuerySet[Authority]:
    """Active authorities of ``country`` that the directory lists as receiving this type."""
    return Authority.objects.filter(
        country=country,
        active=True,
        id__in=AuthorityInstrument.objects.filter(
            instrument=declaration.directory_instrument
        ).values("authority_id"),
    ).order_by("-available_24_7", "name")


def requests_for_user(*, user: User) -> QuerySet[Request]:
    return Request.objects.filter(issuing_authority_id=user.authority_id).select_related(
        "executing_country", "executing_authority", "issuing_authority"
    )


def request_for_user(*, user: User, reference: str) -> Request | None:
    return (
        requests_for_user(user=user)
        .prefetch_related(
            "attachments", "links_out__to_request", "links_in__from_request", "audit_entries"
        )
        .filter(reference=reference)
        .first()
    )
