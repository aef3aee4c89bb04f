"""Every step allowed and refused per role: who may move which copy, from its state.

The matrix checks the transitions' permissions the way the services do
(has_transition_perm: source state, guards and the user), on a request in the state each
step starts from."""

import pytest
from django_fsm import has_transition_perm

from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import request_create
from mla.requests.lifecycle.executing import (
    request_acknowledge,
    request_ask_information,
    request_preserve,
    request_recognise,
)
from mla.requests.lifecycle.issuing import request_send, request_submit
from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.samples import complete_data

ROLES = (
    "author",
    "issuer_prosecutor",
    "issuer_clerk",
    "validator",
    "receiver_cp_staff",
    "receiver_ca_staff",
    "receiver_prosecutor",
    "receiver_auditor",
    "other_cp_staff",
)


@pytest.fixture
def people(prosecutor, authorities, countries, berlin_staff):
    judge_office = AuthorityFactory(
        identifier="fr-judge", country=countries["FR"], kind="investigating_judge"
    )
    return {
        "author": prosecutor,
        "issuer_prosecutor": UserFactory(authority=authorities["paris"], roles=["prosecutor"]),
        "issuer_clerk": UserFactory(authority=authorities["paris"]),
        "validator": UserFactory(authority=judge_office, roles=["validating_authority"]),
        "receiver_cp_staff": berlin_staff,
        "receiver_ca_staff": UserFactory(
            authority=authorities["berlin"], roles=["central_authority_staff"]
        ),
        "receiver_prosecutor": UserFactory(authority=authorities["berlin"], roles=["prosecutor"]),
        "receiver_auditor": UserFactory(authority=authorities["berlin"], roles=["auditor"]),
        "other_cp_staff": UserFactory(
            authority=AuthorityFactory(country=countries["DE"], kind="point_24_7"),
            roles=["contact_point_staff"],
        ),
    }


ISSUER = {"author", "issuer_prosecutor"}
EXECUTOR = {"receiver_cp_staff", "receiver_ca_staff"}

# (copy, the state it is brought to, the step, the roles allowed to take it)
MATRIX = [
    ("issuing", "ready", "send", ISSUER),
    ("issuing", "ready", "withdraw", ISSUER),
    ("issuing", "delivered", "withdraw", ISSUER),
    ("issuing", "info_requested", "answer_information", ISSUER),
    ("issuing", "delivered", "follow_executing_side", set()),  # only the node records it
    ("executing", "received", "acknowledge", EXECUTOR),
    ("executing", "received", "refuse", EXECUTOR),
    ("executing", "received", "forward", EXECUTOR),
    ("executing", "received", "request_information", EXECUTOR),
    ("executing", "acknowledged", "assign", EXECUTOR),
    ("executing", "acknowledged", "recognise", EXECUTOR),
    ("executing", "recognised", "start_execution", EXECUTOR),
    ("executing", "recognised", "execute", EXECUTOR),
    ("executing", "recognised", "execute_partially", EXECUTOR),
    ("executing", "recognised", "postpone", EXECUTOR),
    ("executing", "info_requested", "receive_information", EXECUTOR),
    ("executing", "received", "record_withdrawal", set()),  # only the node records it
]


def _bring(sent, people, copy: str, state: str):
    issuing, executing = sent
    staff = people["receiver_cp_staff"]
    if state in ("acknowledged", "recognised"):
        request_acknowledge(request=executing, actor=staff)
    if state == "recognised":
        request_recognise(request=Request.objects.get(pk=executing.pk), actor=staff)
    if state == "info_requested":
        request_ask_information(request=executing, actor=staff, question="Which accounts?")
    return Request.objects.get(pk=(issuing if copy == "issuing" else executing).pk)


@pytest.mark.django_db
@pytest.mark.parametrize(("copy", "state", "step", "allowed"), MATRIX)
def test_who_may_take_each_step(ready_eio, prosecutor, people, copy, state, step, allowed):
    if state == "ready":
        request = Request.objects.get(pk=ready_eio.pk)
    else:
        request_send(request=ready_eio, actor=prosecutor)
        ready_eio.refresh_from_db()
        request = _bring((ready_eio, ready_eio.counterpart), people, copy, state)
    assert request.state == state

    permitted = {
        role for role in ROLES if has_transition_perm(getattr(request, step), people[role])
    }

    assert permitted == allowed


@pytest.mark.django_db
def test_validation_belongs_to_the_chosen_validating_authority_only(eio_draft, people):
    # Whatever the role, nobody validates a request not submitted for validation.
    assert not any(has_transition_perm(eio_draft.validate, people[role]) for role in ROLES)


@pytest.mark.django_db
def test_preservation_steps_belong_to_the_receiving_staff(
    prosecutor, countries, authorities, people
):
    us_staff = UserFactory(authority=authorities["us_247"], roles=["contact_point_staff"])
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
    executing = draft.counterpart
    request_acknowledge(request=executing, actor=us_staff)
    request_preserve(request=Request.objects.get(pk=executing.pk), actor=us_staff)
    executing.refresh_from_db()
    draft.refresh_from_db()

    everyone = [*people.values(), us_staff]
    assert [u for u in everyone if has_transition_perm(executing.extend_preservation, u)] == [
        us_staff
    ]
    assert [u for u in everyone if has_transition_perm(executing.end_preservation, u)] == [us_staff]
    assert {u.pk for u in everyone if has_transition_perm(draft.follow_up, u)} == {
        people[role].pk for role in ISSUER
    }
