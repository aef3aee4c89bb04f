"""The partners pages: download our introduction, take a partner's in, review it side by
side and propose the fingerprints confirmed over the phone."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contact_points.models import Authority, DirectoryChange
from mla.accounts.roles import Role
from mla.exchange.models import IntroductionConfirmation, PartnerIntroduction
from tests.support.factories import UserFactory
from tests.support.introductions import PARTNER_INBOX

pytestmark = pytest.mark.django_db


def _grouped(fingerprint: str) -> str:
    return " ".join(fingerprint[i : i + 4] for i in range(0, 40, 4))


def _upload(client, content: bytes):
    return client.post(
        reverse("exchange:partner_upload"),
        {"file": SimpleUploadedFile("partner.mlaintro.json", content)},
    )


def test_the_partners_page_is_for_those_who_may_change_the_directory_trust(
    client, introduced_node, directory_administrator, node_administrator, exchange_keys
):
    prosecutor = UserFactory(authority=introduced_node, roles=[Role.PROSECUTOR])
    client.force_login(prosecutor)
    assert client.get(reverse("exchange:partners")).status_code == 403
    assert client.get(reverse("exchange:partner_introduction")).status_code == 403
    assert b'href="/exchange/partners/"' not in client.get(reverse("core:home")).content

    for administrator in (directory_administrator, node_administrator):
        client.force_login(administrator)
        page = client.get(reverse("exchange:partners"))
        assert page.status_code == 200
        assert "Download our introduction" in page.content.decode()
        # Our own fingerprints, to read aloud to the partner.
        assert _grouped(exchange_keys.sender) in page.content.decode()


def test_our_introduction_downloads_as_a_signed_file(
    client, introduced_node, directory_administrator, exchange_keys
):
    client.force_login(directory_administrator)

    response = client.get(reverse("exchange:partner_introduction"))

    assert response.status_code == 200
    assert ".mlaintro.json" in response["Content-Disposition"]
    envelope = json.loads(response.content)
    assert [s["fingerprint"] for s in envelope["signatures"]] == [exchange_keys.sender]
    assert json.loads(envelope["payload"])["authorities"][0]["identifier"] == "aa-sender"


def test_a_partner_file_is_shown_beside_our_directory_and_proposed_once_ticked(
    client, introduction_file, directory_administrator, exchange_keys
):
    client.force_login(directory_administrator)

    uploaded = _upload(client, introduction_file)

    taken_in = PartnerIntroduction.objects.get()
    assert uploaded["Location"] == reverse("exchange:partner_review", args=[taken_in.pk])
    page = client.get(uploaded["Location"]).content.decode()
    assert _grouped(exchange_keys.partner) in page
    assert "new authority" in page
    assert PARTNER_INBOX in page
    assert not Authority.objects.filter(identifier="cc-partner").exists()

    unticked = client.post(uploaded["Location"], {"spoke_with": "Ion Popescu"}, follow=True)
    assert "Tick at least one" in unticked.content.decode()
    assert not DirectoryChange.objects.exists()

    proposed = client.post(
        uploaded["Location"],
        {"spoke_with": "Ion Popescu", "confirmed": [exchange_keys.partner]},
        follow=True,
    )

    assert "Another administrator must approve" in proposed.content.decode()
    change = DirectoryChange.objects.get()
    assert (change.status, change.proposed_by) == (
        DirectoryChange.Status.PENDING,
        directory_administrator,
    )
    confirmation = IntroductionConfirmation.objects.get()
    assert (confirmation.spoke_with, confirmation.change) == ("Ion Popescu", change)
    assert Authority.objects.get(identifier="cc-partner").key_fingerprint == ""
    assert reverse("admin:contact_points_directorychange_change", args=[change.pk]) in (
        proposed.content.decode()
    )


def test_a_tampered_file_is_refused_on_upload_and_nothing_is_kept(
    client, introduction_file, directory_administrator
):
    envelope = json.loads(introduction_file)
    envelope["payload"] = envelope["payload"].replace(PARTNER_INBOX, "https://evil.example/in/")
    client.force_login(directory_administrator)

    refused = _upload(client, json.dumps(envelope).encode())

    assert refused["Location"] == reverse("exchange:partners")
    assert "does not hold" in client.get(refused["Location"]).content.decode()
    assert not PartnerIntroduction.objects.exists()


def test_proposing_needs_a_recent_sign_in(
    client, introduction_file, directory_administrator, exchange_keys, settings
):
    import datetime

    import time_machine

    client.force_login(directory_administrator)
    review = _upload(client, introduction_file)["Location"]
    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC), tick=False) as traveller:
        client.force_login(directory_administrator)
        traveller.shift(datetime.timedelta(seconds=settings.REAUTHENTICATION_MAX_AGE + 1))
        refused = client.post(review, {"spoke_with": "Ion", "confirmed": [exchange_keys.partner]})
    assert refused["Location"].startswith(reverse("accounts:reauthenticate"))
    assert not DirectoryChange.objects.exists()


def test_a_node_administrator_approves_on_the_review_page_but_never_their_own_proposal(
    client, introduction_file, directory_administrator, node_administrator, exchange_keys
):
    assert not node_administrator.is_staff  # no way into the administration's approval page
    client.force_login(directory_administrator)
    review = _upload(client, introduction_file)["Location"]
    client.post(review, {"spoke_with": "Ion", "confirmed": [exchange_keys.partner]})
    change = DirectoryChange.objects.get()
    decide = reverse("exchange:partner_change_decide", args=[change.pk])

    own = client.post(decide, {"decision": "approve"}, follow=True)
    assert "four eyes" in own.content.decode()
    assert Authority.objects.get(identifier="cc-partner").key_fingerprint == ""

    client.force_login(node_administrator)
    assert 'value="approve"' in client.get(review).content.decode()
    approved = client.post(decide, {"decision": "approve"})

    assert approved["Location"] == review
    partner = Authority.objects.get(identifier="cc-partner")
    assert (partner.key_fingerprint, partner.inbox_url) == (exchange_keys.partner, PARTNER_INBOX)
    change.refresh_from_db()
    assert (change.status, change.decided_by) == (
        DirectoryChange.Status.APPROVED,
        node_administrator,
    )


def test_the_review_page_decides_only_what_an_introduction_proposed(
    client, introduced_node, node_administrator, openpgp_keys
):
    from contact_points.services import directory_change_propose

    other = UserFactory(authority=introduced_node, roles=[Role.DIRECTORY_ADMINISTRATOR])
    change = directory_change_propose(
        authority=introduced_node, actor=other, public_key=openpgp_keys.valid, inbox_url=""
    )
    client.force_login(node_administrator)

    response = client.post(
        reverse("exchange:partner_change_decide", args=[change.pk]), {"decision": "approve"}
    )

    assert response.status_code == 404
    change.refresh_from_db()
    assert change.status == DirectoryChange.Status.PENDING
