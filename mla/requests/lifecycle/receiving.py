"""The received copy of a request: the executing authority's own copy, created when the
request reaches it, whether from a copy on this node (mla.requests.lifecycle.counterpart)
or from a message of another node (the exchange's inbox). Both routes call
``received_copy_create``, so a copy is the same whichever way it came."""

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.core.errors import ApplicationError
from mla.requests.access import request_grant_authority
from mla.requests.audit import audit_append
from mla.requests.deadlines.store import deadlines_refresh, received_copy_next_due
from mla.requests.derived import request_derived_assign, request_derived_refresh
from mla.requests.events import Event
from mla.requests.lifecycle import notify
from mla.requests.models import Attachment, Request, attachment_path


@dataclass(frozen=True)
class ReceivedAttachment:
    """A document that came with the request: already stored on this node (``stored_name``,
    content-addressed, so both copies share the file) or received (``content``)."""

    name: str
    media_type: str
    size: int
    sha256: str
    stored_name: str = ""
    content: bytes | None = None
    uploaded_by_id: int | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    """What the receiving side learns of a request, from whichever route."""

    reference: str
    declaration_code: str
    issuing_authority: Authority
    executing_country_id: int
    data: dict[str, Any]
    issuing_language: str
    executing_language: str
    sent_at: datetime.datetime | None
    validating_authority_id: int | None = None
    # The issuing side's translation is attached as a document rather than beside each
    # free text; why the request goes in a language the executing country does not accept.
    translation_attached: bool = False
    language_reason: str = ""


def _attachment(*, request: Request, received: ReceivedAttachment) -> Attachment:
    attachment = Attachment(
        request=request,
        name=received.name,
        media_type=received.media_type,
        size=received.size,
        sha256=received.sha256,
        uploaded_by_id=received.uploaded_by_id,
    )
    path = attachment_path(attachment, received.sha256)
    if received.stored_name:
        attachment.file.name = received.stored_name
    elif default_storage.exists(path):
        # Content-addressed: the same digest is the same content (the sender's copy, here).
        attachment.file.name = path
    else:
        attachment.file.save(received.sha256, ContentFile(received.content or b""), save=False)
    return attachment


def received_copy_create(
    *,
    received: ReceivedRequest,
    authority: Authority,
    attachments: Sequence[ReceivedAttachment],
    evidence: Mapping[str, object],
    on_behalf_of: tuple[str, str],
    at: datetime.datetime,
) -> Request:
    """Create ``authority``'s incoming copy of a request, received at ``at``, visible to that
    authority; its first audit entry ("received", with the sender, the digests and
    ``evidence``), its deadlines, and its executing staff told. Refused when the authority
    already received it."""
    if Request.objects.filter(
        direction=Request.Direction.INCOMING,
        issuing_authority=received.issuing_authority,
        reference=received.reference,
        executing_authority=authority,
    ).exists():
        raise ApplicationError(
            _("%(authority)s has already received this request.") % {"authority": authority.name}
        )
    incoming = Request(
        reference=received.reference,
        direction=Request.Direction.INCOMING,
        declaration_code=received.declaration_code,
        issuing_authority=received.issuing_authority,
        executing_country_id=received.executing_country_id,
        executing_authority=authority,
        validating_authority_id=received.validating_authority_id,
        data=received.data,
        issuing_language=received.issuing_language,
        executing_language=received.executing_language,
        translation_attached=received.translation_attached,
        language_reason=received.language_reason,
        state=Request.State.RECEIVED,
        sent_at=received.sent_at,
        received_at=at,
    )
    # Derived from the copy's own data and parties, so that its INSERT carries them.
    request_derived_assign(request=incoming)
    incoming.next_due_at = received_copy_next_due(request=incoming, at=at)
    incoming.save()
    request_derived_refresh(request=incoming, created=True)
    request_grant_authority(request=incoming, authority=authority)
    stored = Attachment.objects.bulk_create(
        [_attachment(request=incoming, received=attachment) for attachment in attachments]
    )
    trail = audit_append(
        request=incoming,
        actor=None,
        event=Event.RECEIVED,
        to_state=incoming.state,
        payload={
            "from": received.issuing_authority.identifier,
            "data_sha256": incoming.data_digest,
            "attachments": [attachment.sha256 for attachment in stored],
            **evidence,
        },
        on_behalf_of=on_behalf_of,
        at=at,
        first=True,
    )
    deadlines_refresh(request=incoming, entries=trail, created=True)
    notify.request_received(request=incoming)
    return incoming
