"""A request's PDF for download: rendered by a worker, kept per version, failures said."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mla.requests.documents.downloads import (
    DocumentState,
    rendered_document_name,
    request_document_ask,
    request_document_content,
    request_document_render,
    request_document_retry,
    request_document_status,
)
from mla.requests.documents.prepared import prepared_document_name

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _storage(document_storage):
    return document_storage


def test_a_pdf_is_pending_until_the_worker_renders_it(eio_draft):
    assert request_document_ask(request=eio_draft).state == DocumentState.PENDING

    assert request_document_render(request_id=eio_draft.pk) == DocumentState.READY

    assert request_document_status(request=eio_draft).state == DocumentState.READY
    assert request_document_content(request=eio_draft).startswith(b"%PDF-")


def test_with_tasks_in_process_the_pdf_is_ready_when_asked(eio_draft, tasks_in_process):
    assert request_document_ask(request=eio_draft).state == DocumentState.READY


def test_a_changed_request_is_a_new_version_to_render(eio_draft):
    request_document_render(request_id=eio_draft.pk)
    first = rendered_document_name(request=eio_draft)

    eio_draft.data["G"] = {"facts": "Changed facts."}
    eio_draft.save()

    assert rendered_document_name(request=eio_draft) != first
    assert request_document_status(request=eio_draft).state == DocumentState.PENDING
    request_document_render(request_id=eio_draft.pk)
    assert not default_storage.exists(first)  # the earlier version's copy is gone
    assert default_storage.exists(rendered_document_name(request=eio_draft))


def test_a_render_over_the_budget_is_kept_as_a_failure_with_its_reason(eio_draft, settings):
    settings.PDF_RENDER_BUDGET_SECONDS = 0.001

    assert request_document_render(request_id=eio_draft.pk) == DocumentState.FAILED

    status = request_document_status(request=eio_draft)
    assert status.state == DocumentState.FAILED
    assert "longer than 0.001 seconds" in status.reason
    assert request_document_content(request=eio_draft) is None


def test_a_retry_forgets_the_failure_and_renders_again(eio_draft, settings, tasks_in_process):
    settings.PDF_RENDER_BUDGET_SECONDS = 0.001
    request_document_render(request_id=eio_draft.pk)
    settings.PDF_RENDER_BUDGET_SECONDS = 300

    assert request_document_retry(request=eio_draft).state == DocumentState.READY


def test_the_pdf_made_ahead_of_sending_is_reused(eio_draft):
    default_storage.save(
        prepared_document_name(request=eio_draft), ContentFile(b"%PDF-1.7 made ahead")
    )

    request_document_render(request_id=eio_draft.pk)

    assert request_document_content(request=eio_draft) == b"%PDF-1.7 made ahead"
