"""The steps' forms read what the page always read, and refuse what cannot be read with the
same messages; what the values mean is left to the services."""

import datetime

import pytest
from django.http import QueryDict

from mla.requests.lifecycle.forms import (
    AssignForm,
    ExtendPreservationForm,
    ExtendRecognitionForm,
    FollowUpForm,
    ForwardForm,
    Note,
    PostponeForm,
    RefuseForm,
    StepForm,
    SubmitForm,
)
from tests.support.factories import AuthorityFactory, UserFactory

pytestmark = pytest.mark.django_db


def _read(form_class, data, *, request, actor, step="step", note=None):
    return form_class(QueryDict(data), step=step, request=request, actor=actor, note=note)


def _arguments(form):
    """The service's arguments of a form that could be read."""
    assert form.is_valid(), form.errors
    return form.arguments()


def test_a_note_is_read_stripped_under_the_services_name(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    note = _read(
        StepForm,
        "note=+%20Which+accounts%3F+&expected_state=received",
        request=executing,
        actor=berlin_staff,
        note=Note("What information is needed", argument="question"),
    )

    assert _arguments(note) == {"question": "Which accounts?"}
    assert note.cleaned_data["expected_state"] == "received"


def test_a_missing_note_is_empty_for_the_service_to_judge(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    form = _read(StepForm, "", request=executing, actor=berlin_staff, note=Note("Note"))

    assert _arguments(form) == {"note": ""}
    assert form.cleaned_data["expected_state"] == ""


@pytest.mark.parametrize("days", ["thirty", "", "2.5", "30.0"])
@pytest.mark.parametrize("form_class", [ExtendRecognitionForm, ExtendPreservationForm])
def test_days_that_are_not_a_whole_number_are_refused(sent_eio, berlin_staff, form_class, days):
    _issuing, executing = sent_eio

    form = _read(form_class, f"days={days}&reason=x", request=executing, actor=berlin_staff)

    assert not form.is_valid()
    assert form.first_error() == "Give the number of days as a whole number."


def test_days_are_read_as_python_reads_a_whole_number(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    form = _read(
        ExtendRecognitionForm,
        "days=+15+&reason=+Many+banks+",
        request=executing,
        actor=berlin_staff,
    )

    assert _arguments(form) == {"days": 15, "reason": "Many banks"}


def test_the_recognition_extension_does_not_carry_the_state_the_page_showed(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    form = ExtendRecognitionForm(step="extend_recognition", request=executing, actor=berlin_staff)

    assert "expected_state" not in form.fields
    assert [field.name for field in form.shown_fields()] == ["days", "reason"]


def test_a_date_is_read_as_yyyy_mm_dd_or_left_to_the_service_when_empty(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    def postpone(data):
        return _read(PostponeForm, data, request=executing, actor=berlin_staff)

    good = postpone("ground=Trial&until=2027-03-01")
    empty = postpone("ground=Trial&until=")
    bad = postpone("ground=Trial&until=01/03/2027")

    assert _arguments(good) == {"ground": "Trial", "until": datetime.date(2027, 3, 1)}
    assert _arguments(empty)["until"] is None
    assert not bad.is_valid()
    assert bad.first_error() == "Give the date as YYYY-MM-DD."


def test_a_refusal_ground_is_passed_as_given_for_the_service_to_check(sent_eio, berlin_staff):
    _issuing, executing = sent_eio

    form = _read(
        RefuseForm, "ground=not_a_ground&motivation=", request=executing, actor=berlin_staff
    )

    assert _arguments(form) == {"ground": "not_a_ground", "motivation": ""}


def test_forwarding_takes_an_authority_from_the_list_only(
    sent_eio, berlin_staff, authorities, countries
):
    _issuing, executing = sent_eio
    munich = AuthorityFactory(
        identifier="de-munich", name="StA München", country=countries["DE"], instruments=["eio"]
    )

    def forward(data):
        return _read(ForwardForm, data, request=executing, actor=berlin_staff, note=Note("Note"))

    chosen = forward(f"authority={munich.identifier}&note=Competent+there")
    for refused in (forward(f"authority={authorities['paris'].identifier}"), forward("authority=")):
        assert not refused.is_valid()
        assert refused.first_error() == "Choose the competent authority from the list."
    assert _arguments(chosen) == {"to": munich, "note": "Competent there"}


def test_the_assignee_is_a_colleague_oneself_or_nobody(sent_eio, berlin_staff, authorities):
    _issuing, executing = sent_eio
    colleague = UserFactory(authority=authorities["berlin"], username="ana")
    UserFactory(authority=authorities["paris"], username="pierre")

    def assign(username):
        return _read(AssignForm, f"assignee={username}", request=executing, actor=berlin_staff)

    assert _arguments(assign("me")) == {"assignee": berlin_staff}
    assert _arguments(assign("")) == {"assignee": None}
    # Any colleague of the authority: whether they may hold it is the service's to say.
    assert _arguments(assign("ana")) == {"assignee": colleague}
    for unknown in ("pierre", "nobody"):
        form = assign(unknown)
        assert not form.is_valid()
        assert form.first_error() == "There is no colleague with that username."


def test_the_assignee_list_offers_me_once_not_also_under_my_name(
    sent_eio, berlin_staff, authorities
):
    _issuing, executing = sent_eio
    UserFactory(
        authority=authorities["berlin"],
        username="ana",
        first_name="Ana",
        last_name="Klein",
        roles=["contact_point_staff"],
    )
    executing.assignee = berlin_staff

    form = AssignForm(step="assign", request=executing, actor=berlin_staff)
    html = str(form["assignee"])

    assert '<option value="me" selected>Me</option>' in html
    assert "Kai Weber" not in html
    assert 'value="kai"' not in html
    assert '<option value="ana">Ana Klein</option>' in html
    # Posting one's own username still reads as oneself.
    assert _arguments(_read(AssignForm, "assignee=kai", request=executing, actor=berlin_staff)) == {
        "assignee": berlin_staff
    }


def test_a_follow_up_is_a_request_the_user_sees(eio_draft, prosecutor, authorities):
    stranger = UserFactory(authority=authorities["berlin"])

    mine = _read(
        FollowUpForm, f"follow_up={eio_draft.reference}", request=eio_draft, actor=prosecutor
    )
    unseen = _read(
        FollowUpForm, f"follow_up={eio_draft.reference}", request=eio_draft, actor=stranger
    )

    assert _arguments(mine) == {"follow_up": eio_draft}
    assert not unseen.is_valid()
    assert unseen.first_error() == "There is no request of yours with that reference."


def test_the_validating_authority_comes_from_the_list(
    eio_draft, prosecutor, authorities, countries
):
    judge = AuthorityFactory(
        identifier="fr-judge", name="Juge", country=countries["FR"], kind="investigating_judge"
    )

    def submit(data):
        return _read(SubmitForm, data, request=eio_draft, actor=prosecutor)

    assert _arguments(submit(f"validating_authority={judge.identifier}")) == {
        "validating_authority": judge
    }
    # None chosen: the service says whether one was needed.
    assert _arguments(submit("")) == {"validating_authority": None}
    refused = submit(f"validating_authority={authorities['berlin'].identifier}")
    assert not refused.is_valid()
    assert refused.first_error() == "Choose a validating authority from the list."


def test_the_validating_authority_is_asked_only_when_the_request_needs_validation(
    eio_draft, prosecutor
):
    form = SubmitForm(step="submit", request=eio_draft, actor=prosecutor)

    assert not eio_draft.needs_validation
    assert form.shown_fields() == []


def test_an_unbound_form_shows_the_requests_current_values(sent_eio, berlin_staff, authorities):
    _issuing, executing = sent_eio
    colleague = UserFactory(
        authority=authorities["berlin"],
        username="ana",
        first_name="Ana",
        last_name="Klein",
        roles=["contact_point_staff"],
    )
    executing.assignee = colleague

    form = AssignForm(step="assign", request=executing, actor=berlin_staff)
    html = str(form["assignee"])

    assert '<option value="ana" selected>Ana Klein</option>' in html
    assert (
        str(form["expected_state"])
        == '<input type="hidden" name="expected_state" value="received">'
    )
