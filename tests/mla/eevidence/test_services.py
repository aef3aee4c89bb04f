"""Art. 19(6): a transmission made by other means than the node's channel, recorded on the
copy of the authority that made or received it, with its facts on the timeline."""

import datetime

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from mla.core.errors import ApplicationError
from mla.eevidence.models import OtherMeansTransmission
from mla.eevidence.services import transmission_by_other_means_record
from mla.requests.access import request_grant_authority
from mla.requests.events import Event
from mla.requests.models import AuditEntry, Request
from tests.support.factories import AuthorityFactory, UserFactory

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 9, 1, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def provider(countries):
    return AuthorityFactory(
        identifier="de-mail", name="Mail GmbH", country=countries["DE"], kind="service_provider"
    )


def _copy(*, authorities, provider, direction, code="epoc"):
    copy = Request.objects.create(
        reference="EPOC-2026-1",
        direction=direction,
        declaration_code=code,
        issuing_authority=authorities["paris"],
        issuing_country_code="FR",
        executing_authority=provider,
        executing_country=provider.country,
        state=Request.State.SENT if direction == "outgoing" else Request.State.RECEIVED,
        sent_at=AT,
    )
    owner = authorities["paris"] if direction == "outgoing" else provider
    request_grant_authority(request=copy, authority=owner)
    return copy


def _record(request, actor, **changes):
    facts = {
        "transmitted_at": AT,
        "place": "Paris, Palais de justice",
        "recipient": "Mail GmbH, legal representative",
        "size_bytes": 52_428_800,
        "item": "data",
        "note": "Handed over on a sealed disk: 50 MB is over the channel's limit.",
    }
    return transmission_by_other_means_record(request=request, actor=actor, **{**facts, **changes})


def test_the_issuing_side_records_a_transmission_with_its_facts_on_the_timeline(
    authorities, provider, prosecutor
):
    issuing = _copy(authorities=authorities, provider=provider, direction="outgoing")

    recorded = _record(issuing, prosecutor)

    row = OtherMeansTransmission.objects.get()
    assert row == recorded
    assert (row.authority, row.direction, row.size_bytes, row.item) == (
        authorities["paris"],
        "outgoing",
        52_428_800,
        "data",
    )
    entry = AuditEntry.objects.get(request=issuing, event=Event.OTHER_MEANS_TRANSMISSION)
    assert entry.payload == {
        "transmitted_at": "2026-09-01T10:00:00+00:00",
        "place": "Paris, Palais de justice",
        "recipient": "Mail GmbH, legal representative",
        "size_bytes": 52_428_800,
        "item": "data",
    }
    assert entry.note.startswith("Handed over on a sealed disk")
    assert entry.actor == prosecutor


def test_the_providers_staff_record_on_the_received_copy(authorities, provider):
    received = _copy(authorities=authorities, provider=provider, direction="incoming")
    staff = UserFactory(authority=provider, roles=["provider_staff"])

    _record(received, staff, item="annex_iii", size_bytes=2048)

    row = OtherMeansTransmission.objects.get()
    assert (row.authority, row.direction, row.item) == (provider, "incoming", "annex_iii")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"place": "  "}, "place"),
        ({"recipient": "Two\nlines"}, "recipient"),
        ({"size_bytes": -1}, "size_bytes"),
        ({"size_bytes": 10**19}, "size_bytes"),  # beyond the column: refused, not a 500
        ({"item": "letter"}, "item"),
        ({"transmitted_at": datetime.datetime(2026, 9, 1, 10, 0)}, "transmitted_at"),
    ],
)
def test_incomplete_facts_are_refused(authorities, provider, prosecutor, changes, field):
    issuing = _copy(authorities=authorities, provider=provider, direction="outgoing")

    with pytest.raises(ApplicationError) as refused:
        _record(issuing, prosecutor, **changes)

    assert refused.value.extra.get("field") == field
    assert not OtherMeansTransmission.objects.exists()
    assert not AuditEntry.objects.filter(event=Event.OTHER_MEANS_TRANSMISSION).exists()


def test_a_transmission_in_the_future_is_refused(authorities, provider, prosecutor):
    issuing = _copy(authorities=authorities, provider=provider, direction="outgoing")

    with pytest.raises(ApplicationError):
        _record(issuing, prosecutor, transmitted_at=timezone.now() + datetime.timedelta(hours=1))


def test_not_for_a_request_outside_e_evidence(authorities, provider, prosecutor):
    eio = _copy(authorities=authorities, provider=provider, direction="outgoing", code="eio")

    with pytest.raises(ApplicationError):
        _record(eio, prosecutor)


def test_the_request_page_panel_offers_the_form_to_those_who_act_only(
    authorities, provider, prosecutor
):
    issuing = _copy(authorities=authorities, provider=provider, direction="outgoing")
    _record(issuing, prosecutor, place="Lyon")
    template = Template("{% load eevidence_tags %}{% other_means_panel %}")
    auditor = UserFactory(authority=authorities["paris"], roles=["auditor"])

    for_prosecutor = template.render(Context({"item": issuing, "user": prosecutor}))
    for_auditor = template.render(Context({"item": issuing, "user": auditor}))

    action = reverse("eevidence:other_means", args=issuing.url_args)
    assert "Lyon" in for_prosecutor
    assert action in for_prosecutor
    assert "Lyon" in for_auditor
    assert action not in for_auditor


def test_the_form_records_and_goes_back_to_the_request(client, authorities, provider, prosecutor):
    issuing = _copy(authorities=authorities, provider=provider, direction="outgoing")
    client.force_login(prosecutor)

    response = client.post(
        reverse("eevidence:other_means", args=issuing.url_args),
        {
            "transmitted_at": "2026-09-01T12:00",
            "place": "Paris",
            "recipient": "Mail GmbH",
            "size_bytes": "1024",
            "item": "certificate",
            "note": "",
        },
    )

    assert response.status_code == 302
    assert response.url == reverse("requests:detail", args=issuing.url_args)
    row = OtherMeansTransmission.objects.get()
    assert (row.item, row.size_bytes, row.recorded_by) == ("certificate", 1024, prosecutor)


def test_the_form_is_not_found_for_someone_who_does_not_see_the_request(
    client, authorities, provider
):
    issuing = _copy(authorities=authorities, provider=provider, direction="outgoing")
    client.force_login(UserFactory(authority=provider, roles=["provider_staff"]))

    response = client.post(reverse("eevidence:other_means", args=issuing.url_args), {})

    assert response.status_code == 404
    assert not OtherMeansTransmission.objects.exists()


def test_a_size_beyond_the_limit_is_a_form_error_and_records_nothing(
    client, authorities, provider, prosecutor
):
    issuing = _copy(authorities=authorities, provider=provider, direction="outgoing")
    client.force_login(prosecutor)

    response = client.post(
        reverse("eevidence:other_means", args=issuing.url_args),
        {
            "transmitted_at": "2026-09-01T12:00",
            "place": "Paris",
            "recipient": "Mail GmbH",
            "size_bytes": str(10**30),
            "item": "certificate",
        },
    )

    assert response.status_code < 500
    assert not OtherMeansTransmission.objects.exists()
