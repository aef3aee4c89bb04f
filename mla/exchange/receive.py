"""What a received message carries, read into this node: a request message into the
recipient's copy of the request (made by the same service as a copy delivered on this
node), a checkpoint message into the partner's signed checkpoint kept as received."""

import datetime
import hashlib
from typing import Any

from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.core.errors import ApplicationError
from mla.core.text import json_control_problem
from mla.exchange.models import ReceivedAuditCheckpoint
from mla.exchange.wire.checkpoint import (
    CHECKPOINT_ENTRY,
    CHECKPOINT_SIGNATURE_ENTRY,
    MAX_SIGNATURE_BYTES,
    checkpoint_parse,
)
from mla.exchange.wire.errors import (
    CONTROL_CHARACTER,
    DOCUMENT_TYPE_REFUSED,
    INVALID_REFERENCE,
    REFERENCE_IN_USE,
    REFERENCE_NOT_SENDERS,
    WRONG_SIGNER,
    MessageRefused,
    malformed,
)
from mla.exchange.wire.seal import OpenedMessage, signature_check
from mla.instruments.declarations import declaration_for
from mla.requests.drafting.attachments import document_type_check
from mla.requests.lifecycle.certificates import (
    ProducedFile,
    produced_file_named,
    produced_media_type,
)
from mla.requests.lifecycle.receiving import (
    ReceivedAttachment,
    ReceivedRequest,
    received_copy_create,
)
from mla.requests.models import Request
from mla.requests.references import reference_parse_received

# Keys of a request message's manifest data (built by mla.exchange.outbox).
DATA = "data"
DECLARATION_CODE = "declaration_code"
ISSUING_LANGUAGE = "issuing_language"
EXECUTING_LANGUAGE = "executing_language"
TRANSLATION_ATTACHED = "translation_attached"
LANGUAGE_REASON = "language_reason"
SENT_AT = "sent_at"
SENT_BY = "sent_by"
REQUEST_DOCUMENT = "request_document"


def _text(data: dict[str, Any], key: str, *, limit: int) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > limit:
        raise ApplicationError(
            _("The message's field %(name)s has an invalid value.") % {"name": key}
        )
    return value


def _sent_at(data: dict[str, Any]) -> datetime.datetime | None:
    text = _text(data, SENT_AT, limit=40)
    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as error:
        raise ApplicationError(
            _("The message's field %(name)s has an invalid value.") % {"name": SENT_AT}
        ) from error
    if moment.tzinfo is None:
        raise ApplicationError(
            _("The message's field %(name)s has an invalid value.") % {"name": SENT_AT}
        )
    return moment


def control_characters_check(*, opened: OpenedMessage) -> None:
    """Refuse (MessageRefused) a message any text of which (a field of its data, at any
    depth, or a document's name) holds a control character other than tab and line
    breaks: the same rule as this node's forms and directory import (mla.core.text)."""
    found = json_control_problem(opened.manifest.data)
    if found is None:
        found = json_control_problem({"documents": [item.name for item in opened.documents]})
    if found is not None:
        path, characters = found
        raise MessageRefused(
            CONTROL_CHARACTER,
            _(
                "The message's field %(path)s holds a control character (%(characters)s) that "
                "cannot be stored; nothing of the message was kept."
            )
            % {"path": path, "characters": characters},
        )


def documents_type_check(*, opened: OpenedMessage) -> dict[str, str]:
    """Each document's type as its content shows it, by name; MessageRefused when one is
    outside the policy of local uploads (mla.requests.drafting.attachments): a partner
    brings in nothing a user of this node could not have attached. The data an e-Evidence
    addressee produced, named by its production step, come in its own formats."""
    types = {}
    data = opened.manifest.data
    for document in opened.documents:
        if produced_file_named(
            event=str(data.get("event", "")),
            payload=data.get("payload"),
            name=document.name,
            content=document.content,
        ):
            types[document.name] = produced_media_type(
                ProducedFile(name=document.name, content=document.content)
            )
            continue
        try:
            kind = document_type_check(name=document.name, content=document.content)
        except ApplicationError as error:
            raise MessageRefused(DOCUMENT_TYPE_REFUSED, error.message) from error
        types[document.name] = kind.media_type
    return types


def reference_check(*, reference: str, sender: Authority) -> None:
    """Refuse (MessageRefused) a request's reference that is not of the one pattern, not the
    sender's own (its country and, in the directory, its code), or already another issuer's
    on this node: a partner cannot speak under another issuer's reference."""
    parts = reference_parse_received(reference)
    if parts is None:
        raise MessageRefused(
            INVALID_REFERENCE,
            _(
                "The reference is not of the form COUNTRY-AUTHORITY-INSTRUMENT-YEAR-NUMBER "
                "(e.g. FR-PARIS1-EIO-2026-000042)."
            ),
        )
    if parts.country != sender.country.code or (
        sender.reference_code and parts.authority and parts.authority != sender.reference_code
    ):
        raise MessageRefused(
            REFERENCE_NOT_SENDERS,
            _("%(reference)s is not a reference of %(sender)s, whose references begin %(prefix)s.")
            % {
                "reference": reference,
                "sender": sender.identifier,
                "prefix": f"{sender.country.code}-{sender.reference_code}-",
            },
        )
    if Request.objects.filter(reference=reference).exclude(issuing_authority=sender).exists():
        raise MessageRefused(
            REFERENCE_IN_USE,
            _("Another issuer's request already has the reference %(reference)s here.")
            % {"reference": reference},
        )


def request_receive_from_manifest(*, opened: OpenedMessage, at: datetime.datetime) -> Request:
    """Create the recipient authority's incoming copy of the request a message carries,
    received now, visible to that authority (mla.requests.lifecycle.receiving). Raises
    MessageRefused for a reference or a document it may not carry, ApplicationError if the
    copy cannot be made."""
    manifest = opened.manifest
    sender, authority = opened.sender, opened.recipient
    data = manifest.data
    structured = data.get(DATA)
    if not isinstance(structured, dict):
        raise ApplicationError(
            _("The message's field %(name)s has an invalid value.") % {"name": DATA}
        )
    declaration_code = _text(data, DECLARATION_CODE, limit=40)
    declaration_for(declaration_code)  # an unknown request type is refused here
    reference_check(reference=manifest.reference, sender=sender)
    media_types = documents_type_check(opened=opened)
    request_document = _text(data, REQUEST_DOCUMENT, limit=255)
    sent_by = _text(data, SENT_BY, limit=255) or _("the node")
    return received_copy_create(
        received=ReceivedRequest(
            reference=manifest.reference,
            declaration_code=declaration_code,
            issuing_authority=sender,
            executing_country_id=authority.country_id,
            data=structured,
            issuing_language=_text(data, ISSUING_LANGUAGE, limit=8) or "en",
            executing_language=_text(data, EXECUTING_LANGUAGE, limit=8) or "en",
            translation_attached=data.get(TRANSLATION_ATTACHED) is True,
            language_reason=_text(data, LANGUAGE_REASON, limit=2_000),
            sent_at=_sent_at(data),
        ),
        authority=authority,
        attachments=[
            ReceivedAttachment(
                name=document.name[:255],
                # The type its content shows, not the one the sender declared.
                media_type=media_types[document.name],
                size=len(document.content),
                sha256=hashlib.sha256(document.content).hexdigest(),
                content=document.content,
            )
            for document in opened.documents
            if document.name != request_document
        ],
        evidence={
            "message_id": manifest.message_id,
            "manifest_sha256": opened.manifest_sha256,
        },
        on_behalf_of=(sent_by, sender.name),
        at=at,
    )


def checkpoint_receive(*, opened: OpenedMessage, at: datetime.datetime) -> None:
    """Keep a partner's signed checkpoint of its audit chain (mla.exchange.wire.checkpoint),
    once: its statement must be signed by the key this node pins for the sending authority,
    which it names. Touches no request. Raises MessageRefused for anything else."""
    documents = {document.name: document.content for document in opened.documents}
    if set(documents) - {CHECKPOINT_ENTRY, CHECKPOINT_SIGNATURE_ENTRY} or (
        CHECKPOINT_ENTRY not in documents
    ):
        raise malformed(
            _("A checkpoint message carries %(statement)s and %(signature)s, and nothing else.")
            % {"statement": CHECKPOINT_ENTRY, "signature": CHECKPOINT_SIGNATURE_ENTRY}
        )
    statement = documents[CHECKPOINT_ENTRY]
    signature = documents.get(CHECKPOINT_SIGNATURE_ENTRY, b"")
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise malformed(_("The checkpoint's signature is larger than a signature can be."))
    checkpoint = checkpoint_parse(statement)
    sender = opened.sender
    if checkpoint.authority != sender.identifier:
        raise MessageRefused(
            WRONG_SIGNER,
            _("The checkpoint is %(named)s's, not the sender %(sender)s's.")
            % {"named": checkpoint.authority, "sender": sender.identifier},
        )
    if opened.manifest.data.get("position") != checkpoint.position:
        raise malformed(_("The message's position is not the checkpoint's."))
    fingerprint = signature_check(
        data=statement, signature=signature, signer=sender, now=at, part=CHECKPOINT_ENTRY
    )
    ReceivedAuditCheckpoint.objects.get_or_create(
        sender=sender,
        statement_sha256=hashlib.sha256(statement).hexdigest(),
        defaults={
            "recipient": opened.recipient,
            "message_id": opened.manifest.message_id,
            "node_name": checkpoint.node,
            "position": checkpoint.position,
            "node_hash": checkpoint.node_hash,
            "signed_at": checkpoint.at,
            "statement": statement,
            "signature": signature,
            "signer_fingerprint": fingerprint,
            "received_at": at,
        },
    )
