"""The European Investigation Order: Directive 2014/41/EU, Annex A, sections A to L.

Field names follow the Annex; the engine prefills section A (``issuing_state``,
``executing_state``) and section K (``authority_name``, ``address``, ``phone``, ``email``)
by name.
"""

from mla.instruments.declarations.schema import (
    AUTHORITY_NAME_LENGTH,
    IDENTIFIER_TYPES,
    NAME_LENGTH,
    REFERENCE_LENGTH,
    Block,
    DeadlineRule,
    Group,
    InstrumentDeclaration,
    Section,
    When,
    labelled_field,
)
from mla.instruments.offence_categories import LISTED_OFFENCE_CATEGORIES

_field = labelled_field


def _measures(*codes: str) -> When:
    return When("C.measures", codes)


# Section C tick boxes, in the Annex's order.
HEARINGS = (
    "hearing_witness",
    "hearing_expert",
    "hearing_victim",
    "hearing_suspect",
    "hearing_third_party",
)
TRANSFERS = ("transfer_to_issuing", "transfer_to_executing")  # Arts. 22 and 23
REMOTE_HEARINGS = ("videoconference", "telephone_conference")  # Arts. 24 and 25
BANKING = ("bank_accounts", "bank_operations", "monitoring_banking")  # Arts. 26, 27, 28(1)(a)
REAL_TIME = ("monitoring_banking", "controlled_deliveries", "real_time_other")  # Art. 28
MEASURES = (
    "evidence_held",
    "databases",
    *HEARINGS,
    "subscriber_identification",  # Art. 10(2)(e): always available
    *TRANSFERS,
    *REMOTE_HEARINGS,
    "bank_accounts",
    "bank_operations",
    "monitoring_banking",
    "controlled_deliveries",
    "real_time_other",
    "covert_investigation",  # Art. 29
    "interception",  # Art. 30
    "provisional_measures",  # Art. 32
)
# The measures for which section H asks for more.
MEASURES_WITH_H = (
    *HEARINGS,
    *TRANSFERS,
    *REMOTE_HEARINGS,
    *BANKING,
    "controlled_deliveries",
    "real_time_other",
    "covert_investigation",
    "interception",
    "provisional_measures",
)

# Annex D: the 32 categories exempt from the dual-criminality check (Art. 11(1)(g)) when
# punishable in the issuing State by a maximum of at least three years.
OFFENCE_CATEGORIES = LISTED_OFFENCE_CATEGORIES

PERSON_STATUSES = ("suspect", "victim", "witness", "expert", "third_party", "other")

# Art. 2(c)(ii): an EIO issued by an authority other than a judge, court, investigating judge
# or public prosecutor must be validated by one of those before it is sent.
NEEDS_VALIDATION = When("K.issuer_type", ("other_authority",))

_A = "eio.A"
SECTION_A = Section(
    code="A",
    title=f"{_A}.title",
    items=(
        _field(_A, "issuing_state", "country", required=True),
        _field(_A, "executing_state", "country", required=True),
    ),
)

_B = "eio.B"
SECTION_B = Section(
    code="B",
    title=f"{_B}.title",
    items=(
        _field(_B, "urgent", "boolean"),
        _field(
            _B,
            "urgency_grounds",
            "multichoice",
            required_when=When("B.urgent"),
            choices=("evidence_at_risk", "imminent_trial", "other"),
        ),
        _field(_B, "urgency_reasons", "textarea", required_when=When("B.urgency_grounds")),
        # Art. 12(2): a shorter deadline or a specific date, honoured as far as possible.
        _field(_B, "requested_date", "date", hint=True),
        _field(_B, "requested_date_reasons", "textarea", required_when=When("B.requested_date")),
    ),
)

_C = "eio.C"
SECTION_C = Section(
    code="C",
    title=f"{_C}.title",
    items=(
        _field(_C, "description", "textarea", required=True, hint=True),
        _field(_C, "measures", "multichoice", required=True, choices=MEASURES),
    ),
)

_D = "eio.D"
_SUPPLEMENTS = When("D.supplements_earlier")
SECTION_D = Section(
    code="D",
    title=f"{_D}.title",
    items=(
        _field(_D, "supplements_earlier", "boolean"),
        # The Annex asks for the date of issue and the recipient; the rest "if available".
        _field(_D, "earlier_issue_date", "date", required_when=_SUPPLEMENTS),
        _field(
            _D, "earlier_recipient", required_when=_SUPPLEMENTS, max_length=AUTHORITY_NAME_LENGTH
        ),
        _field(_D, "earlier_transmission_date", "date"),
        _field(_D, "earlier_issuing_reference", max_length=REFERENCE_LENGTH),
        _field(_D, "earlier_executing_reference", max_length=REFERENCE_LENGTH),
        _field(_D, "other_member_states", "textarea"),
    ),
)

_E = "eio.E"
_P = f"{_E}.persons"
# A row prints only the fields of its kind of person (Annex A, section E (i) and (ii)).
_NATURAL = When("kind", ("legal",), negate=True)  # also when the kind is not yet chosen
_LEGAL = When("kind", ("legal",))
SECTION_E = Section(
    code="E",
    title=f"{_E}.title",
    items=(
        Group(
            name="persons",
            label=_P,
            fields=(
                _field(_P, "kind", "choice", required=True, choices=("natural", "legal")),
                _field(_P, "status", "choice", required=True, choices=PERSON_STATUSES),
                _field(_P, "status_other", required_when=When("status", ("other",))),
                # (i) natural persons
                _field(_P, "surname", max_length=NAME_LENGTH, shown_when=_NATURAL),
                _field(_P, "first_names", max_length=NAME_LENGTH, shown_when=_NATURAL),
                _field(_P, "other_names", max_length=NAME_LENGTH, shown_when=_NATURAL),
                _field(_P, "aliases", shown_when=_NATURAL),
                _field(
                    _P, "sex", "choice", choices=("female", "male", "other"), shown_when=_NATURAL
                ),
                _field(_P, "nationality", "country", shown_when=_NATURAL),
                _field(_P, "identity_number", max_length=REFERENCE_LENGTH, shown_when=_NATURAL),
                _field(_P, "identity_document", shown_when=_NATURAL),
                _field(_P, "date_of_birth", "date", shown_when=_NATURAL),
                _field(_P, "place_of_birth", max_length=NAME_LENGTH, shown_when=_NATURAL),
                _field(_P, "residence", "textarea", hint=True, shown_when=_NATURAL),
                _field(_P, "languages", shown_when=_NATURAL),
                # (ii) legal persons
                _field(_P, "legal_name", max_length=NAME_LENGTH, shown_when=_LEGAL),
                _field(_P, "legal_form", max_length=NAME_LENGTH, shown_when=_LEGAL),
                _field(_P, "short_name", max_length=NAME_LENGTH, shown_when=_LEGAL),
                _field(_P, "registered_seat", max_length=NAME_LENGTH, shown_when=_LEGAL),
                _field(_P, "registration_number", max_length=REFERENCE_LENGTH, shown_when=_LEGAL),
                _field(_P, "legal_address", "textarea", shown_when=_LEGAL),
                _field(_P, "representative", max_length=NAME_LENGTH, shown_when=_LEGAL),
            ),
        ),
        _field(_E, "place_of_execution", "textarea", hint=True),
        _field(_E, "other_information", "textarea"),
    ),
)

_F = "eio.F"
SECTION_F = Section(
    code="F",
    title=f"{_F}.title",
    items=(
        # Art. 4(a) to (c): exactly one kind of proceedings.
        _field(
            _F,
            "proceedings_type",
            "choice",
            required=True,
            choices=("criminal", "administrative", "judicial"),
        ),
        # Art. 4(d) adds to (a), (b) or (c): the offence may make a legal person liable.
        _field(_F, "legal_person_liability"),
    ),
)

_G = "eio.G"
SECTION_G = Section(
    code="G",
    title=f"{_G}.title",
    items=(
        _field(_G, "facts", "textarea", required=True, hint=True),
        _field(_G, "stage", "textarea"),
        _field(_G, "legal_classification", "textarea", required=True),
        _field(_G, "offence_categories", "multichoice", choices=OFFENCE_CATEGORIES),
        # Ticking a category asserts the three-year maximum (Art. 11(1)(g), Annex D).
        _field(
            _G,
            "max_penalty_at_least_3_years",
            "boolean",
            required_when=When("G.offence_categories"),
            hint=True,
        ),
    ),
)

_H = "eio.H"
_TARGETS = f"{_H}.interception_targets"
_HEARINGS = f"{_H}.hearings"
_PROVISIONAL = _measures("provisional_measures")
_INTERCEPTION = _measures("interception")
# Annex A numbers section H's parts H1 to H7, each filled in only for its measures. The
# field names are those drafts have always stored, so existing data needs no migration.
# Hearings are not one of the Annex's blocks: their details print first, unnumbered.
H_BLOCKS = (
    Block("", f"{_H}.hearings_block", ("hearings",), _measures(*HEARINGS)),
    Block(
        "H1",
        f"{_H}.H1",
        ("transfer_to_issuing_consent", "transfer_to_executing_consent"),
        _measures(*TRANSFERS),
    ),
    Block(
        "H2",
        f"{_H}.H2",
        (
            "remote_hearing_authority",
            "remote_hearing_contact",
            "remote_hearing_language",
            "remote_hearing_reasons",
            "suspect_consents",
        ),
        _measures(*REMOTE_HEARINGS),
    ),
    Block(
        "H3",
        f"{_H}.H3",
        (
            "provisional_item",
            "provisional_outcome",
            "provisional_lifting_date",
            "provisional_next_request_date",
        ),
        _PROVISIONAL,
    ),
    Block(
        "H4",
        f"{_H}.H4",
        (
            "bank_account_holder",
            "bank_powers_of_attorney",
            "bank_relevance",
            "bank_name",
            "bank_account_numbers",
        ),
        _measures("bank_accounts"),
    ),
    Block(
        "H5",
        f"{_H}.H5",
        (
            "bank_account_holder",
            "bank_relevance",
            "bank_operations_period",
            "bank_name",
            "bank_account_numbers",
        ),
        _measures("bank_operations"),
    ),
    # Covert investigations (Art. 29) gather evidence over a period of time too: the Annex
    # has no block of their own, their relevance is given here.
    Block(
        "H6",
        f"{_H}.H6",
        ("real_time_relevance", "covert_relevance"),
        _measures(*REAL_TIME, "covert_investigation"),
    ),
    Block(
        "H7",
        f"{_H}.H7",
        (
            "interception_technical_assistance",
            "interception_relevance",
            "interception_subject",
            "interception_duration",
            "interception_targets",
            "interception_method",
            "interception_transcription",
        ),
        _INTERCEPTION,
    ),
)
SECTION_H = Section(
    code="H",
    title=f"{_H}.title",
    applies_when=_measures(*MEASURES_WITH_H),
    blocks=H_BLOCKS,
    items=(
        # Hearings (Art. 24 for videoconference, otherwise the executing State's law, Art. 9).
        Group(
            name="hearings",
            label=_HEARINGS,
            required_when=_measures(*HEARINGS),
            fields=(
                _field(_HEARINGS, "person", required=True, hint=True),
                _field(
                    _HEARINGS,
                    "capacity",
                    "choice",
                    required=True,
                    choices=("witness", "expert", "victim", "suspect", "third_party"),
                ),
                _field(_HEARINGS, "subject", "textarea", required=True),
                _field(_HEARINGS, "formalities", "textarea"),
            ),
        ),
        # H1: temporary transfer of a person held in custody. The executing State may refuse
        # a transfer to the issuing State without the person's consent (Art. 22(2)(a)).
        _field(
            _H,
            "transfer_to_issuing_consent",
            "choice",
            required_when=_measures("transfer_to_issuing"),
            choices=("yes", "no", "seek_opinion"),
        ),
        _field(
            _H,
            "transfer_to_executing_consent",
            "choice",
            required_when=_measures("transfer_to_executing"),
            choices=("yes", "no"),
        ),
        # H2: hearing by videoconference (Art. 24) or telephone conference (Art. 25).
        _field(
            _H,
            "remote_hearing_authority",
            required_when=_measures(*REMOTE_HEARINGS),
            max_length=AUTHORITY_NAME_LENGTH,
        ),
        _field(_H, "remote_hearing_contact", required_when=_measures(*REMOTE_HEARINGS)),
        _field(_H, "remote_hearing_language", required_when=_measures(*REMOTE_HEARINGS)),
        _field(_H, "remote_hearing_reasons", "textarea", required_when=_measures(*REMOTE_HEARINGS)),
        # Art. 24(2)(a): a suspect's hearing by videoconference may be refused without consent.
        _field(_H, "suspect_consents", "boolean"),
        # H3: provisional measures. Art. 32(3): transfer the evidence, or keep it there.
        _field(_H, "provisional_item", "textarea", required_when=_PROVISIONAL),
        _field(
            _H,
            "provisional_outcome",
            "choice",
            required_when=_PROVISIONAL,
            choices=("transfer", "remain"),
        ),
        # Art. 32(4): evidence kept there needs the date of lifting the measure or the
        # estimated date of the request for its transfer (one or the other, so neither is
        # required on its own).
        _field(_H, "provisional_lifting_date", "date", hint=True),
        _field(_H, "provisional_next_request_date", "date"),
        # H4, H5: bank and financial accounts and operations (Arts. 26 and 27): the EIO says
        # why the information is of substantial value and why banks there hold the accounts.
        _field(
            _H, "bank_account_holder", required_when=_measures(*BANKING), max_length=NAME_LENGTH
        ),
        _field(_H, "bank_name", max_length=AUTHORITY_NAME_LENGTH),
        _field(_H, "bank_account_numbers"),
        _field(_H, "bank_powers_of_attorney", "boolean"),
        _field(_H, "bank_relevance", "textarea", required_when=_measures(*BANKING)),
        _field(_H, "bank_operations_period", required_when=_measures("bank_operations")),
        # H6: gathering evidence in real time (Art. 28: why the information is relevant).
        _field(_H, "real_time_relevance", "textarea", required_when=_measures(*REAL_TIME)),
        # H6: covert investigations (Art. 29: why the measure is likely to be relevant).
        _field(
            _H,
            "covert_relevance",
            "textarea",
            required_when=_measures("covert_investigation"),
        ),
        # H7: interception of telecommunications (Art. 30(3) and (4)).
        _field(_H, "interception_subject", "textarea", required_when=_INTERCEPTION),
        Group(
            name="interception_targets",
            label=_TARGETS,
            required_when=_INTERCEPTION,
            fields=(
                _field(
                    _TARGETS, "identifier_type", "choice", required=True, choices=IDENTIFIER_TYPES
                ),
                _field(_TARGETS, "value", "identifier", required=True),
            ),
        ),
        _field(_H, "interception_duration", required_when=_INTERCEPTION),
        _field(_H, "interception_relevance", "textarea", required_when=_INTERCEPTION),
        # Art. 30(1): addressed to the Member State whose technical assistance is needed.
        _field(_H, "interception_technical_assistance", "boolean"),
        # Art. 30(6): immediate transmission, or recording and subsequent transmission.
        _field(
            _H,
            "interception_method",
            "choice",
            required_when=_INTERCEPTION,
            choices=("immediate", "recording"),
        ),
        # Art. 30(7): transcription, decoding or decrypting, for a particular reason.
        _field(_H, "interception_transcription", "boolean"),
    ),
)

_I = "eio.I"
SECTION_I = Section(
    code="I",
    title=f"{_I}.title",
    items=(
        # Art. 9(2): the executing authority complies with the formalities indicated.
        _field(_I, "formalities", "textarea"),
        # Art. 9(4): officials of the issuing State may assist in the execution.
        _field(_I, "officials_participate", "boolean"),
        _field(_I, "officials_details", "textarea", required_when=When("I.officials_participate")),
        _field(_I, "officials_languages"),
    ),
)

_J = "eio.J"
SECTION_J = Section(
    code="J",
    title=f"{_J}.title",
    items=(
        _field(_J, "remedies_sought", "textarea", hint=True),
        # Art. 14: information on remedies, legal aid and interpretation in the issuing State.
        _field(_J, "remedies_authority", required=True, max_length=AUTHORITY_NAME_LENGTH),
        _field(_J, "remedies_contact_person", max_length=NAME_LENGTH),
        _field(_J, "remedies_address", "textarea"),
        _field(_J, "remedies_phone", "phone"),
        _field(_J, "remedies_fax", "phone"),
        _field(_J, "remedies_email", "email"),
    ),
)

_K = "eio.K"
SECTION_K = Section(
    code="K",
    title=f"{_K}.title",
    items=(
        _field(
            _K,
            "issuer_type",
            "choice",
            required=True,
            choices=("judge", "court", "investigating_judge", "prosecutor", "other_authority"),
            hint=True,
        ),
        _field(_K, "authority_name", required=True, max_length=AUTHORITY_NAME_LENGTH),
        _field(_K, "representative_name", required=True, max_length=NAME_LENGTH),
        _field(_K, "post_held", required=True, max_length=NAME_LENGTH),
        _field(_K, "file_number", required=True, max_length=REFERENCE_LENGTH),
        _field(_K, "address", "textarea", required=True),
        _field(_K, "phone", "phone", required=True),
        _field(_K, "fax", "phone"),
        _field(_K, "email", "email", required=True),
        _field(_K, "languages", required=True),
        # The Annex asks for a contact person only "if different from above".
        _field(_K, "contact_name", max_length=NAME_LENGTH),
        _field(_K, "contact_address", "textarea"),
        _field(_K, "contact_phone", "phone"),
        _field(_K, "contact_email", "email"),
    ),
    # Annex A: "Signature of the issuing authority and/or its representative certifying the
    # content of the EIO as accurate and correct".
    signature=f"{_K}.signature",
)

_L = "eio.L"
SECTION_L = Section(
    code="L",
    title=f"{_L}.title",
    applies_when=NEEDS_VALIDATION,
    items=(
        _field(
            _L,
            "validator_type",
            "choice",
            required=True,
            choices=("judge", "court", "investigating_judge", "prosecutor"),
        ),
        _field(_L, "validator_name", required=True, max_length=AUTHORITY_NAME_LENGTH),
        _field(_L, "representative_name", required=True, max_length=NAME_LENGTH),
        _field(_L, "post_held", required=True, max_length=NAME_LENGTH),
        _field(_L, "file_number", required=True, max_length=REFERENCE_LENGTH),
        _field(_L, "validator_address", "textarea", required=True),
        _field(_L, "validator_phone", "phone", required=True),
        _field(_L, "validator_fax", "phone"),
        _field(_L, "validator_email", "email", required=True),
        _field(_L, "languages", required=True),
        _field(_L, "main_contact", "choice", required=True, choices=("issuing", "validating")),
    ),
    signature=f"{_L}.signature",
)

_DIRECTIVE = "Directive 2014/41/EU"

EIO = InstrumentDeclaration(
    code="eio",
    directory_instrument="eio",
    title="eio.title",
    legal_basis=f"{_DIRECTIVE}, Annex A",
    preamble="eio.certification",
    sections=(
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
    ),
    # Art. 7(1): the issuing authority sends the EIO directly to the executing authority.
    channel="eio.channel",
    # Police issue only through validation (Art. 2(c)(ii)).
    issuer_kinds=("prosecutor", "court", "investigating_judge", "police"),
    needs_validation=NEEDS_VALIDATION,
    deadlines=(
        DeadlineRule(
            code="acknowledgement",
            label="eio.deadline.acknowledgement",
            source=f"{_DIRECTIVE}, Art. 16(1), Annex B",
            starts_at="received",
            days=7,
        ),
        DeadlineRule(
            code="recognition",
            label="eio.deadline.recognition",
            source=f"{_DIRECTIVE}, Art. 12(3)",
            starts_at="received",
            days=30,
        ),
        DeadlineRule(
            code="execution",
            label="eio.deadline.execution",
            source=f"{_DIRECTIVE}, Art. 12(4)",
            starts_at="recognised",
            days=90,
        ),
        DeadlineRule(
            code="provisional_measures",
            label="eio.deadline.provisional_measures",
            source=f"{_DIRECTIVE}, Art. 32(2)",
            starts_at="received",
            hours=24,
            applies_when=_PROVISIONAL,
        ),
        # Art. 12(2): the date asked for in section B, met "as far as possible". No count:
        # the date itself is read from the field named by starts_at.
        DeadlineRule(
            code="requested_date",
            label="eio.deadline.requested_date",
            source=f"{_DIRECTIVE}, Art. 12(2); the EIO, section B",
            starts_at="B.requested_date",
        ),
    ),
)
