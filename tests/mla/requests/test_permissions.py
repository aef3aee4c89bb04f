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


# Every action besides the steps, against every role, on both copies -------------------
#
# Each action is run through its service (as the page, a command or the API would): a
# permitted user's action goes through, anyone else's is refused with an ApplicationError.


ACTION_ROLES = (
    "author",
    "issuer_prosecutor",
    "issuer_investigator",
    "issuer_clerk",
    "issuer_cp_staff",
    "issuer_auditor",
    "issuer_directory_admin",
    "validator",
    "share_reader",
    "share_editor",
    "share_editor_clerk",
    "receiver_cp_staff",
    "receiver_prosecutor",
    "outsider",
)

ISSUING_HOLDERS = {"author", "issuer_prosecutor", "issuer_investigator"}
EDITORS = ISSUING_HOLDERS | {"share_editor"}


@pytest.fixture
def cast(people, authorities, countries):
    """The people of the action matrix. ``shared_draft`` shares the draft to read with one
    prosecutor of another country, and to edit with another and with someone holding no
    issuing role."""
    munich = AuthorityFactory(identifier="de-munich", country=countries["DE"], kind="prosecutor")
    lyon = AuthorityFactory(identifier="fr-lyon", country=countries["FR"], kind="prosecutor")
    paris = authorities["paris"]
    cast = {
        "author": people["author"],
        "issuer_prosecutor": people["issuer_prosecutor"],
        "issuer_investigator": UserFactory(authority=paris, roles=["investigator"]),
        "issuer_clerk": people["issuer_clerk"],
        "issuer_cp_staff": UserFactory(authority=paris, roles=["contact_point_staff"]),
        "issuer_auditor": UserFactory(authority=paris, roles=["auditor"]),
        "issuer_directory_admin": UserFactory(authority=paris, roles=["directory_administrator"]),
        "validator": people["validator"],
        "share_reader": UserFactory(authority=munich, roles=["prosecutor"]),
        "share_editor": UserFactory(authority=munich, roles=["prosecutor"]),
        "share_editor_clerk": UserFactory(authority=munich, roles=["auditor"]),
        "receiver_cp_staff": people["receiver_cp_staff"],
        "receiver_prosecutor": people["receiver_prosecutor"],
        "outsider": UserFactory(authority=lyon, roles=["prosecutor"]),
    }
    return cast


@pytest.fixture
def shared_draft(eio_draft, cast, prosecutor):
    from mla.requests.access import request_share

    request_share(request=eio_draft, actor=prosecutor, user=cast["share_reader"])
    request_share(request=eio_draft, actor=prosecutor, user=cast["share_editor"], edit=True)
    request_share(request=eio_draft, actor=prosecutor, user=cast["share_editor_clerk"], edit=True)
    return Request.objects.get(pk=eio_draft.pk)


def _complete(draft):
    draft.data = complete_data(declaration_for("eio"))
    draft.data["K"]["issuer_type"] = "prosecutor"
    draft.data.pop("L")
    draft.save()
    return Request.objects.get(pk=draft.pk)


def _act(action: str, *, draft, user, cast, countries, prosecutor):
    """Run ``action`` as ``user``; return the request it was run on (for the assertions)."""
    from mla.requests.access import request_share
    from mla.requests.desk.tracker import request_chase
    from mla.requests.drafting.language import (
        request_language_reason_record,
        request_translation_attached_set,
    )
    from mla.requests.drafting.services import (
        attachment_add,
        attachment_remove,
        request_duplicate,
        request_link,
        request_save_section,
    )
    from mla.requests.lifecycle.issuing import request_withdraw

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    if action == "create":
        target = countries["DE"] if user.authority.country_id == "FR" else countries["FR"]
        request_create(actor=user, declaration_code="eio", executing_country=target)
    elif action == "duplicate":
        request_duplicate(request=draft, actor=user)
    elif action == "save_section":
        request_save_section(
            request=draft,
            actor=user,
            section_code="G",
            values={"facts": "Rewritten."},
            expected_version=draft.version,
        )
    elif action == "attach":
        attachment_add(request=draft, actor=user, name="evidence.pdf", content=pdf)
    elif action == "detach":
        attached = attachment_add(request=draft, actor=prosecutor, name="a.pdf", content=pdf)
        attachment_remove(attachment=attached, actor=user)
    elif action == "link":
        earlier = request_create(
            actor=prosecutor, declaration_code="eio", executing_country=countries["DE"]
        )
        request_share(request=earlier, actor=prosecutor, user=user)
        request_link(request=draft, target=earlier, actor=user)
    elif action == "language_reason":
        request_language_reason_record(
            request=draft, actor=user, reason="Agreed with the executing authority."
        )
    elif action == "translation_attached":
        request_translation_attached_set(request=draft, actor=user, attached=True)
    elif action == "submit":
        request_submit(request=_complete(draft), actor=user)
    elif action == "send":
        ready = request_submit(request=_complete(draft), actor=prosecutor)
        request_send(request=ready, actor=user)
    elif action == "withdraw":
        ready = request_submit(request=_complete(draft), actor=prosecutor)
        request_withdraw(request=ready, actor=user, note="No longer needed.")
    elif action == "share":
        request_share(request=draft, actor=user, user=cast["outsider"])
    elif action == "chase":
        ready = request_submit(request=_complete(draft), actor=prosecutor)
        request_send(request=ready, actor=prosecutor)
        request_chase(request=Request.objects.get(pk=draft.pk), actor=user)
    else:  # pragma: no cover - a typo in the matrix
        raise AssertionError(action)


ISSUING_ACTIONS = [
    (
        "create",
        ISSUING_HOLDERS | {"share_reader", "share_editor", "receiver_prosecutor", "outsider"},
    ),
    ("duplicate", ISSUING_HOLDERS),
    ("save_section", EDITORS),
    ("attach", EDITORS),
    ("detach", EDITORS),
    ("link", EDITORS),
    ("language_reason", EDITORS),
    ("translation_attached", EDITORS),
    ("submit", ISSUING_HOLDERS),
    ("send", ISSUING_HOLDERS),
    ("withdraw", ISSUING_HOLDERS),
    ("share", ISSUING_HOLDERS),
    ("chase", ISSUING_HOLDERS),
]


class _RolledBack(Exception):
    pass


def _permitted(action: str, *, request, cast, countries, prosecutor) -> set[str]:
    """The roles whose ``action`` on ``request`` goes through, each tried on the same
    starting point (a savepoint rolled back after each)."""
    from django.db import transaction

    from mla.core.errors import ApplicationError

    permitted = set()
    for role in ACTION_ROLES:
        try:
            with transaction.atomic():
                _act(
                    action,
                    draft=Request.objects.get(pk=request.pk),
                    user=cast[role],
                    cast=cast,
                    countries=countries,
                    prosecutor=prosecutor,
                )
                permitted.add(role)
                raise _RolledBack
        except (ApplicationError, _RolledBack):
            pass
    return permitted


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "allowed"), ISSUING_ACTIONS)
def test_who_may_take_each_action_on_the_issuing_copy(
    shared_draft, cast, countries, prosecutor, action, allowed
):
    permitted = _permitted(
        action, request=shared_draft, cast=cast, countries=countries, prosecutor=prosecutor
    )

    assert permitted == allowed


@pytest.mark.django_db
@pytest.mark.parametrize(
    "action",
    [
        "duplicate",
        "save_section",
        "attach",
        "link",
        "share",
        "language_reason",
        "translation_attached",
    ],
)
def test_nobody_drafts_on_a_received_copy(sent_eio, cast, countries, prosecutor, action):
    _issuing, received = sent_eio

    permitted = _permitted(
        action, request=received, cast=cast, countries=countries, prosecutor=prosecutor
    )

    assert permitted == set()


# A transmission by other means (Art. 19(6)), on each copy of an EPOC ------------------

OTHER_MEANS = [
    ("outgoing", ISSUING_HOLDERS),
    ("incoming", {"receiver_cp_staff"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("direction", "allowed"), OTHER_MEANS)
def test_who_may_record_a_transmission_by_other_means(
    cast, authorities, countries, direction, allowed
):
    import datetime

    from django.db import transaction

    from mla.core.errors import ApplicationError
    from mla.eevidence.services import transmission_by_other_means_record

    copy = Request.objects.create(
        reference="EPOC-2026-7",
        direction=direction,
        declaration_code="epoc",
        issuing_authority=authorities["paris"],
        issuing_country_code="FR",
        executing_authority=authorities["berlin"],
        executing_country=countries["DE"],
        state=Request.State.SENT if direction == "outgoing" else Request.State.RECEIVED,
    )
    permitted = set()
    for role in ACTION_ROLES:
        try:
            with transaction.atomic():
                transmission_by_other_means_record(
                    request=copy,
                    actor=cast[role],
                    transmitted_at=datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC),
                    place="Paris",
                    recipient="Berlin",
                    size_bytes=10,
                    item="certificate",
                )
                permitted.add(role)
                raise _RolledBack
        except (ApplicationError, _RolledBack):
            pass

    assert permitted == allowed


# Enforcing authority (e-Evidence) -------------------------------------------------------
#
# The enforcing authority's copy of a notified EPOC (Regulation (EU) 2023/1543, Art. 12) is
# decided by its own contact-point or central-authority staff only; the notification's
# issuing copy goes and is withdrawn with its EPOC, by the node.

ENFORCING_ROLES = (
    "issuer_prosecutor",
    "provider_staff",
    "enforcing_cp_staff",
    "enforcing_ca_staff",
    "enforcing_prosecutor",
    "enforcing_auditor",
    "other_executing_staff",
)
ENFORCERS = {"enforcing_cp_staff", "enforcing_ca_staff"}

# (copy, the step, the roles allowed to take it), each copy as it is once the enforcing
# authority acknowledged the notification.
ENFORCING_MATRIX = [
    ("enforcing", "confirm_no_grounds", ENFORCERS),
    ("enforcing", "raise_grounds", ENFORCERS),
    ("enforcing", "recognise", set()),
    ("enforcing", "refuse", set()),
    ("enforcing", "forward", set()),
    ("notification", "withdraw", set()),
    ("notification", "withdraw_with_certificate", set()),
    ("epoc", "refuse_on_enforcing_grounds", set()),
    ("addressee", "refuse_on_enforcing_grounds", set()),
    ("addressee", "confirm_no_grounds", set()),
    ("epoc", "withdraw", {"issuer_prosecutor"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("copy", "step", "allowed"), ENFORCING_MATRIX)
def test_who_may_take_each_enforcing_step(
    ready_epoc, eevidence_parties, berlin_staff, copy, step, allowed
):
    from mla.requests.lifecycle.enforcing import notifications_of

    enforcing_authority = eevidence_parties["enforcing"]
    people = {
        "issuer_prosecutor": eevidence_parties["prosecutor"],
        "provider_staff": eevidence_parties["provider_staff"],
        "enforcing_cp_staff": eevidence_parties["enforcing_cp_staff"],
        "enforcing_ca_staff": eevidence_parties["enforcing_staff"],
        "enforcing_prosecutor": UserFactory(authority=enforcing_authority, roles=["prosecutor"]),
        "enforcing_auditor": UserFactory(authority=enforcing_authority, roles=["auditor"]),
        "other_executing_staff": berlin_staff,
    }
    epoc = ready_epoc()
    request_send(request=epoc, actor=people["issuer_prosecutor"])
    epoc.refresh_from_db()
    (notification,) = notifications_of(certificate=epoc)
    request_acknowledge(request=notification.counterpart, actor=people["enforcing_ca_staff"])
    copies = {
        "epoc": epoc,
        "addressee": epoc.counterpart,
        "notification": notification,
        "enforcing": notification.counterpart,
    }
    request = Request.objects.get(pk=copies[copy].pk)

    permitted = {
        role
        for role in ENFORCING_ROLES
        if has_transition_perm(getattr(request, step), people[role])
    }

    assert permitted == allowed


# e-Evidence: the certificates between the issuing authority and the provider ----------
#
# The provider's copy is worked by its provider staff (and the executing staff of its
# authority); the issuing copy by the issuing roles; provider staff of another provider,
# the issuing side on the provider's copy and executing staff elsewhere take nothing.

EEVIDENCE_ROLES = (
    "author",
    "issuer_prosecutor",
    "issuer_clerk",
    "provider_staff",
    "provider_cp_staff",
    "provider_auditor",
    "other_provider_staff",
    "receiver_cp_staff",
)
PROVIDER = {"provider_staff", "provider_cp_staff"}


@pytest.fixture
def eevidence_people(people, provider, provider_staff, countries):
    other = AuthorityFactory(country=countries["DE"], kind="service_provider")
    return {
        "author": people["author"],
        "issuer_prosecutor": people["issuer_prosecutor"],
        "issuer_clerk": people["issuer_clerk"],
        "provider_staff": provider_staff,
        "provider_cp_staff": UserFactory(authority=provider, roles=["contact_point_staff"]),
        "provider_auditor": UserFactory(authority=provider, roles=["auditor"]),
        "other_provider_staff": UserFactory(authority=other, roles=["provider_staff"]),
        "receiver_cp_staff": people["receiver_cp_staff"],
    }


# (copy, certificate, the state it is brought to, the step, the roles allowed to take it)
EEVIDENCE_MATRIX = [
    ("provider", "epoc", "received", "acknowledge", PROVIDER),
    ("provider", "epoc", "received", "report_impossibility", PROVIDER),
    ("provider", "epoc", "received", "refuse", set()),  # the addressee uses Annex III
    ("provider", "epoc", "received", "forward", set()),
    ("provider", "epoc", "received", "request_information", set()),
    ("provider", "epoc", "acknowledged", "preserve", PROVIDER),
    ("provider", "epoc", "acknowledged", "recognise", set()),
    ("provider", "epoc", "acknowledged", "execute", set()),  # preserved first
    ("provider", "epoc", "preserved", "execute", PROVIDER),
    ("provider", "epoc", "preserved", "execute_partially", PROVIDER),
    ("provider", "epoc", "preserved", "report_impossibility", PROVIDER),
    ("provider", "epoc", "preserved", "end_preservation", set()),  # produced, not ended
    ("provider", "epoc", "impossible", "record_impossibility_answer", set()),  # the node
    ("provider", "epoc_pr", "acknowledged", "preserve", PROVIDER),
    ("provider", "epoc_pr", "preserved", "execute", set()),
    ("provider", "epoc_pr", "preserved", "end_preservation", PROVIDER),
    ("provider", "epoc_pr", "preserved", "extend_preservation", set()),  # Annex VI: issuer
    ("provider", "epoc_pr", "preserved", "record_follow_up", set()),  # Annex V: issuer
    ("provider", "epoc_pr", "preserved", "record_extension", set()),  # the node
    ("issuing", "epoc", "impossible", "answer_impossibility", ISSUER),
    ("issuing", "epoc", "impossible", "withdraw", ISSUER),
    ("issuing", "epoc", "preserved", "order_extension", set()),  # EPOC-PR only
    ("issuing", "epoc_pr", "preserved", "order_extension", ISSUER),
    ("issuing", "epoc_pr", "preserved", "follow_up", ISSUER),
    ("issuing", "epoc_pr", "preserved", "follow_executing_side", set()),  # the node
]


def _bring_certificate(send, people, *, copy: str, code: str, state: str) -> Request:
    from mla.requests.lifecycle.certificates import certificate_report_impossibility
    from tests.support.certificates import EPOC_SUBSCRIBER_DATA

    issuing, provided = send(code, EPOC_SUBSCRIBER_DATA if code == "epoc" else None)
    staff = people["provider_staff"]
    if state in ("acknowledged", "preserved"):
        request_acknowledge(request=provided, actor=staff)
    if state == "preserved":
        request_preserve(request=Request.objects.get(pk=provided.pk), actor=staff)
    if state == "impossible":
        certificate_report_impossibility(
            request=provided, actor=staff, reasons=["incomplete"], explanation="Section E empty."
        )
    return Request.objects.get(pk=(issuing if copy == "issuing" else provided).pk)


@pytest.mark.django_db
@pytest.mark.parametrize(("copy", "code", "state", "step", "allowed"), EEVIDENCE_MATRIX)
def test_who_may_take_each_e_evidence_step(
    send_certificate, eevidence_people, copy, code, state, step, allowed
):
    request = _bring_certificate(
        send_certificate, eevidence_people, copy=copy, code=code, state=state
    )
    assert request.state == state

    permitted = {
        role
        for role in EEVIDENCE_ROLES
        if has_transition_perm(getattr(request, step), eevidence_people[role])
    }

    assert permitted == allowed


@pytest.mark.django_db
def test_only_the_issuing_side_confirms_receipt_of_the_data(
    send_certificate, eevidence_people, document_storage
):
    from mla.core.errors import ApplicationError
    from mla.requests.lifecycle.certificates import (
        ProducedFile,
        certificate_confirm_receipt,
        certificate_produce,
    )

    provided = _bring_certificate(
        send_certificate, eevidence_people, copy="provider", code="epoc", state="preserved"
    )
    certificate_produce(
        request=provided,
        actor=eevidence_people["provider_staff"],
        files=[ProducedFile(name="a.csv", content=b"a\n")],
    )
    issuing = Request.objects.get(pk=provided.counterpart_id)
    for role in EEVIDENCE_ROLES:
        if role in ISSUER:
            continue
        with pytest.raises(ApplicationError, match="You may not confirm this request"):
            certificate_confirm_receipt(request=issuing, actor=eevidence_people[role])
    certificate_confirm_receipt(request=issuing, actor=eevidence_people["issuer_prosecutor"])
