"""Changes to the audit trail made past the application, as someone with the database
owner's rights could: the audit tests show that the chains and the checkpoints find them."""

import hashlib

from django.db import connection

from mla.requests.audit import GENESIS, audit_entry_body
from mla.requests.models import AuditChainHead, AuditEntry


def without_triggers(sql: str, params: list[object]) -> None:
    """Run ``sql`` with the append-only triggers off (PostgreSQL), as a DBA can."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = origin")


def _chain(previous: str, body: bytes) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + body).hexdigest()


def audit_newest_entry_rewrite(*, note: str) -> AuditEntry:
    """Rewrite the newest entry's note and recompute its two hashes and the chain head: the
    chains alone then verify."""
    newest = AuditEntry.objects.order_by("-position").first()
    assert newest is not None
    previous_node = (
        AuditEntry.objects.filter(position=newest.position - 1)
        .values_list("node_hash", flat=True)
        .first()
        or GENESIS
    )
    previous_request = (
        AuditEntry.objects.filter(request_id=newest.request_id, sequence=newest.sequence - 1)
        .values_list("request_hash", flat=True)
        .first()
        or GENESIS
    )
    newest.note = note
    body = audit_entry_body(newest)
    request_hash, node_hash = _chain(previous_request, body), _chain(previous_node, body)
    without_triggers(
        "UPDATE mla_requests_auditentry SET note = %s, request_hash = %s, node_hash = %s "
        "WHERE id = %s",
        [note, request_hash, node_hash, newest.pk],
    )
    AuditChainHead.objects.filter(pk=1).update(node_hash=node_hash)
    newest.refresh_from_db()
    return newest
