"""The steps taken from a request's page: each side's, their forms read as before (the same
messages for what cannot be read), and who may not take them."""

import pytest
from django.urls import reverse

from mla.requests.models import Request
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.steps_box import next_step_box

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_of(client, prosecutor):
    client.force_login(prosecutor)
    return client


def test_submitting_from_the_page_reports_what_is_missing(client_of, eio_draft):
    response = client_of.post(
        reverse("requests:transition", args=[*eio_draft.url_args, "submit"]),
        {"expected_state": "draft"},
        follow=True,
    )

    assert "completeness check still finds" in response.content.decode()
    eio_draft.refresh_from_db()
    assert eio_draft.state == "draft"


def test_submitting_a_complete_request_from_the_page(client_of, eio_draft):
    from mla.instruments.declarations import declaration_for
    from tests.support.samples import complete_data

    eio_draft.data = complete_data(declaration_for("eio"))
    eio_draft.data.pop("L")
    eio_draft.save()

    response = client_of.post(
        reverse("requests:transition", args=[*eio_draft.url_args, "submit"]),
        {"expected_state": "draft"},
        follow=True,
    )

    eio_draft.refresh_from_db()
    assert eio_draft.state == "ready"
    page = response.content.decode()
    assert "Ready to send" in page
    assert "Submitted" in page.split("<main")[1]  # on the timeline
    assert (
        'name="action" value="save"'
        not in client_of.get(
            reverse("requests:section", args=[*eio_draft.url_args, "G"])
        ).content.decode()
    )


def test_send_from_the_page(client, ready_eio, prosecutor, berlin_staff):
    client.force_login(prosecutor)

    response = client.post(
        reverse("requests:transition", args=[*ready_eio.url_args, "send"]),
        {"expected_state": "ready"},
        follow=True,
    )

    assert "The request is now “Delivered”" in response.content.decode()


def test_an_unsent_draft_cannot_be_sent(client, eio_draft, prosecutor):
    client.force_login(prosecutor)

    response = client.post(
        reverse("requests:transition", args=[*eio_draft.url_args, "send"]),
        {"expected_state": "draft"},
        follow=True,
    )

    assert "“Draft”: you cannot send it now." in response.content.decode()


def test_the_executing_staff_acknowledge_from_the_page_and_download_annex_b(
    client, sent_eio, berlin_staff
):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)
    page = client.get(executing.get_absolute_url()).content.decode()
    assert "Acknowledge receipt" in page
    assert "received from" in page
    assert "Recognise" not in page  # not before it is acknowledged

    response = client.post(
        reverse("requests:transition", args=[*executing.url_args, "acknowledge"]),
        {"expected_state": "received", "note": "File 7 Js 12/26"},
        follow=True,
    )

    assert "The request is now “Acknowledged”" in response.content.decode()
    executing.refresh_from_db()
    assert executing.state == Request.State.ACKNOWLEDGED
    annex = client.get(reverse("requests:annex_b", args=[*executing.url_args]))
    assert annex.status_code == 200
    assert annex.content.startswith(b"%PDF")
    assert annex["Content-Disposition"].endswith('-annex-b.pdf"')


def test_a_refusal_without_motivation_is_refused_on_the_page(client, sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)

    response = client.post(
        reverse("requests:transition", args=[*executing.url_args, "refuse"]),
        {"expected_state": "received", "ground": "eio_11_1_b", "motivation": ""},
        follow=True,
    )

    assert "A refusal must be motivated in writing." in response.content.decode()
    executing.refresh_from_db()
    assert executing.state == Request.State.RECEIVED


def test_bad_numbers_and_dates_get_a_clear_message(client, sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)

    days = client.post(
        reverse("requests:transition", args=[*executing.url_args, "extend_recognition"]),
        {"days": "thirty", "reason": "x"},
        follow=True,
    )
    assert "whole number" in days.content.decode()


def test_an_auditor_reads_without_acting(client, sent_eio, authorities):
    _issuing, executing = sent_eio
    auditor = UserFactory(authority=authorities["berlin"], roles=["auditor"])
    client.force_login(auditor)

    page = client.get(executing.get_absolute_url()).content.decode()
    assert "Timeline" in page
    assert "Next step" not in page
    response = client.post(
        reverse("requests:transition", args=[*executing.url_args, "acknowledge"]),
        {"expected_state": "received"},
        follow=True,
    )

    assert "You may not acknowledge this request." in response.content.decode()
    executing.refresh_from_db()
    assert executing.state == Request.State.RECEIVED


def test_an_unknown_transition_is_404(client_of, eio_draft):
    response = client_of.post(reverse("requests:transition", args=[*eio_draft.url_args, "explode"]))

    assert response.status_code == 404


def test_outsiders_cannot_trigger_transitions(client, eio_draft):
    client.force_login(UserFactory(authority=AuthorityFactory(identifier="ro-other")))

    response = client.post(reverse("requests:transition", args=[*eio_draft.url_args, "withdraw"]))

    assert response.status_code == 404
    eio_draft.refresh_from_db()
    assert eio_draft.state == "draft"


@pytest.mark.parametrize(
    ("step", "posted", "message"),
    [
        ("postpone", {"ground": "Trial", "until": "next week"}, "Give the date as YYYY-MM-DD."),
        ("extend_recognition", {"days": "", "reason": "x"}, "whole number"),
        ("assign", {"assignee": "nobody-here"}, "There is no colleague with that username."),
        ("forward", {"authority": "999999"}, "Choose the competent authority from the list."),
    ],
)
def test_a_form_that_cannot_be_read_goes_back_to_the_page_with_why(
    client, sent_eio, berlin_staff, step, posted, message
):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)
    url = reverse("requests:transition", args=[*executing.url_args, step])
    before = executing.audit_entries.count()

    response = client.post(url, {"expected_state": "received", **posted})

    assert response.status_code == 302
    assert response["Location"] == executing.get_absolute_url()
    assert message in client.get(response["Location"]).content.decode()
    assert executing.audit_entries.count() == before
    assert Request.objects.get(pk=executing.pk).state == Request.State.RECEIVED


def test_a_validating_authority_not_on_the_list_is_refused(client_of, eio_draft, authorities):
    response = client_of.post(
        reverse("requests:transition", args=[*eio_draft.url_args, "submit"]),
        {"expected_state": "draft", "validating_authority": authorities["berlin"].identifier},
        follow=True,
    )

    assert "Choose a validating authority from the list." in response.content.decode()
    eio_draft.refresh_from_db()
    assert eio_draft.state == "draft"


def test_a_follow_up_must_be_a_request_of_yours(client, sent_eio, prosecutor):
    issuing, _executing = sent_eio
    client.force_login(prosecutor)

    response = client.post(
        reverse("requests:transition", args=[*issuing.url_args, "follow_up"]),
        {"expected_state": issuing.state, "follow_up": "XX-NONE-2026-000000"},
        follow=True,
    )

    assert "There is no request of yours with that reference." in response.content.decode()


def test_the_executing_sides_next_step_is_one_clear_action_and_the_others_each_apart(
    client, sent_eio, berlin_staff
):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)

    box = next_step_box(client.get(executing.get_absolute_url()).content.decode())

    assert box.likely == "acknowledge"
    acknowledge = box.steps["acknowledge"]
    assert acknowledge.disclosure is None
    assert acknowledge.button == "Acknowledge receipt"
    assert acknowledge.button_primary
    assert acknowledge.labels == {"id_acknowledge_note": "Other information (optional)"}
    assert "Annex B acknowledgement of receipt" in box.text  # the step's help
    assert box.primary_buttons == 1
    others = [step for name, step in box.steps.items() if name != "acknowledge"]
    assert {step.name for step in others} >= {"refuse", "forward", "request_information"}
    for step in others:
        # Each in its own disclosure, named as its button, with a label for each field.
        assert step.disclosure == step.button, step.name
        assert not step.button_primary
        assert step.controls, step.name
        assert sorted(step.labels) == sorted(step.controls), step.name
        assert all(step.labels.values()), step.name
    refuse = box.steps["refuse"]
    assert refuse.labels == {
        "id_refuse_ground": "Ground for refusal",
        "id_refuse_motivation": "Written motivation",
    }


def test_the_issuing_sides_next_step_is_one_clear_action_too(
    client, eio_draft, prosecutor, authorities
):
    from mla.instruments.declarations import declaration_for
    from tests.support.samples import complete_data

    eio_draft.data = complete_data(declaration_for("eio"))
    eio_draft.data["K"]["issuer_type"] = "other_authority"
    eio_draft.save()
    AuthorityFactory(
        identifier="fr-juge",
        name="Juge d'instruction de Paris",
        country=authorities["paris"].country,
        kind="court",
    )
    client.force_login(prosecutor)

    box = next_step_box(client.get(eio_draft.get_absolute_url()).content.decode())

    assert box.likely == "submit"
    submit = box.steps["submit"]
    assert submit.button == "Submit for validation"
    assert submit.button_primary
    assert submit.labels == {"id_validating_authority": "Validating authority"}
    assert "must validate the request before it is sent" in " ".join(submit.help)
    assert box.steps["withdraw"].disclosure == "Withdraw"
    assert box.steps["withdraw"].labels == {"id_withdraw_note": "Reason for withdrawing (optional)"}
    assert box.primary_buttons == 1


def test_with_nothing_expected_every_step_waits_in_its_disclosure(
    client, sent_eio, prosecutor, berlin_staff
):
    from mla.requests.lifecycle.executing import request_acknowledge

    issuing, executing = sent_eio
    request_acknowledge(request=executing, actor=berlin_staff)
    client.force_login(prosecutor)

    box = next_step_box(client.get(issuing.get_absolute_url()).content.decode())

    assert box.likely is None
    assert list(box.steps) == ["withdraw"]
    assert box.steps["withdraw"].disclosure == "Withdraw"
    assert box.primary_buttons == 0
    assert "Nothing is waiting for you on this request" in box.text


def test_the_forms_keep_their_addresses_and_field_names(client, sent_eio, berlin_staff):
    _issuing, executing = sent_eio
    client.force_login(berlin_staff)

    page = client.get(executing.get_absolute_url()).content.decode()

    for name in ("acknowledge", "refuse", "forward"):
        action = reverse("requests:transition", args=[*executing.url_args, name])
        assert f'action="{action}" class="step-form" data-step="{name}" id="step-{name}"' in page
    assert 'name="motivation"' in page
    assert 'name="ground"' in page
    assert 'name="expected_state" value="received"' in page
