"""The one rule for what a text may hold, used by forms, imports and received messages."""

import pytest
from django.core.exceptions import ValidationError

from mla.core.text import (
    control_characters,
    json_control_problem,
    text_problem,
    validate_no_control_characters,
    validate_one_line,
)


def test_tab_and_line_breaks_are_allowed_and_every_other_control_is_refused():
    allowed = "Name\tValue\r\nNext line — ﬁ Ωmega اختبار \u202e"
    assert control_characters(allowed) == []
    every_other = [chr(code) for code in (*range(0x20), *range(0x7F, 0xA0))]
    refused = control_characters("".join(every_other))
    assert refused == [character for character in every_other if character not in "\t\n\r"]


def test_the_message_names_each_character_once_by_its_code_point():
    message = text_problem("a\x00b\x00c\x1b")
    assert "U+0000, U+001B" in message


def test_one_line_texts_refuse_line_breaks():
    assert text_problem("a\nb") is None
    assert "one-line" in text_problem("a\nb", one_line=True)
    assert "one-line" in text_problem("a\rb", one_line=True)
    assert text_problem("a\tb", one_line=True) is None


def test_the_validators_raise_a_validation_error():
    with pytest.raises(ValidationError, match="U\\+0000"):
        validate_no_control_characters("a\x00")
    with pytest.raises(ValidationError, match="one-line"):
        validate_one_line("a\r\nb")
    validate_no_control_characters("a\r\nb")


def test_a_json_value_is_searched_at_every_depth_keys_included():
    assert json_control_problem({"E": {"persons": [{"surname": "ok"}]}}) is None
    assert json_control_problem({"E": {"persons": [{"surname": "a\x00"}]}}) == (
        "E.persons.0.surname",
        "U+0000",
    )
    assert json_control_problem({"G": {"fa\x1bcts": "x"}}) == ("G.fa\x1bcts", "U+001B")
