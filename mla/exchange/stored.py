"""Reading again the messages this node keeps: its own sent copies (encrypted to the sender
too, for that purpose) and the messages as they were received, and their receipts.

Not the checks of arrival (mla.exchange.wire.seal.message_open): a stored copy was checked
when it was sent or received, and it must stay readable after the message's age limit has
passed, after the recipient has moved to another node, or after a key has expired. What is
checked again here is what the evidence rests on: the manifest's form, and each document
against its digest.
"""

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

# The decryption and the archive reader of the transport, with their limits (output size,
# entry names and types): one implementation for arriving and stored messages.
from mla.exchange.wire.container import (
    DOCUMENTS_PREFIX,
    SIGNATURE_ENTRY,
    archive_entries,
    message_entry_allowed,
)
from mla.exchange.wire.errors import DIGEST_MISMATCH, MALFORMED, MessageRefused
from mla.exchange.wire.manifest import MANIFEST_ENTRY, Manifest, manifest_parse
from mla.exchange.wire.receipts import RECEIPT_ENTRY, RECEIPT_SIGNATURE_ENTRY, receipt_entries
from mla.exchange.wire.seal import message_decrypt

RECEIPT_FILE_EXTENSION = ".mlarcpt"


@dataclass(frozen=True)
class StoredMessage:
    manifest: Manifest
    manifest_bytes: bytes = field(repr=False)
    # None when the message carries no signature (never one this node sent or accepted).
    signature: bytes | None = field(repr=False)
    # Document name (as in the manifest) -> its bytes, each checked against its digest.
    documents: dict[str, bytes] = field(repr=False)

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_bytes).hexdigest()


@dataclass(frozen=True)
class StoredReceipt:
    receipt_bytes: bytes = field(repr=False)
    signature: bytes | None = field(repr=False)


def stored_message_open(*, sealed: bytes) -> StoredMessage:
    """Decrypt a kept message with a key of this node; MessageRefused if it cannot be read
    or a document does not match the manifest."""
    entries = archive_entries(message_decrypt(sealed), allowed=message_entry_allowed)
    if MANIFEST_ENTRY not in entries:
        raise MessageRefused(MALFORMED, _("The message holds no manifest."))
    manifest_bytes = entries[MANIFEST_ENTRY]
    manifest = manifest_parse(manifest_bytes)
    documents: dict[str, bytes] = {}
    for entry in manifest.documents:
        content = entries.get(f"{DOCUMENTS_PREFIX}{entry.sha256}")
        if (
            content is None
            or len(content) != entry.size
            or hashlib.sha256(content).hexdigest() != entry.sha256
        ):
            raise MessageRefused(
                DIGEST_MISMATCH,
                _("Document %(name)s does not match its SHA-256 digest in the manifest.")
                % {"name": entry.name},
            )
        documents[entry.name] = content
    return StoredMessage(
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        signature=entries.get(SIGNATURE_ENTRY),
        documents=documents,
    )


def stored_receipt_entries(*, receipt: bytes) -> StoredReceipt:
    """The signed receipt.json and its signature, unchecked (receipt_verify checks them)."""
    entries = receipt_entries(receipt)
    return StoredReceipt(
        receipt_bytes=entries[RECEIPT_ENTRY], signature=entries.get(RECEIPT_SIGNATURE_ENTRY)
    )


def receipt_message_id(*, receipt: bytes) -> str:
    """The id of the message a receipt names, read without checking anything else: it only
    finds the message, whose receipt is then verified in full."""
    receipt_bytes = stored_receipt_entries(receipt=receipt).receipt_bytes
    try:
        parsed = json.loads(receipt_bytes.decode("utf-8"))
        message_id = str(uuid.UUID(str(parsed["message_id"])))
    except (UnicodeDecodeError, ValueError, TypeError, KeyError) as error:
        raise MessageRefused(
            MALFORMED, _("The receipt does not name the message it is for.")
        ) from error
    return message_id


def manifest_event(data: Mapping[str, Any]) -> str:
    """The step a status message carries (its data's "event"), or ""."""
    for source in (data, data.get("data")):
        if isinstance(source, Mapping) and isinstance(source.get("event"), str):
            return str(source["event"])[:64]
    return ""


def receipt_file_name(*, sender: str, recipient: str, kind: str, message_id: str) -> str:
    """The file name of a receipt carried back by hand: named after the message it is for."""
    return f"receipt_{sender}_to_{recipient}_{kind}_{message_id}{RECEIPT_FILE_EXTENSION}"
