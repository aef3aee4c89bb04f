"""The label catalogues of request documents: data, one JSON file per language.

Interface text goes through Django's gettext; document labels come from here, so that a
document can carry its labels in the issuing and the executing side's language side by
side, and a new language is a new file, not code.
"""

import json
from functools import lru_cache
from pathlib import Path

LABELS_DIR = Path(__file__).resolve().parent / "labels"
# Keys of the document's own furniture (page numbers, generation date), not of any form.
DOCUMENT_LABEL_KEYS = ("document.generated", "document.of", "document.page")
FALLBACK_LANGUAGE = "en"


@lru_cache(maxsize=32)
def catalogue(language: str) -> dict[str, str]:
    path = LABELS_DIR / f"{language}.json"
    if not path.is_file():
        return {}
    loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def available_languages() -> list[str]:
    return sorted(path.stem for path in LABELS_DIR.glob("*.json"))


def label(key: str, language: str) -> str:
    """The text of ``key`` in ``language``, else in English, else the key itself."""
    return catalogue(language).get(key) or catalogue(FALLBACK_LANGUAGE).get(key) or key


def section_heading(code: str, title: str) -> str:
    """A section's title with its code once: "SECTION A — …" and "3 — …" already carry it."""
    head = title.lstrip().upper()
    if head.startswith(code.upper()) or head.startswith(("SECTION", "SECTEUR")):
        return title
    return f"{code}. {title}"


def has_language(language: str) -> bool:
    return bool(catalogue(language))
