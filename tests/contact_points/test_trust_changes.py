"""The directory's trust anchors under four eyes: a partner's key and inbox URL change only
once a second directory administrator approves, or a pinned publisher signed the file.

Real gpg throughout (``openpgp_keys`` for partners' keys; ``publisher`` a key made here to
sign directory files).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import gnupg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import IntegrityError
from django.urls import reverse

from contact_points.directory_io import (
    DirectoryImportError,
    directory_export_json,
    directory_import,
)
from contact_points.models import Authority, DirectoryChange
from contact_points.services import (
    authority_set_public_key,
    directory_change_approve,
    directory_change_propose,
    directory_change_reject,
)
from mla.accounts.roles import Role
from mla.core.errors import ApplicationError
from tests.support.factories import AuthorityFactory, UserFactory
from tests.support.keys import gnupg_home, gnupg_homes_remove, key_generate

pytestmark = pytest.mark.django_db

Status = DirectoryChange.Status


@dataclass(frozen=True)
class Publisher:
    home: str
    fingerprint: str
    armored: str

    def sign(self, content: bytes) -> bytes:
        signed = gnupg.GPG(gnupghome=self.home).sign(
            content, detach=True, extra_args=["--local-user", self.fingerprint]
        )
        assert signed.fingerprint == self.fingerprint, signed.stderr
        return bytes(signed.data)


@pytest.fixture(scope="module")
def publisher() -> Iterator[Publisher]:
    home = gnupg_home("mlat-p")
    try:
        gpg = gnupg.GPG(gnupghome=home)
        fingerprint = key_generate(gpg, "trust-publisher")
        yield Publisher(home=home, fingerprint=fingerprint, armored=gpg.export_keys(fingerprint))
    finally:
        gnupg_homes_remove(home)


@pytest.fixture
def pinned_publisher(settings, publisher, tmp_path) -> Publisher:
    keys = tmp_path / "publishers"
    keys.mkdir()
    (keys / "publisher.asc").write_text(publisher.armored)
    settings.DIRECTORY_PUBLISHER_FINGERPRINTS = [publisher.fingerprint]
    settings.DIRECTORY_PUBLISHER_KEYS_DIR = str(keys)
    return publisher


@pytest.fixture(autouse=True)
def _no_publisher_pinned(settings):
    settings.DIRECTORY_PUBLISHER_FINGERPRINTS = []
    settings.DIRECTORY_PUBLISHER_KEYS_DIR = ""


@pytest.fixture
def point_247(openpgp_keys):
    point = AuthorityFactory(
        identifier="ro-247",
        kind="point_24_7",
        available_24_7=True,
        inbox_url="https://ro.example/exchange/inbox/",
    )
    return authority_set_public_key(authority=point, armored=openpgp_keys.valid)


def _administrator(name: str):
    return UserFactory(username=name, roles=[Role.DIRECTORY_ADMINISTRATOR])


@pytest.fixture
def alice():
    return _administrator("alice")


@pytest.fixture
def bob():
    return _administrator("bob")


def _substituted_export(openpgp_keys, *, inbox_url="https://listener.example/inbox/") -> bytes:
    """The directory as exported, with the 24/7 point's key and inbox URL substituted."""
    document = json.loads(directory_export_json())
    entry = next(a for a in document["authorities"] if a["identifier"] == "ro-247")
    entry["public_key"] = openpgp_keys.second_valid
    entry["key_fingerprint"] = ""
    entry["inbox_url"] = inbox_url
    return json.dumps(document).encode()


def _fingerprint_of(armored: str) -> str:
    home = gnupg_home("mlat-f")
    try:
        return str(gnupg.GPG(gnupghome=home).scan_keys_mem(armored)[0]["fingerprint"])
    finally:
        gnupg_homes_remove(home)


# The admin import: the command line's signature check ---------------------------------------


def test_an_unsigned_file_imported_in_the_admin_is_refused_when_publishers_are_pinned(
    client, alice, point_247, openpgp_keys, pinned_publisher
):
    client.force_login(alice)
    upload = SimpleUploadedFile("directory.json", _substituted_export(openpgp_keys))

    response = client.post(reverse("admin:contact_points_authority_import"), {"file": upload})

    assert response.status_code == 200
    assert "upload the detached signature" in response.content.decode()
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint
    assert point_247.inbox_url == "https://ro.example/exchange/inbox/"
    assert not DirectoryChange.objects.exists()


def test_a_file_signed_by_another_key_is_refused_in_the_admin(
    client, alice, point_247, openpgp_keys, pinned_publisher, publisher, settings
):
    # Signed, but the node pins another publisher.
    settings.DIRECTORY_PUBLISHER_FINGERPRINTS = ["0123456789ABCDEF0123456789ABCDEF01234567"]
    client.force_login(alice)
    data = _substituted_export(openpgp_keys)

    response = client.post(
        reverse("admin:contact_points_authority_import"),
        {
            "file": SimpleUploadedFile("directory.json", data),
            "signature": SimpleUploadedFile("directory.json.asc", publisher.sign(data)),
        },
    )

    assert response.status_code == 200
    assert "not imported" in response.content.decode()
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint


def test_a_file_signed_by_a_pinned_publisher_applies_key_changes_without_a_second_approval(
    client, alice, point_247, openpgp_keys, pinned_publisher
):
    client.force_login(alice)
    data = _substituted_export(openpgp_keys)

    response = client.post(
        reverse("admin:contact_points_authority_import"),
        {
            "file": SimpleUploadedFile("directory.json", data),
            "signature": SimpleUploadedFile("directory.json.asc", pinned_publisher.sign(data)),
        },
    )

    assert response.status_code == 302
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == _fingerprint_of(openpgp_keys.second_valid)
    assert point_247.inbox_url == "https://listener.example/inbox/"
    change = DirectoryChange.objects.get()
    assert change.status == Status.APPROVED
    assert change.origin == DirectoryChange.Origin.SIGNED_IMPORT
    assert change.publisher_fingerprint == pinned_publisher.fingerprint
    assert change.proposed_by == alice
    assert change.old_fingerprint == openpgp_keys.valid_fingerprint


def test_the_command_line_applies_a_signed_file_and_holds_an_unsigned_one(
    point_247, openpgp_keys, pinned_publisher, tmp_path
):
    data = _substituted_export(openpgp_keys)
    path = tmp_path / "directory.json"
    path.write_bytes(data)

    call_command("import_directory", str(path), "--allow-unsigned", stderr=StringIO())

    point_247.refresh_from_db()
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint
    pending = DirectoryChange.objects.get(status=Status.PENDING)
    assert pending.proposed_by is None
    assert pending.origin == DirectoryChange.Origin.IMPORT

    Path(f"{path}.asc").write_bytes(pinned_publisher.sign(data))
    call_command("import_directory", str(path), stdout=StringIO())

    point_247.refresh_from_db()
    assert point_247.key_fingerprint == _fingerprint_of(openpgp_keys.second_valid)
    pending.refresh_from_db()
    assert pending.status == Status.SUPERSEDED


def test_an_unsigned_import_proposes_key_and_inbox_changes_and_imports_the_rest(
    client, alice, point_247, openpgp_keys
):
    client.force_login(alice)
    document = json.loads(_substituted_export(openpgp_keys))
    next(a for a in document["authorities"] if a["identifier"] == "ro-247")["name"] = "Renamed"

    response = client.post(
        reverse("admin:contact_points_authority_import"),
        {"file": SimpleUploadedFile("directory.json", json.dumps(document).encode())},
    )

    assert response.status_code == 302
    point_247.refresh_from_db()
    assert point_247.name == "Renamed"
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint
    assert point_247.inbox_url == "https://ro.example/exchange/inbox/"
    change = DirectoryChange.objects.get()
    assert (change.status, change.origin, change.proposed_by) == (
        Status.PENDING,
        DirectoryChange.Origin.IMPORT,
        alice,
    )
    assert change.new_fingerprint == _fingerprint_of(openpgp_keys.second_valid)
    assert change.new_inbox_url == "https://listener.example/inbox/"


def test_a_new_entry_of_an_import_is_pinned_at_once(openpgp_keys):
    AuthorityFactory(identifier="ro-other")
    document = json.loads(directory_export_json())
    new_entry = dict(document["authorities"][0])
    new_entry.update(identifier="ro-new", public_key=openpgp_keys.valid, key_fingerprint="")
    new_entry.pop("reference_code")  # the copied entry's own: the new one derives its code
    document["authorities"].append(new_entry)

    directory_import(data=json.dumps(document).encode(), fmt="json")

    assert Authority.objects.get(identifier="ro-new").key_fingerprint == (
        openpgp_keys.valid_fingerprint
    )
    assert not DirectoryChange.objects.exists()


# Four eyes in the change form ------------------------------------------------------------------


def _change_form_data(authority, **overrides):
    data = {
        "identifier": authority.identifier,
        "name": authority.name,
        "name_local": "",
        "country": authority.country_id,
        "kind": authority.kind,
        "parent": "",
        "postal_address": "",
        "phone": "",
        "email": "",
        "time_zone": authority.time_zone,
        "office_hours": "",
        "languages": [],
        "instruments": [],
        "inbox_url": authority.inbox_url,
        "public_key": authority.public_key,
        "active": "on",
        "source": "",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_one_administrator_alone_cannot_repin_a_partner_key_or_inbox(
    client, alice, bob, point_247, openpgp_keys
):
    client.force_login(alice)
    url = reverse("admin:contact_points_authority_change", args=[point_247.pk])

    response = client.post(
        url,
        _change_form_data(
            point_247,
            public_key=openpgp_keys.second_valid,
            inbox_url="https://listener.example/inbox/",
        ),
    )

    assert response.status_code == 302
    point_247.refresh_from_db()
    # The old key and URL stay in force until a second administrator approves.
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint
    assert point_247.public_key.strip() == openpgp_keys.valid.strip()
    assert point_247.inbox_url == "https://ro.example/exchange/inbox/"
    change = DirectoryChange.objects.get(status=Status.PENDING)
    assert change.proposed_by == alice
    assert change.old_fingerprint == openpgp_keys.valid_fingerprint
    assert change.new_fingerprint == _fingerprint_of(openpgp_keys.second_valid)

    # The proposer cannot approve it, even through the approval URL.
    page = client.get(reverse("admin:contact_points_directorychange_change", args=[change.pk]))
    assert "Approve the change" not in page.content.decode()
    client.post(reverse("admin:contact_points_directorychange_approve", args=[change.pk]))
    change.refresh_from_db()
    assert change.status == Status.PENDING
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint

    # A second administrator sees both fingerprints side by side and approves.
    client.force_login(bob)
    page = client.get(reverse("admin:contact_points_directorychange_change", args=[change.pk]))
    content = page.content.decode()
    assert change.old_fingerprint_groups in content
    assert change.new_fingerprint_groups in content
    assert "Approve the change" in content
    response = client.post(
        reverse("admin:contact_points_directorychange_approve", args=[change.pk])
    )

    assert response.status_code == 302
    change.refresh_from_db()
    assert (change.status, change.decided_by) == (Status.APPROVED, bob)
    assert change.decided_at is not None
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == change.new_fingerprint
    assert point_247.inbox_url == "https://listener.example/inbox/"
    assert point_247.history.first().history_user == bob


def test_other_fields_of_the_form_are_saved_at_once(client, alice, point_247, openpgp_keys):
    client.force_login(alice)

    client.post(
        reverse("admin:contact_points_authority_change", args=[point_247.pk]),
        _change_form_data(point_247, name="New name", inbox_url="https://other.example/in/"),
    )

    point_247.refresh_from_db()
    assert point_247.name == "New name"
    assert point_247.inbox_url == "https://ro.example/exchange/inbox/"
    assert DirectoryChange.objects.get().new_inbox_url == "https://other.example/in/"


def test_the_first_key_of_an_existing_entry_is_a_change_too(client, alice, openpgp_keys):
    authority = AuthorityFactory()
    client.force_login(alice)

    client.post(
        reverse("admin:contact_points_authority_change", args=[authority.pk]),
        _change_form_data(authority, public_key=openpgp_keys.valid),
    )

    authority.refresh_from_db()
    assert authority.key_fingerprint == ""
    change = DirectoryChange.objects.get()
    assert change.new_fingerprint == openpgp_keys.valid_fingerprint
    assert change.key_changes


def test_a_new_entry_created_in_the_admin_is_pinned_at_once(client, alice, openpgp_keys):
    point = AuthorityFactory.build()
    client.force_login(alice)

    response = client.post(
        reverse("admin:contact_points_authority_add"),
        _change_form_data(
            point,
            identifier="ro-brand-new",
            country=AuthorityFactory().country_id,
            public_key=openpgp_keys.valid,
            inbox_url="https://new.example/in/",
        ),
    )

    assert response.status_code == 302
    created = Authority.objects.get(identifier="ro-brand-new")
    assert created.key_fingerprint == openpgp_keys.valid_fingerprint
    assert not DirectoryChange.objects.exists()


# The services --------------------------------------------------------------------------------


def test_only_directory_administrators_propose_and_decide(alice, point_247, openpgp_keys):
    prosecutor = UserFactory(roles=[Role.PROSECUTOR])
    with pytest.raises(ApplicationError, match="Only a directory administrator"):
        directory_change_propose(
            authority=point_247,
            actor=prosecutor,
            public_key=openpgp_keys.second_valid,
            inbox_url=point_247.inbox_url,
        )
    change = directory_change_propose(
        authority=point_247,
        actor=alice,
        public_key=openpgp_keys.second_valid,
        inbox_url=point_247.inbox_url,
    )
    assert change is not None

    with pytest.raises(ApplicationError, match="Only a directory administrator"):
        directory_change_approve(change=change, actor=prosecutor)
    with pytest.raises(ApplicationError, match="another directory administrator must approve"):
        directory_change_approve(change=change, actor=alice)
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint


def test_a_rejected_change_leaves_the_entry_and_cannot_be_approved_later(
    alice, bob, point_247, openpgp_keys
):
    change = directory_change_propose(
        authority=point_247,
        actor=alice,
        public_key=openpgp_keys.second_valid,
        inbox_url=point_247.inbox_url,
    )
    assert change is not None

    directory_change_reject(change=change, actor=bob)

    change.refresh_from_db()
    assert (change.status, change.decided_by) == (Status.REJECTED, bob)
    with pytest.raises(ApplicationError, match="already decided"):
        directory_change_approve(change=change, actor=bob)
    point_247.refresh_from_db()
    assert point_247.key_fingerprint == openpgp_keys.valid_fingerprint


def test_a_newer_proposal_supersedes_the_pending_one(alice, point_247, openpgp_keys):
    first = directory_change_propose(
        authority=point_247, actor=alice, public_key="", inbox_url="https://a.example/in/"
    )
    second = directory_change_propose(
        authority=point_247,
        actor=alice,
        public_key=point_247.public_key,
        inbox_url="https://b.example/in/",
    )

    assert first is not None
    assert second is not None
    first.refresh_from_db()
    assert first.status == Status.SUPERSEDED
    assert DirectoryChange.objects.get(status=Status.PENDING) == second


def test_a_change_proposed_before_the_entry_changed_is_not_approved(
    alice, bob, point_247, openpgp_keys
):
    change = directory_change_propose(
        authority=point_247,
        actor=alice,
        public_key=point_247.public_key,
        inbox_url="https://listener.example/in/",
    )
    assert change is not None
    # The key rotated meanwhile (by the node, or a signed directory).
    authority_set_public_key(authority=point_247, armored=openpgp_keys.second_valid)

    with pytest.raises(ApplicationError, match="has changed since"):
        directory_change_approve(change=change, actor=bob)
    point_247.refresh_from_db()
    assert point_247.inbox_url == "https://ro.example/exchange/inbox/"
    assert point_247.public_key.strip() == openpgp_keys.second_valid.strip()


# One key for one active authority ------------------------------------------------------------


def test_one_fingerprint_is_never_pinned_for_two_active_authorities(
    client, alice, bob, point_247, openpgp_keys
):
    other = AuthorityFactory(identifier="ro-other")

    with pytest.raises(ApplicationError, match="already pinned for"):
        authority_set_public_key(authority=other, armored=openpgp_keys.valid)
    with pytest.raises(ApplicationError, match="already pinned for"):
        directory_change_propose(
            authority=other, actor=alice, public_key=openpgp_keys.valid, inbox_url=""
        )
    client.force_login(alice)
    response = client.post(
        reverse("admin:contact_points_authority_change", args=[other.pk]),
        _change_form_data(other, public_key=openpgp_keys.valid),
    )
    assert "already pinned for" in response.context["adminform"].form.errors["public_key"][0]
    document = json.loads(directory_export_json())
    entry = next(a for a in document["authorities"] if a["identifier"] == "ro-other")
    entry["public_key"] = openpgp_keys.valid
    with pytest.raises(DirectoryImportError, match="pinned for ro-247"):
        directory_import(data=json.dumps(document).encode(), fmt="json")
    # And the database itself refuses it.
    with pytest.raises(IntegrityError):
        Authority.objects.filter(pk=other.pk).update(key_fingerprint=openpgp_keys.valid_fingerprint)


def test_an_inactive_entry_may_keep_the_key_of_its_successor(point_247, openpgp_keys):
    retired = AuthorityFactory(identifier="ro-retired", active=False)

    authority_set_public_key(authority=retired, armored=openpgp_keys.valid)

    assert retired.key_fingerprint == point_247.key_fingerprint


def test_the_key_is_checked_again_when_the_change_is_approved(alice, bob, point_247, openpgp_keys):
    other = AuthorityFactory(identifier="ro-other")
    change = directory_change_propose(
        authority=other, actor=alice, public_key=openpgp_keys.second_valid, inbox_url=""
    )
    assert change is not None
    authority_set_public_key(authority=point_247, armored=openpgp_keys.second_valid)

    with pytest.raises(ApplicationError, match="already pinned for"):
        directory_change_approve(change=change, actor=bob)


# Inbox URLs are https in production ----------------------------------------------------------


def test_inbox_urls_must_be_https_when_the_setting_says_so(client, alice, point_247, settings):
    settings.DIRECTORY_INBOX_URL_REQUIRE_HTTPS = True
    with pytest.raises(ApplicationError, match="must start with https://"):
        directory_change_propose(
            authority=point_247,
            actor=alice,
            public_key=point_247.public_key,
            inbox_url="http://listener.example/in/",
        )
    client.force_login(alice)
    response = client.post(
        reverse("admin:contact_points_authority_change", args=[point_247.pk]),
        _change_form_data(point_247, inbox_url="http://listener.example/in/"),
    )
    assert "must start with https://" in response.context["adminform"].form.errors["inbox_url"][0]
    document = json.loads(directory_export_json())
    document["authorities"][0]["inbox_url"] = "http://listener.example/in/"
    with pytest.raises(DirectoryImportError, match="must start with https://"):
        directory_import(data=json.dumps(document).encode(), fmt="json")

    settings.DIRECTORY_INBOX_URL_REQUIRE_HTTPS = False
    assert directory_change_propose(
        authority=point_247,
        actor=alice,
        public_key=point_247.public_key,
        inbox_url="http://127.0.0.1:8001/exchange/inbox/",
    )


def test_saving_the_form_with_the_key_as_a_browser_sends_it_proposes_nothing(
    client, alice, point_247
):
    client.force_login(alice)

    response = client.post(
        reverse("admin:contact_points_authority_change", args=[point_247.pk]),
        _change_form_data(
            point_247, name="Renamed", public_key=point_247.public_key.replace("\n", "\r\n")
        ),
    )

    assert response.status_code == 302
    point_247.refresh_from_db()
    assert point_247.name == "Renamed"
    assert not DirectoryChange.objects.exists()


def test_reverting_an_entry_to_an_old_version_does_not_restore_its_old_key(
    client, alice, point_247, openpgp_keys
):
    old_version = point_247.history.first()
    authority_set_public_key(authority=point_247, armored=openpgp_keys.second_valid)
    client.force_login(alice)

    # The history's "revert" form, built from the old version, as the browser posts it.
    client.post(
        reverse(
            "admin:contact_points_authority_simple_history",
            args=[point_247.pk, old_version.history_id],
        ),
        _change_form_data(old_version.instance),
    )

    point_247.refresh_from_db()
    assert point_247.key_fingerprint == _fingerprint_of(openpgp_keys.second_valid)
    change = DirectoryChange.objects.get(status=Status.PENDING)
    assert change.new_fingerprint == openpgp_keys.valid_fingerprint


def test_approving_a_key_change_after_15_minutes_asks_for_the_password_first(
    client, alice, bob, point_247, openpgp_keys
):
    import datetime

    import time_machine

    from tests.support.factories import TEST_PASSWORD

    change = directory_change_propose(
        authority=point_247,
        actor=alice,
        public_key=openpgp_keys.second_valid,
        inbox_url=point_247.inbox_url,
    )
    assert change is not None
    page = reverse("admin:contact_points_directorychange_change", args=[change.pk])
    approve = reverse("admin:contact_points_directorychange_approve", args=[change.pk])
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(bob)
        traveller.shift(datetime.timedelta(minutes=16))

        refused = client.post(approve)
        change.refresh_from_db()
        assert change.status == DirectoryChange.Status.PENDING
        assert refused["Location"].startswith(reverse("accounts:reauthenticate"))

        back = client.post(refused["Location"], {"password": TEST_PASSWORD, "next": page})
        assert back["Location"] == page
        client.post(approve)

    change.refresh_from_db()
    assert (change.status, change.decided_by) == (DirectoryChange.Status.APPROVED, bob)
