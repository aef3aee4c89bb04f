"""What a received message does on this node: the equivalent, from a signed manifest, of the
steps mla.requests.lifecycle.counterpart takes from the other side's row when both are hosted
here."""

import datetime
import hashlib
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.exchange.wire.manifest import Document
from mla.exchange.wire.seal import OpenedMessage
from mla.instruments.declarations import declaration_for
from mla.requests.access import request_grant_authority
from mla.requests.deadlines.store import received_copy_next_due
from mla.requests.derived import request_derived_assign, request_derived_refresh
from mla.requests.lifecycle.counterpart import received_copy_record
from mla.requests.models import Attachment, Request, attachment_path

# Keys of a request message's manifest data (built by mla.exchange.services).
DATA = "data"
DECLARATION_CODE = "declaration_code"
ISSUING_LANGUAGE = "issuing_language"
EXECUTING_LANGUAGE = "executing_language"
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


def _attachment(*, request: Request, document: Document) -> Attachment:
    digest = hashlib.sha256(document.content).hexdigest()
    attachment = Attachment(
        request=request,
        name=document.name[:255],
        media_type=document.media_type[:100],
        size=len(document.content),
        sha256=digest,
        uploaded_by=None,
    )
    path = attachment_path(attachment, digest)
    if default_storage.exists(path):
        # Content-addressed: the same digest is the same content (the sender's copy, here).
        attachment.file.name = path
    else:
        attachment.file.save(digest, ContentFile(document.content), save=False)
    attachment.save()
    return attachment


def request_receive_from_manifest(*, opened: OpenedMessage, at: datetime.datetime) -> Request:
    """Create the recipient authority's incoming copy of the request a message carries,
    received now, visible to that authority. Raises ApplicationError if it cannot be."""
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
    if Request.objects.filter(
        direction=Request.Direction.INCOMING,
        issuing_authority=sender,
        reference=manifest.reference,
        executing_authority=authority,
    ).exists():
        raise ApplicationError(
            _("%(authority)s has already received this request.") % {"authority": authority.name}
        )
    if len(manifest.reference) > 40:
        raise ApplicationError(
            _("The message's field %(name)s has an invalid value.") % {"name": "reference"}
        )
    incoming = Request(
        reference=manifest.reference,
        direction=Request.Direction.INCOMING,
        declaration_code=declaration_code,
        issuing_authority=sender,
        executing_country_id=authority.country_id,
        executing_authority=authority,
        data=structured,
        issuing_language=_text(data, ISSUING_LANGUAGE, limit=8) or "en",
        executing_language=_text(data, EXECUTING_LANGUAGE, limit=8) or "en",
        state=Request.State.RECEIVED,
        sent_at=_sent_at(data),
        received_at=at,
    )
    request_derived_assign(request=incoming)
    incoming.next_due_at = received_copy_next_due(request=incoming, at=at)
    incoming.save()
    request_derived_refresh(request=incoming, created=True)
    request_grant_authority(request=incoming, authority=authority)
    request_document = _text(data, REQUEST_DOCUMENT, limit=255)
    attachments = [
        _attachment(request=incoming, document=document)
        for document in opened.documents
        if document.name != request_document
    ]
    sent_by = _text(data, SENT_BY, limit=255) or _("the node")
    received_copy_record(
        incoming=incoming,
        payload={
            "from": sender.identifier,
            "data_sha256": incoming.data_digest,
            "attachments": [attachment.sha256 for attachment in attachments],
            "message_id": manifest.message_id,
            "manifest_sha256": opened.manifest_sha256,
        },
        on_behalf_of=(sent_by, sender.name),
        at=at,
    )
    return incoming
