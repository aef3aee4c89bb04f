import pytest
from django.core.management import CommandError, call_command

from contact_points.models import Authority
from contact_points.services import authority_set_public_key
from mla.exchange.keys import (
    NodeKeyError,
    authority_is_hosted,
    node_key_create,
    node_key_export,
    node_key_repin,
    node_key_rotate,
    node_keys_list,
    partner_key_sync,
)
from mla.exchange.wire.errors import MessageRefused
from mla.exchange.wire.seal import message_open, message_seal
from mla.openpgp.homes import hosted_keyring, partner_keyring
from tests.support.keys import key_generate, pinned_authority
from tests.support.messages import sample_documents, sample_manifest

pytestmark = pytest.mark.django_db


def _seal(sender: Authority, recipient: Authority) -> bytes:
    documents = sample_documents()
    manifest = sample_manifest(sender, recipient, documents)
    return message_seal(manifest=manifest, documents=documents, sender=sender, recipient=recipient)


def test_a_created_key_pair_is_pinned_in_the_directory_entry(fresh_homes):
    authority = pinned_authority("ro-diicot", name="DIICOT")

    fingerprint = node_key_create(authority=authority)

    authority.refresh_from_db()
    assert len(fingerprint) == 40
    assert authority.key_fingerprint == fingerprint
    assert "BEGIN PGP PUBLIC KEY BLOCK" in authority.public_key
    assert authority.key_user_id == "DIICOT <ro-diicot@keys.mla.invalid>"
    assert authority.key_algorithm == "EdDSA ed25519"
    assert authority.key_expires_at is not None
    assert authority_is_hosted(authority=authority)
    assert authority.history.first().history_change_reason == "node key created"
    assert [(key.fingerprint, key.pinned) for key in node_keys_list()] == [(fingerprint, True)]


def test_a_second_key_pair_is_refused_and_so_is_taking_over_an_entry_hosted_elsewhere(
    fresh_homes, exchange_keys
):
    hosted = pinned_authority("ro-hosted")
    node_key_create(authority=hosted)
    elsewhere = pinned_authority("cc-partner", exchange_keys.armored[exchange_keys.partner])

    with pytest.raises(NodeKeyError, match="rotate it instead"):
        node_key_create(authority=hosted)
    with pytest.raises(NodeKeyError, match="hosted elsewhere"):
        node_key_create(authority=elsewhere)

    assert Authority.objects.get(pk=elsewhere.pk).key_fingerprint == exchange_keys.partner
    assert len(node_keys_list()) == 1


def test_rotation_pins_a_new_key_keeps_the_old_one_and_old_messages_still_open(fresh_homes):
    sender = pinned_authority("aa-rotating")
    recipient = pinned_authority("bb-rotating")
    old_sender_key = node_key_create(authority=sender)
    old_recipient_key = node_key_create(authority=recipient)
    in_flight = _seal(sender, recipient)

    new_recipient_key = node_key_rotate(authority=recipient)
    new_sender_key = node_key_rotate(authority=sender)

    for authority in (sender, recipient):
        authority.refresh_from_db()
    assert new_recipient_key != old_recipient_key
    assert recipient.key_fingerprint == new_recipient_key
    assert recipient.history.first().history_change_reason == "node key rotated"
    listed = {key.fingerprint: key for key in node_keys_list()}
    assert set(listed) == {old_sender_key, new_sender_key, old_recipient_key, new_recipient_key}
    assert listed[old_recipient_key].pinned is False
    assert listed[old_recipient_key].authority_identifier == "bb-rotating"
    assert listed[new_recipient_key].pinned is True
    # Encrypted to the old recipient key, signed by the old sender key: the signature no
    # longer counts, but the message still decrypts (and is refused for its signer).
    with pytest.raises(MessageRefused, match="not by the key") as refused:
        message_open(sealed=in_flight)
    assert refused.value.reason_code == "wrong_signer"
    # New messages are signed by the new key and encrypted to the new one.
    opened = message_open(sealed=_seal(sender, recipient))
    assert opened.signer_fingerprint == new_sender_key


def test_rotation_needs_a_key_pair_here(fresh_homes, exchange_keys):
    elsewhere = pinned_authority("cc-partner", exchange_keys.armored[exchange_keys.partner])

    with pytest.raises(NodeKeyError, match="no pinned key pair on this node"):
        node_key_rotate(authority=elsewhere)


def test_export_gives_the_pinned_public_key(fresh_homes):
    authority = pinned_authority("ro-export")
    fingerprint = node_key_create(authority=authority)

    armored = node_key_export(authority=authority)

    assert armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert "PRIVATE" not in armored
    assert [key["fingerprint"] for key in partner_keyring().scan_keys_mem(armored)] == [fingerprint]
    with pytest.raises(NodeKeyError):
        node_key_export(authority=pinned_authority("ro-no-key"))


def test_keys_made_by_the_demo_setup_are_listed_under_their_authority(fresh_homes):
    gpg = hosted_keyring()
    fingerprint = key_generate(gpg, "Demo office", name_email="fr-demo@keys.demo.example")
    unpinned = key_generate(gpg, "Old demo", name_email="fr-demo@keys.demo.example")
    pinned_authority("fr-demo", gpg.export_keys(fingerprint))

    listed = {key.fingerprint: key for key in node_keys_list()}

    assert listed[fingerprint].authority_identifier == "fr-demo"
    assert listed[fingerprint].pinned
    assert listed[unpinned].authority_identifier == "fr-demo"
    assert not listed[unpinned].pinned


def test_partner_keys_come_from_the_directory_and_only_the_pinned_one(fresh_homes, exchange_keys):
    partner = pinned_authority("cc-partner", exchange_keys.armored[exchange_keys.partner])

    assert partner_keyring().list_keys() == []
    assert partner_key_sync(authority=partner) == exchange_keys.partner
    assert [key["fingerprint"] for key in partner_keyring().list_keys()] == [exchange_keys.partner]

    # One key is pinned for one active entry only: the impostor pins another key, whose text
    # is then swapped behind the directory's back.
    impostor = pinned_authority("cc-impostor", exchange_keys.armored[exchange_keys.recipient])
    Authority.objects.filter(pk=impostor.pk).update(
        public_key=exchange_keys.armored[exchange_keys.sender]
    )
    impostor.refresh_from_db()
    with pytest.raises(NodeKeyError, match="does not hold exactly its pinned key"):
        partner_key_sync(authority=impostor)
    assert exchange_keys.sender not in {key["fingerprint"] for key in partner_keyring().list_keys()}


def test_keys_protected_by_a_passphrase_sign_and_decrypt(fresh_homes, settings):
    settings.NODE_KEY_PASSPHRASE = "a node passphrase, from the environment"
    authority = pinned_authority("ro-protected")
    node_key_create(authority=authority)
    authority.refresh_from_db()

    opened = message_open(sealed=_seal(authority, authority))

    assert opened.signer_fingerprint == authority.key_fingerprint
    # Stored encrypted under the passphrase by gpg-agent.
    stored = [path.read_bytes() for path in (fresh_homes[0] / "private-keys-v1.d").iterdir()]
    assert stored
    assert all(b"protected-private-key" in key for key in stored)


# Re-pinning a key pair the node holds ---------------------------------------------------------


def test_repin_restores_the_newest_key_pair_after_the_pin_was_overwritten(
    fresh_homes, exchange_keys
):
    authority = pinned_authority("ro-repin")
    node_key_create(authority=authority)
    newest = node_key_rotate(authority=authority)
    # An older version's directory import pinned a partner's key over ours.
    authority_set_public_key(
        authority=authority, armored=exchange_keys.armored[exchange_keys.partner]
    )
    with pytest.raises(NodeKeyError):
        node_key_export(authority=authority)

    assert node_key_repin(authority=authority) == newest

    authority.refresh_from_db()
    assert authority.key_fingerprint == newest
    assert authority.history.first().history_change_reason == "node key re-pinned"
    assert "BEGIN PGP PUBLIC KEY BLOCK" in node_key_export(authority=authority)
    node_key_rotate(authority=authority)


def test_repin_pins_a_named_older_key_pair_and_changes_nothing_when_it_is_pinned(fresh_homes):
    authority = pinned_authority("ro-repin-old")
    oldest = node_key_create(authority=authority)
    node_key_rotate(authority=authority)
    grouped = " ".join(oldest[i : i + 4] for i in range(0, 40, 4))

    assert node_key_repin(authority=authority, fingerprint=grouped) == oldest
    authority.refresh_from_db()
    versions = authority.history.count()
    assert node_key_repin(authority=authority, fingerprint=oldest) == oldest

    authority.refresh_from_db()
    assert authority.key_fingerprint == oldest
    assert authority.history.count() == versions


def test_repin_refuses_a_key_the_node_does_not_hold_or_made_for_another(fresh_homes, exchange_keys):
    ours = pinned_authority("ro-repin-ours")
    other = pinned_authority("ro-repin-other")
    pinned = node_key_create(authority=ours)
    others_key = node_key_create(authority=other)
    Authority.objects.filter(pk=other.pk).update(public_key="", key_fingerprint="")
    nowhere = pinned_authority("ro-repin-nothing")

    with pytest.raises(NodeKeyError, match="holds no secret key"):
        node_key_repin(authority=ours, fingerprint=exchange_keys.partner)
    with pytest.raises(NodeKeyError, match="not made for ro-repin-ours"):
        node_key_repin(authority=ours, fingerprint=others_key)
    with pytest.raises(NodeKeyError, match="node_keys create ro-repin-nothing"):
        node_key_repin(authority=nowhere)

    ours.refresh_from_db()
    assert ours.key_fingerprint == pinned


def test_repin_finishes_a_first_start_that_made_the_key_pair_but_did_not_pin_it(fresh_homes):
    authority = pinned_authority("ro-unpinned")
    made = node_key_create(authority=authority)
    Authority.objects.filter(pk=authority.pk).update(public_key="", key_fingerprint="")

    call_command("node_keys", "repin", "ro-unpinned")

    authority.refresh_from_db()
    assert authority.key_fingerprint == made


# The command ----------------------------------------------------------------------------------


def test_the_command_creates_lists_rotates_and_exports(fresh_homes, capsys, tmp_path):
    authority = pinned_authority("ro-command")

    call_command("node_keys", "create", "ro-command")
    created = capsys.readouterr().out.strip()
    call_command("node_keys", "rotate", "ro-command")
    rotated = capsys.readouterr().out.strip()
    call_command("node_keys", "list")
    listing = capsys.readouterr().out
    call_command("node_keys", "export", "ro-command")
    printed = capsys.readouterr().out
    call_command("node_keys", "export", "ro-command", "-o", str(tmp_path / "key.asc"))

    authority.refresh_from_db()
    first, second = created.split(": ")[1], rotated.split(": ")[1]
    assert authority.key_fingerprint == second != first
    lines = listing.splitlines()
    assert len(lines) == 2
    assert any(first in line and line.endswith("old") for line in lines)
    assert any(second in line and line.endswith("pinned") for line in lines)
    assert printed.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert (tmp_path / "key.asc").read_text() == printed


def test_the_command_names_an_unknown_identifier_and_reports_refusals(fresh_homes, exchange_keys):
    pinned_authority("cc-partner", exchange_keys.armored[exchange_keys.partner])

    with pytest.raises(CommandError, match="xx-nowhere"):
        call_command("node_keys", "create", "xx-nowhere")
    with pytest.raises(CommandError, match="hosted elsewhere"):
        call_command("node_keys", "create", "cc-partner")
    with pytest.raises(CommandError, match="no pinned key pair"):
        call_command("node_keys", "export", "cc-partner")
    with pytest.raises(CommandError, match="holds no key pair for cc-partner"):
        call_command("node_keys", "repin", "cc-partner")
