"""Signed checkpoints of the audit chain: made, sent to the partners of their period,
received and kept by a partner, given back, and checked by verify_audit."""

import base64
import io
import json
import uuid
import zipfile
from datetime import timedelta

import gnupg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from contact_points.models import Authority
from mla.exchange import tasks
from mla.exchange.anchor import CheckpointError, audit_checkpoint_make
from mla.exchange.evidence import evidence_bundle
from mla.exchange.inbox import inbox_receive
from mla.exchange.models import (
    AuditCheckpoint,
    InboxMessage,
    OutboxMessage,
    ReceivedAuditCheckpoint,
)
from mla.exchange.selectors import audit_checkpoint_latest
from mla.exchange.stored import stored_message_open
from mla.exchange.wire.checkpoint import (
    CHECKPOINT_ENTRY,
    CHECKPOINT_SIGNATURE_ENTRY,
    checkpoint_parse,
    checkpoints_export_parse,
)
from mla.exchange.wire.errors import MessageRefused
from mla.exchange.wire.seal import message_open, signature_check, signature_make
from mla.requests.audit import audit_record, audit_verify
from mla.requests.models import AuditChainHead, AuditEntry, Request
from tests.support.audit import audit_newest_entry_rewrite, without_triggers
from tests.support.checkpoints import checkpoint_message, statement_of
from tests.support.factories import UserFactory
from tests.support.keys import key_generate, pinned_authority
from tests.support.sending import enqueue, outgoing_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def author(sender):
    return UserFactory(authority=sender, roles=["prosecutor"])


@pytest.fixture
def request_to_partner(sender, recipient, partner, author) -> Request:
    """A request of the hosted sender to the partner, with a few audit entries; this node
    hosts two authorities (aa-sender and bb-recipient), which both sign each checkpoint."""
    request = outgoing_request(sender, partner, author)
    for note in ("drafted", "signed", "sent"):
        audit_record(request=request, actor=author, event="note", note=note)
    return request


@pytest.fixture
def other_partner(db, exchange_keys):
    """A second authority hosted on another node."""
    foreign = gnupg.GPG(gnupghome=exchange_keys.foreign_home)
    fingerprint = key_generate(foreign, "dd-other")
    return pinned_authority("dd-other", foreign.export_keys(fingerprint))


def _notes(request: Request, *notes: str) -> None:
    for note in notes:
        audit_record(request=request, actor=None, event="note", note=note)


def _verified_signer(statement: bytes, signature: bytes, signer: Authority) -> str:
    """The pinned key that signed, checked as a partner checks a checkpoint it receives."""
    return signature_check(
        data=statement, signature=signature, signer=signer, now=timezone.now(), part="test"
    )


# Signing --------------------------------------------------------------------------------------


def test_a_checkpoint_signs_the_chain_head_as_each_hosted_authority(
    request_to_partner, sender, recipient, exchange_keys
):
    head = AuditChainHead.objects.get()

    outcome = audit_checkpoint_make()

    assert outcome.created
    rows = {row.authority.identifier: row for row in AuditCheckpoint.objects.all()}
    assert sorted(rows) == ["aa-sender", "bb-recipient"]
    for identifier, fingerprint in (
        ("aa-sender", exchange_keys.sender),
        ("bb-recipient", exchange_keys.recipient),
    ):
        row = rows[identifier]
        checkpoint = checkpoint_parse(bytes(row.statement))
        assert (checkpoint.position, checkpoint.node_hash) == (head.position, head.node_hash)
        assert (checkpoint.authority, checkpoint.node) == (identifier, settings.NODE_NAME)
        assert checkpoint.at == row.signed_at
        assert (
            _verified_signer(bytes(row.statement), bytes(row.signature), row.authority)
            == fingerprint
        )
        assert row.fingerprint == fingerprint


def test_the_hourly_task_signs_again_only_when_the_chain_has_moved(request_to_partner, queued):
    assert tasks.audit_checkpoint_task() == f"signed at {AuditChainHead.objects.get().position}"
    assert tasks.audit_checkpoint_task() == "unchanged"
    assert AuditCheckpoint.objects.count() == 2  # one per hosted authority

    _notes(request_to_partner, "one more act")
    assert tasks.audit_checkpoint_task().startswith("signed at")

    assert AuditCheckpoint.objects.count() == 4
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"] == {
        "task": tasks.audit_checkpoint_task.name,
        "schedule": 3600.0,
    }


def test_a_checkpoint_row_is_append_only(request_to_partner):
    audit_checkpoint_make()
    row = AuditCheckpoint.objects.first()

    with pytest.raises(ValueError, match="append-only"):
        row.save()
    with pytest.raises(ValueError, match="append-only"):
        row.delete()


def test_nothing_is_signed_without_an_entry_or_without_a_key_pair(db, fresh_homes, author):
    assert audit_checkpoint_make().position == 0

    _notes(outgoing_request(author.authority, author.authority, author), "an act")
    with pytest.raises(CommandError, match="no authority hosted on this node has a key pair"):
        call_command("audit_checkpoint")
    assert tasks.audit_checkpoint_task() == "no key"
    assert not AuditCheckpoint.objects.exists()


def test_a_chain_changed_under_the_last_checkpoint_is_not_signed_over(request_to_partner):
    audit_checkpoint_make()
    audit_newest_entry_rewrite(note="rewritten")
    _notes(request_to_partner, "a later act")

    with pytest.raises(CheckpointError, match="does not run on from the last checkpoint"):
        audit_checkpoint_make()
    assert tasks.audit_checkpoint_task() == "refused"


# Sending --------------------------------------------------------------------------------------


def test_a_checkpoint_goes_to_the_partners_exchanged_with_in_its_period_only(
    request_to_partner,
    sender,
    recipient,
    partner,
    other_partner,
    queued,
    django_capture_on_commit_callbacks,
):
    earlier = enqueue(request_to_partner, sender, partner)
    OutboxMessage.objects.filter(pk=earlier.pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = audit_checkpoint_make(now=timezone.now() - timedelta(minutes=30))
    [to_partner] = first.messages
    assert (to_partner.kind, to_partner.sender, to_partner.recipient) == (
        "checkpoint",
        sender,
        partner,
    )
    assert to_partner.request is None
    assert queued == [str(to_partner.message_id)]

    # In the next period: a message received from the other partner by the hosted recipient,
    # and one between the two authorities of this node (no partner's).
    InboxMessage.objects.create(
        message_id=uuid.uuid4(),
        sender=other_partner,
        recipient=recipient,
        kind="status",
        manifest_sha256="0" * 64,
        manifest={},
        received_at=timezone.now(),
        receipt=b"receipt",
    )
    enqueue(request_to_partner, sender, recipient)
    _notes(request_to_partner, "status received")
    with django_capture_on_commit_callbacks(execute=True):
        second = audit_checkpoint_make()

    [to_other] = second.messages
    assert (to_other.sender, to_other.recipient) == (recipient, other_partner)
    signed = AuditCheckpoint.objects.get(position=second.position, authority=recipient)
    assert list(signed.sent_in.all()) == [to_other]
    assert queued[-1] == str(to_other.message_id)
    # What the message carries is the stored statement and signature, byte for byte.
    stored = message_open_as_sender(to_other)
    assert stored == {
        CHECKPOINT_ENTRY: bytes(signed.statement),
        CHECKPOINT_SIGNATURE_ENTRY: bytes(signed.signature),
    }


def message_open_as_sender(message: OutboxMessage) -> dict[str, bytes]:
    opened = stored_message_open(sealed=bytes(message.sealed))
    return dict(opened.documents)


def test_the_latest_checkpoint_says_when_where_and_whether_it_reached_the_partners(
    request_to_partner, sender, partner, queued
):
    assert audit_checkpoint_latest() is None
    enqueue(request_to_partner, sender, partner)
    outcome = audit_checkpoint_make()

    latest = audit_checkpoint_latest()
    assert latest is not None
    assert (latest.position, latest.signers) == (outcome.position, ["aa-sender", "bb-recipient"])
    assert (latest.sent, latest.messages, latest.pending, latest.delivered) == (True, 1, 1, 0)
    assert not latest.delivered_to_all
    assert latest.uncovered_entries == 0

    OutboxMessage.objects.filter(pk=outcome.messages[0].pk).update(
        state=OutboxMessage.State.DELIVERED
    )
    _notes(request_to_partner, "after the checkpoint")
    latest = audit_checkpoint_latest()
    assert latest is not None
    assert latest.delivered_to_all
    assert latest.uncovered_entries == 1


def test_the_command_signs_and_says_where_it_went(request_to_partner, sender, partner, queued):
    enqueue(request_to_partner, sender, partner)
    out = io.StringIO()

    call_command("audit_checkpoint", stdout=out)
    call_command("audit_checkpoint", "create", stdout=out)

    position = AuditChainHead.objects.get().position
    assert out.getvalue().splitlines() == [
        f"Checkpoint at position {position} signed by aa-sender, bb-recipient; sent to cc-partner.",
        f"The audit chain has not moved since the checkpoint at position {position} of "
        f"{AuditCheckpoint.objects.first().signed_at:%Y-%m-%d %H:%M:%S %Z}: nothing new to sign.",
    ]


# Receiving ------------------------------------------------------------------------------------


def test_the_inbox_keeps_a_partners_checkpoint_once_and_touches_no_request(
    sender, recipient, exchange_keys
):
    sealed = checkpoint_message(sender, recipient, position=7)
    entries, requests = AuditEntry.objects.count(), Request.objects.count()

    receipt = inbox_receive(sealed=sealed)
    again = inbox_receive(sealed=sealed)

    assert again == receipt
    kept = ReceivedAuditCheckpoint.objects.get()
    opened = message_open(sealed=sealed)
    documents = {document.name: document.content for document in opened.documents}
    assert bytes(kept.statement) == documents[CHECKPOINT_ENTRY]
    assert bytes(kept.signature) == documents[CHECKPOINT_SIGNATURE_ENTRY]
    assert (kept.sender, kept.recipient, kept.position, kept.node_name) == (
        sender,
        recipient,
        7,
        "Partner node",
    )
    assert kept.signer_fingerprint == exchange_keys.sender
    inbox = InboxMessage.objects.get()
    assert (inbox.kind, inbox.request, bytes(inbox.receipt)) == ("checkpoint", None, receipt)
    assert (AuditEntry.objects.count(), Request.objects.count()) == (entries, requests)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unsigned", "missing_signature"),
        ("other key of the sender", "wrong_signer"),
        ("partner's key", "wrong_signer"),
        ("names another authority", "wrong_signer"),
        ("changed after signing", "bad_signature"),
    ],
)
def test_the_inbox_refuses_a_forged_or_unsigned_checkpoint(
    case, reason, sender, recipient, exchange_keys
):
    statement = statement_of(sender)
    signature: bytes | None = None
    if case == "unsigned":
        signature = b""
    elif case == "other key of the sender":
        signature = exchange_keys.hosted_sign(exchange_keys.sender_other, statement)
    elif case == "partner's key":
        signature = exchange_keys.foreign_sign(exchange_keys.partner, statement)
    elif case == "names another authority":
        statement = statement_of(recipient)
    else:
        signature = signature_make(authority=sender, data=statement)
        statement = statement_of(sender, position=8)

    with pytest.raises(MessageRefused) as refused:
        inbox_receive(
            sealed=checkpoint_message(sender, recipient, statement=statement, signature=signature)
        )

    assert refused.value.reason_code == reason
    assert not ReceivedAuditCheckpoint.objects.exists()
    assert not InboxMessage.objects.exists()


# verify_audit against the checkpoints ---------------------------------------------------------


def test_a_rewritten_newest_entry_with_its_hashes_recomputed_fails_verify_audit(
    request_to_partner,
):
    """The verified defect: the chains alone pass such a rewrite."""
    call_command("audit_checkpoint")
    good = AuditChainHead.objects.get().position
    _notes(request_to_partner, "refused the request", "informed the partner")
    call_command("audit_checkpoint")

    rewritten = audit_newest_entry_rewrite(note="executed the request")

    assert audit_verify() == []  # what verify_audit alone found before the checkpoints
    first_untrusted = AuditEntry.objects.get(position=good + 1)
    with pytest.raises(CommandError) as broken:
        call_command("verify_audit")
    message = str(broken.value)
    assert f"first at entry {first_untrusted.pk} (checkpoint)" in message
    assert f"does not match the checkpoint at position {rewritten.position}" in message
    assert f"the last good checkpoint is at position {good}" in message


def test_an_intact_trail_matches_its_checkpoints_and_says_what_is_not_covered(
    request_to_partner,
):
    call_command("audit_checkpoint")
    _notes(request_to_partner, "after the checkpoint")
    out = io.StringIO()

    call_command("verify_audit", stdout=out)

    position = AuditChainHead.objects.get().position
    assert out.getvalue().strip() == (
        f"The audit trail is intact ({position} entries). It matches 2 signed checkpoints, the "
        f"last at position {position - 1}; 1 entries after it are covered by no checkpoint yet."
    )


def test_a_rewrite_after_the_last_checkpoint_is_not_seen_until_a_checkpoint_covers_it(
    request_to_partner,
):
    call_command("audit_checkpoint")
    _notes(request_to_partner, "after the checkpoint")

    audit_newest_entry_rewrite(note="rewritten before the next checkpoint")

    call_command("verify_audit", stdout=io.StringIO())  # the limit the README states


def test_a_checkpoint_whose_signature_no_longer_verifies_is_reported(request_to_partner):
    call_command("audit_checkpoint")
    row = AuditCheckpoint.objects.order_by("authority__identifier").first()
    forged = bytes(row.statement).replace(b'"position":', b'"position":1')
    without_triggers(
        "UPDATE exchange_auditcheckpoint SET statement = %s WHERE id = %s", [forged, row.pk]
    )

    with pytest.raises(CommandError) as broken:
        call_command("verify_audit")

    assert "cannot be trusted: its signature is not a valid signature of its statement" in str(
        broken.value
    )


# The partners' copies ---------------------------------------------------------------------------


def _received_by_partner(sender, recipient) -> None:
    """The partner's side, played on this node: each checkpoint of ``sender`` delivered to
    ``recipient``'s inbox as the partner's node would receive it."""
    for row in AuditCheckpoint.objects.filter(authority=sender).order_by("position"):
        inbox_receive(
            sealed=checkpoint_message(
                sender,
                recipient,
                statement=bytes(row.statement),
                signature=bytes(row.signature),
            )
        )


def test_the_partners_copies_exported_and_given_to_verify_audit_catch_the_rewrite(
    request_to_partner, sender, recipient, tmp_path
):
    call_command("audit_checkpoint")
    good = AuditChainHead.objects.get().position
    _notes(request_to_partner, "refused the request")
    call_command("audit_checkpoint")
    _received_by_partner(sender, recipient)
    exported = tmp_path / "from-aa-sender.json"

    call_command("audit_checkpoint", "export", "--from", "aa-sender", "-o", str(exported))

    items = checkpoints_export_parse(exported.read_bytes())
    kept = AuditCheckpoint.objects.filter(authority=sender).order_by("position")
    assert [(item.statement, item.signature) for item in items] == [
        (bytes(row.statement), bytes(row.signature)) for row in kept
    ]
    assert json.loads(exported.read_bytes())["from"] == "aa-sender"

    # Whoever rewrites the trail can also delete the node's own checkpoints (past the
    # triggers): the partner's copies still catch it.
    audit_newest_entry_rewrite(note="executed the request")
    without_triggers("DELETE FROM exchange_auditcheckpoint_sent_in", [])
    without_triggers("DELETE FROM exchange_auditcheckpoint", [])
    call_command("verify_audit", stdout=io.StringIO())
    with pytest.raises(CommandError) as broken:
        call_command("verify_audit", "--checkpoints", str(exported))
    first_untrusted = AuditEntry.objects.get(position=good + 1)
    assert f"first at entry {first_untrusted.pk} (checkpoint)" in str(broken.value)
    assert f"file {exported}" in str(broken.value)


def test_a_file_of_checkpoints_signed_by_another_node_is_reported(
    request_to_partner, sender, recipient, partner, exchange_keys, tmp_path
):
    call_command("audit_checkpoint")
    _received_by_partner(sender, recipient)
    exported = tmp_path / "copies.json"
    call_command("audit_checkpoint", "export", "--from", "aa-sender", "-o", str(exported))
    document = json.loads(exported.read_bytes())
    statement = statement_of(partner)
    document["checkpoints"][0]["statement"] = base64.b64encode(statement).decode()
    document["checkpoints"][0]["signature"] = base64.b64encode(
        exchange_keys.foreign_sign(exchange_keys.partner, statement)
    ).decode()
    exported.write_text(json.dumps(document))

    with pytest.raises(CommandError) as broken:
        call_command("verify_audit", "--checkpoints", str(exported))

    assert "cannot be trusted: it is not signed by a key of this node" in str(broken.value)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"not json", "is not a checkpoint export"),
        (b'{"format": "something else"}', "is not a checkpoint export"),
    ],
)
def test_an_unreadable_file_of_checkpoints_is_a_clear_error(db, content, error, tmp_path):
    given = tmp_path / "given.json"
    given.write_bytes(content)

    with pytest.raises(CommandError, match=f"{given} cannot be read: The file {error}"):
        call_command("verify_audit", "--checkpoints", str(given))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("verify_audit", "--checkpoints", str(tmp_path / "missing.json"))


def test_nothing_received_from_an_authority_is_a_clear_error(db, partner, tmp_path):
    with pytest.raises(CommandError, match="No checkpoint has been received from cc-partner"):
        call_command("audit_checkpoint", "export", "--from", "cc-partner", "-o", "-")
    with pytest.raises(CommandError, match="No authority has the identifier nobody"):
        call_command("audit_checkpoint", "export", "--from", "nobody", "-o", "-")


# The evidence bundle ----------------------------------------------------------------------------


def test_the_evidence_bundle_holds_the_checkpoints_covering_the_timeline(
    request_to_partner, exchange_keys
):
    call_command("audit_checkpoint")  # at the request's last entry
    _notes(request_to_partner, "one more")
    other = outgoing_request(
        request_to_partner.issuing_authority,
        request_to_partner.executing_authority,
        request_to_partner.created_by,
    )
    _notes(other, "another request's act")
    call_command("audit_checkpoint")  # after it
    last = AuditEntry.objects.filter(request=request_to_partner).order_by("-sequence").first()
    at_entry = AuditEntry.objects.filter(request=request_to_partner).order_by("-sequence")[1]

    with zipfile.ZipFile(io.BytesIO(evidence_bundle(request=request_to_partner))) as bundle:
        names = set(bundle.namelist())
        index = json.loads(bundle.read("index.json"))
        verify = bundle.read("VERIFY.txt").decode()
        statement = bundle.read(f"checkpoints/{at_entry.position}-aa-sender.json")

    covering = AuditChainHead.objects.get().position
    assert covering > last.position
    for position in (at_entry.position, covering):
        for identifier in ("aa-sender", "bb-recipient"):
            assert f"checkpoints/{position}-{identifier}.json" in names
            assert f"checkpoints/{position}-{identifier}.json.sig" in names
    assert checkpoint_parse(statement).node_hash == at_entry.node_hash
    listed = {(item["position"], item["signer"]): item for item in index["checkpoints"]}
    assert listed[(at_entry.position, "aa-sender")]["timeline_sequence"] == at_entry.sequence
    assert listed[(covering, "aa-sender")]["timeline_sequence"] is None
    assert listed[(covering, "aa-sender")]["fingerprint"] == exchange_keys.sender
    assert all(not item["problem"] for item in index["checkpoints"])
    assert "6. CHECK THE AUDIT CHECKPOINTS" in verify
    assert index["problems"] == []
