"""A partner's key or inbox URL changed through the API under the administration's four eyes:
proposed by one directory administrator, approved or rejected by another (real gpg)."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from contact_points.models import Authority, DirectoryChange
from contact_points.services import authority_set_public_key, directory_change_propose
from mla.accounts.roles import Role
from mla.notifications.kinds import Kind
from mla.notifications.models import Notification
from tests.support.api import ApiClient, api_token_for
from tests.support.factories import AuthorityFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = DirectoryChange.Status
CHANGES = "/directory/changes/"
ONLY_ADMINISTRATORS = "Only a directory administrator may propose or decide a change"


@pytest.fixture
def point_247(openpgp_keys):
    point = AuthorityFactory(
        identifier="ro-247",
        kind="point_24_7",
        available_24_7=True,
        inbox_url="https://ro.example/exchange/inbox/",
    )
    return authority_set_public_key(authority=point, armored=openpgp_keys.valid)


@pytest.fixture
def alice():
    return UserFactory(username="alice", roles=[Role.DIRECTORY_ADMINISTRATOR])


@pytest.fixture
def bob():
    return UserFactory(username="bob", roles=[Role.DIRECTORY_ADMINISTRATOR])


def _api(user, *scopes: str) -> ApiClient:
    return ApiClient(api_token_for(user, *(scopes or ("directory",))))


def _propose_key(alice, point_247, openpgp_keys) -> DirectoryChange:
    change = directory_change_propose(
        authority=point_247,
        actor=alice,
        public_key=openpgp_keys.second_valid,
        inbox_url=point_247.inbox_url,
    )
    assert change is not None
    return change


def test_a_proposed_key_waits_for_a_second_administrator(alice, bob, point_247, openpgp_keys):
    response = _api(alice).post(
        CHANGES, {"authority": "ro-247", "public_key": openpgp_keys.second_valid}
    )

    assert response.status_code == 201
    body = response.json()
    change = DirectoryChange.objects.get(pk=body["id"])
    assert (change.status, change.proposed_by, change.origin) == (Status.PENDING, alice, "form")
    assert body["key_changes"] is True
    assert body["inbox_url_changes"] is False
    assert body["old_fingerprint"] == openpgp_keys.valid_fingerprint
    assert body["new_fingerprint"] == change.new_fingerprint != openpgp_keys.valid_fingerprint
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint
    # The other administrators are told, as for a proposal made in the administration.
    assert Notification.objects.filter(recipient=bob, kind=Kind.TRUST_CHANGE_PROPOSED).exists()
    assert not Notification.objects.filter(recipient=alice).exists()


def test_an_inbox_url_alone_keeps_the_key(alice, point_247, openpgp_keys):
    response = _api(alice).post(
        CHANGES, {"authority": "ro-247", "inbox_url": "https://ro.example/new-inbox/"}
    )

    assert response.status_code == 201
    change = DirectoryChange.objects.get()
    assert change.new_inbox_url == "https://ro.example/new-inbox/"
    assert change.new_fingerprint == change.old_fingerprint == openpgp_keys.valid_fingerprint


def test_the_proposer_may_not_approve_another_administrator_does(
    alice, bob, point_247, openpgp_keys
):
    change = _propose_key(alice, point_247, openpgp_keys)
    approve = f"{CHANGES}{change.pk}/approve/"

    own = _api(alice).post(approve)

    assert own.status_code == 403
    assert own.json()["code"] == "forbidden"
    assert "another directory administrator must approve it (four eyes)" in own.json()["detail"]
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint

    approved = _api(bob).post(approve)

    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "bob"
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == change.new_fingerprint
    again = _api(bob).post(approve)
    assert again.status_code == 409
    assert again.json()["code"] == "not_allowed_in_state"
    assert "already decided" in again.json()["detail"]


def test_a_rejected_change_leaves_the_entry(alice, bob, point_247, openpgp_keys):
    change = _propose_key(alice, point_247, openpgp_keys)

    response = _api(bob).post(f"{CHANGES}{change.pk}/reject/")

    assert response.status_code == 200
    change.refresh_from_db()
    assert (change.status, change.decided_by) == (Status.REJECTED, bob)
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint


def test_a_change_overtaken_by_the_entry_is_refused_as_stale(alice, bob, point_247, openpgp_keys):
    change = _propose_key(alice, point_247, openpgp_keys)
    Authority.objects.filter(pk=point_247.pk).update(inbox_url="https://ro.example/moved/")

    response = _api(bob).post(f"{CHANGES}{change.pk}/approve/")

    assert response.status_code == 409
    assert response.json()["code"] == "stale"
    change.refresh_from_db()
    assert change.status == Status.PENDING


def test_only_directory_administrators_with_the_scope(alice, point_247, openpgp_keys):
    change = _propose_key(alice, point_247, openpgp_keys)
    prosecutor = _api(UserFactory(roles=[Role.PROSECUTOR]))

    for response in (
        prosecutor.get(CHANGES),
        prosecutor.post(CHANGES, {"authority": "ro-247", "inbox_url": "https://x.example/in/"}),
        prosecutor.post(f"{CHANGES}{change.pk}/approve/"),
        prosecutor.post(f"{CHANGES}{change.pk}/reject/"),
        # Whatever the change named: a caller who may not decide is not told what exists.
        prosecutor.post(f"{CHANGES}999999/approve/"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"
        assert ONLY_ADMINISTRATORS in response.json()["detail"]
    reader = _api(UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR]), "read")
    assert reader.get(CHANGES).json()["code"] == "insufficient_scope"
    change.refresh_from_db()
    assert change.status == Status.PENDING
    assert DirectoryChange.objects.count() == 1


def test_the_pending_changes_newest_first_page_by_page(alice, openpgp_keys):
    start = timezone.now() - datetime.timedelta(days=1)
    for number in range(5):
        authority = AuthorityFactory(identifier=f"de-{number}")
        change = directory_change_propose(
            authority=authority,
            actor=alice,
            public_key="",
            inbox_url=f"https://de{number}.example/in/",
        )
        assert change is not None
        DirectoryChange.objects.filter(pk=change.pk).update(
            proposed_at=start + datetime.timedelta(hours=number)
        )
    DirectoryChange.objects.filter(authority__identifier="de-0").update(status=Status.REJECTED)
    api = _api(alice)

    seen: list[str] = []
    cursor = ""
    while True:
        page = api.get(CHANGES, limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [item["authority"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert seen == ["de-4", "de-3", "de-2", "de-1"]


@pytest.mark.parametrize(
    ("body", "status", "code", "detail"),
    [
        ({"authority": "ro-247", "public_key": "not a key"}, 422, "refused", "not an OpenPGP"),
        ({"authority": "ro-247", "inbox_url": "ftp://x.example/"}, 422, "refused", "URL"),
        ({"authority": "ro-247"}, 422, "invalid", "Name a new inbox URL"),
        (
            {"authority": "ro-247", "inbox_url": "https://ro.example/exchange/inbox/"},
            422,
            "unchanged",
            "nothing to approve",
        ),
        ({"authority": "nowhere", "inbox_url": "https://x.example/"}, 404, "not_found", ""),
        ({"authority": "ro-247", "inbox_url": "https://x.example/\x00"}, 422, "invalid", ""),
        ({"authority": "ro-\x00", "inbox_url": "https://x.example/"}, 422, "invalid", ""),
        ({"authority": "ro-247", "fingerprint": "AB"}, 422, "invalid", ""),
        (
            {"authority": "ro-247", "inbox_url": "https://x.example/" + "a" * 500},
            422,
            "invalid",
            "",
        ),
    ],
)
def test_a_proposal_refused_proposes_nothing(alice, point_247, body, status, code, detail):
    response = _api(alice).post(CHANGES, body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert detail in response.json()["detail"]
    assert not DirectoryChange.objects.exists()


def test_an_https_inbox_is_required_where_the_node_requires_it(alice, point_247, settings):
    settings.DIRECTORY_INBOX_URL_REQUIRE_HTTPS = True

    response = _api(alice).post(CHANGES, {"authority": "ro-247", "inbox_url": "http://x.example/"})

    assert response.status_code == 422
    assert "an inbox URL must start with https://" in response.json()["detail"]


def test_an_unknown_change_is_404(alice):
    assert _api(alice).post(f"{CHANGES}999999/approve/").status_code == 404
    assert _api(alice).post(f"{CHANGES}{2**64}/reject/").status_code == 422


def test_the_session_approves_only_after_a_recent_sign_in(
    alice, bob, point_247, openpgp_keys, settings
):
    change = _propose_key(alice, point_247, openpgp_keys)
    browser = Client()
    browser.force_login(bob)
    approve = f"/api/v1{CHANGES}{change.pk}/approve/"
    settings.REAUTHENTICATION_MAX_AGE = 0

    refused = browser.post(approve)

    assert refused.status_code == 403
    assert refused.json()["code"] == "reauthentication_required"
    change.refresh_from_db()
    assert change.status == Status.PENDING

    settings.REAUTHENTICATION_MAX_AGE = 900
    assert browser.post(approve).status_code == 200
    change.refresh_from_db()
    assert change.status == Status.APPROVED
