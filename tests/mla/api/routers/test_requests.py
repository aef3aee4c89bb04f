import pytest

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
