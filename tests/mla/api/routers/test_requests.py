import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mla.demo.seeding import SeedPlan, requests_seed
from tests.support.api import ApiClient, api_token_for
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_list_shows_the_authoritys_requests_and_no_one_elses(
    prosecutor, eio_draft, authorities
):
    mine = ApiClient(api_token_for(prosecutor, "read")).get("/requests/")
    other = ApiClient(
        api_token_for(UserFactory(authority=authorities["paris_police"]), "read")
    ).get("/requests/")

    assert [row["reference"] for row in mine.json()["items"]] == [eio_draft.reference]
    assert mine.json()["items"][0]["state"] == "draft"
    assert other.json()["items"] == []


def test_a_request_the_user_may_not_see_does_not_exist(prosecutor, eio_draft, authorities):
    issuer, reference = eio_draft.url_args
    outsider = ApiClient(api_token_for(UserFactory(authority=authorities["paris_police"])))

    assert outsider.get(f"/requests/{issuer}/{reference}/").status_code == 404
    assert outsider.get(f"/requests/{issuer}/NOPE-1/").status_code == 404


def test_one_request_with_its_etag_timeline_and_deadlines(prosecutor, sent_eio):
    paris, _berlin = sent_eio
    issuer, reference = paris.url_args
    api = ApiClient(api_token_for(prosecutor, "read"))

    detail = api.get(f"/requests/{issuer}/{reference}/")
    timeline = api.get(f"/requests/{issuer}/{reference}/timeline/")
    deadlines = api.get(f"/requests/{issuer}/{reference}/deadlines/")

    assert detail.status_code == 200
    assert detail.json()["state"] == paris.state
    assert detail.json()["etag"] == detail["ETag"]
    assert "A" in detail.json()["data"]
    events = [entry["event"] for entry in timeline.json()["items"]]
    assert events[0] == "created"
    assert timeline.json()["total"] == len(events)
    assert deadlines.status_code == 200


# A new draft from structured JSON ---------------------------------------------------------


def _eio_body(**overrides):
    body = {
        "type": "eio",
        "executing_country": "DE",
        "executing_authority": "de-berlin",
        "data": {"G": {"facts": "The suspects recruited victims online.", "stage": "Inquiry"}},
    }
    body.update(overrides)
    return body


def test_a_draft_is_made_from_structured_json_as_the_page_makes_it(prosecutor, authorities):
    from mla.requests.models import AuditEntry, Request

    api = ApiClient(api_token_for(prosecutor, "draft", "read"))

    made = api.post("/requests/", _eio_body())

    assert made.status_code == 201, made.content
    body = made.json()
    draft = Request.objects.get(reference=body["reference"])
    assert made["Location"] == f"/api/v1/requests/fr-paris/{draft.reference}/"
    assert made["ETag"] == body["etag"]
    assert (draft.state, draft.issuing_authority, draft.executing_authority) == (
        "draft",
        authorities["paris"],
        authorities["berlin"],
    )
    assert draft.created_by == prosecutor
    assert draft.data["G"] == {
        "facts": "The suspects recruited victims online.",
        "stage": "Inquiry",
    }
    # Prefilled as the new-request page prefills it, where the data say nothing.
    assert draft.data["K"]["authority_name"] == "Parquet de Paris"
    # The language the page would choose: the first Germany accepts with a form.
    assert (draft.issuing_language, draft.executing_language) == ("en", "de")
    events = list(AuditEntry.objects.filter(request=draft).values_list("event", "payload"))
    assert events[0][0] == "created"
    assert events[1] == (
        "section_saved",
        {"section": "G", "fields": ["facts", "stage"], "version": 2},
    )
    assert api.get(body["url"].removeprefix("/api/v1")).status_code == 200


def test_the_json_downloaded_from_a_request_makes_a_draft_of_the_same_data(prosecutor, sent_eio):
    import json

    from mla.requests.models import Request

    paris, _berlin = sent_eio
    issuer, reference = paris.url_args
    api = ApiClient(api_token_for(prosecutor, "draft", "read"))
    downloaded = api.get(f"/requests/{issuer}/{reference}/document.json")

    made = api.post("/requests/", raw=downloaded.content)

    assert made.status_code == 201, made.content
    copy = Request.objects.get(reference=made.json()["reference"])
    assert copy.reference != paris.reference
    assert copy.data == json.loads(downloaded.content)["data"]
    assert copy.data_digest == paris.data_digest
    assert (copy.issuing_language, copy.executing_language) == (
        paris.issuing_language,
        paris.executing_language,
    )
    # As complete as the request it came from: it may be submitted as it is.
    assert api.get(f"/requests/{issuer}/{copy.reference}/problems/").json() == {
        "complete": True,
        "problems": [],
    }


def test_data_changed_after_the_download_are_refused_while_they_carry_its_digest(
    prosecutor, sent_eio
):
    import json

    from mla.requests.models import Request

    paris, _berlin = sent_eio
    api = ApiClient(api_token_for(prosecutor))
    document = json.loads(api.get("/requests/{}/{}/document.json".format(*paris.url_args)).content)
    document["data"]["G"]["facts"] = "Something else."
    before = Request.objects.count()

    refused = api.post("/requests/", document)
    document.pop("sha256")
    made = api.post("/requests/", document)

    assert refused.status_code == 422
    assert refused.json()["code"] == "digest_mismatch"
    assert made.status_code == 201
    assert Request.objects.count() == before + 1


def test_fields_the_declaration_does_not_have_are_refused_each_named_and_nothing_is_made(
    prosecutor,
):
    from mla.requests.models import Request

    api = ApiClient(api_token_for(prosecutor))
    data = {
        "G": {"facts": "Facts.", "motive": "Greed."},
        "E": {"persons": [{"surname": "Doe", "shoe_size": "44"}]},
        "Z": {"anything": "x"},
        "B": {"urgent": "yes"},
        "C": {"description": "x" * 20_001},
        "K": {"file_number": "one\ntwo"},
    }

    refused = api.post("/requests/", _eio_body(data=data))

    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "fields_refused"
    assert problem["detail"].startswith("No draft was made")
    assert {(error["section"], error["field"], error["code"]) for error in problem["errors"]} == {
        ("G", "motive", "unknown_field"),
        ("E", "persons.0.shoe_size", "unknown_field"),
        ("Z", "Z", "unknown_section"),
        ("B", "urgent", "wrong_type"),
        ("C", "description", "too_long"),
        ("K", "file_number", "line_break"),
    }
    assert all(error["message"] for error in problem["errors"])
    assert not Request.objects.exists()


def test_the_page_rules_of_a_new_draft_refuse_it_with_the_pages_words(
    prosecutor, authorities, countries
):
    api = ApiClient(api_token_for(prosecutor))
    police = ApiClient(
        api_token_for(UserFactory(authority=authorities["paris_police"], roles=["police"]))
    )

    no_country = api.post("/requests/", _eio_body(executing_country="XX"))
    not_there = api.post("/requests/", _eio_body(executing_authority="us-247"))
    no_type = api.post("/requests/", _eio_body(type="nothing"))
    not_an_issuer = police.post("/requests/", _eio_body())
    no_eio_to_the_us = api.post(
        "/requests/", _eio_body(executing_country="US", executing_authority=None)
    )
    no_form = api.post("/requests/", _eio_body(languages={"executing": "xx"}))

    assert (no_country.status_code, no_country.json()["detail"]) == (
        422,
        "Choose the executing country.",
    )
    assert not_there.json()["detail"] == "Choose an authority of the executing country."
    assert no_type.status_code == 422
    assert (not_an_issuer.status_code, not_an_issuer.json()["code"]) == (403, "forbidden")
    assert not_an_issuer.json()["detail"].startswith("Only a prosecutor")
    assert no_eio_to_the_us.status_code == 422
    assert (no_form.status_code, no_form.json()["code"]) == (422, "unknown_language")


def test_a_draft_needs_the_draft_scope(prosecutor):
    refused = ApiClient(api_token_for(prosecutor, "read")).post("/requests/", _eio_body())

    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")


def test_the_language_choices_of_the_json_are_recorded_as_the_request_page_records_them(
    prosecutor,
):
    from mla.requests.models import AuditEntry, Request

    api = ApiClient(api_token_for(prosecutor))

    made = api.post(
        "/requests/",
        _eio_body(
            languages={
                "issuing": "fr",
                "executing": "en",
                "translation_attached": True,
                "reason": "Agreed with Berlin by telephone.",
            }
        ),
    )

    draft = Request.objects.get(reference=made.json()["reference"])
    assert (draft.issuing_language, draft.executing_language) == ("fr", "en")
    assert draft.translation_attached is True
    assert draft.language_reason == "Agreed with Berlin by telephone."
    events = set(AuditEntry.objects.filter(request=draft).values_list("event", flat=True))
    assert {"translation_attached", "language_reason"} <= events


def test_a_language_the_executing_side_does_not_accept_is_a_problem_of_the_whole_request(
    prosecutor,
):
    api = ApiClient(api_token_for(prosecutor))
    made = api.post(
        "/requests/",
        {"type": "eio", "executing_country": "DE", "languages": {"executing": "fr"}},
    ).json()

    problems = api.get(f"/requests/{made['issuer']}/{made['reference']}/problems/").json()

    assert problems["problems"][0]["section"] == ""
    assert problems["problems"][0]["field"] == "language"
    assert problems["problems"][0]["code"] == "language_not_accepted"


@pytest.mark.parametrize("direction", ["outgoing", "incoming"])
def test_a_page_costs_the_same_queries_whatever_its_size_and_after_a_cursor(authorities, direction):
    sender, receiver = authorities["paris"], authorities["berlin"]
    user = UserFactory(authority=sender if direction == "outgoing" else receiver)
    api = ApiClient(api_token_for(user, "read"))
    plan = SeedPlan(receiver=receiver, issuers=[sender], staff=[], count=3, direction=direction)

    def page_queries(**params: str) -> tuple[int, dict]:
        with CaptureQueriesContext(connection) as captured:
            response = api.get("/requests/", direction=direction, **params)
        assert response.status_code == 200
        return len(captured.captured_queries), response.json()

    requests_seed(plan=plan)
    api.get("/requests/")  # the token's first use is recorded once
    small, _page = page_queries(limit="2")
    requests_seed(plan=SeedPlan(**{**plan.__dict__, "count": 57}))
    large, first = page_queries(limit="50")
    after, following = page_queries(limit="50", cursor=first["next_cursor"])

    assert small == large == after
    assert len(first["items"]) == 50
    assert len(following["items"]) == 10
