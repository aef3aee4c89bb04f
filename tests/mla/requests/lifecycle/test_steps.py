"""The registry of the steps on a request's page: each side's steps in the page's order, who
may take them now, what their buttons say, and that each form gives its service exactly what
the service takes."""

import inspect

import pytest
from django.http import QueryDict

from mla.core.errors import ApplicationError
from mla.requests.lifecycle.steps import (
    EXECUTING_STEPS,
    ISSUING_STEPS,
    STEPS,
    steps_allowed,
    steps_shown,
)
from mla.requests.models import Request
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


def _names(steps):
    return [step.name for step in steps]


def test_each_side_has_its_steps_in_the_pages_order():
    assert ISSUING_STEPS == (
        "submit",
        "validate",
        "return_for_changes",
        "send",
        "answer_information",
        "follow_up",
        "answer_impossibility",
        "order_extension",
        "confirm_receipt",
        "withdraw",
    )
    assert EXECUTING_STEPS == (
        "acknowledge",
        "assign",
        "recognise",
        "preserve",
        "produce",
        "produce_partially",
        "report_impossibility",
        "start_execution",
        "execute",
        "execute_partially",
        "request_information",
        "receive_information",
        "resume",
        "extend_preservation",
        "record_follow_up",
        "end_preservation",
        "extend_recognition",
        "provisional_decision",
        "postpone",
        "forward",
        "refuse",
        # Enforcing authority (e-Evidence).
        "confirm_no_grounds",
        "raise_grounds",
    )


def test_a_step_without_its_own_rule_is_a_transition_of_the_request():
    for step in STEPS.values():
        if step.allowed is None:
            assert hasattr(getattr(Request, step.name), "_django_fsm"), step.name


@pytest.mark.parametrize("name", list(STEPS))
def test_each_form_gives_its_service_what_it_takes(eio_draft, prosecutor, name):
    step = STEPS[name]
    form = step.form_for(request=eio_draft, actor=prosecutor)
    form.cleaned_data = dict.fromkeys(form.fields)
    arguments = {**step.fixed, **form.arguments()}
    if step.checks_state:
        arguments["expected_state"] = None

    signature = inspect.signature(step.service)

    signature.bind(request=eio_draft, actor=prosecutor, **arguments)
    given = {"request", "actor", *arguments}
    required = {
        parameter.name
        for parameter in signature.parameters.values()
        if parameter.default is inspect.Parameter.empty
    }
    assert required <= given


def test_the_steps_offered_follow_the_side_and_the_person(sent_eio, prosecutor, berlin_staff):
    issuing, executing = sent_eio
    auditor = UserFactory(authority=executing.executing_authority, roles=["auditor"])

    assert _names(steps_allowed(request=issuing, user=prosecutor)) == ["withdraw"]
    assert _names(steps_allowed(request=executing, user=berlin_staff)) == [
        "acknowledge",
        "request_information",
        "extend_recognition",
        "forward",
        "refuse",
    ]
    assert steps_allowed(request=executing, user=auditor) == []
    assert steps_allowed(request=executing, user=prosecutor) == []


def test_submission_is_offered_to_the_author_of_a_draft_even_incomplete(eio_draft, prosecutor):
    assert _names(steps_allowed(request=eio_draft, user=prosecutor)) == ["submit", "withdraw"]


def test_submission_says_whether_it_goes_to_validation(eio_draft, prosecutor):
    assert STEPS["submit"].button(request=eio_draft) == "Submit: ready to send"
    eio_draft.data["K"] = {"issuer_type": "other_authority"}
    assert eio_draft.needs_validation

    [submit, _withdraw] = steps_shown(request=eio_draft, user=prosecutor)

    assert submit.button == "Submit for validation"
    assert [field.name for field in submit.form.shown_fields()] == ["validating_authority"]


def test_the_help_under_a_step_reads_as_the_request_needs(sent_eio, berlin_staff):
    issuing, executing = sent_eio

    [acknowledge, *_others] = steps_shown(request=executing, user=berlin_staff)

    assert STEPS["send"].help(request=issuing) == (
        "It goes to Staatsanwaltschaft Berlin, with its documents; the deadlines start when "
        "it is received."
    )
    assert acknowledge.button == "Acknowledge receipt"
    assert "Annex B" in acknowledge.help
    executing.instrument_code = "mla"
    assert STEPS["acknowledge"].help(request=executing) == ""


def test_a_form_that_cannot_be_read_is_refused_with_its_message(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    with pytest.raises(ApplicationError, match="whole number"):
        STEPS["extend_recognition"].take(
            request=executing, actor=berlin_staff, data=QueryDict("days=thirty&reason=x")
        )

    assert not executing.audit_entries.filter(event="recognition_extended").exists()


def test_a_step_is_taken_from_its_form(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    STEPS["acknowledge"].take(
        request=executing,
        actor=berlin_staff,
        data=QueryDict("expected_state=received&note=+File+7+Js+12%2F26+"),
    )

    executing.refresh_from_db()
    assert executing.state == Request.State.ACKNOWLEDGED
    assert executing.audit_entries.get(event="acknowledged").note == "File 7 Js 12/26"


def test_a_step_on_a_request_changed_since_the_page_was_shown_is_refused(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    with pytest.raises(ApplicationError):
        STEPS["acknowledge"].take(
            request=executing, actor=berlin_staff, data=QueryDict("expected_state=acknowledged")
        )

    executing.refresh_from_db()
    assert executing.state == Request.State.RECEIVED
