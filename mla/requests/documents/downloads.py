"""A request's PDF for download, rendered by a worker and kept per version of the request.

A full EIO takes about a second to render and a hostile one up to the render budget: a web
worker should wait for neither. Asking for the PDF starts a render task and the page says
"being prepared" until the file is there; the file is then kept under a name drawn from
everything the document shows (so a changed request is rendered again, an unchanged one
never twice). A render stopped by its budget is kept as a failure with its reason, shown
to the user instead of a wait without end. With tasks run in-process (the embedded
default) the file is ready by the time the page answers.
"""

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mla.requests.documents.prepared import prepared_document_name
from mla.requests.documents.rendering import DocumentRenderError, request_pdf
from mla.requests.documents.signing import signed_document
from mla.requests.models import Request

logger = logging.getLogger(__name__)

RENDERED_FOLDER = "requests/rendered"


class DocumentState:
    READY = "ready"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class DocumentStatus:
    state: str  # a DocumentState
    reason: str = ""  # why it failed, for the user


def request_document_version(*, request: Request) -> str:
    """A digest of what the request's document shows: its data and the names around it."""
    shown = "|".join(
        str(part)
        for part in (
            request.pk,
            request.reference,
            request.declaration_code,
            request.issuing_language,
            request.executing_language,
            # Embedded in the document's JSON (structured_export).
            request.translation_attached,
            request.language_reason,
            request.issuing_authority_id,
            request.executing_country_id,
            request.executing_authority_id or 0,
            request.data_digest,
        )
    )
    return hashlib.sha256(shown.encode()).hexdigest()[:24]


def rendered_document_name(*, request: Request) -> str:
    return f"{RENDERED_FOLDER}/{request.pk}-{request_document_version(request=request)}.pdf"


def _failure_name(name: str) -> str:
    return f"{name}.failed"


def _lock_key(name: str) -> str:
    return f"document-render:{name}"


def request_document_status(*, request: Request) -> DocumentStatus:
    """Whether the PDF of this version of the request is ready, being prepared or failed."""
    name = rendered_document_name(request=request)
    if default_storage.exists(name):
        return DocumentStatus(DocumentState.READY)
    failure = _failure_name(name)
    if default_storage.exists(failure):
        with default_storage.open(failure, "rb") as kept:
            return DocumentStatus(DocumentState.FAILED, kept.read().decode(errors="replace"))
    return DocumentStatus(DocumentState.PENDING)


def request_document_ask(*, request: Request) -> DocumentStatus:
    """Have the PDF rendered unless it is ready, failed or already asked for; its status."""
    from mla.requests.tasks import request_document_render_task

    status = request_document_status(request=request)
    if status.state != DocumentState.PENDING:
        return status
    name = rendered_document_name(request=request)
    # Asked once per render: the lock outlives a render stopped by its budget, so that a
    # task lost with its broker is asked for again after it, not on every poll.
    lock_seconds = int(float(settings.PDF_RENDER_BUDGET_SECONDS) * 2) + 60
    if cache.add(_lock_key(name), "asked", timeout=lock_seconds):
        try:
            request_document_render_task.delay(request.pk)
        except Exception:  # no broker: say so in the log, the next ask tries again
            cache.delete(_lock_key(name))
            logger.exception("could not queue the render of request %s", request.pk)
    return request_document_status(request=request)


def request_document_retry(*, request: Request) -> DocumentStatus:
    """Forget a failed render of this version and ask for it again."""
    name = rendered_document_name(request=request)
    default_storage.delete(_failure_name(name))
    cache.delete(_lock_key(name))
    return request_document_ask(request=request)


def request_document_render(*, request_id: int) -> str:
    """Render and keep the PDF of the request's current version (the task's work); the
    resulting state. Reuses the PDF made ahead of sending when it shows the same."""
    request = (
        Request.objects.select_related("issuing_authority", "executing_authority")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        return DocumentState.FAILED
    name = rendered_document_name(request=request)
    if default_storage.exists(name):
        return DocumentState.READY
    prepared = prepared_document_name(request=request)
    try:
        # Once issued, the PDF its authority signed: the bytes its detached signature covers.
        signed = signed_document(request=request)
        if signed is not None:
            content = signed.pdf
        elif default_storage.exists(prepared):
            with default_storage.open(prepared, "rb") as kept:
                content = kept.read()
        else:
            content = request_pdf(request=request)
    except DocumentRenderError as error:
        logger.warning("render of request %s stopped: %s", request_id, error.message)
        default_storage.delete(_failure_name(name))
        default_storage.save(_failure_name(name), ContentFile(error.message.encode()))
        return DocumentState.FAILED
    if not default_storage.exists(name):  # another run may have finished meanwhile
        default_storage.save(name, ContentFile(content))
    default_storage.delete(_failure_name(name))
    _older_versions_delete(request=request, kept=name)
    return DocumentState.READY


def _older_versions_delete(*, request: Request, kept: str) -> None:
    # A confidential document is not kept in more copies than needed: the earlier versions'
    # files (and failures) of this request go once the current one is there.
    _folders, files = default_storage.listdir(RENDERED_FOLDER)
    for file in files:
        path = f"{RENDERED_FOLDER}/{file}"
        if file.startswith(f"{request.pk}-") and path not in (kept, _failure_name(kept)):
            default_storage.delete(path)


def request_document_content(*, request: Request) -> bytes | None:
    """The kept PDF of the request's current version, None until it is ready."""
    name = rendered_document_name(request=request)
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as kept:
        return kept.read()
