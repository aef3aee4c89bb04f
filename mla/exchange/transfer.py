"""Messages and receipts carried as files, for channels that are not online (a USB key, an
e-mail, a secure courier): the same sealed bytes as over HTTPS, and the same checks.

A message file (``.mlamsg``) is the sealed message exactly as kept in the outbox; importing
one is the inbox's own ``inbox_receive``. A receipt file (``.mlarcpt``) is the signed receipt
exactly as the inbox answered it; importing one is ``outbox_receipt_accept``.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.accounts.models import User
from mla.accounts.roles import Role
from mla.core.errors import ApplicationError
from mla.exchange.inbox import inbox_receive
from mla.exchange.keys import authority_is_hosted
from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.outbox import outbox_receipt_accept
from mla.exchange.selectors import ExchangeMessage
from mla.exchange.stored import receipt_file_name, receipt_message_id, stored_message_open
from mla.exchange.wire.errors import TOO_LARGE, MessageRefused
from mla.exchange.wire.manifest import message_file_name

# Who receives messages by file for the authority they work for: those who work the
# incoming requests, and the node's administrators.
IMPORT_ROLES = (
    Role.CONTACT_POINT_STAFF,
    Role.CENTRAL_AUTHORITY_STAFF,
    Role.PROVIDER_STAFF,
    Role.DIRECTORY_ADMINISTRATOR,
)


@dataclass(frozen=True)
class ImportedMessage:
    message: InboxMessage
    receipt: bytes
    # Received before (by the inbox or an earlier import): nothing new was stored.
    repeated: bool


def may_import(*, user: User) -> bool:
    """Contact-point and central-authority staff, and node administrators, of an authority
    hosted on this node."""
    if not (user.is_superuser or any(user.has_role(role) for role in IMPORT_ROLES)):
        return False
    return authority_is_hosted(authority=user.authority)


def message_size_check(*, size: int) -> None:
    """Refuse a file larger than the inbox accepts, before it is read."""
    limit = int(settings.EXCHANGE_MAX_MESSAGE_BYTES)
    if size > limit:
        raise MessageRefused(
            TOO_LARGE, _("The message is larger than %(limit)d bytes.") % {"limit": limit}
        )


def message_import(*, sealed: bytes) -> ImportedMessage:
    """Receive a message brought as a file, exactly as the inbox would; MessageRefused (and
    nothing stored) if it fails a check."""
    started = timezone.now()
    receipt = inbox_receive(sealed=sealed)
    message = InboxMessage.objects.select_related("request", "sender", "recipient").get(
        message_id=receipt_message_id(receipt=receipt)
    )
    return ImportedMessage(message=message, receipt=receipt, repeated=message.received_at < started)


def receipt_import(*, receipt: bytes) -> OutboxMessage:
    """Accept a receipt brought back as a file for a message this node sent: once verified,
    the message is delivered."""
    message_id = receipt_message_id(receipt=receipt)
    message = (
        OutboxMessage.objects.select_related("request", "sender", "recipient")
        .filter(message_id=uuid.UUID(message_id))
        .first()
    )
    if message is None:
        raise ApplicationError(
            _("This receipt is for message %(id)s, which was not sent from this node.")
            % {"id": message_id}
        )
    return outbox_receipt_accept(message=message, receipt=receipt)


def may_bring_back_receipt(*, user: User, sender_id: int) -> bool:
    """Only the sending (issuing) authority brings back the receipt of its message: the
    receipt is the proof that its own message was delivered."""
    return user.authority_id == sender_id


def receipts_to_bring_back(*, user: User, messages: Iterable[ExchangeMessage]) -> set[str]:
    """The ids of the messages listed whose receipt the user may bring back as a file: sent
    by their authority, and without a receipt yet."""
    return {
        message.message_id
        for message in messages
        if message.outgoing
        and not message.has_receipt
        and may_bring_back_receipt(user=user, sender_id=message.sender.pk)
    }


def receipt_bring_back_check(*, message: OutboxMessage, actor: User) -> None:
    """Refuse, before the file is read, a receipt brought back by someone else than the
    message's sender."""
    if not may_bring_back_receipt(user=actor, sender_id=message.sender_id):
        raise ApplicationError(
            _("Only the sending authority brings back the receipt of its message.")
        )


def outbox_receipt_bring_back(
    *, message: OutboxMessage, actor: User, receipt: bytes
) -> OutboxMessage:
    """Accept the receipt of a message brought back as a file by its sending authority;
    once verified, the message is delivered."""
    receipt_bring_back_check(message=message, actor=actor)
    return outbox_receipt_accept(message=message, receipt=receipt)


def outbox_message_file(*, message: OutboxMessage) -> tuple[str, bytes]:
    """A sent message as a file to carry: its name (from its manifest) and sealed bytes."""
    sealed = bytes(message.sealed)
    stored = stored_message_open(sealed=sealed)
    return message_file_name(stored.manifest), sealed


def outbox_receipt_file(*, message: OutboxMessage) -> tuple[str, bytes] | None:
    if message.receipt is None:
        return None
    name = receipt_file_name(
        sender=message.sender.identifier,
        recipient=message.recipient.identifier,
        kind=message.kind,
        message_id=str(message.message_id),
    )
    return name, bytes(message.receipt)


def inbox_receipt_file(*, message: InboxMessage) -> tuple[str, bytes]:
    name = receipt_file_name(
        sender=message.sender.identifier,
        recipient=message.recipient.identifier,
        kind=message.kind,
        message_id=str(message.message_id),
    )
    return name, bytes(message.receipt)
