"""The e-Evidence steps on a request's page: which the provider and the issuing authority are
offered, their help (the article and the time left), and the forms read into the services."""

import datetime
import hashlib

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from mla.instruments import eevidence
from mla.requests.events import Event
from mla.requests.lifecycle.certificates import (
    certificate_produce,
    certificate_report_impossibility,
)
from mla.requests.lifecycle.executing import request_acknowledge, request_preserve
from mla.requests.lifecycle.steps import STEPS, steps_allowed, steps_shown
from mla.requests.models import Request
from tests.support.certificates import EPOC_DATA, EPOC_EMERGENCY_DATA, EPOC_SUBSCRIBER_DATA, FILES

pytestmark = pytest.mark.django_db
State = Request.State


def _names(steps):
    return [step.name for step in steps]


def _reload(*copies):
    return [Request.objects.get(pk=item.pk) for item in copies]


def test_the_provider_is_offered_the_addressees_steps(send_certificate, provider_staff, prosecutor):
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    assert _names(steps_allowed(request=provided, user=provider_staff)) == [
        "acknowledge",
        "report_impossibility",
    ]
    request_acknowledge(request=provided, actor=provider_staff)
    provided.refresh_from_db()
    assert _names(steps_allowed(request=provided, user=provider_staff)) == [
        "assign",
        "preserve",
        "report_impossibility",
    ]
    request_preserve(request=provided, actor=provider_staff)
    issuing, provided = _reload(issuing, provided)
    assert _names(steps_allowed(request=provided, user=provider_staff)) == [
        "assign",
        "produce",
        "produce_partially",
        "report_impossibility",
    ]
    assert steps_allowed(request=provided, user=prosecutor) == []
    assert _names(steps_allowed(request=issuing, user=prosecutor)) == ["withdraw"]


def test_the_production_help_names_the_article_and_the_time_left(send_certificate, provider_staff):
    with time_machine.travel(datetime.datetime(2026, 9, 1, 9, tzinfo=datetime.UTC), tick=False):
        _issuing, ten_days = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
        _issuing, notified = send_certificate(eevidence.EPOC, EPOC_DATA)
        _issuing, emergency = send_certificate(eevidence.EPOC, EPOC_EMERGENCY_DATA)
    with time_machine.travel(datetime.datetime(2026, 9, 1, 10, tzinfo=datetime.UTC), tick=False):
        assert STEPS["produce"].help(request=ten_days) == (
            "Transmit within 10 days of receipt (Art. 10(3)). 9 d 23 h left."
        )
        notified_help = STEPS["produce"].help(request=notified)
        assert notified_help.startswith("The enforcing authority is notified")
        assert "Art. 10(2)). 9 d 23 h left." in notified_help
        # Not yet allowed: the page says why.
        assert notified_help.endswith("once it says it raises no ground (Art. 10(2)).")
        assert STEPS["produce"].help(request=emergency) == (
            "Emergency: transmit at the latest 8 hours after receipt (Art. 10(4)). 7 h left."
        )


def test_annex_iii_is_read_from_its_form(send_certificate, provider_staff, prosecutor):
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    data = QueryDict(mutable=True)
    data.update({"expected_state": "received", "explanation": "No such account."})
    data.setlist("reasons", ["data_not_stored", "conflicting_obligations"])
    data.update({f"conflict_{name}": "x" for name in eevidence.CONFLICTING_OBLIGATION_FIELDS})
    data["data_preserved"] = "on"

    STEPS["report_impossibility"].take(request=provided, actor=provider_staff, data=data)

    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.IMPOSSIBLE, State.IMPOSSIBLE)
    entry = provided.audit_entries.get(event=Event.IMPOSSIBILITY_REPORTED)
    assert entry.payload["reasons"] == ["data_not_stored", "conflicting_obligations"]
    assert entry.payload["data_preserved"] is True

    [answer] = [s for s in steps_shown(request=issuing, user=prosecutor) if s.primary]
    assert answer.name == "answer_impossibility"
    assert answer.help.startswith("Answer the Annex III within 5 days")
    assert answer.help.endswith("left.")
    STEPS["answer_impossibility"].take(
        request=issuing,
        actor=prosecutor,
        data=QueryDict("expected_state=impossible&answer=corrected&note=Account+fixed"),
    )
    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.DELIVERED, State.RECEIVED)


def test_annex_vi_and_annex_v_are_offered_on_an_epoc_pr(
    send_certificate, provider_staff, prosecutor
):
    issuing, provided = send_certificate(eevidence.EPOC_PR)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    issuing, provided = _reload(issuing, provided)

    shown = {s.name: s for s in steps_shown(request=issuing, user=prosecutor)}
    assert list(shown) == ["follow_up", "order_extension", "withdraw"]
    assert shown["follow_up"].button == "Confirm the production request (Annex V)"
    assert "Annex V" in shown["follow_up"].help
    assert shown["order_extension"].help.startswith(
        "Annex VI: 30 more days, once, before the 60 days end (Art. 11(1))."
    )
    assert _names(steps_allowed(request=provided, user=provider_staff)) == [
        "assign",
        "report_impossibility",
        "end_preservation",
    ]

    STEPS["order_extension"].take(
        request=issuing,
        actor=prosecutor,
        data=QueryDict("expected_state=preserved&note=Order+in+preparation"),
    )
    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.EXTENDED, State.EXTENDED)
    assert "order_extension" not in _names(steps_allowed(request=issuing, user=prosecutor))


def test_the_data_are_uploaded_from_the_page_and_their_receipt_confirmed(
    client, send_certificate, provider_staff, prosecutor, document_storage
):
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    client.force_login(provider_staff)

    response = client.post(
        reverse("requests:transition", args=[*provided.url_args, "produce"]),
        {
            "expected_state": "preserved",
            "produced": [
                SimpleUploadedFile(f.name, f.content, content_type="text/plain") for f in FILES
            ],
        },
        follow=True,
    )

    assert "now “Data produced”" in response.content.decode()
    issuing, provided = _reload(issuing, provided)
    assert issuing.state == State.EXECUTED
    assert [f["sha256"] for f in provided.audit_entries.get(event="executed").payload["files"]] == [
        hashlib.sha256(f.content).hexdigest() for f in FILES
    ]
    [confirm] = [s for s in steps_shown(request=issuing, user=prosecutor) if s.likely]
    assert confirm.name == "confirm_receipt"
    STEPS["confirm_receipt"].take(request=issuing, actor=prosecutor, data=QueryDict(""))
    assert issuing.audit_entries.filter(event=Event.DATA_RECEIPT_SIGNED).count() == 1
    assert "confirm_receipt" not in _names(steps_allowed(request=issuing, user=prosecutor))


def test_each_copy_s_page_names_the_production_in_its_own_words(
    client, send_certificate, provider_staff, prosecutor, document_storage
):
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    certificate_produce(
        request=Request.objects.get(pk=provided.pk), actor=provider_staff, files=FILES
    )

    client.force_login(provider_staff)
    addressee_page = client.get(provided.get_absolute_url()).content.decode()
    client.force_login(prosecutor)
    issuing_page = client.get(issuing.get_absolute_url()).content.decode()

    assert 'data-state="executed">Data produced</span>' in addressee_page
    assert "<strong>Data produced</strong> (Data preserved → Data produced)" in addressee_page
    assert 'data-state="executed">Data received</span>' in issuing_page
    assert "<strong>Data produced</strong> (Data preserved → Data received)" in issuing_page
    assert "Executed" not in addressee_page + issuing_page


def test_a_partial_production_reads_as_data_partly_produced_and_received(
    client, send_certificate, provider_staff, prosecutor, document_storage
):
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    certificate_produce(
        request=Request.objects.get(pk=provided.pk),
        actor=provider_staff,
        files=FILES,
        partially=True,
        note="The content data are no longer stored.",
    )

    client.force_login(provider_staff)
    addressee_page = client.get(provided.get_absolute_url()).content.decode()
    client.force_login(prosecutor)
    issuing_page = client.get(issuing.get_absolute_url()).content.decode()

    assert 'data-state="partially_executed">Data partly produced</span>' in addressee_page
    assert 'data-state="partially_executed">Data partly received</span>' in issuing_page
    assert "Partially executed" not in addressee_page + issuing_page


def test_a_preservation_order_s_page_reads_data_preserved(
    client, send_certificate, provider_staff, prosecutor
):
    issuing, provided = send_certificate(eevidence.EPOC_PR)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)

    client.force_login(provider_staff)
    addressee_page = client.get(provided.get_absolute_url()).content.decode()
    client.force_login(prosecutor)
    issuing_page = client.get(issuing.get_absolute_url()).content.decode()

    for page in (addressee_page, issuing_page):
        assert 'data-state="preserved">Data preserved</span>' in page


def test_the_production_form_gives_the_service_its_files(send_certificate, provider_staff):
    _issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    form = STEPS["produce"].form_for(
        request=provided,
        actor=provider_staff,
        data=QueryDict("expected_state=preserved"),
        files=MultiValueDict({"produced": [SimpleUploadedFile("a.csv", b"a,b\n")]}),
    )
    assert form.is_valid(), form.errors
    [produced] = form.arguments()["files"]
    assert (produced.name, produced.content) == ("a.csv", b"a,b\n")


def test_the_provider_page_refuses_what_the_service_refuses(send_certificate, provider_staff):
    _issuing, provided = send_certificate(eevidence.EPOC, EPOC_DATA)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    provided.refresh_from_db()
    from mla.core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="enforcing authority is notified"):
        certificate_produce(request=provided, actor=provider_staff, files=FILES)
    # Annex III stays open to it meanwhile.
    certificate_report_impossibility(
        request=provided,
        actor=provider_staff,
        reasons=["other"],
        explanation="x",
    )


def test_the_provider_page_shows_the_upload_form(client, send_certificate, provider_staff):
    _issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    client.force_login(provider_staff)

    page = client.get(provided.get_absolute_url()).content.decode()

    assert 'id="step-produce" enctype="multipart/form-data"' in page
    assert "Transmit within 10 days of receipt (Art. 10(3))." in page
    assert "Report that it cannot be executed (Annex III)" in page


def test_another_providers_staff_and_the_enforcing_authority_find_no_certificate_of_others(
    client, send_certificate, countries, enforcing_authority, provider_staff
):
    from tests.support.factories import ServiceProviderFactory, UserFactory

    _issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    other_provider = ServiceProviderFactory(identifier="de-other-provider", country=countries["DE"])
    outsiders = [
        UserFactory(username="otto", authority=other_provider, roles=["provider_staff"]),
        UserFactory(
            username="erik", authority=enforcing_authority, roles=["central_authority_staff"]
        ),
    ]
    client.force_login(provider_staff)
    queue = client.get(reverse("requests:queue"))
    assert queue.status_code == 200
    assert provided.reference in queue.content.decode()
    for outsider in outsiders:
        client.force_login(outsider)
        assert client.get(provided.get_absolute_url()).status_code == 404
        queue = client.get(reverse("requests:queue"))
        assert queue.status_code == 200
        assert provided.reference not in queue.content.decode()
