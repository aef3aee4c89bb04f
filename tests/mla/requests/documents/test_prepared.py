"""The request's PDF made ahead, when it becomes ready, for a request leaving by the exchange."""

import pytest
from django.core.files.storage import default_storage

from mla.requests import tasks
from mla.requests.documents import prepared
from mla.requests.documents.prepared import (
    prepared_document_name,
    request_document_for_sending,
    request_document_prepare,
)
from mla.requests.lifecycle.issuing import request_submit
from mla.requests.models import Request

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def rendered(monkeypatch) -> list[int]:
    """Rendering is WeasyPrint's (tested elsewhere); here, which request is rendered when."""
    calls: list[int] = []

    def render(*, request: Request) -> bytes:
        calls.append(request.pk)
        return b"%PDF-1.7 " + request.data_digest.encode()

    monkeypatch.setattr(prepared, "request_pdf", render)
    return calls


def test_a_ready_request_is_rendered_once_and_sent_with_that_document(
    ready_eio, rendered, django_capture_on_commit_callbacks
):
    assert request_document_prepare(request_id=ready_eio.pk) is True
    assert request_document_prepare(request_id=ready_eio.pk) is False
    name = prepared_document_name(request=ready_eio)
    assert default_storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        content = request_document_for_sending(request=ready_eio)

    assert content == b"%PDF-1.7 " + ready_eio.data_digest.encode()
    assert rendered == [ready_eio.pk]
    # Sent: the sealed message holds it from now on.
    assert not default_storage.exists(name)


def test_a_request_changed_since_is_rendered_again(ready_eio, rendered):
    request_document_prepare(request_id=ready_eio.pk)
    ready_eio.data["A"] = {**ready_eio.data.get("A", {}), "changed": "yes"}

    content = request_document_for_sending(request=ready_eio)

    assert content == b"%PDF-1.7 " + ready_eio.data_digest.encode()
    assert rendered == [ready_eio.pk, ready_eio.pk]


def test_a_draft_is_not_rendered_ahead(eio_draft, rendered):
    assert request_document_prepare(request_id=eio_draft.pk) is False
    assert rendered == []


def test_submitting_a_request_for_another_node_has_its_document_made(
    eio_draft, prosecutor, monkeypatch, django_capture_on_commit_callbacks
):
    from mla.instruments.declarations import declaration_for
    from tests.support.samples import complete_data

    queued: list[int] = []
    monkeypatch.setattr(tasks.request_document_prepare_task, "delay", queued.append)
    eio_draft.data = complete_data(declaration_for("eio"))
    eio_draft.data["K"]["issuer_type"] = "prosecutor"
    eio_draft.data.pop("L")
    eio_draft.save()

    with django_capture_on_commit_callbacks(execute=True):
        request_submit(request=eio_draft, actor=prosecutor)

    assert queued == [eio_draft.pk]


def test_a_request_delivered_on_this_node_needs_no_document_ahead(
    ready_eio, berlin_staff, monkeypatch, django_capture_on_commit_callbacks
):
    """Berlin works here (it has staff): the request is delivered as a copy, not sealed."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.request_document_prepare_task, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        prepared.request_document_prepare_on_commit(request=ready_eio)

    assert queued == []
