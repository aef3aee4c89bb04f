"""How the inbox reads a delivered body: with a Content-Length, or chunked (none), always
within EXCHANGE_MAX_MESSAGE_BYTES."""

import http.client
import io
import urllib.parse
from pathlib import Path

import pytest
from django.urls import reverse

from mla.exchange.models import InboxMessage
from mla.exchange.wire.receipts import receipt_verify
from tests.support.factories import UserFactory
from tests.support.gunicorn_server import gunicorn_serving
from tests.support.sending import enqueue_committed, outgoing_request


class _CountingStream(io.BytesIO):
    """A server's input stream that remembers how much the application read."""

    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        piece = super().read(size)
        self.taken += len(piece)
        return piece


def _post_chunked(client, body: io.BytesIO, *, decoded_by_server: bool):
    """A chunked delivery: no Content-Length. A server that decodes the chunks (gunicorn)
    hands the application the body and marks its end (wsgi.input_terminated)."""
    environ = {"wsgi.input": body, "HTTP_TRANSFER_ENCODING": "chunked"}
    if decoded_by_server:
        environ["wsgi.input_terminated"] = True
    return client.generic(
        "POST", reverse("exchange:inbox"), b"", content_type="application/octet-stream", **environ
    )


@pytest.fixture
def sealed_message(sender, recipient, queued, django_capture_on_commit_callbacks):
    request = outgoing_request(
        sender, recipient, UserFactory(authority=sender, roles=["prosecutor"])
    )
    return enqueue_committed(request, sender, recipient, django_capture_on_commit_callbacks)


@pytest.mark.django_db
def test_a_chunked_message_is_read_to_its_end_and_answered_with_the_receipt(
    client, recipient, sealed_message
):
    response = _post_chunked(
        client, io.BytesIO(bytes(sealed_message.sealed)), decoded_by_server=True
    )

    assert response.status_code == 200, response.content
    receipt_verify(
        receipt=response.content,
        expected_message_id=str(sealed_message.message_id),
        expected_manifest_digest=sealed_message.manifest_sha256,
        recipient=recipient,
    )
    assert InboxMessage.objects.filter(message_id=sealed_message.message_id).exists()


@pytest.mark.django_db
def test_a_chunked_message_over_the_limit_is_refused_without_reading_it_whole(client, settings):
    settings.EXCHANGE_MAX_MESSAGE_BYTES = 100_000
    stream = _CountingStream(b"x" * 1_000_000)

    response = _post_chunked(client, stream, decoded_by_server=True)

    assert response.status_code == 413
    assert response.json()["refused"] == "too_large"
    assert stream.taken == 100_001  # one byte past the limit, not the megabyte


@pytest.mark.django_db
def test_a_chunked_message_the_server_does_not_decode_asks_for_a_length(client):
    # Django's runserver hands the application no chunked body: never read as empty.
    response = _post_chunked(
        client, io.BytesIO(b"5\r\nhello\r\n0\r\n\r\n"), decoded_by_server=False
    )

    assert response.status_code == 411
    assert response.json()["refused"] == "length_required"
    assert "Content-Length" in response.json()["message"]
    assert not InboxMessage.objects.exists()


@pytest.mark.django_db
def test_a_content_length_that_is_not_a_number_is_refused(client):
    response = client.generic(
        "POST",
        reverse("exchange:inbox"),
        b"",
        content_type="application/octet-stream",
        CONTENT_LENGTH="many",
    )

    assert response.status_code == 400
    assert response.json()["refused"] == "malformed"


# Under gunicorn, as deployed -------------------------------------------------------------------


def _chunked_post(base_url: str, pieces: list[bytes]) -> tuple[int, bytes]:
    address = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        # An iterable body and no Content-Length: http.client sends it chunked.
        connection.request(
            "POST",
            "/exchange/inbox/",
            body=iter(pieces),
            headers={"Content-Type": "application/octet-stream"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_gunicorn_hands_a_chunked_message_to_the_inbox_which_answers_with_the_receipt(
    recipient, sealed_message, exchange_keys, tmp_path
):
    sealed = bytes(sealed_message.sealed)
    homes = (Path(exchange_keys.secret_home), Path(exchange_keys.partner_home))
    with gunicorn_serving(
        root=tmp_path / "node", gnupg_homes=homes, settings={"EXCHANGE_MAX_MESSAGE_MB": "1"}
    ) as base_url:
        status, body = _chunked_post(base_url, [sealed[:1000], sealed[1000:]])
        too_large_status, too_large = _chunked_post(base_url, [b"x" * 65536] * 17)

    assert status == 200, body
    receipt_verify(
        receipt=body,
        expected_message_id=str(sealed_message.message_id),
        expected_manifest_digest=sealed_message.manifest_sha256,
        recipient=recipient,
    )
    assert InboxMessage.objects.filter(message_id=sealed_message.message_id).exists()
    assert too_large_status == 413, too_large
