"""/api/v1/webhooks/: a user registers, reads and removes their authority's webhooks, lists
what was sent to each and sends a delivery again; a receiver on 127.0.0.1 gets the events."""

import uuid

import pytest

from mla.requests.webhook_events import request_event_announce
from mla.webhooks.kinds import EventKind
from mla.webhooks.models import Webhook, WebhookDelivery
from tests.support.api import ApiClient, api_token_for
from tests.support.webhooks import receiver_running, signature_verifies

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hooks/mla"


@pytest.fixture
def api(prosecutor):
    return ApiClient(api_token_for(prosecutor, "webhooks"))


@pytest.fixture
def berlin_api(berlin_staff):
    return ApiClient(api_token_for(berlin_staff, "webhooks"))


@pytest.fixture
def receiver():
    with receiver_running() as running:
        yield running


def _register(api, url=URL) -> dict:
    answer = api.post("/webhooks/", {"url": url})
    assert answer.status_code == 201, answer.json()
    return answer.json()


def test_a_webhook_is_registered_and_its_secret_shown_once(api, prosecutor):
    answer = api.post("/webhooks/", {"url": URL})

    assert answer.status_code == 201
    created = answer.json()
    webhook = Webhook.objects.get()
    assert created["id"] == str(webhook.public_id)
    assert created["url"] == URL
    assert created["secret"] == webhook.secret
    assert created["deliveries_url"] == f"/api/v1/webhooks/{webhook.public_id}/deliveries/"
    assert webhook.authority == prosecutor.authority
    # Never again: neither the list nor the webhook itself shows it.
    listed = api.get("/webhooks/")
    one = api.get(f"/webhooks/{created['id']}/")
    assert [item["id"] for item in listed.json()] == [created["id"]]
    assert webhook.secret not in listed.content.decode()
    assert webhook.secret not in one.content.decode()
    assert "secret" not in one.json()


def test_a_token_without_the_webhooks_scope_manages_none(prosecutor):
    reader = ApiClient(api_token_for(prosecutor, "read", "send"))

    listed = reader.get("/webhooks/")
    registered = reader.post("/webhooks/", {"url": URL})

    assert listed.status_code == 403
    assert registered.status_code == 403
    assert registered.json()["code"] == "insufficient_scope"
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("url", "code", "said"),
    [
        ("http://hooks.example.org/in", "invalid", "https://"),
        ("https://127.0.0.2/in", "address_refused", "public addresses only"),
        ("https://169.254.169.254/latest/meta-data", "address_refused", "public addresses only"),
        ("https://user:pw@127.0.0.1/in", "invalid", "user name or password"),
    ],
)
def test_a_url_the_node_may_not_reach_is_refused_with_the_service_s_reason(api, url, code, said):
    answer = api.post("/webhooks/", {"url": url})

    assert answer.status_code == 422
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == code
    assert said in answer.json()["detail"]
    assert not Webhook.objects.exists()


def test_a_body_outside_the_schema_is_refused(api):
    unknown = api.post("/webhooks/", {"url": URL, "events": ["all"]})
    too_long = api.post("/webhooks/", {"url": "https://example.org/" + "a" * 500})
    malformed = api.post("/webhooks/", raw=b"{not json")

    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid")
    assert (too_long.status_code, too_long.json()["code"]) == (422, "invalid")
    assert malformed.status_code == 400


def test_a_url_registered_twice_is_refused(api):
    _register(api)

    again = api.post("/webhooks/", {"url": URL})

    assert again.status_code == 409
    assert again.json()["code"] == "already_registered"


def test_another_authority_s_webhook_does_not_exist(api, berlin_api, eio_draft):
    created = _register(api)
    webhook_id = created["id"]

    assert berlin_api.get("/webhooks/").json() == []
    assert berlin_api.get(f"/webhooks/{webhook_id}/").status_code == 404
    assert berlin_api.get(f"/webhooks/{webhook_id}/deliveries/").status_code == 404
    assert berlin_api.send("DELETE", f"/webhooks/{webhook_id}/").status_code == 404
    delivery = _delivery_of(eio_draft)
    resend = berlin_api.post(f"/webhooks/{webhook_id}/deliveries/{delivery.public_id}/resend/")
    assert resend.status_code == 404
    assert api.get(f"/webhooks/{uuid.uuid4()}/").status_code == 404
    assert api.get("/webhooks/not-an-id/").status_code == 404
    assert Webhook.objects.count() == 1


def test_a_webhook_removed_is_gone_with_its_deliveries(api, eio_draft):
    created = _register(api)
    _delivery_of(eio_draft)

    removed = api.send("DELETE", f"/webhooks/{created['id']}/")

    assert removed.status_code == 204
    assert api.get(f"/webhooks/{created['id']}/").status_code == 404
    assert not WebhookDelivery.objects.exists()


def _delivery_of(request) -> WebhookDelivery:
    request_event_announce(request=request, kind=EventKind.STATE_CHANGED, details={"event": "x"})
    return WebhookDelivery.objects.order_by("-pk").first()


def test_deliveries_are_listed_newest_first_with_their_state_attempts_and_last_error(
    api,
    eio_draft,
    receiver,
    settings,
    tasks_in_process,
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    created = _register(api, receiver.url)
    receiver.answer(200, 503)
    with django_capture_on_commit_callbacks(execute=True):
        delivered = _delivery_of(eio_draft)
    with django_capture_on_commit_callbacks(execute=True):
        failed = _delivery_of(eio_draft)
    pending = _delivery_of(eio_draft)  # its step's commit has not handed it over yet
    path = f"/webhooks/{created['id']}/deliveries/"

    listed = api.get(path)

    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [item["id"] for item in items] == [
        str(pending.public_id),
        str(failed.public_id),
        str(delivered.public_id),
    ]
    assert [
        (item["state"], item["attempts"], item["last_status"], item["last_error"]) for item in items
    ] == [
        ("pending", 0, None, ""),
        ("failed", 1, 503, "HTTP 503 from the receiver."),
        ("delivered", 1, 200, ""),
    ]
    last = items[2]
    assert last["type"] == "request.state_changed"
    assert last["event_id"] == receiver.hits[0].event_id
    assert last["request"] == {"issuer": "fr-paris", "reference": eio_draft.reference}
    assert last["payload"] == receiver.hits[0].payload
    assert last["delivered_at"] is not None
    assert listed.json()["next_cursor"] is None

    only_failed = api.get(path, state="failed").json()["items"]
    assert [item["id"] for item in only_failed] == [str(failed.public_id)]


def test_deliveries_are_paged_with_a_keyset_cursor(api, eio_draft):
    created = _register(api)
    made = [_delivery_of(eio_draft) for _ in range(3)]
    path = f"/webhooks/{created['id']}/deliveries/"

    seen, cursor = [], ""
    for _page in range(3):
        page = api.get(path, limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert seen == [str(row.public_id) for row in reversed(made)]
    forged = api.get(path, cursor="eyJ4Ijox:forged")
    assert (forged.status_code, forged.json()["code"]) == (400, "invalid_cursor")
    assert api.get(path, limit=101).status_code == 422
    assert api.get(path, status="failed").json()["code"] == "invalid"


def test_a_failed_delivery_is_sent_again_with_the_same_event_id(
    api,
    eio_draft,
    receiver,
    settings,
    tasks_in_process,
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    created = _register(api, receiver.url)
    receiver.answer(503)
    with django_capture_on_commit_callbacks(execute=True):
        failed = _delivery_of(eio_draft)
    path = f"/webhooks/{created['id']}/deliveries/{failed.public_id}/resend/"

    with django_capture_on_commit_callbacks(execute=True):
        resent = api.post(path)

    assert resent.status_code == 202
    assert (resent.json()["state"], resent.json()["attempts"]) == ("pending", 0)
    assert [hit.status for hit in receiver.hits] == [503, 200]
    assert receiver.hits[0].event_id == receiver.hits[1].event_id
    assert signature_verifies(secret=created["secret"], hit=receiver.hits[1])
    listed = api.get(f"/webhooks/{created['id']}/deliveries/").json()["items"]
    assert (listed[0]["state"], listed[0]["attempts"]) == ("delivered", 1)


def test_a_delivery_still_being_attempted_is_not_sent_again(api, eio_draft):
    created = _register(api)
    pending = _delivery_of(eio_draft)

    again = api.post(f"/webhooks/{created['id']}/deliveries/{pending.public_id}/resend/")

    assert again.status_code == 409
    assert again.json()["code"] == "not_allowed_in_state"
    assert "still being attempted" in again.json()["detail"]
