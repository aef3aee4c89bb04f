import re

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from mla.core.bidi import bidi_controls_in
from mla.requests.documents.glyphs import code_point_label, is_drawable

register = template.Library()


@register.filter
def css_string(value: object) -> SafeString:
    """``value`` as the inside of a double-quoted CSS string (for @page margin boxes).

    Every character outside a small safe set becomes a CSS hex escape, so that nothing in
    the value can close the string or the rule.
    """
    out = []
    for char in str(value):
        if char.isalnum() or char in " -_.:/,()+":
            out.append(char)
        else:
            out.append(f"\\{ord(char):x} ")
    return mark_safe("".join(out))  # noqa: S308  # every other character is escaped above


# A token (a run without a space) longer than this gets a break opportunity every
# _BREAK_EVERY characters (a digest of 64 hex digits stays whole). WeasyPrint lays out the
# whole rest of an unbreakable token for each line it breaks by `overflow-wrap: anywhere`
# (time grows with the square of its length: 40,000 characters took 20 s); with an
# opportunity on every line it stays linear.
# The chunk must stay shorter than the narrowest column's line (measured: 64-character
# chunks in a value column are as slow as none, 32 and 16 are linear).
_LONG_TOKEN = 64
_BREAK_EVERY = 16
_ZERO_WIDTH_SPACE = "\u200b"
_LONG_TOKEN_PATTERN = re.compile(rf"[^\s\u200b]{{{_LONG_TOKEN + 1},}}")


def _breakable(match: re.Match[str]) -> str:
    token = match.group(0)
    return _ZERO_WIDTH_SPACE.join(
        token[start : start + _BREAK_EVERY] for start in range(0, len(token), _BREAK_EVERY)
    )


def breakable_tokens(text: str) -> str:
    """``text`` with an invisible break opportunity inside every long token (no glyph, and
    not in the text that pdftotext or a copy extracts)."""
    return _LONG_TOKEN_PATTERN.sub(_breakable, text)


@register.filter
def document_value(value: object, for_screen: bool = False) -> SafeString:
    """A free-text value for a document: escaped, each line isolated in ``<bdi>`` (so that
    a direction override in it cannot reorder the next line or what surrounds it) and, in
    the PDF, long tokens made breakable. Empty shows as a dash."""
    text = str(value) if value not in (None, "") else "—"
    if not for_screen:
        text = breakable_tokens(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    shown = (escape(line) if for_screen else undrawable_marked(escape(line)) for line in lines)
    return mark_safe("<br>".join(f"<bdi>{line}</bdi>" for line in shown))  # noqa: S308  # each line is escaped


def undrawable_marked(escaped: str) -> str:
    """Escaped text with each character no installed font can draw replaced by a visible
    marker naming its code point (an empty box would hide which character it was)."""
    if escaped.isascii():
        return escaped
    return "".join(
        char
        if char.isascii() or is_drawable(char)
        else f'<span class="undrawable">[{code_point_label(char)}]</span>'
        for char in escaped
    )


@register.filter
def file_name(value: object) -> SafeString:
    """A file name isolated in ``<bdi>``, followed by a visible warning naming the code
    points when it contains bidirectional controls (``\\u202egnp.exe`` reads "exe.png")."""
    name = str(value)
    controls = bidi_controls_in(name)
    shown = format_html("<bdi>{}</bdi>", name)
    if not controls:
        return shown
    warning = _("contains direction controls: %(points)s") % {"points": ", ".join(controls)}
    return format_html('{} <span class="bidi-warning">⚠ {}</span>', shown, warning)
