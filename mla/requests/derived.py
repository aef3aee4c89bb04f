"""Columns derived from a request's data and parties, kept for the queue and statistics.

They let a list of a million requests be filtered and ordered from an index rather than by
reading each request's structured data.
"""

from collections.abc import Mapping
from typing import Any

from mla.requests.models import Request, RequestOffence, Urgency


def urgency_of(*, declaration_code: str, data: Mapping[str, Any]) -> int:
    """Emergency: a preservation (the data may be lost at any moment), or an EIO asking for a
    provisional measure (to decide within 24 hours, Art. 32). Urgent: marked urgent by the
    issuer in its urgency section. Otherwise normal."""
    from mla.instruments.declarations import declaration_for

    declaration = declaration_for(declaration_code)
    if declaration.directory_instrument == "preservation":
        return Urgency.EMERGENCY
    measures = (data.get("C") or {}).get("measures") if declaration_code == "eio" else None
    if isinstance(measures, list) and "provisional_measures" in measures:
        return Urgency.EMERGENCY
    for values in data.values():
        if isinstance(values, dict) and values.get("urgent") in (True, "true", "on"):
            return Urgency.URGENT
    return Urgency.NORMAL


def offence_categories_of(*, data: Mapping[str, Any]) -> set[str]:
    categories: set[str] = set()
    for values in data.values():
        if isinstance(values, dict) and isinstance(values.get("offence_categories"), list):
            categories.update(str(c) for c in values["offence_categories"] if c)
    return categories


def _derived_values(*, request: Request) -> tuple[int, str, str]:
    from mla.instruments.declarations import declaration_for

    return (
        urgency_of(declaration_code=request.declaration_code, data=request.data),
        request.issuing_authority.country_code,
        declaration_for(request.declaration_code).directory_instrument,
    )


def request_derived_assign(*, request: Request) -> None:
    """Set the derived columns of a request not yet saved, so that its INSERT carries them;
    its offence rows follow with ``request_derived_refresh(request=…, created=True)``."""
    request.urgency, request.issuing_country_code, request.instrument_code = _derived_values(
        request=request
    )


def request_derived_refresh(*, request: Request, created: bool = False) -> None:
    """Recompute the derived columns and offence rows after the data or parties changed.

    ``created``: the request was just inserted, so it has no offence rows to compare."""
    derived = _derived_values(request=request)
    current = (request.urgency, request.issuing_country_code, request.instrument_code)
    if current != derived:
        request.urgency, request.issuing_country_code, request.instrument_code = derived
        urgency, country, instrument = derived
        # Not the state: a plain column update, which leaves "last changed" alone.
        Request.objects.filter(pk=request.pk).update(
            urgency=urgency, issuing_country_code=country, instrument_code=instrument
        )
    wanted = offence_categories_of(data=request.data)
    existing = set() if created else set(request.offences.values_list("category", flat=True))
    if wanted != existing:
        if existing - wanted:
            request.offences.filter(category__in=existing - wanted).delete()
        RequestOffence.objects.bulk_create(
            [RequestOffence(request=request, category=c) for c in sorted(wanted - existing)]
        )
