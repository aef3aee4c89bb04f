from mla.core.bidi import bidi_controls_in


def test_direction_controls_are_named_once_in_order():
    assert bidi_controls_in("\u202egnp.exe\u202c\u202e") == ["U+202E", "U+202C"]


def test_ordinary_and_right_to_left_names_have_none():
    assert bidi_controls_in("report.pdf") == []
    assert bidi_controls_in("تقرير.pdf") == []
