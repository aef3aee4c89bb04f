"""CSV cells that a spreadsheet shows as text, never runs as a formula (CSV injection).

A spreadsheet evaluates a cell whose text starts with =, +, -, @ (or their full-width forms,
which some convert), or with a tab or line break before one of those: such a cell is
written with a leading apostrophe, which spreadsheets take as "text" and do not show. A cell
that starts with an apostrophe gets one more, so that reading the file back (the directory
imports its own exports) restores every value exactly.
"""

from typing import Any

# Written as escapes: the full-width forms look like the ASCII ones.
_FORMULA_STARTS = (
    "=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20",
)  # fmt: skip
_TEXT_MARK = "'"


def _needs_mark(text: str) -> bool:
    return text.startswith(_FORMULA_STARTS) or text.startswith(_TEXT_MARK)


def csv_cell_neutralised(value: Any) -> Any:
    """The value to write in a CSV cell: text marked when a spreadsheet would run it;
    anything else (numbers, None) as it is."""
    if isinstance(value, str) and _needs_mark(value):
        return _TEXT_MARK + value
    return value


def csv_cell_restored(value: Any) -> Any:
    """The value a cell written by csv_cell_neutralised held (other text as it is)."""
    if isinstance(value, str) and value.startswith(_TEXT_MARK) and _needs_mark(value[1:]):
        return value[1:]
    return value
