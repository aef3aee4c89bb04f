"""Why a message or receipt was refused, or could not be sealed: stable codes."""

from mla.core.errors import ApplicationError

# Refusal reasons of message_open and receipt_verify: stable codes for the transport and logs.
TOO_LARGE = "too_large"
UNDECRYPTABLE = "undecryptable"
MALFORMED = "malformed"
UNKNOWN_SENDER = "unknown_sender"
BAD_SIGNATURE = "bad_signature"
MISSING_SIGNATURE = "missing_signature"
WRONG_SIGNER = "wrong_signer"
KEY_EXPIRED = "key_expired"
KEY_REVOKED = "key_revoked"
DIGEST_MISMATCH = "digest_mismatch"
WRONG_RECIPIENT = "wrong_recipient"
TOO_OLD = "too_old"
FROM_THE_FUTURE = "from_the_future"
RECEIPT_MISMATCH = "receipt_mismatch"
REASON_CODES = (
    TOO_LARGE,
    UNDECRYPTABLE,
    MALFORMED,
    UNKNOWN_SENDER,
    BAD_SIGNATURE,
    MISSING_SIGNATURE,
    WRONG_SIGNER,
    KEY_EXPIRED,
    KEY_REVOKED,
    DIGEST_MISMATCH,
    WRONG_RECIPIENT,
    TOO_OLD,
    FROM_THE_FUTURE,
    RECEIPT_MISMATCH,
)

# Refusal reasons of the inbox's checks of what a message carries (mla.exchange.receive).
INVALID_REFERENCE = "invalid_reference"  # not of the one pattern (mla.requests.references)
REFERENCE_NOT_SENDERS = "reference_not_senders"  # another country's or authority's reference
REFERENCE_IN_USE = "reference_in_use"  # another issuer's request already has it on this node
DOCUMENT_TYPE_REFUSED = "document_type_refused"  # outside the policy of local uploads
# A text of the message (a field of its data, a document's name) holds a control character
# other than tab and line breaks (mla.core.text): PostgreSQL cannot store NUL, and no form
# of this node accepts the others.
CONTROL_CHARACTER = "control_character"
# Whatever else went wrong on this side: the sender may try again; nothing was stored.
INTERNAL_ERROR = "internal_error"

# Why message_seal could not seal: stable codes (the transport retries none of them).
SENDER_NOT_HOSTED = "sender_not_hosted"
RECIPIENT_UNKNOWN = "recipient_unknown"
RECIPIENT_KEY_UNUSABLE = "recipient_key_unusable"
INVALID_MANIFEST = "invalid_manifest"
GPG_FAILED = "gpg_failed"


class MessageRefused(ApplicationError):
    """An incoming message (or receipt) failed a check; nothing of it may be stored."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message, extra={"reason_code": reason_code})
        self.reason_code = reason_code


class MessageNotSealed(ApplicationError):
    """An outgoing message could not be sealed; ``reason_code`` says why."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message, extra={"reason_code": reason_code})
        self.reason_code = reason_code


def malformed(message: str) -> MessageRefused:
    return MessageRefused(MALFORMED, message)
