"""Checkpoint messages for the tests of the inbox: as a partner's node sends them, or forged
by hand for the refusals."""

import json

from django.utils import timezone

from contact_points.models import Authority
from mla.exchange.wire.checkpoint import (
    CHECKPOINT_ENTRY,
    CHECKPOINT_SIGNATURE_ENTRY,
    Checkpoint,
    checkpoint_statement,
)
from mla.exchange.wire.manifest import Document, manifest_build
from mla.exchange.wire.seal import message_seal, signature_make

HASH = "ab" * 32


def statement_of(authority: Authority, *, position: int = 7, node_hash: str = HASH) -> bytes:
    return checkpoint_statement(
        Checkpoint(
            node="Partner node",
            authority=authority.identifier,
            position=position,
            node_hash=node_hash,
            at=timezone.now().replace(microsecond=0),
        )
    )


def checkpoint_message(
    sender: Authority,
    recipient: Authority,
    *,
    statement: bytes | None = None,
    signature: bytes | None = None,
    position: int = 7,
) -> bytes:
    """A sealed checkpoint message from ``sender`` (hosted here, so that this node can seal
    it); the statement signed by ``sender`` unless another statement or signature is given
    (an empty signature leaves the signature out). The manifest gives the statement's
    position."""
    statement = statement if statement is not None else statement_of(sender, position=position)
    position = json.loads(statement)["position"]
    if signature is None:
        signature = signature_make(authority=sender, data=statement)
    documents = [Document(CHECKPOINT_ENTRY, "application/json", statement)]
    if signature:
        documents.append(
            Document(CHECKPOINT_SIGNATURE_ENTRY, "application/pgp-signature", signature)
        )
    manifest = manifest_build(
        kind="checkpoint",
        sender=sender,
        recipient=recipient,
        reference="",
        data={"position": position},
        documents=documents,
    )
    return message_seal(manifest=manifest, documents=documents, sender=sender, recipient=recipient)
