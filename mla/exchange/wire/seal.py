"""Sealing a message as its sender and opening it as its recipient, with the keys the
directory pins for them."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.exchange.keys import NodeKeyError, authority_is_hosted, partner_key_sync
from mla.exchange.wire.container import (
    DOCUMENTS_PREFIX,
    SIGNATURE_ENTRY,
    archive_entries,
    message_container_build,
    message_entry_allowed,
)
from mla.exchange.wire.errors import (
    BAD_SIGNATURE,
    DIGEST_MISMATCH,
    FROM_THE_FUTURE,
    GPG_FAILED,
    INVALID_MANIFEST,
    KEY_EXPIRED,
    KEY_REVOKED,
    MISSING_SIGNATURE,
    RECIPIENT_KEY_UNUSABLE,
    RECIPIENT_UNKNOWN,
    SENDER_NOT_HOSTED,
    TOO_LARGE,
    TOO_OLD,
    UNDECRYPTABLE,
    UNKNOWN_SENDER,
    WRONG_RECIPIENT,
    WRONG_SIGNER,
    MessageNotSealed,
    MessageRefused,
    malformed,
)
from mla.exchange.wire.fields import format_time
from mla.exchange.wire.manifest import (
    MANIFEST_ENTRY,
    Document,
    Manifest,
    document_entry,
    manifest_canonical_bytes,
    manifest_parse,
)
from mla.openpgp.crypto import decrypt, detached_sign, detached_verify, encrypt_to
from mla.openpgp.homes import partner_keyring
from mla.openpgp.status import validsig_primary_fingerprint

FUTURE_TOLERANCE = timedelta(minutes=5)


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


def _max_bytes() -> int:
    return int(settings.EXCHANGE_MAX_MESSAGE_BYTES)


def signature_make(*, authority: Authority, data: bytes) -> bytes:
    """A detached binary signature of ``data`` by the key the directory pins for ``authority``."""
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


def signature_check(
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
    signature = signature_make(authority=sender, data=manifest_bytes)
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
        raise malformed(_("The message holds no manifest."))
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
    signer_fingerprint = signature_check(
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
            % {"created": format_time(manifest.created_at), "cutoff": format_time(now - max_age)},
        )
    if manifest.created_at > now + FUTURE_TOLERANCE:
        raise MessageRefused(
            FROM_THE_FUTURE,
            _("The message claims to be created on %(created)s, which is in the future.")
            % {"created": format_time(manifest.created_at)},
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
