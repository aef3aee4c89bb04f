"""The exchange seen by its users: a prosecutor's request cannot reach the other node, the
request page says why, offers to send it again and gives the sealed message as a file for
another channel; on the receiving side, a contact point imports such a file, finds the
request it carried and takes the signed receipt back."""

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from mla.exchange.models import InboxMessage, OutboxMessage
from mla.exchange.outbox import outbox_deliver_due, request_message_data
from mla.exchange.wire.manifest import manifest_build
from mla.exchange.wire.seal import message_seal
from mla.requests.models import Request
from tests.support.factories import UserFactory
from tests.support.journeys import log_in, log_out, ready_eio
from tests.support.keys import pinned_authority
from tests.support.sending import documents, outgoing_request

# The exchange tests' keys (made once per session) in this node's GnuPG homes.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("exchange_homes"),
]


@pytest.fixture
def sending_office(exchange_keys):
    return pinned_authority(
        "aa-sender", exchange_keys.armored[exchange_keys.sender], name="Sending office"
    )


@pytest.fixture
def receiving_office(exchange_keys):
    return pinned_authority(
        "bb-recipient", exchange_keys.armored[exchange_keys.recipient], name="Receiving office"
    )


@pytest.fixture
def office_elsewhere(exchange_keys):
    """An authority of another node, whose inbox the directory does not give."""
    return pinned_authority(
        "cc-partner",
        exchange_keys.armored[exchange_keys.partner],
        name="Office elsewhere",
        instruments=["eio"],
    )


@pytest.fixture(autouse=True)
def _exchange(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Each attempt fails at once (no inbox URL): two make the delivery fail in the journey.
    settings.EXCHANGE_MAX_ATTEMPTS = 2


def test_a_request_that_cannot_be_delivered_is_sent_again_and_carried_as_a_file(
    live_server, page: Page, sending_office, office_elsewhere, tmp_path
):
    sender, partner = sending_office, office_elsewhere
    prosecutor = UserFactory(username="camille", authority=sender, roles=["prosecutor"])
    request = ready_eio(prosecutor=prosecutor, country=partner.country, authority=partner)
    base = live_server.url

    log_in(page, base, "camille")
    page.goto(f"{base}{request.get_absolute_url()}")
    page.get_by_role("button", name="Send to the executing authority").click()

    # One attempt in-process, as on the embedded default: the next one is scheduled.
    messages = page.locator(".exchange-messages")
    expect(messages).to_contain_text("1 attempt")
    expect(messages).to_contain_text("Next attempt")
    message = OutboxMessage.objects.get(request=request)
    # The embedded scheduler's sweep, once the next attempt is due.
    assert outbox_deliver_due(now=message.next_attempt_at) == 1
    page.reload()

    alert = page.locator(".delivery-failed")
    expect(alert).to_contain_text("Delivery failed")
    expect(alert).to_contain_text(f"The directory gives no inbox URL for {partner.identifier}")
    expect(messages).to_contain_text("2 attempts")

    page.get_by_role("button", name="Send again").click()
    expect(page.get_by_text(f"The message to {partner.name} will be sent again.")).to_be_visible()
    message.refresh_from_db()
    # Tried again at once, still unreachable: pending, its next attempt scheduled.
    assert (message.state, message.attempts) == (OutboxMessage.State.PENDING, 1)

    with page.expect_download() as download:
        page.get_by_role("link", name="Message file (.mlamsg)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".mlamsg"
    assert saved.read_bytes() == bytes(message.sealed)

    with page.expect_download() as bundle:
        page.get_by_role("link", name="Download the evidence bundle (ZIP)").click()
    assert bundle.value.suggested_filename.endswith(".zip")
    log_out(page)


def test_a_contact_point_imports_a_message_brought_on_a_storage_device(
    live_server, page: Page, sending_office, receiving_office, tmp_path
):
    """The sender is on another node; its message arrives as a file."""
    sender, recipient = sending_office, receiving_office
    prosecutor = UserFactory(authority=sender, roles=["prosecutor"])
    UserFactory(
        username="andrei",
        first_name="Andrei",
        last_name="Popescu",
        authority=recipient,
        roles=["contact_point_staff"],
    )
    issued = outgoing_request(sender, recipient, prosecutor)
    manifest = manifest_build(
        kind="request",
        sender=sender,
        recipient=recipient,
        reference=issued.reference,
        data=request_message_data(
            request=issued, sent_by="Ana Ionescu", request_document=f"{issued.reference}.pdf"
        ),
        documents=documents(issued),
        created_at=timezone.now(),
    )
    sealed = message_seal(
        manifest=manifest, documents=documents(issued), sender=sender, recipient=recipient
    )
    carried = tmp_path / "request.mlamsg"
    carried.write_bytes(sealed)
    base = live_server.url

    log_in(page, base, "andrei")
    page.get_by_role("link", name="Import a message").click()
    page.get_by_label("Message file").set_input_files(str(carried))
    page.get_by_role("button", name="Import the message").click()

    result = page.locator(".import-result")
    expect(result).to_contain_text("Message received")
    expect(result).to_contain_text(sender.name)
    with page.expect_download() as receipt:
        page.get_by_role("link", name="Download the signed receipt (.mlarcpt)").click()
    kept = InboxMessage.objects.get(message_id=manifest.message_id)
    assert Path(receipt.value.path()).read_bytes() == bytes(kept.receipt)

    # The same file again: answered with the same receipt, nothing new.
    page.get_by_label("Message file").set_input_files(str(carried))
    page.get_by_role("button", name="Import the message").click()
    expect(page.locator(".import-result")).to_contain_text("Already received")

    page.locator(".import-result").get_by_role("link", name=issued.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Received")
    expect(page.locator(".exchange-messages")).to_contain_text("Received: request")
    assert Request.objects.filter(direction="incoming", reference=issued.reference).count() == 1
