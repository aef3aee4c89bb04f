"""The issuing authority's OpenPGP signature of a request's PDF.

Once a request has left draft (its content is the authority's), its PDF is made once and
signed with the authority's OpenPGP key held on this node: the K block of the PDF names the
key's fingerprint and the time of signing, and a detached ASCII-armoured signature of the
PDF's exact bytes is offered beside it and goes into the evidence bundle. This is an
OpenPGP signature, checkable with gpg against the directory's pinned key; it is not an
eIDAS qualified electronic signature, nor a seal in the sense of Regulation 910/2014.

The signed pair is kept in storage under the data's digest, so the PDF downloaded and the
signature downloaded are always of the same bytes; a request changed since gets a new pair.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from mla.openpgp.crypto import detached_sign
from mla.openpgp.homes import hosted_keyring
from mla.requests.audit import audit_record
from mla.requests.documents.rendering import OpenPGPMark, request_pdf
from mla.requests.events import Event
from mla.requests.models import Request

# Still the drafter's: nothing to sign for the authority yet.
_UNSIGNED_STATES = (Request.State.DRAFT, Request.State.AWAITING_VALIDATION)


@dataclass(frozen=True)
class SignedDocument:
    pdf: bytes
    signature: bytes  # ASCII-armoured detached OpenPGP signature of ``pdf``


def _names(request: Request) -> tuple[str, str]:
    base = f"requests/signed/{request.pk}-{request.data_digest}"
    return f"{base}.pdf", f"{base}.pdf.asc"


def signature_file_name(*, request: Request) -> str:
    return f"{request.reference}.pdf.asc"


def signed_document_stored(*, request: Request) -> SignedDocument | None:
    """The signed PDF already made for this content, if any (never makes one)."""
    pdf_name, signature_name = _names(request)
    if not (default_storage.exists(pdf_name) and default_storage.exists(signature_name)):
        return None
    with (
        default_storage.open(pdf_name, "rb") as pdf,
        default_storage.open(signature_name, "rb") as signature,
    ):
        return SignedDocument(pdf=pdf.read(), signature=signature.read())


def signed_document(*, request: Request, now: datetime | None = None) -> SignedDocument | None:
    """The request's PDF signed by its issuing authority, made once per content; None while
    in draft, or when the authority's key is not held on this node (the PDF is then
    offered unsigned, as before)."""
    if request.state in _UNSIGNED_STATES:
        return None
    fingerprint = request.issuing_authority.key_fingerprint.upper()
    if not fingerprint:
        return None
    stored = signed_document_stored(request=request)
    if stored is not None:
        return stored
    if not _key_held(fingerprint):
        # A copy received from another node: its issuer signs on its own node.
        return None
    # Two downloads at once would each sign their own render and could leave one's PDF
    # beside the other's signature: the request's row serialises the making.
    with transaction.atomic():
        Request.objects.select_for_update().filter(pk=request.pk).first()
        stored = signed_document_stored(request=request)
        if stored is not None:
            return stored
        return _sign(request=request, fingerprint=fingerprint, now=now)


def _key_held(fingerprint: str) -> bool:
    return any(
        str(key["fingerprint"]).upper() == fingerprint
        for key in hosted_keyring().list_keys(secret=True)
    )


def _sign(*, request: Request, fingerprint: str, now: datetime | None) -> SignedDocument | None:
    signed_at = (now or timezone.now()).astimezone(UTC)
    mark = OpenPGPMark(
        fingerprint=fingerprint,
        signed_at=signed_at,
        signature_file=signature_file_name(request=request),
    )
    pdf = request_pdf(request=request, generated_at=signed_at, openpgp=mark)
    signature = detached_sign(data=pdf, fingerprint=fingerprint, armor=True)
    if not signature.data or signature.signer != fingerprint:
        return None
    # The node signs in the authority's name, whoever's download asked for it: the trail says
    # which key signed which bytes, and when, so a PDF shown later can be matched to it.
    # Recorded before the pair is stored: a failed save rolls the entry back with it.
    audit_record(
        request=request,
        actor=None,
        event=Event.DOCUMENT_SIGNED,
        at=signed_at,
        payload={
            "fingerprint": fingerprint,
            "data_digest": request.data_digest,
            "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
            "signature_file": mark.signature_file,
        },
    )
    pdf_name, signature_name = _names(request)
    # A half-written pair (a crash between the two saves) is replaced, not renamed beside.
    for name in (pdf_name, signature_name):
        default_storage.delete(name)
    default_storage.save(signature_name, ContentFile(signature.data))
    default_storage.save(pdf_name, ContentFile(pdf))
    return SignedDocument(pdf=pdf, signature=signature.data)
