"""European Production and Preservation Order Certificates: Regulation (EU) 2023/1543,
Annex I (EPOC) and Annex II (EPOC-PR).

The official form text could not be read from this machine: the sections follow what is
known of the annexes (see /work/shared/reference/E-EVIDENCE.md), and every label is listed
as unverified in labels/provenance.json. The field names the rules read are fixed in
mla.instruments.eevidence (section C ``deadline`` and ``emergency_grounds``, F
``data_categories``, G ``offence_in_issuing_state`` and ``person_resides_in_issuing_state``).

Names the engine prefills: A ``issuing_state``; B ``addressee`` (the executing authority,
i.e. the designated establishment or legal representative) and ``executing_state`` (its
Member State); I ``authority_name``, ``address``, ``phone``, ``email``.

The EPOC-PR keeps the EPOC's section letters for the parts it shares (so that F is the data
categories of both, as the rules read them) and has no deadline (C), notification (H) or
enforcing-authority part (M): a preservation order is executed without undue delay and is
not notified (Art. 11).
"""

from dataclasses import replace

from mla.instruments import eevidence as rules
from mla.instruments.annex_iv import ANNEX_IV_CATEGORIES, ANNEX_IV_FIELD
from mla.instruments.declarations.eevidence_deadlines import EPOC_DEADLINES, EPOC_PR_DEADLINES
from mla.instruments.declarations.preservation import identifiers_group
from mla.instruments.declarations.schema import (
    AUTHORITY_NAME_LENGTH,
    NAME_LENGTH,
    REFERENCE_LENGTH,
    DeadlineRule,
    Field,
    InstrumentDeclaration,
    Section,
    When,
    labelled_field,
)

_field = labelled_field
_REGULATION = "Regulation (EU) 2023/1543"

# Conditions on the data categories asked for (section F) and the deadline (section C).
_SENSITIVE = When(
    f"{rules.DATA_SECTION}.{rules.DATA_CATEGORIES_FIELD}", tuple(sorted(rules.SENSITIVE_CATEGORIES))
)
_EMERGENCY = When(f"{rules.DEADLINE_SECTION}.{rules.DEADLINE_FIELD}", (rules.EIGHT_HOURS,))


def _category(code: str) -> When:
    return When(f"{rules.DATA_SECTION}.{rules.DATA_CATEGORIES_FIELD}", (code,))


# Section B: who the order is addressed to (Directive (EU) 2023/1544).
ADDRESSEE_KINDS = ("designated_establishment", "legal_representative")
# Section D: the earlier request the order relates to.
PREVIOUS_REQUEST_KINDS = ("epoc_pr", "eio", "mla")
# Section D of the EPOC-PR: the request for production that is to follow (Art. 6(1)).
SUBSEQUENT_REQUEST_KINDS = ("epoc", "eio", "mla")
# Section G: why an order for traffic or content data may be issued (Art. 5(4)): (a) an
# offence punishable by a maximum of at least 3 years, or (b)-(d) the listed offences.
ART_5_4_BASES = ("three_year_maximum", "listed_offence")
# Section H: whether the enforcing authority is notified (Art. 8), as stated on the form.
NOTIFIED_ANSWERS = (rules.YES, rules.NO)

_A = "epoc.A"
SECTION_A = Section(
    code="A",
    title=f"{_A}.title",
    items=(
        _field(_A, "issuing_state", "country", required=True),
        _field(_A, "issuing_file_number", required=True, max_length=REFERENCE_LENGTH),
        # Filled in when the order is validated (section J).
        _field(_A, "validating_file_number", max_length=REFERENCE_LENGTH),
    ),
)

_B = "epoc.B"


def _addressee_section(*, emergency: bool) -> Section:
    """Section B; the EPOC's has the emergency tick box: sent to another establishment of
    the provider because the designated one did not react in time (only with the 8-hour
    deadline, see rules.certificate_problems)."""
    items: tuple[Field, ...] = (
        _field(_B, "service_provider", required=True, max_length=AUTHORITY_NAME_LENGTH),
        _field(_B, "addressee", required=True, max_length=AUTHORITY_NAME_LENGTH),
        _field(_B, "addressee_kind", "choice", required=True, choices=ADDRESSEE_KINDS),
        _field(_B, "executing_state", "country", required=True),
        _field(_B, "addressee_address", "textarea"),
    )
    if emergency:
        items = (
            *items,
            _field(_B, rules.OTHER_ESTABLISHMENT_FIELD, "boolean", hint=True),
            _field(
                _B,
                "other_establishment_justification",
                "textarea",
                required_when=When(f"B.{rules.OTHER_ESTABLISHMENT_FIELD}"),
            ),
        )
    return Section(code=rules.ADDRESSEE_SECTION, title=f"{_B}.title", items=items)


SECTION_B = _addressee_section(emergency=True)

_C = "epoc.C"
SECTION_C = Section(
    code="C",
    title=f"{_C}.title",
    items=(
        _field(_C, rules.DEADLINE_FIELD, "choice", required=True, choices=rules.DEADLINE_CHOICES),
        _field(
            _C,
            "emergency_grounds",
            "multichoice",
            required_when=_EMERGENCY,
            choices=rules.EMERGENCY_GROUNDS,
        ),
        _field(_C, "emergency_justification", "textarea", required_when=_EMERGENCY),
    ),
)


def _relation_section(prefix: str, *, subsequent: bool) -> Section:
    """Section D: the earlier request (EPOC-PR, EIO, MLA) the order relates to and, for the
    EPOC-PR, the request for production intended."""
    previous = When("D.previous_kind")
    items: tuple[Field, ...] = (
        _field(prefix, "previous_kind", "choice", choices=PREVIOUS_REQUEST_KINDS),
        _field(prefix, "previous_reference", required_when=previous, max_length=REFERENCE_LENGTH),
        _field(prefix, "previous_date", "date", required_when=previous),
        _field(prefix, "previous_authority", max_length=AUTHORITY_NAME_LENGTH),
    )
    if subsequent:
        items = (
            _field(
                prefix,
                "subsequent_request",
                "choice",
                required=True,
                choices=SUBSEQUENT_REQUEST_KINDS,
                hint=True,
            ),
            *items,
        )
    return Section(code="D", title=f"{prefix}.title", items=items)


SECTION_D = _relation_section("epoc.D", subsequent=False)

_E = "epoc.E"
SECTION_E = Section(
    code="E",
    title=f"{_E}.title",
    items=(
        # Account, IP address (with its port and time), telephone number…, each with the
        # period its data cover and the time zone.
        identifiers_group(_E),
        _field(_E, "service", "textarea"),
        _field(_E, "additional_information", "textarea"),
    ),
)

_F = "epoc.F"
SECTION_F = Section(
    code=rules.DATA_SECTION,
    title=f"{_F}.title",
    items=(
        _field(
            _F,
            rules.DATA_CATEGORIES_FIELD,
            "multichoice",
            required=True,
            choices=rules.DATA_CATEGORIES,
            hint=True,
        ),
        _field(
            _F,
            "subscriber_details",
            "textarea",
            required_when=_category(rules.SUBSCRIBER),
        ),
        _field(
            _F,
            "identification_details",
            "textarea",
            required_when=_category(rules.IDENTIFICATION),
        ),
        _field(_F, "traffic_details", "textarea", required_when=_category(rules.TRAFFIC)),
        _field(_F, "content_details", "textarea", required_when=_category(rules.CONTENT)),
        _field(_F, "time_range", "datetime_range", hint=True),
    ),
)

_G = "epoc.G"
SECTION_G = Section(
    code=rules.NOTIFICATION_SECTION,
    title=f"{_G}.title",
    items=(
        _field(_G, "offence_nature", "textarea", required=True),
        _field(_G, ANNEX_IV_FIELD, "choice", choices=ANNEX_IV_CATEGORIES, hint=True),
        # Art. 5(4): traffic data (not solely to identify the user) and content data only
        # for these offences.
        _field(_G, "art_5_4_basis", "choice", required_when=_SENSITIVE, choices=ART_5_4_BASES),
        _field(_G, "facts", "textarea", required=True),
        _field(_G, "legal_provisions", "textarea", required=True),
        # Art. 8(2): no notification when there are reasonable grounds to believe both.
        _field(
            _G,
            rules.OFFENCE_IN_ISSUING_STATE_FIELD,
            "choice",
            required_when=_SENSITIVE,
            choices=rules.ANSWERS,
        ),
        _field(
            _G,
            rules.PERSON_RESIDES_IN_ISSUING_STATE_FIELD,
            "choice",
            required_when=_SENSITIVE,
            choices=rules.ANSWERS,
        ),
        # Art. 13(2)-(3): informing the person is delayed, restricted or omitted, with a
        # short justification on the certificate.
        _field(_G, "information_delayed", "boolean"),
        _field(
            _G,
            "information_delay_justification",
            "textarea",
            required_when=When("G.information_delayed"),
        ),
    ),
)

_H = "epoc.H"
SECTION_H = Section(
    code=rules.ENFORCING_SECTION,
    title=f"{_H}.title",
    items=(
        # Stated by the issuing authority; the completeness check reconciles it with the
        # rule of Art. 8 (rules.notification_required).
        _field(
            _H,
            rules.ENFORCING_NOTIFIED_FIELD,
            "choice",
            required=True,
            choices=NOTIFIED_ANSWERS,
            hint=True,
        ),
        _field(_H, "enforcing_authority", max_length=AUTHORITY_NAME_LENGTH),
    ),
)

_I = "epoc.I"
SECTION_I = Section(
    code="I",
    title=f"{_I}.title",
    items=(
        _field(_I, "authority_name", required=True, max_length=AUTHORITY_NAME_LENGTH),
        _field(_I, "representative_name", required=True, max_length=NAME_LENGTH),
        _field(_I, "post_held", required=True, max_length=NAME_LENGTH),
        _field(_I, "address", "textarea", required=True),
        _field(_I, "phone", "phone", required=True),
        _field(_I, "email", "email", required=True),
        _field(_I, "languages", required=True),
    ),
    signature=f"{_I}.signature",
)

_J = "epoc.J"
SECTION_J = Section(
    code="J",
    title=f"{_J}.title",
    # Filled in when the order is validated (Art. 4(1)(b), 4(2)(b)): whether it must be
    # depends on the issuing authority's kind, which the data do not hold, so the
    # lifecycle (a validating authority chosen on submission) enforces it, not this form.
    help=f"{_J}.help",
    items=(
        _field(_J, "validator_name", max_length=AUTHORITY_NAME_LENGTH),
        _field(_J, "representative_name", max_length=NAME_LENGTH),
        _field(_J, "post_held", max_length=NAME_LENGTH),
        _field(_J, "validator_address", "textarea"),
        _field(_J, "validator_phone", "phone"),
        _field(_J, "validator_email", "email"),
        _field(_J, "languages"),
    ),
    signature=f"{_J}.signature",
)

_K = "epoc.K"
SECTION_K = Section(
    code="K",
    title=f"{_K}.title",
    items=(_field(_K, "other_information", "textarea"),),
)

_L = "epoc.L"
SECTION_L = Section(
    code="L",
    title=f"{_L}.title",
    items=(
        # The authority the data are to be transferred to, when not the issuing authority.
        _field(_L, "recipient_authority", max_length=AUTHORITY_NAME_LENGTH, hint=True),
        _field(_L, "recipient_address", "textarea"),
        # The authority to contact for questions on the execution.
        _field(_L, "contact_authority", max_length=AUTHORITY_NAME_LENGTH),
        _field(_L, "contact_name", max_length=NAME_LENGTH),
        _field(_L, "contact_phone", "phone"),
        _field(_L, "contact_email", "email"),
    ),
)

_M = "epoc.M"
SECTION_M = Section(
    code="M",
    title=f"{_M}.title",
    help=f"{_M}.help",
    items=(_field(_M, "enforcing_information", "textarea"),),
    withheld_from_addressee=True,
)

# Art. 4: judges, courts, investigating judges and prosecutors issue; another competent
# authority (here the police) only with validation (validation_rule decides by data).
ISSUER_KINDS = ("court", "investigating_judge", "prosecutor", "police")

EPOC_SECTIONS = (
    SECTION_A,
    SECTION_B,
    SECTION_C,
    SECTION_D,
    SECTION_E,
    SECTION_F,
    SECTION_G,
    SECTION_H,
    SECTION_I,
    SECTION_J,
    SECTION_K,
    SECTION_L,
    SECTION_M,
)


# The enforcing authority's clock (Art. 12(1); Art. 10(4) in an emergency), counted from the
# receipt of the notification and met by its decision.
_EMERGENCY = When(
    field=f"{rules.DEADLINE_SECTION}.{rules.DEADLINE_FIELD}", values=(rules.EIGHT_HOURS,)
)
ENFORCING_DEADLINES = (
    DeadlineRule(
        code=rules.ENFORCING_ASSESSMENT,
        label=f"{rules.EPOC_NOTIFICATION}.deadline.{rules.ENFORCING_ASSESSMENT}",
        source="Regulation (EU) 2023/1543, Art. 12(1)",
        starts_at="received",
        days=10,
        applies_when=When(field=_EMERGENCY.field, values=_EMERGENCY.values, negate=True),
    ),
    DeadlineRule(
        code=rules.ENFORCING_ASSESSMENT_EMERGENCY,
        label=f"{rules.EPOC_NOTIFICATION}.deadline.{rules.ENFORCING_ASSESSMENT_EMERGENCY}",
        source="Regulation (EU) 2023/1543, Art. 10(4), 12(1)",
        starts_at="received",
        hours=96,
        applies_when=_EMERGENCY,
    ),
)

EPOC = InstrumentDeclaration(
    code=rules.EPOC,
    directory_instrument=rules.EPOC,
    title="epoc.title",
    legal_basis=f"{_REGULATION}, Annex I",
    sections=EPOC_SECTIONS,
    # Art. 7: addressed directly to the designated establishment or legal representative.
    channel="epoc.channel",
    issuer_kinds=ISSUER_KINDS,
    validation_rule=rules.validation_needed,
    rules=rules.certificate_problems,
    deadlines=EPOC_DEADLINES,
)

# The copy of an EPOC for the enforcing authority (Art. 8(1)), section M included: made by
# the system when the EPOC is sent, never drafted.
EPOC_NOTIFICATION = InstrumentDeclaration(
    code=rules.EPOC_NOTIFICATION,
    directory_instrument=rules.EPOC_NOTIFICATION,
    title="epoc_notification.title",
    legal_basis=f"{_REGULATION}, Annex I; Art. 8",
    # The same sections, section M included: the enforcing authority is who it is for.
    sections=tuple(
        replace(section, withheld_from_addressee=False)
        if section.withheld_from_addressee
        else section
        for section in EPOC_SECTIONS
    ),
    channel="epoc_notification.channel",
    issuer_kinds=ISSUER_KINDS,
    validation_rule=rules.validation_needed,
    rules=rules.certificate_problems,
    variant_of=rules.EPOC,
    drafted=False,
    deadlines=ENFORCING_DEADLINES,
)

_PR_G = "epoc_pr.G"
SECTION_G_PR = Section(
    code=rules.NOTIFICATION_SECTION,
    title=f"{_PR_G}.title",
    items=(
        _field(_PR_G, "offence_nature", "textarea", required=True),
        _field(_PR_G, "facts", "textarea", required=True),
        _field(_PR_G, "legal_provisions", "textarea", required=True),
    ),
)

EPOC_PR = InstrumentDeclaration(
    code=rules.EPOC_PR,
    directory_instrument=rules.EPOC_PR,
    title="epoc_pr.title",
    legal_basis=f"{_REGULATION}, Annex II",
    sections=(
        SECTION_A,
        _addressee_section(emergency=False),
        _relation_section("epoc_pr.D", subsequent=True),
        SECTION_E,
        SECTION_F,
        SECTION_G_PR,
        SECTION_I,
        SECTION_J,
        SECTION_K,
        SECTION_L,
    ),
    channel="epoc_pr.channel",
    issuer_kinds=ISSUER_KINDS,
    validation_rule=rules.preservation_validation_needed,
    deadlines=EPOC_PR_DEADLINES,
)
