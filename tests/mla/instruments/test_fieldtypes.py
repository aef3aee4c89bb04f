import pytest

from mla.instruments.declarations import DECLARATIONS
from mla.instruments.declarations.schema import Field, Group
from mla.instruments.fieldtypes import check_value, is_empty, max_length, refusal


def _check(kind, value, **options):
    return check_value(Field("f", "x.f", type=kind, **options), value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("date", "2026-11-28"),
        ("ip", "192.0.2.10"),
        ("ip", "2001:db8::1"),
        ("email", "officer@justice.example"),
        ("phone", "+40 21 123 4567"),
        ("url", "https://provider.example/abuse"),
        ("integer", "42"),
        ("country", "ro"),
        ("language", "fr"),
        ("text", "ﬁ Ωmega — اختبار"),  # odd Unicode and right-to-left text are just text
    ],
)
def test_good_values_pass(kind, value):
    assert _check(kind, value) is None


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("date", "28/11/2026", "YYYY-MM-DD"),
        ("ip", "999.1.1.1", "IPv4 or IPv6"),
        ("ip", "2001:db8:::1", "IPv4 or IPv6"),
        ("email", "not-an-address", "valid e-mail"),
        ("phone", "021 123 4567", "international form"),
        ("phone", "+40 12", "wrong number of digits"),
        ("url", "javascript:alert(1)", "https://"),
        ("integer", "4.5", "whole number"),
        ("country", "XX", "Choose a country"),
    ],
)
def test_bad_values_say_what_is_wrong(kind, value, message):
    assert message in _check(kind, value)


def test_lengths_are_limited():
    assert "too long" in _check("text", "x" * 501)
    assert _check("textarea", "x" * 5000) is None
    assert "too long" in _check("text", "x" * 11, max_length=10)


def test_choices_must_be_offered_codes():
    assert _check("choice", "b", choices=("a", "b")) is None
    assert "Choose among" in _check("choice", "z", choices=("a", "b"))
    assert "Choose among" in _check("multichoice", ["a", "z"], choices=("a", "b"))


def test_datetime_ranges_need_a_zone_and_an_end_after_the_start():
    good = {"start": "2026-03-29T01:00", "end": "2026-03-29T04:00", "tz": "Europe/Paris"}
    assert _check("datetime_range", good) is None
    assert "time zone" in _check("datetime_range", {**good, "tz": ""})
    assert "IANA" in _check("datetime_range", {**good, "tz": "Mars/Olympus"})
    assert "after its start" in _check("datetime_range", {**good, "end": "2026-03-29T00:30"})
    assert "both the start and the end" in _check("datetime_range", {**good, "end": "soon"})


def test_identifiers_are_checked_by_their_type():
    field = Field("value", "x.value", type="identifier")
    assert check_value(field, "198.51.100.7", row={"identifier_type": "ip"}) is None
    assert "IPv4 or IPv6" in check_value(field, "nope", row={"identifier_type": "ip"})
    assert "15 digits" in check_value(field, "12345", row={"identifier_type": "imei"})
    assert "domain name" in check_value(field, "not a domain", row={"identifier_type": "domain"})
    assert check_value(field, "user-1234", row={"identifier_type": "account"}) is None


def test_emptiness():
    assert is_empty("  ")
    assert is_empty([])
    assert is_empty(False)
    assert is_empty({"start": "", "end": "", "tz": "UTC"})
    assert not is_empty({"value": "2026-01-01T10:00", "tz": ""})


def _every_field():
    for declaration in DECLARATIONS.values():
        for section in declaration.sections:
            for item in section.items:
                for field in item.fields if isinstance(item, Group) else (item,):
                    yield declaration.code, section.code, field


def test_every_field_of_every_declaration_has_a_limit_fitting_its_meaning():
    limits = {
        (code, section, field.name): max_length(field) for code, section, field in _every_field()
    }

    assert all(0 < limit <= 20_000 for limit in limits.values())
    assert limits[("eio", "E", "surname")] == 200
    assert limits[("eio", "K", "file_number")] == 100
    # As long as the directory's authority names, from which it is prefilled.
    assert limits[("eio", "K", "authority_name")] == 255
    assert limits[("eio", "K", "phone")] == 50
    assert limits[("eio", "K", "email")] == 254
    assert limits[("eio", "G", "facts")] == 20_000
    assert limits[("mla_subscriber", "2", "reference")] == 100
    assert limits[("preservation", "5", "person_in_charge")] == 200
    # Each field's own limit is the one a value over it is refused by.
    for _code, _section, field in _every_field():
        limit = max_length(field)
        too_long = "x" * (limit + 1)
        assert f"{limit} at most" in refusal(field, too_long)
        assert refusal(field, "x" * limit) is None


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b"])
def test_control_characters_are_refused_in_every_type(character):
    for _code, _section, field in _every_field():
        if field.type == "boolean":
            continue
        assert f"U+{ord(character):04X}" in refusal(field, f"a{character}b")


def test_line_breaks_are_refused_in_one_line_fields_only():
    one_line = [field for _c, _s, field in _every_field() if field.type not in ("textarea",)]
    free_text = [field for _c, _s, field in _every_field() if field.type == "textarea"]

    for field in one_line:
        assert "one-line" in refusal(field, "first\nsecond")
        assert "one-line" in refusal(field, "first\rsecond")
    for field in free_text:
        assert refusal(field, "first\r\nsecond\tthird") is None


def test_a_date_time_part_with_a_control_character_is_refused():
    assert "U+0000" in _check("datetime", {"value": "2026-11-28T14:30", "tz": "Europe/Paris\x00"})
