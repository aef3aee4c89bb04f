"""Every step of a request's page through the API: the steps offered now, one operation per
step with its form's fields, the page's refusals, and sharing."""

import datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from mla.api.main import api as node_api
from mla.api.routers.steps import STEP_SCOPES, form_fields
from mla.instruments import eevidence
from mla.instruments.declarations import declaration_for
from mla.requests.events import Event
from mla.requests.lifecycle.enforcing import notifications_of
from mla.requests.lifecycle.steps import STEPS
from mla.requests.models import Request
from tests.support.api import (
    ApiClient,
    api_etag,
    api_request_path,
    api_step,
    api_token_for,
    api_upload,
)
from tests.support.certificates import FILES
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.samples import complete_data

State = Request.State
pytestmark = pytest.mark.django_db

ISSUING_SCOPES = {
    "submit": "draft",
    "validate": "send",
    "return_for_changes": "send",
    "send": "send",
    "answer_information": "send",
    "follow_up": "send",
    "answer_impossibility": "send",
    "order_extension": "send",
    "confirm_receipt": "send",
    "withdraw": "send",
}


@pytest.fixture
def complete_eio(eio_draft):
    """The Paris prosecutor's EIO to Berlin, complete, still a draft."""
    eio_draft.data = complete_data(declaration_for("eio"))
    eio_draft.data["K"]["issuer_type"] = "prosecutor"
    eio_draft.data.pop("L")
    eio_draft.save()
    return eio_draft


def _events(item: Request) -> list[str]:
    return list(item.audit_entries.order_by("pk").values_list("event", flat=True))


def _state(item: Request) -> str:
    return Request.objects.get(pk=item.pk).state


# The operations and their scopes ---------------------------------------------------------


def test_every_step_of_the_registry_has_a_scope_and_an_operation():
    paths = node_api.get_openapi_schema()["paths"]

    assert set(STEP_SCOPES) == set(STEPS)
    for name, step in STEPS.items():
        expected = ISSUING_SCOPES[name] if step.side == "issuing" else "execute"
        assert STEP_SCOPES[name] == expected, name
        operation = paths[f"/api/v1/requests/{{issuer}}/{{reference}}/steps/{name}/"]["post"]
        assert operation["operationId"] == f"step_{name}"


def test_each_operations_body_is_its_forms_fields_and_nothing_else():
    schema = node_api.get_openapi_schema()

    for name in STEPS:
        operation = schema["paths"][f"/api/v1/requests/{{issuer}}/{{reference}}/steps/{name}/"]
        content = operation["post"]["requestBody"]["content"]
        fields = {spec.name for spec in form_fields(STEPS[name])}
        if "multipart/form-data" in content:
            properties = content["multipart/form-data"]["schema"]["properties"]
        else:
            reference = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            body = schema["components"]["schemas"][reference]
            assert body["additionalProperties"] is False, name
            properties = body["properties"]
        assert set(properties) == fields, name
        assert "expected_state" not in properties


def test_the_bodies_say_what_the_forms_take():
    components = node_api.get_openapi_schema()["components"]["schemas"]

    answer = components["AnswerImpossibilityStep"]["properties"]
    assert answer["answer"]["enum"] == ["", *eevidence.ANNEX_III_ANSWERS]
    reasons = components["ReportImpossibilityStep"]["properties"]["reasons"]
    assert reasons["items"]["enum"] == list(eevidence.ANNEX_III_REASONS)
    assert components["ReportImpossibilityStep"]["properties"]["data_preserved"]["type"] == (
        "boolean"
    )
    days = components["ExtendRecognitionStep"]["properties"]["days"]
    assert (days["type"], days["minimum"], days["maximum"]) == ("integer", 1, 30)
    assert components["ExtendRecognitionStep"]["required"] == ["days"]
    # Chosen from what the request offers: a string, whose values GET …/steps/ lists.
    assignee = components["AssignStep"]["properties"]["assignee"]
    assert assignee["type"] == "string"
    assert "GET …/steps/" in assignee["description"]
    note = components["ReturnForChangesStep"]["properties"]["note"]
    assert note["maxLength"] == 20_000
    assert "asked for" in note["description"]


def test_a_step_taking_files_takes_them_as_multipart_form_data():
    paths = node_api.get_openapi_schema()["paths"]

    for name in ("produce", "produce_partially"):
        body = paths[f"/api/v1/requests/{{issuer}}/{{reference}}/steps/{name}/"]["post"]
        parts = body["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
        assert parts["produced"]["items"]["format"] == "binary"
        assert "note" in parts


# The steps offered now -------------------------------------------------------------------


def test_the_steps_offered_now_are_the_pages_with_their_fields(sent_eio, berlin_staff):
    _paris, berlin = sent_eio
    api = ApiClient(api_token_for(berlin_staff, "read"))

    response = api.get(f"{api_request_path(berlin)}steps/")

    assert response.status_code == 200
    steps = {step["name"]: step for step in response.json()}
    assert next(iter(steps)) == "acknowledge"
    assert steps["acknowledge"]["likely"] is True
    assert steps["acknowledge"]["button"] == "Acknowledge receipt"
    assert "Annex B" in steps["acknowledge"]["help"]
    assert steps["acknowledge"]["scope"] == "execute"
    assert steps["acknowledge"]["url"].endswith("/steps/acknowledge/")
    assert [field["name"] for field in steps["acknowledge"]["fields"]] == ["note"]
    refuse = {field["name"]: field for field in steps["refuse"]["fields"]}
    assert refuse["ground"]["type"] == "choice"
    assert refuse["ground"]["required"] is True
    assert len(refuse["ground"]["choices"]) > 1
    assert refuse["motivation"]["max_length"] == 20_000
    assert "assign" not in steps  # not before it is acknowledged, as on the page


def test_the_assignee_is_chosen_from_the_colleagues_the_page_lists(sent_eio, berlin_staff):
    _paris, berlin = sent_eio
    UserFactory(
        username="lena", authority=berlin.executing_authority, roles=["contact_point_staff"]
    )
    api = ApiClient(api_token_for(berlin_staff))
    api_step(api, berlin, "acknowledge")

    steps = {step["name"]: step for step in api.get(f"{api_request_path(berlin)}steps/").json()}

    (assignee,) = steps["assign"]["fields"]
    assert [choice["value"] for choice in assignee["choices"]] == ["", "me", "lena"]
    taken = api_step(api, berlin, "assign", {"assignee": "lena"})
    assert taken.status_code == 200
    assert taken.json()["assignee"] == "lena"


# The whole path of an EIO ----------------------------------------------------------------


def test_an_eio_submitted_sent_acknowledged_recognised_and_executed_through_the_api(
    complete_eio, prosecutor, berlin_staff
):
    issuing_api = ApiClient(api_token_for(prosecutor, "read", "draft", "send"))
    executing_api = ApiClient(api_token_for(berlin_staff, "read", "execute"))
    path = api_request_path(complete_eio)

    offered = issuing_api.get(f"{path}steps/").json()
    assert [step["name"] for step in offered if step["likely"]] == ["submit"]
    submitted = api_step(issuing_api, complete_eio, "submit")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["state"] == State.READY
    assert submitted["ETag"] == submitted.json()["etag"] == api_etag(issuing_api, complete_eio)

    sent = api_step(issuing_api, complete_eio, "send")
    assert sent.status_code == 200, sent.content
    complete_eio.refresh_from_db()
    berlin = complete_eio.counterpart
    assert berlin is not None
    assert berlin.state == State.RECEIVED
    assert sent.json()["state"] == complete_eio.state
    # The second user, on this node, finds the same request by the same name.
    assert executing_api.get(f"{path}steps/").json()[0]["name"] == "acknowledge"

    for step, state in (
        ("acknowledge", State.ACKNOWLEDGED),
        ("recognise", State.RECOGNISED),
        ("start_execution", State.IN_EXECUTION),
        ("execute", State.EXECUTED),
    ):
        body = {"note": "Searched on 3 March."} if step == "execute" else {}
        answer = api_step(executing_api, berlin, step, body)
        assert answer.status_code == 200, (step, answer.content)
        assert answer.json()["state"] == state
        assert _state(berlin) == state

    complete_eio.refresh_from_db()
    berlin.refresh_from_db()
    assert complete_eio.state == State.EXECUTED
    assert {Event.SUBMIT, Event.SENT} <= set(_events(complete_eio))
    executing_events = _events(berlin)
    for event in (
        Event.RECEIVED,
        Event.ACKNOWLEDGED,
        Event.RECOGNISED,
        Event.EXECUTION_STARTED,
        Event.EXECUTED,
    ):
        assert event in executing_events
    executed = berlin.audit_entries.get(event=Event.EXECUTED)
    assert executed.note == "Searched on 3 March."
    assert executed.actor_name
    deadlines = {row.code: row.state for row in berlin.deadlines.all()}
    assert deadlines["acknowledgement"] == "met"
    assert deadlines["recognition"] == "met"
    assert deadlines["execution"] == "met"
    assert {row.code: row.state for row in complete_eio.deadlines.all()}["recognition"] == "met"


# Refusals --------------------------------------------------------------------------------


def test_a_step_not_allowed_now_is_refused_409_with_the_pages_own_words(
    ready_eio, prosecutor, client
):
    api = ApiClient(api_token_for(prosecutor))

    refused = api_step(api, ready_eio, "submit")
    client.force_login(prosecutor)
    page = client.post(
        reverse("requests:transition", args=[*ready_eio.url_args, "submit"]),
        {"expected_state": ready_eio.state},
    )
    page_says = [str(message) for message in get_messages(page.wsgi_request)]

    assert refused.status_code == 409
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "not_allowed_in_state"
    assert refused.json()["detail"] == page_says[-1]
    assert _state(ready_eio) == State.READY


def test_an_incomplete_draft_is_refused_409_incomplete(eio_draft, prosecutor):
    refused = api_step(ApiClient(api_token_for(prosecutor)), eio_draft, "submit")

    assert refused.status_code == 409
    assert refused.json()["code"] == "incomplete"
    assert "completeness check" in refused.json()["detail"]


def test_someone_of_another_authority_finds_no_such_request(ready_eio, authorities):
    outsider = UserFactory(authority=authorities["paris_police"], roles=["prosecutor"])
    api = ApiClient(api_token_for(outsider))

    refused = api.post(f"{api_request_path(ready_eio)}steps/send/", {}, if_match="*")

    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found"
    assert _state(ready_eio) == State.READY


def test_a_token_without_the_steps_scope_is_refused_403(ready_eio, prosecutor):
    drafting = ApiClient(api_token_for(prosecutor, "read", "draft"))

    refused = drafting.post(f"{api_request_path(ready_eio)}steps/send/", {}, if_match="*")

    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert "send" in refused.json()["detail"]
    assert _state(ready_eio) == State.READY


def test_a_step_from_a_stale_read_is_412_and_one_without_if_match_428(ready_eio, prosecutor):
    api = ApiClient(api_token_for(prosecutor))
    stale = api_etag(api, ready_eio)
    Request.objects.get(pk=ready_eio.pk).save()  # someone saved it since

    missing = api.post(f"{api_request_path(ready_eio)}steps/send/", {})
    refused = api_step(api, ready_eio, "send", if_match=stale)

    assert missing.status_code == 428
    assert missing.json()["code"] == "precondition_required"
    assert refused.status_code == 412
    assert refused.json()["code"] == "precondition_failed"
    assert _state(ready_eio) == State.READY


def test_an_unknown_field_is_422_and_a_field_the_form_cannot_read_names_it(sent_eio, berlin_staff):
    _paris, berlin = sent_eio
    api = ApiClient(api_token_for(berlin_staff))

    unknown = api_step(api, berlin, "acknowledge", {"note": "", "expected_state": "received"})
    api_step(api, berlin, "acknowledge")
    nobody = api_step(api, berlin, "assign", {"assignee": "nobody-here"})
    wrong_type = api_step(api, berlin, "extend_recognition", {"days": "many", "reason": "x"})

    assert unknown.status_code == 422
    assert unknown.json()["code"] == "invalid"
    assert unknown.json()["errors"][0]["location"][-1] == "expected_state"
    assert nobody.status_code == 422
    assert nobody.json()["detail"] == "There is no colleague with that username."
    assert nobody.json()["errors"][0]["field"] == "assignee"
    assert wrong_type.status_code == 422
    assert _state(berlin) == State.ACKNOWLEDGED


def test_a_refusal_of_the_service_carries_its_message(ready_eio, prosecutor):
    api = ApiClient(api_token_for(prosecutor))

    refused = api_step(api, ready_eio, "follow_up", {"follow_up": "FR-NOPE-1"})

    assert refused.status_code == 422
    assert refused.json()["detail"] == "There is no request of yours with that reference."


def test_a_browser_session_sends_only_after_a_recent_sign_in(ready_eio, prosecutor):
    browser = Client()
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        browser.force_login(prosecutor)
        tag = browser.get(f"/api/v1{api_request_path(ready_eio)}")["ETag"]
        traveller.shift(datetime.timedelta(minutes=16))
        refused = browser.post(
            f"/api/v1{api_request_path(ready_eio)}steps/send/",
            data="{}",
            content_type="application/json",
            headers={"If-Match": tag},
        )
        assert _state(ready_eio) == State.READY
        # A token was made with the second factor: it is its own proof.
        sent = api_step(ApiClient(api_token_for(prosecutor)), ready_eio, "send")

    assert refused.status_code == 403
    assert refused.json()["code"] == "reauthentication_required"
    assert sent.status_code == 200


# e-Evidence: the provider's data produced as files ---------------------------------------


def test_an_epoc_sent_preserved_and_its_data_produced_as_files_then_received(
    ready_epoc, eevidence_parties, document_storage
):
    epoc = ready_epoc(categories=(eevidence.SUBSCRIBER,))
    issuing_api = ApiClient(api_token_for(eevidence_parties["prosecutor"]))
    provider_api = ApiClient(api_token_for(eevidence_parties["provider_staff"]))
    assert api_step(issuing_api, epoc, "send").status_code == 200
    epoc.refresh_from_db()
    provided = epoc.counterpart
    for step in ("acknowledge", "preserve"):
        assert api_step(provider_api, provided, step).status_code == 200
    produce = f"{api_request_path(provided)}steps/produce/"
    files = {"produced": [(item.name, item.content) for item in FILES]}

    as_json = provider_api.post(produce, {"note": "x"}, if_match=api_etag(provider_api, provided))
    unknown = api_upload(
        provider_api,
        produce,
        {"note": "", "extra": "1"},
        files,
        if_match=api_etag(provider_api, provided),
    )
    produced = api_upload(
        provider_api,
        produce,
        {"note": "Two files."},
        files,
        if_match=api_etag(provider_api, provided),
    )

    assert as_json.status_code == 415
    assert as_json.json()["code"] == "unsupported_media_type"
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == "Unknown field: extra."
    assert produced.status_code == 200, produced.content
    assert produced.json()["state"] == State.EXECUTED
    entry = provided.audit_entries.get(event=Event.EXECUTED)
    assert [item["name"] for item in entry.payload["files"]] == [item.name for item in FILES]
    assert entry.note == "Two files."
    assert {a.name for a in provided.attachments.all()} >= {item.name for item in FILES}
    assert {row.code: row.state for row in provided.deadlines.all()}["production"] == "met"

    offered = [step["name"] for step in issuing_api.get(f"{api_request_path(epoc)}steps/").json()]
    assert "confirm_receipt" in offered
    confirmed = api_step(issuing_api, epoc, "confirm_receipt")
    assert confirmed.status_code == 200, confirmed.content
    assert epoc.audit_entries.filter(event=Event.DATA_RECEIPT_SIGNED).exists()


def test_producing_without_files_gets_the_services_words(
    ready_epoc, eevidence_parties, document_storage
):
    epoc = ready_epoc(categories=(eevidence.SUBSCRIBER,))
    api_step(ApiClient(api_token_for(eevidence_parties["prosecutor"])), epoc, "send")
    epoc.refresh_from_db()
    provided = epoc.counterpart
    provider_api = ApiClient(api_token_for(eevidence_parties["provider_staff"]))
    for step in ("acknowledge", "preserve"):
        api_step(provider_api, provided, step)

    refused = api_upload(
        provider_api,
        f"{api_request_path(provided)}steps/produce/",
        {"note": ""},
        {},
        if_match=api_etag(provider_api, provided),
    )

    assert refused.status_code == 422
    assert refused.json()["detail"] == "Attach the data produced."
    assert _state(provided) == State.PRESERVED


def test_the_enforcing_authority_raises_a_ground_for_some_data_categories(
    ready_epoc, eevidence_parties
):
    epoc = ready_epoc(categories=(eevidence.TRAFFIC, eevidence.CONTENT))
    sent = api_step(ApiClient(api_token_for(eevidence_parties["prosecutor"])), epoc, "send")
    assert sent.status_code == 200, sent.content
    (notification,) = notifications_of(certificate=Request.objects.get(pk=epoc.pk))
    enforcing = notification.counterpart
    api = ApiClient(api_token_for(eevidence_parties["enforcing_staff"], "read", "execute"))
    api_step(api, enforcing, "acknowledge")

    listed = api.get(f"{api_request_path(enforcing)}steps/").json()
    offered = {step["name"]: step for step in listed}
    fields = {field["name"]: field for field in offered["raise_grounds"]["fields"]}
    raised = api_step(
        api,
        enforcing,
        "raise_grounds",
        {
            "scope": eevidence.PARTIAL,
            "ground": "immunities_privileges",
            "categories": [eevidence.CONTENT],
            "explanation": "The content is covered by a journalist's privilege.",
        },
    )

    assert [choice["value"] for choice in fields["categories"]["choices"]] == [
        eevidence.TRAFFIC,
        eevidence.CONTENT,
    ]
    assert raised.status_code == 200, raised.content
    assert raised.json()["state"] == State.GROUNDS_RAISED
    entry = enforcing.audit_entries.get(event=Event.GROUNDS_RAISED)
    assert entry.payload["categories"] == [eevidence.CONTENT]


def test_files_in_a_body_that_is_not_multipart_are_a_400_problem(sent_eio, berlin_staff):
    _paris, berlin = sent_eio
    api = ApiClient(api_token_for(berlin_staff))

    refused = api.send(
        "POST",
        f"{api_request_path(berlin)}steps/produce/",
        raw=b"--x\r\n",
        content_type="multipart/form-data",
        if_match=api_etag(api, berlin),
    )

    assert refused.status_code == 400
    assert refused.json()["code"] == "malformed"


def test_a_date_is_read_by_the_form_with_its_own_words(sent_eio, berlin_staff):
    _paris, berlin = sent_eio
    api = ApiClient(api_token_for(berlin_staff))

    impossible = api_step(api, berlin, "postpone", {"ground": "x", "until": "2026-02-30"})
    seconds = api_step(api, berlin, "postpone", {"ground": "x", "until": 0})

    assert impossible.status_code == 422
    assert impossible.json()["detail"] == "Give the date as YYYY-MM-DD."
    assert impossible.json()["errors"][0]["field"] == "until"
    assert seconds.status_code == 422
    assert seconds.json()["errors"][0]["location"][-1] == "until"


# Sharing ---------------------------------------------------------------------------------


def test_sharing_with_a_colleague_and_revoking_it(ready_eio, prosecutor, authorities):
    colleague = UserFactory(username="noe", authority=authorities["paris_police"])
    api = ApiClient(api_token_for(prosecutor, "read", "send"))
    path = api_request_path(ready_eio)

    shared = api.post(f"{path}share/", {"username": "noe"}, if_match=api_etag(api, ready_eio))
    seen = ApiClient(api_token_for(colleague, "read")).get(path)
    revoked = api.post(f"{path}revoke/", {"username": "noe"}, if_match=api_etag(api, ready_eio))

    assert shared.status_code == 200, shared.content
    assert shared.json()["users"] == [{"name": "noe", "edit": False}]
    assert seen.status_code == 200
    assert revoked.json()["users"] == []
    assert ApiClient(api_token_for(colleague, "read")).get(path).status_code == 404
    assert list(
        ready_eio.audit_entries.filter(event__in=[Event.SHARE, Event.REVOKE]).values_list(
            "event", flat=True
        )
    ) == [Event.SHARE, Event.REVOKE]


def test_sharing_is_refused_as_on_the_page(ready_eio, prosecutor, authorities):
    reader = UserFactory(username="noe", authority=authorities["paris_police"])
    api = ApiClient(api_token_for(prosecutor, "read", "send"))
    path = api_request_path(ready_eio)
    tag = api_etag(api, ready_eio)

    unknown = api.post(f"{path}share/", {"username": "nobody"}, if_match=tag)
    to_edit = api.post(f"{path}share/", {"username": "noe", "edit": True}, if_match=tag)
    without_if_match = api.post(f"{path}share/", {"username": "noe"})
    scope = ApiClient(api_token_for(prosecutor, "read")).post(
        f"{path}share/", {"username": "noe"}, if_match=tag
    )
    api.post(f"{path}share/", {"username": "noe"}, if_match=tag)
    by_the_reader = ApiClient(api_token_for(reader)).post(
        f"{path}share/", {"authority": "de-berlin"}, if_match=tag
    )

    assert unknown.status_code == 422
    assert unknown.json()["detail"] == (
        "Could not share with “nobody”: check the username with your colleague."
    )
    assert to_edit.status_code == 422
    assert to_edit.json()["detail"] == "Only a draft can be shared to edit."
    assert without_if_match.status_code == 428
    assert scope.status_code == 403
    assert by_the_reader.status_code == 403
    assert by_the_reader.json()["code"] == "forbidden"


def test_an_authority_is_chosen_by_its_directory_identifier(sent_eio, berlin_staff, countries):
    munich = AuthorityFactory(
        identifier="de-munich",
        name="Staatsanwaltschaft München",
        country=countries["DE"],
        instruments=["eio", "mla"],
        languages=["de"],
    )
    _issuing, executing = sent_eio
    api = ApiClient(api_token_for(berlin_staff, "read", "execute"))

    offered = api.get(f"{api_request_path(executing)}steps/").json()
    forward = next(step for step in offered if step["name"] == "forward")
    field = next(field for field in forward["fields"] if field["name"] == "authority")
    assert {"value": "de-munich", "label": munich.name} in field["choices"]

    refused = api_step(api, executing, "forward", {"authority": str(munich.pk)})
    assert refused.status_code == 422
    done = api_step(api, executing, "forward", {"authority": "de-munich"})
    assert done.status_code == 200, done.content
    assert Request.objects.get(pk=executing.pk).forwarded_to == munich
