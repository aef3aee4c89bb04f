"""The label catalogues of request documents: data, one JSON file per language.

Interface text goes through Django's gettext; document labels come from here, so that a
document can carry its labels in the issuing and the executing side's language side by
side, and a new language is a new file, not code.
"""

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

LABELS_DIR = Path(__file__).resolve().parent / "labels"
# Keys of the document's own furniture (page numbers, generation date), not of any form.
DOCUMENT_LABEL_KEYS = (
    "document.generated",
    "document.of",
    "document.page",
    "document.unverified",
    "document.openpgp",
)
# The Annex B acknowledgement of receipt (Directive 2014/41/EU, Art. 16(1)): a fixed form.
ANNEX_B_LABEL_KEYS = (
    "annex_b.title",
    "annex_b.intro",
    "annex_b.legal_basis",
    "annex_b.A.title",
    "annex_b.A.issuing_authority",
    "annex_b.A.issuing_state",
    "annex_b.A.reference",
    "annex_b.A.date_of_issue",
    "annex_b.A.date_of_receipt",
    "annex_b.B.title",
    "annex_b.B.name",
    "annex_b.B.file_reference",
    "annex_b.B.address",
    "annex_b.B.phone",
    "annex_b.B.email",
    "annex_b.C.title",
    "annex_b.C.name",
    "annex_b.C.address",
    "annex_b.C.date_of_transfer",
    "annex_b.C.not_forwarded",
    "annex_b.D.title",
    "annex_b.E.title",
    "annex_b.E.signature",
    "annex_b.E.name_and_function",
    "annex_b.E.date",
)
FALLBACK_LANGUAGE = "en"
# The parts of a section's signature and certification block (EIO sections K and L):
# each a label key under the section's ``signature`` prefix.
SIGNATURE_PARTS = ("name", "post_held", "date", "stamp")
# Printed after a wording of an official form not yet checked against the official text,
# so that it is never presented as official (see provenance.json).
UNVERIFIED_MARK = "\u2020"  # a dagger


@lru_cache(maxsize=32)
def catalogue(language: str) -> dict[str, str]:
    path = LABELS_DIR / f"{language}.json"
    if not path.is_file():
        return {}
    loaded: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@lru_cache(maxsize=1)
def _provenance() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (LABELS_DIR / "provenance.json").read_text(encoding="utf-8")
    )
    return loaded


def label_verified(key: str, language: str) -> bool:
    """Whether ``key``'s wording in ``language`` was checked against the official text.

    A key missing from ``language``'s catalogue is printed in the fallback language: its
    verification is the fallback's.
    """
    if key not in catalogue(language):
        language = FALLBACK_LANGUAGE
    return key not in _provenance()["unverified"].get(language, ())


def label_source(key: str, language: str) -> str:
    """The official text a catalogue's wording comes from, by key prefix ("" if none)."""
    sources: dict[str, str] = _provenance()["sources"].get(language, {})
    return next((source for prefix, source in sources.items() if key.startswith(prefix)), "")


def label(key: str, language: str) -> str:
    """The text of ``key`` in ``language``, else in English, else the key itself."""
    return catalogue(language).get(key) or catalogue(FALLBACK_LANGUAGE).get(key) or key


def label_marked(key: str, language: str) -> str:
    """The text of ``key``, followed by UNVERIFIED_MARK when its wording has not been
    checked against the official text: as shown in forms and printed in documents."""
    text = label(key, language)
    return text if label_verified(key, language) else f"{text} {UNVERIFIED_MARK}"


def section_heading(code: str, title: str) -> str:
    """A section's title with its code once: "SECTION A — …", "ABSCHNITT A — …" (a word
    then the code, in any catalogue's language) and "3 — …" already carry it."""
    head = title.lstrip().upper()
    if re.match(rf"(\w+\s+)?{re.escape(code.upper())}\b", head):
        return title
    return f"{code}. {title}"


def has_language(language: str) -> bool:
    return bool(catalogue(language))
