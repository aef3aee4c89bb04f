"""Import and export of the whole directory, as JSON (complete) or CSV (flat, editable).

JSON carries everything and round-trips exactly: export, import into an empty database,
export again gives the same bytes. CSV holds one authority per row, the columns an
administrator edits in a spreadsheet; contact persons and keys travel only in JSON.

Import is all-or-nothing: every row is checked first and every problem is reported with
its place in the file; only a file without problems is written, in one transaction.
Entries are matched by their stable ``identifier``, so importing the same file twice
changes nothing the second time.

The entries of the authorities this node hosts (whose key pair it holds, see
contact_points.hosting) are the node's own: an import leaves them whole, and reports where
the file differs on their key, inbox URL or active flag as a conflict, without stopping.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from contact_points.hosting import HeldKeys, held_keys
from contact_points.instruments import Instrument
from contact_points.models import (
    KEY_DERIVED_FIELDS,
    AcceptedLanguages,
    Authority,
    AuthorityInstrument,
    ContactPerson,
    Country,
    DirectoryChange,
    Language,
    authority_instruments_problems,
)
from contact_points.reference_codes import reference_code_derive
from contact_points.reference_data import EEVIDENCE_BOUND_STATES
from contact_points.services import authority_apply_key_info, key_text
from contact_points.signals import trust_change_applied, trust_changes_proposed
from contact_points.validators import normalise_phone
from mla.core.errors import ApplicationError
from mla.core.spreadsheet import csv_cell_neutralised, csv_cell_restored
from mla.core.text import LINE_BREAKS, control_characters, text_problem
from mla.openpgp.keys import public_key_inspect

if TYPE_CHECKING:
    from mla.accounts.models import User

FORMAT_NAME = "mla-directory"
FORMAT_VERSION = 1

COUNTRY_FIELDS = (
    "code",
    "name",
    "eio_bound",
    "eevidence_bound",
    "budapest_party",
    "budapest_second_protocol_party",
)
# Scalar fields of an authority, in export order. Foreign keys and sets are handled apart.
AUTHORITY_SCALARS = (
    "identifier",
    "reference_code",
    "name",
    "name_local",
    "kind",
    "postal_address",
    "phone",
    "email",
    "time_zone",
    "office_hours",
    "available_24_7",
    "active",
    "source",
    "last_verified_at",
    "last_verified_by",
    "inbox_url",
    # Regulation (EU) 2023/1543 and Directive (EU) 2023/1544. A file written before they
    # existed lacks them: read as empty (as false), which suits every entry but a service
    # provider's, and the check of each row says so for those.
    "eevidence_central_authority",
    "provider_name",
    "provider_services",
    "provider_designation",
    "emergency_phone",
    "emergency_email",
)
CSV_COLUMNS = (
    "identifier",
    "reference_code",
    "country",
    "name",
    "name_local",
    "kind",
    "parent",
    "postal_address",
    "phone",
    "email",
    "time_zone",
    "office_hours",
    "available_24_7",
    "languages",
    "instruments",
    "inbox_url",
    "active",
    "source",
    "last_verified_at",
    "last_verified_by",
    "key_fingerprint",
    "eevidence_central_authority",
    "provider_name",
    "provider_services",
    "provider_designation",
    "emergency_phone",
    "emergency_email",
)
CONTACT_FIELDS = ("name", "function", "phone", "email")
# Cells that may hold line breaks; every other cell is one line (mla.core.text).
MULTILINE_COLUMNS = frozenset({"postal_address", "public_key"})
_TRUE = {"1", "true", "yes", "y", "oui", "x"}
_FALSE = {"0", "false", "no", "n", "non", ""}


# --------------------------------------------------------------------------- export


def _authority_queryset() -> Any:
    return (
        Authority.objects.select_related("country", "parent")
        .prefetch_related("languages", "instrument_links", "contacts__languages")
        .order_by("identifier")
    )


def _authority_record(authority: Authority) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name in AUTHORITY_SCALARS:
        value = getattr(authority, name)
        record[name] = value.isoformat() if isinstance(value, date) else value
    record["provider_services"] = sorted(authority.provider_services or [])
    record["country"] = authority.country.code
    record["parent"] = authority.parent.identifier if authority.parent else None
    record["languages"] = sorted(language.code for language in authority.languages.all())
    record["instruments"] = sorted(link.instrument for link in authority.instrument_links.all())
    record["public_key"] = authority.public_key
    record["key_fingerprint"] = authority.key_fingerprint
    record["contacts"] = sorted(
        (
            {
                **{name: getattr(contact, name) for name in CONTACT_FIELDS},
                "languages": sorted(language.code for language in contact.languages.all()),
            }
            for contact in authority.contacts.all()
        ),
        key=_contact_sort_key,
    )
    return record


def _contact_sort_key(contact: Mapping[str, Any]) -> tuple[str, ...]:
    return (*(str(contact[name]) for name in CONTACT_FIELDS), ",".join(contact["languages"]))


def directory_export_json() -> str:
    countries = []
    for country in Country.objects.prefetch_related("accepted_languages__languages").order_by(
        "code"
    ):
        record: dict[str, Any] = {name: getattr(country, name) for name in COUNTRY_FIELDS}
        record["accepted_languages"] = {
            policy.instrument: sorted(language.code for language in policy.languages.all())
            for policy in sorted(country.accepted_languages.all(), key=lambda p: p.instrument)
        }
        countries.append(record)
    document = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "countries": countries,
        "authorities": [_authority_record(a) for a in _authority_queryset().iterator(2000)],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(value)
    return str(value)


def directory_export_csv(*, authorities: Iterable[Authority] | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = authorities if authorities is not None else _authority_queryset().iterator(2000)
    for authority in rows:
        record = _authority_record(authority)
        writer.writerow(
            [csv_cell_neutralised(_csv_value(record[column])) for column in CSV_COLUMNS]
        )
    return buffer.getvalue()


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportProblem:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class DirectoryImportError(ApplicationError):
    def __init__(self, problems: list[ImportProblem]) -> None:
        shown = "\n".join(str(problem) for problem in problems[:200])
        more = len(problems) - 200
        if more > 0:
            shown += "\n" + _("… and %(count)d more problems.") % {"count": more}
        super().__init__(
            _("The file was not imported; nothing was changed. Problems:\n%(problems)s")
            % {"problems": shown},
            extra={"problems": [str(problem) for problem in problems]},
        )
        self.problems = problems


@dataclass(frozen=True)
class ImportConflict:
    """Where a file differs from this node on what pins trust in an entry it hosts."""

    identifier: str
    field: str
    ours: str
    theirs: str

    def __str__(self) -> str:
        return _(
            "%(identifier)s is hosted on this node: its %(field)s stays %(ours)s; "
            "the file gives %(theirs)s."
        ) % {
            "identifier": self.identifier,
            "field": self.field,
            "ours": self.ours or _("(none)"),
            "theirs": self.theirs or _("(none)"),
        }


@dataclass
class ImportReport:
    countries_created: int = 0
    countries_updated: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Changes of key or inbox URL of existing entries: awaiting a second administrator's
    # approval, or applied at once because a pinned publisher signed the file.
    proposed: int = 0
    trust_applied: int = 0
    # Entries of authorities hosted on this node, left as the node has them, and where the
    # file would have changed their key, inbox URL or active flag.
    hosted_kept: int = 0
    conflicts: list[ImportConflict] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join([self.summary(), *(str(conflict) for conflict in self.conflicts)])

    def summary(self) -> str:
        text = _(
            "Countries: %(cc)d created, %(cu)d updated. "
            "Authorities: %(ac)d created, %(au)d updated, %(an)d unchanged."
        ) % {
            "cc": self.countries_created,
            "cu": self.countries_updated,
            "ac": self.created,
            "au": self.updated,
            "an": self.unchanged,
        }
        if self.proposed:
            text += " " + _(
                "%(count)d changes of key or inbox URL await the approval of a second "
                "directory administrator; the current keys and URLs stay in force until then."
            ) % {"count": self.proposed}
        if self.trust_applied:
            text += " " + _(
                "%(count)d changes of key or inbox URL applied, approved by the publisher's "
                "signature."
            ) % {"count": self.trust_applied}
        if self.hosted_kept:
            text += " " + _(
                "%(count)d entries of authorities hosted on this node left as this node has them."
            ) % {"count": self.hosted_kept}
        if self.conflicts:
            text += " " + _(
                "%(count)d conflicts with this node's own entries (listed below): this node's "
                "keys and inbox URLs stay in force."
            ) % {"count": len(self.conflicts)}
        return text


@dataclass
class _AuthorityRow:
    location: str
    values: dict[str, Any]
    country: str
    parent: str | None
    languages: list[str]
    instruments: list[str]
    # None: the file says nothing about keys or contacts (CSV), so they are left as they are.
    public_key: str | None = None
    key_fingerprint: str | None = None
    contacts: list[dict[str, Any]] | None = None


@dataclass
class _CountryRow:
    location: str
    values: dict[str, Any]
    accepted_languages: dict[str, list[str]] = field(default_factory=dict)


class _Problems:
    def __init__(self) -> None:
        self.items: list[ImportProblem] = []

    def add(self, location: str, message: str) -> None:
        self.items.append(ImportProblem(location, message))

    def add_validation(self, location: str, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                for message in errors:
                    self.add(location, f"{name}: {message}")
        else:
            for message in error.messages:
                self.add(location, message)


@dataclass(frozen=True)
class _Cells:
    """Reads the cells of one row, recording a problem (at the row's place) for each bad one."""

    location: str
    problems: _Problems

    def boolean(self, value: Any, column: str) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value if value is not None else "").strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.problems.add(
            self.location,
            _("%(column)s: “%(value)s” is not yes or no.") % {"column": column, "value": value},
        )
        return False

    def codes(self, value: Any, column: str) -> list[str]:
        if value is None or value == "":
            return []
        if isinstance(value, list):
            items = value
        elif isinstance(value, str):
            items = value.replace(",", ";").split(";")
        else:
            self.problems.add(self.location, _("%(column)s: expected a list.") % {"column": column})
            return []
        codes = []
        for item in items:
            if not isinstance(item, str):
                self.problems.add(
                    self.location, _("%(column)s: expected a list of codes.") % {"column": column}
                )
                return []
            if item.strip():
                codes.append(item.strip().lower())
        return sorted(set(codes))

    def text(self, value: Any, column: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problems.add(self.location, _("%(column)s: expected text.") % {"column": column})
            return ""
        one_line = column not in MULTILINE_COLUMNS
        refused = text_problem(value, one_line=one_line)
        if refused:
            self.problems.add(self.location, f"{column}: {refused}")
            # The file is refused already; the rest of the row is still checked, on the
            # text without what was refused, so that this problem is reported once.
            value = "".join(
                character
                for character in value
                if character not in control_characters(character)
                and not (one_line and character in LINE_BREAKS)
            )
        return value.strip()

    def day(self, value: Any, column: str) -> date | None:
        text = self.text(value, column)
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.problems.add(
                self.location,
                _("%(column)s: “%(value)s” is not a date (YYYY-MM-DD).")
                % {"column": column, "value": text},
            )
            return None


def _authority_row(
    raw: Mapping[str, Any], *, location: str, problems: _Problems, full: bool
) -> _AuthorityRow:
    cells = _Cells(location, problems)
    values: dict[str, Any] = {}
    for name in AUTHORITY_SCALARS:
        if name == "provider_services":
            values[name] = cells.codes(raw.get(name), name)
        elif name in ("available_24_7", "active", "eevidence_central_authority"):
            # An empty "active" cell means active: a new row in a spreadsheet is in use.
            raw_value = raw.get(name)
            if name == "active" and raw_value in (None, ""):
                raw_value = True
            values[name] = cells.boolean(raw_value, name)
        elif name == "last_verified_at":
            values[name] = cells.day(raw.get(name), name)
        elif name == "reference_code":
            values[name] = cells.text(raw.get(name), name).upper()
        else:
            values[name] = cells.text(raw.get(name), name)
    if not values["identifier"]:
        problems.add(location, _("identifier: required; it is how entries are matched."))
    row = _AuthorityRow(
        location=location,
        values=values,
        country=cells.text(raw.get("country"), "country").upper(),
        parent=cells.text(raw.get("parent"), "parent") or None,
        languages=cells.codes(raw.get("languages"), "languages"),
        instruments=cells.codes(raw.get("instruments"), "instruments"),
        key_fingerprint=cells.text(raw.get("key_fingerprint"), "key_fingerprint")
        .replace(" ", "")
        .upper()
        or None,
    )
    if full:
        # A JSON entry without "public_key" leaves the key as it is, as a CSV row does.
        if "public_key" in raw:
            row.public_key = cells.text(raw.get("public_key"), "public_key")
        contacts = raw.get("contacts") or []
        if not isinstance(contacts, list):
            problems.add(location, _("contacts: expected a list."))
            contacts = []
        row.contacts = []
        for index, contact in enumerate(contacts):
            where = f"{location}.contacts[{index}]"
            if not isinstance(contact, dict):
                problems.add(where, _("expected an object."))
                continue
            contact_cells = _Cells(where, problems)
            entry: dict[str, Any] = {
                name: contact_cells.text(contact.get(name), name) for name in CONTACT_FIELDS
            }
            entry["languages"] = contact_cells.codes(contact.get("languages"), "languages")
            row.contacts.append(entry)
        row.contacts.sort(key=_contact_sort_key)
    return row


def _parse_json(data: bytes) -> tuple[list[_CountryRow], list[_AuthorityRow], _Problems]:
    problems = _Problems()
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        problems.add(_("file"), _("not UTF-8 text."))
        return [], [], problems
    except json.JSONDecodeError as exc:
        problems.add(
            _("line %(line)d") % {"line": exc.lineno},
            _("not valid JSON (%(msg)s).") % {"msg": exc.msg},
        )
        return [], [], problems
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        problems.add(
            _("file"),
            _('not a directory export (expected "format": "%(name)s").') % {"name": FORMAT_NAME},
        )
        return [], [], problems
    if document.get("version") != FORMAT_VERSION:
        problems.add(
            _("file"),
            _("unsupported version %(version)s (this node reads %(ours)d).")
            % {"version": document.get("version"), "ours": FORMAT_VERSION},
        )
        return [], [], problems
    countries: list[_CountryRow] = []
    raw_countries = document.get("countries") or []
    raw_authorities = document.get("authorities") or []
    if not isinstance(raw_countries, list) or not isinstance(raw_authorities, list):
        problems.add(_("file"), _('"countries" and "authorities" must be lists.'))
        return [], [], problems
    for index, raw in enumerate(raw_countries):
        location = f"countries[{index}]"
        if not isinstance(raw, dict):
            problems.add(location, _("expected an object."))
            continue
        cells = _Cells(location, problems)
        values: dict[str, Any] = {
            "code": cells.text(raw.get("code"), "code").upper(),
            "name": cells.text(raw.get("name"), "name"),
        }
        for flag in COUNTRY_FIELDS[2:]:
            if flag == "eevidence_bound" and flag not in raw:
                # A file from before the e-Evidence Regulation (_eevidence_flags_resolve).
                values[flag] = None
                continue
            values[flag] = cells.boolean(raw.get(flag, False), flag)
        accepted = raw.get("accepted_languages") or {}
        if not isinstance(accepted, dict):
            problems.add(location, _("accepted_languages: expected an object."))
            accepted = {}
        countries.append(
            _CountryRow(
                location=f"{location} ({values['code']})",
                values=values,
                accepted_languages={
                    str(instrument): cells.codes(codes, "accepted_languages")
                    for instrument, codes in accepted.items()
                },
            )
        )
    authorities = []
    for index, raw in enumerate(raw_authorities):
        location = f"authorities[{index}]"
        if not isinstance(raw, dict):
            problems.add(location, _("expected an object."))
            continue
        identifier = raw.get("identifier")
        if isinstance(identifier, str) and identifier:
            location = f"{location} ({identifier})"
        authorities.append(_authority_row(raw, location=location, problems=problems, full=True))
    return countries, authorities, problems


def _parse_csv(data: bytes) -> tuple[list[_CountryRow], list[_AuthorityRow], _Problems]:
    problems = _Problems()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add(_("file"), _("not UTF-8 text; save the spreadsheet as CSV UTF-8."))
        return [], [], problems
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    header = reader.fieldnames or []
    missing = [
        column for column in ("identifier", "country", "name", "kind") if column not in header
    ]
    unknown = [column for column in header if column not in CSV_COLUMNS]
    if missing:
        problems.add(
            _("line 1"), _("missing columns: %(columns)s.") % {"columns": ", ".join(missing)}
        )
    if unknown:
        problems.add(
            _("line 1"),
            _("unknown columns: %(columns)s (expected: %(expected)s).")
            % {"columns": ", ".join(unknown), "expected": ", ".join(CSV_COLUMNS)},
        )
    if missing or unknown:
        return [], [], problems
    authorities = []
    for record in reader:
        location = _("line %(line)d") % {"line": reader.line_num}
        if None in record:
            problems.add(location, _("more cells than columns."))
            continue
        if all(not (value or "").strip() for value in record.values()):
            continue
        # Cells this node's export marked as text (a phone number's "+") read back as written.
        record = {column: csv_cell_restored(value) for column, value in record.items()}
        authorities.append(_authority_row(record, location=location, problems=problems, full=False))
    return [], authorities, problems


def _check_countries(
    rows: list[_CountryRow], problems: _Problems, language_codes: set[str]
) -> None:
    seen: set[str] = set()
    instruments = set(Instrument.values)
    for row in rows:
        country = Country(**row.values)
        try:
            country.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            problems.add_validation(row.location, error)
        if row.values["code"] in seen:
            problems.add(
                row.location, _("country %(code)s appears twice.") % {"code": row.values["code"]}
            )
        seen.add(row.values["code"])
        for instrument, codes in row.accepted_languages.items():
            if instrument not in instruments:
                problems.add(
                    row.location,
                    _("accepted_languages: unknown instrument “%(value)s”.")
                    % {"value": instrument},
                )
            for code in codes:
                if code not in language_codes:
                    problems.add(
                        row.location,
                        _("accepted_languages: unknown language “%(code)s”.") % {"code": code},
                    )


def _check_authorities(
    rows: list[_AuthorityRow],
    problems: _Problems,
    *,
    language_codes: set[str],
    country_codes: set[str],
    existing: Mapping[str, Authority],
    database_parents: Mapping[str, str | None],
    countries: Mapping[str, Country],
) -> None:
    instruments = set(Instrument.values)
    identifiers_in_file: dict[str, str] = {}
    for row in rows:
        identifier = row.values["identifier"]
        if not identifier:
            continue
        if identifier in identifiers_in_file:
            problems.add(
                row.location,
                _("identifier “%(id)s” already used at %(other)s.")
                % {"id": identifier, "other": identifiers_in_file[identifier]},
            )
        identifiers_in_file.setdefault(identifier, row.location)
    known_identifiers = set(identifiers_in_file) | set(database_parents)
    parents: dict[str, str | None] = {}
    pinned: dict[str, str] = {}
    for row in rows:
        values = row.values
        for phone_field in ("phone", "emergency_phone"):
            try:
                values[phone_field] = normalise_phone(values[phone_field])
            except ValidationError as error:
                problems.add_validation(
                    row.location, ValidationError({phone_field: error.messages})
                )
        candidate = Authority(**values)
        try:
            # Foreign keys, sets and uniqueness are checked below, against the whole file.
            candidate.full_clean(
                exclude=["country", "parent", "phone", "emergency_phone"],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            problems.add_validation(row.location, error)
        if not row.country:
            problems.add(row.location, _("country: required."))
        elif row.country not in country_codes:
            problems.add(
                row.location,
                _("country: “%(code)s” is not in the directory.") % {"code": row.country},
            )
        if row.parent is not None:
            if row.parent == values["identifier"]:
                problems.add(row.location, _("parent: an authority cannot be its own parent."))
            elif row.parent not in known_identifiers:
                problems.add(row.location, _("parent: no authority “%(id)s”.") % {"id": row.parent})
        parents[values["identifier"]] = row.parent
        for code in row.languages:
            if code not in language_codes:
                problems.add(
                    row.location, _("languages: unknown language code “%(code)s”.") % {"code": code}
                )
        for code in row.instruments:
            if code not in instruments:
                problems.add(
                    row.location,
                    _("instruments: unknown instrument “%(code)s” (known: %(known)s).")
                    % {"code": code, "known": ", ".join(sorted(instruments))},
                )
        for problem in authority_instruments_problems(
            kind=values["kind"], country=countries.get(row.country), instruments=row.instruments
        ):
            problems.add(row.location, f"instruments: {problem}")
        for index, contact in enumerate(row.contacts or []):
            where = f"{row.location}.contacts[{index}]"
            if not contact["name"]:
                problems.add(where, _("name: required."))
            try:
                contact["phone"] = normalise_phone(contact["phone"])
            except ValidationError as error:
                problems.add(where, f"phone: {error.messages[0]}")
            person = ContactPerson(**{name: contact[name] for name in CONTACT_FIELDS})
            try:
                person.full_clean(exclude=["authority", "phone", "name"])
            except ValidationError as error:
                problems.add_validation(where, error)
            for code in contact["languages"]:
                if code not in language_codes:
                    problems.add(
                        where, _("languages: unknown language code “%(code)s”.") % {"code": code}
                    )
        pinned[values["identifier"]] = _check_key(row, problems, existing.get(values["identifier"]))
    problems.items.extend(_check_fingerprints_once(rows, pinned).items)
    # The parent links of the file and of the database together must not loop.
    for identifier, parent in database_parents.items():
        parents.setdefault(identifier, parent)
    for row in rows:
        seen = {row.values["identifier"]}
        ancestor = parents.get(row.values["identifier"])
        while ancestor is not None:
            if ancestor in seen:
                problems.add(row.location, _("parent: the parent links form a loop."))
                break
            seen.add(ancestor)
            ancestor = parents.get(ancestor)


def _check_key(row: _AuthorityRow, problems: _Problems, current: Authority | None) -> str:
    """The fingerprint of the key the row pins (or keeps); a problem if the key is bad."""
    current_key = current.public_key if current else ""
    current_fingerprint = current.key_fingerprint if current else ""
    if row.public_key is None:
        # CSV: the fingerprint column is informative only; keys change in the admin or JSON.
        if row.key_fingerprint and row.key_fingerprint != current_fingerprint:
            problems.add(
                row.location,
                _(
                    "key_fingerprint: read-only here (it is computed from "
                    "the key); change keys in the administration or by JSON."
                ),
            )
        return current_fingerprint
    if row.public_key and key_text(row.public_key) != key_text(current_key):
        try:
            info = public_key_inspect(armored=row.public_key)
        except ApplicationError as error:
            problems.add(row.location, f"public_key: {error.message}")
            return ""
        fingerprint = info.fingerprint
    else:
        fingerprint = current_fingerprint if row.public_key else ""
    if row.key_fingerprint and row.key_fingerprint != fingerprint:
        problems.add(
            row.location,
            _("key_fingerprint: %(given)s does not match the key, whose fingerprint is %(real)s.")
            % {"given": row.key_fingerprint, "real": fingerprint or _("(no key)")},
        )
    return fingerprint


def _check_fingerprints_once(rows: list[_AuthorityRow], pinned: dict[str, str]) -> _Problems:
    """One key for one active authority, in the file and against the rest of the directory.

    ``pinned``: identifier of each row -> the fingerprint it pins (or keeps).
    """
    problems = _Problems()
    active_rows = [
        row for row in rows if row.values["active"] and pinned.get(row.values["identifier"])
    ]
    owners: dict[str, str] = {}
    for row in active_rows:
        fingerprint = pinned[row.values["identifier"]]
        if fingerprint in owners:
            problems.add(
                row.location,
                _("public_key: the key %(fingerprint)s is also pinned for %(other)s.")
                % {"fingerprint": fingerprint, "other": owners[fingerprint]},
            )
        owners.setdefault(fingerprint, row.values["identifier"])
    in_file = {row.values["identifier"] for row in rows}
    for chunk in _chunks(list(owners), 5000):
        for fingerprint, identifier in (
            Authority.objects.filter(active=True, key_fingerprint__in=chunk)
            .exclude(identifier__in=in_file)
            .values_list("key_fingerprint", "identifier")
        ):
            problems.add(
                _("file"),
                _(
                    "public_key: the key %(fingerprint)s of %(row)s is already pinned for "
                    "%(other)s; one key speaks for one active authority only."
                )
                % {"fingerprint": fingerprint, "row": owners[fingerprint], "other": identifier},
            )
    return problems


def _resolve_reference_codes(
    rows: list[_AuthorityRow], problems: _Problems, *, existing: Mapping[str, Authority]
) -> None:
    """Each row's reference code: the file's, else the one the entry holds, else one derived
    from its identifier (contact_points.reference_codes). A code two entries would share is
    a problem: a code names one issuer in every reference."""
    in_database = dict(Authority.objects.values_list("reference_code", "identifier"))
    in_file = {row.values["identifier"] for row in rows}
    holders: dict[str, str] = {
        code: identifier for code, identifier in in_database.items() if identifier not in in_file
    }
    unresolved: list[_AuthorityRow] = []
    for row in rows:
        identifier = row.values["identifier"]
        current = existing.get(identifier)
        code = row.values["reference_code"] or (current.reference_code if current else "")
        if not code:
            unresolved.append(row)
            continue
        row.values["reference_code"] = code
        holder = holders.setdefault(code, identifier)
        if holder != identifier:
            problems.add(
                row.location,
                _("reference_code: “%(code)s” is already the code of %(other)s.")
                % {"code": code, "other": holder},
            )
    for row in unresolved:
        identifier = row.values["identifier"]
        code = reference_code_derive(identifier=identifier, country_code=row.country, taken=holders)
        row.values["reference_code"] = code
        holders[code] = identifier


def _eevidence_flags_resolve(rows: list[_CountryRow]) -> None:
    """The e-Evidence flag of each country whose entry lacks it (a file written before the
    Regulation): as the directory has it, else, for a new country, as the reference data."""
    current = dict(Country.objects.values_list("code", "eevidence_bound"))
    for row in rows:
        if row.values["eevidence_bound"] is None:
            code = row.values["code"]
            row.values["eevidence_bound"] = current.get(code, code in EEVIDENCE_BOUND_STATES)


def _countries_as_imported(rows: list[_CountryRow]) -> dict[str, Country]:
    """Each country as it will be once the file is written (an authority's instruments
    depend on its country's flags)."""
    countries = {country.code: country for country in Country.objects.all()}
    countries.update((row.values["code"], Country(**row.values)) for row in rows)
    return countries


def _parse(data: bytes, fmt: str) -> tuple[list[_CountryRow], list[_AuthorityRow], _Problems]:
    if fmt == "json":
        return _parse_json(data)
    if fmt == "csv":
        return _parse_csv(data)
    raise ApplicationError(_("Unknown format “%(fmt)s”; use json or csv.") % {"fmt": fmt})


def directory_import(
    *, data: bytes, fmt: str, proposer: "User | None" = None, signed_by: str = ""
) -> ImportReport:
    """Check the whole file, then write it in one transaction (DirectoryImportError if not).

    A new key or inbox URL for an entry already in the directory is not applied: it becomes
    a pending change (proposed by ``proposer``, None on the command line) for a second
    directory administrator to approve. Only when ``signed_by`` names the pinned publisher
    whose signature the caller verified over these very bytes is it applied at once: the
    publisher's signature is the second pair of eyes.

    An entry of an authority hosted on this node is left whole, signed file or not: the
    report counts it and lists each difference of key, inbox URL or active flag as a
    conflict, and the rest of the file is imported.
    """
    # Problems found while reading rows are reported together with those of the checks.
    countries, authorities, problems = _parse(data, fmt)
    language_codes = set(Language.objects.values_list("code", flat=True))
    _eevidence_flags_resolve(countries)
    _check_countries(countries, problems, language_codes)
    country_codes = {row.values["code"] for row in countries} | set(
        Country.objects.values_list("code", flat=True)
    )
    identifiers = [row.values["identifier"] for row in authorities]
    existing = _existing_authorities(identifiers)
    report = ImportReport()
    authorities = _hosted_set_aside(authorities, existing, held=held_keys(), report=report)
    _resolve_reference_codes(authorities, problems, existing=existing.by_identifier)
    _check_authorities(
        authorities,
        problems,
        language_codes=language_codes,
        country_codes=country_codes,
        existing=existing.by_identifier,
        database_parents=dict(Authority.objects.values_list("identifier", "parent__identifier")),
        countries=_countries_as_imported(countries),
    )
    if problems.items:
        raise DirectoryImportError(problems.items)
    with transaction.atomic():
        _write_countries(countries, report)
        _write_authorities(authorities, existing, report, proposer=proposer, signed_by=signed_by)
    return report


def _hosted_set_aside(
    rows: list[_AuthorityRow], existing: "_Existing", *, held: HeldKeys, report: ImportReport
) -> list[_AuthorityRow]:
    """The rows to import: those of entries hosted here are taken out, their conflicts noted.

    Taken out before any check, so that every check (reference codes, one key per active
    authority, parent loops) counts the hosted entries as the database holds them.
    """
    imported = []
    for row in rows:
        identifier = row.values["identifier"]
        authority = existing.by_identifier.get(identifier)
        if authority is not None and held.hosts(
            identifier=identifier, pinned_fingerprint=authority.key_fingerprint
        ):
            report.hosted_kept += 1
            report.conflicts.extend(_hosted_conflicts(row, authority))
            continue
        imported.append(row)
    return imported


def _hosted_conflicts(row: _AuthorityRow, authority: Authority) -> list[ImportConflict]:
    identifier = row.values["identifier"]
    ours_url = authority.inbox_url
    ours_key = authority.public_key
    ours_fingerprint = authority.key_fingerprint
    conflicts = []
    if row.values["inbox_url"] != ours_url:
        conflicts.append(
            ImportConflict(identifier, _("inbox URL"), ours_url, row.values["inbox_url"])
        )
    theirs_fingerprint = _file_fingerprint(row, ours_key=ours_key, ours=ours_fingerprint)
    if theirs_fingerprint is not None and theirs_fingerprint != ours_fingerprint:
        conflicts.append(
            ImportConflict(
                identifier,
                _("key fingerprint"),
                DirectoryChange.grouped(ours_fingerprint),
                DirectoryChange.grouped(theirs_fingerprint),
            )
        )
    if row.values["active"] != authority.active:
        conflicts.append(
            ImportConflict(
                identifier,
                _("status"),
                _("active") if authority.active else _("inactive"),
                _("active") if row.values["active"] else _("inactive"),
            )
        )
    return conflicts


def _file_fingerprint(row: _AuthorityRow, *, ours_key: str, ours: str) -> str | None:
    """The fingerprint the row would pin; None when the file says nothing of the key."""
    if row.public_key is None:
        # CSV, or JSON without "public_key": only the informative fingerprint column.
        return row.key_fingerprint
    if not row.public_key:
        return ""
    if key_text(row.public_key) == key_text(ours_key):
        return ours
    try:
        return public_key_inspect(armored=row.public_key).fingerprint
    except ApplicationError:
        return row.key_fingerprint or _("an unreadable key")


@dataclass
class _Existing:
    """The entries a file names that are already in the database, with their sets.

    Sets are read as plain (id, code) pairs rather than prefetched model instances: an
    import compares tens of thousands of entries, and most of them have not changed.
    """

    by_identifier: dict[str, Authority] = field(default_factory=dict)
    languages: dict[int, list[str]] = field(default_factory=dict)
    instruments: dict[int, list[str]] = field(default_factory=dict)
    contacts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def state(self, authority: Authority) -> tuple[Any, ...]:
        return (
            *(getattr(authority, name) for name in AUTHORITY_SCALARS),
            authority.country.code,
            authority.parent.identifier if authority.parent else None,
            self.languages.get(authority.pk, []),
            self.instruments.get(authority.pk, []),
        )


def _existing_authorities(identifiers: list[str]) -> _Existing:
    existing = _Existing()
    queryset = Authority.objects.select_related("country", "parent")
    language_links = Authority.languages.through.objects
    contact_language_links = ContactPerson.languages.through.objects
    for chunk in _chunks(identifiers, 5000):
        authorities = list(queryset.filter(identifier__in=chunk))
        existing.by_identifier.update((a.identifier, a) for a in authorities)
        ids = [a.pk for a in authorities]
        for authority_id, code in language_links.filter(authority_id__in=ids).values_list(
            "authority_id", "language_id"
        ):
            existing.languages.setdefault(authority_id, []).append(code)
        for authority_id, code in AuthorityInstrument.objects.filter(
            authority_id__in=ids
        ).values_list("authority_id", "instrument"):
            existing.instruments.setdefault(authority_id, []).append(code)
        contacts = list(
            ContactPerson.objects.filter(authority_id__in=ids).values(
                "id", "authority_id", *CONTACT_FIELDS
            )
        )
        contact_languages: dict[int, list[str]] = {}
        for contact_id, code in contact_language_links.filter(
            contactperson_id__in=[c["id"] for c in contacts]
        ).values_list("contactperson_id", "language_id"):
            contact_languages.setdefault(contact_id, []).append(code)
        for contact in contacts:
            entry = {name: contact[name] for name in CONTACT_FIELDS}
            entry["languages"] = sorted(contact_languages.get(contact["id"], []))
            existing.contacts.setdefault(contact["authority_id"], []).append(entry)
    for codes in [*existing.languages.values(), *existing.instruments.values()]:
        codes.sort()
    for entries in existing.contacts.values():
        entries.sort(key=_contact_sort_key)
    return existing


def _write_countries(rows: list[_CountryRow], report: ImportReport) -> None:
    existing = {
        c.code: c for c in Country.objects.prefetch_related("accepted_languages__languages")
    }
    for row in rows:
        country = existing.get(row.values["code"])
        if country is None:
            country = Country(**row.values)
            country._change_reason = "import"  # type: ignore[attr-defined]
            country.save()
            report.countries_created += 1
            current_policies: dict[str, list[str]] = {}
        else:
            current_policies = {
                p.instrument: sorted(lang.code for lang in p.languages.all())
                for p in country.accepted_languages.all()
            }
            changed = [
                name for name in COUNTRY_FIELDS if getattr(country, name) != row.values[name]
            ]
            if changed or current_policies != row.accepted_languages:
                report.countries_updated += 1
            if changed:
                for name in changed:
                    setattr(country, name, row.values[name])
                country._change_reason = "import"  # type: ignore[attr-defined]
                country.save()
        if current_policies == row.accepted_languages:
            continue
        for instrument in set(current_policies) - set(row.accepted_languages):
            AcceptedLanguages.objects.filter(country=country, instrument=instrument).delete()
        for instrument, codes in row.accepted_languages.items():
            if current_policies.get(instrument) == codes:
                continue
            policy, _created = AcceptedLanguages.objects.get_or_create(
                country=country, instrument=instrument
            )
            policy.languages.set(Language.objects.filter(code__in=codes))


def _row_state(row: _AuthorityRow) -> tuple[Any, ...]:
    return (
        *(row.values[name] for name in AUTHORITY_SCALARS),
        row.country,
        row.parent,
        row.languages,
        row.instruments,
    )


def _chunks(items: list[Any], size: int = 2000) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _trust_change(
    authority: Authority, row: _AuthorityRow, *, origin: str, proposer: "User | None"
) -> DirectoryChange:
    """The change of key and inbox URL ``row`` brings to ``authority`` (before it is applied)."""
    new_key = authority.public_key if row.public_key is None else row.public_key
    info = public_key_inspect(armored=new_key) if new_key.strip() else None
    return DirectoryChange(
        authority=authority,
        origin=origin,
        proposed_by=proposer,
        old_inbox_url=authority.inbox_url,
        new_inbox_url=row.values["inbox_url"],
        old_public_key=authority.public_key,
        new_public_key=info.armored if info else "",
        old_fingerprint=authority.key_fingerprint,
        new_fingerprint=info.fingerprint if info else "",
    )


def _write_authorities(
    rows: list[_AuthorityRow],
    existing: _Existing,
    report: ImportReport,
    *,
    proposer: "User | None",
    signed_by: str,
) -> None:
    countries = {country.code: country for country in Country.objects.all()}
    to_create: list[Authority] = []
    to_update: list[Authority] = []
    sets_changed: list[tuple[Authority, _AuthorityRow]] = []
    contacts_changed: list[tuple[Authority, _AuthorityRow]] = []
    trust_changes: list[DirectoryChange] = []
    for row in rows:
        authority = existing.by_identifier.get(row.values["identifier"])
        key_changed = row.public_key is not None and (
            key_text(row.public_key) != (key_text(authority.public_key) if authority else "")
        )
        if authority is not None and (
            key_changed or row.values["inbox_url"] != authority.inbox_url
        ):
            # The trust anchors of an entry in force: four eyes, or a pinned publisher's.
            change = _trust_change(
                authority,
                row,
                origin=(
                    DirectoryChange.Origin.SIGNED_IMPORT
                    if signed_by
                    else DirectoryChange.Origin.IMPORT
                ),
                proposer=proposer,
            )
            trust_changes.append(change)
            if not signed_by:
                # Kept as they are until approved; the rest of the row is imported.
                row.values["inbox_url"] = authority.inbox_url
                if row.public_key is not None:
                    row.public_key = authority.public_key
                key_changed = False
        if authority is None:
            authority = Authority(**row.values, country=countries[row.country])
            to_create.append(authority)
            sets_changed.append((authority, row))
            if row.contacts:
                contacts_changed.append((authority, row))
        else:
            state_changed = existing.state(authority) != _row_state(row)
            contacts_differ = row.contacts is not None and (
                existing.contacts.get(authority.pk, []) != row.contacts
            )
            if not (state_changed or key_changed or contacts_differ):
                report.unchanged += 1
                continue
            report.updated += 1
            for name, value in row.values.items():
                setattr(authority, name, value)
            authority.country = countries[row.country]
            if state_changed or key_changed:
                to_update.append(authority)
                sets_changed.append((authority, row))
            if contacts_differ:
                contacts_changed.append((authority, row))
        if key_changed:
            assert row.public_key is not None
            info = public_key_inspect(armored=row.public_key) if row.public_key else None
            authority_apply_key_info(authority=authority, key=info)
    now = timezone.now()
    for authority in [*to_create, *to_update]:
        authority.refresh_derived_fields()
        authority.updated_at = now
    report.created = len(to_create)
    for chunk in _chunks(to_create):
        bulk_create_with_history(chunk, Authority, batch_size=2000, default_change_reason="import")
    # Primary keys of new rows and of every parent named, in two queries.
    new_ids = dict(
        Authority.objects.filter(identifier__in=[a.identifier for a in to_create]).values_list(
            "identifier", "id"
        )
    )
    for authority in to_create:
        authority.pk = new_ids[authority.identifier]
    parent_identifiers = {row.parent for row in rows if row.parent}
    ids = dict(
        Authority.objects.filter(identifier__in=parent_identifiers).values_list("identifier", "id")
    )
    parent_updates = []
    for authority, row in sets_changed:
        parent_id = ids.get(row.parent) if row.parent else None
        if authority.parent_id != parent_id:
            authority.parent_id = parent_id
            parent_updates.append(authority)
    fields = [
        *AUTHORITY_SCALARS,
        "country",
        "parent",
        "public_key",
        *KEY_DERIVED_FIELDS,
        "search_text",
        "country_code",
        "updated_at",
    ]
    fields.remove("identifier")
    updates = {id(a): a for a in [*to_update, *parent_updates]}
    if updates:
        bulk_update_with_history(
            list(updates.values()),
            Authority,
            fields,
            batch_size=2000,
            default_change_reason="import",
        )
    _write_sets(sets_changed)
    _write_contacts(contacts_changed)
    _record_trust_changes(trust_changes, signed_by=signed_by, report=report)


def _record_trust_changes(
    changes: list[DirectoryChange], *, signed_by: str, report: ImportReport
) -> None:
    if not changes:
        return
    now = timezone.now()
    # A newer word on an entry's key replaces any proposal still waiting for it.
    DirectoryChange.objects.filter(
        authority_id__in=[change.authority_id for change in changes],
        status=DirectoryChange.Status.PENDING,
    ).update(status=DirectoryChange.Status.SUPERSEDED, decided_at=now)
    for change in changes:
        change.proposed_at = now
        if signed_by:
            change.status = DirectoryChange.Status.APPROVED
            change.decided_at = now
            change.publisher_fingerprint = signed_by
    DirectoryChange.objects.bulk_create(changes, batch_size=2000)
    if signed_by:
        report.trust_applied = len(changes)
        for change in changes:
            trust_change_applied.send(sender=DirectoryChange, change=change)
    else:
        report.proposed = len(changes)
        trust_changes_proposed.send(sender=DirectoryChange, changes=changes)


def _write_sets(pairs: list[tuple[Authority, _AuthorityRow]]) -> None:
    if not pairs:
        return
    language_through = Authority.languages.through
    authority_ids = [authority.pk for authority, _row in pairs]
    for chunk in _chunks(authority_ids, 5000):
        language_through.objects.filter(authority_id__in=chunk).delete()
        AuthorityInstrument.objects.filter(authority_id__in=chunk).delete()
    language_through.objects.bulk_create(
        [
            language_through(authority_id=authority.pk, language_id=code)
            for authority, row in pairs
            for code in row.languages
        ],
        batch_size=5000,
    )
    AuthorityInstrument.objects.bulk_create(
        [
            AuthorityInstrument(authority_id=authority.pk, instrument=code)
            for authority, row in pairs
            for code in row.instruments
        ],
        batch_size=5000,
    )


def _write_contacts(pairs: list[tuple[Authority, _AuthorityRow]]) -> None:
    if not pairs:
        return
    ContactPerson.objects.filter(authority_id__in=[a.pk for a, _row in pairs]).delete()
    for authority, row in pairs:
        for contact in row.contacts or []:
            person = ContactPerson.objects.create(
                authority_id=authority.pk,
                **{name: contact[name] for name in CONTACT_FIELDS},
            )
            if contact["languages"]:
                person.languages.set(Language.objects.filter(code__in=contact["languages"]))
