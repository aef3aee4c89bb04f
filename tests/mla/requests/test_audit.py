import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from mla.core.errors import ApplicationError
from mla.requests.audit import audit_append, audit_record, audit_verify
from mla.requests.drafting.services import request_duplicate, request_link
from mla.requests.lifecycle.issuing import request_withdraw
from mla.requests.models import AuditEntry, Request
from tests.support.journeys import ready_eio

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(eio_draft, prosecutor):
    """Two requests with a few entries each, interleaved on the node-wide chain."""
    copy = request_duplicate(request=eio_draft, actor=prosecutor)
    request_link(request=copy, target=eio_draft, actor=prosecutor, note="follows")
    audit_record(request=eio_draft, actor=prosecutor, event="note", note="called the desk")
    return eio_draft, copy


def test_an_append_returns_the_trail_the_new_entry_last(trail, prosecutor):
    request, _copy = trail

    appended = audit_append(request=request, actor=prosecutor, event="note", note="again")

    stored = list(AuditEntry.objects.filter(request=request).order_by("sequence"))
    assert [entry.pk for entry in appended] == [entry.pk for entry in stored]
    assert appended[-1].note == "again"
    assert appended[-1].sequence == len(stored)
    assert appended[-1].request_hash == stored[-1].request_hash
    assert audit_verify() == []


def _without_trigger(sql: str, params: list[object]) -> None:
    # What someone with the database owner's rights could do; the chains must show it.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # triggers off, as a DBA can
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = origin")


def test_acts_are_recorded_with_actor_authority_and_chains(trail, prosecutor):
    original, copy = trail

    events = list(AuditEntry.objects.values_list("request_reference", "sequence", "event"))

    assert events == [
        (original.reference, 1, "created"),
        (copy.reference, 1, "created"),
        (copy.reference, 2, "duplicated"),
        (copy.reference, 3, "linked"),
        (original.reference, 2, "note"),
    ]
    entry = AuditEntry.objects.get(event="linked")
    assert entry.actor_name == prosecutor.get_full_name()
    assert entry.authority_name == "Parquet de Paris"
    assert entry.payload == {"to": original.reference}
    assert audit_verify() == []
    call_command("verify_audit")


def test_an_edited_entry_is_found(trail):
    entry = AuditEntry.objects.get(event="linked")
    _without_trigger("UPDATE mla_requests_auditentry SET note = %s WHERE id = %s", ["x", entry.pk])

    breaks = audit_verify()

    assert breaks[0].entry_id == entry.pk
    with pytest.raises(CommandError, match=f"first at entry {entry.pk}"):
        call_command("verify_audit")


def test_a_deleted_entry_is_found(trail):
    entry = AuditEntry.objects.get(event="duplicated")
    _without_trigger("DELETE FROM mla_requests_auditentry WHERE id = %s", [entry.pk])

    breaks = audit_verify()

    following = AuditEntry.objects.get(event="linked")
    assert breaks[0].entry_id == following.pk
    assert "missing or reordered" in breaks[0].reason


def test_the_last_entry_deleted_is_found(trail):
    last = AuditEntry.objects.order_by("-position").first()
    _without_trigger("DELETE FROM mla_requests_auditentry WHERE id = %s", [last.pk])

    assert "last entries were removed" in str(audit_verify()[-1])


def test_reordered_entries_are_found(trail):
    first, second = AuditEntry.objects.order_by("position")[1:3]
    swap = "UPDATE mla_requests_auditentry SET position = %s WHERE id = %s"
    _without_trigger(swap, [10**9, first.pk])
    _without_trigger(swap, [first.position, second.pk])
    _without_trigger(swap, [second.position, first.pk])

    breaks = audit_verify()

    assert breaks[0].entry_id == second.pk


def test_the_database_refuses_updates_and_deletes(trail):
    entry = AuditEntry.objects.first()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE mla_requests_auditentry SET note = 'x' WHERE id = %s", [entry.pk])
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


def test_a_note_with_a_control_character_is_refused_with_its_act(
    prosecutor, authorities, countries
):
    ready = ready_eio(
        prosecutor=prosecutor, country=countries["DE"], authority=authorities["berlin"]
    )
    entries = AuditEntry.objects.filter(request=ready).count()

    with pytest.raises(ApplicationError, match="U\\+0000"):
        request_withdraw(request=ready, actor=prosecutor, note="No longer needed\x00")

    ready.refresh_from_db()
    assert ready.state == Request.State.READY
    assert AuditEntry.objects.filter(request=ready).count() == entries
