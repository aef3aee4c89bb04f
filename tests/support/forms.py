"""A declaration section's values as the section page's form posts them (the inverse of
mla.requests.drafting.editor.section_values_from_post): for tests that draft through the
pages over HTTP rather than through the services."""

from typing import Any

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
        else:
            posted += _field_post(item, item.name, values.get(item.name))
    return posted
