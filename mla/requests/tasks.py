"""Periodic checks of requests (Celery beat). Each only calls a service and may run twice:
what it changes is re-read and re-checked in the service."""

import dataclasses

from celery import shared_task
from django.conf import settings

from mla.requests.deadlines.escalation import deadlines_escalate
from mla.requests.deadlines.store import deadlines_mark_missed
from mla.requests.documents.downloads import request_document_render
from mla.requests.documents.prepared import request_document_prepare
from mla.requests.lifecycle.executing import preservations_lapsed_end


@shared_task(acks_late=True)
def deadlines_check() -> int:
    """Mark the deadlines that ran out since the last event of their request as missed."""
    return deadlines_mark_missed()


@shared_task(acks_late=True)
def preservations_check() -> int:
    """End the preservations whose period ran out without a follow-up request."""
    return preservations_lapsed_end()


@shared_task(acks_late=True)
def deadlines_escalate_task() -> dict[str, int]:
    """Notify the approaching, missed and soon-ending deadlines (each once: see the service)."""
    return dataclasses.asdict(deadlines_escalate())


@shared_task(acks_late=True)
def request_document_prepare_task(request_id: int) -> bool:
    """Make the PDF of a request that became ready to send, ahead of its sending."""
    return request_document_prepare(request_id=request_id)


# The render itself is stopped at its budget (a child process); the hard limit is a second
# guard for the task around it.
@shared_task(acks_late=True, time_limit=int(settings.PDF_RENDER_BUDGET_SECONDS) + 60)
def request_document_render_task(request_id: int) -> str:
    """Render and keep a request's PDF for download (its current version)."""
    return request_document_render(request_id=request_id)
