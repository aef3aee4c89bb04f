import pytest

from mla.instruments.declarations.schema import Field
from mla.instruments.fieldtypes import check_value, is_empty


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
