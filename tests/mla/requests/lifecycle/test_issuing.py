import threading

import pytest
from django.db import connection

from mla.core.errors import ApplicationError
from mla.instruments.declarations import declaration_for
from mla.requests.drafting.services import RequestChanged, request_create
from mla.requests.lifecycle.issuing import (
    request_return_for_changes,
    request_submit,
    request_validate,
    request_withdraw,
)
from mla.requests.models import AuditEntry, Request
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.samples import complete_data

State = Request.State


def _complete(request, *, issuer_type="prosecutor"):
    request.data = complete_data(declaration_for("eio"))
    request.data["K"]["issuer_type"] = issuer_type
    if issuer_type == "prosecutor":
        request.data.pop("L")
    request.save()
    return request


@pytest.fixture
def judge_office(countries):
    return AuthorityFactory(
        identifier="fr-judge",
        name="Juge d'instruction de Paris",
        country=countries["FR"],
        kind="investigating_judge",
    )


@pytest.fixture
def validator(judge_office):
    return UserFactory(username="judge", authority=judge_office, roles=["validating_authority"])


@pytest.fixture
def police_draft(authorities, countries):
    officer = UserFactory(
        username="officer", authority=authorities["paris_police"], roles=["investigator"]
    )
    draft = request_create(
        actor=officer,
        declaration_code="eio",
        executing_country=countries["DE"],
        executing_authority=authorities["berlin"],
    )
    return _complete(draft, issuer_type="other_authority"), officer


@pytest.mark.django_db
def test_an_incomplete_draft_cannot_leave_draft(eio_draft, prosecutor):
    with pytest.raises(ApplicationError, match="completeness check still finds"):
        request_submit(request=eio_draft, actor=prosecutor)

    eio_draft.refresh_from_db()
    assert eio_draft.state == State.DRAFT


@pytest.mark.django_db
def test_a_complete_request_by_a_prosecutor_is_ready_without_validation(eio_draft, prosecutor):
    _complete(eio_draft)

    request_submit(request=eio_draft, actor=prosecutor, expected_state=State.DRAFT)

    eio_draft.refresh_from_db()
    assert eio_draft.state == State.READY
    entry = AuditEntry.objects.filter(request=eio_draft).last()
    assert (entry.event, entry.from_state, entry.to_state) == ("submit", "draft", "ready")


@pytest.mark.django_db
def test_a_police_eio_goes_to_the_chosen_validating_authority(
    police_draft, judge_office, validator
):
    draft, officer = police_draft
    with pytest.raises(ApplicationError, match="choose which one"):
        request_submit(request=draft, actor=officer)

    request_submit(request=draft, actor=officer, validating_authority=judge_office)
    assert draft.state == State.AWAITING_VALIDATION

    request_validate(request=draft, actor=validator, note="Proportionate and necessary.")
    draft.refresh_from_db()
    assert draft.state == State.READY
    assert [e.event for e in draft.audit_entries.all()] == ["created", "submit", "validate"]


@pytest.mark.django_db
def test_a_non_judicial_authority_cannot_be_chosen_to_validate(police_draft, authorities):
    draft, officer = police_draft

    with pytest.raises(ApplicationError, match="cannot validate"):
        request_submit(
            request=draft, actor=officer, validating_authority=authorities["paris_police"]
        )
    assert Request.objects.get(pk=draft.pk).state == State.DRAFT


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["officer", "prosecutor_elsewhere", "validator_wrong_office"])
def test_only_the_chosen_validating_authority_validates(
    police_draft, judge_office, validator, countries, who
):
    draft, officer = police_draft
    request_submit(request=draft, actor=officer, validating_authority=judge_office)
    actors = {
        "officer": officer,
        "prosecutor_elsewhere": UserFactory(roles=["prosecutor"]),
        "validator_wrong_office": UserFactory(
            roles=["validating_authority"],
            authority=AuthorityFactory(
                identifier="fr-other-judge", country=countries["FR"], kind="investigating_judge"
            ),
        ),
    }

    with pytest.raises(ApplicationError, match="You may not validate"):
        request_validate(request=draft, actor=actors[who])
    assert Request.objects.get(pk=draft.pk).state == State.AWAITING_VALIDATION


@pytest.mark.django_db
def test_returning_for_changes_needs_a_reason_and_reopens_the_draft(
    police_draft, judge_office, validator
):
    draft, officer = police_draft
    request_submit(request=draft, actor=officer, validating_authority=judge_office)

    with pytest.raises(ApplicationError, match="Say what must change"):
        request_return_for_changes(request=draft, actor=validator, note=" ")
    request_return_for_changes(request=draft, actor=validator, note="Section G is too thin.")

    draft.refresh_from_db()
    assert draft.state == State.DRAFT
    assert draft.audit_entries.last().note == "Section G is too thin."


@pytest.mark.django_db
def test_only_the_issuing_side_withdraws_and_a_withdrawn_request_stays_so(eio_draft, prosecutor):
    with pytest.raises(ApplicationError, match="You may not withdraw"):
        request_withdraw(request=eio_draft, actor=UserFactory(roles=["prosecutor"]))

    request_withdraw(request=eio_draft, actor=prosecutor, note="Case closed.")

    with pytest.raises(ApplicationError, match="you cannot submit it now"):
        request_submit(request=eio_draft, actor=prosecutor)
    assert Request.objects.get(pk=eio_draft.pk).state == State.WITHDRAWN


@pytest.mark.django_db
def test_a_stale_page_is_told_the_request_changed(eio_draft, prosecutor):
    _complete(eio_draft)
    request_submit(request=eio_draft, actor=prosecutor)

    with pytest.raises(RequestChanged, match="changed while you were looking"):
        request_withdraw(request=eio_draft, actor=prosecutor, expected_state=State.DRAFT)


@pytest.mark.django_db(transaction=True)
def test_two_users_acting_at_once_exactly_one_wins(eio_draft, prosecutor, authorities):
    _complete(eio_draft)
    colleague = UserFactory(authority=authorities["paris"], roles=["prosecutor"])
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def act(name, user, service):
        try:
            loaded = Request.objects.get(pk=eio_draft.pk)  # each user's own page load
            barrier.wait(timeout=10)
            service(request=loaded, actor=user)
            outcomes[name] = "won"
        except ApplicationError as error:
            outcomes[name] = type(error).__name__
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=("submit", prosecutor, request_submit)),
        threading.Thread(target=act, args=("withdraw", colleague, request_withdraw)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["RequestChanged", "won"]
    final = Request.objects.get(pk=eio_draft.pk)
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    assert final.state == (State.READY if winner == "submit" else State.WITHDRAWN)
    assert AuditEntry.objects.filter(request=final).exclude(event="created").count() == 1


@pytest.mark.django_db
def test_the_state_field_cannot_be_written_directly(eio_draft):
    with pytest.raises(AttributeError):
        eio_draft.state = State.READY


@pytest.mark.django_db
def test_a_request_to_validate_appears_in_the_validators_list(
    client, police_draft, judge_office, validator
):
    from django.urls import reverse

    draft, officer = police_draft
    request_submit(request=draft, actor=officer, validating_authority=judge_office)
    client.force_login(validator)

    response = client.get(reverse("requests:list"))

    assert [item.reference for item, _title in response.context["others"]] == [draft.reference]
    assert response.context["rows"] == []
