"""The request page after sending: each side's steps, the deadlines in both zones, Annex B,
the 404 rule on every URL that names a request, and auditors who read without acting."""

import datetime
import zoneinfo

import pytest
from django.urls import URLPattern, reverse

from mla.instruments.declarations import declaration_for
from mla.requests import urls as request_urls
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.executing import request_acknowledge
from mla.requests.models import AuditEntry, Request
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db


def _url_args(pattern: URLPattern, reference: str, *, attachment_id: int) -> list[object]:
    values = {
        "reference": reference,
        "section": "A",
        "action": "acknowledge",
        "attachment_id": attachment_id,
    }
    return [values[name] for name in pattern.pattern.converters]


REQUEST_URLS = [
    pattern
    for pattern in request_urls.urlpatterns
    if isinstance(pattern, URLPattern) and "reference" in pattern.pattern.converters
]


@pytest.mark.parametrize("pattern", REQUEST_URLS, ids=lambda pattern: pattern.name)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_url_naming_a_request_answers_404_to_outsiders(client, sent_eio, pattern, method):
    issuing, executing = sent_eio
    outsider = UserFactory(
        authority=AuthorityFactory(identifier="ro-other"), roles=["contact_point_staff"]
    )
    client.force_login(outsider)

    def status(reference: str) -> int:
        url = reverse(
            f"requests:{pattern.name}", args=_url_args(pattern, reference, attachment_id=1)
        )
        return getattr(client, method)(url).status_code

    # Exactly as for a reference that does not exist: 404, or 405 for a GET of a POST-only
    # URL, which is answered before anything is looked up.
    assert status(issuing.reference) == status("XX-NONE-2026-000000")
    assert status(issuing.reference) == (404 if method == "post" else status("XX-NONE-2026-000000"))
    assert status(issuing.reference) in (404, 405)
    assert Request.objects.get(pk=executing.pk).state == Request.State.RECEIVED


def test_the_executing_staff_acknowledge_from_the_page_and_download_annex_b(
    client, sent_eio, berlin_staff
):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)
    page = client.get(reverse("requests:detail", args=[executing.reference])).content.decode()
    assert "Acknowledge receipt" in page
    assert "received from" in page
    assert "Recognise" not in page  # not before it is acknowledged

    response = client.post(
        reverse("requests:transition", args=[executing.reference, "acknowledge"]),
        {"expected_state": "received", "note": "File 7 Js 12/26"},
        follow=True,
    )

    assert "The request is now “Acknowledged”" in response.content.decode()
    executing.refresh_from_db()
    assert executing.state == Request.State.ACKNOWLEDGED
    annex = client.get(reverse("requests:annex_b", args=[executing.reference]))
    assert annex.status_code == 200
    assert annex.content.startswith(b"%PDF")
    assert annex["Content-Disposition"].endswith('-annex-b.pdf"')


def test_annex_b_does_not_exist_before_acknowledgement(client, sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)

    assert client.get(reverse("requests:annex_b", args=[executing.reference])).status_code == 404


def test_the_issuer_sees_the_deadlines_in_both_zones_and_the_annex_b(
    client, sent_eio, berlin_staff, prosecutor, authorities
):
    authorities["paris"].time_zone = "Europe/Paris"
    authorities["paris"].save()
    authorities["berlin"].time_zone = "Europe/Berlin"
    authorities["berlin"].save()
    issuing, executing = sent_eio
    request_acknowledge(request=executing, actor=berlin_staff)
    client.force_login(prosecutor)

    page = client.get(reverse("requests:detail", args=[issuing.reference])).content.decode()

    assert "Acknowledged" in page
    assert "Europe/Paris" in page
    assert "Europe/Berlin" in page
    # The due times are written in each zone's wall-clock time, not in UTC.
    due = issuing.deadlines.get(code="recognition").due_at
    paris = due.astimezone(zoneinfo.ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M")
    utc = due.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M")
    assert f"{paris}</time> <small>Europe/Paris" in page
    assert paris != utc
    assert "Art. 12(3)" in page  # the recognition deadline names its article
    assert 'data-deadline-state="met"' in page
    assert "Download the acknowledgement (Annex B)" in page
    # The issuer has nothing to do on an acknowledged request but withdraw it.
    assert 'data-step="withdraw"' in page
    assert 'data-step="acknowledge"' not in page


def test_a_refusal_without_motivation_is_refused_on_the_page(client, sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)

    response = client.post(
        reverse("requests:transition", args=[executing.reference, "refuse"]),
        {"expected_state": "received", "ground": "eio_11_1_b", "motivation": ""},
        follow=True,
    )

    assert "A refusal must be motivated in writing." in response.content.decode()
    executing.refresh_from_db()
    assert executing.state == Request.State.RECEIVED


def test_bad_numbers_and_dates_get_a_clear_message(client, sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)

    days = client.post(
        reverse("requests:transition", args=[executing.reference, "extend_recognition"]),
        {"days": "thirty", "reason": "x"},
        follow=True,
    )
    assert "whole number" in days.content.decode()


def test_an_auditor_reads_without_acting(client, sent_eio, authorities):
    _issuing, executing = sent_eio
    auditor = UserFactory(authority=authorities["berlin"], roles=["auditor"])
    client.force_login(auditor)

    page = client.get(reverse("requests:detail", args=[executing.reference])).content.decode()
    assert "Timeline" in page
    assert "Next step" not in page
    response = client.post(
        reverse("requests:transition", args=[executing.reference, "acknowledge"]),
        {"expected_state": "received"},
        follow=True,
    )

    assert "You may not acknowledge this request." in response.content.decode()
    executing.refresh_from_db()
    assert executing.state == Request.State.RECEIVED


def test_a_download_of_a_confidential_request_is_recorded(client, prosecutor, countries):
    draft = request_create(
        actor=prosecutor, declaration_code="preservation", executing_country=countries["US"]
    )
    draft.data = complete_data(declaration_for("preservation"))
    draft.data["13"]["confidential"] = True
    draft.save()
    client.force_login(prosecutor)

    client.get(reverse("requests:json", args=[draft.reference]))

    entry = AuditEntry.objects.filter(request=draft).last()
    assert (entry.event, entry.payload, entry.actor) == (
        "downloaded",
        {"document": "json"},
        prosecutor,
    )


def test_a_download_of_an_ordinary_request_is_not_recorded(client, eio_draft, prosecutor):
    client.force_login(prosecutor)
    before = AuditEntry.objects.filter(request=eio_draft).count()

    client.get(reverse("requests:json", args=[eio_draft.reference]))

    assert AuditEntry.objects.filter(request=eio_draft).count() == before


def test_the_lists_show_received_requests_to_the_receiving_authority(
    client, sent_eio, berlin_staff
):
    issuing, _executing = sent_eio
    client.force_login(berlin_staff)

    response = client.get(reverse("requests:list"))

    assert [item.reference for item, _title in response.context["incoming_rows"]] == [
        issuing.reference
    ]
    assert response.context["rows"] == []
    assert "Requests received by your authority" in response.content.decode()


def test_send_from_the_page(client, ready_eio, prosecutor, berlin_staff):
    client.force_login(prosecutor)

    response = client.post(
        reverse("requests:transition", args=[ready_eio.reference, "send"]),
        {"expected_state": "ready"},
        follow=True,
    )

    assert "The request is now “Delivered”" in response.content.decode()


def test_an_unsent_draft_cannot_be_sent(client, eio_draft, prosecutor):
    client.force_login(prosecutor)

    response = client.post(
        reverse("requests:transition", args=[eio_draft.reference, "send"]),
        {"expected_state": "draft"},
        follow=True,
    )

    assert "“Draft”: you cannot send it now." in response.content.decode()
