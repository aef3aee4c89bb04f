import io

import pytest
from django.core.management import CommandError, call_command

from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.wire.receipts import receipt_verify
from mla.requests.models import Request
from tests.support.factories import UserFactory
from tests.support.sending import enqueue, outgoing_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(sender, recipient) -> OutboxMessage:
    prosecutor = UserFactory(authority=sender, roles=["prosecutor"])
    return enqueue(outgoing_request(sender, recipient, prosecutor), sender, recipient)


def _call(*arguments: str) -> str:
    out = io.StringIO()
    call_command(*arguments, stdout=out)
    return out.getvalue()


def test_a_message_exported_then_imported_is_received_once_and_its_receipt_delivers_it(
    message, recipient, tmp_path
):
    exported = tmp_path / "out.mlamsg"

    _call("export_message", str(message.message_id), "-o", str(exported))

    assert exported.read_bytes() == bytes(message.sealed)
    receipt_file = tmp_path / "back.mlarcpt"
    output = _call("import_message", str(exported), "-o", str(receipt_file))
    assert "Received request message" in output
    receipt = receipt_file.read_bytes()
    receipt_verify(
        receipt=receipt,
        expected_message_id=str(message.message_id),
        expected_manifest_digest=message.manifest_sha256,
        recipient=recipient,
    )
    assert Request.objects.filter(direction=Request.Direction.INCOMING).count() == 1

    again = _call("import_message", str(exported))

    assert "already received" in again
    assert exported.with_suffix(".mlarcpt").read_bytes() == receipt
    assert InboxMessage.objects.count() == 1

    delivered = _call("import_message", str(receipt_file))

    assert "is delivered" in delivered
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.DELIVERED


def test_the_receipt_kept_for_a_message_is_exported(message, tmp_path):
    exported = tmp_path / "out.mlamsg"
    _call("export_message", str(message.message_id), "-o", str(exported))
    _call("import_message", str(exported))

    receipt = tmp_path / "receipt.mlarcpt"
    _call("export_message", str(message.message_id), "--receipt", "-o", str(receipt))

    inbox = InboxMessage.objects.get(message_id=message.message_id)
    assert receipt.read_bytes() == bytes(inbox.receipt)


def test_a_message_without_a_receipt_yet_has_none_to_export(message, tmp_path):
    with pytest.raises(CommandError, match="no receipt yet"):
        call_command("export_message", str(message.message_id), "--receipt", "-o", "x")


def test_a_tampered_file_is_refused_with_its_reason_and_nothing_stored(message, tmp_path):
    tampered = bytearray(message.sealed)
    tampered[len(tampered) // 2] ^= 0x01
    path = tmp_path / "bad.mlamsg"
    path.write_bytes(bytes(tampered))

    with pytest.raises(CommandError, match=r"Refused \((undecryptable|malformed|bad_signature)\)"):
        call_command("import_message", str(path))

    assert not InboxMessage.objects.exists()
    assert not path.with_suffix(".mlarcpt").exists()


def test_a_file_too_large_is_refused_unread(tmp_path, settings):
    settings.EXCHANGE_MAX_MESSAGE_BYTES = 10
    path = tmp_path / "big.mlamsg"
    path.write_bytes(b"x" * 11)

    with pytest.raises(CommandError, match=r"Refused \(too_large\)"):
        call_command("import_message", str(path))


def test_unknown_messages_and_files_are_named(tmp_path):
    with pytest.raises(CommandError, match="not a message id"):
        call_command("export_message", "nope")
    with pytest.raises(CommandError, match="No message with the id"):
        call_command("export_message", "6f1c1f8e-4a7e-4a5f-9e43-3f7f6b7e2c11")
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_message", str(tmp_path / "missing.mlamsg"))
