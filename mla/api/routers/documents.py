"""A request's documents as its pages give them (the PDF, its signature, the structured JSON,
the evidence bundle) and the exchange messages about it.

Each download of a confidential request is recorded in its timeline, as on the pages. The
PDF is rendered by a worker, as for the page: until it is ready the answer is 202 with
Retry-After, so that a client polls instead of holding a connection open.
"""

import datetime
import json
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema

from mla.api.auth import caller_of, scoped
from mla.api.models import Scope
from mla.api.problems import NOT_A_WRITE_TO_THE_REQUEST, problem_response
from mla.api.routers.requests import RequestKey, request_or_404
from mla.exchange.evidence import evidence_bundle, evidence_file_name
from mla.exchange.selectors import request_messages
from mla.requests.documents.downloads import (
    DocumentState,
    DocumentStatus,
    request_document_ask,
    request_document_content,
    request_document_retry,
)
from mla.requests.documents.rendering import structured_export
from mla.requests.documents.signing import signature_file_name, signed_document
from mla.requests.drafting.services import confidential_download_record
from mla.requests.models import Request

router = Router(tags=["documents"], auth=scoped(Scope.READ))

PREPARING_TYPE = "urn:mla-exchange:status:document_pending"


class DocumentPendingOut(Schema):
    type: str = PREPARING_TYPE
    title: str
    status: int = 202
    code: str = "document_pending"
    detail: str
    state: str = Field(description="pending")
    retry_after: int = Field(description="Seconds to wait before asking again.")


class MessageOut(Schema):
    direction: str = Field(description="outgoing (this node's outbox) or incoming (its inbox)")
    message_id: str
    kind: str
    event: str = Field(description="The step a status message carries; empty for others.")
    sender: str = Field(description="The sending authority's identifier.")
    recipient: str = Field(description="The receiving authority's identifier.")
    state: str = Field(description="pending, delivered or failed (sent); received")
    state_display: str
    attempts: int
    last_error: str
    created_at: datetime.datetime
    next_attempt_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    received_at: datetime.datetime | None
    has_receipt: bool


def _binary(media_type: str, description: str) -> dict[str, Any]:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


def _download(content: bytes, *, name: str, media_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=media_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _recorded(http_request: HttpRequest, item: Request, document: str) -> None:
    confidential_download_record(
        request=item, actor=caller_of(http_request).user, document=document
    )


def _pending(http_request: HttpRequest, item: Request, status: DocumentStatus) -> HttpResponse:
    if status.state == DocumentState.FAILED:
        return problem_response(
            request=http_request,
            code="document_failed",
            detail=_("The PDF could not be made.") + (f" {status.reason}" if status.reason else ""),
        )
    seconds = max(1, int(settings.PDF_POLL_SECONDS))
    body = DocumentPendingOut(
        title="Accepted",
        detail=_("The PDF is being prepared. Ask again in %(seconds)d seconds.")
        % {"seconds": seconds},
        state=status.state,
        retry_after=seconds,
    )
    response = HttpResponse(
        json.dumps(body.model_dump(), ensure_ascii=False),
        status=202,
        content_type="application/json",
    )
    response["Retry-After"] = str(seconds)
    response["Location"] = http_request.path
    return response


@router.get(
    "/{issuer}/{reference}/document.pdf",
    response={202: DocumentPendingOut},
    summary="The request's PDF",
    description="200 with the PDF once it is ready (the signed PDF once the request is "
    "issued); 202 with Retry-After while a worker prepares it; 422 `document_failed` when "
    "it could not be made (ask again with POST …/document.pdf/retry).",
    openapi_extra=_binary("application/pdf", "The PDF."),
)
def pdf_download(request: HttpRequest, key: Path[RequestKey]) -> HttpResponse:
    item = request_or_404(request, key.issuer, key.reference)
    status = request_document_ask(request=item)
    content = (
        request_document_content(request=item) if status.state == DocumentState.READY else None
    )
    if content is None:
        return _pending(request, item, status)
    _recorded(request, item, "pdf")
    return _download(content, name=f"{item.reference}.pdf", media_type="application/pdf")


@router.post(
    "/{issuer}/{reference}/document.pdf/retry",
    response={202: DocumentPendingOut},
    summary="Prepare the request's PDF again after it could not be made",
    openapi_extra=NOT_A_WRITE_TO_THE_REQUEST,
)
def pdf_retry(request: HttpRequest, key: Path[RequestKey]) -> HttpResponse:
    item = request_or_404(request, key.issuer, key.reference)
    status = request_document_retry(request=item)
    if status.state == DocumentState.READY:
        status = DocumentStatus(DocumentState.PENDING)  # fetched by the next GET
    return _pending(request, item, status)


@router.get(
    "/{issuer}/{reference}/document.pdf.sig",
    summary="The detached OpenPGP signature of the request's PDF",
    description="Once the request is issued, by its authority's key held on this node; 404 "
    "before, or for a copy received from another node.",
    openapi_extra=_binary("application/pgp-signature", "The armoured signature."),
)
def pdf_signature_download(request: HttpRequest, key: Path[RequestKey]) -> HttpResponse:
    item = request_or_404(request, key.issuer, key.reference)
    signed = signed_document(request=item)
    if signed is None:
        raise Http404
    _recorded(request, item, "pdf_signature")
    return _download(
        signed.signature,
        name=signature_file_name(request=item),
        media_type="application/pgp-signature",
    )


@router.get(
    "/{issuer}/{reference}/document.json",
    summary="The request as structured JSON",
    description="The format a receiving system reads back, also embedded in the PDF; it may "
    "be posted to `POST /requests/` to make a new draft of the same data.",
    openapi_extra={
        "responses": {
            200: {
                "description": "The request's structured JSON.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        }
    },
)
def json_download(request: HttpRequest, key: Path[RequestKey]) -> HttpResponse:
    item = request_or_404(request, key.issuer, key.reference)
    _recorded(request, item, "json")
    return _download(
        structured_export(request=item),
        name=f"{item.reference}.json",
        media_type="application/json",
    )


@router.get(
    "/{issuer}/{reference}/evidence-bundle",
    summary="The evidence bundle of a request (ZIP)",
    description="The messages sent and received about this copy, their receipts, its "
    "timeline and the signed checkpoints covering it, with how to verify each.",
    openapi_extra=_binary("application/zip", "The evidence bundle."),
)
def evidence_bundle_download(request: HttpRequest, key: Path[RequestKey]) -> HttpResponse:
    item = request_or_404(request, key.issuer, key.reference)
    bundle = evidence_bundle(request=item)
    _recorded(request, item, "evidence")
    return _download(bundle, name=evidence_file_name(request=item), media_type="application/zip")


@router.get(
    "/{issuer}/{reference}/messages/",
    response=list[MessageOut],
    summary="The exchange messages of a request",
    description="Sent and received about this copy, oldest first, as its page lists them.",
)
def message_list(request: HttpRequest, key: Path[RequestKey]) -> list[dict[str, Any]]:
    item = request_or_404(request, key.issuer, key.reference)
    return [
        {
            "direction": message.direction,
            "message_id": message.message_id,
            "kind": message.kind,
            "event": message.event,
            "sender": message.sender.identifier,
            "recipient": message.recipient.identifier,
            "state": message.state,
            "state_display": message.state_display,
            "attempts": message.attempts,
            "last_error": message.last_error,
            "created_at": message.created_at,
            "next_attempt_at": message.next_attempt_at,
            "delivered_at": message.delivered_at,
            "received_at": message.received_at,
            "has_receipt": message.has_receipt,
        }
        for message in request_messages(request=item)
    ]
