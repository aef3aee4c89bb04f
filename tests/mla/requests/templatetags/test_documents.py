"""The filters that put user text into documents and pages."""

from mla.requests.templatetags.documents import breakable_tokens, document_value, file_name

ZERO_WIDTH_SPACE = "\u200b"


def test_a_long_token_gets_a_break_opportunity_every_sixteen_characters():
    token = "x" * 100_000

    broken = breakable_tokens(f"before {token} after")

    pieces = broken.split()[1].split(ZERO_WIDTH_SPACE)
    assert {len(piece) for piece in pieces} == {16}
    assert "".join(pieces) == token
    assert broken.startswith("before ")
    assert broken.endswith(" after")


def test_ordinary_words_and_a_digest_stay_whole():
    text = "Facts of the case. " + "ab" * 32  # a SHA-256 in hex is 64 characters

    assert breakable_tokens(text) == text


def test_a_value_is_escaped_and_each_line_isolated():
    html = document_value("<b>one</b>\n\u202egnp.exe\r\nthree")

    assert html == (
        "<bdi>&lt;b&gt;one&lt;/b&gt;</bdi><br><bdi>\u202egnp.exe</bdi><br><bdi>three</bdi>"
    )


def test_long_tokens_are_made_breakable_for_print_only():
    token = "y" * 200

    assert ZERO_WIDTH_SPACE in document_value(token)
    assert ZERO_WIDTH_SPACE not in document_value(token, True)


def test_an_empty_value_shows_a_dash():
    assert document_value("") == "<bdi>—</bdi>"
    assert document_value(None) == "<bdi>—</bdi>"


def test_a_file_name_with_a_direction_override_is_marked_with_its_code_point():
    html = file_name("invoice\u202egnp.exe")

    assert html.startswith("<bdi>invoice\u202egnp.exe</bdi>")
    assert "⚠" in html
    assert "U+202E" in html


def test_an_ordinary_file_name_is_only_isolated():
    assert file_name("<order>.pdf") == "<bdi>&lt;order&gt;.pdf</bdi>"


def test_a_character_no_installed_font_draws_is_shown_by_its_code_point():
    # U+E000 is private use: no font of the node has it (the test fonts are Debian's).
    html = document_value("Alias \ue000 \U0001f600 é <x>")

    assert '<span class="undrawable">[U+E000]</span>' in html
    assert "\U0001f600" in html  # Noto Color Emoji draws it
    assert "é" in html
    assert "&lt;x&gt;" in html


def test_the_screen_keeps_every_character_as_typed():
    assert document_value("Alias \ue000", for_screen=True) == "<bdi>Alias \ue000</bdi>"
