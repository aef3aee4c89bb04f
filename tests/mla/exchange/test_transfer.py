"""The exchange on a request's page (failed deliveries, sending again, files to carry) and
the import of messages and receipts brought as files."""

import io
import json
import tarfile
import uuid

import pytest
from django.urls import reverse

from mla.core.errors import ApplicationError
from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.selectors import request_messages
from mla.exchange.stored import stored_message_open
from mla.exchange.transfer import (
    outbox_receipt_bring_back,
    receipt_bring_back_check,
    receipts_to_bring_back,
)
from mla.exchange.wire.manifest import message_file_name
from mla.exchange.wire.receipts import receipt_verify
from mla.requests.models import AuditEntry, Request, canonical_json
from tests.support.factories import UserFactory
from tests.support.keys import pinned_authority
from tests.support.sending import enqueue, outgoing_request

pytestmark = pytest.mark.django_db

State = OutboxMessage.State


@pytest.fixture
def prosecutor(sender):
    return UserFactory(authority=sender, roles=["prosecutor"])


@pytest.fixture
def staff(recipient):
    """Contact-point staff of the receiving authority, hosted on this node."""
    return UserFactory(authority=recipient, roles=["contact_point_staff"])


@pytest.fixture
def outsider(partner):
    return UserFactory(authority=partner, roles=["prosecutor", "contact_point_staff"])


def _detail(client, request: Request):
    return client.get(request.get_absolute_url())


def _failed(request: Request, sender, recipient) -> OutboxMessage:
    message = enqueue(request, sender, recipient)
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=State.FAILED,
        attempts=8,
        next_attempt_at=None,
        last_error="Not delivered: connection refused",
    )
    message.refresh_from_db()
    return message


def _url(name: str, request: Request, message: OutboxMessage | None = None) -> str:
    args = [*request.url_args] + ([message.message_id] if message is not None else [])
    return reverse(f"exchange:{name}", args=args)


def _upload(content: bytes, name: str) -> io.BytesIO:
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def _import(client, content: bytes, *, what: str = "message", name: str = "m.mlamsg"):
    return client.post(reverse("exchange:import"), {"what": what, "file": _upload(content, name)})


# The request's page ----------------------------------------------------------------------


def test_the_panel_shows_a_failed_delivery_with_its_reason_and_the_issuer_sends_it_again(
    client, sender, recipient, prosecutor, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    message = _failed(request, sender, recipient)
    client.force_login(prosecutor)

    page = _detail(client, request).content.decode()

    assert "Delivery failed" in page
    assert "Not delivered: connection refused" in page
    assert "Send again" in page
    assert _url("retry", request, message) in page

    response = client.post(_url("retry", request, message), follow=True)

    message.refresh_from_db()
    assert (message.state, message.attempts) == (State.PENDING, 0)
    assert "will be sent again" in response.content.decode()
    page = _detail(client, request).content.decode()
    assert "Delivery failed" not in page
    assert "Next attempt" in page


def test_a_colleague_who_may_not_act_for_the_issuer_is_told_why(
    client, sender, recipient, prosecutor, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    message = _failed(request, sender, recipient)
    colleague = UserFactory(authority=sender)  # sees the request, is not a prosecutor
    client.force_login(colleague)

    response = client.post(_url("retry", request, message), follow=True)

    assert "Only the issuing authority may send this message again." in response.content.decode()
    message.refresh_from_db()
    assert message.state == State.FAILED


def test_an_outsider_finds_nothing(client, sender, recipient, prosecutor, outsider, queued):
    request = outgoing_request(sender, recipient, prosecutor)
    message = _failed(request, sender, recipient)
    client.force_login(outsider)

    assert _detail(client, request).status_code == 404
    assert client.post(_url("retry", request, message)).status_code == 404
    assert client.get(_url("message_file", request, message)).status_code == 404
    assert client.get(_url("receipt_file", request, message)).status_code == 404
    assert client.get(_url("evidence", request)).status_code == 404
    message.refresh_from_db()
    assert message.state == State.FAILED


def test_a_message_of_another_request_is_not_found_through_this_one(
    client, sender, recipient, prosecutor, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    other = _failed(outgoing_request(sender, recipient, prosecutor), sender, recipient)
    client.force_login(prosecutor)

    assert client.post(_url("retry", request, other)).status_code == 404
    assert client.get(_url("message_file", request, other)).status_code == 404


def test_a_draft_without_messages_has_no_exchange_panel(client, sender, recipient, prosecutor):
    request = outgoing_request(sender, recipient, prosecutor)
    Request.objects.filter(pk=request.pk).update(state=Request.State.DRAFT)
    client.force_login(prosecutor)

    assert 'id="exchange"' not in _detail(client, request).content.decode()


# Export and import --------------------------------------------------------------------------


def test_a_message_exported_and_imported_on_the_other_side_is_received_once(
    client, sender, recipient, prosecutor, staff, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    client.force_login(prosecutor)
    assert _url("message_file", request, message) in _detail(client, request).content.decode()

    exported = client.get(_url("message_file", request, message))

    assert exported.status_code == 200
    name = message_file_name(stored_message_open(sealed=bytes(message.sealed)).manifest)
    assert name.endswith(".mlamsg")
    assert exported["Content-Disposition"] == f'attachment; filename="{name}"'
    assert exported.content == bytes(message.sealed)

    client.force_login(staff)
    response = _import(client, exported.content, name=name)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Message received" in page
    incoming = Request.objects.get(direction=Request.Direction.INCOMING)
    assert incoming.reference == request.reference
    assert incoming.executing_authority == recipient
    assert incoming.get_absolute_url() in page
    receipt_url = response.context["imported"]["receipt_url"]
    receipt = client.get(receipt_url)
    assert receipt.status_code == 200
    assert receipt["Content-Disposition"].endswith('.mlarcpt"')
    receipt_verify(
        receipt=receipt.content,
        expected_message_id=str(message.message_id),
        expected_manifest_digest=message.manifest_sha256,
        recipient=recipient,
    )

    again = _import(client, exported.content, name=name)

    assert again.context["imported"]["repeated"] is True
    assert "Already received" in again.content.decode()
    assert client.get(receipt_url).content == receipt.content
    assert InboxMessage.objects.count() == 1
    assert Request.objects.filter(direction=Request.Direction.INCOMING).count() == 1


def test_a_tampered_file_is_refused_with_its_reason_and_nothing_is_stored(
    client, sender, recipient, prosecutor, staff, queued
):
    message = enqueue(outgoing_request(sender, recipient, prosecutor), sender, recipient)
    tampered = bytearray(message.sealed)
    tampered[len(tampered) // 2] ^= 0x01
    client.force_login(staff)

    response = _import(client, bytes(tampered))

    page = response.content.decode()
    refused = response.context["refused"]
    assert refused["reason_code"] in ("undecryptable", "malformed", "bad_signature")
    assert refused["reason_code"] in page
    assert refused["message"] in page
    assert "Nothing was stored." in page
    assert not InboxMessage.objects.exists()
    assert not Request.objects.filter(direction=Request.Direction.INCOMING).exists()


def test_a_file_larger_than_the_inbox_takes_is_refused_unread(client, staff, settings):
    settings.EXCHANGE_MAX_MESSAGE_BYTES = 100
    client.force_login(staff)

    response = _import(client, b"x" * 101)

    assert response.context["refused"]["reason_code"] == "too_large"
    assert not InboxMessage.objects.exists()


def test_a_message_for_an_authority_not_hosted_here_is_refused(
    client, sender, partner, prosecutor, staff, queued
):
    message = enqueue(outgoing_request(sender, partner, prosecutor), sender, partner)
    client.force_login(staff)

    response = _import(client, bytes(message.sealed))

    assert response.context["refused"]["reason_code"] == "wrong_recipient"
    assert not InboxMessage.objects.exists()


def test_only_staff_and_administrators_of_a_hosted_authority_import(
    client, sender, recipient, prosecutor, staff, outsider
):
    administrator = UserFactory(authority=recipient, roles=["directory_administrator"])
    central = UserFactory(authority=sender, roles=["central_authority_staff"])

    menu_link = f'href="{reverse("exchange:import")}"'
    for allowed in (staff, administrator, central):
        client.force_login(allowed)
        assert client.get(reverse("exchange:import")).status_code == 200
        assert menu_link in client.get(reverse("core:home")).content.decode()
    # A prosecutor works the outgoing side; the partner's staff are not on this node.
    for refused in (prosecutor, outsider):
        client.force_login(refused)
        assert client.get(reverse("exchange:import")).status_code == 404
        assert _import(client, b"anything").status_code == 404
        assert menu_link not in client.get(reverse("core:home")).content.decode()


def test_the_receipt_of_an_import_is_only_for_who_imported_it(
    client, sender, recipient, prosecutor, staff, queued
):
    message = enqueue(outgoing_request(sender, recipient, prosecutor), sender, recipient)
    client.force_login(staff)
    receipt_url = _import(client, bytes(message.sealed)).context["imported"]["receipt_url"]
    other_staff = UserFactory(authority=recipient, roles=["contact_point_staff"])

    client.force_login(other_staff)

    assert client.get(receipt_url).status_code == 404


def _receipt_of(message: OutboxMessage, client, staff) -> bytes:
    client.force_login(staff)
    response = _import(client, bytes(message.sealed))
    return client.get(response.context["imported"]["receipt_url"]).content


def test_a_receipt_file_marks_the_sent_message_delivered(
    client, sender, recipient, prosecutor, staff, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    receipt = _receipt_of(message, client, staff)

    response = _import(client, receipt, what="receipt", name="r.mlarcpt")

    assert "Receipt accepted" in response.content.decode()
    message.refresh_from_db()
    assert message.state == State.DELIVERED
    assert bytes(message.receipt) == receipt
    request.refresh_from_db()
    assert request.state == Request.State.DELIVERED
    # The issuer's page now offers the receipt.
    client.force_login(prosecutor)
    assert _url("receipt_file", request, message) in _detail(client, request).content.decode()
    assert client.get(_url("receipt_file", request, message)).content == receipt


def _forged_receipt(message: OutboxMessage, exchange_keys) -> bytes:
    receipt_json = canonical_json(
        {
            "message_id": str(message.message_id),
            "manifest_sha256": message.manifest_sha256,
            "received_at": "2026-01-01T00:00:00Z",
            "receiver": message.recipient.identifier,
        }
    )
    # Signed by the sender's key, not the recipient's.
    signature = exchange_keys.hosted_sign(exchange_keys.sender, receipt_json)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in (("receipt.json", receipt_json), ("receipt.json.sig", signature)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_a_forged_receipt_is_refused(
    client, sender, recipient, prosecutor, staff, exchange_keys, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    client.force_login(staff)

    response = _import(
        client, _forged_receipt(message, exchange_keys), what="receipt", name="r.mlarcpt"
    )

    assert "wrong_signer" in response.content.decode()
    message.refresh_from_db()
    assert (message.state, message.receipt) == (State.PENDING, None)


def test_a_receipt_for_no_message_of_this_node_is_refused(client, staff):
    buffer = io.BytesIO()
    body = json.dumps({"message_id": str(uuid.uuid4())}).encode()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("receipt.json")
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
    client.force_login(staff)

    response = _import(client, buffer.getvalue(), what="receipt", name="r.mlarcpt")

    assert "was not sent from this node" in response.content.decode()


def test_a_file_that_is_not_a_receipt_is_refused(client, staff):
    client.force_login(staff)

    response = _import(client, b"not a receipt", what="receipt", name="r.mlarcpt")

    assert response.context["refused"]["reason_code"] == "malformed"


def test_the_issuer_brings_a_receipt_back_from_the_request_page(
    client, sender, recipient, prosecutor, staff, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    receipt = _receipt_of(message, client, staff)
    client.force_login(prosecutor)
    assert _url("receipt_upload", request, message) in _detail(client, request).content.decode()

    response = client.post(
        _url("receipt_upload", request, message),
        {"file": _upload(receipt, "r.mlarcpt")},
        follow=True,
    )

    assert "The receipt is valid" in response.content.decode()
    message.refresh_from_db()
    assert message.state == State.DELIVERED


def test_only_the_sending_authority_brings_back_the_receipt(
    client, sender, recipient, prosecutor, staff, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    receipt = _receipt_of(message, client, staff)
    clerk = UserFactory(authority=sender)  # of the sending authority, whatever their role

    with pytest.raises(ApplicationError, match="Only the sending authority"):
        receipt_bring_back_check(message=message, actor=staff)
    with pytest.raises(ApplicationError, match="Only the sending authority"):
        outbox_receipt_bring_back(message=message, actor=staff, receipt=receipt)
    message.refresh_from_db()
    assert (message.state, message.receipt) == (State.PENDING, None)

    outbox_receipt_bring_back(message=message, actor=clerk, receipt=receipt)

    message.refresh_from_db()
    assert message.state == State.DELIVERED
    assert bytes(message.receipt) == receipt


def test_the_page_offers_to_bring_back_a_receipt_only_to_the_sender_while_it_is_missing(
    client, sender, recipient, prosecutor, staff, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    listed = request_messages(request=request)

    assert receipts_to_bring_back(user=prosecutor, messages=listed) == {str(message.message_id)}
    assert receipts_to_bring_back(user=staff, messages=listed) == set()

    outbox_receipt_bring_back(
        message=message, actor=prosecutor, receipt=_receipt_of(message, client, staff)
    )

    assert receipts_to_bring_back(user=prosecutor, messages=request_messages(request=request)) == (
        set()
    )


def test_a_confidential_request_records_who_took_its_message_and_receipt(
    client, sender, recipient, prosecutor, staff, queued
):
    request = outgoing_request(sender, recipient, prosecutor, confidential=True)
    message = enqueue(request, sender, recipient)
    receipt = _receipt_of(message, client, staff)
    client.force_login(staff)
    _import(client, receipt, what="receipt", name="r.mlarcpt")
    client.force_login(prosecutor)

    client.get(_url("message_file", request, message))
    client.get(_url("receipt_file", request, message))

    downloads = AuditEntry.objects.filter(request=request, event="downloaded")
    assert [entry.payload["document"] for entry in downloads] == [
        f"message:{message.message_id}",
        f"receipt:{message.message_id}",
    ]
    assert {entry.actor for entry in downloads} == {prosecutor}


def test_a_request_that_is_not_confidential_records_no_download(
    client, sender, recipient, prosecutor, queued
):
    request = outgoing_request(sender, recipient, prosecutor)
    message = enqueue(request, sender, recipient)
    client.force_login(prosecutor)

    client.get(_url("message_file", request, message))

    assert not AuditEntry.objects.filter(request=request, event="downloaded").exists()


def test_staff_of_an_authority_without_a_key_here_may_not_import(client, exchange_keys):
    unkeyed = pinned_authority("dd-unkeyed")
    client.force_login(UserFactory(authority=unkeyed, roles=["contact_point_staff"]))

    assert client.get(reverse("exchange:import")).status_code == 404
