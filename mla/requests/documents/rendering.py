"""The request as a document: HTML preview and PDF/A-3b, driven by the declaration.

Labels come from the label catalogues, in the issuing side's language and, beside them
when it differs, the executing side's. The PDF embeds the structured request as JSON so a
receiving system can read it back without retyping. Rendering never fetches anything that
user content names: the URL fetcher serves only this package's own assets.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pycountry
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.instruments.completeness import section_applies
from mla.instruments.declarations import InstrumentDeclaration, declaration_for
from mla.instruments.declarations.schema import Field, Group
from mla.instruments.fieldtypes import is_empty
from mla.instruments.labels import label, section_heading
from mla.requests.documents.pdf_engine import (
    ASSETS,
    AssetsOnlyFetcher,
    RenderFailed,
    RenderJob,
    RenderOverBudget,
    render_in_process,
    render_within_budget,
)
from mla.requests.models import Request, canonical_json

__all__ = ["ASSETS", "AssetsOnlyFetcher", "DocumentRenderError", "html_to_pdf", "request_pdf"]


class DocumentRenderError(ApplicationError):
    """A document could not be rendered: over its time budget, or the renderer failed."""


JSON_ATTACHMENT_NAME = "request.json"


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


@dataclass
class RowBlock:
    title: Labels
    entries: list[Entry]


@dataclass
class GroupBlock:
    labels: Labels
    rows: list[RowBlock]
    kind: str = "group"


@dataclass
class SectionBlock:
    code: str
    title: Labels
    items: list[Entry | GroupBlock]


def _labels(key: str, primary: str, secondary: str) -> Labels:
    first = label(key, primary)
    other = label(key, secondary) if secondary and secondary != primary else ""
    return Labels(first, other if other != first else "")


def bilingual_labels(key: str, primary: str, secondary: str) -> Labels:
    """``key`` in ``primary`` and, when it reads differently, in ``secondary``."""
    return _labels(key, primary, secondary)


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=str(code).upper())
    return f"{country.name} ({country.alpha_2})" if country else str(code)


def _text(item: Field, value: Any) -> str:
    if is_empty(value):
        return ""
    if item.type == "country":
        return _country_name(value)
    if item.type == "datetime" and isinstance(value, dict):
        return f"{value.get('value', '').replace('T', ' ')} ({value.get('tz', '')})"
    if item.type == "datetime_range" and isinstance(value, dict):
        start = str(value.get("start", "")).replace("T", " ")
        end = str(value.get("end", "")).replace("T", " ")
        return f"{start} \u2013 {end} ({value.get('tz', '')})"  # an en dash
    return str(value)


def _entry(item: Field, value: Any, primary: str, secondary: str) -> Entry:
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
    return Entry(labels, "text", text=_text(item, value))


def document_sections(
    *, declaration: InstrumentDeclaration, data: dict[str, Any], primary: str, secondary: str
) -> list[SectionBlock]:
    blocks = []
    for section in declaration.sections:
        if not section_applies(section, data):
            continue
        values = data.get(section.code) if isinstance(data.get(section.code), dict) else {}
        assert isinstance(values, dict)
        items: list[Entry | GroupBlock] = []
        for item in section.items:
            if isinstance(item, Group):
                rows = values.get(item.name) if isinstance(values.get(item.name), list) else []
                group_labels = _labels(item.label, primary, secondary)
                row_labels = _labels(f"{item.label}.row", primary, secondary)
                items.append(
                    GroupBlock(
                        group_labels,
                        [
                            RowBlock(
                                Labels(
                                    f"{row_labels.primary} {number}",
                                    f"{row_labels.secondary} {number}"
                                    if row_labels.secondary
                                    else "",
                                ),
                                [
                                    _entry(fld, (row or {}).get(fld.name), primary, secondary)
                                    for fld in item.fields
                                ],
                            )
                            for number, row in enumerate(rows or [], start=1)
                            if isinstance(row, dict)
                        ],
                    )
                )
            else:
                items.append(_entry(item, values.get(item.name), primary, secondary))
        titles = _labels(section.title, primary, secondary)
        titles.primary = section_heading(section.code, titles.primary)
        if titles.secondary:
            titles.secondary = section_heading(section.code, titles.secondary)
        blocks.append(SectionBlock(section.code, titles, items))
    return blocks


def document_context(*, request: Request, generated_at: datetime | None = None) -> dict[str, Any]:
    declaration = declaration_for(request.declaration_code)
    primary, secondary = request.issuing_language, request.executing_language
    return {
        "request": request,
        "title": _labels(declaration.title, primary, secondary),
        "legal_basis": declaration.legal_basis,
        "sections": document_sections(
            declaration=declaration, data=request.data, primary=primary, secondary=secondary
        ),
        "digest": request.data_digest,
        "generated_at": generated_at or timezone.now(),
        "page_word": _labels("document.page", primary, secondary),
        "of_word": _labels("document.of", primary, secondary),
        "generated_word": _labels("document.generated", primary, secondary),
        "for_screen": False,  # the preview sets it: long tokens are made breakable for print
    }


def request_html(*, request: Request, generated_at: datetime | None = None) -> str:
    return render_to_string(
        "requests/document.html", document_context(request=request, generated_at=generated_at)
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


def request_pdf(*, request: Request, generated_at: datetime | None = None) -> bytes:
    html = request_html(request=request, generated_at=generated_at)
    return html_to_pdf(html=html, json_data=structured_export(request=request))


def structured_export(*, request: Request) -> bytes:
    """The request as the JSON a receiving system reads back (also embedded in the PDF)."""
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
            "data": request.data,
            "sha256": request.data_digest,
        }
    )
