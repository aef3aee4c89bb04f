"""The path after sending: delivery on this node, the executing side's steps, both copies in
step, deadlines and notifications."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from mla.core.errors import ApplicationError
from mla.instruments.declarations import declaration_for
from mla.notifications.models import Notification
from mla.requests.access import visible_requests
from mla.requests.drafting.services import RequestChanged, request_create
from mla.requests.lifecycle.executing import (
    request_acknowledge,
    request_ask_information,
    request_assign,
    request_end_preservation,
    request_execute,
    request_extend_preservation,
    request_extend_recognition,
    request_forward,
    request_postpone,
    request_preserve,
    request_recognise,
    request_record_information,
    request_record_provisional_decision,
    request_refuse,
    request_resume,
    request_start_execution,
)
from mla.requests.lifecycle.issuing import (
    request_answer_information,
    request_follow_up,
    request_send,
    request_submit,
    request_withdraw,
)
from mla.requests.models import AuditEntry, Request
from mla.requests.selectors import request_for_user
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.samples import complete_data

State = Request.State


def _reload(*copies):
    return [Request.objects.get(pk=item.pk) for item in copies]


def _deadline(request, code):
    return request.deadlines.get(code=code)


@pytest.mark.django_db
def test_sending_to_an_authority_hosted_here_delivers_its_own_copy(
    sent_eio, prosecutor, berlin_staff, authorities
):
    issuing, executing = sent_eio

    assert issuing.state == State.DELIVERED
    assert issuing.sent_at is not None
    assert executing.direction == Request.Direction.INCOMING
    assert executing.state == State.RECEIVED
    assert executing.counterpart_id == issuing.pk
    assert executing.reference == issuing.reference
    assert executing.data == issuing.data
    assert executing.executing_authority == authorities["berlin"]
    # Each side sees its own copy, and only it.
    assert list(visible_requests(user=berlin_staff)) == [executing]
    assert (
        request_for_user(user=prosecutor, issuer="fr-paris", reference=issuing.reference) == issuing
    )
    assert (
        request_for_user(user=berlin_staff, issuer="fr-paris", reference=issuing.reference)
        == executing
    )
    assert [e.event for e in issuing.audit_entries.all()][-2:] == ["sent", "delivered"]
    received = executing.audit_entries.get()
    assert (received.event, received.actor_name, received.authority_name) == (
        "received",
        prosecutor.get_full_name(),
        "Parquet de Paris",
    )
    assert received.payload["data_sha256"] == issuing.data_digest
    # Staff of the receiving authority are told; the sender is not.
    assert Notification.objects.filter(recipient=berlin_staff, kind="request_received").exists()
    assert not Notification.objects.filter(recipient=prosecutor).exists()


@pytest.mark.django_db
def test_a_request_to_an_authority_not_on_this_node_stays_sent(ready_eio, prosecutor, authorities):
    # Nobody of Berlin works on this node: the exchange will carry it.
    request_send(request=ready_eio, actor=prosecutor)

    ready_eio.refresh_from_db()
    assert ready_eio.state == State.SENT
    assert ready_eio.counterpart is None
    assert not Request.objects.filter(direction=Request.Direction.INCOMING).exists()


@pytest.mark.django_db
def test_the_received_request_starts_its_eio_deadlines(sent_eio):
    issuing, executing = sent_eio
    received_at = executing.received_at

    acknowledgement = _deadline(executing, "acknowledgement")
    recognition = _deadline(executing, "recognition")
    assert acknowledgement.state == "running"
    assert acknowledgement.source.endswith("Art. 16(1), Annex B")
    # Berlin counts calendar days in its own zone.
    assert acknowledgement.due_at == (
        received_at.astimezone(datetime.UTC) + datetime.timedelta(days=7)
    )
    assert recognition.due_at == received_at + datetime.timedelta(days=30)
    # The issuing copy counts the same deadlines from its delivery.
    assert _deadline(issuing, "acknowledgement").due_at == acknowledgement.due_at
    # No provisional measure is asked for in this EIO: no 24-hour deadline.
    assert not executing.deadlines.filter(code="provisional_measures").exists()


@pytest.mark.django_db
def test_the_whole_executing_path_keeps_both_copies_in_step(sent_eio, berlin_staff, prosecutor):
    issuing, executing = sent_eio

    request_acknowledge(request=executing, actor=berlin_staff, expected_state=State.RECEIVED)
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.ACKNOWLEDGED, State.ACKNOWLEDGED)
    assert _deadline(executing, "acknowledgement").state == "met"
    assert _deadline(issuing, "acknowledgement").state == "met"
    assert executing.acknowledged_at is not None
    # The issuer is told, in the inbox.
    assert Notification.objects.filter(recipient=prosecutor, request=issuing).exists()

    request_assign(request=executing, actor=berlin_staff, assignee=berlin_staff)
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.ACKNOWLEDGED, State.ASSIGNED)
    assert executing.assignee == berlin_staff

    request_recognise(request=executing, actor=berlin_staff)
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.RECOGNISED, State.RECOGNISED)
    assert _deadline(executing, "recognition").state == "met"
    execution = _deadline(executing, "execution")
    assert execution.state == "running"
    assert execution.starts_at == executing.decided_at

    request_start_execution(request=executing, actor=berlin_staff)
    request_execute(request=Request.objects.get(pk=executing.pk), actor=berlin_staff, note="Done")
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.EXECUTED, State.EXECUTED)
    assert issuing.closed_at is not None
    assert executing.closed_at is not None
    assert _deadline(executing, "execution").state == "met"
    steps = [
        (e.event, e.from_state, e.to_state, e.authority_name) for e in issuing.audit_entries.all()
    ]
    assert steps[-4:] == [
        ("acknowledged", "delivered", "acknowledged", "Staatsanwaltschaft Berlin"),
        ("recognised", "acknowledged", "recognised", "Staatsanwaltschaft Berlin"),
        ("execution_started", "recognised", "in_execution", "Staatsanwaltschaft Berlin"),
        ("executed", "in_execution", "executed", "Staatsanwaltschaft Berlin"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "who", ["issuer_prosecutor", "berlin_prosecutor", "berlin_auditor", "other_staff"]
)
def test_only_executing_staff_of_the_receiving_authority_acknowledge(
    sent_eio, who, prosecutor, authorities, countries
):
    _issuing, executing = sent_eio
    users = {
        "issuer_prosecutor": prosecutor,
        "berlin_prosecutor": UserFactory(authority=authorities["berlin"], roles=["prosecutor"]),
        "berlin_auditor": UserFactory(authority=authorities["berlin"], roles=["auditor"]),
        "other_staff": UserFactory(
            authority=AuthorityFactory(country=countries["DE"], kind="point_24_7"),
            roles=["contact_point_staff"],
        ),
    }

    with pytest.raises(ApplicationError, match="You may not acknowledge this request"):
        request_acknowledge(request=executing, actor=users[who])

    assert Request.objects.get(pk=executing.pk).state == State.RECEIVED


@pytest.mark.django_db
def test_central_authority_staff_may_act_too(sent_eio, authorities):
    _issuing, executing = sent_eio
    central = UserFactory(authority=authorities["berlin"], roles=["central_authority_staff"])

    request_acknowledge(request=executing, actor=central)

    assert Request.objects.get(pk=executing.pk).state == State.ACKNOWLEDGED


@pytest.mark.django_db
def test_an_illegal_step_is_refused_with_the_state_named(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    with pytest.raises(ApplicationError, match="“Received”: you cannot recognise it now"):
        request_recognise(request=executing, actor=berlin_staff)
    request_acknowledge(request=executing, actor=berlin_staff)
    with pytest.raises(ApplicationError, match="“Acknowledged”: you cannot acknowledge it now"):
        request_acknowledge(request=executing, actor=berlin_staff)
    with pytest.raises(ApplicationError, match="you cannot mark as preserved"):
        request_preserve(request=executing, actor=berlin_staff)


@pytest.mark.django_db
def test_a_step_from_a_stale_page_is_refused(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    with pytest.raises(RequestChanged):
        request_acknowledge(
            request=executing, actor=berlin_staff, expected_state=State.ACKNOWLEDGED
        )


@pytest.mark.django_db
def test_a_refusal_needs_a_ground_of_its_instrument_and_a_motivation(sent_eio, berlin_staff):
    issuing, executing = sent_eio

    with pytest.raises(ApplicationError, match="ground for refusal"):
        request_refuse(
            request=executing, actor=berlin_staff, ground="budapest_29_5", motivation="No."
        )
    with pytest.raises(ApplicationError, match="motivated in writing"):
        request_refuse(request=executing, actor=berlin_staff, ground="eio_11_1_d", motivation=" ")

    request_refuse(
        request=executing,
        actor=berlin_staff,
        ground="eio_11_1_d",
        motivation="Final judgment in case 12/2025 for the same acts.",
    )

    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.REFUSED, State.REFUSED)
    assert executing.outcome_ground == "eio_11_1_d"
    entry = issuing.audit_entries.last()
    assert (entry.event, entry.payload, entry.note) == (
        "refused",
        {"ground": "eio_11_1_d"},
        "Final judgment in case 12/2025 for the same acts.",
    )
    # The decision meets the recognition deadline; the others no longer apply.
    assert _deadline(executing, "recognition").state == "met"
    assert _deadline(executing, "requested_date").state in ("cancelled", "missed")


@pytest.mark.django_db
def test_the_information_loop_suspends_and_resumes(sent_eio, berlin_staff, prosecutor):
    issuing, executing = sent_eio
    request_acknowledge(request=executing, actor=berlin_staff)
    executing.refresh_from_db()
    due_before = _deadline(executing, "recognition").due_at

    request_ask_information(
        request=executing, actor=berlin_staff, question="Which account numbers?"
    )
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.INFO_REQUESTED, State.INFO_REQUESTED)
    assert _deadline(executing, "recognition").state == "suspended"
    assert _deadline(executing, "acknowledgement").state == "met"

    with pytest.raises(ApplicationError, match="Write the information"):
        request_answer_information(request=issuing, actor=prosecutor, note="")
    request_answer_information(request=issuing, actor=prosecutor, note="DE89 3704 0044 0532")

    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.ACKNOWLEDGED, State.ACKNOWLEDGED)
    recognition = _deadline(executing, "recognition")
    assert recognition.state == "running"
    # The pause (here a fraction of a second) is added to the due instant.
    assert recognition.due_at > due_before
    assert recognition.due_at - due_before < datetime.timedelta(seconds=5)
    assert executing.audit_entries.last().note == "DE89 3704 0044 0532"


@pytest.mark.django_db
def test_information_arriving_by_another_channel_is_recorded_by_the_executing_side(
    sent_eio, berlin_staff
):
    issuing, executing = sent_eio
    request_ask_information(request=executing, actor=berlin_staff, question="Which accounts?")
    executing.refresh_from_db()

    request_record_information(request=executing, actor=berlin_staff, note="By phone.")

    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.DELIVERED, State.RECEIVED)


@pytest.mark.django_db
def test_postponement_needs_a_ground_and_a_date_and_resumes_where_it_was(sent_eio, berlin_staff):
    issuing, executing = sent_eio
    request_acknowledge(request=executing, actor=berlin_staff)
    request_recognise(request=Request.objects.get(pk=executing.pk), actor=berlin_staff)
    executing.refresh_from_db()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    with pytest.raises(ApplicationError, match="ground for postponing"):
        request_postpone(request=executing, actor=berlin_staff, ground="", until=tomorrow)
    with pytest.raises(ApplicationError, match="after today"):
        request_postpone(request=executing, actor=berlin_staff, ground="Domestic case", until=None)
    request_postpone(
        request=executing, actor=berlin_staff, ground="Domestic investigation", until=tomorrow
    )
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.POSTPONED, State.POSTPONED)
    assert executing.postponed_until == tomorrow
    assert _deadline(executing, "execution").state == "suspended"

    request_resume(request=executing, actor=berlin_staff)
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.RECOGNISED, State.RECOGNISED)
    assert _deadline(executing, "execution").state == "running"


@pytest.mark.django_db
def test_forwarding_to_the_competent_authority_moves_the_request_and_tells_the_issuer(
    sent_eio, berlin_staff, countries
):
    issuing, executing = sent_eio
    munich = AuthorityFactory(
        identifier="de-munich",
        name="Staatsanwaltschaft München",
        country=countries["DE"],
        kind="prosecutor",
        instruments=["eio"],
    )
    munich_staff = UserFactory(authority=munich, roles=["contact_point_staff"])
    not_receiving = AuthorityFactory(country=countries["DE"], kind="police", instruments=[])

    with pytest.raises(ApplicationError, match="does not receive"):
        request_forward(request=executing, actor=berlin_staff, to=not_receiving)
    request_forward(request=executing, actor=berlin_staff, to=munich, note="Competent for Bavaria")

    issuing, executing = _reload(issuing, executing)
    assert executing.state == State.FORWARDED
    assert executing.forwarded_to == munich
    assert executing.counterpart is None
    new_copy = Request.objects.get(executing_authority=munich, direction="incoming")
    assert new_copy.state == State.RECEIVED
    assert new_copy.counterpart == issuing
    assert issuing.counterpart == new_copy
    assert issuing.executing_authority == munich
    assert issuing.state == State.DELIVERED
    assert issuing.audit_entries.last().event == "forwarded"
    assert list(visible_requests(user=munich_staff)) == [new_copy]
    # Berlin still sees its closed copy; its deadlines no longer apply.
    assert _deadline(executing, "recognition").state == "cancelled"
    assert _deadline(new_copy, "acknowledgement").state == "running"


@pytest.mark.django_db
def test_the_recognition_deadline_is_extended_once_with_a_reason(sent_eio, berlin_staff):
    issuing, executing = sent_eio
    due = _deadline(executing, "recognition").due_at

    with pytest.raises(ApplicationError):
        request_extend_recognition(request=executing, actor=berlin_staff, days=31, reason="x")
    with pytest.raises(ApplicationError):
        request_extend_recognition(request=executing, actor=berlin_staff, days=10, reason="")
    request_extend_recognition(
        request=executing, actor=berlin_staff, days=20, reason="Translation awaited"
    )
    with pytest.raises(ApplicationError):
        request_extend_recognition(request=executing, actor=berlin_staff, days=5, reason="More")

    for copy in (executing, issuing):
        recognition = _deadline(copy, "recognition")
        assert recognition.state == "extended"
        assert recognition.extended_days == 20
        assert recognition.extension_reason == "Translation awaited"
        assert recognition.due_at == due + datetime.timedelta(days=20)
    assert issuing.audit_entries.last().event == "recognition_extended"


@pytest.mark.django_db
def test_the_provisional_measure_deadline_counts_24_hours(eio_draft, prosecutor, berlin_staff):
    eio_draft.data = complete_data(declaration_for("eio"))
    eio_draft.data["K"]["issuer_type"] = "prosecutor"
    eio_draft.data.pop("L")
    eio_draft.data["C"]["measures"] = ["provisional_measures"]
    eio_draft.save()
    request_submit(request=eio_draft, actor=prosecutor)
    request_send(request=eio_draft, actor=prosecutor)
    executing = Request.objects.get(direction="incoming", reference=eio_draft.reference)

    provisional = _deadline(executing, "provisional_measures")
    assert provisional.due_at - executing.received_at == datetime.timedelta(hours=24)
    request_record_provisional_decision(
        request=executing, actor=berlin_staff, note="Account frozen"
    )
    assert _deadline(executing, "provisional_measures").state == "met"
    assert _deadline(eio_draft, "provisional_measures").state == "met"


@pytest.mark.django_db
def test_withdrawing_a_delivered_request_closes_both_copies(sent_eio, prosecutor, berlin_staff):
    issuing, executing = sent_eio

    request_withdraw(request=issuing, actor=prosecutor, note="Case closed")

    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.WITHDRAWN, State.WITHDRAWN)
    assert executing.audit_entries.last().note == "Case closed"
    assert {d.state for d in executing.deadlines.all()} <= {"cancelled", "missed"}
    assert Notification.objects.filter(recipient=berlin_staff, request=executing).count() == 2


@pytest.fixture
def us_staff(authorities):
    return UserFactory(
        username="sam", authority=authorities["us_247"], roles=["contact_point_staff"]
    )


@pytest.fixture
def sent_preservation(prosecutor, countries, authorities, us_staff):
    draft = request_create(
        actor=prosecutor,
        declaration_code="preservation",
        executing_country=countries["US"],
        executing_authority=authorities["us_247"],
    )
    draft.data = complete_data(declaration_for("preservation"))
    draft.save()
    request_submit(request=draft, actor=prosecutor)
    request_send(request=draft, actor=prosecutor)
    draft.refresh_from_db()
    return draft, draft.counterpart


@pytest.mark.django_db
def test_a_preservation_is_preserved_extended_and_followed_up(
    sent_preservation, us_staff, prosecutor, countries, authorities
):
    issuing, executing = sent_preservation
    request_acknowledge(request=executing, actor=us_staff)
    executing.refresh_from_db()
    with pytest.raises(ApplicationError, match="you cannot recognise"):
        request_recognise(request=executing, actor=us_staff)

    request_preserve(request=executing, actor=us_staff)
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.PRESERVED, State.PRESERVED)
    period = _deadline(executing, "preservation")
    assert period.due_at == executing.decided_at + datetime.timedelta(days=60)

    request_extend_preservation(
        request=executing, actor=us_staff, days=90, reason="MLA in preparation"
    )
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.EXTENDED, State.EXTENDED)
    assert _deadline(issuing, "preservation").extended_days == 90

    follow_up = request_create(
        actor=prosecutor,
        declaration_code="mla",
        executing_country=countries["US"],
        executing_authority=authorities["us_247"],
    )
    request_follow_up(request=issuing, actor=prosecutor, follow_up=follow_up)
    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.FOLLOWED_UP, State.FOLLOWED_UP)
    assert _deadline(executing, "preservation").state == "suspended"
    assert follow_up.links_out.get().to_request == issuing


@pytest.mark.django_db
def test_a_follow_up_must_be_a_request_for_the_data_to_the_same_country(
    sent_preservation, us_staff, prosecutor, countries
):
    issuing, executing = sent_preservation
    request_acknowledge(request=executing, actor=us_staff)
    request_preserve(request=Request.objects.get(pk=executing.pk), actor=us_staff)
    issuing.refresh_from_db()
    elsewhere = request_create(
        actor=prosecutor, declaration_code="eio", executing_country=countries["DE"]
    )

    with pytest.raises(ApplicationError, match="same country"):
        request_follow_up(request=issuing, actor=prosecutor, follow_up=elsewhere)


@pytest.mark.django_db
def test_a_lapsed_preservation_is_ended_by_the_node(sent_preservation, us_staff):
    issuing, executing = sent_preservation
    request_acknowledge(request=executing, actor=us_staff)
    request_preserve(request=Request.objects.get(pk=executing.pk), actor=us_staff)
    executing.refresh_from_db()

    request_end_preservation(request=executing, actor=None, note="Period over")

    issuing, executing = _reload(issuing, executing)
    assert (issuing.state, executing.state) == (State.EXPIRED, State.EXPIRED)
    assert executing.audit_entries.last().actor_name == "system"


@pytest.mark.django_db(transaction=True)
def test_two_staff_acknowledging_at_once_one_wins(sent_eio, berlin_staff, authorities):
    _issuing, executing = sent_eio
    colleague = UserFactory(authority=authorities["berlin"], roles=["contact_point_staff"])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(user):
        try:
            copy = Request.objects.get(pk=executing.pk)
            barrier.wait()
            request_acknowledge(request=copy, actor=user, expected_state=State.RECEIVED)
            outcomes.append("won")
        except (RequestChanged, ApplicationError) as error:
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=act, args=(user,)) for user in (berlin_staff, colleague)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["RequestChanged", "won"]
    assert AuditEntry.objects.filter(request_id=executing.pk, event="acknowledged").count() == 1


@pytest.mark.django_db
def test_the_follow_up_decided_meets_the_preservation_period(
    sent_preservation, us_staff, prosecutor, countries, authorities
):
    issuing, executing = sent_preservation
    request_acknowledge(request=executing, actor=us_staff)
    request_preserve(request=Request.objects.get(pk=executing.pk), actor=us_staff)
    issuing.refresh_from_db()
    follow_up = request_create(
        actor=prosecutor,
        declaration_code="mla",
        executing_country=countries["US"],
        executing_authority=authorities["us_247"],
    )
    follow_up.data = complete_data(declaration_for("mla"))
    follow_up.save()
    request_follow_up(request=issuing, actor=prosecutor, follow_up=follow_up)
    request_submit(request=follow_up, actor=prosecutor)
    request_send(request=follow_up, actor=prosecutor)
    follow_up.refresh_from_db()
    mla_copy = follow_up.counterpart
    request_acknowledge(request=mla_copy, actor=us_staff)

    request_recognise(request=Request.objects.get(pk=mla_copy.pk), actor=us_staff)

    for copy in _reload(issuing, executing):
        assert copy.state == State.FOLLOWED_UP
        assert _deadline(copy, "preservation").state == "met"
        assert copy.audit_entries.last().event == "follow_up_decided"
