"""Complete, valid request data for any declaration, built from the declaration itself."""

from typing import Any

from mla.instruments import eevidence
from mla.instruments.completeness import TRANSLATIONS_KEY, is_translated
from mla.instruments.declarations.schema import Field, Group, InstrumentDeclaration
from mla.instruments.labels import LABELS_DIR

LONG_FACTS = (
    "Between March and October 2026 the suspects recruited victims through online job "
    "advertisements, arranged their travel and exploited them in several Member States. "
) * 40


def sample_value(field: Field, *, long_text: bool = False) -> Any:
    kind = field.type
    if kind in ("choice",):
        return field.choices[0]
    if kind == "multichoice":
        return list(field.choices[:4])
    values: dict[str, Any] = {
        "text": f"Sample {field.name}",
        "textarea": LONG_FACTS if long_text else f"Details for {field.name}.",
        "integer": "3",
        "boolean": True,
        "date": "2026-11-20",
        "datetime": {"value": "2026-11-20T10:00", "tz": "Europe/Paris"},
        "datetime_range": {
            "start": "2026-10-01T00:00",
            "end": "2026-10-31T23:59",
            "tz": "Europe/Bucharest",
        },
        "email": "officer@justice.example",
        "phone": "+33123456789",
        "url": "https://provider.example/abuse",
        "ip": "192.0.2.10",
        "country": "FR",
        "language": "fr",
        "identifier": "192.0.2.10",  # the first identifier type is "ip"
    }
    return values[kind]


def _catalogue_languages() -> tuple[str, ...]:
    return tuple(
        sorted(path.stem for path in LABELS_DIR.glob("*.json") if path.stem != "provenance")
    )


def _with_translations(
    values: dict[str, Any], fields: tuple[Field, ...], languages: tuple[str, ...]
) -> dict[str, Any]:
    names = [fld.name for fld in fields if is_translated(fld)]
    if names and languages:
        values[TRANSLATIONS_KEY] = {
            language: {name: f"[{language}] Translation of {name}." for name in names}
            for language in languages
        }
    return values


def complete_data(
    declaration: InstrumentDeclaration,
    *,
    rows: int = 3,
    long_text: bool = False,
    translated_into: tuple[str, ...] | None = None,
) -> dict[str, dict[str, Any]]:
    """Every field filled; each free text translated into ``translated_into`` (by default
    every language with a label catalogue), so that it is complete whatever language it
    goes in."""
    languages = _catalogue_languages() if translated_into is None else translated_into
    data: dict[str, dict[str, Any]] = {}
    for section in declaration.sections:
        values: dict[str, Any] = {}
        for item in section.items:
            if isinstance(item, Group):
                values[item.name] = [
                    _with_translations(
                        {field.name: sample_value(field) for field in item.fields},
                        item.fields,
                        languages,
                    )
                    for _ in range(max(rows, item.min_rows))
                ]
            else:
                values[item.name] = sample_value(item, long_text=long_text)
        fields = tuple(item for item in section.items if isinstance(item, Field))
        data[section.code] = _with_translations(values, fields, languages)
    if declaration.code in eevidence.E_EVIDENCE_DECLARATIONS:
        _certificate_made_consistent(data)
    return data


def _certificate_made_consistent(data: dict[str, dict[str, Any]]) -> None:
    """Every field filled is not yet a valid certificate: another establishment is
    addressed only in an emergency, and section H states what Art. 8 decides."""
    addressee = data.get(eevidence.ADDRESSEE_SECTION)
    if addressee is not None and eevidence.OTHER_ESTABLISHMENT_FIELD in addressee:
        addressee[eevidence.OTHER_ESTABLISHMENT_FIELD] = eevidence.is_emergency(data)
    enforcing = data.get(eevidence.ENFORCING_SECTION)
    if enforcing is not None:
        notified = eevidence.notification_required(data)
        enforcing[eevidence.ENFORCING_NOTIFIED_FIELD] = eevidence.YES if notified else eevidence.NO


def certificate_data(
    code: str = eevidence.EPOC,
    *,
    categories: tuple[str, ...] = (eevidence.SUBSCRIBER, eevidence.TRAFFIC),
    emergency: bool = False,
    offence_in_issuing_state: str = eevidence.NO,
    person_resides_in_issuing_state: str = eevidence.UNKNOWN,
    translated_into: tuple[str, ...] | None = None,
) -> dict[str, dict[str, Any]]:
    """A complete EPOC (or EPOC-PR, or the enforcing authority's copy of an EPOC, by
    ``code``) asking for ``categories``; an emergency (8 hours) when ``emergency``. With the
    defaults it asks for traffic data and the enforcing authority is notified (Art. 8)."""
    from mla.instruments.declarations import declaration_for

    data = complete_data(declaration_for(code), rows=1, translated_into=translated_into)
    data[eevidence.DATA_SECTION][eevidence.DATA_CATEGORIES_FIELD] = list(categories)
    if eevidence.DEADLINE_SECTION in data and code != eevidence.EPOC_PR:
        deadline = data[eevidence.DEADLINE_SECTION]
        deadline[eevidence.DEADLINE_FIELD] = (
            eevidence.EIGHT_HOURS if emergency else eevidence.TEN_DAYS
        )
        if not emergency:
            deadline["emergency_grounds"] = []
            deadline["emergency_justification"] = ""
    conditions = data[eevidence.NOTIFICATION_SECTION]
    if eevidence.OFFENCE_IN_ISSUING_STATE_FIELD in conditions:
        conditions[eevidence.OFFENCE_IN_ISSUING_STATE_FIELD] = offence_in_issuing_state
        conditions[eevidence.PERSON_RESIDES_IN_ISSUING_STATE_FIELD] = (
            person_resides_in_issuing_state
        )
    _certificate_made_consistent(data)
    return data
