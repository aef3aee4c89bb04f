"""Annex B of Directive 2014/41/EU: the executing side's acknowledgement of receipt of an EIO.

Art. 16(1) asks for it within a week of receipt. It is rendered like the request document
(PDF/A-3b, labels in the issuing and the executing side's language side by side, the same
asset-only fetcher) from plain facts, so it needs no database row. Dates are shown in the
receiving authority's zone, with the zone's name. The PDF embeds the facts as canonical
JSON, and the SHA-256 printed in its margin is that JSON's digest.
"""

import hashlib
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.template.loader import render_to_string
from django.utils import timezone

from contact_points.models import Authority
from mla.core.instants import format_instant_stated
from mla.instruments.labels import FALLBACK_LANGUAGE, has_language
from mla.requests.deadlines.engine import in_zone
from mla.requests.documents.rendering import (
    Entry,
    Labels,
    bilingual_labels,
    country_name,
    html_to_pdf,
)
from mla.requests.events import Event
from mla.requests.lifecycle.channels import StepDocument, remote_channel
from mla.requests.models import AuditEntry, Request, canonical_json

ANNEX_B_JSON_NAME = "annex_b.json"


@dataclass(frozen=True)
class AnnexBFacts:
    reference: str  # the EIO's reference
    issuing_authority_name: str
    issuing_authority_address: str
    issuing_country_name: str
    date_of_issue: date | None  # when the EIO was issued (sent)
    received_at: datetime  # aware
    acknowledged_at: datetime  # aware
    receiving_authority_name: str
    receiving_authority_address: str
    receiving_authority_phone: str
    receiving_authority_email: str
    receiving_authority_zone: str  # IANA zone: dates are shown in it
    receiving_file_reference: str  # may be ""
    forwarded_to_name: str  # "" unless the EIO was forwarded to the competent authority
    forwarded_to_address: str
    forwarded_at: datetime | None
    other_information: str  # free text, may be ""
    signed_by: str  # the name and function of the person acknowledging
    issuing_language: str  # label languages, as on the EIO document
    executing_language: str

    def __post_init__(self) -> None:
        for name in ("received_at", "acknowledged_at", "forwarded_at"):
            value = getattr(self, name)
            if value is not None and not timezone.is_aware(value):
                raise ValueError(f"{name} must be an aware datetime")
        if bool(self.forwarded_to_name) != (self.forwarded_at is not None):
            raise ValueError("forwarded_to_name and forwarded_at go together")
        _zone(self.receiving_authority_zone)


@dataclass
class AnnexBSection:
    code: str
    title: Labels
    entries: list[Entry]
    note: Labels | None = None  # a line standing for the section's entries ("Not forwarded")
    free_text: str | None = None  # section D: the text itself, without a label
    signature_space: bool = False


def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone: {key[:80]!r}") from error


def _local(moment: datetime, zone: ZoneInfo) -> str:
    # Stated with the zone's name and offset: the document is read away from any page.
    return format_instant_stated(moment, zone)


def _effective_language(language: str) -> str:
    # label() falls back to English for a language without a catalogue: say so in lang=.
    return language if has_language(language) else FALLBACK_LANGUAGE


def annex_b_json(*, facts: AnnexBFacts) -> bytes:
    """The facts as canonical JSON: instants in UTC, so the digest names the instant."""
    data: dict[str, Any] = {}
    for item in fields(facts):
        value = getattr(facts, item.name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        data[item.name] = value
    return canonical_json(data)


def _sections(facts: AnnexBFacts, zone: ZoneInfo) -> list[AnnexBSection]:
    primary, secondary = facts.issuing_language, facts.executing_language

    def labels(key: str) -> Labels:
        return bilingual_labels(f"annex_b.{key}", primary, secondary)

    def entry(key: str, text: str) -> Entry:
        return Entry(labels(key), "text", text=text)

    issuing_authority = "\n".join(
        part for part in (facts.issuing_authority_name, facts.issuing_authority_address) if part
    )
    forwarding = (
        [
            entry("C.name", facts.forwarded_to_name),
            entry("C.address", facts.forwarded_to_address),
            entry("C.date_of_transfer", _local(facts.forwarded_at, zone)),
        ]
        if facts.forwarded_at is not None
        else []
    )
    return [
        AnnexBSection(
            "A",
            labels("A.title"),
            [
                entry("A.issuing_authority", issuing_authority),
                entry("A.issuing_state", facts.issuing_country_name),
                entry("A.reference", facts.reference),
                entry(
                    "A.date_of_issue",
                    facts.date_of_issue.isoformat() if facts.date_of_issue else "",
                ),
                entry("A.date_of_receipt", _local(facts.received_at, zone)),
            ],
        ),
        AnnexBSection(
            "B",
            labels("B.title"),
            [
                entry("B.name", facts.receiving_authority_name),
                entry("B.file_reference", facts.receiving_file_reference),
                entry("B.address", facts.receiving_authority_address),
                entry("B.phone", facts.receiving_authority_phone),
                entry("B.email", facts.receiving_authority_email),
            ],
        ),
        AnnexBSection(
            "C",
            labels("C.title"),
            forwarding,
            note=None if forwarding else labels("C.not_forwarded"),
        ),
        AnnexBSection("D", labels("D.title"), [], free_text=facts.other_information),
        AnnexBSection(
            "E",
            labels("E.title"),
            [
                entry("E.name_and_function", facts.signed_by),
                entry("E.date", _local(facts.acknowledged_at, zone)),
            ],
            signature_space=True,
        ),
    ]


def _html(*, facts: AnnexBFacts, digest: str, for_screen: bool) -> str:
    zone = _zone(facts.receiving_authority_zone)
    primary, secondary = facts.issuing_language, facts.executing_language

    def labels(key: str) -> Labels:
        return bilingual_labels(key, primary, secondary)

    context = {
        "facts": facts,
        "for_screen": for_screen,
        "primary_language": _effective_language(primary),
        "secondary_language": _effective_language(secondary),
        "title": labels("annex_b.title"),
        "intro": labels("annex_b.intro"),
        "legal_basis": labels("annex_b.legal_basis"),
        "signature": labels("annex_b.E.signature"),
        "sections": _sections(facts, zone),
        "digest": digest,
        "generated_at": _local(timezone.now(), zone),
        "page_word": labels("document.page"),
        "of_word": labels("document.of"),
        "generated_word": labels("document.generated"),
    }
    return render_to_string("requests/annex_b.html", context)


def annex_b_html(*, facts: AnnexBFacts, for_screen: bool = False) -> str:
    digest = hashlib.sha256(annex_b_json(facts=facts)).hexdigest()
    return _html(facts=facts, digest=digest, for_screen=for_screen)


def annex_b_pdf(*, facts: AnnexBFacts) -> bytes:
    """PDF/A-3b with the facts embedded as ``annex_b.json``."""
    data = annex_b_json(facts=facts)
    html = _html(facts=facts, digest=hashlib.sha256(data).hexdigest(), for_screen=False)
    return html_to_pdf(
        html=html,
        json_data=data,
        json_name=ANNEX_B_JSON_NAME,
        json_description="EIO Annex B acknowledgement of receipt: the facts (JSON)",
    )


def annex_b_facts(*, request: Request) -> AnnexBFacts | None:
    """The facts of the Annex B acknowledgement of an EIO, once it was acknowledged."""
    if request.instrument != "eio":
        return None
    entries = list(
        AuditEntry.objects.filter(
            request=request,
            event__in=[Event.ACKNOWLEDGED, Event.FORWARDED, Event.RECEIVED, Event.DELIVERED],
        ).order_by("sequence")
    )
    acknowledged = next((e for e in reversed(entries) if e.event == Event.ACKNOWLEDGED), None)
    received = next(
        (e for e in reversed(entries) if e.event in (Event.RECEIVED, Event.DELIVERED)), None
    )
    if acknowledged is None or received is None:
        return None
    forwarded = next((e for e in reversed(entries) if e.event == Event.FORWARDED), None)
    forwarded_to = (
        Authority.objects.filter(identifier=forwarded.payload.get("to")).first()
        if forwarded
        else None
    )
    receiving = request.executing_authority
    assert receiving is not None
    issuing = request.issuing_authority
    sent = request.sent_at
    return AnnexBFacts(
        reference=request.reference,
        issuing_authority_name=issuing.name,
        issuing_authority_address=issuing.postal_address,
        # In both sides' languages, as the country names of the request's own PDF.
        issuing_country_name=country_name(
            issuing.country.code, (request.issuing_language, request.executing_language)
        ),
        date_of_issue=in_zone(sent, issuing.time_zone or "UTC").date() if sent else None,
        received_at=request.received_at or received.at,
        acknowledged_at=acknowledged.at,
        receiving_authority_name=receiving.name,
        receiving_authority_address=receiving.postal_address,
        receiving_authority_phone=receiving.phone,
        receiving_authority_email=receiving.email,
        receiving_authority_zone=receiving.time_zone or "UTC",
        receiving_file_reference="",
        forwarded_to_name=forwarded_to.name if forwarded_to else "",
        forwarded_to_address=forwarded_to.postal_address if forwarded_to else "",
        forwarded_at=forwarded.at if forwarded_to and forwarded else None,
        other_information=acknowledged.note,
        signed_by=", ".join(
            part for part in (acknowledged.actor_name, acknowledged.authority_name) if part
        ),
        issuing_language=request.issuing_language,
        executing_language=request.executing_language,
    )


ANNEX_B_DOCUMENT = "annex-b-%(reference)s.pdf"


def step_documents(*, request: Request, event: str) -> list[StepDocument]:
    """The documents that go to the issuing side with a step of the executing side: an EIO's
    acknowledgement carries its Annex B (Directive 2014/41/EU, Art. 16(1))."""
    if event != Event.ACKNOWLEDGED or request.instrument != "eio":
        return []
    facts = annex_b_facts(request=request)
    if facts is None:
        return []
    return [
        StepDocument(
            name=annex_b_document_name(request=request),
            media_type="application/pdf",
            content=annex_b_pdf(facts=facts),
        )
    ]


def annex_b_document_name(*, request: Request) -> str:
    return ANNEX_B_DOCUMENT % {"reference": request.reference}


def annex_b_content(*, request: Request) -> bytes | None:
    """The Annex B of an acknowledged EIO, as a PDF; None before it is acknowledged. On the
    issuing side of another node's acknowledgement it is the Annex B that node signed and
    sent, as received, rather than one drawn here from this copy's timeline."""
    facts = annex_b_facts(request=request)
    if facts is None:
        return None
    if request.direction == Request.Direction.OUTGOING:
        received = remote_channel().document_received(
            request=request, name=annex_b_document_name(request=request)
        )
        if received is not None:
            return received
    return annex_b_pdf(facts=facts)
