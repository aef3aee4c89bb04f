"""The audit trail: append-only, each entry chained by SHA-256 to the previous one of the same
request and to the previous one of the whole node.

An entry's hash covers its own content and the hashes before it, so editing, deleting or
reordering any row breaks every chain through it; ``manage.py verify_audit`` finds the first
broken entry. On PostgreSQL a trigger also refuses UPDATE and DELETE on the table.

A chain alone does not stop someone who can write the table from rewriting its end and
recomputing the hashes. Signed checkpoints of the node-wide chain, kept here and by the
partners, anchor it: they are made and signed by the exchange (mla.exchange.anchor), which
registers itself as the source of anchors (``audit_anchor_source_register``); this module
checks the chain against them (``audit_verify_anchored``) and never imports the exchange.
"""

import datetime
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.core.text import text_problem
from mla.requests.models import AuditChainHead, AuditEntry, Request
from mla.requests.webhook_events import audit_entry_announce

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


def chain_hash(*, previous: str, entry: AuditEntry) -> str:
    """The hash of ``entry`` chained to ``previous``, as an append computes it: for entries
    written in bulk (the demo's history), which ``verify_audit`` checks like any other."""
    return _chain(previous, audit_entry_body(entry))


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
    # Every state change passes here, in its act's transaction: the authority's webhooks
    # hear of it if, and only if, the act commits.
    audit_entry_announce(request=request, entry=entry)
    return entry


# No savepoint of its own: an entry is written inside the act it records, and fails with it.
@transaction.atomic(savepoint=False)
def note_check(*, note: str) -> None:
    """ApplicationError when the note typed with an act holds a control character: the act
    is refused with it, from a page, a command or (later) the API alike."""
    problem = text_problem(note) if note else None
    if problem:
        raise ApplicationError(_("The note: %(problem)s") % {"problem": problem})


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
    note_check(note=note)
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
        if self.entry_id is not None:
            where = f"entry {self.entry_id}"
        else:
            where = "a checkpoint" if self.chain == CHECKPOINT_CHAIN else "the chain head"
        return f"{where} ({self.chain}): {self.reason}"


CHECKPOINT_CHAIN = "checkpoint"


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


# Anchors ------------------------------------------------------------------------------------


def audit_chain_head() -> tuple[int, str]:
    """Where the node-wide chain ends now: the last entry's position and hash (0 and the
    genesis hash while there is no entry)."""
    head = AuditChainHead.objects.filter(pk=1).values_list("position", "node_hash").first()
    return head if head is not None else (0, GENESIS)


def audit_verify_since(*, position: int, node_hash: str) -> tuple[int, str, list[AuditBreak]]:
    """Whether the chain still runs through ``node_hash`` at ``position`` (0: the start) and
    on, unbroken, to its head: the head and the breaks found. Reads only the entries after
    ``position``, so that a new checkpoint is signed only where it extends the previous one
    without rereading the whole trail every hour."""
    breaks: list[AuditBreak] = []
    if position:
        kept = AuditEntry.objects.filter(position=position).values_list("pk", "node_hash").first()
        if kept is None or kept[1] != node_hash:
            breaks.append(
                AuditBreak(
                    kept[0] if kept else None,
                    "node",
                    f"position {position} no longer holds the hash of the last checkpoint",
                )
            )
            return (*audit_chain_head(), breaks)
    head_position, head_hash = audit_chain_head()
    previous, expected = node_hash if position else GENESIS, position + 1
    after = AuditEntry.objects.filter(position__gt=position, position__lte=head_position)
    for entry in after.order_by("position").iterator(chunk_size=2000):
        if entry.position != expected or entry.node_hash != _chain(
            previous, audit_entry_body(entry)
        ):
            breaks.append(AuditBreak(entry.pk, "node", "does not chain to the last checkpoint"))
            break
        previous, expected = entry.node_hash, entry.position + 1
    if not breaks and (expected - 1, previous) != (head_position, head_hash):
        breaks.append(AuditBreak(None, "node", "the chain head is not the last entry"))
    return head_position, head_hash, breaks


@dataclass(frozen=True, kw_only=True)
class AuditAnchor:
    """A signed checkpoint of the node-wide chain, as the app that keeps them read it: at
    ``signed_at`` the chain ended at ``position`` with ``node_hash``."""

    origin: str  # where it was found: kept on this node, or a file a partner exported
    signer: str  # the authority whose key signed it
    position: int
    node_hash: str
    signed_at: datetime.datetime
    # Why it cannot be trusted (its signature does not verify, ...); "" when it can.
    problem: str = ""

    def __str__(self) -> str:
        return (
            f"the checkpoint at position {self.position} signed by {self.signer} on "
            f"{self.signed_at.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC ({self.origin})"
        )


@dataclass(frozen=True)
class AnchorFile:
    name: str
    content: bytes = field(repr=False)


class AuditAnchorSource(Protocol):
    """What the audit asks of the app that signs and keeps checkpoints."""

    def audit_anchors(self, *, files: Sequence[AnchorFile]) -> list[AuditAnchor]:
        """Every checkpoint this node keeps, and those in ``files`` (exports of the copies a
        partner received), each with its signature checked. Raises ApplicationError for a
        file it cannot read."""


class _NoAnchors:
    def audit_anchors(self, *, files: Sequence[AnchorFile]) -> list[AuditAnchor]:
        if files:
            raise ApplicationError("No app that reads audit checkpoints is installed.")
        return []


_anchor_source: AuditAnchorSource = _NoAnchors()


def audit_anchor_source_register(source: AuditAnchorSource) -> None:
    """Install the source of checkpoints (the exchange does, in its AppConfig.ready)."""
    global _anchor_source
    _anchor_source = source


@dataclass(frozen=True, kw_only=True)
class AnchoredAudit:
    breaks: list[AuditBreak]
    entries: int
    anchors: list[AuditAnchor]
    # The highest position a trusted checkpoint covers, and how many entries come after it.
    covered_position: int
    uncovered_entries: int


def _anchor_breaks(anchors: list[AuditAnchor]) -> tuple[list[AuditBreak], int]:
    """Checkpoints that disagree with the chain, each naming the first entry after the last
    good checkpoint; and the highest position a good checkpoint covers."""
    trusted = sorted((anchor for anchor in anchors if not anchor.problem), key=lambda a: a.position)
    stored = dict(
        AuditEntry.objects.filter(position__in={anchor.position for anchor in trusted}).values_list(
            "position", "node_hash"
        )
    )
    disagreeing = [anchor for anchor in trusted if stored.get(anchor.position) != anchor.node_hash]
    if not disagreeing:
        return [], max((anchor.position for anchor in trusted), default=0)
    first_bad = disagreeing[0].position
    last_good = max(
        (
            anchor.position
            for anchor in trusted
            if anchor.position < first_bad and stored.get(anchor.position) == anchor.node_hash
        ),
        default=0,
    )
    untrusted = (
        AuditEntry.objects.filter(position__gt=last_good).order_by("position").only("pk").first()
    )
    since = (
        f"the last good checkpoint is at position {last_good}"
        if last_good
        else "no earlier checkpoint agrees"
    )
    breaks = []
    for anchor in disagreeing:
        found = stored.get(anchor.position)
        what = (
            "no entry is at that position any more"
            if found is None
            else f"the entry there has hash {found[:16]}…, the checkpoint {anchor.node_hash[:16]}…"
        )
        breaks.append(
            AuditBreak(
                untrusted.pk if untrusted else None,
                CHECKPOINT_CHAIN,
                f"the trail does not match {anchor} ({what}): {since}, so the entries from "
                f"position {last_good + 1} on cannot be trusted; this entry is the first of them",
            )
        )
    return breaks, last_good


def audit_verify_anchored(*, files: Sequence[AnchorFile] = ()) -> AnchoredAudit:
    """The chains checked (audit_verify), then the chain against every signed checkpoint
    this node holds and those in ``files``: the entry at each checkpoint's position must
    exist and have the checkpoint's hash. A checkpoint whose signature does not verify is a
    break of its own. Raises ApplicationError for a file that cannot be read."""
    breaks = audit_verify()
    anchors = _anchor_source.audit_anchors(files=files)
    anchor_breaks, covered = _anchor_breaks(anchors)
    breaks += anchor_breaks
    breaks += [
        AuditBreak(None, CHECKPOINT_CHAIN, f"{anchor} cannot be trusted: {anchor.problem}")
        for anchor in anchors
        if anchor.problem
    ]
    head_position, _hash = audit_chain_head()
    return AnchoredAudit(
        breaks=breaks,
        entries=AuditEntry.objects.count(),
        anchors=anchors,
        covered_position=covered,
        uncovered_entries=max(0, head_position - covered),
    )


__all__ = [
    "AnchorFile",
    "AnchoredAudit",
    "AuditAnchor",
    "AuditAnchorSource",
    "AuditBreak",
    "audit_anchor_source_register",
    "audit_chain_head",
    "audit_record",
    "audit_verify",
    "audit_verify_anchored",
    "audit_verify_since",
]
