"""What a text typed, imported or received may hold: no control characters but tab and
line breaks, and no line break at all in a one-line value.

PostgreSQL refuses NUL in text and jsonb, and the other C0/C1 controls (escape, backspace,
bell…) are never typed on purpose: they hide or rewrite what a reader sees in a terminal or
a log. Every way in (forms, the directory import, received messages) uses these checks, so
that the answer is the same everywhere.
"""

import unicodedata
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Controls a text may hold: tab, line feed and carriage return (a textarea's line breaks).
ALLOWED_CONTROLS = frozenset("\t\n\r")
LINE_BREAKS = frozenset("\n\r")


def control_characters(text: str) -> list[str]:
    """The refused control characters of ``text`` (Unicode category Cc, but tab and line
    breaks), once each, in order of appearance."""
    found: list[str] = []
    for character in text:
        if (
            character not in ALLOWED_CONTROLS
            and character not in found
            and unicodedata.category(character) == "Cc"
        ):
            found.append(character)
    return found


def _code_points(characters: list[str]) -> str:
    return ", ".join(f"U+{ord(character):04X}" for character in characters[:5])


def text_problem(text: str, *, one_line: bool = False) -> str | None:
    """Why ``text`` is refused, in words for the person who typed it, or None."""
    refused = control_characters(text)
    if refused:
        return _(
            "This text holds an invisible control character (%(characters)s) that cannot be "
            "stored; remove it (it often comes with a copy from another program)."
        ) % {"characters": _code_points(refused)}
    if one_line and any(character in LINE_BREAKS for character in text):
        return _("This is a one-line field: remove the line breaks.")
    return None


def validate_no_control_characters(value: Any) -> None:
    """Django validator for a multi-line text (tab and line breaks allowed)."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValidationError(problem, code="control_character")


def validate_one_line(value: Any) -> None:
    """Django validator for a one-line text: no control character, no line break."""
    if isinstance(value, str):
        problem = text_problem(value, one_line=True)
        if problem:
            raise ValidationError(problem, code="control_character")


def json_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a JSON value (keys included), with its path such as "E.persons.0"."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key)
            yield from json_strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_strings(item, f"{path}.{index}" if path else str(index))


def json_control_problem(value: Any) -> tuple[str, str] | None:
    """The first string of a JSON value holding a refused control character: its path and
    the characters found, or None."""
    for path, text in json_strings(value):
        refused = control_characters(text)
        if refused:
            return path, _code_points(refused)
    return None
