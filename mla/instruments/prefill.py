"""What the drafting context already tells: the directory fills these fields of a new draft.

Declarations use agreed field names for them (see the declarations), so that every
instrument is prefilled the same way without code of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone

from mla.instruments.declarations.schema import Field, InstrumentDeclaration

if TYPE_CHECKING:
    from contact_points.models import Authority, Country
    from mla.accounts.models import User


def _context_values(
    *,
    issuing: Authority,
    executing_country: Country,
    executing_authority: Authority | None,
) -> dict[str, str]:

    values = {
        "issuing_state": issuing.country.code,
        "executing_state": executing_country.code,
        "authority_name": issuing.name,
        "organisation": issuing.name,
        "requesting_authority": issuing.name,
        "address": issuing.postal_address,
        "phone": issuing.phone,
        "email": issuing.email,
        "office_hours": issuing.office_hours,
        "time_zone": issuing.time_zone,
    }
    if executing_authority is not None:
        values["requested_authority"] = executing_authority.name
        values["addressee"] = executing_authority.name
    return values


def prefill_data(
    *,
    declaration: InstrumentDeclaration,
    issuing: Authority,
    executing_country: Country,
    executing_authority: Authority | None,
    actor: User,
    reference: str,
) -> dict[str, dict[str, Any]]:
    known = _context_values(
        issuing=issuing,
        executing_country=executing_country,
        executing_authority=executing_authority,
    )
    data: dict[str, dict[str, Any]] = {}
    for index, section in enumerate(declaration.sections):
        values: dict[str, Any] = {}
        for item in section.items:
            if not isinstance(item, Field):
                continue
            if item.name in known and known[item.name] and item.type not in ("boolean",):
                values[item.name] = known[item.name]
            elif index == 0 and item.name == "date" and item.type == "date":
                values[item.name] = timezone.localdate().isoformat()
        if values:
            data[section.code] = values
    return data
