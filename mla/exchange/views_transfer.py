"""The exchange seen from a request's page (send a failed message again, take a message or a
receipt away as a file, the evidence bundle) and the import of messages and receipts brought
as files. Thin: each view checks who asks, then calls a service.

Everything about a request answers 404 to whoever does not see that copy of it, as the
request's own pages do.
"""

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mla.accounts.models import User
from mla.core.edge import errors_as_messages
from mla.core.errors import ApplicationError
from mla.exchange.evidence import evidence_bundle, evidence_file_name
from mla.exchange.models import OutboxMessage
from mla.exchange.outbox import outbox_retry
from mla.exchange.selectors import inbox_message, request_inbox_message, request_outbox_message
from mla.exchange.stored import manifest_event
from mla.exchange.transfer import (
    inbox_receipt_file,
    may_import,
    message_import,
    outbox_message_file,
    outbox_receipt_bring_back,
    outbox_receipt_file,
    receipt_bring_back_check,
    receipt_import,
)
from mla.exchange.wire.errors import TOO_LARGE, MessageRefused
from mla.exchange.wire.receipts import MAX_RECEIPT_BYTES
from mla.requests.models import Request
from mla.requests.selectors import request_visible_to
from mla.requests.views.common import confidential_download_record, request_or_404, signed_in_user

# Message ids imported in this session: their receipts may be downloaded by who imported
# them, also when the request they carry is not visible to that person.
_IMPORTED_SESSION_KEY = "exchange_imported"
_IMPORTED_KEPT = 50


def _outbox_or_404(item: Request, message_id: uuid.UUID) -> OutboxMessage:
    message = request_outbox_message(request=item, message_id=message_id)
    if message is None:
        raise Http404
    return message


def _attachment(content: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _back(item: Request) -> HttpResponse:
    return redirect(item.get_absolute_url() + "#exchange")


@require_POST
def message_retry(
    request: HttpRequest, issuer: str, reference: str, message_id: uuid.UUID
) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    message = _outbox_or_404(item, message_id)
    with errors_as_messages(request):
        outbox_retry(message=message, actor=signed_in_user(request))
        messages.success(
            request,
            _("The message to %(authority)s will be sent again.")
            % {"authority": message.recipient.name},
        )
    return _back(item)


def message_download(
    request: HttpRequest, issuer: str, reference: str, message_id: uuid.UUID
) -> HttpResponse:
    """A sent message as a file, for a channel that is not online."""
    item = request_or_404(request, issuer, reference)
    message = _outbox_or_404(item, message_id)
    with errors_as_messages(request):
        name, sealed = outbox_message_file(message=message)
        confidential_download_record(request, item, f"message:{message.message_id}")
        return _attachment(sealed, name, "application/octet-stream")
    return _back(item)


def receipt_download(
    request: HttpRequest, issuer: str, reference: str, message_id: uuid.UUID
) -> HttpResponse:
    """The signed receipt kept for a message of this request, sent or received."""
    item = request_or_404(request, issuer, reference)
    sent = request_outbox_message(request=item, message_id=message_id)
    file: tuple[str, bytes] | None
    if sent is not None:
        file = outbox_receipt_file(message=sent)
    else:
        received = request_inbox_message(request=item, message_id=message_id)
        file = inbox_receipt_file(message=received) if received is not None else None
    if file is None:
        raise Http404
    confidential_download_record(request, item, f"receipt:{message_id}")
    return _attachment(file[1], file[0], "application/octet-stream")


@require_POST
def receipt_upload(
    request: HttpRequest, issuer: str, reference: str, message_id: uuid.UUID
) -> HttpResponse:
    """A receipt brought back as a file for a message of this request."""
    item = request_or_404(request, issuer, reference)
    message = _outbox_or_404(item, message_id)
    user = signed_in_user(request)
    with errors_as_messages(request):
        receipt_bring_back_check(message=message, actor=user)  # before the file is read
        outbox_receipt_bring_back(
            message=message, actor=user, receipt=_upload(request, limit=MAX_RECEIPT_BYTES)
        )
        messages.success(
            request,
            _("The receipt is valid: the message to %(authority)s is delivered.")
            % {"authority": message.recipient.name},
        )
    return _back(item)


def evidence_download(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    bundle = evidence_bundle(request=item)
    confidential_download_record(request, item, "evidence")
    return _attachment(bundle, evidence_file_name(request=item), "application/zip")


# Import -------------------------------------------------------------------------------------


def _importer(request: HttpRequest) -> User:
    user = signed_in_user(request)
    if not may_import(user=user):
        raise Http404
    return user


def _upload(request: HttpRequest, *, limit: int) -> bytes:
    upload: UploadedFile | None = request.FILES.get("file")
    if upload is None:
        raise ApplicationError(_("Choose a file."))
    if (upload.size or 0) > limit:
        # Refused before it is read into memory.
        raise MessageRefused(
            TOO_LARGE, _("The file is larger than %(limit)d bytes.") % {"limit": limit}
        )
    return upload.read(limit + 1)


def _request_link(user: User, request: Request | None) -> str:
    if request is None or not request_visible_to(user=user, request=request):
        return ""
    return request.get_absolute_url()


def _remember_import(request: HttpRequest, message_id: str) -> None:
    imported = [value for value in request.session.get(_IMPORTED_SESSION_KEY, []) if value]
    if message_id not in imported:
        imported.append(message_id)
    request.session[_IMPORTED_SESSION_KEY] = imported[-_IMPORTED_KEPT:]


def _message_imported(request: HttpRequest, user: User) -> dict[str, Any]:
    sealed = _upload(request, limit=int(settings.EXCHANGE_MAX_MESSAGE_BYTES))
    imported = message_import(sealed=sealed)
    inbox = imported.message
    _remember_import(request, str(inbox.message_id))
    manifest = inbox.manifest if isinstance(inbox.manifest, dict) else {}
    data = manifest.get("data")
    return {
        "message_id": str(inbox.message_id),
        "kind": inbox.kind,
        "event": manifest_event(data) if isinstance(data, dict) else "",
        "reference": str(manifest.get("reference", "")),
        "sender": inbox.sender,
        "recipient": inbox.recipient,
        "received_at": inbox.received_at,
        "repeated": imported.repeated,
        "request_url": _request_link(user, inbox.request),
        "receipt_url": reverse("exchange:imported_receipt", args=[inbox.message_id]),
    }


def _receipt_imported(request: HttpRequest, user: User) -> dict[str, Any]:
    receipt = _upload(request, limit=MAX_RECEIPT_BYTES)
    message = receipt_import(receipt=receipt)
    return {
        "message_id": str(message.message_id),
        "kind": message.kind,
        "recipient": message.recipient,
        "delivered_at": message.delivered_at,
        "reference": message.request.reference if message.request else "",
        "request_url": _request_link(user, message.request),
    }


def import_page(request: HttpRequest) -> HttpResponse:
    """Receive a message brought as a file (and give its signed receipt to carry back), or
    accept the receipt of a message this node sent."""
    user = _importer(request)
    context: dict[str, Any] = {"max_bytes": int(settings.EXCHANGE_MAX_MESSAGE_BYTES)}
    if request.method == "POST":
        what = request.POST.get("what")
        if what not in ("message", "receipt"):
            raise Http404
        context["what"] = what
        try:
            if what == "message":
                context["imported"] = _message_imported(request, user)
            else:
                context["receipt"] = _receipt_imported(request, user)
        except MessageRefused as error:
            context["refused"] = {"reason_code": error.reason_code, "message": error.message}
        except ApplicationError as error:
            context["error"] = error.message
    return render(request, "exchange/import.html", context)


def imported_receipt(request: HttpRequest, message_id: uuid.UUID) -> HttpResponse:
    """The receipt of a message imported in this session, to carry back to its sender."""
    _importer(request)
    if str(message_id) not in request.session.get(_IMPORTED_SESSION_KEY, []):
        raise Http404
    message = inbox_message(message_id=message_id)
    if message is None:
        raise Http404
    name, receipt = inbox_receipt_file(message=message)
    return _attachment(receipt, name, "application/octet-stream")
