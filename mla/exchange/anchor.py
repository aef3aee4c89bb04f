"""Signed checkpoints of the audit chain: the audit trail's anchor outside this node.

Every hour (and on demand, ``manage.py audit_checkpoint``) the node signs where its
node-wide audit chain ends (position, hash, time, node name; mla.exchange.wire.checkpoint),
keeps the statement and its signature, and sends them to the partners it exchanged with
since the previous checkpoint, through the outbox like any message. Someone able to rewrite
the trail and recompute its hashes can no longer do so unseen for an entry a checkpoint
covers: the checkpoint kept here is signed by a key the database does not hold, and the
partners keep their copies, which they export back on request (``audit_checkpoint export``)
for ``verify_audit --checkpoints``.

Who signs: every hosted authority whose pinned key pair this node holds signs each
checkpoint, one row each. A partner pins the keys of the authorities it deals with, so each
partner receives the checkpoint signed by the authority it exchanged with, and can check it
with a key it already trusts; no setting has to designate one key for the node.

When: only when the chain has moved since the last checkpoint. A checkpoint of an unchanged
head adds nothing (the previous one covers the same entries), and partners would receive
the same statement every hour. A new checkpoint is signed only if the chain still runs
through the previous checkpoint's hash to its head: the node never signs over a trail
already changed.

Here rather than in mla.requests: the signature needs the node's keys and the exchange's
outbox, which the requests side never imports. The chain is read through mla.requests.audit
(``audit_chain_head``, ``audit_verify_since``), and the check of the chain against the
checkpoints is mla.requests.audit's, which reads them through ``CheckpointAnchors``.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.core.errors import ApplicationError
from mla.core.node import node_identity
from mla.exchange.keys import authority_is_hosted, hosted_fingerprints
from mla.exchange.models import (
    AuditCheckpoint,
    InboxMessage,
    MessageKind,
    OutboxMessage,
    ReceivedAuditCheckpoint,
)
from mla.exchange.outbox import outbox_enqueue
from mla.exchange.selectors import checkpoint_last
from mla.exchange.wire.checkpoint import (
    CHECKPOINT_ENTRY,
    CHECKPOINT_MEDIA_TYPE,
    CHECKPOINT_SIGNATURE_ENTRY,
    SIGNATURE_MEDIA_TYPE,
    Checkpoint,
    ExportedCheckpoint,
    SignedCheckpoint,
    checkpoint_parse,
    checkpoint_statement,
    checkpoints_export_build,
    checkpoints_export_parse,
)
from mla.exchange.wire.errors import MessageNotSealed, MessageRefused
from mla.exchange.wire.manifest import Document
from mla.exchange.wire.seal import signature_make
from mla.openpgp.crypto import detached_verify
from mla.openpgp.homes import hosted_keyring
from mla.openpgp.status import validsig_primary_fingerprint
from mla.requests.audit import (
    GENESIS,
    AnchorFile,
    AuditAnchor,
    audit_verify_since,
)

logger = logging.getLogger(__name__)


class CheckpointError(ApplicationError):
    """A checkpoint cannot be made or exported."""


class NoSigningKey(CheckpointError):
    """No authority hosted here has a key pair: a node not yet set up for the exchange."""


def _node_name() -> str:
    identity = node_identity()
    return identity.name if identity is not None else str(settings.NODE_NAME)


def _signers() -> list[Authority]:
    """The active authorities whose pinned key pair this node holds, by identifier."""
    held = hosted_fingerprints(refresh=True)
    return [
        authority
        for authority in Authority.objects.filter(active=True)
        .exclude(key_fingerprint="")
        .order_by("identifier")
        if authority.key_fingerprint.upper() in held
    ]


# Making and sending --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CheckpointOutcome:
    """What a run did: ``created`` False when the head had not moved (or another run signed
    it first); ``checkpoints`` the rows at the head either way."""

    created: bool
    position: int
    checkpoints: list[AuditCheckpoint]
    messages: list[OutboxMessage]


def _exchanged_pairs(
    *, signer_ids: Sequence[int], since: datetime | None, until: datetime
) -> list[tuple[int, int]]:
    """(hosted authority, partner) pairs that exchanged a message in the window, checkpoints
    excluded (sending a checkpoint is not an exchange that calls for the next one)."""
    sent = OutboxMessage.objects.filter(sender_id__in=signer_ids, created_at__lte=until).exclude(
        kind=MessageKind.CHECKPOINT
    )
    received = InboxMessage.objects.filter(
        recipient_id__in=signer_ids, received_at__lte=until
    ).exclude(kind=MessageKind.CHECKPOINT)
    if since is not None:
        # From the previous checkpoint's second on: a message of that second goes to both.
        sent = sent.filter(created_at__gte=since)
        received = received.filter(received_at__gte=since)
    pairs = set(sent.values_list("sender_id", "recipient_id"))
    pairs |= set(received.values_list("recipient_id", "sender_id"))
    return sorted(pairs)


def _send(
    *, checkpoints: list[AuditCheckpoint], since: datetime | None, until: datetime
) -> list[OutboxMessage]:
    by_signer = {checkpoint.authority_id: checkpoint for checkpoint in checkpoints}
    pairs = _exchanged_pairs(signer_ids=list(by_signer), since=since, until=until)
    partners = Authority.objects.in_bulk({partner for _signer, partner in pairs})
    messages = []
    for signer_id, partner_id in pairs:
        partner = partners[partner_id]
        if authority_is_hosted(authority=partner):
            # A copy kept on this same node anchors nothing outside it.
            continue
        checkpoint = by_signer[signer_id]
        try:
            message = outbox_enqueue(
                request=None,
                kind=MessageKind.CHECKPOINT,
                data={"position": checkpoint.position},
                documents=[
                    Document(CHECKPOINT_ENTRY, CHECKPOINT_MEDIA_TYPE, bytes(checkpoint.statement)),
                    Document(
                        CHECKPOINT_SIGNATURE_ENTRY,
                        SIGNATURE_MEDIA_TYPE,
                        bytes(checkpoint.signature),
                    ),
                ],
                sender=checkpoint.authority,
                recipient=partner,
            )
        except MessageNotSealed as error:
            # One partner's unusable key does not hold back the checkpoint or the others.
            logger.warning(
                "Checkpoint at %d not sent to %s: %s",
                checkpoint.position,
                partner.identifier,
                error.message,
            )
            continue
        checkpoint.sent_in.add(message)
        messages.append(message)
    return messages


def audit_checkpoint_make(*, now: datetime | None = None) -> CheckpointOutcome:
    """Sign the audit chain's head as each hosted authority, keep it, and send it to the
    partners exchanged with since the previous checkpoint; nothing when the head has not
    moved. CheckpointError when the chain no longer runs through the previous checkpoint,
    or when no authority of this node has a key pair to sign with."""
    until = now or timezone.now()
    # The statement's time is to the second; the window runs to the exact moment, so that a
    # message of this very second is in it (and, from the second on, in the next one too).
    now = until.replace(microsecond=0)
    last = checkpoint_last()
    since_position, since_hash = (last.position, last.node_hash) if last else (0, GENESIS)
    position, node_hash, breaks = audit_verify_since(position=since_position, node_hash=since_hash)
    if breaks:
        raise CheckpointError(
            _(
                "No checkpoint signed: the audit chain does not run on from the last checkpoint "
                "(%(break)s). Run verify_audit."
            )
            % {"break": breaks[0]}
        )
    if position == 0 or (last is not None and position == last.position):
        return CheckpointOutcome(
            created=False,
            position=position,
            checkpoints=list(AuditCheckpoint.objects.filter(position=position)),
            messages=[],
        )
    signers = _signers()
    if not signers:
        raise NoSigningKey(
            _(
                "No checkpoint signed: no authority hosted on this node has a key pair "
                "(manage.py node_keys create)."
            )
        )
    node = _node_name()
    signed = []
    for authority in signers:
        statement = checkpoint_statement(
            Checkpoint(
                node=node,
                authority=authority.identifier,
                position=position,
                node_hash=node_hash,
                at=now,
            )
        )
        try:
            signature = signature_make(authority=authority, data=statement)
        except MessageNotSealed as error:
            raise CheckpointError(error.message) from error
        signed.append((authority, statement, signature))
    try:
        with transaction.atomic():
            checkpoints = [
                AuditCheckpoint.objects.create(
                    authority=authority,
                    fingerprint=authority.key_fingerprint.upper(),
                    position=position,
                    node_hash=node_hash,
                    signed_at=now,
                    node_name=node,
                    statement=statement,
                    signature=signature,
                )
                for authority, statement, signature in signed
            ]
            messages = _send(
                checkpoints=checkpoints, since=last.signed_at if last else None, until=until
            )
    except IntegrityError:
        # Another run signed this head at the same time: its checkpoint stands.
        return CheckpointOutcome(
            created=False,
            position=position,
            checkpoints=list(AuditCheckpoint.objects.filter(position=position)),
            messages=[],
        )
    logger.info("Audit checkpoint at %d signed, sent in %d messages.", position, len(messages))
    return CheckpointOutcome(
        created=True, position=position, checkpoints=checkpoints, messages=messages
    )


# The partners' copies --------------------------------------------------------------------------


def received_checkpoints_export(*, sender: str, now: datetime | None = None) -> bytes:
    """The export file of the checkpoints received from the authority ``sender`` (its
    identifier), statements and signatures verbatim, for that node's ``verify_audit``."""
    authority = Authority.objects.filter(identifier=sender).first()
    if authority is None:
        raise CheckpointError(
            _("No authority has the identifier %(identifier)s.") % {"identifier": sender}
        )
    received = list(ReceivedAuditCheckpoint.objects.filter(sender=authority).order_by("position"))
    if not received:
        raise CheckpointError(
            _("No checkpoint has been received from %(identifier)s.") % {"identifier": sender}
        )
    return checkpoints_export_build(
        exported_by=_node_name(),
        sender=authority.identifier,
        items=[
            ExportedCheckpoint(
                signed=SignedCheckpoint(
                    statement=bytes(item.statement), signature=bytes(item.signature)
                ),
                received_at=item.received_at,
            )
            for item in received
        ],
        at=now or timezone.now(),
    )


# Reading them back for verify_audit ------------------------------------------------------------


def _pinned_for(identifier: str, cache: dict[str, set[str]]) -> set[str]:
    """The fingerprints the directory pins, or pinned before, for an authority."""
    if identifier not in cache:
        authority = Authority.objects.filter(identifier=identifier).first()
        pins: set[str] = set()
        if authority is not None:
            pins.add(authority.key_fingerprint.upper())
            pins |= {
                fingerprint.upper()
                for fingerprint in authority.history.exclude(key_fingerprint="").values_list(
                    "key_fingerprint", flat=True
                )
            }
        cache[identifier] = pins - {""}
    return cache[identifier]


def _own_signature_problem(
    *, checkpoint: Checkpoint, signed: SignedCheckpoint, pins: dict[str, set[str]]
) -> str:
    """Why ``signed`` is not a checkpoint signed by this node's key for the authority it
    names; "" when it is. Checked in the secret home, which holds this node's keys only."""
    verified = detached_verify(hosted_keyring(), data=signed.statement, signature=signed.signature)
    keywords = [keyword for keyword, _args in verified.statuses]
    valid = [args for keyword, args in verified.statuses if keyword == "VALIDSIG"]
    if "NO_PUBKEY" in keywords:
        return _("it is not signed by a key of this node")
    if keywords.count("NEWSIG") != 1 or "BADSIG" in keywords or len(valid) != 1:
        return _("its signature is not a valid signature of its statement")
    fingerprint = validsig_primary_fingerprint(valid[0])
    if "REVKEYSIG" in keywords:
        return _("it is signed by key %(fingerprint)s, since revoked") % {
            "fingerprint": fingerprint
        }
    # EXPKEYSIG is good: a key that has expired since signed it while it was valid.
    if not ({"GOODSIG", "EXPKEYSIG"} & set(keywords)):
        return _("its signature is not a valid signature of its statement")
    if fingerprint not in _pinned_for(checkpoint.authority, pins):
        return _(
            "it is signed by key %(fingerprint)s, which the directory never pinned for "
            "%(authority)s"
        ) % {"fingerprint": fingerprint, "authority": checkpoint.authority}
    return ""


def _anchor(
    *,
    signed: SignedCheckpoint,
    origin: str,
    pins: dict[str, set[str]],
    recorded: tuple[int, str] | None = None,
) -> AuditAnchor:
    try:
        checkpoint = checkpoint_parse(signed.statement)
    except MessageRefused as error:
        return AuditAnchor(
            origin=origin,
            signer="?",
            position=0,
            node_hash="",
            signed_at=timezone.now(),
            problem=_("its statement cannot be read: %(error)s") % {"error": error.message},
        )
    problem = _own_signature_problem(checkpoint=checkpoint, signed=signed, pins=pins)
    if (
        not problem
        and recorded is not None
        and recorded
        != (
            checkpoint.position,
            checkpoint.node_hash,
        )
    ):
        problem = _("its record on this node is not what its signed statement says")
    return AuditAnchor(
        origin=origin,
        signer=checkpoint.authority,
        position=checkpoint.position,
        node_hash=checkpoint.node_hash,
        signed_at=checkpoint.at,
        problem=problem,
    )


class CheckpointAnchors:
    """The source of anchors mla.requests.audit checks the chain against (registered in
    mla.exchange.apps): the checkpoints kept here and those of partners' export files,
    each read from its signed bytes, its signature checked."""

    def audit_anchors(self, *, files: Sequence[AnchorFile]) -> list[AuditAnchor]:
        pins: dict[str, set[str]] = {}
        from_files = []
        for given in files:
            try:
                from_files.append((given.name, checkpoints_export_parse(given.content)))
            except MessageRefused as error:
                raise ApplicationError(
                    _("%(file)s cannot be read: %(error)s")
                    % {"file": given.name, "error": error.message}
                ) from error
        anchors = [
            _anchor(
                signed=SignedCheckpoint(
                    statement=bytes(kept.statement), signature=bytes(kept.signature)
                ),
                origin=_("kept on this node"),
                pins=pins,
                recorded=(kept.position, kept.node_hash),
            )
            for kept in AuditCheckpoint.objects.order_by("position", "authority_id").iterator()
        ]
        for name, items in from_files:
            anchors += [
                _anchor(signed=item, origin=_("file %(name)s") % {"name": name}, pins=pins)
                for item in items
            ]
        return anchors


__all__ = [
    "CheckpointAnchors",
    "CheckpointError",
    "NoSigningKey",
    "audit_checkpoint_make",
    "received_checkpoints_export",
]
