"""Fixed forms rendered from plain facts: the EIO's Annex B and the e-Evidence Annexes III, V
and VI (mla.requests.documents.annex_b, .eevidence_annexes).

Each is a short form of one side to the other, rendered like the request document (PDF/A-3b,
its labels in the issuing and the executing side's language side by side, the same
asset-only fetcher), so it needs no database row of its own. Its dates are shown in the
sending authority's zone, with the zone's name. The PDF embeds the facts as canonical JSON,
and the SHA-256 printed in its margin is that JSON's digest.
"""

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.template.loader import render_to_string
from django.utils import timezone

from mla.core.instants import format_instant_stated
from mla.instruments.labels import FALLBACK_LANGUAGE, UNVERIFIED_MARK, has_language
from mla.requests.documents.rendering import Entry, Labels, bilingual_labels, html_to_pdf
from mla.requests.models import canonical_json

TEMPLATE = "requests/fixed_form.html"


def form_zone(key: str) -> ZoneInfo:
    """The IANA zone ``key``; ValueError for a key that names none."""
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone: {key[:80]!r}") from error


def aware_check(facts: object, *names: str) -> None:
    """ValueError when one of the instants ``names`` of ``facts`` is naive."""
    for name in names:
        value = getattr(facts, name)
        if value is not None and not timezone.is_aware(value):
            raise ValueError(f"{name} must be an aware datetime")


def stated(moment: datetime, zone: ZoneInfo) -> str:
    # With the zone's name and offset: the document is read away from any page.
    return format_instant_stated(moment, zone)


def effective_language(language: str) -> str:
    # label() falls back to English for a language without a catalogue: say so in lang=.
    return language if has_language(language) else FALLBACK_LANGUAGE


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in fields(value)}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def facts_json(facts: object) -> bytes:
    """The facts (a dataclass) as canonical JSON: instants in UTC, so that the digest names
    the instant whatever the offset they came with."""
    return canonical_json(_plain(facts))


@dataclass
class FormSection:
    code: str
    title: Labels
    entries: list[Entry]
    note: Labels | None = None  # a line standing for the section's entries ("Not forwarded")
    free_text: str | None = None  # the text itself, without a label
    signature: Labels | None = None  # the label of a space left to sign in


@dataclass(frozen=True)
class Wording:
    """A form's labels in both languages, under its key prefix, and its dates in its zone."""

    prefix: str
    primary: str
    secondary: str
    zone: ZoneInfo

    def labels(self, key: str) -> Labels:
        return bilingual_labels(f"{self.prefix}.{key}", self.primary, self.secondary)

    def entry(self, key: str, text: str) -> Entry:
        return Entry(self.labels(key), "text", text=text)

    def choices(self, key: str, codes: Sequence[str], chosen: Sequence[str]) -> Entry:
        """Every choice of ``key`` (its labels ``key.<code>``), the chosen ones ticked."""
        return Entry(
            self.labels(key),
            "choices",
            choices=[(self.labels(f"{key}.{code}"), code in chosen) for code in codes],
        )

    def tick(self, key: str, ticked: bool) -> Entry:
        return Entry(self.labels(key), "tick", ticked=ticked)

    def stated(self, moment: datetime | None) -> str:
        return stated(moment, self.zone) if moment is not None else ""


class FormFacts(Protocol):
    """What every form's facts give the page around its sections."""

    @property
    def reference(self) -> str: ...

    @property
    def sender_zone(self) -> str: ...

    @property
    def issuing_language(self) -> str: ...

    @property
    def executing_language(self) -> str: ...


F = TypeVar("F", bound=FormFacts)


@dataclass(frozen=True)
class FixedForm(Generic[F]):
    """One form: its label prefix (``<prefix>.title``, ``.intro``, ``.legal_basis``), the
    name and description of its embedded JSON, and its sections drawn from its facts."""

    prefix: str
    json_name: str
    json_description: str
    sections: Callable[[F, Wording], list[FormSection]]
    # Print the note that a dagger marks a wording not checked against the official text
    # even where no dagger is printed (it is printed wherever one is).
    explains_unverified: bool = False

    def html(self, *, facts: F, for_screen: bool = False) -> str:
        digest = hashlib.sha256(facts_json(facts)).hexdigest()
        return self._html(facts=facts, digest=digest, for_screen=for_screen)

    def pdf(self, *, facts: F) -> bytes:
        """PDF/A-3b with the facts embedded under ``json_name``."""
        data = facts_json(facts)
        html = self._html(facts=facts, digest=hashlib.sha256(data).hexdigest(), for_screen=False)
        return html_to_pdf(
            html=html,
            json_data=data,
            json_name=self.json_name,
            json_description=self.json_description,
        )

    def _html(self, *, facts: F, digest: str, for_screen: bool) -> str:
        zone = form_zone(facts.sender_zone)
        primary, secondary = facts.issuing_language, facts.executing_language
        wording = Wording(self.prefix, primary, secondary, zone)

        def labels(key: str) -> Labels:
            return bilingual_labels(key, primary, secondary)

        context = {
            "reference": facts.reference,
            "for_screen": for_screen,
            "primary_language": effective_language(primary),
            "secondary_language": effective_language(secondary),
            "title": wording.labels("title"),
            "intro": wording.labels("intro"),
            "legal_basis": wording.labels("legal_basis"),
            "unverified_note": None,
            "sections": self.sections(facts, wording),
            "digest": digest,
            "generated_at": stated(timezone.now(), zone),
            "page_word": labels("document.page"),
            "of_word": labels("document.of"),
            "generated_word": labels("document.generated"),
        }
        html = render_to_string(TEMPLATE, context)
        if self.explains_unverified or UNVERIFIED_MARK in html:
            # A dagger is printed: the document says what it means, in both languages.
            context["unverified_note"] = labels("document.unverified")
            html = render_to_string(TEMPLATE, context)
        return html
