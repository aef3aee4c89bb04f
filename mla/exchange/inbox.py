"""The inbox: a received message opened, applied once and answered with a signed receipt.

A message is opened (decrypted, its signature checked against the key the directory pins
for its sender) and applied in one transaction: a request message creates the recipient's
copy (mla.exchange.receive), a status message moves or annotates a copy
(mla.exchange.status), a checkpoint message is kept as the partner's signed checkpoint
(mla.exchange.receive). A message received before is answered with its stored receipt and
changes nothing; a refusal stores nothing.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.exchange import receive
from mla.exchange.models import InboxMessage, MessageKind
from mla.exchange.status import status_apply
from mla.exchange.wire.errors import TOO_LARGE, MessageRefused
from mla.exchange.wire.manifest import manifest_as_dict
from mla.exchange.wire.receipts import receipt_seal
from mla.exchange.wire.seal import OpenedMessage, message_open
from mla.requests.models import Request

# Refusal reasons of the inbox beyond those of message_open.
UNSUPPORTED_KIND = "unsupported_kind"
DUPLICATE_MESSAGE_ID = "duplicate_message_id"
REJECTED = "rejected"


def _max_message_bytes() -> int:
    return int(settings.EXCHANGE_MAX_MESSAGE_BYTES)


def _apply(*, opened: OpenedMessage, at: datetime) -> Request | None:
    receive.control_characters_check(opened=opened)
    kind = opened.manifest.kind
    if kind == MessageKind.CHECKPOINT:
        receive.checkpoint_receive(opened=opened, at=at)
        return None
    if kind not in (MessageKind.REQUEST, MessageKind.STATUS):
        raise MessageRefused(
            UNSUPPORTED_KIND,
            _("Messages of kind %(kind)s are not accepted.") % {"kind": kind},
        )
    try:
        if kind == MessageKind.STATUS:
            receive.documents_type_check(opened=opened)
            return status_apply(opened=opened, at=at)
        return receive.request_receive_from_manifest(opened=opened, at=at)
    except MessageRefused:
        raise
    except ApplicationError as error:
        raise MessageRefused(REJECTED, error.message) from error


def _stored_receipt(*, message_id: str, manifest_digest: str) -> bytes | None:
    stored = InboxMessage.objects.filter(message_id=message_id).first()
    if stored is None:
        return None
    if stored.manifest_sha256 != manifest_digest:
        raise MessageRefused(
            DUPLICATE_MESSAGE_ID,
            _("Another message with this message id was already received."),
        )
    return bytes(stored.receipt)


def inbox_receive(*, sealed: bytes, now: datetime | None = None) -> bytes:
    """Open, apply and store a received message; its signed receipt.

    A message received before is answered with its stored receipt and changes nothing. A
    refusal (MessageRefused) stores nothing.
    """
    now = now or timezone.now()
    limit = _max_message_bytes()
    if len(sealed) > limit:
        raise MessageRefused(
            TOO_LARGE, _("The message is larger than %(limit)d bytes.") % {"limit": limit}
        )
    opened = message_open(sealed=sealed, now=now)
    message_id = opened.manifest.message_id
    stored = _stored_receipt(message_id=message_id, manifest_digest=opened.manifest_sha256)
    if stored is not None:
        return stored
    # Signed before the transaction, which holds the node's audit chain from its first entry
    # to its commit: a gpg run there would make every other writer of the node wait.
    receipt = receipt_seal(opened=opened, received_at=now)
    try:
        with transaction.atomic():
            incoming = _apply(opened=opened, at=now)
            InboxMessage.objects.create(
                message_id=uuid.UUID(message_id),
                sender=opened.sender,
                recipient=opened.recipient,
                kind=opened.manifest.kind,
                manifest_sha256=opened.manifest_sha256,
                manifest=manifest_as_dict(opened.manifest),
                sealed=sealed,
                received_at=now,
                receipt=receipt,
                request=incoming,
            )
    except IntegrityError as error:
        # The same message delivered twice at once: the other delivery stored it first.
        stored = _stored_receipt(message_id=message_id, manifest_digest=opened.manifest_sha256)
        if stored is None:
            # Another message made the same copy meanwhile.
            raise MessageRefused(
                REJECTED, _("The message conflicts with one received at the same time.")
            ) from error
        return stored
    return receipt
