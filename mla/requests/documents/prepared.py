"""The request's PDF made ahead of sending, when it becomes ready to send.

A request going to another node is sealed with its PDF in the send's transaction, and
WeasyPrint takes about a second for a full EIO: made by a worker once the request is ready
(its content frozen), the PDF is waiting when the request is sent, and the send takes a
tenth of that. The file is named by what the document shows (the data's digest, the
executing authority), so a request changed since is rendered again rather than sent stale;
it is removed once sent (the sealed message keeps it).
"""

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from mla.requests.documents.rendering import request_pdf
from mla.requests.lifecycle import channels
from mla.requests.models import Request

logger = logging.getLogger(__name__)

# States whose content no longer changes before sending.
_FROZEN = (Request.State.READY,)


def prepared_document_name(*, request: Request) -> str:
    return (
        f"requests/prepared/{request.pk}-{request.executing_authority_id or 0}-"
        f"{request.data_digest}.pdf"
    )


def request_document_prepare(*, request_id: int) -> bool:
    """Render and keep a ready request's PDF; whether one was made (not for a request that
    is no longer ready, nor twice)."""
    request = (
        Request.objects.select_related("issuing_authority", "executing_authority")
        .filter(pk=request_id, state__in=_FROZEN)
        .first()
    )
    if request is None:
        return False
    name = prepared_document_name(request=request)
    if default_storage.exists(name):
        return False
    content = request_pdf(request=request)
    if not default_storage.exists(name):  # another run may have finished meanwhile
        default_storage.save(name, ContentFile(content))
    return True


def request_document_prepare_on_commit(*, request: Request) -> None:
    """Have a worker make the PDF of a request that just became ready, when it will leave
    by the remote channel (a request delivered on this node needs none)."""
    from mla.requests.tasks import request_document_prepare_task

    authority = request.executing_authority
    if (
        request.state not in _FROZEN
        or authority is None
        or channels.authority_served_here(authority=authority)
    ):
        return
    request_id = request.pk
    # robust: without a broker the PDF is simply made when the request is sent.
    transaction.on_commit(lambda: request_document_prepare_task.delay(request_id), robust=True)


def request_document_for_sending(*, request: Request) -> bytes:
    """The request's PDF: the one made ahead when it still shows this content, else made
    now. The kept file is removed once the send commits."""
    name = prepared_document_name(request=request)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as prepared:
            content = prepared.read()
        transaction.on_commit(lambda: default_storage.delete(name), robust=True)
        return content
    return request_pdf(request=request)
