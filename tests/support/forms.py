"""A declaration section's values as the section page's form posts them (the inverse of
mla.requests.drafting.editor.section_values_from_post): for tests that draft through the
pages over HTTP rather than through the services."""

from typing import Any

from mla.instruments.completeness import TRANSLATIONS_KEY, is_translated
from mla.instruments.declarations import Field, Group, Section


def _field_post(item: Field, name: str, value: Any) -> list[tuple[str, str]]:
    if item.type == "boolean":
        return [(name, "on")] if value else []
    if item.type == "multichoice":
        return [(name, str(code)) for code in value or []]
    if item.type == "datetime":
        value = value or {}
        return [(f"{name}__value", value.get("value", "")), (f"{name}__tz", value.get("tz", ""))]
    if item.type == "datetime_range":
        value = value or {}
        return [
            (f"{name}__start", value.get("start", "")),
            (f"{name}__end", value.get("end", "")),
            (f"{name}__tz", value.get("tz", "")),
        ]
    return [(name, "" if value is None else str(value))]


def _translations_post(fields: Any, values: Any, prefix: str) -> list[tuple[str, str]]:
    """Each free text's translation, as the side-by-side editor posts it (one language:
    the request's target, the only one a request keeps)."""
    translations = values.get(TRANSLATIONS_KEY) if isinstance(values, dict) else None
    posted: list[tuple[str, str]] = []
    for by_name in (translations or {}).values():
        for fld in fields:
            if is_translated(fld) and fld.name in by_name:
                posted.append((f"{prefix}{fld.name}__translation", str(by_name[fld.name])))
    return posted


def section_post(section: Section, values: dict[str, Any]) -> list[tuple[str, str]]:
    posted: list[tuple[str, str]] = []
    for item in section.items:
        if isinstance(item, Group):
            rows = values.get(item.name) or []
            posted.append((f"{item.name}-rows", str(len(rows))))
            for number, row in enumerate(rows):
                for fld in item.fields:
                    posted += _field_post(
                        fld, f"{item.name}-{number}-{fld.name}", row.get(fld.name)
                    )
                posted += _translations_post(item.fields, row, f"{item.name}-{number}-")
        else:
            posted += _field_post(item, item.name, values.get(item.name))
    fields = [item for item in section.items if isinstance(item, Field)]
    return posted + _translations_post(fields, values, "")
