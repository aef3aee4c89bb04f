"""Columns derived from a request's data and parties, kept for the queue and statistics.

They let a list of a million requests be filtered and ordered from an index rather than by
reading each request's structured data.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.text import Truncator
from django.utils.translation import gettext as _

from mla.requests.models import Request, RequestOffence, Urgency


def urgency_with_reason(*, declaration_code: str, data: Mapping[str, Any]) -> tuple[int, str]:
    """How urgent a request is and why, read from what the instrument or the issuer says:
    emergency for a preservation (the data may be lost at any moment) or an EIO asking for a
    provisional measure (to decide within 24 hours, Art. 32); urgent when the issuer marked
    it urgent in its urgency section (with the issuer's reasons, if given); otherwise normal,
    with no reason."""
    from mla.instruments.declarations import declaration_for

    declaration = declaration_for(declaration_code)
    if declaration.directory_instrument == "preservation":
        return Urgency.EMERGENCY, _(
            "Expedited preservation (Budapest Convention, Art. 29): the data may be lost at "
            "any moment."
        )
    measures = (data.get("C") or {}).get("measures") if declaration_code == "eio" else None
    if isinstance(measures, list) and "provisional_measures" in measures:
        return Urgency.EMERGENCY, _(
            "The EIO asks for a provisional measure, to be decided within 24 hours "
            "(Directive 2014/41/EU, Art. 32(2))."
        )
    for values in data.values():
        if isinstance(values, dict) and values.get("urgent") in (True, "true", "on"):
            reasons = values.get("urgency_reasons")
            if isinstance(reasons, str) and reasons.strip():
                return Urgency.URGENT, _("The issuing authority marked it urgent: %(reasons)s") % {
                    "reasons": Truncator(" ".join(reasons.split())).chars(300)
                }
            return Urgency.URGENT, _("The issuing authority marked it urgent.")
    return Urgency.NORMAL, ""


def urgency_of(*, declaration_code: str, data: Mapping[str, Any]) -> int:
    """Emergency, urgent or normal, as ``urgency_with_reason`` reads it."""
    return urgency_with_reason(declaration_code=declaration_code, data=data)[0]


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
