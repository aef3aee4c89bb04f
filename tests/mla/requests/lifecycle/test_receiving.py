import hashlib

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from mla.core.errors import ApplicationError
from mla.instruments.declarations import EIO
from mla.requests.events import Event
from mla.requests.lifecycle.receiving import (
    ReceivedAttachment,
    ReceivedRequest,
    received_copy_create,
)
from mla.requests.models import Request
from tests.support.samples import complete_data

CONTENT = b"%PDF-1.7\nstatement of facts\n%%EOF\n"


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _received(authorities, countries) -> ReceivedRequest:
    return ReceivedRequest(
        reference="FR-2026-0042",
        declaration_code="eio",
        issuing_authority=authorities["paris"],
        executing_country_id=countries["DE"].pk,
        data=complete_data(EIO),
        issuing_language="fr",
        executing_language="de",
        sent_at=timezone.now(),
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("_media")
def test_a_received_copy_is_made_with_its_documents_and_its_first_entry(
    authorities, countries, berlin_staff
):
    digest = hashlib.sha256(CONTENT).hexdigest()
    now = timezone.now()

    incoming = received_copy_create(
        received=_received(authorities, countries),
        authority=authorities["berlin"],
        attachments=[
            ReceivedAttachment(
                name="facts.pdf",
                media_type="application/pdf",
                size=len(CONTENT),
                sha256=digest,
                content=CONTENT,
            )
        ],
        evidence={"message_id": "m-1"},
        on_behalf_of=("Jeanne Martin", "Parquet de Paris"),
        at=now,
    )

    assert incoming.direction == Request.Direction.INCOMING
    assert incoming.state == Request.State.RECEIVED
    assert incoming.received_at == now
    [attachment] = incoming.attachments.all()
    assert attachment.sha256 == digest
    with default_storage.open(attachment.file.name, "rb") as stored:
        assert stored.read() == CONTENT
    [entry] = incoming.audit_entries.all()
    assert entry.event == Event.RECEIVED
    assert entry.payload["attachments"] == [digest]
    assert entry.payload["message_id"] == "m-1"
    assert entry.payload["from"] == authorities["paris"].identifier
    assert incoming.deadlines.exists()

    # The same request a second time is refused and adds nothing.
    with pytest.raises(ApplicationError, match="already received"):
        received_copy_create(
            received=_received(authorities, countries),
            authority=authorities["berlin"],
            attachments=[],
            evidence={},
            on_behalf_of=("Jeanne Martin", "Parquet de Paris"),
            at=now,
        )
    assert Request.objects.filter(direction=Request.Direction.INCOMING).count() == 1
