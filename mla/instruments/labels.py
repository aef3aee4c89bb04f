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
# The e-Evidence annexes between the issuing authority and the addressee (Regulation (EU)
# 2023/1543): Annex III, the addressee's information that it cannot comply; Annex V, the
# confirmation that the request for production was issued; Annex VI, the extension of the
# preservation. Their official wording was not reached: every key is listed as unverified.
ANNEX_III_LABEL_KEYS = (
    "annex_iii.title",
    "annex_iii.intro",
    "annex_iii.legal_basis",
    "annex_iii.A.title",
    "annex_iii.A.kind",
    "annex_iii.A.kind.epoc",
    "annex_iii.A.kind.epoc_pr",
    "annex_iii.A.reference",
    "annex_iii.B.title",
    "annex_iii.B.issuing_state",
    "annex_iii.B.issuing_authority",
    "annex_iii.B.issuing_file_number",
    "annex_iii.B.validating_file_number",
    "annex_iii.B.date_of_issue",
    "annex_iii.B.date_of_receipt",
    "annex_iii.C.title",
    "annex_iii.C.service_provider",
    "annex_iii.C.addressee",
    "annex_iii.C.address",
    "annex_iii.D.title",
    "annex_iii.D.reason",
    "annex_iii.D.reason.incomplete",
    "annex_iii.D.reason.manifest_errors",
    "annex_iii.D.reason.insufficient_information",
    "annex_iii.D.reason.data_not_stored",
    "annex_iii.D.reason.data_no_longer_held",
    "annex_iii.D.reason.de_facto_impossible",
    "annex_iii.D.reason.not_competent_authority",
    "annex_iii.D.reason.offence_not_covered",
    "annex_iii.D.reason.service_not_covered",
    "annex_iii.D.reason.immunities_privileges",
    "annex_iii.D.reason.conflicting_obligations",
    "annex_iii.D.reason.other",
    "annex_iii.D.explanation",
    "annex_iii.E.title",
    "annex_iii.E.third_country",
    "annex_iii.E.law_provision",
    "annex_iii.E.law_text",
    "annex_iii.E.nature_of_obligation",
    "annex_iii.E.why_it_applies",
    "annex_iii.E.why_it_conflicts",
    "annex_iii.E.provider_link",
    "annex_iii.E.consequences",
    "annex_iii.E.not_applicable",
    "annex_iii.F.title",
    "annex_iii.G.title",
    "annex_iii.G.data_preserved",
    "annex_iii.H.title",
    "annex_iii.H.authority",
    "annex_iii.H.phone",
    "annex_iii.H.email",
    "annex_iii.H.name_and_function",
    "annex_iii.H.date",
    "annex_iii.H.signature",
)
ANNEX_V_LABEL_KEYS = (
    "annex_v.title",
    "annex_v.intro",
    "annex_v.legal_basis",
    "annex_v.A.title",
    "annex_v.A.reference",
    "annex_v.A.issuing_state",
    "annex_v.A.issuing_authority",
    "annex_v.A.issuing_file_number",
    "annex_v.A.date_of_issue",
    "annex_v.A.date_of_receipt",
    "annex_v.B.title",
    "annex_v.B.service_provider",
    "annex_v.B.addressee",
    "annex_v.C.title",
    "annex_v.C.kind",
    "annex_v.C.kind.epoc",
    "annex_v.C.kind.eio",
    "annex_v.C.kind.mla",
    "annex_v.C.reference",
    "annex_v.C.date_of_issue",
    "annex_v.C.addressed_to",
    "annex_v.D.title",
    "annex_v.D.authority",
    "annex_v.D.phone",
    "annex_v.D.email",
    "annex_v.D.name_and_function",
    "annex_v.D.date",
    "annex_v.D.signature",
)
ANNEX_VI_LABEL_KEYS = (
    "annex_vi.title",
    "annex_vi.intro",
    "annex_vi.legal_basis",
    "annex_vi.A.title",
    "annex_vi.A.reference",
    "annex_vi.A.issuing_state",
    "annex_vi.A.issuing_authority",
    "annex_vi.A.issuing_file_number",
    "annex_vi.A.date_of_issue",
    "annex_vi.A.date_of_receipt",
    "annex_vi.B.title",
    "annex_vi.B.service_provider",
    "annex_vi.B.addressee",
    "annex_vi.C.title",
    "annex_vi.C.days",
    "annex_vi.C.date",
    "annex_vi.C.reason",
    "annex_vi.D.title",
    "annex_vi.D.authority",
    "annex_vi.D.phone",
    "annex_vi.D.email",
    "annex_vi.D.name_and_function",
    "annex_vi.D.date",
    "annex_vi.D.signature",
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
