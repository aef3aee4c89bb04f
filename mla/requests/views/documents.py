"""A request's documents: its preview, PDF and structured data, the EIO's Annex B and an
e-Evidence certificate's Annexes III, V and VI."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mla.core.edge import errors_as_messages
from mla.requests.documents.annex_b import annex_b_content
from mla.requests.documents.downloads import (
    DocumentState,
    request_document_ask,
    request_document_content,
    request_document_retry,
    request_document_status,
)
from mla.requests.documents.eevidence_annexes import annex_content
from mla.requests.documents.rendering import document_context, structured_export
from mla.requests.documents.signing import signature_file_name, signed_document
from mla.requests.views.common import confidential_download_record, request_or_404


def request_preview(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    context = document_context(request=item)
    context["for_screen"] = True
    return render(request, "requests/document.html", context)


def request_pdf_download(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    """The PDF when it is ready; else a page that says it is being prepared (and asks a
    worker for it), or why it could not be made."""
    item = request_or_404(request, issuer, reference)
    status = request_document_ask(request=item)
    content = (
        request_document_content(request=item) if status.state == DocumentState.READY else None
    )
    if content is None:
        return render(
            request,
            "requests/document_pending.html",
            {
                "item": item,
                "status": status,
                "failed": status.state == DocumentState.FAILED,
                "poll_seconds": settings.PDF_POLL_SECONDS,
            },
            status=200,
        )
    confidential_download_record(request, item, "pdf")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{item.reference}.pdf"'
    return response


def request_pdf_signature_download(
    request: HttpRequest, issuer: str, reference: str
) -> HttpResponse:
    """The detached OpenPGP signature of the PDF offered beside it."""
    item = request_or_404(request, issuer, reference)
    signed = signed_document(request=item)
    if signed is None:
        raise Http404
    confidential_download_record(request, item, "pdf_signature")
    response = HttpResponse(signed.signature, content_type="application/pgp-signature")
    response["Content-Disposition"] = f'attachment; filename="{signature_file_name(request=item)}"'
    return response


def request_pdf_status(request: HttpRequest, issuer: str, reference: str) -> JsonResponse:
    """Asked by the "being prepared" page: ready, pending or failed (with the reason)."""
    item = request_or_404(request, issuer, reference)
    status = request_document_status(request=item)
    return JsonResponse({"state": status.state, "reason": status.reason})


@require_POST
def request_pdf_retry(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    request_document_retry(request=item)
    return redirect(reverse("requests:pdf", args=item.url_args))


def request_json_download(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    confidential_download_record(request, item, "json")
    response = HttpResponse(structured_export(request=item), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{item.reference}.json"'
    return response


def request_annex_b(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    """The EIO's Annex B acknowledgement of receipt, once acknowledged."""
    item = request_or_404(request, issuer, reference)
    content = None
    with errors_as_messages(request):  # a render stopped by its budget: said on the page
        content = annex_b_content(request=item)
        if content is None:
            raise Http404
    if content is None:
        return redirect(item)
    confidential_download_record(request, item, "annex_b")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{item.reference}-annex-b.pdf"'
    return response


def request_eevidence_annex(
    request: HttpRequest, issuer: str, reference: str, annex: str
) -> HttpResponse:
    """An e-Evidence certificate's Annex III, V or VI, once its step was taken."""
    item = request_or_404(request, issuer, reference)
    content = None
    with errors_as_messages(request):  # a render stopped by its budget: said on the page
        content = annex_content(request=item, annex=annex)
        if content is None:
            raise Http404
    if content is None:
        return redirect(item)
    confidential_download_record(request, item, annex)
    response = HttpResponse(content, content_type="application/pdf")
    file_name = f"{item.reference}-{annex.replace('_', '-')}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response
