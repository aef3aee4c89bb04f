"""Signed and encrypted messages between authorities: sealing, opening, receipts.

A sealed message is one binary OpenPGP message, encrypted to the key the directory pins for
the recipient authority and to the sender's own pinned key (so that the sender's copy, kept
as sent, can be opened again by the sender alone for its evidence). Inside is an
uncompressed POSIX tar archive (ustar) holding, in this order:

    manifest.json        the canonical JSON manifest: sorted keys, no spaces, UTF-8
    manifest.json.sig    a detached binary OpenPGP signature of manifest.json by the sender
    documents/<sha256>   the bytes of each document, named by their SHA-256 (once per content)

With standard tools: ``gpg --decrypt m.mlamsg | tar x``, then ``gpg --verify
manifest.json.sig manifest.json`` and ``sha256sum documents/*``. The manifest signature is
detached so that it stays verifiable on its own in the evidence bundle; documents are bound
to it by their digests.

A receipt is a tar archive (not encrypted) of ``receipt.json`` (canonical JSON: message id,
manifest digest, received at, receiver) and ``receipt.json.sig``, signed by the receiver.

gpg compresses nothing here (``--compress-algo none``): documents are PDFs and scans that do
not shrink, and compressing costs more time than the encryption itself. A message arriving
compressed (made by other software) is still read, up to the size limit.
"""

import hashlib
import io
import json
import re
import tarfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.core.errors import ApplicationError
from mla.exchange.keys import NodeKeyError, authority_is_hosted, partner_key_sync
from mla.openpgp.crypto import decrypt, detached_sign, detached_verify, encrypt_to
from mla.openpgp.homes import partner_keyring
from mla.openpgp.status import validsig_primary_fingerprint
from mla.requests.models import canonical_json

MANIFEST_VERSION = 1
KINDS = ("request", "status", "receipt", "attachment")
MESSAGE_FILE_EXTENSION = ".mlamsg"
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_DOCUMENTS = 1000
MAX_RECEIPT_BYTES = 64 * 1024

MANIFEST_ENTRY = "manifest.json"
SIGNATURE_ENTRY = "manifest.json.sig"
DOCUMENTS_PREFIX = "documents/"
RECEIPT_ENTRY = "receipt.json"
RECEIPT_SIGNATURE_ENTRY = "receipt.json.sig"

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

# Why message_seal could not seal: stable codes (the transport retries none of them).
SENDER_NOT_HOSTED = "sender_not_hosted"
RECIPIENT_UNKNOWN = "recipient_unknown"
RECIPIENT_KEY_UNUSABLE = "recipient_key_unusable"
INVALID_MANIFEST = "invalid_manifest"
GPG_FAILED = "gpg_failed"

_IDENTIFIER = re.compile(r"[-a-zA-Z0-9_]{1,100}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


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


@dataclass(frozen=True)
class OpenedMessage:
    manifest: Manifest
    documents: tuple[Document, ...]
    signer_fingerprint: str
    manifest_sha256: str
    # The exact signed bytes and their signature: the evidence of what was received.
    manifest_bytes: bytes = field(repr=False)
    manifest_signature: bytes = field(repr=False)
    sender: Authority
    recipient: Authority


@dataclass(frozen=True)
class Receipt:
    message_id: str
    manifest_sha256: str
    received_at: datetime
    receiver: str
    signer_fingerprint: str
    receipt_bytes: bytes = field(repr=False)
    signature: bytes = field(repr=False)


def _format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


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
        "created_at": _format_time(manifest.created_at),
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


# Parsing --------------------------------------------------------------------------------


def _malformed(message: str) -> MessageRefused:
    return MessageRefused(MALFORMED, message)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _canonical_object(raw: bytes, *, part: str) -> dict[str, Any]:
    """A JSON object from ``raw``, which must already be in canonical form."""
    try:
        parsed = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _malformed(
            _("%(part)s is not valid JSON: %(error)s") % {"part": part, "error": error}
        ) from error
    if not isinstance(parsed, dict):
        raise _malformed(_("%(part)s is not a JSON object.") % {"part": part})
    try:
        canonical = canonical_json(parsed)
    except (TypeError, ValueError, RecursionError) as error:
        raise _malformed(str(error)) from error
    if canonical != raw:
        # Equal bytes are what was signed and digested: nothing may hide in the formatting.
        raise _malformed(
            _("%(part)s is not in canonical form (sorted keys, no spaces, UTF-8).") % {"part": part}
        )
    return parsed


def _exact_keys(value: Mapping[str, Any], keys: set[str], *, part: str) -> None:
    if set(value) != keys:
        missing, extra = sorted(keys - set(value)), sorted(set(value) - keys)
        raise _malformed(
            _("%(part)s has missing fields %(missing)s or unknown fields %(extra)s.")
            % {"part": part, "missing": missing, "extra": extra}
        )


def _string(value: Any, name: str, pattern: re.Pattern[str] | None = None, limit: int = 255) -> str:
    if (
        not isinstance(value, str)
        or len(value) > limit
        or (pattern is not None and not pattern.fullmatch(value))
    ):
        raise _malformed(_("Field %(name)s has an invalid value.") % {"name": name})
    return value


def _timestamp(value: Any, name: str) -> datetime:
    text = _string(value, name, _TIMESTAMP)
    try:
        return _parse_time(text)
    except ValueError as error:
        raise _malformed(_("Field %(name)s has an invalid value.") % {"name": name}) from error


def _document_name(value: Any) -> str:
    name = _string(value, "documents.name")
    if (
        not name
        or name in {".", ".."}
        or any(char in "/\\" or ord(char) < 32 or ord(char) == 127 for char in name)
    ):
        raise _malformed(_("Field %(name)s has an invalid value.") % {"name": "documents.name"})
    return name


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _malformed(_("Field %(name)s has an invalid value.") % {"name": "documents.size"})
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
    parsed = _canonical_object(raw, part=MANIFEST_ENTRY)
    _exact_keys(parsed, MANIFEST_FIELDS, part=MANIFEST_ENTRY)
    if parsed["version"] != MANIFEST_VERSION or isinstance(parsed["version"], bool):
        raise _malformed(
            _("Manifest version %(version)s is not supported.") % {"version": parsed["version"]}
        )
    if parsed["kind"] not in KINDS:
        raise _malformed(_("Field %(name)s has an invalid value.") % {"name": "kind"})
    in_reply_to = parsed["in_reply_to"]
    if in_reply_to is not None:
        in_reply_to = _string(in_reply_to, "in_reply_to", _UUID)
    if not isinstance(parsed["data"], dict):
        raise _malformed(_("Field %(name)s has an invalid value.") % {"name": "data"})
    documents = parsed["documents"]
    if not isinstance(documents, list) or len(documents) > MAX_DOCUMENTS:
        raise _malformed(_("Field %(name)s has an invalid value.") % {"name": "documents"})
    entries = []
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise _malformed(_("Field %(name)s has an invalid value.") % {"name": "documents"})
        _exact_keys(document, DOCUMENT_FIELDS, part=f"{MANIFEST_ENTRY} documents[{index}]")
        entries.append(
            DocumentEntry(
                name=_document_name(document["name"]),
                media_type=_string(document["media_type"], "documents.media_type", _MEDIA_TYPE),
                size=_size(document["size"]),
                sha256=_string(document["sha256"], "documents.sha256", _SHA256),
            )
        )
    if len({entry.name for entry in entries}) != len(entries):
        raise _malformed(_("Two documents of the manifest have the same name."))
    return Manifest(
        version=MANIFEST_VERSION,
        message_id=_string(parsed["message_id"], "message_id", _UUID),
        kind=parsed["kind"],
        sender=_string(parsed["sender"], "sender", _IDENTIFIER),
        recipient=_string(parsed["recipient"], "recipient", _IDENTIFIER),
        created_at=_timestamp(parsed["created_at"], "created_at"),
        in_reply_to=in_reply_to,
        reference=_string(parsed["reference"], "reference"),
        data=parsed["data"],
        documents=tuple(entries),
    )


# The container ----------------------------------------------------------------------------


def _tar(entries: Sequence[tuple[str, bytes]], *, mtime: datetime) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = int(mtime.timestamp())
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def archive_entries(data: bytes, *, allowed: Callable[[str], bool]) -> dict[str, bytes]:
    """The regular files of a tar archive; anything else, twice or unexpected, is malformed."""
    entries: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for member in archive:
                if not member.isreg() or member.issparse():
                    raise _malformed(_("The message holds an entry that is not a plain file."))
                if member.name in entries or not allowed(member.name):
                    raise _malformed(
                        _("The message holds an unexpected entry %(name)s.")
                        % {"name": member.name[:120]}
                    )
                handle = archive.extractfile(member)
                assert handle is not None  # a regular file always has content
                entries[member.name] = handle.read()
    except (tarfile.TarError, EOFError, ValueError, OSError) as error:
        raise _malformed(
            _("The message content is not a readable archive: %(error)s") % {"error": error}
        ) from error
    return entries


def message_entry_allowed(name: str) -> bool:
    if name in {MANIFEST_ENTRY, SIGNATURE_ENTRY}:
        return True
    return name.startswith(DOCUMENTS_PREFIX) and bool(
        _SHA256.fullmatch(name[len(DOCUMENTS_PREFIX) :])
    )


def message_container_build(
    *,
    manifest_bytes: bytes,
    signature: bytes | None,
    documents: Sequence[Document],
    mtime: datetime,
) -> bytes:
    """The tar archive inside a sealed message (``signature`` None leaves it out)."""
    entries = [(MANIFEST_ENTRY, manifest_bytes)]
    if signature is not None:
        entries.append((SIGNATURE_ENTRY, signature))
    seen = set()
    for document in documents:
        digest = hashlib.sha256(document.content).hexdigest()
        if digest not in seen:
            seen.add(digest)
            entries.append((f"{DOCUMENTS_PREFIX}{digest}", document.content))
    return _tar(entries, mtime=mtime)


# gpg ---------------------------------------------------------------------------------------


def _max_bytes() -> int:
    return int(settings.EXCHANGE_MAX_MESSAGE_BYTES)


def _sign(*, authority: Authority, data: bytes) -> bytes:
    fingerprint = authority.key_fingerprint.upper()
    signed = detached_sign(data=data, fingerprint=fingerprint)
    if not signed.data or signed.signer != fingerprint:
        raise MessageNotSealed(
            GPG_FAILED,
            _("gpg could not sign for %(authority)s: %(detail)s")
            % {"authority": authority.identifier, "detail": signed.detail},
        )
    return signed.data


def message_encrypt(*, container: bytes, fingerprints: Sequence[str]) -> bytes:
    """Encrypt to pinned fingerprints of the partner keyring (binary, uncompressed)."""
    encrypted = encrypt_to(data=container, fingerprints=fingerprints)
    if not encrypted.ok:
        code = RECIPIENT_KEY_UNUSABLE if "invalid recipient" in encrypted.status else GPG_FAILED
        raise MessageNotSealed(
            code,
            _("gpg could not encrypt the message: %(status)s %(detail)s")
            % {"status": encrypted.status, "detail": encrypted.status_detail},
        )
    return encrypted.data


def message_decrypt(sealed: bytes) -> bytes:
    limit = _max_bytes()
    decrypted = decrypt(data=sealed, max_output=limit)
    if decrypted.output_limited:
        raise MessageRefused(
            TOO_LARGE,
            _("The message is larger than %(limit)d bytes once decrypted.") % {"limit": limit},
        )
    keywords = {keyword for keyword, _args in decrypted.statuses}
    # DECRYPTION_KEY: opened with one of our secret keys (not a plain or passphrase packet).
    if decrypted.returncode != 0 or not decrypted.ok or "DECRYPTION_KEY" not in keywords:
        raise MessageRefused(
            UNDECRYPTABLE,
            _(
                "The message cannot be decrypted with a key of this node (%(status)s): it is "
                "not an OpenPGP message encrypted to an authority hosted here."
            )
            % {"status": decrypted.status or _("no OpenPGP data")},
        )
    data = decrypted.data
    if len(data) > limit:
        raise MessageRefused(
            TOO_LARGE,
            _("The message is larger than %(limit)d bytes once decrypted.") % {"limit": limit},
        )
    return data


def _signature_check(
    *, data: bytes, signature: bytes | None, signer: Authority, now: datetime, part: str
) -> str:
    """The pinned fingerprint of ``signer`` if ``signature`` is its valid signature of
    ``data`` by a key neither expired nor revoked; else MessageRefused."""
    if not signature:
        raise MessageRefused(MISSING_SIGNATURE, _("%(part)s is not signed.") % {"part": part})
    try:
        pinned = partner_key_sync(authority=signer)
    except NodeKeyError as error:
        raise MessageRefused(UNKNOWN_SENDER, error.message) from error
    if signer.key_expires_at is not None and signer.key_expires_at <= now:
        raise MessageRefused(
            KEY_EXPIRED,
            _("The key the directory pins for %(authority)s expired on %(date)s.")
            % {"authority": signer.identifier, "date": signer.key_expires_at.isoformat()},
        )
    verified = detached_verify(partner_keyring(), data=data, signature=signature)
    missing = [
        args[0].upper() for keyword, args in verified.statuses if keyword == "NO_PUBKEY" and args
    ]
    if any(pinned.endswith(key_id) for key_id in missing):
        # The public home lost the pinned key (wiped, restored): import it and look again.
        partner_key_sync(authority=signer, force=True)
        verified = detached_verify(partner_keyring(), data=data, signature=signature)
    statuses = verified.statuses
    keywords = [keyword for keyword, _args in statuses]
    # `valid` alone is not enough: the signer must be the pinned key, and python-gnupg folds
    # several signatures into one result. Exactly one signature is accepted.
    if keywords.count("NEWSIG") != 1 or "BADSIG" in keywords:
        raise MessageRefused(
            BAD_SIGNATURE, _("The signature is not a valid signature of %(part)s.") % {"part": part}
        )
    if "ERRSIG" in keywords and "NO_PUBKEY" in keywords:
        raise MessageRefused(
            WRONG_SIGNER,
            _("%(part)s is signed by a key that is not the one pinned for %(authority)s.")
            % {"part": part, "authority": signer.identifier},
        )
    valid = [args for keyword, args in statuses if keyword == "VALIDSIG"]
    if len(valid) != 1:
        raise MessageRefused(
            BAD_SIGNATURE, _("The signature is not a valid signature of %(part)s.") % {"part": part}
        )
    signed_by = validsig_primary_fingerprint(valid[0])
    if signed_by != pinned:
        raise MessageRefused(
            WRONG_SIGNER,
            _(
                "%(part)s is signed by key %(signer)s, not by the key %(pinned)s pinned for "
                "%(authority)s."
            )
            % {
                "part": part,
                "signer": signed_by,
                "pinned": pinned,
                "authority": signer.identifier,
            },
        )
    if "REVKEYSIG" in keywords:
        raise MessageRefused(
            KEY_REVOKED,
            _("The key %(fingerprint)s of %(authority)s has been revoked.")
            % {"fingerprint": pinned, "authority": signer.identifier},
        )
    if "EXPKEYSIG" in keywords:
        raise MessageRefused(
            KEY_EXPIRED,
            _("The key %(fingerprint)s of %(authority)s has expired.")
            % {"fingerprint": pinned, "authority": signer.identifier},
        )
    # PLAINTEXT: a whole signed message where a detached signature belongs (gpg 2.2 already
    # refuses to verify one against other data; this does not depend on it).
    if "GOODSIG" not in keywords or "PLAINTEXT" in keywords or verified.returncode != 0:
        raise MessageRefused(
            BAD_SIGNATURE, _("The signature is not a valid signature of %(part)s.") % {"part": part}
        )
    return pinned


# Sealing and opening ------------------------------------------------------------------------


def _manifest_for_sending(
    *, manifest: Manifest, documents: Sequence[Document], sender: Authority, recipient: Authority
) -> bytes:
    try:
        manifest_bytes = manifest_canonical_bytes(manifest)
        manifest_parse(manifest_bytes)
    except (MessageRefused, TypeError, ValueError) as error:
        raise MessageNotSealed(INVALID_MANIFEST, str(error)) from error
    if (manifest.sender, manifest.recipient) != (sender.identifier, recipient.identifier):
        raise MessageNotSealed(
            INVALID_MANIFEST, _("The manifest names another sender or recipient.")
        )
    if tuple(document_entry(document) for document in documents) != manifest.documents:
        raise MessageNotSealed(
            INVALID_MANIFEST, _("The documents are not those the manifest describes.")
        )
    return manifest_bytes


def message_seal(
    *,
    manifest: Manifest,
    documents: Sequence[Document],
    sender: Authority,
    recipient: Authority,
) -> bytes:
    """Sign the manifest as ``sender`` and encrypt it with the documents to ``recipient``.

    Two gpg runs: the detached signature (hosted home), the encryption (partner home).
    """
    manifest_bytes = _manifest_for_sending(
        manifest=manifest, documents=documents, sender=sender, recipient=recipient
    )
    if not authority_is_hosted(authority=sender):
        raise MessageNotSealed(
            SENDER_NOT_HOSTED,
            _("%(authority)s has no pinned key pair on this node, so it cannot sign.")
            % {"authority": sender.identifier},
        )
    if not recipient.active:
        raise MessageNotSealed(
            RECIPIENT_UNKNOWN,
            _("%(authority)s is not active in the directory.")
            % {"authority": recipient.identifier},
        )
    if recipient.key_expires_at is not None and recipient.key_expires_at <= timezone.now():
        raise MessageNotSealed(
            RECIPIENT_KEY_UNUSABLE,
            _("The key the directory pins for %(authority)s has expired.")
            % {"authority": recipient.identifier},
        )
    try:
        fingerprints = [
            partner_key_sync(authority=recipient),
            partner_key_sync(authority=sender),
        ]
    except NodeKeyError as error:
        raise MessageNotSealed(RECIPIENT_UNKNOWN, error.message) from error
    signature = _sign(authority=sender, data=manifest_bytes)
    container = message_container_build(
        manifest_bytes=manifest_bytes,
        signature=signature,
        documents=documents,
        mtime=manifest.created_at,
    )
    # The sealed message is a little larger than its content: refuse before encrypting.
    if len(container) > _max_bytes():
        raise MessageNotSealed(
            TOO_LARGE,
            _("The message would be larger than %(limit)d bytes.") % {"limit": _max_bytes()},
        )
    try:
        sealed = message_encrypt(container=container, fingerprints=fingerprints)
    except MessageNotSealed as error:
        if error.reason_code != RECIPIENT_KEY_UNUSABLE:
            raise
        # Perhaps the public home lost a key (wiped, restored): import both and try again.
        for authority in (recipient, sender):
            partner_key_sync(authority=authority, force=True)
        sealed = message_encrypt(container=container, fingerprints=fingerprints)
    if len(sealed) > _max_bytes():
        raise MessageNotSealed(
            TOO_LARGE,
            _("The message would be larger than %(limit)d bytes.") % {"limit": _max_bytes()},
        )
    return sealed


def _authorities(*identifiers: str) -> dict[str, Authority]:
    return {
        authority.identifier: authority
        for authority in Authority.objects.select_related("country").filter(
            identifier__in=identifiers
        )
    }


def message_open(*, sealed: bytes, now: datetime | None = None) -> OpenedMessage:
    """Decrypt and check a sealed message, or raise MessageRefused with the first reason.

    In order: size, decryption, archive and manifest form, sender known and active,
    signature by exactly the sender's pinned key (neither expired nor revoked), recipient
    hosted here, age, and every document against its digest and size.
    """
    now = now or timezone.now()
    limit = _max_bytes()
    if len(sealed) > limit:
        raise MessageRefused(
            TOO_LARGE, _("The message is larger than %(limit)d bytes.") % {"limit": limit}
        )
    entries = archive_entries(message_decrypt(sealed), allowed=message_entry_allowed)
    if MANIFEST_ENTRY not in entries:
        raise _malformed(_("The message holds no manifest."))
    manifest_bytes = entries[MANIFEST_ENTRY]
    manifest = manifest_parse(manifest_bytes)

    parties = _authorities(manifest.sender, manifest.recipient)
    sender = parties.get(manifest.sender)
    if sender is None or not sender.active or not sender.key_fingerprint:
        raise MessageRefused(
            UNKNOWN_SENDER,
            _("The sender %(authority)s is not an active authority with a key in the directory.")
            % {"authority": manifest.sender},
        )
    signature = entries.get(SIGNATURE_ENTRY)
    signer_fingerprint = _signature_check(
        data=manifest_bytes, signature=signature, signer=sender, now=now, part=MANIFEST_ENTRY
    )

    recipient = parties.get(manifest.recipient)
    if recipient is None or not recipient.active or not authority_is_hosted(authority=recipient):
        raise MessageRefused(
            WRONG_RECIPIENT,
            _("The recipient %(authority)s is not hosted on this node.")
            % {"authority": manifest.recipient},
        )

    max_age = timedelta(seconds=int(settings.EXCHANGE_MAX_MESSAGE_AGE_SECONDS))
    if manifest.created_at < now - max_age:
        raise MessageRefused(
            TOO_OLD,
            _(
                "The message was created on %(created)s; messages created before "
                "%(cutoff)s are refused."
            )
            % {"created": _format_time(manifest.created_at), "cutoff": _format_time(now - max_age)},
        )
    if manifest.created_at > now + FUTURE_TOLERANCE:
        raise MessageRefused(
            FROM_THE_FUTURE,
            _("The message claims to be created on %(created)s, which is in the future.")
            % {"created": _format_time(manifest.created_at)},
        )

    contents = {
        name[len(DOCUMENTS_PREFIX) :]: content
        for name, content in entries.items()
        if name.startswith(DOCUMENTS_PREFIX)
    }
    if set(contents) != {entry.sha256 for entry in manifest.documents}:
        raise MessageRefused(
            DIGEST_MISMATCH,
            _("The documents in the message are not exactly those the manifest lists."),
        )
    for digest, content in contents.items():
        if hashlib.sha256(content).hexdigest() != digest:
            raise MessageRefused(
                DIGEST_MISMATCH,
                _("A document does not match its SHA-256 digest in the manifest."),
            )
    documents = []
    for entry in manifest.documents:
        content = contents[entry.sha256]
        if len(content) != entry.size:
            raise MessageRefused(
                DIGEST_MISMATCH,
                _("Document %(name)s does not have the size the manifest gives.")
                % {"name": entry.name},
            )
        documents.append(Document(name=entry.name, media_type=entry.media_type, content=content))

    return OpenedMessage(
        manifest=manifest,
        documents=tuple(documents),
        signer_fingerprint=signer_fingerprint,
        manifest_sha256=hashlib.sha256(manifest_bytes).hexdigest(),
        manifest_bytes=manifest_bytes,
        manifest_signature=signature or b"",
        sender=sender,
        recipient=recipient,
    )


# Receipts -----------------------------------------------------------------------------------

RECEIPT_FIELDS = {"message_id", "manifest_sha256", "received_at", "receiver"}


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
            "received_at": _format_time(received_at),
            "receiver": receiver.identifier,
        }
    )
    signature = _sign(authority=receiver, data=receipt_bytes)
    return _tar(
        [(RECEIPT_ENTRY, receipt_bytes), (RECEIPT_SIGNATURE_ENTRY, signature)], mtime=received_at
    )


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
    if len(receipt) > MAX_RECEIPT_BYTES:
        raise MessageRefused(
            TOO_LARGE,
            _("The receipt is larger than %(limit)d bytes.") % {"limit": MAX_RECEIPT_BYTES},
        )
    entries = archive_entries(
        receipt, allowed=lambda name: name in {RECEIPT_ENTRY, RECEIPT_SIGNATURE_ENTRY}
    )
    if RECEIPT_ENTRY not in entries:
        raise _malformed(_("The receipt holds no receipt.json."))
    receipt_bytes = entries[RECEIPT_ENTRY]
    parsed = _canonical_object(receipt_bytes, part=RECEIPT_ENTRY)
    _exact_keys(parsed, RECEIPT_FIELDS, part=RECEIPT_ENTRY)
    message_id = _string(parsed["message_id"], "message_id", _UUID)
    digest = _string(parsed["manifest_sha256"], "manifest_sha256", _SHA256)
    received_at = _timestamp(parsed["received_at"], "received_at")
    receiver = _string(parsed["receiver"], "receiver", _IDENTIFIER)
    if not recipient.key_fingerprint:
        raise MessageRefused(
            UNKNOWN_SENDER,
            _("The directory pins no key for %(authority)s.") % {"authority": recipient.identifier},
        )
    signature = entries.get(RECEIPT_SIGNATURE_ENTRY)
    signer_fingerprint = _signature_check(
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
