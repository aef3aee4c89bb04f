"""The section editor: from a declaration's section to form controls, and back from a POST.

Values come back exactly as typed; the completeness check says what is wrong with them.
Repeatable groups post their rows as ``<group>-<n>-<field>`` with the row count in
``<group>-rows``, so that rows can be added and removed without losing what was typed.
"""

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.http import QueryDict

from mla.instruments.completeness import Problem, field_required, holds, section_items_shown
from mla.instruments.declarations.schema import Field, Group, Section
from mla.instruments.fieldtypes import max_length
from mla.instruments.labels import label, label_marked

MAX_ROWS_POSTED = 200


@dataclass
class Choice:
    code: str
    text: str
    selected: bool


@dataclass
class Control:
    field: Field
    html_name: str
    html_id: str
    text: str
    value: Any
    required: bool
    help: str = ""
    error: str = ""
    choices: list[Choice] = dataclass_field(default_factory=list)
    heading: str = ""  # the official form's block this field opens (EIO H1 to H7)

    @property
    def type(self) -> str:
        return self.field.type

    @property
    def max_length(self) -> int:
        """The field's limit, for the input's maxlength (the save checks it too)."""
        return max_length(self.field)


@dataclass
class Row:
    number: int
    controls: list[Control]


@dataclass
class GroupControl:
    group: Group
    text: str
    html_id: str
    rows: list[Row]
    error: str = ""
    heading: str = ""


def _read_field(item: Field, post: QueryDict, name: str) -> Any:
    if item.type == "boolean":
        return post.get(name) in ("on", "true", "1", "yes")
    if item.type == "multichoice":
        return [code for code in post.getlist(name) if code]
    if item.type == "datetime":
        return {"value": post.get(f"{name}__value", ""), "tz": post.get(f"{name}__tz", "")}
    if item.type == "datetime_range":
        return {
            "start": post.get(f"{name}__start", ""),
            "end": post.get(f"{name}__end", ""),
            "tz": post.get(f"{name}__tz", ""),
        }
    return post.get(name, "")


def _row_count(post: QueryDict, group: Group) -> int:
    try:
        count = int(post.get(f"{group.name}-rows", "0"))
    except ValueError:
        count = 0
    return max(0, min(count, MAX_ROWS_POSTED))


def section_values_from_post(section: Section, post: QueryDict) -> dict[str, Any]:
    """The section's values as posted, with the row added or removed if asked."""
    values: dict[str, Any] = {}
    add_to = post.get("add_row", "")
    remove = post.get("remove_row", "")
    for item in section.items:
        if isinstance(item, Group):
            rows = [
                {
                    fld.name: _read_field(fld, post, f"{item.name}-{number}-{fld.name}")
                    for fld in item.fields
                }
                for number in range(_row_count(post, item))
            ]
            if remove.startswith(f"{item.name}-"):
                index = remove.rsplit("-", 1)[-1]
                if index.isdigit() and int(index) < len(rows):
                    del rows[int(index)]
            if add_to == item.name and len(rows) < item.max_rows:
                empty = QueryDict()
                rows.append({fld.name: _read_field(fld, empty, fld.name) for fld in item.fields})
            values[item.name] = rows
        else:
            values[item.name] = _read_field(item, post, item.name)
    return values


def _choices(item: Field, value: Any, language: str) -> list[Choice]:
    chosen = value if isinstance(value, list) else [value]
    return [
        Choice(code, label_marked(f"{item.label}.{code}", language), code in chosen)
        for code in item.choices
    ]


def _control(
    item: Field,
    value: Any,
    *,
    html_name: str,
    path: str,
    required: bool,
    problems: dict[str, Problem],
    language: str,
) -> Control:
    problem = problems.get(path)
    return Control(
        field=item,
        html_name=html_name,
        html_id="field-" + path.replace(".", "-"),
        text=label_marked(item.label, language),
        value=value,
        required=required,
        help=label(item.help, language) if item.help else "",
        error=problem.message if problem else "",
        choices=_choices(item, value, language) if item.choices else [],
    )


def _block_headings(
    section: Section, controls: list[Control | GroupControl], language: str, data: dict[str, Any]
) -> None:
    """Title the first control of each of the section's official blocks that applies, so
    the form reads in the form's parts (a field named by several opens the first)."""
    opened: dict[str, str] = {}
    for block in section.blocks:
        if block.applies_when is not None and not holds(block.applies_when, data):
            continue
        for name in block.fields:
            opened.setdefault(name, block.title)
    shown: set[str] = set()
    for control in controls:
        name = control.group.name if isinstance(control, GroupControl) else control.field.name
        title = opened.get(name)
        if title and title not in shown:
            shown.add(title)
            control.heading = label_marked(title, language)


def section_controls(
    *,
    section: Section,
    data: dict[str, Any],
    values: dict[str, Any],
    problems: list[Problem],
    language: str,
) -> list[Control | GroupControl]:
    """The controls of ``section`` showing ``values`` (which may differ from the saved data):
    in a section of blocks, only those of the blocks that apply (EIO section H: the
    measures ticked in section C)."""
    by_path = {problem.path: problem for problem in problems}
    merged = {**data, section.code: values}
    controls: list[Control | GroupControl] = []
    for item in section_items_shown(section, merged):
        if isinstance(item, Group):
            rows_value = values.get(item.name)
            rows = rows_value if isinstance(rows_value, list) else []
            path = f"{section.code}.{item.name}"
            group_problem = by_path.get(path)
            controls.append(
                GroupControl(
                    group=item,
                    text=label_marked(item.label, language),
                    html_id="field-" + path.replace(".", "-"),
                    error=group_problem.message if group_problem else "",
                    rows=[
                        Row(
                            number=number,
                            controls=[
                                _control(
                                    fld,
                                    (row if isinstance(row, dict) else {}).get(fld.name),
                                    html_name=f"{item.name}-{number}-{fld.name}",
                                    path=f"{path}.{number}.{fld.name}",
                                    required=field_required(
                                        fld, merged, values, row if isinstance(row, dict) else {}
                                    ),
                                    problems=by_path,
                                    language=language,
                                )
                                for fld in item.fields
                            ],
                        )
                        for number, row in enumerate(rows)
                    ],
                )
            )
        else:
            controls.append(
                _control(
                    item,
                    values.get(item.name),
                    html_name=item.name,
                    path=f"{section.code}.{item.name}",
                    required=field_required(item, merged, values),
                    problems=by_path,
                    language=language,
                )
            )
    _block_headings(section, controls, language, merged)
    return controls


def section_values_keep_hidden(
    *, section: Section, data: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """``values`` as posted, with the saved values of the fields the editor did not show
    (a block whose measure is not asked for): unticking a measure and ticking it again
    finds its fields as they were."""
    saved = data.get(section.code)
    if not section.blocks or not isinstance(saved, dict):
        return values
    shown = {item.name for item in section_items_shown(section, data)}
    kept = {
        item.name: saved[item.name]
        for item in section.items
        if item.name not in shown and item.name in saved
    }
    return {**values, **kept}


def section_problems_shown(
    problems: list[Problem],
    *,
    section: Section,
    values: dict[str, Any],
    post: QueryDict | None,
    saved_before: bool,
) -> list[Problem]:
    """The problems the section's page shows. Before anything is typed, a missing field is
    not yet an error worth shouting about: nothing on a section never saved, and nothing in
    a row just added (nor elsewhere, when a row is added to or removed from a section never
    saved). A save shows them all."""
    adding = post.get("add_row", "") if post is not None else ""
    removing = post.get("remove_row", "") if post is not None else ""
    if post is not None and not adding and not removing:
        return problems
    if not saved_before:
        return []
    rows = values.get(adding) if adding else None
    if not isinstance(rows, list) or not rows:
        return problems
    new_row = f"{section.code}.{adding}.{len(rows) - 1}."
    return [problem for problem in problems if not problem.path.startswith(new_row)]


__all__ = [
    "Control",
    "GroupControl",
    "holds",
    "section_controls",
    "section_problems_shown",
    "section_values_from_post",
    "section_values_keep_hidden",
]
