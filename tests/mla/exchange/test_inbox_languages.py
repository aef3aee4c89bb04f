"""A request message carries the languages of the request, the reason recorded for a
language its executing country does not accept, whether the free text's translation is
attached as a document, and the translations beside the free text (in its data)."""

import pytest
from django.utils import timezone

from mla.exchange.inbox import inbox_receive
from mla.exchange.wire.manifest import Document, manifest_build
from mla.exchange.wire.seal import message_seal
from mla.instruments.completeness import TRANSLATIONS_KEY
from mla.instruments.declarations import declaration_for
from mla.requests.models import Request
from mla.requests.references import reference_next
from tests.support.messages import PDF
from tests.support.samples import complete_data

pytestmark = pytest.mark.django_db


def _received(sender, recipient, **extra) -> Request:
    reference = reference_next(authority=sender, declaration_code="eio", year=2026)
    data = complete_data(declaration_for("eio"), translated_into=("de",))
    documents = [Document("request.pdf", "application/pdf", PDF)]
    manifest = manifest_build(
        kind="request",
        sender=sender,
        recipient=recipient,
        reference=reference,
        data={
            "data": data,
            "declaration_code": "eio",
            "issuing_language": "fr",
            "executing_language": "de",
            "request_document": "request.pdf",
            "sent_by": "Ana Ionescu",
            "sent_at": timezone.now().isoformat(),
            **extra,
        },
        documents=documents,
    )
    inbox_receive(
        sealed=message_seal(
            manifest=manifest, documents=documents, sender=sender, recipient=recipient
        )
    )
    return Request.objects.get(direction=Request.Direction.INCOMING, reference=reference)


def test_the_copy_keeps_the_translations_the_reason_and_the_translation_choice(sender, recipient):
    received = _received(
        sender, recipient, translation_attached=True, language_reason="Agreed by telephone."
    )

    assert (received.issuing_language, received.executing_language) == ("fr", "de")
    assert received.translation_attached is True
    assert received.language_reason == "Agreed by telephone."
    assert received.data["G"][TRANSLATIONS_KEY]["de"]["facts"] == "[de] Translation of facts."


def test_a_message_from_a_node_that_does_not_say_them_has_neither(sender, recipient):
    received = _received(sender, recipient)

    assert received.translation_attached is False
    assert received.language_reason == ""
