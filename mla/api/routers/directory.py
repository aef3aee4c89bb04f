"""The directory: countries, with the instruments and languages they accept, and the
authorities (service providers included), searched and read as on the directory's pages."""

import datetime
from typing import Annotated

from django.db.models import Q
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from contact_points.models import AcceptedLanguages, Authority, Country
from contact_points.selectors import (
    DirectoryQuery,
    authority_detail,
    authority_page_details,
    authority_search,
)
from mla.api.auth import scoped
from mla.api.cursors import cursor_decode, cursor_encode, cursor_invalid
from mla.api.models import Scope
from mla.api.queries import query_known_check

router = Router(tags=["directory"], auth=scoped(Scope.READ))


class CountryOut(Schema):
    code: str
    name: str
    eio_bound: bool
    eevidence_bound: bool
    budapest_party: bool
    budapest_second_protocol_party: bool
    accepted_languages: dict[str, list[str]] = Field(
        description="Languages accepted for incoming requests, by instrument code."
    )


class AuthorityOut(Schema):
    identifier: str
    name: str
    name_local: str
    country: str
    kind: str
    available_24_7: bool
    languages: list[str]
    instruments: list[str]
    time_zone: str
    phone: str
    email: str
    active: bool
    provider_name: str
    provider_services: list[str]
    provider_designation: str
    key_fingerprint: str
    updated_at: datetime.datetime


class AuthorityDetailOut(AuthorityOut):
    postal_address: str
    office_hours: str
    emergency_phone: str
    emergency_email: str
    inbox_url: str
    parent: str | None
    last_verified_at: datetime.date | None


class AuthorityPage(Schema):
    items: list[AuthorityOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class AuthorityFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    country: Annotated[str, Field(max_length=2, pattern=r"^[A-Za-z]{0,2}$")] = ""
    kind: Annotated[str, Field(max_length=32)] = ""
    instrument: Annotated[str, Field(max_length=32)] = ""
    language: Annotated[str, Field(max_length=3)] = ""
    text: Annotated[str, Field(max_length=200)] = ""
    available_24_7: bool = False
    include_inactive: bool = False
    provider_service: Annotated[str, Field(max_length=32)] = ""
    provider_designation: Annotated[str, Field(max_length=32)] = ""
    limit: Annotated[int, Field(ge=1, le=100)] = 50
    cursor: Annotated[str, Field(max_length=500)] = ""


def _authority_out(authority: Authority, languages: list[str], instruments: list[str]) -> dict:
    return {
        "identifier": authority.identifier,
        "name": authority.name,
        "name_local": authority.name_local,
        "country": authority.country_code or authority.country.code,
        "kind": authority.kind,
        "available_24_7": authority.available_24_7,
        "languages": languages,
        "instruments": instruments,
        "time_zone": authority.time_zone,
        "phone": authority.phone,
        "email": authority.email,
        "active": authority.active,
        "provider_name": authority.provider_name,
        "provider_services": list(authority.provider_services or []),
        "provider_designation": authority.provider_designation,
        "key_fingerprint": authority.key_fingerprint,
        "updated_at": authority.updated_at,
    }


@router.get("/countries/", response=list[CountryOut], summary="Countries")
def countries(request: HttpRequest) -> list[dict]:
    accepted: dict[int, dict[str, list[str]]] = {}
    for row in AcceptedLanguages.objects.prefetch_related("languages"):
        accepted.setdefault(row.country_id, {})[row.instrument] = sorted(
            language.code for language in row.languages.all()
        )
    return [
        {
            "code": country.code,
            "name": country.name,
            "eio_bound": country.eio_bound,
            "eevidence_bound": country.eevidence_bound,
            "budapest_party": country.budapest_party,
            "budapest_second_protocol_party": country.budapest_second_protocol_party,
            "accepted_languages": accepted.get(country.pk, {}),
        }
        for country in Country.objects.order_by("code")
    ]


@router.get("/authorities/", response=AuthorityPage, summary="Search the directory")
def authorities(request: HttpRequest, filters: Query[AuthorityFilters]) -> dict:
    query_known_check(http_request=request, schema=AuthorityFilters)
    found = authority_search(
        query=DirectoryQuery(
            country=filters.country,
            kind=filters.kind,
            instrument=filters.instrument,
            language=filters.language,
            text=filters.text,
            available_24_7=filters.available_24_7,
            include_inactive=filters.include_inactive,
            provider_service=filters.provider_service,
            provider_designation=filters.provider_designation,
        )
    )
    if filters.cursor:
        country_code, available, name, pk = _cursor_key(filters.cursor)
        # The keyset of the listing's order (country, 24/7 first, name, id).
        found = found.filter(
            Q(country_code__gt=country_code)
            | Q(country_code=country_code, available_24_7__lt=available)
            | Q(country_code=country_code, available_24_7=available, name__gt=name)
            | Q(country_code=country_code, available_24_7=available, name=name, id__gt=pk)
        )
    page = list(found[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    details = authority_page_details(authorities=page)
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = cursor_encode(
            kind="authorities",
            key=[last.country_code, last.available_24_7, last.name, last.pk],
        )
    return {
        "items": [
            _authority_out(item.authority, item.languages, [code for code, _l in item.instruments])
            for item in details
        ],
        "next_cursor": next_cursor,
    }


def _cursor_key(cursor: str) -> tuple[str, bool, str, int]:
    key = cursor_decode(kind="authorities", cursor=cursor)
    if (
        len(key) != 4
        or not isinstance(key[0], str)
        or not isinstance(key[1], bool)
        or not isinstance(key[2], str)
        or not isinstance(key[3], int)
    ):
        raise cursor_invalid()
    return key[0], key[1], key[2], key[3]


@router.get("/authorities/{identifier}/", response=AuthorityDetailOut, summary="One authority")
def authority(request: HttpRequest, identifier: Annotated[str, Field(max_length=64)]) -> dict:
    found = authority_detail(identifier=identifier)
    if found is None:
        raise Http404
    data = _authority_out(
        found,
        sorted(language.code for language in found.languages.all()),
        sorted(link.instrument for link in found.instrument_links.all()),
    )
    data.update(
        postal_address=found.postal_address,
        office_hours=found.office_hours,
        emergency_phone=found.emergency_phone,
        emergency_email=found.emergency_email,
        inbox_url=found.inbox_url,
        parent=found.parent.identifier if found.parent else None,
        last_verified_at=found.last_verified_at,
    )
    return data
