"""Which characters the PDF can draw: the code points of the fonts installed on this node.

WeasyPrint (through Pango and fontconfig) falls back from the stylesheet's fonts to any
installed font, so a character is drawn if one installed font has a glyph for it. One no
font covers prints as an empty box (.notdef) that a reader cannot tell from another: the
documents print a visible marker with its code point instead, so that the judge reading
the PDF knows a character was there and which one.
"""

import functools
import logging
import subprocess
import unicodedata

logger = logging.getLogger(__name__)

# Characters drawn as nothing, or as part of their neighbour: never marked.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}
_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))


def _charsets() -> str:
    try:
        return subprocess.run(  # a fixed command, no user input
            ["fc-list", "--format", "%{charset}\\n"],  # fontconfig's own tool
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        logger.warning("fc-list failed: no character will be marked as undrawable")
        return ""


@functools.cache
def covered_code_points() -> frozenset[int] | None:
    """Every code point some installed font has a glyph for, from fontconfig's cache (the
    fonts Pango falls back to); None when it cannot be read (then nothing is marked rather
    than everything)."""
    covered: set[int] = set()
    for span in _charsets().split():
        first, _, last = span.partition("-")
        try:
            covered.update(range(int(first, 16), int(last or first, 16) + 1))
        except ValueError:
            continue
    return frozenset(covered) or None


def is_drawable(char: str) -> bool:
    code_point = ord(char)
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
        return True
    if any(code_point in selectors for selectors in _VARIATION_SELECTORS):
        return True
    covered = covered_code_points()
    return covered is None or code_point in covered


def code_point_label(char: str) -> str:
    return f"U+{ord(char):04X}"
