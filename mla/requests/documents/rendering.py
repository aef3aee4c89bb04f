"""The request as a document: HTML preview and PDF/A-3b, driven by the declaration.

Labels come from the label catalogues, in the issuing side's language and, beside them
when it differs, the executing side's. The PDF embeds the structured request as JSON so a
receiving system can read it back without retyping. Rendering never fetches anything that
user content names: the URL fetcher serves only this package's own assets.
"""

import gettext
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import pycountry
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.core.instants import UTC_ZONE, format_instant
from mla.instruments.completeness import holds, is_translated, section_applies, translation_of
from mla.instruments.declarations import InstrumentDeclaration, declaration_for
from mla.instruments.declarations.schema import Field, Group, Section
from mla.instruments.eevidence import data_for_addressee
from mla.instruments.fieldtypes import is_empty
from mla.instruments.labels import (
    SIGNATURE_PARTS,
    UNVERIFIED_MARK,
    label_marked,
    label_verified,
    section_heading,
)
from mla.requests.documents.pdf_engine import (
    ASSETS,
    AssetsOnlyFetcher,
    RenderFailed,
    RenderJob,
    RenderOverBudget,
    html_to_document,
    render_in_process,
    render_within_budget,
)
from mla.requests.models import Request, canonical_json

__all__ = [
    "ASSETS",
    "AssetsOnlyFetcher",
    "DocumentRenderError",
    "html_to_document",
    "html_to_pdf",
    "request_pdf",
]


class DocumentRenderError(ApplicationError):
    """A document could not be rendered: over its time budget, or the renderer failed."""


JSON_ATTACHMENT_NAME = "request.json"


# About a third of a page in the value column: a longer text would leave a large gap if
# it were pushed whole to the next page.
_BREAKABLE_TEXT = 1200
_BREAKABLE_LINES = 15
# Lines of a list of choices (each choice a line in each language) past which it may break:
# Annex D's 32 categories in two languages are taller than a page.
_BREAKABLE_CHOICE_LINES = 30


@dataclass
class Labels:
    primary: str
    secondary: str = ""  # the other side's wording, when it differs


@dataclass
class Entry:
    labels: Labels
    kind: str  # "text", "choices", "tick"
    text: str = ""
    choices: list[tuple[Labels, bool]] = field(default_factory=list)
    ticked: bool = False
    # Free text's translation into the executing side's language, printed in its column.
    translation: str = ""

    @property
    def breakable(self) -> bool:
        """Long free text (or its translation), or a long list of choices (as Annex D's
        categories in two languages, taller than a page), which may break inside itself
        across pages; a shorter row is kept whole so that no label ends a page without its
        value."""
        choice_lines = sum(2 if labels.secondary else 1 for labels, _ticked in self.choices)
        return (
            any(
                len(text) > _BREAKABLE_TEXT or text.count("\n") > _BREAKABLE_LINES
                for text in (self.text, self.translation)
            )
            or choice_lines > _BREAKABLE_CHOICE_LINES
        )


@dataclass
class RowBlock:
    title: Labels
    entries: list[Entry]


@dataclass
class GroupBlock:
    labels: Labels
    rows: list[RowBlock]
    kind: str = "group"


@dataclass(frozen=True)
class OpenPGPMark:
    """What the PDF says of the OpenPGP signature made of it (see signing.py)."""

    fingerprint: str
    signed_at: datetime
    signature_file: str

    def lines(self, primary: str, secondary: str) -> list[str]:
        grouped = " ".join(self.fingerprint[i : i + 4] for i in range(0, len(self.fingerprint), 4))
        values = {
            "fingerprint": grouped,
            "time": f"{self.signed_at:%Y-%m-%d %H:%M:%S} UTC",
            "file": self.signature_file,
        }
        labels = _labels("document.openpgp", primary, secondary)
        return [
            text.replace(UNVERIFIED_MARK, "").strip().format(**values)
            for text in (labels.primary, labels.secondary)
            if text
        ]


@dataclass
class PartBlock:
    """A numbered part of a section (EIO H1 to H7); untitled for a section without parts."""

    code: str
    title: Labels | None
    items: list[Entry | GroupBlock]


@dataclass
class SignatureBlock:
    """The official form's signature and certification block: filled in by hand or seal."""

    title: Labels
    rows: list[tuple[Labels, str]]
    # The OpenPGP signature of the document, when there is one (fingerprint, time).
    openpgp: list[str] = field(default_factory=list)


@dataclass
class SectionBlock:
    code: str
    title: Labels
    items: list[Entry | GroupBlock]
    parts: list[PartBlock] = field(default_factory=list)
    signature: SignatureBlock | None = None


def _labels(key: str, primary: str, secondary: str) -> Labels:
    first = label_marked(key, primary)
    other = label_marked(key, secondary) if secondary and secondary != primary else ""
    return Labels(first, other if other != first else "")


def bilingual_labels(key: str, primary: str, secondary: str) -> Labels:
    """``key`` in ``primary`` and, when it reads differently, in ``secondary``."""
    return _labels(key, primary, secondary)


@lru_cache(maxsize=16)
def _country_names(language: str) -> gettext.NullTranslations:
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def country_name(code: str, languages: tuple[str, ...] = ("en",)) -> str:
    """The country's name in each of ``languages`` (once when they read alike), and its
    code: "Allemagne / Germany (DE)"."""
    country = pycountry.countries.get(alpha_2=str(code).upper())
    if not country:
        return str(code)
    names: list[str] = []
    for language in languages:
        name = _country_names(language).gettext(country.name)
        if name not in names:
            names.append(name)
    return f"{' / '.join(names)} ({country.alpha_2})"


def _text(item: Field, value: Any, languages: tuple[str, ...] = ("en",)) -> str:
    if is_empty(value):
        return ""
    if item.type == "country":
        return country_name(value, languages)
    if item.type == "datetime" and isinstance(value, dict):
        return f"{value.get('value', '').replace('T', ' ')} ({value.get('tz', '')})"
    if item.type == "datetime_range" and isinstance(value, dict):
        start = str(value.get("start", "")).replace("T", " ")
        end = str(value.get("end", "")).replace("T", " ")
        return f"{start} \u2013 {end} ({value.get('tz', '')})"  # an en dash
    return str(value)


def _entry(item: Field, value: Any, primary: str, secondary: str, holder: Any = None) -> Entry:
    """``item``'s row of the document; free text with its translation into ``secondary``
    (held beside the value in ``holder``), when the document is bilingual."""
    labels = _labels(item.label, primary, secondary)
    if item.type in ("choice", "multichoice"):
        chosen = value if isinstance(value, list) else [value]
        return Entry(
            labels,
            "choices",
            choices=[
                (_labels(f"{item.label}.{code}", primary, secondary), code in chosen)
                for code in item.choices
            ],
        )
    if item.type == "boolean":
        return Entry(labels, "tick", ticked=value is True)
    languages = (primary, secondary) if secondary else (primary,)
    text = _text(item, value, languages)
    translation = (
        translation_of(holder, item.name, secondary)
        if text and secondary and secondary != primary and is_translated(item)
        else ""
    )
    return Entry(labels, "text", text=text, translation=translation)


def _item_block(
    item: Field | Group,
    values: dict[str, Any],
    data: dict[str, Any],
    primary: str,
    secondary: str,
) -> Entry | GroupBlock:
    if not isinstance(item, Group):
        return _entry(item, values.get(item.name), primary, secondary, values)
    rows = values.get(item.name) if isinstance(values.get(item.name), list) else []
    group_labels = _labels(item.label, primary, secondary)
    row_labels = _labels(f"{item.label}.row", primary, secondary)
    return GroupBlock(
        group_labels,
        [
            RowBlock(
                Labels(
                    f"{row_labels.primary} {number}",
                    f"{row_labels.secondary} {number}" if row_labels.secondary else "",
                ),
                [
                    _entry(fld, row.get(fld.name), primary, secondary, row)
                    for fld in item.fields
                    # e.g. a legal person's row prints the legal person's fields only
                    if fld.shown_when is None
                    or holds(fld.shown_when, data, section=values, row=row)
                ],
            )
            for number, row in enumerate(rows or [], start=1)
            if isinstance(row, dict)
        ],
    )


def _parts(
    section: Section, values: dict[str, Any], data: dict[str, Any], primary: str, secondary: str
) -> list[PartBlock]:
    if not section.blocks:
        return [
            PartBlock(
                "", None, [_item_block(i, values, data, primary, secondary) for i in section.items]
            )
        ]
    by_name = {item.name: item for item in section.items}
    printed: set[str] = set()
    parts = []
    for block in section.blocks:
        # A block is printed only when its measure is asked for (e.g. ticked in section C).
        if block.applies_when is not None and not holds(block.applies_when, data):
            continue
        names = [name for name in block.fields if name not in printed]
        printed.update(names)
        parts.append(
            PartBlock(
                block.code,
                _labels(block.title, primary, secondary),
                [_item_block(by_name[n], values, data, primary, secondary) for n in names],
            )
        )
    return parts


def _signature(
    section: Section, values: dict[str, Any], primary: str, secondary: str
) -> SignatureBlock | None:
    if section.signature is None:
        return None
    # Name and post held are those the section gives for the authority's representative;
    # the date and the stamp are left blank for the hand that signs the printed form.
    known = {"name": values.get("representative_name"), "post_held": values.get("post_held")}
    return SignatureBlock(
        _labels(section.signature, primary, secondary),
        [
            (
                _labels(f"{section.signature}.{part}", primary, secondary),
                "" if is_empty(known.get(part)) else str(known.get(part)),
            )
            for part in SIGNATURE_PARTS
        ],
    )


def document_sections(
    *,
    declaration: InstrumentDeclaration,
    data: dict[str, Any],
    primary: str,
    secondary: str,
    for_addressee: bool = False,
) -> list[SectionBlock]:
    """The document's sections; ``for_addressee``: without those withheld from the
    executing authority (an EPOC's section M, for the enforcing authority only)."""
    blocks = []
    for section in declaration.sections:
        if not section_applies(section, data):
            continue
        if for_addressee and section.withheld_from_addressee:
            continue
        values = data.get(section.code) if isinstance(data.get(section.code), dict) else {}
        assert isinstance(values, dict)
        parts = _parts(section, values, data, primary, secondary)
        titles = _labels(section.title, primary, secondary)
        titles.primary = section_heading(section.code, titles.primary)
        if titles.secondary:
            titles.secondary = section_heading(section.code, titles.secondary)
        blocks.append(
            SectionBlock(
                section.code,
                titles,
                [item for part in parts for item in part.items],
                parts,
                _signature(section, values, primary, secondary),
            )
        )
    return blocks


def has_unverified_wording(*, declaration: InstrumentDeclaration, languages: set[str]) -> bool:
    """Whether a document of ``declaration`` may print a wording marked as not checked."""
    return any(
        not label_verified(key, language)
        for language in languages
        for key in _declaration_keys(declaration)
    )


def _declaration_keys(declaration: InstrumentDeclaration) -> list[str]:
    keys = [declaration.title, *([declaration.preamble] if declaration.preamble else [])]
    for section in declaration.sections:
        keys.append(section.title)
        keys.extend(block.title for block in section.blocks)
        if section.signature:
            keys.append(section.signature)
            keys.extend(f"{section.signature}.{part}" for part in SIGNATURE_PARTS)
        for item in section.items:
            fields = item.fields if isinstance(item, Group) else (item,)
            for fld in fields:
                keys.append(fld.label)
                keys.extend(f"{fld.label}.{code}" for code in fld.choices)
    return keys


def _for_addressee(request: Request, for_addressee: bool | None) -> bool:
    """By default a document is the issuing side's own (everything) on its copy, and the
    addressee's (without what is withheld from it) on the copy received."""
    if for_addressee is not None:
        return for_addressee
    return request.direction == Request.Direction.INCOMING


def document_context(
    *,
    request: Request,
    generated_at: datetime | None = None,
    openpgp: OpenPGPMark | None = None,
    for_addressee: bool | None = None,
) -> dict[str, Any]:
    declaration = declaration_for(request.declaration_code)
    primary, secondary = request.issuing_language, request.executing_language
    addressee = _for_addressee(request, for_addressee)
    sections = document_sections(
        declaration=declaration,
        data=request.data,
        primary=primary,
        secondary=secondary,
        for_addressee=addressee,
    )
    shown = (
        data_for_addressee(declaration_code=request.declaration_code, data=request.data)
        if addressee
        else request.data
    )
    openpgp_lines = openpgp.lines(primary, secondary) if openpgp else []
    # In the issuing authority's signature block where the form has one (EIO section K),
    # else at the document's end.
    signing = next((section.signature for section in sections if section.signature), None)
    if signing is not None:
        signing.openpgp = openpgp_lines
    return {
        "openpgp_lines": openpgp_lines if signing is None else [],
        "request": request,
        "title": _labels(declaration.title, primary, secondary),
        "legal_basis": declaration.legal_basis,
        "preamble": (
            _labels(declaration.preamble, primary, secondary) if declaration.preamble else None
        ),
        # Printed at the end of a document that may carry a wording marked as not checked.
        "unverified_note": (
            _labels("document.unverified", primary, secondary)
            if has_unverified_wording(declaration=declaration, languages={primary, secondary})
            else None
        ),
        "unverified_mark": UNVERIFIED_MARK,
        "sections": sections,
        # Of the data the document shows, as the JSON embedded beside it.
        "digest": hashlib.sha256(canonical_json(shown)).hexdigest(),
        # Stated in UTC: the document travels, and says which zone its time is in.
        "generated_at": format_instant(generated_at or timezone.now(), UTC_ZONE),
        "page_word": _labels("document.page", primary, secondary),
        "of_word": _labels("document.of", primary, secondary),
        "generated_word": _labels("document.generated", primary, secondary),
        "for_screen": False,  # the preview sets it: long tokens are made breakable for print
    }


def request_html(
    *,
    request: Request,
    generated_at: datetime | None = None,
    openpgp: OpenPGPMark | None = None,
    for_addressee: bool | None = None,
) -> str:
    return render_to_string(
        "requests/document.html",
        document_context(
            request=request,
            generated_at=generated_at,
            openpgp=openpgp,
            for_addressee=for_addressee,
        ),
    )


def html_to_pdf(
    *,
    html: str,
    json_data: bytes,
    json_name: str = JSON_ATTACHMENT_NAME,
    json_description: str = "Structured request data (JSON)",
) -> bytes:
    """The PDF/A-3b of ``html`` with ``json_data`` embedded, rendered in a child process
    stopped after ``PDF_RENDER_BUDGET_SECONDS`` (0: in this process, without a budget)."""
    job = RenderJob(html, json_data, json_name, json_description)
    budget = float(settings.PDF_RENDER_BUDGET_SECONDS)
    if budget <= 0:
        return render_in_process(job)
    try:
        return render_within_budget(job, budget_seconds=budget)
    except RenderOverBudget as error:
        raise DocumentRenderError(
            _(
                "The document took longer than %(seconds)s seconds to render and was stopped."
                " Shorten its longest texts and try again."
            )
            % {"seconds": f"{budget:g}"},
            extra={"reason": "over_budget"},
        ) from error
    except RenderFailed as error:
        raise DocumentRenderError(
            _("The document could not be rendered: %(reason)s") % {"reason": error},
            extra={"reason": "failed"},
        ) from error


def request_pdf(
    *,
    request: Request,
    generated_at: datetime | None = None,
    openpgp: OpenPGPMark | None = None,
    for_addressee: bool = True,
) -> bytes:
    """The PDF that is signed, sent and downloaded: by default the executing authority's
    (an EPOC's without section M, which goes to the enforcing authority in its own copy);
    ``for_addressee=False`` for the issuing side's full record."""
    html = request_html(
        request=request, generated_at=generated_at, openpgp=openpgp, for_addressee=for_addressee
    )
    return html_to_pdf(
        html=html, json_data=structured_export(request=request, for_addressee=for_addressee)
    )


def structured_export(*, request: Request, for_addressee: bool = True) -> bytes:
    """The request as the JSON a receiving system reads back (also embedded in the PDF);
    by default as its executing authority may read it (mla.instruments.eevidence
    .data_for_addressee)."""
    data = (
        data_for_addressee(declaration_code=request.declaration_code, data=request.data)
        if for_addressee
        else request.data
    )
    return canonical_json(
        {
            "format": "mla-request",
            "version": 1,
            "reference": request.reference,
            "type": request.declaration_code,
            "issuing_authority": request.issuing_authority.identifier,
            "executing_country": request.executing_country.code,
            "executing_authority": (
                request.executing_authority.identifier if request.executing_authority else None
            ),
            "data": data,
            # Of the data exported (the request's data_digest unless a section is withheld).
            "sha256": hashlib.sha256(canonical_json(data)).hexdigest(),
            # The languages the request is written and sent in; its free text's
            # translations are in ``data``, beside each value (mla.instruments.completeness).
            "languages": {
                "issuing": request.issuing_language,
                "executing": request.executing_language,
                "translation_attached": request.translation_attached,
                "reason": request.language_reason,
            },
        }
    )
