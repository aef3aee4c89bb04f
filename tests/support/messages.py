"""Exchange messages for the tests: sample documents and manifests, and messages forged by
hand for the refusals."""

from datetime import datetime

from django.utils import timezone

from contact_points.models import Authority
from mla.exchange.wire.container import message_container_build
from mla.exchange.wire.manifest import Document, Manifest, manifest_build
from mla.exchange.wire.seal import message_encrypt

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def sample_documents() -> list[Document]:
    return [
        Document(name="request.pdf", media_type="application/pdf", content=PDF),
        Document(name="annex 1 - évidence.txt", media_type="text/plain", content="é".encode()),
    ]


def sample_manifest(
    sender: Authority,
    recipient: Authority,
    documents: list[Document],
    *,
    created_at: datetime | None = None,
    message_id: str | None = None,
) -> Manifest:
    return manifest_build(
        kind="request",
        sender=sender,
        recipient=recipient,
        reference="FR-2026-0001",
        data={"instrument": "eio", "sections": {"A": {"facts": "ü", "count": 3}}},
        documents=documents,
        created_at=created_at,
        message_id=message_id,
    )


def forge(
    *,
    manifest_bytes: bytes,
    signature: bytes | None,
    documents: list[Document],
    encrypt_to: list[str],
) -> bytes:
    """A message put together by hand, for the refusals: same container, same encryption."""
    container = message_container_build(
        manifest_bytes=manifest_bytes,
        signature=signature,
        documents=documents,
        mtime=timezone.now(),
    )
    return message_encrypt(container=container, fingerprints=encrypt_to)
