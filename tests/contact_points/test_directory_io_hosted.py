"""An imported directory never changes the entry of an authority this node hosts."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from contact_points.directory_io import (
    DirectoryImportError,
    directory_export_csv,
    directory_export_json,
    directory_import,
)
from contact_points.models import Authority, DirectoryChange
from mla.accounts.roles import Role
from mla.openpgp.homes import hosted_keyring
from tests.support.factories import UserFactory
from tests.support.keys import key_generate, pinned_authority

pytestmark = pytest.mark.django_db

OUR_INBOX = "https://ours.example/exchange/inbox/"
IMPOSTOR_INBOX = "https://impostor.example/exchange/inbox/"


@pytest.fixture
def ours(fresh_homes) -> Authority:
    """An authority hosted here: its key pair made by node_keys, its inbox URL ours."""
    authority = pinned_authority("ro-ours", name="Our office", inbox_url=OUR_INBOX)
    call_command("node_keys", "create", "ro-ours")
    authority.refresh_from_db()
    return authority


def _partner_directory(exchange_keys, **our_entry: object) -> dict:
    """This node's export as a partner's publisher would hand it back: our entry changed as
    ``our_entry`` says, and one new entry of the partner's."""
    document = json.loads(directory_export_json())
    (entry,) = [e for e in document["authorities"] if e["identifier"] == "ro-ours"]
    entry.update(our_entry)
    partner = {**entry, "identifier": "cc-partner", "name": "Partner office"}
    partner.update(
        reference_code="",
        inbox_url="https://partner.example/exchange/inbox/",
        public_key=exchange_keys.armored[exchange_keys.partner],
        key_fingerprint=exchange_keys.partner,
        active=True,
    )
    document["authorities"].append(partner)
    return document


def _impostor_changes(exchange_keys) -> dict:
    return {
        "name": "Renamed by the publisher",
        "inbox_url": IMPOSTOR_INBOX,
        "public_key": exchange_keys.armored[exchange_keys.recipient],
        "key_fingerprint": exchange_keys.recipient,
    }


def test_an_unsigned_import_keeps_our_key_and_inbox_reports_the_conflict_and_imports_the_rest(
    ours, exchange_keys, tmp_path, capsys
):
    pinned = ours.key_fingerprint
    path = tmp_path / "directory.json"
    path.write_text(
        json.dumps(_partner_directory(exchange_keys, **_impostor_changes(exchange_keys)))
    )

    call_command("import_directory", str(path))
    output = capsys.readouterr().out

    ours.refresh_from_db()
    assert ours.key_fingerprint == pinned
    assert ours.inbox_url == OUR_INBOX
    # The whole entry is this node's: its description stays too.
    assert ours.name == "Our office"
    # Nothing waits for a second administrator's approval either.
    assert not DirectoryChange.objects.filter(authority=ours).exists()
    partner = Authority.objects.get(identifier="cc-partner")
    assert partner.key_fingerprint == exchange_keys.partner
    assert "Authorities: 1 created, 0 updated, 0 unchanged." in output
    assert "1 entries of authorities hosted on this node left as this node has them." in output
    assert f"ro-ours is hosted on this node: its inbox URL stays {OUR_INBOX}; " in output
    assert f"the file gives {IMPOSTOR_INBOX}." in output
    assert DirectoryChange.grouped(exchange_keys.recipient) in output
    assert DirectoryChange.grouped(pinned) in output
    # The node still signs as its authority.
    call_command("node_keys", "export", "ro-ours")
    assert capsys.readouterr().out.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    call_command("node_keys", "rotate", "ro-ours")


def test_a_signed_import_keeps_our_entry_too(ours, exchange_keys):
    pinned = ours.key_fingerprint
    document = _partner_directory(exchange_keys, **_impostor_changes(exchange_keys), active=False)

    report = directory_import(data=json.dumps(document).encode(), fmt="json", signed_by="A" * 40)

    ours.refresh_from_db()
    assert (ours.key_fingerprint, ours.inbox_url, ours.active) == (pinned, OUR_INBOX, True)
    assert [(c.identifier, c.field) for c in report.conflicts] == [
        ("ro-ours", "inbox URL"),
        ("ro-ours", "key fingerprint"),
        ("ro-ours", "status"),
    ]
    assert report.created == 1
    assert report.trust_applied == 0
    assert not DirectoryChange.objects.filter(authority=ours).exists()


def test_an_entry_that_matches_ours_is_kept_without_a_conflict(ours, exchange_keys):
    report = directory_import(
        data=json.dumps(_partner_directory(exchange_keys)).encode(), fmt="json"
    )

    assert report.hosted_kept == 1
    assert report.conflicts == []
    assert "conflicts" not in str(report)


def test_a_csv_row_cannot_move_our_inbox(ours):
    exported = directory_export_csv().replace(OUR_INBOX, IMPOSTOR_INBOX)

    report = directory_import(data=exported.encode(), fmt="csv")

    ours.refresh_from_db()
    assert ours.inbox_url == OUR_INBOX
    assert [(c.field, c.ours, c.theirs) for c in report.conflicts] == [
        ("inbox URL", OUR_INBOX, IMPOSTOR_INBOX)
    ]


def test_our_entry_is_kept_even_once_its_pin_was_overwritten(ours, exchange_keys):
    """The key pair made for it names the authority: a broken pin is not taken as consent."""
    Authority.objects.filter(pk=ours.pk).update(
        public_key="", key_fingerprint="", inbox_url=OUR_INBOX
    )
    document = _partner_directory(exchange_keys, **_impostor_changes(exchange_keys))

    report = directory_import(data=json.dumps(document).encode(), fmt="json")

    ours.refresh_from_db()
    assert (ours.key_fingerprint, ours.inbox_url) == ("", OUR_INBOX)
    assert {c.field for c in report.conflicts} == {"inbox URL", "key fingerprint"}


def test_a_file_cannot_pin_our_key_for_another_entry(ours, exchange_keys):
    document = _partner_directory(exchange_keys)
    (partner,) = [e for e in document["authorities"] if e["identifier"] == "cc-partner"]
    partner["public_key"] = ours.public_key
    partner["key_fingerprint"] = ours.key_fingerprint

    with pytest.raises(DirectoryImportError, match="pinned for ro-ours"):
        directory_import(data=json.dumps(document).encode(), fmt="json")

    assert not Authority.objects.filter(identifier="cc-partner").exists()


def test_the_admin_import_page_shows_each_conflict_as_a_warning(ours, exchange_keys, client):
    client.force_login(UserFactory(roles=[Role.DIRECTORY_ADMINISTRATOR]))
    document = _partner_directory(exchange_keys, inbox_url=IMPOSTOR_INBOX)
    upload = SimpleUploadedFile("directory.json", json.dumps(document).encode())

    response = client.post(
        reverse("admin:contact_points_authority_import"), {"file": upload}, follow=True
    )

    shown = [(message.level_tag, str(message)) for message in response.context["messages"]]
    assert (
        "warning",
        f"ro-ours is hosted on this node: its inbox URL stays {OUR_INBOX}; "
        f"the file gives {IMPOSTOR_INBOX}.",
    ) in shown
    assert Authority.objects.get(pk=ours.pk).inbox_url == OUR_INBOX
    assert Authority.objects.filter(identifier="cc-partner").exists()


def test_a_key_this_node_did_not_make_does_not_claim_an_unpinned_entry(fresh_homes):
    """A demo or hand-made key whose e-mail starts with an identifier is not node_keys'."""
    key_generate(hosted_keyring(), "Demo office", name_email="ro-demo@keys.demo.example")
    pinned_authority("ro-demo", inbox_url=OUR_INBOX)
    document = json.loads(directory_export_json())
    document["authorities"][0]["inbox_url"] = IMPOSTOR_INBOX

    report = directory_import(data=json.dumps(document).encode(), fmt="json")

    assert (report.hosted_kept, report.proposed) == (0, 1)
