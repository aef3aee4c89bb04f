"""Budapest Convention preservation requests, as the T-CY(2018)11 template lays them out.

Sections 1 to 7 are the template's header; sections 8 to 12 carry the elements Article 29(2)
requires, (b) to (f) — element (a), the requesting authority, is section 5. The variant
PRESERVATION_DISCLOSURE adds the Article 30 section on expedited disclosure of traffic data.

The header sections are built by functions so that the Article 31 subscriber-information
request (T-CY(2018)10, in ``mla.py``) can reuse them under its own label keys.
"""

from mla.instruments.declarations.schema import (
    AUTHORITY_NAME_LENGTH,
    IDENTIFIER_TYPES,
    NAME_LENGTH,
    REFERENCE_LENGTH,
    DeadlineRule,
    Group,
    InstrumentDeclaration,
    Section,
    When,
    labelled_field,
)

PREFERRED_CHANNELS = ("email", "phone", "network_24_7", "other")


def requested_authority_section(instrument: str, code: str) -> Section:
    prefix = f"{instrument}.{code}"
    return Section(
        code=code,
        title=f"{prefix}.title",
        items=(
            labelled_field(
                prefix, "requested_authority", required=True, max_length=AUTHORITY_NAME_LENGTH
            ),
        ),
    )


def requesting_authority_section(instrument: str, code: str) -> Section:
    prefix = f"{instrument}.{code}"
    return Section(
        code=code,
        title=f"{prefix}.title",
        items=(
            labelled_field(prefix, "organisation", required=True, max_length=AUTHORITY_NAME_LENGTH),
            labelled_field(prefix, "person_in_charge", required=True, max_length=NAME_LENGTH),
            # The Council of Europe template asks for the person's function and a fax line.
            labelled_field(prefix, "function", max_length=NAME_LENGTH),
            labelled_field(prefix, "address", "textarea", required=True),
            labelled_field(prefix, "phone", "phone", required=True),
            labelled_field(prefix, "mobile", "phone"),
            labelled_field(prefix, "fax", "phone"),
            labelled_field(prefix, "email", "email", required=True),
            # The template asks for both so that the requested side knows when to call.
            labelled_field(prefix, "office_hours", required=True),
            labelled_field(
                prefix, "time_zone", required=True, hint=True, max_length=REFERENCE_LENGTH
            ),
            labelled_field(prefix, "preferred_channel", "choice", choices=PREFERRED_CHANNELS),
            labelled_field(
                prefix,
                "preferred_channel_other",
                required_when=When(f"{code}.preferred_channel", ("other",)),
            ),
            # The template's tick: the answer may come by e-mail or other expedited means.
            labelled_field(prefix, "expedited_response", "boolean"),
        ),
    )


def confirmation_contact_section(instrument: str, code: str) -> Section:
    prefix = f"{instrument}.{code}"
    return Section(
        code=code,
        title=f"{prefix}.title",
        items=(
            # Not "phone"/"email": the engine would prefill those with the authority's.
            labelled_field(prefix, "name", required=True, max_length=NAME_LENGTH),
            labelled_field(prefix, "job_title", max_length=NAME_LENGTH),
            labelled_field(prefix, "contact_phone", "phone", required=True),
            labelled_field(prefix, "contact_mobile", "phone"),
            labelled_field(prefix, "contact_fax", "phone"),
            labelled_field(prefix, "contact_email", "email", required=True),
        ),
    )


def investigating_authority_section(instrument: str, code: str) -> Section:
    prefix = f"{instrument}.{code}"
    return Section(
        code=code,
        title=f"{prefix}.title",
        items=(
            labelled_field(
                prefix, "investigating_authority", required=True, max_length=AUTHORITY_NAME_LENGTH
            ),
            labelled_field(prefix, "investigating_contact", max_length=NAME_LENGTH),
        ),
    )


def identifiers_group(prefix: str) -> Group:
    """Identifiers with the period the data covers (date, time and time zone), min. one row."""
    label = f"{prefix}.identifiers"
    return Group(
        name="identifiers",
        label=label,
        min_rows=1,
        fields=(
            labelled_field(
                label, "identifier_type", "choice", required=True, choices=IDENTIFIER_TYPES
            ),
            labelled_field(label, "value", "identifier", required=True),
            # A dynamic IP address means nothing without the exact time and its time zone.
            labelled_field(label, "period", "datetime_range", required=True, hint=True),
            labelled_field(label, "relation", "textarea", required=True),
        ),
    )


_P = "preservation"

SECTION_1 = Section(
    code="1",
    title=f"{_P}.1.title",
    items=(labelled_field(f"{_P}.1", "date", "date", required=True),),
)
SECTION_2 = Section(
    code="2",
    title=f"{_P}.2.title",
    items=(labelled_field(f"{_P}.2", "reference", required=True, max_length=REFERENCE_LENGTH),),
)
SECTION_3 = Section(
    code="3",
    title=f"{_P}.3.title",
    items=(
        labelled_field(f"{_P}.3", "status", "choice", required=True, choices=("new", "extension")),
        labelled_field(
            f"{_P}.3", "previous_reference", required_when=When("3.status", ("extension",))
        ),
    ),
)
# Art. 29(2)(a): the authority seeking the preservation.
SECTION_5 = requesting_authority_section(_P, "5")

_8 = f"{_P}.8"
SECTION_8 = Section(
    code="8",
    title=f"{_8}.title",
    items=(
        # Art. 29(2)(b): the offence and a brief summary of the related facts.
        labelled_field(_8, "offence", "textarea", required=True),
        labelled_field(_8, "facts", "textarea", required=True),
    ),
)

_9 = f"{_P}.9"
SECTION_9 = Section(
    code="9",
    title=f"{_9}.title",
    items=(
        # Art. 29(2)(c): the stored computer data to be preserved and its relationship to
        # the offence.
        identifiers_group(_9),
        labelled_field(
            _9,
            "data_categories",
            "multichoice",
            required=True,
            choices=("subscriber", "traffic", "content"),
            hint=True,
        ),
        labelled_field(_9, "data_description", "textarea"),
    ),
)

_10 = f"{_P}.10"
SECTION_10 = Section(
    code="10",
    title=f"{_10}.title",
    # Art. 29(2)(d): any available information identifying the custodian of the data or
    # the location of the computer system.
    items=(labelled_field(_10, "custodian", "textarea", required=True),),
)

_11 = f"{_P}.11"
SECTION_11 = Section(
    code="11",
    title=f"{_11}.title",
    # Art. 29(2)(e): the necessity of the preservation.
    items=(labelled_field(_11, "necessity", "textarea", required=True),),
)

_12 = f"{_P}.12"
SECTION_12 = Section(
    code="12",
    title=f"{_12}.title",
    items=(
        # Art. 29(2)(f): the Party intends to submit a request for mutual assistance. The box
        # must be ticked: without that intention, Art. 29 does not apply.
        labelled_field(_12, "mla_intended", "boolean", required=True),
        labelled_field(
            _12,
            "mla_measures",
            "multichoice",
            choices=("search", "seizure", "disclosure"),
        ),
    ),
)

_13 = f"{_P}.13"
SECTION_13 = Section(
    code="13",
    title=f"{_13}.title",
    items=(
        # Art. 29(6): the requested Party warns if preservation would threaten confidentiality.
        labelled_field(_13, "confidential", "boolean", hint=True),
        labelled_field(_13, "other_information", "textarea"),
    ),
)

SECTIONS = (
    SECTION_1,
    SECTION_2,
    SECTION_3,
    requested_authority_section(_P, "4"),
    SECTION_5,
    confirmation_contact_section(_P, "6"),
    investigating_authority_section(_P, "7"),
    SECTION_8,
    SECTION_9,
    SECTION_10,
    SECTION_11,
    SECTION_12,
    SECTION_13,
)

# Sent by or to the 24/7 points of contact (Art. 35(1)(b)) or the competent authorities.
ISSUER_KINDS = ("point_24_7", "prosecutor", "investigating_judge", "court", "police")

# Art. 29(7): preservation lasts at least 60 days, then until the MLA request is decided.
PRESERVATION_PERIOD = DeadlineRule(
    code="preservation",
    label="preservation.deadline.preservation",
    source="Budapest Convention (ETS 185), Art. 29(7)",
    starts_at="preserved",
    days=60,
)

PRESERVATION = InstrumentDeclaration(
    code="preservation",
    directory_instrument="preservation",
    title="preservation.title",
    legal_basis="Budapest Convention (ETS 185), Art. 29; T-CY(2018)11",
    sections=SECTIONS,
    channel="preservation.channel",
    issuer_kinds=ISSUER_KINDS,
    deadlines=(PRESERVATION_PERIOD,),
)

_D = "preservation_disclosure.14"
SECTION_14_DISCLOSURE = Section(
    code="14",
    title=f"{_D}.title",
    help=f"{_D}.help",
    items=(
        # Art. 30(1): traffic data about a specific communication, enough to identify the
        # service providers in other States and the path the communication took.
        labelled_field(_D, "communication", "textarea", required=True),
        labelled_field(_D, "traffic_data_sought", "textarea", required=True),
        labelled_field(_D, "known_providers", "textarea"),
    ),
)

PRESERVATION_DISCLOSURE = InstrumentDeclaration(
    code="preservation_disclosure",
    directory_instrument="preservation",
    title="preservation_disclosure.title",
    legal_basis="Budapest Convention (ETS 185), Arts. 29 and 30; T-CY(2018)11",
    sections=(*SECTIONS, SECTION_14_DISCLOSURE),
    channel="preservation.channel",
    issuer_kinds=ISSUER_KINDS,
    deadlines=(PRESERVATION_PERIOD,),
    variant_of="preservation",
)
