"""A partner speaks only for itself: its references, its documents, and the inbox's answers.

A request message carries a reference of the one pattern, the sender's own (its country
and directory code); a copy is named by (issuer, reference) in every URL and lookup; the
documents pass the policy of local uploads and are served with the type their content
shows; and every failure in the inbox is a stable refusal code, never a server error."""

import hashlib
import json
from types import SimpleNamespace
from typing import Any, cast

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from contact_points.models import Authority
from mla.exchange.inbox import inbox_receive
from mla.exchange.models import InboxMessage
from mla.exchange.receive import documents_type_check
from mla.exchange.wire.errors import (
    CONTROL_CHARACTER,
    DOCUMENT_TYPE_REFUSED,
    INTERNAL_ERROR,
    INVALID_REFERENCE,
    REFERENCE_IN_USE,
    REFERENCE_NOT_SENDERS,
    MessageRefused,
)
from mla.exchange.wire.manifest import Document, manifest_build
from mla.exchange.wire.seal import message_seal
from mla.instruments.declarations import declaration_for
from mla.requests.access import request_grant_authority
from mla.requests.models import Attachment, Request
from mla.requests.references import reference_next
from tests.support.factories import CountryFactory, UserFactory
from tests.support.keys import pinned_authority
from tests.support.messages import PDF
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db

REQUEST_DOCUMENT = "request.pdf"


@pytest.fixture
def forger(exchange_keys) -> Authority:
    """Another partner, with its own key, of the sender's country unless a test moves it."""
    return pinned_authority("dd-forger", exchange_keys.armored[exchange_keys.sender_other])


@pytest.fixture
def recipient_staff(recipient):
    return UserFactory(authority=recipient, roles=["contact_point_staff"])


def _sealed(
    sender: Authority,
    recipient: Authority,
    *,
    reference: str,
    facts: str = "The sender's own facts.",
    documents: list[Document] | None = None,
) -> bytes:
    data = complete_data(declaration_for("eio"))
    data["G"]["facts"] = facts
    if documents is None:
        documents = [Document(REQUEST_DOCUMENT, "application/pdf", PDF)]
    manifest = manifest_build(
        kind="request",
        sender=sender,
        recipient=recipient,
        reference=reference,
        data={
            "data": data,
            "declaration_code": "eio",
            "request_document": REQUEST_DOCUMENT,
            "sent_by": "Ana Ionescu",
            "sent_at": timezone.now().isoformat(),
        },
        documents=documents,
    )
    return message_seal(manifest=manifest, documents=documents, sender=sender, recipient=recipient)


def _refusal(sealed: bytes) -> str:
    with pytest.raises(MessageRefused) as refused:
        inbox_receive(sealed=sealed)
    return refused.value.reason_code


def _genuine(sender: Authority, recipient: Authority) -> Request:
    reference = reference_next(authority=sender, declaration_code="eio", year=2026)
    inbox_receive(sealed=_sealed(sender, recipient, reference=reference))
    return Request.objects.get(direction=Request.Direction.INCOMING, reference=reference)


@pytest.mark.parametrize("forger_country", ["RO", "DE"])
def test_a_reference_of_another_issuer_is_refused_and_the_genuine_copy_stays_reachable(
    client, sender, recipient, forger, recipient_staff, forger_country
):
    forger.country = CountryFactory(code=forger_country)
    forger.save()
    genuine = _genuine(sender, recipient)

    forged = _sealed(forger, recipient, reference=genuine.reference, facts="Forged facts.")

    assert _refusal(forged) == REFERENCE_NOT_SENDERS
    assert Request.objects.filter(reference=genuine.reference).count() == 1
    client.force_login(recipient_staff)
    page = client.get(genuine.get_absolute_url())
    assert page.status_code == 200
    assert page.context["item"].pk == genuine.pk
    assert genuine.get_absolute_url() == (f"/requests/{sender.identifier}/{genuine.reference}/")


def test_a_copy_is_named_by_its_issuer_and_reference_so_two_issuers_never_hide_each_other(
    client, sender, recipient, forger, recipient_staff
):
    # Two copies under one reference (as a node that took such a message before kept them):
    # each issuer's URL opens its own, and neither takes the other's place.
    genuine = _genuine(sender, recipient)
    other = Request.objects.create(
        reference=genuine.reference,
        direction=Request.Direction.INCOMING,
        declaration_code="eio",
        issuing_authority=forger,
        executing_country=recipient.country,
        executing_authority=recipient,
        state=Request.State.RECEIVED,
        data={"G": {"facts": "Forged facts."}},
    )
    request_grant_authority(request=other, authority=recipient)
    client.force_login(recipient_staff)

    assert client.get(genuine.get_absolute_url()).context["item"].pk == genuine.pk
    assert client.get(other.get_absolute_url()).context["item"].pk == other.pk
    wrong_issuer = reverse("requests:detail", args=["bb-recipient", genuine.reference])
    assert client.get(wrong_issuer).status_code == 404


def test_a_reference_already_used_at_the_recipient_by_another_sender_is_refused(
    sender, recipient, forger
):
    genuine = _genuine(sender, recipient)
    # The sender's code has since changed, and the forger holds its former one: the forger's
    # reference is then of its own country and code, but another issuer's request has it.
    former_code = sender.reference_code
    sender.reference_code = "RENAMED"
    sender.save()
    forger.reference_code = former_code
    forger.save()

    reused = _sealed(forger, recipient, reference=genuine.reference, facts="Forged facts.")

    assert _refusal(reused) == REFERENCE_IN_USE
    assert list(Request.objects.filter(reference=genuine.reference)) == [genuine]
    assert InboxMessage.objects.count() == 1


HOSTILE = [
    "a/b",
    "RO-AASENDER-EIO-2026-000001/../../admin",
    "../../etc/passwd",
    "RO-AASENDER-EIO-2026-000001\n",
    "<script>alert(1)</script>",
    "",
    "RO-AASENDER-EIO-2026-" + "1" * 60,
    "RO-EIO-2026-0000001",  # the former pattern, with a number it never had
    "RO-EIO-26-000001",
]


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("reference", HOSTILE)
def test_a_hostile_reference_is_refused_with_its_code_never_a_server_error(
    client, settings, sender, recipient, reference, debug
):
    settings.DEBUG = debug

    response = client.post(
        reverse("exchange:inbox"),
        _sealed(sender, recipient, reference=reference),
        content_type="application/octet-stream",
    )

    assert response.status_code == 422
    assert response.json()["refused"] == INVALID_REFERENCE
    assert not Request.objects.filter(direction=Request.Direction.INCOMING).exists()
    assert not InboxMessage.objects.exists()


def test_a_reference_of_another_country_than_the_senders_is_refused(sender, recipient):
    reference = f"DE-{sender.reference_code}-EIO-2026-000001"

    assert _refusal(_sealed(sender, recipient, reference=reference)) == REFERENCE_NOT_SENDERS


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_an_unexpected_failure_is_a_stable_code_without_a_traceback(
    client, settings, monkeypatch, debug
):
    settings.DEBUG = debug

    def failing(*, sealed: bytes) -> bytes:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("mla.exchange.views.inbox_receive", failing)

    response = client.post(
        reverse("exchange:inbox"), b"anything", content_type="application/octet-stream"
    )

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["refused"] == INTERNAL_ERROR
    assert "hunter2" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize(
    ("name", "media_type", "content"),
    [
        ("notes.txt", "text/plain", b"plain text"),
        ("page.html", "text/html", b"<html><script>alert(1)</script></html>"),
        ("tool.exe", "application/pdf", b"MZ\x90\x00executable"),
        ("photo.png", "image/png", PDF),  # a PDF named as another kind of file
    ],
)
def test_a_received_document_outside_the_upload_policy_is_refused(
    sender, recipient, name, media_type, content
):
    reference = reference_next(authority=sender, declaration_code="eio", year=2026)
    documents = [
        Document(REQUEST_DOCUMENT, "application/pdf", PDF),
        Document(name, media_type, content),
    ]

    sealed = _sealed(sender, recipient, reference=reference, documents=documents)

    assert _refusal(sealed) == DOCUMENT_TYPE_REFUSED
    assert not Request.objects.filter(direction=Request.Direction.INCOMING).exists()
    assert not InboxMessage.objects.exists()


def test_a_received_document_is_stored_and_served_with_the_type_its_content_shows(
    client, sender, recipient, recipient_staff
):
    reference = reference_next(authority=sender, declaration_code="eio", year=2026)
    documents = [
        Document(REQUEST_DOCUMENT, "application/pdf", PDF),
        # The sender declares a type its content is not.
        Document("statement.pdf", "text/html", PDF),
    ]
    inbox_receive(sealed=_sealed(sender, recipient, reference=reference, documents=documents))
    incoming = Request.objects.get(direction=Request.Direction.INCOMING, reference=reference)
    attachment = incoming.attachments.get()
    client.force_login(recipient_staff)

    response = client.get(reverse("requests:attachment", args=[*incoming.url_args, attachment.pk]))

    assert attachment.media_type == "application/pdf"
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


def test_a_document_stored_with_a_type_outside_the_policy_is_served_as_bytes(
    client, sender, recipient, recipient_staff
):
    incoming = _genuine(sender, recipient)
    # As a copy received before the inbox checked documents kept the sender's word for it.
    stored = Attachment(
        request=incoming, name="old.html", media_type="text/html", size=3, sha256="0" * 64
    )
    stored.file.save("0" * 64, ContentFile(b"<p>"), save=True)
    client.force_login(recipient_staff)

    response = client.get(reverse("requests:attachment", args=[*incoming.url_args, stored.pk]))

    assert response["Content-Type"] == "application/octet-stream"


def test_a_reference_of_the_former_pattern_is_received_when_it_is_the_senders_country(
    sender, recipient, forger
):
    # A draft numbered before the authority's code was in references, sent after the upgrade.
    former = f"{sender.country.code}-EIO-2026-000123"

    inbox_receive(sealed=_sealed(sender, recipient, reference=former))

    received = Request.objects.get(direction=Request.Direction.INCOMING, reference=former)
    assert received.issuing_authority == sender
    # Still the sender's own: another country's, or another issuer's here, is refused.
    other_country = "DE-EIO-2026-000124"
    assert _refusal(_sealed(sender, recipient, reference=other_country)) == REFERENCE_NOT_SENDERS
    forger.country = sender.country
    forger.save()
    assert _refusal(_sealed(forger, recipient, reference=former)) == REFERENCE_IN_USE


@pytest.mark.parametrize(
    ("facts", "characters"), [("Seized\x00 on 2 May", "U+0000"), ("\x1b[2JCleared", "U+001B")]
)
def test_a_control_character_in_the_data_is_refused_with_its_code_and_nothing_is_stored(
    sender, recipient, facts, characters
):
    reference = reference_next(authority=sender, declaration_code="eio", year=2026)

    with pytest.raises(MessageRefused) as refused:
        inbox_receive(sealed=_sealed(sender, recipient, reference=reference, facts=facts))

    assert refused.value.reason_code == CONTROL_CHARACTER
    assert "data.G.facts" in refused.value.message
    assert characters in refused.value.message
    assert not Request.objects.filter(direction=Request.Direction.INCOMING).exists()
    assert not InboxMessage.objects.exists()


def test_tabs_and_line_breaks_in_free_text_are_received(sender, recipient):
    reference = reference_next(authority=sender, declaration_code="eio", year=2026)

    inbox_receive(
        sealed=_sealed(sender, recipient, reference=reference, facts="One.\r\nTwo.\tThree.")
    )

    received = Request.objects.get(direction=Request.Direction.INCOMING, reference=reference)
    assert received.data["G"]["facts"] == "One.\r\nTwo.\tThree."


CSV = b"account,name\nx@example.org,X\n"


def _status_documents(event: str, files: list[dict[str, Any]]) -> Any:
    """What documents_type_check reads of an opened status message."""
    return cast(
        Any,
        SimpleNamespace(
            manifest=SimpleNamespace(data={"event": event, "payload": {"files": files}}),
            documents=(Document("data.csv", "text/csv", CSV), Document("a.pdf", "text/html", PDF)),
        ),
    )


def test_the_data_a_production_step_names_pass_in_their_own_format():
    named = [{"name": "data.csv", "sha256": hashlib.sha256(CSV).hexdigest(), "size": len(CSV)}]

    types = documents_type_check(opened=_status_documents("executed", named))

    assert types == {"data.csv": "application/octet-stream", "a.pdf": "application/pdf"}


@pytest.mark.parametrize(
    ("event", "digest"),
    [("acknowledged", hashlib.sha256(CSV).hexdigest()), ("executed", "0" * 64)],
)
def test_a_file_no_production_step_names_keeps_to_the_upload_policy(event, digest):
    named = [{"name": "data.csv", "sha256": digest, "size": len(CSV)}]

    with pytest.raises(MessageRefused) as refused:
        documents_type_check(opened=_status_documents(event, named))

    assert refused.value.reason_code == DOCUMENT_TYPE_REFUSED
