"""The e-Evidence certificates between the issuing authority and the service provider: both
copies on this node moving together, the production guard, Annex III and its answer, and an
EPOC-PR's Annex VI and Annex V."""

import datetime
import hashlib

import pytest
import time_machine
from django.utils import timezone

from mla.core.errors import ApplicationError
from mla.instruments import eevidence
from mla.requests.events import Event
from mla.requests.lifecycle import certificates
from mla.requests.lifecycle.certificates import (
    ProducedFile,
    certificate_answer_impossibility,
    certificate_confirm_receipt,
    certificate_extend_preservation,
    certificate_produce,
    certificate_report_impossibility,
    produced_file_named,
    produced_files_receive,
    production_allowed,
)
from mla.requests.lifecycle.enforcing import EnforcingDecision
from mla.requests.lifecycle.executing import (
    preservations_lapsed_end,
    request_acknowledge,
    request_end_preservation,
    request_execute,
    request_extend_preservation,
    request_preserve,
    request_recognise,
    request_record_follow_up,
    request_refuse,
)
from mla.requests.lifecycle.issuing import request_follow_up
from mla.requests.models import Request, RequestLink
from tests.support.certificates import EPOC_DATA, EPOC_EMERGENCY_DATA, EPOC_SUBSCRIBER_DATA, FILES
from tests.support.factories import UserFactory

State = Request.State
pytestmark = pytest.mark.django_db


def _reload(*copies):
    return [Request.objects.get(pk=item.pk) for item in copies]


def _preserved(send, provider_staff, code=eevidence.EPOC, data=None):
    issuing, provided = send(code, data)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=provided, actor=provider_staff)
    return _reload(issuing, provided)


def _impossibility(**overrides):
    arguments = {
        "reasons": ["insufficient_information"],
        "explanation": "The account identifier matches no account.",
        "additional_information": "The full e-mail address.",
        "data_preserved": True,
    }
    return {**arguments, **overrides}


def test_the_provider_acknowledges_preserves_and_produces_and_both_copies_follow(
    send_certificate, provider_staff, prosecutor, document_storage
):
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    assert (issuing.state, provided.state) == (State.DELIVERED, State.RECEIVED)

    request_acknowledge(request=provided, actor=provider_staff)
    assert [c.state for c in _reload(issuing, provided)] == [State.ACKNOWLEDGED] * 2
    request_preserve(request=provided, actor=provider_staff, note="Snapshot taken.")
    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.PRESERVED, State.PRESERVED)

    certificate_produce(request=provided, actor=provider_staff, files=FILES)

    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.EXECUTED, State.EXECUTED)
    expected = [
        {"name": f.name, "sha256": hashlib.sha256(f.content).hexdigest(), "size": len(f.content)}
        for f in FILES
    ]
    produced = provided.audit_entries.get(event=Event.EXECUTED)
    assert produced.payload["files"] == expected
    assert issuing.audit_entries.get(event=Event.EXECUTED).payload["files"] == expected
    for copy_ in (issuing, provided):
        stored = {a.name: a for a in copy_.attachments.all()}
        assert {name: a.sha256 for name, a in stored.items()} == {
            item["name"]: item["sha256"] for item in expected
        }
        with stored["traffic.json"].file.open("rb") as handle:
            assert handle.read() == b'{"sessions": []}'
    assert provided.deadlines.get(code="production").state == "met"

    entry = certificate_confirm_receipt(request=issuing, actor=prosecutor)
    assert entry.event == Event.DATA_RECEIPT_SIGNED
    assert [f["sha256"] for f in entry.payload["files"]] == [e["sha256"] for e in expected]
    # The provider keeps the same receipt on its copy, which stays executed.
    kept = provided.audit_entries.get(event=Event.DATA_RECEIPT_SIGNED)
    assert kept.payload == entry.payload
    assert (kept.actor_name, kept.at) == (entry.actor_name, entry.at)
    assert Request.objects.get(pk=provided.pk).state == State.EXECUTED
    with pytest.raises(ApplicationError, match="already confirmed"):
        certificate_confirm_receipt(request=issuing, actor=prosecutor)
    assert provided.audit_entries.filter(event=Event.DATA_RECEIPT_SIGNED).count() == 1


def test_the_receipt_is_signed_with_the_issuing_authoritys_key_when_held(
    send_certificate, provider_staff, prosecutor, authorities, document_storage, monkeypatch
):
    issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    certificate_produce(request=provided, actor=provider_staff, files=FILES[:1])
    authorities["paris"].key_fingerprint = "A" * 40
    authorities["paris"].save()
    issuing.refresh_from_db()
    signed = []

    class Signature:
        data = b"-----BEGIN PGP SIGNATURE-----"
        signer = "A" * 40

    def sign(*, data, fingerprint, armor):
        signed.append(data)
        return Signature()

    monkeypatch.setattr(certificates, "detached_sign", sign)

    entry = certificate_confirm_receipt(request=issuing, actor=prosecutor)

    assert entry.payload["fingerprint"] == "A" * 40
    assert entry.payload["signature"].startswith("-----BEGIN PGP SIGNATURE")
    # What was signed names each file's digest.
    assert entry.payload["files"][0]["sha256"].encode() in signed[0]


def test_a_notified_epoc_waits_for_the_enforcing_authoritys_ten_days(
    send_certificate, provider_staff, document_storage
):
    with time_machine.travel(datetime.datetime(2026, 9, 1, 9, tzinfo=datetime.UTC), tick=False):
        issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_DATA)
        assert eevidence.notification_required(provided.data)
        allowed, reason = production_allowed(request=provided)
        assert not allowed
        assert "Art. 10(2)" in reason
        with pytest.raises(ApplicationError, match=r"10 days"):
            certificate_produce(request=provided, actor=provider_staff, files=FILES)
        assert provided.attachments.count() == 0
        production = provided.deadlines.get(code="production")
        assert production.source == "Regulation (EU) 2023/1543, Art. 10(2)"
        assert production.due_at == datetime.datetime(2026, 9, 11, 9, tzinfo=datetime.UTC)

    with time_machine.travel(datetime.datetime(2026, 9, 11, 9, 0, 1, tzinfo=datetime.UTC)):
        assert production_allowed(request=provided) == (True, "")
        certificate_produce(request=provided, actor=provider_staff, files=FILES)
    assert Request.objects.get(pk=issuing.pk).state == State.EXECUTED


def test_the_enforcing_authoritys_decision_opens_or_stops_production(
    send_certificate, provider_staff, monkeypatch
):
    _issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_DATA)

    def decided(state: str, scope: str = "") -> EnforcingDecision:
        return EnforcingDecision(
            state=state,
            ground="ne_bis_in_idem" if scope else "",
            scope=scope,
            affected_categories=frozenset({eevidence.TRAFFIC}) if scope else frozenset(),
            decided_at=timezone.now(),
        )

    assert certificates.enforcing_decision(request=provided) is None
    monkeypatch.setattr(
        certificates, "enforcing_decision", lambda *, request: decided(State.NO_GROUNDS)
    )
    assert production_allowed(request=provided) == (True, "")
    monkeypatch.setattr(
        certificates,
        "enforcing_decision",
        lambda *, request: decided(State.GROUNDS_RAISED, eevidence.PARTIAL),
    )
    assert production_allowed(request=provided) == (True, "")
    monkeypatch.setattr(
        certificates,
        "enforcing_decision",
        lambda *, request: decided(State.GROUNDS_RAISED, eevidence.FULL),
    )
    allowed, reason = production_allowed(request=provided)
    assert not allowed
    assert "Art. 12" in reason


def test_an_emergency_is_produced_at_once_within_eight_hours(
    send_certificate, provider_staff, document_storage
):
    issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_EMERGENCY_DATA)
    assert eevidence.notification_required(provided.data)  # content data, but an emergency
    production = provided.deadlines.get(code="production")
    assert production.source == "Regulation (EU) 2023/1543, Art. 10(4)"
    assert production.due_at - production.starts_at == datetime.timedelta(hours=8)

    certificate_produce(
        request=provided,
        actor=provider_staff,
        files=FILES,
        partially=True,
        note="Content older than 90 days is not stored.",
    )

    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.PARTIALLY_EXECUTED,) * 2


def test_a_partial_production_says_what_is_missing_and_a_production_carries_files(
    send_certificate, provider_staff
):
    _issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    with pytest.raises(ApplicationError, match="could not be produced"):
        certificate_produce(request=provided, actor=provider_staff, files=FILES, partially=True)
    with pytest.raises(ApplicationError, match="Attach the data produced"):
        certificate_produce(request=provided, actor=provider_staff, files=[])


def test_annex_iii_stops_both_copies_and_the_issuer_answers_within_five_days(
    send_certificate, provider_staff, prosecutor
):
    issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)

    certificate_report_impossibility(request=provided, actor=provider_staff, **_impossibility())

    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.IMPOSSIBLE, State.IMPOSSIBLE)
    reported = issuing.audit_entries.get(event=Event.IMPOSSIBILITY_REPORTED)
    assert reported.payload["reasons"] == ["insufficient_information"]
    assert reported.payload["data_preserved"] is True
    answer = issuing.deadlines.get(code="impossibility_answer")
    assert answer.source == "Regulation (EU) 2023/1543, Art. 10(5)-(6)"
    assert answer.due_at - reported.at == datetime.timedelta(days=5)
    assert provided.deadlines.get(code="production").state == "suspended"

    corrected = {**issuing.data, "E": {"account": "x@example.org"}, "M": {"note": "for EA"}}
    certificate_answer_impossibility(
        request=issuing,
        actor=prosecutor,
        answer="completed",
        note="Full address.",
        data=corrected,
    )

    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.PRESERVED, State.PRESERVED)
    assert issuing.deadlines.get(code="impossibility_answer").state == "met"
    assert provided.deadlines.get(code="production").state == "running"
    # The new version reached the provider, without what is for the enforcing authority.
    assert provided.data["E"] == {"account": "x@example.org"}
    assert "M" not in provided.data
    answered = provided.audit_entries.get(event=Event.IMPOSSIBILITY_ANSWERED)
    assert answered.payload["answer"] == "completed"


def test_an_annex_iii_withdrawn_withdraws_both_copies(send_certificate, provider_staff, prosecutor):
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    certificate_report_impossibility(request=provided, actor=provider_staff, **_impossibility())

    certificate_answer_impossibility(
        request=Request.objects.get(pk=issuing.pk),
        actor=prosecutor,
        answer="withdrawn",
        note="Obtained otherwise.",
    )

    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.WITHDRAWN, State.WITHDRAWN)
    assert issuing.audit_entries.filter(event=Event.IMPOSSIBILITY_ANSWERED).exists()


def test_annex_iii_asks_for_the_conflicting_obligation_in_full(send_certificate, provider_staff):
    _issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    with pytest.raises(ApplicationError, match="Tick at least one reason"):
        certificate_report_impossibility(
            request=provided, actor=provider_staff, **_impossibility(reasons=[])
        )
    with pytest.raises(ApplicationError, match="conflicting obligation in full"):
        certificate_report_impossibility(
            request=provided,
            actor=provider_staff,
            **_impossibility(reasons=["conflicting_obligations"]),
            conflicting={"third_country": "US"},
        )
    full = {name: f"{name} text" for name in eevidence.CONFLICTING_OBLIGATION_FIELDS}
    certificate_report_impossibility(
        request=provided,
        actor=provider_staff,
        **_impossibility(reasons=["conflicting_obligations"]),
        conflicting=full,
    )
    entry = provided.audit_entries.get(event=Event.IMPOSSIBILITY_REPORTED)
    assert entry.payload["conflicting_obligations"] == full


def test_an_epoc_pr_is_extended_once_by_annex_vi_and_held_after_annex_v(
    send_certificate, provider_staff, prosecutor, document_storage
):
    start = datetime.datetime(2026, 9, 1, 8, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        issuing, provided = _preserved(send_certificate, provider_staff, code=eevidence.EPOC_PR)
        preservation = provided.deadlines.get(code="preservation")
        assert preservation.source == "Regulation (EU) 2023/1543, Art. 11(1)"
        # 60 calendar days in Berlin, across the end of summer time: 10:00 CEST to 10:00 CET.
        assert preservation.due_at == datetime.datetime(2026, 10, 31, 9, tzinfo=datetime.UTC)

    with time_machine.travel(start + datetime.timedelta(days=50), tick=False):
        # The provider does not extend on its own: the issuing authority does, by Annex VI.
        with pytest.raises(ApplicationError, match="you cannot extend the preservation of it"):
            request_extend_preservation(
                request=provided, actor=provider_staff, days=30, reason="asked"
            )
        certificate_extend_preservation(
            request=issuing, actor=prosecutor, reason="The production order is being prepared."
        )
        issuing, provided = _reload(issuing, provided)
        assert (issuing.state, provided.state) == (State.EXTENDED, State.EXTENDED)
        for copy_ in (issuing, provided):
            due = copy_.deadlines.get(code="preservation").due_at
            assert due == datetime.datetime(2026, 11, 30, 9, tzinfo=datetime.UTC)
        with pytest.raises(ApplicationError, match="cannot extend the preservation"):
            certificate_extend_preservation(request=issuing, actor=prosecutor, reason="again")

        # Annex V names the EPOC that followed; both copies hold the data until it is decided.
        production, produced = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
        request_follow_up(request=issuing, actor=prosecutor, follow_up=production)
        issuing, provided = _reload(issuing, provided)
        assert (issuing.state, provided.state) == (State.FOLLOWED_UP, State.FOLLOWED_UP)
        assert RequestLink.objects.filter(from_request=production, to_request=issuing).exists()
        assert provided.deadlines.get(code="preservation").state == "suspended"

    with time_machine.travel(start + datetime.timedelta(days=120), tick=False):
        assert preservations_lapsed_end() == 0
        request_acknowledge(request=produced, actor=provider_staff)
        request_preserve(request=produced, actor=provider_staff)
        certificate_produce(
            request=Request.objects.get(pk=produced.pk), actor=provider_staff, files=FILES
        )
        issuing, provided = _reload(issuing, provided)
        for copy_ in (issuing, provided):
            assert copy_.audit_entries.filter(event=Event.FOLLOW_UP_DECIDED).exists()
        # Released: the provider ends the preservation.
        request_end_preservation(request=provided, actor=provider_staff, note="Released.")
        issuing, provided = _reload(issuing, provided)
        assert (issuing.state, provided.state) == (State.EXPIRED, State.EXPIRED)
        assert provided.deadlines.get(code="preservation").state == "met"


def test_annex_vi_comes_before_the_sixty_days_end(send_certificate, provider_staff, prosecutor):
    start = datetime.datetime(2026, 9, 1, 8, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        issuing, _provided = _preserved(send_certificate, provider_staff, code=eevidence.EPOC_PR)
    with (
        time_machine.travel(start + datetime.timedelta(days=61), tick=False),
        pytest.raises(ApplicationError, match="no running time limit"),
    ):
        certificate_extend_preservation(request=issuing, actor=prosecutor, reason="late")


def test_an_epoc_pr_without_annex_v_lapses_at_sixty_days(send_certificate, provider_staff):
    start = datetime.datetime(2026, 9, 1, 8, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        issuing, provided = _preserved(send_certificate, provider_staff, code=eevidence.EPOC_PR)
    # Due at 2026-10-31 10:00 CET (09:00 UTC): 60 calendar days in Berlin.
    with time_machine.travel(datetime.datetime(2026, 10, 31, 8, 59, tzinfo=datetime.UTC)):
        assert preservations_lapsed_end() == 0
    with time_machine.travel(datetime.datetime(2026, 10, 31, 9, 1, tzinfo=datetime.UTC)):
        assert preservations_lapsed_end() == 1
    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.EXPIRED, State.EXPIRED)
    assert provided.deadlines.get(code="preservation").state == "missed"


def test_annex_v_names_a_production_request_not_another_preservation(
    send_certificate, provider_staff, prosecutor
):
    issuing, _provided = _preserved(send_certificate, provider_staff, code=eevidence.EPOC_PR)
    other, _ = send_certificate(eevidence.EPOC_PR)
    with pytest.raises(ApplicationError, match="not another preservation"):
        request_follow_up(request=issuing, actor=prosecutor, follow_up=other)


def test_the_provider_takes_only_the_addressees_steps(
    send_certificate, provider_staff, berlin_staff, prosecutor, provider, document_storage
):
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    # The addressee does not recognise or refuse: it reports on Annex III.
    request_acknowledge(request=provided, actor=provider_staff)
    with pytest.raises(ApplicationError, match="you cannot recognise it now"):
        request_recognise(request=provided, actor=provider_staff)
    with pytest.raises(ApplicationError, match="you cannot refuse it now"):
        request_refuse(request=provided, actor=provider_staff, ground="other", motivation="no")
    # Another authority's staff, and the issuing side, may not produce.
    with pytest.raises(ApplicationError, match="You may not mark as preserved"):
        request_preserve(request=provided, actor=berlin_staff)
    request_preserve(request=provided, actor=provider_staff)
    with pytest.raises(ApplicationError, match="You may not mark as executed"):
        certificate_produce(request=provided, actor=prosecutor, files=FILES)
    # The issuer answers an Annex III; the provider does not answer its own.
    certificate_report_impossibility(request=provided, actor=provider_staff, **_impossibility())
    with pytest.raises(ApplicationError, match="You may not answer the Annex III"):
        certificate_answer_impossibility(
            request=Request.objects.get(pk=issuing.pk),
            actor=provider_staff,
            answer="corrected",
            note="x",
        )
    with pytest.raises(ApplicationError, match="you cannot answer the Annex III"):
        certificate_answer_impossibility(
            request=Request.objects.get(pk=provided.pk),
            actor=prosecutor,
            answer="corrected",
            note="x",
        )


def test_provider_staff_work_only_e_evidence_certificates(sent_eio, authorities):
    _issuing, executing = sent_eio
    staff = UserFactory(authority=authorities["berlin"], roles=["provider_staff"])
    with pytest.raises(ApplicationError, match="You may not acknowledge"):
        request_acknowledge(request=executing, actor=staff)


def test_the_provider_does_not_record_an_annex_v_itself(send_certificate, provider_staff):
    _issuing, provided = _preserved(send_certificate, provider_staff, code=eevidence.EPOC_PR)
    with pytest.raises(ApplicationError, match="You may not record the follow-up"):
        request_record_follow_up(request=provided, actor=provider_staff, note="EPOC 12")


def test_both_copies_move_in_one_transaction(send_certificate, provider_staff):
    issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    # The issuing copy disagrees (it was closed meanwhile): the provider's step is refused
    # and nothing of it is kept on either copy.
    Request.objects.filter(pk=issuing.pk).update(state=State.WITHDRAWN)

    with pytest.raises(ApplicationError, match="issuing side's copy is “Withdrawn”"):
        certificate_report_impossibility(request=provided, actor=provider_staff, **_impossibility())

    issuing, provided = _reload(issuing, provided)
    assert (issuing.state, provided.state) == (State.WITHDRAWN, State.PRESERVED)
    assert not provided.audit_entries.filter(event=Event.IMPOSSIBILITY_REPORTED).exists()
    assert not issuing.audit_entries.filter(event=Event.IMPOSSIBILITY_REPORTED).exists()


def test_the_provider_staff_hear_of_a_certificate_received(send_certificate, provider_staff):
    from mla.notifications.models import Notification

    send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)

    assert Notification.objects.filter(recipient=provider_staff, kind="request_received").exists()


def test_the_issuing_authority_hears_that_the_data_were_received_in_its_language(
    send_certificate, provider_staff, prosecutor, document_storage
):
    from mla.notifications.messages import message_render
    from mla.notifications.models import Notification

    prosecutor.preferred_language = "fr"
    prosecutor.save(update_fields=["preferred_language"])
    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    certificate_produce(
        request=Request.objects.get(pk=provided.pk), actor=provider_staff, files=FILES
    )

    told = Notification.objects.filter(recipient=prosecutor).order_by("pk").last()
    assert told.subject == f"{issuing.reference} est désormais « Données reçues »"
    # Stored as source strings, so that it reads in whichever language it is read in.
    assert message_render(told.message)[0] == f"{issuing.reference} is now “Data received”"


def test_the_data_travel_with_the_production_to_an_issuer_on_another_node(
    send_certificate, provider_staff, prosecutor, monkeypatch, document_storage
):
    from mla.requests.lifecycle import channels
    from tests.support.channels import RecordingChannel

    _issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    # The issuing authority works on another node: its copy is not here.
    Request.objects.filter(pk=provided.pk).update(counterpart=None)
    prosecutor.is_active = False
    prosecutor.save()
    recording = RecordingChannel()
    monkeypatch.setattr(channels, "_remote", [recording])

    certificate_produce(
        request=Request.objects.get(pk=provided.pk), actor=provider_staff, files=FILES
    )

    [(_reference, event, from_executing_side, documents)] = recording.told
    assert (event, from_executing_side) == (Event.EXECUTED, True)
    assert [(d.name, d.content) for d in documents] == [(f.name, f.content) for f in FILES]


def _addressee_on_another_node(issuing, provider_staff, monkeypatch):
    """The addressee works on another node: its copy is not here, and the certificate went
    there by the remote channel, which records what it is told."""
    from mla.requests.lifecycle import channels
    from tests.support.channels import RecordingChannel

    Request.objects.filter(pk=issuing.pk).update(counterpart=None)
    provider_staff.is_active = False
    provider_staff.save()
    recording = RecordingChannel()
    recording.delivered.append((issuing.reference, "Paris"))
    monkeypatch.setattr(channels, "_remote", [recording])
    return recording


def test_an_annex_iii_answer_carries_the_new_version_to_an_addressee_on_another_node(
    send_certificate, provider_staff, prosecutor, monkeypatch
):
    issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    certificate_report_impossibility(request=provided, actor=provider_staff, **_impossibility())
    recording = _addressee_on_another_node(issuing, provider_staff, monkeypatch)
    issuing = Request.objects.get(pk=issuing.pk)
    completed = {**issuing.data, "E": {"account": "x@example.org"}, "M": {"note": "for EA"}}

    certificate_answer_impossibility(
        request=issuing, actor=prosecutor, answer="completed", note="Full address.", data=completed
    )

    [(event, note, payload)] = recording.payloads
    assert (event, note) == (Event.IMPOSSIBILITY_ANSWERED, "Full address.")
    assert payload["answer"] == "completed"
    assert payload["data"] == {k: v for k, v in completed.items() if k != "M"}
    # The issuing copy's own entry names the version by its digest only.
    answered = issuing.audit_entries.get(event=Event.IMPOSSIBILITY_ANSWERED)
    assert set(answered.payload) == {"answer", "data_sha256"}


def test_an_annex_iii_answered_unchanged_carries_no_version(
    send_certificate, provider_staff, prosecutor, monkeypatch
):
    issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    certificate_report_impossibility(request=provided, actor=provider_staff, **_impossibility())
    recording = _addressee_on_another_node(issuing, provider_staff, monkeypatch)

    certificate_answer_impossibility(
        request=Request.objects.get(pk=issuing.pk),
        actor=prosecutor,
        answer="corrected",
        note="The identifier is right: look again.",
    )

    [(_event, _note, payload)] = recording.payloads
    assert set(payload) == {"answer", "data_sha256"}


def test_an_annex_iii_answer_from_another_node_gives_the_addressee_the_new_version(
    send_certificate, provider_staff
):
    from mla.requests.lifecycle import counterpart

    _issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    certificate_report_impossibility(request=provided, actor=provider_staff, **_impossibility())
    completed = {**provided.data, "E": {"account": "x@example.org"}, "M": {"note": "for EA"}}

    counterpart.executing_follow(
        executing=Request.objects.get(pk=provided.pk),
        event=Event.IMPOSSIBILITY_ANSWERED,
        note="Full address.",
        payload={"answer": "completed", "data_sha256": "0" * 64, "data": completed},
        on_behalf_of=("Jonas Becker", "Staatsanwaltschaft Berlin"),
        at=timezone.now(),
    )

    provided = Request.objects.get(pk=provided.pk)
    assert provided.state == State.PRESERVED
    assert provided.data["E"] == {"account": "x@example.org"}
    # Section M is for the enforcing authority only, even if a node sends it.
    assert "M" not in provided.data
    answered = provided.audit_entries.get(event=Event.IMPOSSIBILITY_ANSWERED)
    assert answered.payload == {"answer": "completed", "data_sha256": "0" * 64}


def test_an_annex_iii_answer_whose_new_version_is_not_sections_is_refused(
    send_certificate, provider_staff
):
    from mla.requests.lifecycle import counterpart

    _issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    certificate_report_impossibility(request=provided, actor=provider_staff, **_impossibility())

    with pytest.raises(ApplicationError, match="new version"):
        counterpart.executing_follow(
            executing=Request.objects.get(pk=provided.pk),
            event=Event.IMPOSSIBILITY_ANSWERED,
            payload={"answer": "completed", "data": ["E"]},
            on_behalf_of=("Jonas Becker", "Staatsanwaltschaft Berlin"),
            at=timezone.now(),
        )

    assert Request.objects.get(pk=provided.pk).state == State.IMPOSSIBLE


def test_the_receipt_goes_to_an_addressee_on_another_node(
    send_certificate, provider_staff, prosecutor, monkeypatch, document_storage
):
    issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_SUBSCRIBER_DATA)
    certificate_produce(request=provided, actor=provider_staff, files=FILES)
    recording = _addressee_on_another_node(issuing, provider_staff, monkeypatch)

    entry = certificate_confirm_receipt(
        request=Request.objects.get(pk=issuing.pk), actor=prosecutor
    )

    [(reference, event, from_executing_side, documents)] = recording.told
    assert (reference, event, from_executing_side, documents) == (
        issuing.reference,
        Event.DATA_RECEIPT_SIGNED,
        False,
        [],
    )
    assert recording.payloads[0][2] == entry.payload


def test_section_m_stays_on_the_issuing_copy_and_never_reaches_the_addressee(
    send_certificate,
):
    from mla.exchange.outbox import request_message_data

    data = {**EPOC_SUBSCRIBER_DATA, "M": {"enforcing_information": "For the enforcing authority"}}
    issuing, provided = send_certificate(eevidence.EPOC, data)

    assert issuing.data["M"] == {"enforcing_information": "For the enforcing authority"}
    assert "M" not in provided.data
    assert provided.data["F"] == issuing.data["F"]
    sent = request_message_data(request=issuing, sent_by="Paris", request_document="x.pdf")
    assert "M" not in sent["data"]
    assert sent["data"]["F"] == issuing.data["F"]


# Data produced on another node ------------------------------------------------------------


def _named(files):
    return {
        "files": [
            {
                "name": f.name,
                "sha256": hashlib.sha256(f.content).hexdigest(),
                "size": len(f.content),
            }
            for f in files
        ]
    }


@pytest.mark.parametrize(
    ("event", "payload", "named"),
    [
        (Event.EXECUTED, _named(FILES[:1]), True),
        (Event.PARTIALLY_EXECUTED, _named(FILES[:1]), True),
        (Event.ACKNOWLEDGED, _named(FILES[:1]), False),
        (Event.EXECUTED, _named(FILES[1:]), False),
        (Event.EXECUTED, {"files": [{**_named(FILES[:1])["files"][0], "size": 1}]}, False),
        (Event.EXECUTED, {"files": [{**_named(FILES[:1])["files"][0], "name": "x.csv"}]}, False),
        (Event.EXECUTED, {"files": "subscriber.csv"}, False),
        (Event.EXECUTED, None, False),
    ],
)
def test_a_file_is_produced_data_only_as_a_production_step_names_it(event, payload, named):
    produced = FILES[0]
    assert (
        produced_file_named(
            event=event, payload=payload, name=produced.name, content=produced.content
        )
        is named
    )


def test_data_produced_on_another_node_are_kept_once_on_the_epocs_copy_as_the_step_names_them(
    send_certificate, document_storage
):
    issuing, _provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    not_named = ProducedFile(name="extra.bin", content=b"\x00not named")

    for _time in range(2):  # the same step received twice
        produced_files_receive(
            request=issuing, event=Event.EXECUTED, payload=_named(FILES), files=[*FILES, not_named]
        )

    stored = {a.name: a for a in Request.objects.get(pk=issuing.pk).attachments.all()}
    assert {name: a.sha256 for name, a in stored.items()} == {
        f.name: hashlib.sha256(f.content).hexdigest() for f in FILES
    }
    assert {a.uploaded_by for a in stored.values()} == {None}
    assert stored["subscriber.csv"].media_type == "application/octet-stream"
    with stored["traffic.json"].file.open("rb") as handle:
        assert handle.read() == FILES[1].content


def test_a_preservation_order_keeps_no_produced_data(send_certificate, document_storage):
    issuing, _provided = send_certificate(eevidence.EPOC_PR)

    produced_files_receive(
        request=issuing, event=Event.EXECUTED, payload=_named(FILES), files=FILES
    )

    assert not issuing.attachments.exists()


def test_a_data_set_sent_in_parts_is_received_only_with_its_last_part(
    send_certificate, provider_staff, document_storage
):
    from mla.requests.lifecycle import counterpart

    issuing, provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    request_acknowledge(request=provided, actor=provider_staff)
    request_preserve(request=Request.objects.get(pk=provided.pk), actor=provider_staff)
    issuing = Request.objects.get(pk=issuing.pk)
    on_behalf_of = ("Pia Schulz", provided.executing_authority.name)
    first, second = FILES

    # Part 1 of 2: the file is kept and the part recorded; the data are not yet received.
    part = {"part": 1, "of": 2, **_named([first])}
    produced_files_receive(
        request=issuing, event=Event.DATA_PART_RECEIVED, payload=part, files=[first]
    )
    counterpart.issuing_follow(
        issuing=issuing,
        event=Event.DATA_PART_RECEIVED,
        payload=part,
        on_behalf_of=on_behalf_of,
        at=timezone.now(),
    )
    issuing = Request.objects.get(pk=issuing.pk)
    assert issuing.state == State.PRESERVED
    assert issuing.attachments.count() == 1

    # The production step names both files and comes with the last part only.
    whole = {**_named(FILES), "parts": 2}
    produced_files_receive(request=issuing, event=Event.EXECUTED, payload=whole, files=[second])
    counterpart.issuing_follow(
        issuing=issuing,
        event=Event.EXECUTED,
        payload=whole,
        on_behalf_of=on_behalf_of,
        at=timezone.now(),
    )
    issuing = Request.objects.get(pk=issuing.pk)
    assert issuing.state == State.EXECUTED
    assert sorted(issuing.attachments.values_list("name", flat=True)) == sorted(
        f.name for f in FILES
    )
    events = list(issuing.audit_entries.order_by("sequence").values_list("event", flat=True))
    assert events[-2:] == [Event.DATA_PART_RECEIVED, Event.EXECUTED]


def test_a_production_step_whose_parts_did_not_all_arrive_is_refused(
    send_certificate, document_storage
):
    issuing, _provided = send_certificate(eevidence.EPOC, EPOC_SUBSCRIBER_DATA)
    first, _second = FILES

    with pytest.raises(ApplicationError, match=r"traffic\.json did not arrive"):
        produced_files_receive(
            request=issuing, event=Event.EXECUTED, payload=_named(FILES), files=[first]
        )


def test_an_epoc_is_never_executed_without_its_files_by_the_eio_step(
    send_certificate, provider_staff, client
):
    issuing, provided = _preserved(send_certificate, provider_staff, data=EPOC_DATA)
    client.force_login(provider_staff)
    issuer, reference = provided.url_args

    client.post(
        f"/requests/{issuer}/{reference}/transition/execute/",
        {"expected_state": provided.state},
    )
    with pytest.raises(ApplicationError, match="with their files"):
        request_execute(request=provided, actor=provider_staff)

    assert Request.objects.get(pk=provided.pk).state == provided.state
    assert Request.objects.get(pk=issuing.pk).state == issuing.state
    assert not provided.audit_entries.filter(event=Event.EXECUTED).exists()
