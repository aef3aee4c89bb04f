"""A request's documents and exchange messages through the API: the page's prepared PDF,
its signature, the structured JSON, the evidence bundle, each download of a confidential
request recorded as on the page."""

import io
import json
import zipfile

import pytest

from mla.requests.documents.downloads import request_document_render
from mla.requests.documents.rendering import structured_export
from mla.requests.models import AuditEntry, Request
from tests.support.api import ApiClient, api_token_for
from tests.support.factories import UserFactory
from tests.support.sending import enqueue, outgoing_request

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def _path(request: Request, rest: str) -> str:
    issuer, reference = request.url_args
    return f"/requests/{issuer}/{reference}/{rest}"


@pytest.fixture
def api(prosecutor):
    return ApiClient(api_token_for(prosecutor, "read"))


@pytest.fixture
def author(sender):
    return UserFactory(authority=sender, roles=["prosecutor"])


@pytest.fixture
def confidential(sender, recipient, author):
    return outgoing_request(sender, recipient, author, confidential=True)


def _downloads(request: Request) -> list[dict]:
    return list(
        AuditEntry.objects.filter(request=request, event="downloaded").values_list(
            "payload", flat=True
        )
    )


def test_the_pdf_is_202_with_retry_after_until_a_worker_has_made_it(
    api, eio_draft, document_storage, settings, monkeypatch
):
    from mla.requests import tasks

    asked = []
    monkeypatch.setattr(tasks.request_document_render_task, "delay", asked.append)
    settings.PDF_POLL_SECONDS = 3
    path = _path(eio_draft, "document.pdf")

    waiting = api.get(path)

    assert waiting.status_code == 202
    assert waiting["Retry-After"] == "3"
    assert waiting["Content-Type"] == "application/json"
    body = waiting.json()
    assert (body["status"], body["code"], body["state"], body["retry_after"]) == (
        202,
        "document_pending",
        "pending",
        3,
    )
    assert body["detail"] == "The PDF is being prepared. Ask again in 3 seconds."
    assert asked == [eio_draft.pk]

    request_document_render(request_id=eio_draft.pk)  # what the worker does
    ready = api.get(path)

    assert ready.status_code == 200
    assert ready["Content-Type"] == "application/pdf"
    assert ready.content.startswith(b"%PDF-")
    assert f'filename="{eio_draft.reference}.pdf"' in ready["Content-Disposition"]


def test_a_pdf_that_could_not_be_made_is_a_problem_and_may_be_asked_for_again(
    api, eio_draft, document_storage, settings, tasks_in_process
):
    settings.PDF_RENDER_BUDGET_SECONDS = 0.001

    failed = api.get(_path(eio_draft, "document.pdf"))

    assert failed.status_code == 422
    assert failed["Content-Type"] == PROBLEM
    assert failed.json()["code"] == "document_failed"
    assert failed.json()["detail"].startswith("The PDF could not be made.")
    assert "longer than 0.001 seconds" in failed.json()["detail"]

    settings.PDF_RENDER_BUDGET_SECONDS = 300
    retried = api.post(_path(eio_draft, "document.pdf/retry"))

    assert retried.status_code == 202
    assert api.get(_path(eio_draft, "document.pdf"))["Content-Type"] == "application/pdf"


def test_the_structured_json_is_the_pages_download(api, eio_draft):
    downloaded = api.get(_path(eio_draft, "document.json"))

    assert downloaded.status_code == 200
    assert downloaded["Content-Type"] == "application/json"
    assert downloaded.content == structured_export(request=eio_draft)
    assert json.loads(downloaded.content)["reference"] == eio_draft.reference
    # An ordinary request: taking a copy is not an act of record.
    assert _downloads(eio_draft) == []


def test_each_download_of_a_confidential_request_is_recorded_as_on_the_page(
    confidential, author, document_storage, tasks_in_process, exchange_homes
):
    api = ApiClient(api_token_for(author, "read"))

    answers = [
        api.get(_path(confidential, name))
        for name in ("document.json", "document.pdf", "evidence-bundle")
    ]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert _downloads(confidential) == [
        {"document": "json"},
        {"document": "pdf"},
        {"document": "evidence"},
    ]
    assert AuditEntry.objects.filter(request=confidential).last().actor == author


def test_the_evidence_bundle_is_the_pages_zip(api, sent_eio, exchange_homes):
    paris, _berlin = sent_eio

    bundle = api.get(_path(paris, "evidence-bundle"))

    assert bundle.status_code == 200
    assert bundle["Content-Type"] == "application/zip"
    assert "evidence_" in bundle["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()
    assert any(name.endswith("timeline.json") for name in names), names


def test_the_signature_is_404_until_the_request_is_signed(api, eio_draft):
    assert api.get(_path(eio_draft, "document.pdf.sig")).status_code == 404


def test_the_signature_of_the_issued_pdf_is_given_beside_it(
    prosecutor, eio_draft, exchange_homes, exchange_keys, document_storage, tasks_in_process
):
    authority = eio_draft.issuing_authority
    authority.key_fingerprint = exchange_keys.sender
    authority.save()
    Request.objects.filter(pk=eio_draft.pk).update(state=Request.State.READY)
    eio_draft.refresh_from_db()
    api = ApiClient(api_token_for(prosecutor, "read"))

    signature = api.get(_path(eio_draft, "document.pdf.sig"))
    pdf = api.get(_path(eio_draft, "document.pdf"))

    assert signature.status_code == 200
    assert signature["Content-Type"] == "application/pgp-signature"
    assert signature.content.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert f'filename="{eio_draft.reference}.pdf.asc"' in signature["Content-Disposition"]
    from mla.requests.documents.signing import signed_document

    assert pdf.content == signed_document(request=eio_draft).pdf


@pytest.mark.parametrize(
    "name", ["document.pdf", "document.pdf.sig", "document.json", "evidence-bundle", "messages/"]
)
def test_a_request_the_caller_may_not_see_has_no_documents(eio_draft, authorities, name):
    outsider = ApiClient(api_token_for(UserFactory(authority=authorities["berlin"])))

    assert outsider.get(_path(eio_draft, name)).status_code == 404


def test_the_exchange_messages_of_a_request_are_those_its_page_lists(
    exchange_homes, document_storage, sender, recipient, author
):
    request = outgoing_request(sender, recipient, author)
    message = enqueue(request, sender, recipient)
    api = ApiClient(api_token_for(author, "read"))

    listed = api.get(_path(request, "messages/"))

    assert listed.status_code == 200
    [row] = listed.json()
    assert row["message_id"] == str(message.message_id)
    assert (row["direction"], row["kind"], row["state"]) == ("outgoing", "request", "pending")
    assert (row["sender"], row["recipient"]) == (sender.identifier, recipient.identifier)
    assert row["has_receipt"] is False
    assert row["next_attempt_at"] is not None


def test_a_request_never_sent_has_no_message(api, eio_draft):
    assert api.get(_path(eio_draft, "messages/")).json() == []
