"""A partner's trust anchors in the exchange: deliveries follow no redirect and go to https
inboxes only (in production), and the staff who deal with a partner hear when its key or
inbox URL changes."""

import http.server
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from contact_points.models import DirectoryChange
from contact_points.services import directory_change_approve, directory_change_propose
from mla.accounts.roles import Role
from mla.exchange.models import OutboxMessage
from mla.exchange.outbox import outbox_deliver
from mla.notifications.kinds import Kind
from mla.notifications.models import Notification
from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.sending import enqueue, enqueue_committed, outgoing_request

pytestmark = pytest.mark.django_db

State = OutboxMessage.State


@pytest.fixture
def prosecutor(sender):
    return UserFactory(authority=sender, roles=["prosecutor"])


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str]
    location: str = ""

    def do_POST(self) -> None:
        self.hits.append(self.path)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.location:
            self.send_response(307)
            self.send_header("Location", self.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _serve(hits: list[str], location: str = "") -> Iterator[str]:
    handler = type("Handler", (_Recorder,), {"hits": hits, "location": location})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/exchange/inbox/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """Another server, where a redirect would take the message."""
    hits: list[str] = []
    for url in _serve(hits):
        yield url, hits


@pytest.fixture
def redirecting_inbox(listener) -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    for url in _serve(hits, location=listener[0]):
        yield url, hits


def test_delivery_follows_no_redirect(
    sender,
    partner,
    prosecutor,
    queued,
    redirecting_inbox,
    listener,
    django_capture_on_commit_callbacks,
):
    inbox_url, inbox_hits = redirecting_inbox
    partner.inbox_url = inbox_url
    partner.save()
    message = enqueue_committed(
        outgoing_request(sender, partner, prosecutor),
        sender,
        partner,
        django_capture_on_commit_callbacks,
    )

    attempted = outbox_deliver(message_id=str(message.message_id))

    assert len(inbox_hits) == 1
    assert listener[1] == []  # the sealed message never reached the other server
    assert attempted.state == State.FAILED
    assert "follow no redirect" in attempted.last_error
    assert listener[0] in attempted.last_error


def test_delivery_to_a_plain_http_inbox_is_refused_when_https_is_required(
    sender, partner, prosecutor, queued, listener, settings, django_capture_on_commit_callbacks
):
    url, hits = listener
    partner.inbox_url = url
    partner.save()
    settings.DIRECTORY_INBOX_URL_REQUIRE_HTTPS = True
    message = enqueue_committed(
        outgoing_request(sender, partner, prosecutor),
        sender,
        partner,
        django_capture_on_commit_callbacks,
    )

    attempted = outbox_deliver(message_id=str(message.message_id))

    assert hits == []
    assert attempted.state == State.FAILED
    assert "not https" in attempted.last_error


# Who hears of a change ----------------------------------------------------------------------


def test_the_staff_who_exchanged_with_the_partner_are_told_of_an_approved_key_change(
    sender, recipient, partner, prosecutor, queued, openpgp_keys
):
    enqueue(outgoing_request(sender, partner, prosecutor), sender, partner)
    long_ago = recipient
    long_ago_staff = UserFactory(authority=long_ago, roles=["prosecutor"])
    old_message = enqueue(outgoing_request(long_ago, partner, long_ago_staff), long_ago, partner)
    # Only the last year counts.
    OutboxMessage.objects.filter(pk=old_message.pk).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    Request.objects.filter(issuing_authority=long_ago).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    bystander = UserFactory(authority=AuthorityFactory(identifier="zz-bystander"))
    alice = UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR])
    bob = UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR])
    change = directory_change_propose(
        authority=partner,
        actor=alice,
        public_key=openpgp_keys.valid,
        inbox_url="https://partner.example/new-inbox/",
    )
    assert change is not None
    assert not Notification.objects.filter(kind=Kind.PARTNER_TRUST_CHANGED).exists()

    directory_change_approve(change=change, actor=bob)

    told = Notification.objects.filter(kind=Kind.PARTNER_TRUST_CHANGED)
    assert [notification.recipient for notification in told] == [prosecutor]
    notification = told.get()
    assert partner.name in notification.subject
    change = DirectoryChange.objects.get(pk=change.pk)
    assert change.old_fingerprint_groups in notification.body
    assert change.new_fingerprint_groups in notification.body
    assert "https://partner.example/new-inbox/" in notification.body
    assert bystander.notifications.count() == 0
    assert long_ago_staff.notifications.count() == 0


def test_the_other_directory_administrators_are_told_of_a_proposed_change(openpgp_keys):
    from contact_points.services import authority_set_public_key, directory_change_propose

    proposer = UserFactory(username="alice", roles=[Role.DIRECTORY_ADMINISTRATOR])
    second = UserFactory(username="bob", roles=[Role.DIRECTORY_ADMINISTRATOR])
    UserFactory(username="clerk", roles=["prosecutor"])
    partner = authority_set_public_key(
        authority=AuthorityFactory(identifier="ro-247", name="RO 24/7"), armored=openpgp_keys.valid
    )

    directory_change_propose(
        authority=partner,
        actor=proposer,
        public_key=openpgp_keys.second_valid,
        inbox_url=partner.inbox_url,
    )

    told = Notification.objects.filter(kind=Kind.TRUST_CHANGE_PROPOSED)
    assert [notification.recipient for notification in told] == [second]
    assert "RO 24/7" in told.get().body
    assert told.get().body.startswith("Ana Ionescu proposed new keys or inbox URLs for: RO 24/7.")


def test_an_unsigned_import_tells_the_administrators_once_of_all_it_proposes(openpgp_keys):
    import json

    from contact_points.directory_io import directory_export_json, directory_import
    from contact_points.services import authority_set_public_key

    administrator = UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR])
    authority_set_public_key(
        authority=AuthorityFactory(identifier="ro-1", inbox_url="https://ro.example/1/"),
        armored=openpgp_keys.valid,
    )
    AuthorityFactory(identifier="ro-2", inbox_url="https://ro.example/2/")
    document = json.loads(directory_export_json())
    for entry in document["authorities"]:
        entry["inbox_url"] = f"https://listener.example/{entry['identifier']}/"

    report = directory_import(data=json.dumps(document).encode(), fmt="json")

    assert report.proposed >= 2
    told = Notification.objects.get(kind=Kind.TRUST_CHANGE_PROPOSED)
    assert told.recipient == administrator
    assert told.subject == f"Key or inbox changes await your approval: {report.proposed}"
