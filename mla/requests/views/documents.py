"""A request's documents: its preview, PDF and structured data, and the EIO's Annex B."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from mla.requests.documents.annex_b import annex_b_content
from mla.requests.documents.rendering import document_context, request_pdf, structured_export
from mla.requests.documents.signing import signature_file_name, signed_document
from mla.requests.views.common import confidential_download_record, request_or_404


def request_preview(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    context = document_context(request=item)
    context["for_screen"] = True
    return render(request, "requests/document.html", context)


def request_pdf_download(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    confidential_download_record(request, item, "pdf")
    # Once issued, the PDF the issuing authority signed (the same bytes as its signature).
    signed = signed_document(request=item)
    content = signed.pdf if signed else request_pdf(request=item)
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


def request_json_download(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    item = request_or_404(request, issuer, reference)
    confidential_download_record(request, item, "json")
    response = HttpResponse(structured_export(request=item), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{item.reference}.json"'
    return response


def request_annex_b(request: HttpRequest, issuer: str, reference: str) -> HttpResponse:
    """The EIO's Annex B acknowledgement of receipt, once acknowledged."""
    item = request_or_404(request, issuer, reference)
    content = annex_b_content(request=item)
    if content is None:
        raise Http404
    confidential_download_record(request, item, "annex_b")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{item.reference}-annex-b.pdf"'
    return response
