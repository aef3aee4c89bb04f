"""Annex B of Directive 2014/41/EU: the executing side's acknowledgement of receipt of an EIO.

Art. 16(1) asks for it within a week of receipt. A fixed form (mla.requests.documents
.fixed_forms): rendered from plain facts like the request document, its dates in the
receiving authority's zone, the facts embedded as canonical JSON whose SHA-256 it prints.
"""

from dataclasses import dataclass
from datetime import date, datetime

from contact_points.models import Authority
from mla.requests.deadlines.engine import in_zone
from mla.requests.documents.fixed_forms import (
    FixedForm,
    FormSection,
    Wording,
    aware_check,
    facts_json,
    form_zone,
)
from mla.requests.documents.rendering import country_name
from mla.requests.events import Event
from mla.requests.lifecycle.channels import StepDocument, remote_channel
from mla.requests.models import AuditEntry, Request

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
        aware_check(self, "received_at", "acknowledged_at", "forwarded_at")
        if bool(self.forwarded_to_name) != (self.forwarded_at is not None):
            raise ValueError("forwarded_to_name and forwarded_at go together")
        form_zone(self.receiving_authority_zone)

    @property
    def sender_zone(self) -> str:
        return self.receiving_authority_zone


def _sections(facts: AnnexBFacts, wording: Wording) -> list[FormSection]:
    labels, entry, local = wording.labels, wording.entry, wording.stated
    issuing_authority = "\n".join(
        part for part in (facts.issuing_authority_name, facts.issuing_authority_address) if part
    )
    forwarding = (
        [
            entry("C.name", facts.forwarded_to_name),
            entry("C.address", facts.forwarded_to_address),
            entry("C.date_of_transfer", local(facts.forwarded_at)),
        ]
        if facts.forwarded_at is not None
        else []
    )
    return [
        FormSection(
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
                entry("A.date_of_receipt", local(facts.received_at)),
            ],
        ),
        FormSection(
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
        FormSection(
            "C",
            labels("C.title"),
            forwarding,
            note=None if forwarding else labels("C.not_forwarded"),
        ),
        FormSection("D", labels("D.title"), [], free_text=facts.other_information),
        FormSection(
            "E",
            labels("E.title"),
            [
                entry("E.name_and_function", facts.signed_by),
                entry("E.date", local(facts.acknowledged_at)),
            ],
            signature=labels("E.signature"),
        ),
    ]


ANNEX_B = FixedForm[AnnexBFacts](
    prefix="annex_b",
    json_name=ANNEX_B_JSON_NAME,
    json_description="EIO Annex B acknowledgement of receipt: the facts (JSON)",
    sections=_sections,
)


def annex_b_json(*, facts: AnnexBFacts) -> bytes:
    """The facts as canonical JSON: instants in UTC, so the digest names the instant."""
    return facts_json(facts)


def annex_b_html(*, facts: AnnexBFacts, for_screen: bool = False) -> str:
    return ANNEX_B.html(facts=facts, for_screen=for_screen)


def annex_b_pdf(*, facts: AnnexBFacts) -> bytes:
    """PDF/A-3b with the facts embedded as ``annex_b.json``."""
    return ANNEX_B.pdf(facts=facts)


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


def annex_b_step_documents(*, request: Request, event: str) -> list[StepDocument]:
    """An EIO's acknowledgement carries its Annex B to the issuing side (Directive
    2014/41/EU, Art. 16(1))."""
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
