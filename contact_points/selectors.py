"""Read-side queries of the directory."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from contact_points.instruments import Instrument
from contact_points.models import (
    AcceptedLanguages,
    Authority,
    AuthorityInstrument,
    ContactPerson,
    Country,
    DirectoryChange,
    Language,
    search_fold,
    stale_entries_q,
)


@dataclass(frozen=True)
class DirectoryQuery:
    country: str = ""
    kind: str = ""
    instrument: str = ""
    language: str = ""
    text: str = ""
    available_24_7: bool = False
    include_inactive: bool = False
    stale_only: bool = False
    # Service providers (Regulation (EU) 2023/1543): a service offered, and the capacity.
    provider_service: str = ""
    provider_designation: str = ""


def authority_search(*, query: DirectoryQuery) -> QuerySet[Authority]:
    """Authorities matching ``query``, filtered in the database, ready for a result list."""
    authorities = Authority.objects.select_related("country")
    if not query.include_inactive:
        authorities = authorities.filter(active=True)
    if query.country:
        authorities = authorities.filter(country_code=query.country.upper())
    if query.kind:
        authorities = authorities.filter(kind=query.kind)
    if query.available_24_7:
        authorities = authorities.filter(available_24_7=True)
    if query.instrument:
        authorities = authorities.filter(
            id__in=AuthorityInstrument.objects.filter(instrument=query.instrument).values(
                "authority_id"
            )
        )
    if query.language:
        authorities = authorities.filter(
            id__in=Authority.languages.through.objects.filter(
                language_id=query.language.lower()
            ).values("authority_id")
        )
    if query.stale_only:
        authorities = authorities.filter(stale_entries_q())
    if query.provider_service:
        # The JSON list's text holds each code in quotes: a lookup that SQLite and
        # PostgreSQL both answer (``contains`` on a JSON list is PostgreSQL's only).
        authorities = authorities.filter(provider_services__icontains=f'"{query.provider_service}"')
    if query.provider_designation:
        authorities = authorities.filter(provider_designation=query.provider_designation)
    for word in search_words(query.text):
        authorities = authorities.filter(search_text__contains=word)
    return authorities.defer("public_key", "postal_address", "search_text").order_by(
        # The order of the authority_listing index: the first page is read from it directly.
        "country_code",
        "-available_24_7",
        "name",
        "id",
    )


@dataclass(frozen=True)
class ListedAuthority:
    """An authority of a result page with the codes of its languages and instruments."""

    authority: Authority
    languages: list[str]
    instruments: list[tuple[str, str]]  # (code, label)


def authority_page_details(*, authorities: Iterable[Authority]) -> list[ListedAuthority]:
    """Languages and instruments of one page of results, in two plain queries.

    Prefetching would build a model object per link; a result list needs only the codes.
    """
    page = list(authorities)
    ids = [authority.pk for authority in page]
    languages: dict[int, list[str]] = {}
    for authority_id, code in (
        Authority.languages.through.objects.filter(authority_id__in=ids)
        .order_by("language_id")
        .values_list("authority_id", "language_id")
    ):
        languages.setdefault(authority_id, []).append(code)
    instruments: dict[int, list[tuple[str, str]]] = {}
    for authority_id, code in (
        AuthorityInstrument.objects.filter(authority_id__in=ids)
        .order_by("instrument")
        .values_list("authority_id", "instrument")
    ):
        instruments.setdefault(authority_id, []).append((code, str(Instrument(code).label)))
    return [ListedAuthority(a, languages.get(a.pk, []), instruments.get(a.pk, [])) for a in page]


def search_words(text: str) -> list[str]:
    """The words to look for: folded like search_text; one- and two-letter words only count
    when nothing longer was typed (a trigram index cannot narrow on them)."""
    words = search_fold(text).split()[:8]
    long_words = [word for word in words if len(word) >= 3]
    return long_words or words


def authority_detail(*, identifier: str) -> Authority | None:
    return (
        Authority.objects.select_related("country", "parent")
        .prefetch_related(
            "languages",
            "instrument_links",
            Prefetch(
                "contacts",
                queryset=ContactPerson.objects.prefetch_related("languages").order_by("name"),
            ),
            Prefetch(
                "children",
                queryset=Authority.objects.filter(active=True).order_by("name"),
            ),
            Prefetch(
                "country__accepted_languages",
                queryset=AcceptedLanguages.objects.prefetch_related("languages"),
            ),
        )
        .filter(identifier=identifier)
        .first()
    )


def country_choices() -> QuerySet[Country]:
    return Country.objects.order_by("name")


def language_choices() -> QuerySet[Language]:
    """Languages that some authority declares, so the filter offers only useful ones."""
    used = Authority.languages.through.objects.values("language_id")
    return Language.objects.filter(code__in=used).order_by("name")


def authority_recent_key_change(
    *, authority: Authority | None, now: datetime | None = None
) -> DirectoryChange | None:
    """The approval of the key ``authority`` pins now, if it came within the warning period
    (DIRECTORY_KEY_CHANGE_WARNING_DAYS): a request to it goes to a key still new."""
    if authority is None or not authority.key_fingerprint:
        return None
    since = (now or timezone.now()) - timedelta(days=settings.DIRECTORY_KEY_CHANGE_WARNING_DAYS)
    return (
        DirectoryChange.objects.filter(
            authority=authority,
            status=DirectoryChange.Status.APPROVED,
            decided_at__gte=since,
            new_fingerprint=authority.key_fingerprint,
        )
        .exclude(old_fingerprint=F("new_fingerprint"))
        .order_by("-decided_at")
        .first()
    )


def directory_changes_pending() -> QuerySet[DirectoryChange]:
    return DirectoryChange.objects.filter(status=DirectoryChange.Status.PENDING).select_related(
        "authority__country", "proposed_by"
    )
