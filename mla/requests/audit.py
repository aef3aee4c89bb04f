"""The audit trail: append-only, each entry chained by SHA-256 to the previous one of the same
request and to the previous one of the whole node.

An entry's hash covers its own content and the hashes before it, so editing, deleting or
reordering any row breaks every chain through it; ``manage.py verify_audit`` finds the first
broken entry. On PostgreSQL a trigger also refuses UPDATE and DELETE on the table.
"""

import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from mla.accounts.models import User
from mla.requests.models import AuditChainHead, AuditEntry, Request

GENESIS = "0" * 64


def audit_entry_body(entry: AuditEntry) -> bytes:
    return json.dumps(
        {
            "request": entry.request_reference,
            "sequence": entry.sequence,
            "position": entry.position,
            "actor": entry.actor_name,
            "authority": entry.authority_name,
            "at": entry.at.isoformat(),
            "event": entry.event,
            "from": entry.from_state,
            "to": entry.to_state,
            "note": entry.note,
            "payload": entry.payload,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def _chain(previous: str, body: bytes) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + body).hexdigest()


def _actor_name(actor: User | None, on_behalf_of: tuple[str, str] | None) -> str:
    if on_behalf_of:
        return on_behalf_of[0]
    return (actor.get_full_name() or actor.username) if actor else "system"


def audit_trail(*, request: Request) -> list[AuditEntry]:
    """The request's entries in order, with what the next entry chains from and what its
    deadlines count from (mla.requests.deadlines.store)."""
    return list(
        AuditEntry.objects.filter(request=request)
        .order_by("sequence")
        .only("sequence", "request_hash", "event", "at", "payload")
    )


def _node_head() -> AuditChainHead:
    # One head row serialises appends, so that the node-wide chain has no forks; the entries
    # of a request are read after it is taken.
    head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
    return head


def _entry_write(
    *,
    head: AuditChainHead,
    previous_in_request: AuditEntry | None,
    request: Request,
    actor: User | None,
    event: str,
    from_state: str,
    to_state: str,
    note: str,
    payload: dict[str, Any] | None,
    on_behalf_of: tuple[str, str] | None,
    at: datetime.datetime | None,
) -> AuditEntry:
    entry = AuditEntry(
        request=request,
        request_reference=request.reference,
        sequence=(previous_in_request.sequence + 1) if previous_in_request else 1,
        position=head.position + 1,
        actor=actor,
        actor_name=_actor_name(actor, on_behalf_of),
        authority_name=on_behalf_of[1] if on_behalf_of else (actor.authority.name if actor else ""),
        at=at or timezone.now(),
        event=event,
        from_state=from_state,
        to_state=to_state,
        note=note,
        payload=payload or {},
    )
    body = audit_entry_body(entry)
    entry.request_hash = _chain(
        previous_in_request.request_hash if previous_in_request else GENESIS, body
    )
    entry.node_hash = _chain(head.node_hash, body)
    entry.save()
    head.position = entry.position
    head.node_hash = entry.node_hash
    head.save(update_fields=["position", "node_hash"])
    return entry


# No savepoint of its own: an entry is written inside the act it records, and fails with it.
@transaction.atomic(savepoint=False)
def audit_record(
    *,
    request: Request,
    actor: User | None,
    event: str,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    payload: dict[str, Any] | None = None,
    on_behalf_of: tuple[str, str] | None = None,
    at: datetime.datetime | None = None,
) -> AuditEntry:
    """Append one entry; called inside the transaction of the act it records.

    ``on_behalf_of`` (person, authority) names who acted when the act was done elsewhere: the
    other side's step recorded on this side's copy of a request.
    """
    head = _node_head()
    previous_in_request = (
        AuditEntry.objects.filter(request=request)
        .order_by("-sequence")
        .only("sequence", "request_hash")
        .first()
    )
    return _entry_write(
        head=head,
        previous_in_request=previous_in_request,
        request=request,
        actor=actor,
        event=event,
        from_state=from_state,
        to_state=to_state,
        note=note,
        payload=payload,
        on_behalf_of=on_behalf_of,
        at=at,
    )


@transaction.atomic(savepoint=False)
def audit_append(
    *,
    request: Request,
    actor: User | None,
    event: str,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    payload: dict[str, Any] | None = None,
    on_behalf_of: tuple[str, str] | None = None,
    at: datetime.datetime | None = None,
    first: bool = False,
) -> list[AuditEntry]:
    """Append one entry as audit_record does, and return the request's whole trail, the new
    entry last, read under the same lock: for a step, which computes its deadlines from it
    (a plain record reads only the last entry). ``first``: the request was created in this
    transaction and has no entry yet (nothing to read).
    """
    head = _node_head()
    trail = [] if first else audit_trail(request=request)
    entry = _entry_write(
        head=head,
        previous_in_request=trail[-1] if trail else None,
        request=request,
        actor=actor,
        event=event,
        from_state=from_state,
        to_state=to_state,
        note=note,
        payload=payload,
        on_behalf_of=on_behalf_of,
        at=at,
    )
    return [*trail, entry]


@dataclass(frozen=True)
class AuditBreak:
    entry_id: int | None
    chain: str  # "node" or the request reference
    reason: str

    def __str__(self) -> str:
        where = f"entry {self.entry_id}" if self.entry_id is not None else "the chain head"
        return f"{where} ({self.chain}): {self.reason}"


def audit_verify() -> list[AuditBreak]:
    """Every broken link, node-wide chain first; an empty list means the trail is intact."""
    breaks: list[AuditBreak] = []
    previous_node = GENESIS
    expected_position = 1
    request_state: dict[int, tuple[int, str]] = {}
    entries = AuditEntry.objects.order_by("position").iterator(chunk_size=2000)
    for entry in entries:
        body = audit_entry_body(entry)
        if entry.position != expected_position:
            breaks.append(
                AuditBreak(
                    entry.pk,
                    "node",
                    f"position {entry.position}, expected {expected_position}: "
                    "an entry is missing or reordered",
                )
            )
        if entry.node_hash != _chain(previous_node, body):
            breaks.append(
                AuditBreak(entry.pk, "node", "hash does not match its content and predecessor")
            )
        last_sequence, last_hash = request_state.get(entry.request_id, (0, GENESIS))
        if entry.sequence != last_sequence + 1:
            breaks.append(
                AuditBreak(
                    entry.pk,
                    entry.request_reference,
                    f"sequence {entry.sequence}, expected {last_sequence + 1}",
                )
            )
        if entry.request_hash != _chain(last_hash, body):
            breaks.append(
                AuditBreak(
                    entry.pk,
                    entry.request_reference,
                    "hash does not match its content and predecessor",
                )
            )
        request_state[entry.request_id] = (entry.sequence, entry.request_hash)
        previous_node = entry.node_hash
        expected_position = entry.position + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.position, head.node_hash) != (
        expected_position - 1,
        previous_node,
    ):
        breaks.append(AuditBreak(None, "node", "the last entries were removed"))
    return breaks


__all__ = ["AuditBreak", "audit_record", "audit_verify"]
