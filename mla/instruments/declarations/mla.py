"""Mutual legal assistance requests (letters of request).

MLA follows the content the treaties ask of a request: the 1959 Convention (ETS 030), Art. 14;
the UN Model Treaty (GA res. 45/117), Art. 5; UNTOC, Art. 18(15). MLA_SUBSCRIBER is the
Budapest Convention Art. 31 request for subscriber information, laid out as the T-CY(2018)10
template, whose header it shares with the preservation request.

The engine prefills ``addressee`` and ``requesting_authority`` here, and the T-CY header
fields (``requested_authority``, ``organisation``, ``address``…) of MLA_SUBSCRIBER.
"""

from mla.instruments.declarations.preservation import (
    confirmation_contact_section,
    identifiers_group,
    investigating_authority_section,
    requested_authority_section,
    requesting_authority_section,
)
from mla.instruments.declarations.schema import (
    AUTHORITY_NAME_LENGTH,
    NAME_LENGTH,
    REFERENCE_LENGTH,
    DeadlineRule,
    Field,
    Group,
    InstrumentDeclaration,
    Section,
    When,
    labelled_field,
)

LEGAL_BASES = (
    "convention_1959",  # ETS 030 and its Additional Protocols (ETS 099, ETS 182)
    "budapest_27",  # no treaty between the Parties: the Convention's own procedure
    "budapest_31",  # access to stored computer data
    "untoc_18",
    "bilateral_treaty",
    "reciprocity",
)
ASSISTANCE_TYPES = (
    "evidence_hearing",
    "search_seizure",
    "production",
    "subscriber_information",
    "traffic_data",
    "content_data",
    "service_of_documents",
    "freezing_confiscation",
    "other",
)
PERSON_ROLES = ("suspect", "victim", "witness", "expert", "to_be_served", "third_party", "other")
# Judicial authorities write letters of request; a central authority may send them on.
ISSUER_KINDS = ("prosecutor", "court", "investigating_judge", "central_authority")


def _section(instrument: str, code: str, *items: Field | Group) -> Section:
    return Section(code=code, title=f"{instrument}.{code}.title", items=items)


def signature_section(instrument: str, code: str) -> Section:
    prefix = f"{instrument}.{code}"
    return _section(
        instrument,
        code,
        labelled_field(prefix, "place", required=True, max_length=NAME_LENGTH),
        labelled_field(prefix, "date", "date", required=True),
        labelled_field(prefix, "name", required=True, max_length=NAME_LENGTH),
        labelled_field(prefix, "function", required=True, max_length=NAME_LENGTH),
    )


def confidentiality_section(instrument: str, code: str) -> Section:
    # Budapest Art. 27(8), UNTOC Art. 18(20): the requested Party keeps the request
    # confidential if asked, or says promptly that it cannot.
    prefix = f"{instrument}.{code}"
    return _section(
        instrument,
        code,
        labelled_field(prefix, "confidential", "boolean"),
        labelled_field(
            prefix,
            "confidentiality_reasons",
            "textarea",
            required_when=When(f"{code}.confidential"),
        ),
    )


def urgency_section(instrument: str, code: str) -> Section:
    # UN Model Treaty Art. 5(1): any time limit within which compliance is desired, and
    # the reason for it.
    prefix = f"{instrument}.{code}"
    urgent = When(f"{code}.urgent")
    return _section(
        instrument,
        code,
        labelled_field(prefix, "urgent", "boolean"),
        labelled_field(prefix, "requested_date", "date", required_when=urgent),
        labelled_field(prefix, "urgency_reasons", "textarea", required_when=urgent),
    )


def requested_date_deadline(instrument: str, section: str) -> DeadlineRule:
    # No legal time limit binds the requested State; the date asked for is tracked as such.
    # The date is read from the field named by starts_at rather than counted from an event.
    return DeadlineRule(
        code="requested_date",
        label=f"{instrument}.deadline.requested_date",
        source="the request, section urgency",
        starts_at=f"{section}.requested_date",
    )


_M = "mla"
_PERSONS = f"{_M}.4.persons"
_OFFENCES = f"{_M}.6.offences"
_ASSISTANCE = f"{_M}.7.assistance"
_CONTACT = f"{_M}.13"

MLA = InstrumentDeclaration(
    code="mla",
    directory_instrument="mla",
    title="mla.title",
    legal_basis="1959 Convention (ETS 030), Art. 14; UN Model Treaty, Art. 5; UNTOC, Art. 18(15)",
    sections=(
        _section(
            _M,
            "1",
            labelled_field(
                f"{_M}.1", "legal_basis", "multichoice", required=True, choices=LEGAL_BASES
            ),
            labelled_field(
                f"{_M}.1",
                "treaty_name",
                required_when=When("1.legal_basis", ("bilateral_treaty",)),
            ),
        ),
        # ETS 030 Art. 14(1)(a), UNTOC Art. 18(15)(a): the authority making the request;
        # UNTOC Art. 18(15)(b): the authority conducting the investigation.
        _section(
            _M,
            "2",
            labelled_field(
                f"{_M}.2", "requesting_authority", required=True, max_length=AUTHORITY_NAME_LENGTH
            ),
            labelled_field(f"{_M}.2", "reference", required=True, max_length=REFERENCE_LENGTH),
            labelled_field(f"{_M}.2", "conducting_authority", max_length=AUTHORITY_NAME_LENGTH),
        ),
        _section(_M, "3", labelled_field(f"{_M}.3", "addressee", required=True, hint=True)),
        # ETS 030 Art. 14(1)(c), UNTOC Art. 18(15)(e): identity, location and nationality of
        # the persons concerned, where possible.
        _section(
            _M,
            "4",
            Group(
                name="persons",
                label=_PERSONS,
                fields=(
                    labelled_field(_PERSONS, "name", required=True, max_length=NAME_LENGTH),
                    labelled_field(_PERSONS, "role", "choice", required=True, choices=PERSON_ROLES),
                    labelled_field(_PERSONS, "date_of_birth", "date"),
                    labelled_field(_PERSONS, "nationality", "country"),
                    labelled_field(_PERSONS, "address", "textarea"),
                ),
            ),
        ),
        # ETS 030 Art. 14(2), UNTOC Art. 18(15)(c): a summary of the relevant facts.
        _section(_M, "5", labelled_field(f"{_M}.5", "facts", "textarea", required=True)),
        _section(
            _M,
            "6",
            Group(
                name="offences",
                label=_OFFENCES,
                min_rows=1,
                fields=(
                    labelled_field(_OFFENCES, "offence", required=True),
                    labelled_field(_OFFENCES, "legal_provision", required=True),
                    labelled_field(_OFFENCES, "maximum_penalty", required=True),
                ),
            ),
        ),
        # UNTOC Art. 18(15)(d): a description of the assistance sought, itemised.
        _section(
            _M,
            "7",
            Group(
                name="assistance",
                label=_ASSISTANCE,
                min_rows=1,
                fields=(
                    labelled_field(
                        _ASSISTANCE, "type", "choice", required=True, choices=ASSISTANCE_TYPES
                    ),
                    labelled_field(_ASSISTANCE, "description", "textarea", required=True),
                ),
            ),
        ),
        # UNTOC Art. 18(15)(f): the purpose for which the evidence or action is sought.
        _section(_M, "8", labelled_field(f"{_M}.8", "purpose", "textarea", required=True)),
        # UNTOC Art. 18(15)(d), 18(17); Budapest Art. 27(3): procedures the requesting Party
        # asks for, followed unless incompatible with the requested Party's law.
        _section(_M, "9", labelled_field(f"{_M}.9", "procedures", "textarea", hint=True)),
        confidentiality_section(_M, "10"),
        urgency_section(_M, "11"),
        _section(_M, "12", labelled_field(f"{_M}.12", "linked_requests", "textarea", hint=True)),
        _section(
            _M,
            "13",
            labelled_field(_CONTACT, "name", required=True, max_length=NAME_LENGTH),
            labelled_field(_CONTACT, "function", max_length=NAME_LENGTH),
            # Not "phone"/"email": the engine would prefill those with the authority's.
            labelled_field(_CONTACT, "contact_phone", "phone"),
            labelled_field(_CONTACT, "contact_email", "email", required=True),
            labelled_field(_CONTACT, "languages"),
        ),
        signature_section(_M, "14"),
    ),
    # Central authority to central authority (ETS 030 Art. 15(1); UNTOC Art. 18(13); Budapest
    # Art. 27(2)); judicial authorities directly where the treaty allows or in urgency.
    channel="mla.channel",
    issuer_kinds=ISSUER_KINDS,
    deadlines=(requested_date_deadline(_M, "11"),),
)


_S = "mla_subscriber"
_S_STATUS = When("3.status", ("new",), negate=True)
_S_AFTER_MLA = When("3.status", ("follow_up_mla",))
_S_AFTER_PRESERVATION = When("3.status", ("follow_up_preservation",))

MLA_SUBSCRIBER = InstrumentDeclaration(
    code="mla_subscriber",
    directory_instrument="mla",
    title="mla_subscriber.title",
    legal_basis="Budapest Convention (ETS 185), Art. 31; T-CY(2018)10",
    sections=(
        _section(_S, "1", labelled_field(f"{_S}.1", "date", "date", required=True)),
        _section(
            _S,
            "2",
            labelled_field(f"{_S}.2", "reference", required=True, max_length=REFERENCE_LENGTH),
        ),
        _section(
            _S,
            "3",
            labelled_field(
                f"{_S}.3",
                "status",
                "choice",
                required=True,
                choices=("new", "follow_up_mla", "follow_up_preservation"),
            ),
            labelled_field(
                f"{_S}.3",
                "previous_reference",
                required_when=_S_STATUS,
                max_length=REFERENCE_LENGTH,
            ),
        ),
        requested_authority_section(_S, "4"),
        requesting_authority_section(_S, "5"),
        confirmation_contact_section(_S, "6"),
        investigating_authority_section(_S, "7"),
        _section(
            _S,
            "8",
            labelled_field(
                f"{_S}.8", "prosecution_authority", required=True, max_length=AUTHORITY_NAME_LENGTH
            ),
            labelled_field(f"{_S}.8", "case_numbers"),
            labelled_field(f"{_S}.8", "related_decisions", "textarea", hint=True),
        ),
        _section(
            _S,
            "9",
            labelled_field(f"{_S}.9", "mla_date", "date", required_when=_S_AFTER_MLA),
            labelled_field(
                f"{_S}.9", "mla_ticket", required_when=_S_AFTER_MLA, max_length=REFERENCE_LENGTH
            ),
            labelled_field(f"{_S}.9", "mla_contacts"),
            labelled_field(f"{_S}.9", "mla_channel"),
        ),
        # Art. 31(1) covers data preserved under Art. 29: the preservation it follows.
        _section(
            _S,
            "10",
            labelled_field(
                f"{_S}.10", "preservation_date", "date", required_when=_S_AFTER_PRESERVATION
            ),
            labelled_field(
                f"{_S}.10", "preservation_reference", required_when=_S_AFTER_PRESERVATION
            ),
            labelled_field(f"{_S}.10", "preservation_contacts"),
            labelled_field(f"{_S}.10", "preservation_channel"),
        ),
        _section(
            _S,
            "11",
            labelled_field(f"{_S}.11", "domestic_legal_basis", "textarea", required=True),
        ),
        _section(
            _S,
            "12",
            labelled_field(f"{_S}.12", "offence", "textarea", required=True),
            labelled_field(f"{_S}.12", "facts", "textarea", required=True),
        ),
        _section(
            _S,
            "13",
            identifiers_group(f"{_S}.13"),
            # Art. 18(3)(a)-(c): what "subscriber information" covers.
            labelled_field(
                f"{_S}.13",
                "information_sought",
                "multichoice",
                required=True,
                choices=("service", "identity_address", "billing", "installation_site"),
            ),
        ),
        # Art. 31(3)(a): expedited where the data is particularly vulnerable to loss.
        urgency_section(_S, "14"),
        confidentiality_section(_S, "15"),
        signature_section(_S, "16"),
    ),
    channel="mla_subscriber.channel",
    issuer_kinds=ISSUER_KINDS,
    deadlines=(requested_date_deadline(_S, "14"),),
    variant_of="mla",
)
