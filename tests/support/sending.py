"""Requests and messages for the exchange tests that need a request behind a message."""

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from contact_points.models import Authority
from mla.accounts.models import User
from mla.exchange.models import OutboxMessage
from mla.exchange.outbox import outbox_enqueue, request_message_data
from mla.exchange.wire.manifest import Document
from mla.instruments.declarations import declaration_for
from mla.requests.access import request_grant_authority
from mla.requests.models import Attachment, Request
from mla.requests.references import reference_next
from tests.support.messages import PDF
from tests.support.samples import complete_data

# A supporting document of a type the policy of uploads accepts (the inbox checks it too).
ANNEX = b"%PDF-1.4\n" + b"annex content \xc3\xa9\n" * 50 + b"%%EOF\n"
ANNEX_NAME = "annex 1.pdf"


def outgoing_request(
    issuer: Authority,
    executing: Authority,
    author: User,
    *,
    confidential: bool = False,
    code: str = "eio",
) -> Request:
    """A sent request of ``issuer`` (an EIO by default), visible to its users, with one
    attachment."""
    data = complete_data(declaration_for(code))
    for section in data.values():
        if isinstance(section, dict):
            section.pop("confidential", None)
    if confidential:
        # The EIO form has no confidentiality section: any section asking for it counts.
        next(iter(data.values()))["confidential"] = True
    request = Request.objects.create(
        reference=reference_next(authority=issuer, declaration_code=code, year=timezone.now().year),
        direction=Request.Direction.OUTGOING,
        declaration_code=code,
        issuing_authority=issuer,
        executing_country=executing.country,
        executing_authority=executing,
        created_by=author,
        data=data,
        state=Request.State.SENT,
        sent_at=timezone.now(),
    )
    request_grant_authority(request=request, authority=issuer)
    attachment = Attachment(
        request=request,
        name=ANNEX_NAME,
        media_type="application/pdf",
        size=len(ANNEX),
        sha256=hashlib.sha256(ANNEX).hexdigest(),
        uploaded_by=author,
    )
    attachment.file.save(attachment.sha256, ContentFile(ANNEX), save=False)
    attachment.save()
    assert request.is_confidential == confidential
    return request


def documents(request: Request) -> list[Document]:
    return [
        Document(f"{request.reference}.pdf", "application/pdf", PDF),
        Document(ANNEX_NAME, "application/pdf", ANNEX),
    ]


def enqueue(
    request: Request,
    sender: Authority,
    recipient: Authority,
    *,
    kind: str = "request",
    data: dict[str, Any] | None = None,
) -> OutboxMessage:
    """A message about ``request`` in the outbox, not delivered (nothing reaches Celery)."""
    if data is None:
        data = request_message_data(
            request=request, sent_by="Ana Ionescu", request_document=f"{request.reference}.pdf"
        )
    return outbox_enqueue(
        request=request,
        kind=kind,
        data=data,
        documents=documents(request) if kind == "request" else [],
        sender=sender,
        recipient=recipient,
    )


def enqueue_committed(
    request: Request,
    sender: Authority,
    recipient: Authority,
    capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> OutboxMessage:
    """A message about ``request`` in the outbox, with the callbacks of its commit run: the
    delivery task is handed to Celery (``capture_on_commit_callbacks`` is pytest-django's
    ``django_capture_on_commit_callbacks``)."""
    with capture_on_commit_callbacks(execute=True):
        return enqueue(request, sender, recipient)


def incoming_copy(request: Request, recipient: Authority) -> Request | None:
    """The receiving side's copy of ``request``, if the message reached ``recipient``."""
    return Request.objects.filter(
        direction=Request.Direction.INCOMING,
        reference=request.reference,
        executing_authority=recipient,
    ).first()
