"""The completeness check: every missing or invalid field of a request, by section."""

from dataclasses import dataclass
from typing import Any

import pycountry
from django.utils.translation import gettext as _

from mla.instruments.declarations.schema import Field, Group, InstrumentDeclaration, Section, When
from mla.instruments.fieldtypes import (
    Refusal,
    check_value,
    is_empty,
    storage_refusal,
    text_refusal,
)


@dataclass(frozen=True)
class Problem:
    section: str  # section code
    path: str  # "E.persons.2.surname", "G.facts", "E.persons"
    label: str  # label key of the field or group
    message: str
    row: int | None = None  # 0-based row of a repeatable group
    # What is wrong, for a program: missing, invalid, too_few_rows, too_many_rows,
    # inconsistent (a rule across fields), translation_missing, language_not_accepted; a
    # value that cannot be stored: control_character, line_break, too_long, wrong_type,
    # unknown_field, unknown_section, unknown_language.
    code: str = "invalid"

    @property
    def field(self) -> str:
        """The path within its section ("persons.2.surname"); the whole path of a problem
        of the request as a whole ("language")."""
        prefix = f"{self.section}."
        return self.path.removeprefix(prefix) if self.section else self.path

    @property
    def anchor(self) -> str:
        """The id of the form control the problem is about, for a link to it."""
        return "field-" + self.path.replace(".", "-")


def _resolve(
    when: When, data: dict[str, Any], section: dict[str, Any], row: dict[str, Any] | None
) -> Any:
    if "." in when.field:
        section_code, name = when.field.split(".", 1)
        return (data.get(section_code) or {}).get(name)
    if row is not None and when.field in row:
        return row.get(when.field)
    return section.get(when.field)


def holds(
    when: When | None,
    data: dict[str, Any],
    *,
    section: dict[str, Any] | None = None,
    row: dict[str, Any] | None = None,
) -> bool:
    if when is None:
        return False
    value = _resolve(when, data, section or {}, row)
    if when.values:
        if isinstance(value, list):
            result = any(item in when.values for item in value)
        else:
            result = value in when.values
    else:
        result = not is_empty(value)
    return not result if when.negate else result


def section_applies(section: Section, data: dict[str, Any]) -> bool:
    return section.applies_when is None or holds(section.applies_when, data)


def section_items_shown(section: Section, data: dict[str, Any]) -> list[Field | Group]:
    """The section's fields and groups that apply to the request as it stands: in a section
    made of blocks (EIO section H), those of the blocks whose measure is asked for (ticked
    in section C), and any named by no block. The editor shows these, the check checks
    these and the document prints these."""
    if not section.blocks:
        return list(section.items)
    in_blocks = {name for block in section.blocks for name in block.fields}
    applicable = {
        name
        for block in section.blocks
        if block.applies_when is None or holds(block.applies_when, data)
        for name in block.fields
    }
    return [item for item in section.items if item.name not in in_blocks or item.name in applicable]


def field_required(
    field: Field, data: dict[str, Any], section: dict[str, Any], row: dict[str, Any] | None = None
) -> bool:
    return field.required or holds(field.required_when, data, section=section, row=row)


def _check_field(
    field: Field,
    value: Any,
    *,
    data: dict[str, Any],
    section: Section,
    section_values: dict[str, Any],
    path: str,
    row: dict[str, Any] | None,
    row_number: int | None,
) -> Problem | None:
    if is_empty(value):
        if field_required(field, data, section_values, row):
            return Problem(
                section.code, path, field.label, _("Missing."), row_number, code="missing"
            )
        return None
    message = check_value(field, value, row=row)
    if message:
        refused = text_refusal(field, value)
        return Problem(
            section.code,
            path,
            field.label,
            message,
            row_number,
            code=refused.code if refused else "invalid",
        )
    return None


def _check_group(
    group: Group,
    rows: Any,
    *,
    data: dict[str, Any],
    section: Section,
    section_values: dict[str, Any],
) -> list[Problem]:
    path = f"{section.code}.{group.name}"
    if not isinstance(rows, list):
        rows = []
    problems = []
    needed = max(
        group.min_rows, 1 if holds(group.required_when, data, section=section_values) else 0
    )
    if len(rows) < needed:
        problems.append(
            Problem(
                section.code,
                path,
                group.label,
                _("Add at least %(count)d.") % {"count": needed},
                code="too_few_rows",
            )
        )
    if len(rows) > group.max_rows:
        problems.append(
            Problem(
                section.code,
                path,
                group.label,
                _("%(count)d at most.") % {"count": group.max_rows},
                code="too_many_rows",
            )
        )
    for number, row in enumerate(rows):
        row_values = row if isinstance(row, dict) else {}
        for field in group.fields:
            problem = _check_field(
                field,
                row_values.get(field.name),
                data=data,
                section=section,
                section_values=section_values,
                path=f"{path}.{number}.{field.name}",
                row=row_values,
                row_number=number,
            )
            if problem:
                problems.append(problem)
    return problems


def section_problems(
    *, declaration: InstrumentDeclaration, section: Section, data: dict[str, Any]
) -> list[Problem]:
    if not section_applies(section, data):
        return []
    values = data.get(section.code)
    section_values: dict[str, Any] = values if isinstance(values, dict) else {}
    problems: list[Problem] = []
    for item in section_items_shown(section, data):
        if isinstance(item, Group):
            problems += _check_group(
                item,
                section_values.get(item.name),
                data=data,
                section=section,
                section_values=section_values,
            )
        else:
            problem = _check_field(
                item,
                section_values.get(item.name),
                data=data,
                section=section,
                section_values=section_values,
                path=f"{section.code}.{item.name}",
                row=None,
                row_number=None,
            )
            if problem:
                problems.append(problem)
    return problems


# A name the form does not have is said back as given, cut short: it may be anything.
_SHOWN_NAME_LENGTH = 64


def shown_name(name: object) -> str:
    text = str(name)
    return text if len(text) <= _SHOWN_NAME_LENGTH else text[:_SHOWN_NAME_LENGTH] + "…"


def _refused(section: Section, path: str, key: str, found: Refusal, row: int | None) -> Problem:
    return Problem(section.code, path, key, found.message, row, code=found.code)


def _unknown(section: Section, prefix: str, name: object, row: int | None = None) -> Problem:
    return Problem(
        section.code,
        f"{prefix}.{shown_name(name)}",
        shown_name(name),
        _("The form has no field “%(name)s” here.") % {"name": shown_name(name)},
        row,
        code="unknown_field",
    )


def _wrong_form(section: Section, path: str, key: str, expected: str, row: int | None) -> Problem:
    return Problem(
        section.code,
        path,
        key,
        _("This value has the wrong form: %(expected)s expected.") % {"expected": expected},
        row,
        code="wrong_type",
    )


def _row_refusals(
    section: Section, group: Group, number: int, row: Any, path: str
) -> list[Problem]:
    if not isinstance(row, dict):
        return [_wrong_form(section, path, group.label, _("an object of fields"), number)]
    problems: list[Problem] = []
    fields = {fld.name: fld for fld in group.fields}
    for name in row:
        if name not in fields and name != TRANSLATIONS_KEY:
            problems.append(_unknown(section, path, name, number))
    for fld in group.fields:
        found = storage_refusal(fld, row.get(fld.name))
        if found:
            problems.append(_refused(section, f"{path}.{fld.name}", fld.label, found, number))
    return problems


def section_refusals(*, section: Section, values: dict[str, Any]) -> list[Problem]:
    """The fields of ``values`` (a section as posted) that cannot be stored at all, even in
    a draft: a field the form does not have, a value not of its type's form, over its
    limit, holding a control character, or a line break in a one-line field
    (fieldtypes.storage_refusal)."""
    problems: list[Problem] = []
    items = {item.name: item for item in section.items}
    for name in values:
        if name not in items and name != TRANSLATIONS_KEY:
            problems.append(_unknown(section, section.code, name))
    for item in section.items:
        if isinstance(item, Group):
            path = f"{section.code}.{item.name}"
            rows = values.get(item.name)
            if rows is None:
                continue
            if not isinstance(rows, list):
                problems.append(_wrong_form(section, path, item.label, _("a list of rows"), None))
                continue
            if len(rows) > item.max_rows:
                problems.append(
                    Problem(
                        section.code,
                        path,
                        item.label,
                        _("%(count)d at most.") % {"count": item.max_rows},
                        code="too_many_rows",
                    )
                )
                continue
            for number, row in enumerate(rows):
                problems += _row_refusals(section, item, number, row, f"{path}.{number}")
        else:
            found = storage_refusal(item, values.get(item.name))
            if found:
                problems.append(
                    _refused(section, f"{section.code}.{item.name}", item.label, found, None)
                )
    return problems + section_translation_refusals(section=section, values=values)


def values_without_refused(
    *, section: Section, values: dict[str, Any], refused: list[Problem]
) -> dict[str, Any]:
    """``values`` with each refused field emptied and what the form does not have left
    out: what may be stored of them."""
    paths = {problem.path for problem in refused}
    items = {item.name for item in section.items}
    kept: dict[str, Any] = {
        name: value for name, value in values.items() if name in items or name == TRANSLATIONS_KEY
    }
    for item in section.items:
        if item.name not in values:
            continue
        path = f"{section.code}.{item.name}"
        if isinstance(item, Group):
            rows = values[item.name]
            if path in paths or not isinstance(rows, list):
                kept[item.name] = []
                continue
            kept[item.name] = [
                _without_refused_translations(
                    {
                        name: ("" if f"{path}.{number}.{name}" in paths else value)
                        for name, value in row.items()
                        if name in {fld.name for fld in item.fields} or name == TRANSLATIONS_KEY
                    },
                    f"{path}.{number}",
                    paths,
                )
                if isinstance(row, dict) and f"{path}.{number}" not in paths
                else {}
                for number, row in enumerate(rows)
            ]
        else:
            kept[item.name] = "" if path in paths else values[item.name]
    result: dict[str, Any] = _without_refused_translations(kept, section.code, paths)
    return result


def request_completeness(
    *, declaration: InstrumentDeclaration, data: dict[str, Any]
) -> list[Problem]:
    """Every problem of ``data``, in the order of the declaration's sections and fields."""
    problems: list[Problem] = []
    for section in declaration.sections:
        problems += section_problems(declaration=declaration, section=section, data=data)
    return problems + _rule_problems(declaration=declaration, data=data)


def _rule_problems(*, declaration: InstrumentDeclaration, data: dict[str, Any]) -> list[Problem]:
    """The declaration's checks across fields, each on the field it names, in a section
    that applies."""
    if declaration.rules is None:
        return []
    problems: list[Problem] = []
    sections = {section.code: section for section in declaration.sections}
    for code, name, message in declaration.rules(data):
        section = sections.get(code)
        if section is None or not section_applies(section, data):
            continue
        item = next((item for item in section.items if item.name == name), None)
        if item is None:
            continue
        problems.append(Problem(code, f"{code}.{name}", item.label, message, code="inconsistent"))
    return problems


# Free text is the issuing authority's to translate: beside each value of a free-text
# field, in the dict that holds it (a section's values or a repeatable group's row), a
# mapping of the target language to the field's translation:
#     {"facts": "Les faits…", "translations": {"de": {"facts": "Der Sachverhalt…"}}}
# so that a row's translations go with the row when rows are added or removed, and a
# translation into another language than the request's target is never taken for it.
TRANSLATIONS_KEY = "translations"
TRANSLATED_TYPES = frozenset({"textarea"})


def is_translated(field: Field) -> bool:
    """Whether ``field`` is free text, which the issuing authority translates."""
    return field.type in TRANSLATED_TYPES


def translation_of(values: Any, name: str, language: str) -> str:
    """The translation into ``language`` of field ``name`` held beside ``values`` ("")."""
    if not isinstance(values, dict):
        return ""
    translations = values.get(TRANSLATIONS_KEY)
    by_language = translations.get(language) if isinstance(translations, dict) else None
    text = by_language.get(name) if isinstance(by_language, dict) else None
    return text if isinstance(text, str) else ""


def translations_held(values: Any) -> list[tuple[str, str, Any]]:
    """Every (language, field name, text) held in ``values``' translations mapping."""
    translations = values.get(TRANSLATIONS_KEY) if isinstance(values, dict) else None
    if not isinstance(translations, dict):
        return []
    return [
        (str(language), str(name), text)
        for language, by_name in translations.items()
        if isinstance(by_name, dict)
        for name, text in by_name.items()
    ]


def translation_path(path: str) -> str:
    """The problem path of a field's translation ("G.facts" -> "G.facts.translation")."""
    return f"{path}.translation"


def _printed_names(section: Section, data: dict[str, Any]) -> set[str] | None:
    """The items of ``section`` a document prints (those of its applying blocks), or None
    when the section has no blocks and prints them all."""
    if not section.blocks:
        return None
    return {
        name
        for block in section.blocks
        if block.applies_when is None or holds(block.applies_when, data)
        for name in block.fields
    }


def translation_problems(
    *, declaration: InstrumentDeclaration, data: dict[str, Any], language: str, language_name: str
) -> list[Problem]:
    """Each free-text value a document of ``data`` prints without its translation into
    ``language`` (named ``language_name`` in the message), by section and field."""
    message = _("No translation into %(language)s yet.") % {"language": language_name}
    problems: list[Problem] = []
    for section in declaration.sections:
        if not section_applies(section, data):
            continue
        values = data.get(section.code)
        if not isinstance(values, dict):
            continue
        printed = _printed_names(section, data)
        for item in section.items:
            if printed is not None and item.name not in printed:
                continue
            if isinstance(item, Group):
                rows = values.get(item.name)
                for number, row in enumerate(rows if isinstance(rows, list) else []):
                    if not isinstance(row, dict):
                        continue
                    for fld in item.fields:
                        if (
                            is_translated(fld)
                            and not is_empty(row.get(fld.name))
                            and (
                                fld.shown_when is None
                                or holds(fld.shown_when, data, section=values, row=row)
                            )
                            and is_empty(translation_of(row, fld.name, language))
                        ):
                            path = f"{section.code}.{item.name}.{number}.{fld.name}"
                            problems.append(
                                Problem(
                                    section.code,
                                    translation_path(path),
                                    fld.label,
                                    message,
                                    number,
                                    code="translation_missing",
                                )
                            )
            elif (
                is_translated(item)
                and not is_empty(values.get(item.name))
                and is_empty(translation_of(values, item.name, language))
            ):
                path = translation_path(f"{section.code}.{item.name}")
                problems.append(
                    Problem(section.code, path, item.label, message, code="translation_missing")
                )
    return problems


def _language_code(code: str) -> bool:
    return len(code) == 2 and code.islower() and pycountry.languages.get(alpha_2=code) is not None


def _translation_refusals(
    fields: tuple[Field, ...], values: Any, prefix: str, row: int | None
) -> list[Problem]:
    if not isinstance(values, dict) or values.get(TRANSLATIONS_KEY) is None:
        return []
    section_code = prefix.split(".")[0]
    held = f"{prefix}.{TRANSLATIONS_KEY}"
    translations = values[TRANSLATIONS_KEY]
    if not isinstance(translations, dict) or not all(
        isinstance(by_name, dict) for by_name in translations.values()
    ):
        return [
            Problem(
                section_code,
                held,
                TRANSLATIONS_KEY,
                _("This value has the wrong form: %(expected)s expected.")
                % {"expected": _('the translations by language, {"de": {"facts": …}}')},
                row,
                code="wrong_type",
            )
        ]
    by_name = {fld.name: fld for fld in fields if is_translated(fld)}
    problems: list[Problem] = []
    for language, texts in translations.items():
        if not _language_code(language):
            problems.append(
                Problem(
                    section_code,
                    f"{held}.{shown_name(language)}",
                    TRANSLATIONS_KEY,
                    _("“%(code)s” is not a language code (ISO 639-1, such as de).")
                    % {"code": shown_name(language)},
                    row,
                    code="unknown_language",
                )
            )
            continue
        for name, text in texts.items():
            fld = by_name.get(name)
            path = translation_path(f"{prefix}.{shown_name(name)}")
            if any(problem.path == path for problem in problems):
                continue
            if fld is None:
                problems.append(
                    Problem(
                        section_code,
                        path,
                        shown_name(name),
                        _("The form has no free text “%(name)s” to translate here.")
                        % {"name": shown_name(name)},
                        row,
                        code="unknown_field",
                    )
                )
                continue
            found = storage_refusal(fld, text)
            if found:
                problems.append(
                    Problem(section_code, path, fld.label, found.message, row, code=found.code)
                )
    return problems


def section_translation_refusals(*, section: Section, values: dict[str, Any]) -> list[Problem]:
    """The translations of ``values`` that cannot be stored: the same rules as their
    field's value (its limit, no control character)."""
    fields = tuple(item for item in section.items if isinstance(item, Field))
    problems = _translation_refusals(fields, values, section.code, None)
    for item in section.items:
        if isinstance(item, Group):
            rows = values.get(item.name)
            for number, row in enumerate(rows if isinstance(rows, list) else []):
                problems += _translation_refusals(
                    item.fields, row, f"{section.code}.{item.name}.{number}", number
                )
    return problems


def _without_refused_translations(values: Any, prefix: str, paths: set[str]) -> Any:
    if not isinstance(values, dict) or TRANSLATIONS_KEY not in values:
        return values
    kept = dict(values)
    held = f"{prefix}.{TRANSLATIONS_KEY}"
    if held in paths or not isinstance(values[TRANSLATIONS_KEY], dict):
        del kept[TRANSLATIONS_KEY]
        return kept
    kept[TRANSLATIONS_KEY] = {
        language: (
            {
                name: ("" if translation_path(f"{prefix}.{name}") in paths else text)
                for name, text in by_name.items()
            }
            if isinstance(by_name, dict)
            else by_name
        )
        for language, by_name in values[TRANSLATIONS_KEY].items()
        if _language_code(language)
    }
    return kept
