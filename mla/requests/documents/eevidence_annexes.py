"""The e-Evidence annexes one side sends the other about a certificate (Regulation (EU)
2023/1543): Annex III, the addressee's information that it cannot comply with an EPOC or
EPOC-PR (Art. 10(5)-(8), 11(4)-(5), 16-17); Annex V, the issuing authority's confirmation
that the request for production following an EPOC-PR was issued, and Annex VI, its
extension of the preservation by 30 days (Art. 11(1)).

Each is a fixed form (mla.requests.documents.fixed_forms) drawn from the certificate and
the last timeline entry of its step, its dates in the sending side's zone. It goes to the
other side with its step; the copy that received it serves it as received. The official
wording of these annexes could not be read from this machine: every label is listed as
unverified (labels/provenance.json) and printed with the dagger.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic

from contact_points.models import Authority
from mla.instruments import eevidence
from mla.instruments.declarations.eevidence import SUBSEQUENT_REQUEST_KINDS
from mla.requests.deadlines.engine import in_zone
from mla.requests.documents.fixed_forms import (
    F,
    FixedForm,
    FormSection,
    Wording,
    aware_check,
    form_zone,
)
from mla.requests.documents.rendering import Entry, country_name
from mla.requests.events import Event
from mla.requests.lifecycle.channels import StepDocument, remote_channel
from mla.requests.models import AuditEntry, Request

# The annexes by their label prefix, which names their download too (requests:annex_iii).
ANNEX_III = "annex_iii"
ANNEX_V = "annex_v"
ANNEX_VI = "annex_vi"
CERTIFICATE_KINDS = (eevidence.EPOC, eevidence.EPOC_PR)


@dataclass(frozen=True)
class CertificateFacts:
    """The certificate an annex is about, as both sides know it."""

    kind: str  # epoc | epoc_pr
    reference: str
    issuing_state: str  # the country's name in both sides' languages, and its code
    issuing_authority: str
    issuing_file_number: str
    validating_file_number: str  # may be ""
    date_of_issue: date | None  # when it was sent, in the issuing authority's zone
    received_at: datetime | None  # by the addressee; aware
    service_provider: str
    addressee: str
    addressee_address: str

    def __post_init__(self) -> None:
        aware_check(self, "received_at")
        if self.kind not in CERTIFICATE_KINDS:
            raise ValueError(f"not a certificate: {self.kind[:40]!r}")


@dataclass(frozen=True)
class SenderFacts:
    """The authority that sends the annex, and who took its step when."""

    authority: str
    address: str
    phone: str
    email: str
    zone: str  # IANA zone: the annex's dates are shown in it
    signed_by: str
    signed_at: datetime  # aware

    def __post_init__(self) -> None:
        aware_check(self, "signed_at")
        form_zone(self.zone)


@dataclass(frozen=True)
class _AnnexFacts:
    certificate: CertificateFacts
    sender: SenderFacts

    @property
    def reference(self) -> str:
        return self.certificate.reference

    @property
    def sender_zone(self) -> str:
        return self.sender.zone


@dataclass(frozen=True)
class AnnexIIIFacts(_AnnexFacts):
    reasons: tuple[str, ...]  # codes of eevidence.ANNEX_III_REASONS, in their order
    explanation: str
    # Art. 17: the third country's law (eevidence.CONFLICTING_OBLIGATION_FIELDS); empty
    # unless "conflicting_obligations" is a reason.
    conflicting_obligations: Mapping[str, str]
    additional_information: str  # the clarification asked of the issuing authority
    data_preserved: bool
    issuing_language: str
    executing_language: str

    def __post_init__(self) -> None:
        unknown = set(self.reasons) - set(eevidence.ANNEX_III_REASONS)
        if not self.reasons or unknown:
            raise ValueError(f"Annex III reasons: {sorted(unknown)!r}"[:120])


@dataclass(frozen=True)
class AnnexVFacts(_AnnexFacts):
    # The request for production that followed; its kind, date and addressee are "" (None)
    # on a copy that does not hold it.
    follow_up_kind: str  # SUBSEQUENT_REQUEST_KINDS, or ""
    follow_up_reference: str
    follow_up_date_of_issue: date | None
    follow_up_addressed_to: str
    issuing_language: str
    executing_language: str

    def __post_init__(self) -> None:
        if self.follow_up_kind and self.follow_up_kind not in SUBSEQUENT_REQUEST_KINDS:
            raise ValueError(f"not a request for production: {self.follow_up_kind[:40]!r}")


@dataclass(frozen=True)
class AnnexVIFacts(_AnnexFacts):
    days: int  # the preservation is extended by
    reason: str
    issuing_language: str
    executing_language: str


# The sections ------------------------------------------------------------------------------


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _lines(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


def _issuing_entries(certificate: CertificateFacts, wording: Wording, code: str) -> list[Entry]:
    entry = wording.entry
    return [
        entry(f"{code}.issuing_state", certificate.issuing_state),
        entry(f"{code}.issuing_authority", certificate.issuing_authority),
        entry(f"{code}.issuing_file_number", certificate.issuing_file_number),
        entry(f"{code}.date_of_issue", _day(certificate.date_of_issue)),
        entry(f"{code}.date_of_receipt", wording.stated(certificate.received_at)),
    ]


def _addressee_entries(certificate: CertificateFacts, wording: Wording, code: str) -> list[Entry]:
    return [
        wording.entry(f"{code}.service_provider", certificate.service_provider),
        wording.entry(f"{code}.addressee", certificate.addressee),
    ]


def _sender_section(sender: SenderFacts, wording: Wording, code: str) -> FormSection:
    """The sending authority, who signs for it and when, and the space to sign in."""
    entry = wording.entry
    return FormSection(
        code,
        wording.labels(f"{code}.title"),
        [
            entry(f"{code}.authority", _lines(sender.authority, sender.address)),
            entry(f"{code}.phone", sender.phone),
            entry(f"{code}.email", sender.email),
            entry(f"{code}.name_and_function", sender.signed_by),
            entry(f"{code}.date", wording.stated(sender.signed_at)),
        ],
        signature=wording.labels(f"{code}.signature"),
    )


def _annex_iii_sections(facts: AnnexIIIFacts, wording: Wording) -> list[FormSection]:
    labels, entry = wording.labels, wording.entry
    certificate = facts.certificate
    conflicting = [
        entry(f"E.{name}", facts.conflicting_obligations.get(name, ""))
        for name in eevidence.CONFLICTING_OBLIGATION_FIELDS
        if "conflicting_obligations" in facts.reasons
    ]
    return [
        FormSection(
            "A",
            labels("A.title"),
            [
                wording.choices("A.kind", CERTIFICATE_KINDS, (certificate.kind,)),
                entry("A.reference", certificate.reference),
            ],
        ),
        FormSection(
            "B",
            labels("B.title"),
            [
                *_issuing_entries(certificate, wording, "B"),
                entry("B.validating_file_number", certificate.validating_file_number),
            ],
        ),
        FormSection(
            "C",
            labels("C.title"),
            [
                *_addressee_entries(certificate, wording, "C"),
                entry("C.address", certificate.addressee_address),
            ],
        ),
        FormSection(
            "D",
            labels("D.title"),
            [
                wording.choices("D.reason", eevidence.ANNEX_III_REASONS, facts.reasons),
                entry("D.explanation", facts.explanation),
            ],
        ),
        FormSection(
            "E",
            labels("E.title"),
            conflicting,
            note=None if conflicting else labels("E.not_applicable"),
        ),
        FormSection("F", labels("F.title"), [], free_text=facts.additional_information),
        FormSection(
            "G", labels("G.title"), [wording.tick("G.data_preserved", facts.data_preserved)]
        ),
        _sender_section(facts.sender, wording, "H"),
    ]


def _preservation_sections(facts: _AnnexFacts, wording: Wording) -> list[FormSection]:
    """Sections A and B of Annexes V and VI: the EPOC-PR and its addressee."""
    certificate = facts.certificate
    return [
        FormSection(
            "A",
            wording.labels("A.title"),
            [
                wording.entry("A.reference", certificate.reference),
                *_issuing_entries(certificate, wording, "A"),
            ],
        ),
        FormSection("B", wording.labels("B.title"), _addressee_entries(certificate, wording, "B")),
    ]


def _annex_v_sections(facts: AnnexVFacts, wording: Wording) -> list[FormSection]:
    entry = wording.entry
    return [
        *_preservation_sections(facts, wording),
        FormSection(
            "C",
            wording.labels("C.title"),
            [
                wording.choices(
                    "C.kind",
                    SUBSEQUENT_REQUEST_KINDS,
                    (facts.follow_up_kind,) if facts.follow_up_kind else (),
                ),
                entry("C.reference", facts.follow_up_reference),
                entry("C.date_of_issue", _day(facts.follow_up_date_of_issue)),
                entry("C.addressed_to", facts.follow_up_addressed_to),
            ],
        ),
        _sender_section(facts.sender, wording, "D"),
    ]


def _annex_vi_sections(facts: AnnexVIFacts, wording: Wording) -> list[FormSection]:
    entry = wording.entry
    return [
        *_preservation_sections(facts, wording),
        FormSection(
            "C",
            wording.labels("C.title"),
            [
                entry("C.days", str(facts.days)),
                entry("C.date", wording.stated(facts.sender.signed_at)),
                entry("C.reason", facts.reason),
            ],
        ),
        _sender_section(facts.sender, wording, "D"),
    ]


ANNEX_III_FORM = FixedForm[AnnexIIIFacts](
    prefix=ANNEX_III,
    json_name="annex_iii.json",
    json_description="e-Evidence Annex III, impossibility to execute: the facts (JSON)",
    sections=_annex_iii_sections,
    explains_unverified=True,
)
ANNEX_V_FORM = FixedForm[AnnexVFacts](
    prefix=ANNEX_V,
    json_name="annex_v.json",
    json_description="e-Evidence Annex V, request for production issued: the facts (JSON)",
    sections=_annex_v_sections,
    explains_unverified=True,
)
ANNEX_VI_FORM = FixedForm[AnnexVIFacts](
    prefix=ANNEX_VI,
    json_name="annex_vi.json",
    json_description="e-Evidence Annex VI, extension of the preservation: the facts (JSON)",
    sections=_annex_vi_sections,
    explains_unverified=True,
)


# The facts, from the request and its timeline ----------------------------------------------


def _text(data: Mapping[str, Any], section: str, name: str) -> str:
    values = data.get(section)
    value = values.get(name) if isinstance(values, Mapping) else None
    return value.strip() if isinstance(value, str) else ""


def _last(request: Request, *events: str) -> AuditEntry | None:
    return (
        AuditEntry.objects.filter(request=request, event__in=events).order_by("-sequence").first()
    )


def _certificate(request: Request) -> CertificateFacts:
    issuing = request.issuing_authority
    addressee = request.executing_authority
    data = request.data
    sent = request.sent_at
    received = request.received_at
    if received is None:
        delivered = _last(request, Event.RECEIVED, Event.DELIVERED)
        received = delivered.at if delivered is not None else None
    return CertificateFacts(
        kind=request.declaration_code,
        reference=request.reference,
        issuing_state=country_name(
            issuing.country.code, (request.issuing_language, request.executing_language)
        ),
        issuing_authority=issuing.name,
        issuing_file_number=_text(data, "A", "issuing_file_number"),
        validating_file_number=_text(data, "A", "validating_file_number"),
        date_of_issue=in_zone(sent, issuing.time_zone or "UTC").date() if sent else None,
        received_at=received,
        service_provider=_text(data, "B", "service_provider"),
        addressee=_text(data, "B", "addressee") or (addressee.name if addressee else ""),
        addressee_address=_text(data, "B", "addressee_address")
        or (addressee.postal_address if addressee else ""),
    )


def _sender(authority: Authority, entry: AuditEntry) -> SenderFacts:
    return SenderFacts(
        authority=authority.name,
        address=authority.postal_address,
        phone=authority.phone,
        email=authority.email,
        zone=authority.time_zone or "UTC",
        signed_by=entry.actor_name,
        signed_at=entry.at,
    )


def _annex_iii(request: Request, entry: AuditEntry) -> AnnexIIIFacts:
    payload = entry.payload if isinstance(entry.payload, dict) else {}
    given = payload.get("reasons")
    reasons = tuple(
        code for code in eevidence.ANNEX_III_REASONS if isinstance(given, list) and code in given
    )
    conflicting = payload.get("conflicting_obligations")
    addressee = request.executing_authority
    assert addressee is not None
    return AnnexIIIFacts(
        certificate=_certificate(request),
        sender=_sender(addressee, entry),
        reasons=reasons or ("other",),
        explanation=str(payload.get("explanation") or entry.note),
        conflicting_obligations={
            name: str(conflicting.get(name, "")) for name in eevidence.CONFLICTING_OBLIGATION_FIELDS
        }
        if isinstance(conflicting, dict)
        else {},
        additional_information=str(payload.get("additional_information") or ""),
        data_preserved=payload.get("data_preserved") is True,
        issuing_language=request.issuing_language,
        executing_language=request.executing_language,
    )


def _follow_up(request: Request, reference: str) -> Request | None:
    """The request for production an Annex V names: one of the issuing authority's own,
    held on this node (on a copy received from another node, it is not)."""
    return (
        Request.objects.filter(
            direction=Request.Direction.OUTGOING,
            issuing_authority=request.issuing_authority,
            reference=reference,
        )
        .select_related("executing_authority", "executing_country")
        .first()
    )


def _follow_up_kind(follow_up: Request) -> str:
    kind = eevidence.EPOC if follow_up.declaration_code == eevidence.EPOC else follow_up.instrument
    return kind if kind in SUBSEQUENT_REQUEST_KINDS else ""


def _annex_v(request: Request, entry: AuditEntry) -> AnnexVFacts:
    payload = entry.payload if isinstance(entry.payload, dict) else {}
    reference = str(payload.get("request") or "")
    follow_up = _follow_up(request, reference) if reference else None
    issuing = request.issuing_authority
    sent = follow_up.sent_at if follow_up is not None else None
    addressed_to = ""
    if follow_up is not None:
        addressed_to = (
            follow_up.executing_authority.name
            if follow_up.executing_authority
            else country_name(
                follow_up.executing_country.code,
                (request.issuing_language, request.executing_language),
            )
        )
    return AnnexVFacts(
        certificate=_certificate(request),
        sender=_sender(issuing, entry),
        follow_up_kind=_follow_up_kind(follow_up) if follow_up is not None else "",
        follow_up_reference=reference,
        follow_up_date_of_issue=in_zone(sent, issuing.time_zone or "UTC").date() if sent else None,
        follow_up_addressed_to=addressed_to,
        issuing_language=request.issuing_language,
        executing_language=request.executing_language,
    )


def _annex_vi(request: Request, entry: AuditEntry) -> AnnexVIFacts:
    from mla.instruments.declarations.eevidence_deadlines import PRESERVATION_EXTENSION_DAYS

    payload = entry.payload if isinstance(entry.payload, dict) else {}
    days = payload.get("days")
    return AnnexVIFacts(
        certificate=_certificate(request),
        sender=_sender(request.issuing_authority, entry),
        days=days if isinstance(days, int) else PRESERVATION_EXTENSION_DAYS,
        reason=str(payload.get("reason") or entry.note),
        issuing_language=request.issuing_language,
        executing_language=request.executing_language,
    )


@dataclass(frozen=True)
class _Annex(Generic[F]):
    code: str
    event: Event
    declarations: frozenset[str]
    # Annex III is the addressee's (its copy is the incoming one); V and VI the issuing
    # authority's.
    sender: Request.Direction
    form: FixedForm[F]
    build: Callable[[Request, AuditEntry], F]

    def facts(self, request: Request) -> F | None:
        if request.declaration_code not in self.declarations:
            return None
        entry = _last(request, self.event)
        return None if entry is None else self.build(request, entry)


_ANNEXES: dict[str, _Annex[Any]] = {
    annex.code: annex
    for annex in (
        _Annex(
            ANNEX_III,
            Event.IMPOSSIBILITY_REPORTED,
            eevidence.CERTIFICATES,
            Request.Direction.INCOMING,
            ANNEX_III_FORM,
            _annex_iii,
        ),
        _Annex(
            ANNEX_V,
            Event.FOLLOWED_UP,
            frozenset({eevidence.EPOC_PR}),
            Request.Direction.OUTGOING,
            ANNEX_V_FORM,
            _annex_v,
        ),
        _Annex(
            ANNEX_VI,
            Event.PRESERVATION_EXTENDED,
            frozenset({eevidence.EPOC_PR}),
            Request.Direction.OUTGOING,
            ANNEX_VI_FORM,
            _annex_vi,
        ),
    )
}
ANNEXES = tuple(_ANNEXES)


def annex_iii_facts(*, request: Request) -> AnnexIIIFacts | None:
    """The facts of the certificate's last Annex III; None before the addressee sent one."""
    facts: AnnexIIIFacts | None = _ANNEXES[ANNEX_III].facts(request)
    return facts


def annex_v_facts(*, request: Request) -> AnnexVFacts | None:
    """The facts of the EPOC-PR's Annex V; None before the follow-up was confirmed."""
    facts: AnnexVFacts | None = _ANNEXES[ANNEX_V].facts(request)
    return facts


def annex_vi_facts(*, request: Request) -> AnnexVIFacts | None:
    """The facts of the EPOC-PR's last Annex VI; None before it was extended."""
    facts: AnnexVIFacts | None = _ANNEXES[ANNEX_VI].facts(request)
    return facts


# The documents ------------------------------------------------------------------------------


def annexes_issued(*, request: Request) -> list[str]:
    """The annexes whose step was taken on this copy, in their order (one query, none for a
    request that is not a certificate)."""
    if request.declaration_code not in eevidence.CERTIFICATES:
        return []
    applicable = {
        annex.event: annex.code
        for annex in _ANNEXES.values()
        if request.declaration_code in annex.declarations
    }
    taken = set(
        AuditEntry.objects.filter(request=request, event__in=list(applicable)).values_list(
            "event", flat=True
        )
    )
    return [code for event, code in applicable.items() if event in taken]


def annex_document_name(*, request: Request, annex: str) -> str:
    """The name the annex travels under: ``annex-iii-<reference>.pdf``."""
    return f"{_ANNEXES[annex].code.replace('_', '-')}-{request.reference}.pdf"


@dataclass(frozen=True)
class AnnexDocument:
    content: bytes  # the PDF
    received: bool  # as the other side sent it, rather than drawn from this copy
    sequence: int  # the timeline entry of its step on this copy


def annex_document(*, request: Request, annex: str) -> AnnexDocument | None:
    """The annex as a PDF; None before its step. On the copy of the side it went to, the
    one the other node sent with its step, as received, when it came by a message."""
    kind = _ANNEXES[annex]
    if request.declaration_code not in kind.declarations:
        return None
    entry = _last(request, kind.event)
    if entry is None:
        return None
    if request.direction != kind.sender:
        received = remote_channel().document_received(
            request=request, name=annex_document_name(request=request, annex=annex)
        )
        if received is not None:
            return AnnexDocument(content=received, received=True, sequence=entry.sequence)
    content = kind.form.pdf(facts=kind.build(request, entry))
    return AnnexDocument(content=content, received=False, sequence=entry.sequence)


def annex_content(*, request: Request, annex: str) -> bytes | None:
    document = annex_document(request=request, annex=annex)
    return document.content if document is not None else None


def annex_step_documents(*, request: Request, event: str) -> list[StepDocument]:
    """The annex that goes with a step to the other side, drawn from the sending copy."""
    for annex in _ANNEXES.values():
        if annex.event != event or request.direction != annex.sender:
            continue
        facts = annex.facts(request)
        if facts is None:
            return []
        return [
            StepDocument(
                name=annex_document_name(request=request, annex=annex.code),
                media_type="application/pdf",
                content=annex.form.pdf(facts=facts),
            )
        ]
    return []
