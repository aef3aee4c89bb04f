"""A request's documents: preview, PDF, structured data, the EIO's Annex B and an e-Evidence
certificate's Annexes III, V and VI, and the record of who took a copy of a confidential
request."""

import pytest
from django.urls import reverse

from mla.instruments import eevidence
from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.certificates import (
    certificate_extend_preservation,
    certificate_report_impossibility,
)
from mla.requests.lifecycle.executing import request_acknowledge, request_preserve
from mla.requests.lifecycle.issuing import request_follow_up
from mla.requests.models import AuditEntry, Request
from tests.support.certificates import EPOC_SUBSCRIBER_DATA
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


def test_the_pdf_is_prepared_by_a_worker_while_the_page_waits(
    client_of, eio_draft, document_storage
):
    from mla.requests.documents.downloads import request_document_render

    url = reverse("requests:pdf", args=[*eio_draft.url_args])
    status_url = reverse("requests:pdf_status", args=[*eio_draft.url_args])

    waiting = client_of.get(url)
    assert waiting["Content-Type"].startswith("text/html")
    assert "The PDF is being prepared" in waiting.content.decode()
    assert f'data-status-url="{status_url}"' in waiting.content.decode()
    assert client_of.get(status_url).json() == {"state": "pending", "reason": ""}

    request_document_render(request_id=eio_draft.pk)  # what the worker does

    assert client_of.get(status_url).json()["state"] == "ready"
    ready = client_of.get(url)
    assert ready["Content-Type"] == "application/pdf"
    assert ready.content.startswith(b"%PDF-")


def test_a_pdf_over_its_budget_is_reported_and_may_be_tried_again(
    client_of, eio_draft, document_storage, settings, tasks_in_process
):
    settings.PDF_RENDER_BUDGET_SECONDS = 0.001
    url = reverse("requests:pdf", args=[*eio_draft.url_args])

    failed = client_of.get(url)

    assert "The PDF could not be made." in failed.content.decode()
    assert "longer than 0.001 seconds" in failed.content.decode()
    settings.PDF_RENDER_BUDGET_SECONDS = 300
    retried = client_of.post(reverse("requests:pdf_retry", args=[*eio_draft.url_args]), follow=True)
    assert retried["Content-Type"] == "application/pdf"


def test_an_attachment_name_with_direction_controls_is_marked(
    client_of, eio_draft, prosecutor, settings, tmp_path
):
    # An upload's name loses such characters in Django's parser; a copy received from
    # another node keeps the name its sender gave.
    from mla.requests.drafting.services import attachment_add

    settings.MEDIA_ROOT = tmp_path
    attachment_add(
        request=eio_draft, actor=prosecutor, name="contract\u202eexe.pdf", content=b"%PDF-1.7 x"
    )

    page = client_of.get(reverse("requests:detail", args=[*eio_draft.url_args])).content.decode()

    assert "<bdi>contract\u202eexe.pdf</bdi>" in page
    assert "contains direction controls: U+202E" in page


def test_an_annex_b_over_its_budget_is_said_on_the_request_page(
    client, sent_eio, berlin_staff, settings
):
    from mla.requests.lifecycle.executing import request_acknowledge

    _issuing, executing = sent_eio
    request_acknowledge(request=executing, actor=berlin_staff)
    settings.PDF_RENDER_BUDGET_SECONDS = 0.001
    client.force_login(berlin_staff)

    response = client.get(reverse("requests:annex_b", args=[*executing.url_args]), follow=True)

    assert response.redirect_chain[-1][0] == executing.get_absolute_url()
    assert "longer than 0.001 seconds" in response.content.decode()


# e-Evidence: the Annexes III, V and VI of a certificate --------------------------------------


def _annex_url(name, item):
    return reverse(f"requests:{name}", args=[*item.url_args])


def _reported(send_certificate, provider_staff):
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    certificate_report_impossibility(
        request=provided,
        actor=provider_staff,
        reasons=["manifest_errors"],
        explanation="The account identifier is not an e-mail address.",
    )
    return Request.objects.get(pk=issuing.pk), Request.objects.get(pk=provided.pk)


@pytest.mark.parametrize("name", ["annex_iii", "annex_v", "annex_vi"])
def test_an_e_evidence_annex_does_not_exist_before_its_step(
    client, send_certificate, provider_staff, prosecutor, name
):
    issuing, provided = send_certificate(eevidence.EPOC_PR)
    client.force_login(provider_staff)
    assert client.get(_annex_url(name, provided)).status_code == 404
    page = client.get(provided.get_absolute_url()).content.decode()
    assert _annex_url(name, provided) not in page
    client.force_login(prosecutor)
    assert client.get(_annex_url(name, issuing)).status_code == 404


def test_both_sides_download_the_annex_iii_from_the_request_page(
    client, send_certificate, provider_staff, prosecutor
):
    issuing, provided = _reported(send_certificate, provider_staff)

    for user, item in ((provider_staff, provided), (prosecutor, issuing)):
        client.force_login(user)
        page = client.get(item.get_absolute_url()).content.decode()
        assert f'<a href="{_annex_url("annex_iii", item)}">' in page
        assert "(Annex III)" in page
        assert _annex_url("annex_v", item) not in page
        response = client.get(_annex_url("annex_iii", item))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        assert f'filename="{item.reference}-annex-iii.pdf"' in response["Content-Disposition"]


def test_an_e_evidence_annex_is_404_to_whoever_may_not_see_the_request(
    client, send_certificate, provider_staff, berlin_staff
):
    issuing, provided = _reported(send_certificate, provider_staff)
    client.force_login(berlin_staff)

    assert client.get(_annex_url("annex_iii", provided)).status_code == 404
    assert client.get(_annex_url("annex_iii", issuing)).status_code == 404


def test_the_addressee_downloads_the_annexes_v_and_vi_of_its_preservation_order(
    client, send_certificate, provider_staff, prosecutor
):
    issuing, provided = send_certificate(eevidence.EPOC_PR)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    certificate_extend_preservation(
        request=Request.objects.get(pk=issuing.pk), actor=prosecutor, reason="Pending."
    )
    client.force_login(provider_staff)
    page = client.get(provided.get_absolute_url()).content.decode()
    assert _annex_url("annex_vi", provided) in page
    assert _annex_url("annex_v", provided) not in page

    production, _produced = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    request_follow_up(
        request=Request.objects.get(pk=issuing.pk), actor=prosecutor, follow_up=production
    )

    page = client.get(provided.get_absolute_url()).content.decode()
    for name in ("annex_v", "annex_vi"):
        assert _annex_url(name, provided) in page
        assert client.get(_annex_url(name, provided)).content.startswith(b"%PDF-")


def test_a_download_of_an_annex_of_a_confidential_request_is_recorded(
    client, send_certificate, provider_staff
):
    _issuing, provided = _reported(send_certificate, provider_staff)
    # The received copy of a certificate whose issuer asked for confidentiality.
    Request.objects.filter(pk=provided.pk).update(data={"K": {"confidential": True}})
    client.force_login(provider_staff)

    client.get(_annex_url("annex_iii", provided))

    entry = AuditEntry.objects.filter(request=provided).last()
    assert (entry.event, entry.payload, entry.actor) == (
        "downloaded",
        {"document": "annex_iii"},
        provider_staff,
    )
