"""The manifest of a message: what it is, between whom, and the digests of its documents."""

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.exchange.models import MessageKind
from mla.exchange.wire.errors import malformed
from mla.exchange.wire.fields import (
    IDENTIFIER_PATTERN,
    MEDIA_TYPE_PATTERN,
    SHA256_PATTERN,
    UUID_PATTERN,
    canonical_object,
    exact_keys,
    format_time,
    string_value,
    timestamp_value,
)
from mla.requests.models import canonical_json

MANIFEST_VERSION = 1
KINDS = tuple(MessageKind.values)
MESSAGE_FILE_EXTENSION = ".mlamsg"
MAX_DOCUMENTS = 1000
MANIFEST_ENTRY = "manifest.json"


@dataclass(frozen=True)
class Document:
    name: str
    media_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class DocumentEntry:
    """A document as the manifest describes it."""

    name: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Manifest:
    version: int = MANIFEST_VERSION
    message_id: str
    kind: str
    sender: str
    recipient: str
    created_at: datetime
    in_reply_to: str | None = None
    reference: str
    data: dict[str, Any]
    documents: tuple[DocumentEntry, ...] = ()


def document_entry(document: Document) -> DocumentEntry:
    return DocumentEntry(
        name=document.name,
        media_type=document.media_type,
        size=len(document.content),
        sha256=hashlib.sha256(document.content).hexdigest(),
    )


def manifest_build(
    *,
    kind: str,
    sender: Authority,
    recipient: Authority,
    reference: str,
    data: Mapping[str, Any],
    documents: Sequence[Document] = (),
    in_reply_to: str | None = None,
    message_id: str | None = None,
    created_at: datetime | None = None,
) -> Manifest:
    """A manifest for ``documents``, with a new message id and the current time by default."""
    if created_at is not None and timezone.is_naive(created_at):
        raise ValueError("created_at must be an aware datetime")
    return Manifest(
        message_id=message_id or str(uuid.uuid4()),
        kind=kind,
        sender=sender.identifier,
        recipient=recipient.identifier,
        created_at=(created_at or timezone.now()).astimezone(UTC).replace(microsecond=0),
        in_reply_to=in_reply_to,
        reference=reference,
        data=dict(data),
        documents=tuple(document_entry(document) for document in documents),
    )


def manifest_as_dict(manifest: Manifest) -> dict[str, Any]:
    return {
        "version": manifest.version,
        "message_id": manifest.message_id,
        "kind": manifest.kind,
        "sender": manifest.sender,
        "recipient": manifest.recipient,
        "created_at": format_time(manifest.created_at),
        "in_reply_to": manifest.in_reply_to,
        "reference": manifest.reference,
        "data": manifest.data,
        "documents": [
            {
                "name": entry.name,
                "media_type": entry.media_type,
                "size": entry.size,
                "sha256": entry.sha256,
            }
            for entry in manifest.documents
        ],
    }


def manifest_canonical_bytes(manifest: Manifest) -> bytes:
    """The one byte form of the manifest, which is signed and digested."""
    return canonical_json(manifest_as_dict(manifest))


def manifest_sha256(manifest: Manifest) -> str:
    return hashlib.sha256(manifest_canonical_bytes(manifest)).hexdigest()


def message_file_name(manifest: Manifest) -> str:
    """The file name of a message exported as a single file (its sealed bytes)."""
    stamp = manifest.created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return (
        f"{stamp}_{manifest.sender}_to_{manifest.recipient}_{manifest.kind}_"
        f"{manifest.message_id}{MESSAGE_FILE_EXTENSION}"
    )


def _document_name(value: Any) -> str:
    name = string_value(value, "documents.name")
    if (
        not name
        or name in {".", ".."}
        or any(char in "/\\" or ord(char) < 32 or ord(char) == 127 for char in name)
    ):
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": "documents.name"})
    return name


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": "documents.size"})
    return value


MANIFEST_FIELDS = {
    "version",
    "message_id",
    "kind",
    "sender",
    "recipient",
    "created_at",
    "in_reply_to",
    "reference",
    "data",
    "documents",
}
DOCUMENT_FIELDS = {"name", "media_type", "size", "sha256"}


def manifest_parse(raw: bytes) -> Manifest:
    """Read and validate manifest bytes, or raise MessageRefused("malformed")."""
    parsed = canonical_object(raw, part=MANIFEST_ENTRY)
    exact_keys(parsed, MANIFEST_FIELDS, part=MANIFEST_ENTRY)
    if parsed["version"] != MANIFEST_VERSION or isinstance(parsed["version"], bool):
        raise malformed(
            _("Manifest version %(version)s is not supported.") % {"version": parsed["version"]}
        )
    if parsed["kind"] not in KINDS:
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": "kind"})
    in_reply_to = parsed["in_reply_to"]
    if in_reply_to is not None:
        in_reply_to = string_value(in_reply_to, "in_reply_to", UUID_PATTERN)
    if not isinstance(parsed["data"], dict):
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": "data"})
    documents = parsed["documents"]
    if not isinstance(documents, list) or len(documents) > MAX_DOCUMENTS:
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": "documents"})
    entries = []
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise malformed(_("Field %(name)s has an invalid value.") % {"name": "documents"})
        exact_keys(document, DOCUMENT_FIELDS, part=f"{MANIFEST_ENTRY} documents[{index}]")
        entries.append(
            DocumentEntry(
                name=_document_name(document["name"]),
                media_type=string_value(
                    document["media_type"], "documents.media_type", MEDIA_TYPE_PATTERN
                ),
                size=_size(document["size"]),
                sha256=string_value(document["sha256"], "documents.sha256", SHA256_PATTERN),
            )
        )
    if len({entry.name for entry in entries}) != len(entries):
        raise malformed(_("Two documents of the manifest have the same name."))
    return Manifest(
        version=MANIFEST_VERSION,
        message_id=string_value(parsed["message_id"], "message_id", UUID_PATTERN),
        kind=parsed["kind"],
        sender=string_value(parsed["sender"], "sender", IDENTIFIER_PATTERN),
        recipient=string_value(parsed["recipient"], "recipient", IDENTIFIER_PATTERN),
        created_at=timestamp_value(parsed["created_at"], "created_at"),
        in_reply_to=in_reply_to,
        reference=string_value(parsed["reference"], "reference"),
        data=parsed["data"],
        documents=tuple(entries),
    )
