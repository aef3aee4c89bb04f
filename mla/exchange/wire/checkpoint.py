"""The signed checkpoint of a node's audit chain, and the file its partners export them in.

A checkpoint statement is canonical JSON (sorted keys, no spaces, UTF-8), signed by a
detached binary OpenPGP signature of the authority it names:

    {"at": "2026-12-03T05:00:00Z", "authority": "<identifier>", "node": "<node name>",
     "node_hash": "<sha256 hex>", "position": 1234, "type": "mla-audit-checkpoint",
     "version": 1}

It says: at ``at``, the node-wide audit chain of ``node`` ended at entry ``position``, whose
chain hash is ``node_hash``. ``type`` keeps a checkpoint's signature from being taken for a
manifest's or a receipt's. ``version`` is the statement's own: a change of its fields makes
a new version, which a node reads or refuses as a whole.

It travels as a message of kind ``checkpoint`` (the manifest format is unchanged) with two
documents, ``checkpoint.json`` (the statement) and ``checkpoint.json.sig`` (its signature).

A partner gives back what it received from a node as an export file (JSON): the statements
and signatures verbatim, in base64, so that not one byte changes on the way.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext as _

from mla.exchange.wire.errors import malformed
from mla.exchange.wire.fields import (
    IDENTIFIER_PATTERN,
    SHA256_PATTERN,
    canonical_object,
    exact_keys,
    format_time,
    string_value,
    timestamp_value,
)
from mla.requests.models import canonical_json

CHECKPOINT_VERSION = 1
CHECKPOINT_TYPE = "mla-audit-checkpoint"
CHECKPOINT_ENTRY = "checkpoint.json"
CHECKPOINT_SIGNATURE_ENTRY = "checkpoint.json.sig"
CHECKPOINT_MEDIA_TYPE = "application/json"
SIGNATURE_MEDIA_TYPE = "application/pgp-signature"
CHECKPOINT_FIELDS = {"type", "version", "node", "authority", "position", "node_hash", "at"}
# Far above any signature of one key, far below anything worth refusing later.
MAX_SIGNATURE_BYTES = 16 * 1024
MAX_STATEMENT_BYTES = 4 * 1024

EXPORT_FORMAT = "mla-audit-checkpoints"
EXPORT_VERSION = 1
EXPORT_FIELDS = {"format", "version", "exported_by", "exported_at", "from", "checkpoints"}
EXPORT_ITEM_FIELDS = {"statement", "signature", "received_at"}


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    node: str
    authority: str
    position: int
    node_hash: str
    at: datetime


@dataclass(frozen=True)
class SignedCheckpoint:
    """A statement and its detached signature, byte for byte, as signed."""

    statement: bytes = field(repr=False)
    signature: bytes = field(repr=False)


def checkpoint_statement(checkpoint: Checkpoint) -> bytes:
    """The one byte form of a checkpoint, which is signed."""
    return canonical_json(
        {
            "type": CHECKPOINT_TYPE,
            "version": CHECKPOINT_VERSION,
            "node": checkpoint.node,
            "authority": checkpoint.authority,
            "position": checkpoint.position,
            "node_hash": checkpoint.node_hash,
            "at": format_time(checkpoint.at),
        }
    )


def checkpoint_parse(raw: bytes) -> Checkpoint:
    """Read a statement strictly, or raise MessageRefused("malformed")."""
    if len(raw) > MAX_STATEMENT_BYTES:
        raise malformed(_("The checkpoint is larger than a checkpoint can be."))
    parsed = canonical_object(raw, part=CHECKPOINT_ENTRY)
    exact_keys(parsed, CHECKPOINT_FIELDS, part=CHECKPOINT_ENTRY)
    if parsed["type"] != CHECKPOINT_TYPE:
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": "type"})
    version = parsed["version"]
    if isinstance(version, bool) or version != CHECKPOINT_VERSION:
        raise malformed(
            _("Checkpoint version %(version)s is not supported.") % {"version": version}
        )
    position = parsed["position"]
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": "position"})
    return Checkpoint(
        node=string_value(parsed["node"], "node", limit=200),
        authority=string_value(parsed["authority"], "authority", IDENTIFIER_PATTERN),
        position=position,
        node_hash=string_value(parsed["node_hash"], "node_hash", SHA256_PATTERN),
        at=timestamp_value(parsed["at"], "at"),
    )


@dataclass(frozen=True, kw_only=True)
class ExportedCheckpoint:
    signed: SignedCheckpoint
    received_at: datetime


def checkpoints_export_build(
    *,
    exported_by: str,
    sender: str,
    items: Sequence[ExportedCheckpoint],
    at: datetime,
) -> bytes:
    """The export file of the checkpoints received from ``sender``."""
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_by": exported_by,
        "exported_at": format_time(at),
        "from": sender,
        "checkpoints": [
            {
                "statement": base64.b64encode(item.signed.statement).decode("ascii"),
                "signature": base64.b64encode(item.signed.signature).decode("ascii"),
                "received_at": format_time(item.received_at.astimezone(UTC)),
            }
            for item in items
        ],
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _base64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": name})
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise malformed(_("Field %(name)s is not base64.") % {"name": name}) from error


def checkpoints_export_parse(raw: bytes) -> list[SignedCheckpoint]:
    """The signed checkpoints of an export file, or MessageRefused("malformed") saying what
    is wrong. The statements are not read here: each is checked with its signature."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise malformed(
            _("The file is not a checkpoint export (not JSON: %(error)s).") % {"error": error}
        ) from error
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise malformed(
            _('The file is not a checkpoint export (its "format" is not %(format)s).')
            % {"format": EXPORT_FORMAT}
        )
    exact_keys(document, EXPORT_FIELDS, part=EXPORT_FORMAT)
    version = document["version"]
    if isinstance(version, bool) or version != EXPORT_VERSION:
        raise malformed(
            _("Checkpoint export version %(version)s is not supported.") % {"version": version}
        )
    items = document["checkpoints"]
    if not isinstance(items, list):
        raise malformed(_("Field %(name)s has an invalid value.") % {"name": "checkpoints"})
    signed = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise malformed(_("Field %(name)s has an invalid value.") % {"name": "checkpoints"})
        exact_keys(item, EXPORT_ITEM_FIELDS, part=f"checkpoints[{index}]")
        statement = _base64(item["statement"], f"checkpoints[{index}].statement")
        signature = _base64(item["signature"], f"checkpoints[{index}].signature")
        if len(statement) > MAX_STATEMENT_BYTES or len(signature) > MAX_SIGNATURE_BYTES:
            raise malformed(
                _("Checkpoint %(index)d is larger than a checkpoint can be.") % {"index": index}
            )
        signed.append(SignedCheckpoint(statement=statement, signature=signature))
    return signed
