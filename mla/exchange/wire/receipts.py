"""Receipts: the recipient's signed acknowledgement of a message it opened."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.exchange.keys import authority_is_hosted
from mla.exchange.wire.container import archive_entries, tar_build
from mla.exchange.wire.errors import (
    RECEIPT_MISMATCH,
    SENDER_NOT_HOSTED,
    TOO_LARGE,
    UNKNOWN_SENDER,
    MessageNotSealed,
    MessageRefused,
    malformed,
)
from mla.exchange.wire.fields import (
    IDENTIFIER_PATTERN,
    SHA256_PATTERN,
    UUID_PATTERN,
    canonical_object,
    exact_keys,
    format_time,
    string_value,
    timestamp_value,
)
from mla.exchange.wire.seal import OpenedMessage, signature_check, signature_make
from mla.requests.models import canonical_json

MAX_RECEIPT_BYTES = 64 * 1024
RECEIPT_ENTRY = "receipt.json"
RECEIPT_SIGNATURE_ENTRY = "receipt.json.sig"
RECEIPT_FIELDS = {"message_id", "manifest_sha256", "received_at", "receiver"}


@dataclass(frozen=True)
class Receipt:
    message_id: str
    manifest_sha256: str
    received_at: datetime
    receiver: str
    signer_fingerprint: str
    receipt_bytes: bytes = field(repr=False)
    signature: bytes = field(repr=False)


def receipt_seal(*, opened: OpenedMessage, received_at: datetime) -> bytes:
    """The receiver's signed receipt for an opened message."""
    receiver = opened.recipient
    if not authority_is_hosted(authority=receiver):
        raise MessageNotSealed(
            SENDER_NOT_HOSTED,
            _("%(authority)s has no pinned key pair on this node, so it cannot sign.")
            % {"authority": receiver.identifier},
        )
    receipt_bytes = canonical_json(
        {
            "message_id": opened.manifest.message_id,
            "manifest_sha256": opened.manifest_sha256,
            "received_at": format_time(received_at),
            "receiver": receiver.identifier,
        }
    )
    signature = signature_make(authority=receiver, data=receipt_bytes)
    return tar_build(
        [(RECEIPT_ENTRY, receipt_bytes), (RECEIPT_SIGNATURE_ENTRY, signature)], mtime=received_at
    )


def receipt_entries(receipt: bytes) -> dict[str, bytes]:
    """A receipt's entries (receipt.json and its signature), read but not checked; refused
    when the receipt is too large or holds no receipt.json."""
    if len(receipt) > MAX_RECEIPT_BYTES:
        raise MessageRefused(
            TOO_LARGE,
            _("The receipt is larger than %(limit)d bytes.") % {"limit": MAX_RECEIPT_BYTES},
        )
    entries = archive_entries(
        receipt, allowed=lambda name: name in {RECEIPT_ENTRY, RECEIPT_SIGNATURE_ENTRY}
    )
    if RECEIPT_ENTRY not in entries:
        raise malformed(_("The receipt holds no receipt.json."))
    return entries


def receipt_verify(
    *,
    receipt: bytes,
    expected_message_id: str,
    expected_manifest_digest: str,
    recipient: Authority,
    now: datetime | None = None,
) -> Receipt:
    """Check a receipt for the message sent to ``recipient``, signed by its pinned key."""
    now = now or timezone.now()
    entries = receipt_entries(receipt)
    receipt_bytes = entries[RECEIPT_ENTRY]
    parsed = canonical_object(receipt_bytes, part=RECEIPT_ENTRY)
    exact_keys(parsed, RECEIPT_FIELDS, part=RECEIPT_ENTRY)
    message_id = string_value(parsed["message_id"], "message_id", UUID_PATTERN)
    digest = string_value(parsed["manifest_sha256"], "manifest_sha256", SHA256_PATTERN)
    received_at = timestamp_value(parsed["received_at"], "received_at")
    receiver = string_value(parsed["receiver"], "receiver", IDENTIFIER_PATTERN)
    if not recipient.key_fingerprint:
        raise MessageRefused(
            UNKNOWN_SENDER,
            _("The directory pins no key for %(authority)s.") % {"authority": recipient.identifier},
        )
    signature = entries.get(RECEIPT_SIGNATURE_ENTRY)
    signer_fingerprint = signature_check(
        data=receipt_bytes, signature=signature, signer=recipient, now=now, part=RECEIPT_ENTRY
    )
    if (message_id, digest, receiver) != (
        expected_message_id,
        expected_manifest_digest,
        recipient.identifier,
    ):
        raise MessageRefused(
            RECEIPT_MISMATCH,
            _("The receipt is not for this message, or not from its recipient."),
        )
    return Receipt(
        message_id=message_id,
        manifest_sha256=digest,
        received_at=received_at,
        receiver=receiver,
        signer_fingerprint=signer_fingerprint,
        receipt_bytes=receipt_bytes,
        signature=signature or b"",
    )
