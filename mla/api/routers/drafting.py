"""A draft's sections, its completeness check and its supporting documents, as the request's
pages read and change them, through the same services.

A section is replaced whole (PUT), with If-Match: the request's ETag, which carries its
``version`` as the section's page does (a save from a stale read is refused). A field that
cannot be stored refuses the whole section (422, code ``fields_refused``): unlike the page,
which keeps the rest of what a person typed, a program keeps its data and sends it again.
"""

import datetime
from typing import Annotated, Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Path, Router, Schema, Status, UploadedFile
from pydantic import ConfigDict

from mla.api.auth import caller_of, scoped
from mla.api.etags import if_match_check, request_etag
from mla.api.models import Scope
from mla.api.routers.requests import RequestKey, request_or_404, request_url, with_etag
from mla.core.errors import ApplicationError
from mla.instruments.completeness import Problem, section_applies
from mla.instruments.declarations import declaration_for
from mla.instruments.declarations.schema import Section
from mla.instruments.labels import label, section_heading
from mla.requests.drafting.attachments import ACCEPTED_TYPES, served_media_type
from mla.requests.drafting.language import request_problems, request_section_problems
from mla.requests.drafting.services import (
    attachment_add_uploaded,
    attachment_remove,
    confidential_download_record,
    request_save_section,
)
from mla.requests.models import Attachment, Request
from mla.requests.selectors import request_attachment

router = Router(tags=["drafting"], auth=scoped(Scope.READ))

SectionCode = Annotated[str, Field(max_length=8, pattern=r"^[A-Za-z0-9_]+$")]
# What a supporting document is served as (drafting.attachments.served_media_type).
SERVED_MEDIA_TYPES = sorted(
    {kind.media_type for kind in ACCEPTED_TYPES} | {"application/octet-stream"}
)
# More than any section has fields and groups.
MAX_SECTION_VALUES = 200


class SectionPath(RequestKey):
    code: SectionCode


class AttachmentPath(RequestKey):
    attachment_id: Annotated[int, Field(ge=1, le=2**63 - 1)]


class ProblemOut(Schema):
    section: str = Field(description="The section's code; empty for the request as a whole.")
    field: str = Field(description="The field's path in its section: persons.2.surname.")
    code: str = Field(description="What is wrong: missing, invalid, too_long, unknown_field…")
    message: str
    label: str = Field(description="The field's label, in the request's language.")


class SectionOut(Schema):
    code: str
    title: str
    applies: bool = Field(description="Whether the section applies to the request as it is.")
    values: dict[str, Any]
    problems: list[ProblemOut] = Field(description="The section's, as its page shows them.")


class SectionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    values: Annotated[dict[str, Any], Field(max_length=MAX_SECTION_VALUES)] = Field(
        description="The section's fields' values, as in the JSON download's `data`; each "
        "repeatable group a list of rows; free text's translations under `translations`."
    )


class ProblemsOut(Schema):
    complete: bool
    problems: list[ProblemOut]


class AttachmentOut(Schema):
    id: int
    name: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str | None
    uploaded_at: datetime.datetime
    url: str = Field(description="Its content.")


def problem_out(problem: Problem, language: str) -> dict[str, Any]:
    return {
        "section": problem.section,
        "field": problem.field,
        "code": problem.code,
        "message": problem.message,
        "label": label(problem.label, language) if problem.label else "",
    }


def _section_or_404(item: Request, code: str) -> Section:
    found = next(
        (s for s in declaration_for(item.declaration_code).sections if s.code == code), None
    )
    if found is None:
        raise Http404
    return found


def _section_out(item: Request, section: Section) -> dict[str, Any]:
    language = item.issuing_language
    values = item.data.get(section.code)
    return {
        "code": section.code,
        "title": section_heading(section.code, label(section.title, language)),
        "applies": section_applies(section, item.data),
        "values": values if isinstance(values, dict) else {},
        "problems": [
            problem_out(problem, language)
            for problem in request_section_problems(request=item, section=section)
        ],
    }


def _attachment_out(item: Request, attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "media_type": attachment.media_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_by": attachment.uploaded_by.username if attachment.uploaded_by else None,
        "uploaded_at": attachment.uploaded_at,
        "url": f"{request_url(item)}attachments/{attachment.pk}/content",
    }


@router.get(
    "/{issuer}/{reference}/sections/{code}/",
    response=SectionOut,
    summary="One section of a request",
)
def section_read(
    request: HttpRequest, key: Path[SectionPath], response: HttpResponse
) -> dict[str, Any]:
    item = request_or_404(request, key.issuer, key.reference)
    with_etag(response, item)
    return _section_out(item, _section_or_404(item, key.code))


@router.put(
    "/{issuer}/{reference}/sections/{code}/",
    response=SectionOut,
    auth=scoped(Scope.DRAFT),
    summary="Replace one section of a draft",
    description="Needs If-Match with the request's ETag (428 without, 412 when stale; 409 "
    "`stale` when it was saved meanwhile). A field that cannot be stored refuses the whole "
    "section: 422 `fields_refused`, each field in `errors`.",
)
def section_replace(
    request: HttpRequest, key: Path[SectionPath], payload: SectionIn, response: HttpResponse
) -> dict[str, Any]:
    item = request_or_404(request, key.issuer, key.reference)
    if_match_check(http_request=request, current=request_etag(item))
    section = _section_or_404(item, key.code)
    saved = request_save_section(
        request=item,
        actor=caller_of(request).user,
        section_code=section.code,
        values=payload.values,
        expected_version=item.version,
        partial=False,
    )
    with_etag(response, saved)
    return _section_out(saved, section)


@router.get(
    "/{issuer}/{reference}/problems/",
    response=ProblemsOut,
    summary="The completeness check of a request",
    description="What the check page lists, in its order: the request's language, then each "
    "section's fields.",
)
def problems_read(request: HttpRequest, key: Path[RequestKey]) -> dict[str, Any]:
    item = request_or_404(request, key.issuer, key.reference)
    problems = request_problems(request=item)
    return {
        "complete": not problems,
        "problems": [problem_out(problem, item.issuing_language) for problem in problems],
    }


@router.get(
    "/{issuer}/{reference}/attachments/",
    response=list[AttachmentOut],
    summary="The supporting documents of a request",
)
def attachment_list(request: HttpRequest, key: Path[RequestKey]) -> list[dict[str, Any]]:
    item = request_or_404(request, key.issuer, key.reference)
    return [_attachment_out(item, attachment) for attachment in item.attachments.all()]


@router.post(
    "/{issuer}/{reference}/attachments/",
    response={201: AttachmentOut},
    auth=scoped(Scope.DRAFT),
    summary="Attach a supporting document to a draft",
    description="multipart/form-data with one part, `file`. Needs If-Match with the "
    "request's ETag. The document is judged by its content (a PDF, an image or an office "
    "document), as on the page.",
)
def attachment_create(
    request: HttpRequest, key: Path[RequestKey], file: File[UploadedFile], response: HttpResponse
) -> Status[dict[str, Any]]:
    item = request_or_404(request, key.issuer, key.reference)
    if_match_check(http_request=request, current=request_etag(item))
    unknown = sorted((set(request.POST) | set(request.FILES)) - {"file"})
    if unknown or len(request.FILES.getlist("file")) != 1:
        raise ApplicationError(
            _("Send one part, “file”, and nothing else."), code="invalid", extra={"problems": []}
        )
    added = attachment_add_uploaded(request=item, actor=caller_of(request).user, upload=file)
    response["Location"] = _attachment_out(item, added)["url"]
    return Status(201, _attachment_out(item, added))


def _attachment_or_404(item: Request, attachment_id: int) -> Attachment:
    attachment = request_attachment(request=item, attachment_id=attachment_id)
    if attachment is None:
        raise Http404
    return attachment


@router.get(
    "/{issuer}/{reference}/attachments/{attachment_id}/",
    response=AttachmentOut,
    summary="One supporting document of a request",
)
def attachment_read(request: HttpRequest, key: Path[AttachmentPath]) -> dict[str, Any]:
    item = request_or_404(request, key.issuer, key.reference)
    return _attachment_out(item, _attachment_or_404(item, key.attachment_id))


@router.delete(
    "/{issuer}/{reference}/attachments/{attachment_id}/",
    response={204: None},
    auth=scoped(Scope.DRAFT),
    summary="Remove a supporting document from a draft",
    description="Needs If-Match with the request's ETag.",
)
def attachment_delete(request: HttpRequest, key: Path[AttachmentPath]) -> Status[None]:
    item = request_or_404(request, key.issuer, key.reference)
    if_match_check(http_request=request, current=request_etag(item))
    attachment_remove(
        attachment=_attachment_or_404(item, key.attachment_id), actor=caller_of(request).user
    )
    return Status(204, None)


@router.get(
    "/{issuer}/{reference}/attachments/{attachment_id}/content",
    summary="A supporting document's content",
    description="Its download is recorded in the timeline of a confidential request, as on "
    "the page.",
    openapi_extra={
        "responses": {
            200: {
                "description": "The document, with the type its content showed.",
                "content": {
                    media_type: {"schema": {"type": "string", "format": "binary"}}
                    for media_type in SERVED_MEDIA_TYPES
                },
            }
        }
    },
)
def attachment_content(request: HttpRequest, key: Path[AttachmentPath]) -> FileResponse:
    item = request_or_404(request, key.issuer, key.reference)
    attachment = _attachment_or_404(item, key.attachment_id)
    confidential_download_record(
        request=item, actor=caller_of(request).user, document=f"attachment:{attachment.sha256}"
    )
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=served_media_type(attachment.media_type),
    )
