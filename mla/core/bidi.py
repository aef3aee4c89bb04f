"""Bidirectional control characters: the invisible marks that reorder text around them.

A right-to-left override (U+202E) in ``"\\u202egnp.exe"`` makes it read ``exe.png``. Pages
and documents isolate every value so that it cannot reorder its neighbours; where the
characters of a name matter (a file name), their presence is shown as well.
"""

# Embeddings, overrides, isolates and their terminators, and the implicit marks.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def bidi_controls_in(text: str) -> list[str]:
    """The code points (``U+202E``) of the bidirectional controls in ``text``, each once,
    in order of first appearance."""
    seen: list[str] = []
    for char in text:
        point = f"U+{ord(char):04X}"
        if char in BIDI_CONTROLS and point not in seen:
            seen.append(point)
    return seen
