"""The shape of an instrument declaration.

Each request type is declared once, as data: its sections, fields, which are required and
when, its repeatable groups, the channel it travels by, who may issue it and whether it
needs validation. Forms, the completeness check, the HTML and PDF rendering and the
structured export are all driven from the declaration, so adding an instrument means
adding a declaration (and its labels), never editing views.

Labels are keys into the label catalogues (``mla/requests/labels/<language>.json``), so
that a document can show the issuing and the executing side's language side by side and
the catalogue can grow to more languages without code.

Request data is a JSON object: one object per section code, holding field values, and
for each repeatable group a list of row objects::

    {"A": {"issuing_state": "FR", "executing_state": "DE"},
     "E": {"persons": [{"kind": "natural", "surname": "…"}]}}
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FieldType = Literal[
    "text",  # one line
    "textarea",  # free text, several lines
    "integer",
    "boolean",  # a tick box
    "date",  # YYYY-MM-DD
    "datetime",  # date, time and IANA time zone
    "datetime_range",  # start and end, each a date-time, and one IANA time zone
    "choice",  # one code among ``choices``
    "multichoice",  # several codes among ``choices`` (a tick-box list)
    "email",
    "phone",  # E.164, e.g. +40211234567
    "url",
    "ip",  # IPv4 or IPv6 address
    "country",  # ISO 3166-1 alpha-2 code, from the directory
    "language",  # ISO 639-1 code
    "identifier",  # a typed identifier: see IDENTIFIER_TYPES; value checked by its type
]


# Limits for one-line texts whose meaning is shorter than the "text" type's: a person's
# name, a post held; an authority's name (as long as the directory's, from which it is
# prefilled); a file number, a reference, an identity number.
NAME_LENGTH = 200
AUTHORITY_NAME_LENGTH = 255
REFERENCE_LENGTH = 100


@dataclass(frozen=True)
class When:
    """A condition on another field of the same request.

    ``field`` is "SECTION.name" (e.g. "K.issuer_type"), or just "name" for a field of the
    same group row. The condition holds when the field's value is one of ``values`` (for a
    multichoice: when one of the ticked codes is), or, with ``values`` empty, when the
    field has any value (a ticked box, a non-empty text).
    """

    field: str
    values: tuple[Any, ...] = ()
    negate: bool = False


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # label key
    type: FieldType = "text"
    required: bool = False
    required_when: When | None = None
    # Codes for choice and multichoice; each code's label key is f"{label}.{code}".
    choices: tuple[str, ...] = ()
    # The most characters a value may have; None: its type's limit (fieldtypes.max_length).
    max_length: int | None = None
    help: str | None = None  # label key of a hint shown under the field
    # Printed only when this holds (in a group, evaluated on the row): a legal person's
    # row in EIO section E prints the legal person's fields only.
    shown_when: When | None = None


@dataclass(frozen=True)
class Group:
    """A repeatable group of fields: persons, identifiers, measures' extra data…"""

    name: str
    label: str  # label key of the group; each row is titled f"{label}.row" + number
    fields: tuple[Field, ...]
    min_rows: int = 0
    max_rows: int = 50
    required_when: When | None = None  # at least one row is needed when this holds


@dataclass(frozen=True)
class Block:
    """A numbered part of a section in the official form, e.g. EIO section H's H1 to H7.

    Presentation only: the fields stay in their section's data under their own names, so
    a stored request reads the same whether or not its section has blocks. A block is
    printed only when ``applies_when`` holds; a field named by several blocks is printed
    in the first that applies.
    """

    code: str  # "H1"
    title: str  # label key
    fields: tuple[str, ...]  # names of the section's fields and groups
    applies_when: When | None = None


@dataclass(frozen=True)
class Section:
    code: str  # "A" … "L" for the EIO; "1" … for the others
    title: str  # label key
    items: tuple[Field | Group, ...]
    # A section shown and checked only when this holds (e.g. EIO section L).
    applies_when: When | None = None
    help: str | None = None
    # The official form's numbered parts of this section, if it has any.
    blocks: tuple[Block, ...] = ()
    # Label key prefix of a signature and certification block printed at the section's
    # end (name, post held, date, official stamp), as EIO sections K and L have.
    signature: str | None = None
    # Information for another authority only, never for the addressee: Annex I section M
    # (for the enforcing authority) is left out of the service provider's copy, its PDF and
    # every message to it (see mla.instruments.eevidence.data_for_addressee).
    withheld_from_addressee: bool = False


@dataclass(frozen=True)
class DeadlineRule:
    """A legal deadline the lifecycle computes from events (used by the lifecycle issue)."""

    code: str
    label: str  # label key
    source: str  # the article, e.g. "Directive 2014/41/EU, Art. 12(3)"
    starts_at: str  # the event it counts from: "received", "recognised", "preserved"…
    days: int | None = None
    hours: int | None = None
    # The deadline exists only when this holds for the request's data (e.g. the EIO's
    # provisional measures, only when section C asks for them).
    applies_when: When | None = None
    # Or when a rule that reads the data says so (e-Evidence: mla.instruments.eevidence's
    # is_emergency, notification_required), so that the rule is decided in one place.
    applies_if: Callable[[Mapping[str, Any]], bool] | None = None


@dataclass(frozen=True)
class InstrumentDeclaration:
    code: str  # "eio", "preservation", "preservation_disclosure", "mla", "mla_subscriber"
    # The directory's instrument it travels as (eio, mla or preservation): it decides which
    # authorities receive it and whether it applies between two countries.
    directory_instrument: str
    title: str  # label key
    legal_basis: str  # e.g. "Directive 2014/41/EU, Annex A"
    sections: tuple[Section, ...]
    channel: str  # label key describing who sends it to whom
    # Authority kinds (contact_points.models.AuthorityKind values) that may issue it.
    issuer_kinds: tuple[str, ...]
    # When the request needs a validating authority before it may be sent.
    needs_validation: When | None = None
    # The same, when it depends on who issues it as well as on the data: a function of
    # (request data, the issuing authority's kind) (e-Evidence, Art. 4: by data category).
    # Used instead of ``needs_validation`` when given.
    validation_rule: Callable[[Mapping[str, Any], str], bool] | None = field(
        default=None, compare=False
    )
    # Checks across fields that required_when cannot say: a function of the request data
    # returning (section code, field name, message) for each problem found.
    rules: Callable[[Mapping[str, Any]], list[tuple[str, str, str]]] | None = field(
        default=None, compare=False
    )
    # Whether a user drafts it on the new-request page. A copy made by the system (the
    # EPOC's copy for the enforcing authority) is not.
    drafted: bool = True
    deadlines: tuple[DeadlineRule, ...] = ()
    variant_of: str | None = None  # the declaration it is a variant of, if any
    # Label key of the form's opening paragraph, printed before the first section (the
    # EIO's certification by the issuing authority).
    preamble: str | None = None
    # Prefill from the drafting context: a function of (issuing authority, executing
    # country, executing authority) returning initial section data.
    prefill: Callable[..., dict[str, dict[str, Any]]] | None = field(default=None, compare=False)


def labelled_field(
    prefix: str,
    name: str,
    type_: FieldType = "text",
    *,
    required: bool = False,
    required_when: When | None = None,
    choices: tuple[str, ...] = (),
    hint: bool = False,
    shown_when: When | None = None,
    max_length: int | None = None,
) -> Field:
    """A field whose label key is ``prefix.name`` (and its hint's ``prefix.name.help``)."""
    label = f"{prefix}.{name}"
    return Field(
        name=name,
        label=label,
        type=type_,
        required=required,
        required_when=required_when,
        choices=choices,
        max_length=max_length,
        help=f"{label}.help" if hint else None,
        shown_when=shown_when,
    )


IDENTIFIER_TYPES = ("ip", "email", "phone", "account", "domain", "url", "imei", "other")
