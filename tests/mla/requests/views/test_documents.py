"""A request's documents: preview, PDF, structured data and the EIO's Annex B, and the record
of who took a copy of a confidential request."""

import pytest
from django.urls import reverse

from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import request_create
from mla.requests.models import AuditEntry
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_of(client, prosecutor):
    client.force_login(prosecutor)
    return client


@pytest.mark.parametrize("name", ["preview", "pdf", "json"])
def test_another_authoritys_request_is_404(client, eio_draft, name):
    outsider = UserFactory(authority=AuthorityFactory(identifier="ro-other"))
    client.force_login(outsider)

    response = client.get(reverse(f"requests:{name}", args=[*eio_draft.url_args]))

    assert response.status_code == 404


def test_pdf_download(client_of, eio_draft, tasks_in_process, document_storage):
    response = client_of.get(reverse("requests:pdf", args=[*eio_draft.url_args]))

    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f'filename="{eio_draft.reference}.pdf"' in response["Content-Disposition"]


def test_structured_data_download(client_of, eio_draft):
    import json

    response = client_of.get(reverse("requests:json", args=[*eio_draft.url_args]))

    document = json.loads(response.content)
    assert document["reference"] == eio_draft.reference
    assert document["data"] == eio_draft.data
    assert document["sha256"] == eio_draft.data_digest


def test_annex_b_does_not_exist_before_acknowledgement(client, sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)

    assert client.get(reverse("requests:annex_b", args=[*executing.url_args])).status_code == 404


def test_a_download_of_a_confidential_request_is_recorded(client, prosecutor, countries):
    draft = request_create(
        actor=prosecutor, declaration_code="preservation", executing_country=countries["US"]
    )
    draft.data = complete_data(declaration_for("preservation"))
    draft.data["13"]["confidential"] = True
    draft.save()
    client.force_login(prosecutor)

    client.get(reverse("requests:json", args=[*draft.url_args]))

    entry = AuditEntry.objects.filter(request=draft).last()
    assert (entry.event, entry.payload, entry.actor) == (
        "downloaded",
        {"document": "json"},
        prosecutor,
    )


def test_a_download_of_an_ordinary_request_is_not_recorded(client, eio_draft, prosecutor):
    client.force_login(prosecutor)
    before = AuditEntry.objects.filter(request=eio_draft).count()

    client.get(reverse("requests:json", args=[*eio_draft.url_args]))

    assert AuditEntry.objects.filter(request=eio_draft).count() == before
