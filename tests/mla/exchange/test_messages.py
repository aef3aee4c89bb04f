import hashlib
import io
import subprocess
import tarfile
from datetime import timedelta
from pathlib import Path

import gnupg
import pytest
from django.utils import timezone

from contact_points.models import Authority
from contact_points.services import authority_set_public_key
from mla.exchange.keys import partner_key_sync
from mla.exchange.wire.container import message_container_build
from mla.exchange.wire.errors import MessageNotSealed, MessageRefused
from mla.exchange.wire.manifest import (
    Document,
    manifest_as_dict,
    manifest_canonical_bytes,
    manifest_parse,
    message_file_name,
)
from mla.exchange.wire.receipts import receipt_seal, receipt_verify
from mla.exchange.wire.seal import message_open, message_seal
from mla.openpgp.homes import partner_keyring
from mla.requests.models import canonical_json
from tests.support.keys import (
    gnupg_home,
    gnupg_homes_remove,
    key_generate,
    pin_expired_key,
    pinned_authority,
)
from tests.support.messages import forge, sample_documents, sample_manifest

pytestmark = pytest.mark.django_db


def _refused(sealed: bytes, **options: object) -> MessageRefused:
    with pytest.raises(MessageRefused) as caught:
        message_open(sealed=sealed, **options)  # type: ignore[arg-type]
    return caught.value


def _seal(sender: Authority, recipient: Authority, **options: object) -> bytes:
    documents = sample_documents()
    manifest = sample_manifest(sender, recipient, documents, **options)  # type: ignore[arg-type]
    return message_seal(manifest=manifest, documents=documents, sender=sender, recipient=recipient)


def _container_entries(container: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(container), mode="r:") as archive:
        return archive.getnames()


# Round trip -------------------------------------------------------------------------------


def test_a_sealed_message_opens_to_the_same_manifest_and_documents(
    sender, recipient, exchange_keys
):
    documents = [*sample_documents(), Document("copy.pdf", "application/pdf", b"same")]
    documents.append(Document("copy-2.pdf", "application/pdf", b"same"))
    manifest = sample_manifest(sender, recipient, documents)

    sealed = message_seal(
        manifest=manifest, documents=documents, sender=sender, recipient=recipient
    )
    opened = message_open(sealed=sealed)

    assert opened.manifest == manifest
    assert opened.documents == tuple(documents)
    assert opened.signer_fingerprint == exchange_keys.sender
    assert opened.manifest_bytes == manifest_canonical_bytes(manifest)
    assert opened.manifest_sha256 == hashlib.sha256(opened.manifest_bytes).hexdigest()
    assert (opened.sender, opened.recipient) == (sender, recipient)
    # Binary OpenPGP (a public-key encrypted session key packet first), not armour.
    assert sealed[0] & 0x80
    assert b"%PDF" not in sealed


def test_the_manifest_is_canonical_json_with_the_documented_fields(sender, recipient):
    documents = sample_documents()
    manifest = sample_manifest(sender, recipient, documents)

    raw = manifest_canonical_bytes(manifest)

    assert raw == canonical_json(manifest_as_dict(manifest))
    assert b'": ' not in raw
    assert b'", "' not in raw
    assert "é".encode() in raw  # UTF-8, not \u escapes
    parsed = manifest_parse(raw)
    assert parsed == manifest
    fields = manifest_as_dict(manifest)
    assert fields["created_at"].endswith("Z")
    assert fields["documents"][0] == {
        "name": "request.pdf",
        "media_type": "application/pdf",
        "size": len(documents[0].content),
        "sha256": hashlib.sha256(documents[0].content).hexdigest(),
    }


def test_gpg_alone_decrypts_the_message_and_verifies_the_manifest_signature(
    sender, recipient, exchange_keys, tmp_path
):
    sealed = _seal(sender, recipient)
    opened = message_open(sealed=sealed)
    (tmp_path / "message.mlamsg").write_bytes(sealed)

    decrypted = subprocess.run(
        ["gpg", "--homedir", exchange_keys.secret_home, "--batch", "--decrypt"],
        input=sealed,
        capture_output=True,
        check=True,
    ).stdout
    names = _container_entries(decrypted)
    with tarfile.open(fileobj=io.BytesIO(decrypted), mode="r:") as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    verified = subprocess.run(
        [
            "gpg",
            "--homedir",
            exchange_keys.partner_home,
            "--batch",
            "--status-fd",
            "1",
            "--verify",
            str(tmp_path / "unpacked" / "manifest.json.sig"),
            str(tmp_path / "unpacked" / "manifest.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    digests = {
        document.content: hashlib.sha256(document.content).hexdigest()
        for document in opened.documents
    }
    assert names == [
        "manifest.json",
        "manifest.json.sig",
        *[f"documents/{digest}" for digest in digests.values()],
    ]
    assert verified.returncode == 0, verified.stderr
    assert f"VALIDSIG {exchange_keys.sender} " in verified.stdout
    assert (tmp_path / "unpacked" / "manifest.json").read_bytes() == opened.manifest_bytes


def test_the_export_file_name_names_the_message(sender, recipient):
    manifest = sample_manifest(sender, recipient, [])

    name = message_file_name(manifest)

    assert name.endswith(f"_aa-sender_to_bb-recipient_request_{manifest.message_id}.mlamsg")
    assert name.startswith(manifest.created_at.strftime("%Y%m%dT%H%M%SZ"))
    assert "/" not in name


def test_a_message_to_an_authority_on_another_node_is_readable_by_its_sender_only_as_outbox(
    sender, partner
):
    # Encrypted to the sender too, so its node decrypts its own copy; but it is not the
    # recipient, so opening it as an incoming message is refused.
    sealed = _seal(sender, partner)

    assert _refused(sealed).reason_code == "wrong_recipient"


# Refusals -----------------------------------------------------------------------------------


def test_garbage_is_undecryptable(recipient):
    for garbage in (b"", b"not a message", bytes(range(256)) * 10):
        assert _refused(garbage).reason_code == "undecryptable"


def test_plain_or_passphrase_encrypted_openpgp_data_is_undecryptable(recipient, exchange_keys):
    home = exchange_keys.partner_home
    stored = subprocess.run(
        ["gpg", "--homedir", home, "--batch", "--store"], input=b"hello", capture_output=True
    ).stdout
    symmetric = subprocess.run(
        [
            *("gpg", "--homedir", home, "--batch", "--symmetric"),
            *("--pinentry-mode", "loopback", "--passphrase", "x"),
        ],
        input=b"hello",
        capture_output=True,
    ).stdout

    assert _refused(stored).reason_code == "undecryptable"
    assert _refused(symmetric).reason_code == "undecryptable"


def _encrypted_tar(recipient: Authority, *entries: tarfile.TarInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for entry in entries:
            archive.addfile(entry, io.BytesIO(b"x" * entry.size))
    encrypted = partner_keyring().encrypt(
        buffer.getvalue(), [partner_key_sync(authority=recipient)], always_trust=True, armor=False
    )
    return bytes(encrypted.data)


def _entry(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0) -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.type, entry.size = kind, size
    return entry


def test_encrypted_content_that_is_not_a_message_is_malformed(sender, recipient):
    fingerprint = partner_key_sync(authority=recipient)
    not_tar = partner_keyring().encrypt(b"hello", [fingerprint], always_trust=True, armor=False)
    cases = {
        "not a tar archive": bytes(not_tar.data),
        "empty manifest": forge(
            manifest_bytes=b"{}", signature=None, documents=[], encrypt_to=[fingerprint]
        ),
        "no manifest": _encrypted_tar(recipient, _entry("documents/" + "0" * 64, size=1)),
        "a directory": _encrypted_tar(recipient, _entry("manifest.json", tarfile.DIRTYPE)),
        "a link": _encrypted_tar(recipient, _entry("manifest.json", tarfile.SYMTYPE)),
        "an unexpected name": _encrypted_tar(recipient, _entry("../manifest.json", size=2)),
        "twice the manifest": _encrypted_tar(
            recipient, _entry("manifest.json", size=2), _entry("manifest.json", size=2)
        ),
    }

    codes = {case: _refused(sealed).reason_code for case, sealed in cases.items()}

    assert codes == dict.fromkeys(cases, "malformed")


@pytest.mark.parametrize(
    "change",
    [
        lambda fields: fields.update(extra="field"),
        lambda fields: fields.pop("reference"),
        lambda fields: fields.update(kind="order"),
        lambda fields: fields.update(version=2),
        lambda fields: fields.update(version=True),
        lambda fields: fields.update(message_id="not-a-uuid"),
        lambda fields: fields.update(created_at="2026-11-28T10:00:00+01:00"),
        lambda fields: fields.update(sender="../etc"),
        lambda fields: fields.update(data=[1, 2]),
        lambda fields: fields["documents"].append(dict(fields["documents"][0])),
        lambda fields: fields["documents"][0].update(size=-1),
        lambda fields: fields["documents"][0].update(name="../request.pdf"),
        lambda fields: fields["documents"][0].update(sha256="ABC"),
    ],
)
def test_a_signed_but_invalid_manifest_is_malformed(sender, recipient, exchange_keys, change):
    documents = sample_documents()
    fields = manifest_as_dict(sample_manifest(sender, recipient, documents))
    change(fields)
    raw = canonical_json(fields)

    sealed = forge(
        manifest_bytes=raw,
        signature=exchange_keys.hosted_sign(exchange_keys.sender, raw),
        documents=documents,
        encrypt_to=[partner_key_sync(authority=recipient)],
    )

    assert _refused(sealed).reason_code == "malformed"


def test_a_manifest_not_in_canonical_form_is_malformed(sender, recipient, exchange_keys):
    documents = sample_documents()
    raw = canonical_json(manifest_as_dict(sample_manifest(sender, recipient, documents)))
    spaced = raw.replace(b'":', b'": ')

    sealed = forge(
        manifest_bytes=spaced,
        signature=exchange_keys.hosted_sign(exchange_keys.sender, spaced),
        documents=documents,
        encrypt_to=[partner_key_sync(authority=recipient)],
    )

    assert _refused(sealed).reason_code == "malformed"


def test_an_unknown_or_inactive_sender_is_refused(sender, recipient, exchange_keys):
    documents = sample_documents()
    fields = manifest_as_dict(sample_manifest(sender, recipient, documents))
    fields["sender"] = "zz-nobody"
    raw = canonical_json(fields)
    unknown = forge(
        manifest_bytes=raw,
        signature=exchange_keys.foreign_sign(exchange_keys.partner, raw),
        documents=documents,
        encrypt_to=[partner_key_sync(authority=recipient)],
    )
    from_inactive = _seal(sender, recipient)
    Authority.objects.filter(pk=sender.pk).update(active=False)

    assert _refused(unknown).reason_code == "unknown_sender"
    assert _refused(from_inactive).reason_code == "unknown_sender"


def test_a_sender_without_a_pinned_key_is_unknown(sender, recipient):
    sealed = _seal(sender, recipient)
    Authority.objects.filter(pk=sender.pk).update(public_key="", key_fingerprint="")

    assert _refused(sealed).reason_code == "unknown_sender"


def test_a_signature_by_another_key_of_the_sender_is_by_the_wrong_signer(
    sender, recipient, exchange_keys
):
    # The sender's key before a rotation: still in the keyrings, no longer pinned.
    authority_set_public_key(
        authority=sender, armored=exchange_keys.armored[exchange_keys.sender_other]
    )
    sealed = _seal(sender, recipient)
    authority_set_public_key(authority=sender, armored=exchange_keys.armored[exchange_keys.sender])

    refusal = _refused(sealed)

    assert refusal.reason_code == "wrong_signer"
    assert exchange_keys.sender_other in refusal.message


def test_a_signature_by_a_key_this_node_never_saw_is_by_the_wrong_signer(
    sender, recipient, exchange_keys
):
    home = gnupg_home("mlax-x")
    try:
        stranger = gnupg.GPG(gnupghome=home)
        fingerprint = key_generate(stranger, "aa-sender")
        documents = sample_documents()
        raw = manifest_canonical_bytes(sample_manifest(sender, recipient, documents))
        signature = stranger.sign(
            raw, detach=True, binary=True, extra_args=["--local-user", fingerprint]
        ).data
    finally:
        gnupg_homes_remove(home)
    sealed = forge(
        manifest_bytes=raw,
        signature=bytes(signature),
        documents=documents,
        encrypt_to=[partner_key_sync(authority=recipient)],
    )

    assert _refused(sealed).reason_code == "wrong_signer"


def test_a_manifest_edited_after_signing_has_a_bad_signature(sender, recipient, exchange_keys):
    documents = sample_documents()
    manifest = sample_manifest(sender, recipient, documents)
    raw = manifest_canonical_bytes(manifest)
    signature = exchange_keys.hosted_sign(exchange_keys.sender, raw)
    fields = manifest_as_dict(manifest)
    fields["data"]["sections"]["A"]["facts"] = "changed"

    sealed = forge(
        manifest_bytes=canonical_json(fields),
        signature=signature,
        documents=documents,
        encrypt_to=[partner_key_sync(authority=recipient)],
    )

    assert _refused(sealed).reason_code == "bad_signature"


def test_a_signature_that_is_not_openpgp_or_holds_two_signatures_is_bad(
    sender, recipient, exchange_keys
):
    documents = sample_documents()
    raw = manifest_canonical_bytes(sample_manifest(sender, recipient, documents))
    fingerprint = partner_key_sync(authority=recipient)
    good = exchange_keys.hosted_sign(exchange_keys.sender, raw)
    twice = good + exchange_keys.foreign_sign(exchange_keys.partner, raw)

    garbage = forge(
        manifest_bytes=raw, signature=b"garbage", documents=documents, encrypt_to=[fingerprint]
    )
    # A message the sender once signed whole (not detached), replayed as the signature.
    signed_elsewhere = gnupg.GPG(gnupghome=exchange_keys.secret_home).sign(
        b"something else",
        binary=True,
        clearsign=False,
        extra_args=["--local-user", exchange_keys.sender],
    )
    replayed = forge(
        manifest_bytes=raw,
        signature=bytes(signed_elsewhere.data),
        documents=documents,
        encrypt_to=[fingerprint],
    )
    doubled = forge(
        manifest_bytes=raw, signature=twice, documents=documents, encrypt_to=[fingerprint]
    )

    assert _refused(garbage).reason_code == "bad_signature"
    assert _refused(replayed).reason_code == "bad_signature"
    assert _refused(doubled).reason_code == "bad_signature"


@pytest.mark.parametrize("signature", [None, b""])
def test_a_manifest_without_signature_is_refused(sender, recipient, signature):
    documents = sample_documents()
    raw = manifest_canonical_bytes(sample_manifest(sender, recipient, documents))

    sealed = forge(
        manifest_bytes=raw,
        signature=signature,
        documents=documents,
        encrypt_to=[partner_key_sync(authority=recipient)],
    )

    assert _refused(sealed).reason_code == "missing_signature"


@pytest.mark.parametrize("alteration", ["changed", "missing", "extra", "resized"])
def test_documents_that_do_not_match_the_signed_manifest_are_refused(
    sender, recipient, exchange_keys, alteration
):
    documents = sample_documents()
    raw = manifest_canonical_bytes(sample_manifest(sender, recipient, documents))
    signature = exchange_keys.hosted_sign(exchange_keys.sender, raw)
    fingerprint = partner_key_sync(authority=recipient)
    if alteration == "changed":
        container = message_container_build(
            manifest_bytes=raw, signature=signature, documents=documents, mtime=timezone.now()
        )
        original = documents[0].content
        altered = original.replace(b"%PDF-1.7", b"%PDF-1.6")
        sealed = (
            partner_keyring()
            .encrypt(
                container.replace(original, altered), [fingerprint], always_trust=True, armor=False
            )
            .data
        )
    else:
        sent = {
            "missing": documents[:1],
            "extra": [*documents, Document("x", "text/plain", b"extra")],
            "resized": documents,
        }[alteration]
        if alteration == "resized":
            fields = manifest_as_dict(sample_manifest(sender, recipient, documents))
            fields["documents"][1]["size"] += 1
            raw = canonical_json(fields)
            signature = exchange_keys.hosted_sign(exchange_keys.sender, raw)
        sealed = forge(
            manifest_bytes=raw, signature=signature, documents=sent, encrypt_to=[fingerprint]
        )

    assert _refused(bytes(sealed)).reason_code == "digest_mismatch"


def test_a_recipient_not_hosted_here_is_wrong(
    sender, recipient, partner, exchange_keys, openpgp_keys
):
    documents = sample_documents()
    manifest = manifest_as_dict(sample_manifest(sender, partner, documents))
    raw = canonical_json(manifest)
    # Decryptable here (encrypted to a hosted key), but addressed to an authority elsewhere.
    to_partner = forge(
        manifest_bytes=raw,
        signature=exchange_keys.hosted_sign(exchange_keys.sender, raw),
        documents=documents,
        encrypt_to=[partner_key_sync(authority=recipient)],
    )
    # Hosted here once, but the directory now pins another key for it (not the partner's:
    # one key is pinned for one active authority only).
    repinned = _seal(sender, recipient)
    authority_set_public_key(authority=recipient, armored=openpgp_keys.valid)

    assert _refused(to_partner).reason_code == "wrong_recipient"
    assert _refused(repinned).reason_code == "wrong_recipient"


def test_a_key_the_directory_says_has_expired_is_refused(sender, recipient):
    sealed = _seal(sender, recipient)
    Authority.objects.filter(pk=sender.pk).update(
        key_expires_at=timezone.now() - timedelta(minutes=1)
    )

    assert _refused(sealed).reason_code == "key_expired"


def test_a_signature_by_a_key_gpg_knows_has_expired_is_refused(recipient, exchange_keys):
    # Signed while the key was valid ("two and a half days ago"); gpg now says expired
    # even though the directory entry has not caught up.
    expired = pinned_authority("ee-expired")
    pin_expired_key(expired, exchange_keys.armored[exchange_keys.expired], lagging=True)
    documents = sample_documents()
    raw = manifest_canonical_bytes(sample_manifest(expired, recipient, documents))
    then = timezone.now() - timedelta(days=2, hours=12)
    old = gnupg.GPG(
        gnupghome=exchange_keys.foreign_home,
        options=["--faked-system-time", then.strftime("%Y%m%dT%H%M%S")],
    )
    signature = old.sign(
        raw, detach=True, binary=True, extra_args=["--local-user", exchange_keys.expired]
    ).data
    sealed = forge(
        manifest_bytes=raw,
        signature=bytes(signature),
        documents=documents,
        encrypt_to=[partner_key_sync(authority=recipient)],
    )

    assert _refused(sealed).reason_code == "key_expired"


@pytest.mark.parametrize("route", ["revocation certificate", "directory key"])
def test_a_signature_by_a_revoked_key_is_refused(
    recipient, exchange_keys, fresh_homes, settings, route
):
    # A fresh partner home, so that the revocation stays in this test; our secret home.
    settings.NODE_SECRET_GNUPG_HOME = Path(exchange_keys.secret_home)
    home = gnupg_home("mlax-r")
    try:
        owner = gnupg.GPG(gnupghome=home)
        fingerprint = key_generate(owner, "ff-revoked")
        revoking = pinned_authority("ff-revoked", owner.export_keys(fingerprint))
        documents = sample_documents()
        raw = manifest_canonical_bytes(sample_manifest(revoking, recipient, documents))
        signature = owner.sign(
            raw, detach=True, binary=True, extra_args=["--local-user", fingerprint]
        ).data
        sealed = forge(
            manifest_bytes=raw,
            signature=bytes(signature),
            documents=documents,
            encrypt_to=[partner_key_sync(authority=recipient)],
        )
        assert message_open(sealed=sealed).signer_fingerprint == fingerprint
        certificate = Path(home) / "openpgp-revocs.d" / f"{fingerprint}.rev"
        revocation = certificate.read_text().replace(":-----BEGIN", "-----BEGIN")
        if route == "revocation certificate":
            assert partner_keyring().import_keys(revocation).n_revoc == 1
        else:
            owner.import_keys(revocation)
            Authority.objects.filter(pk=revoking.pk).update(
                public_key=owner.export_keys(fingerprint)
            )
    finally:
        gnupg_homes_remove(home)

    assert _refused(sealed).reason_code == "key_revoked"


def test_an_oversized_message_is_refused_before_and_after_decryption(sender, recipient, settings):
    sealed = _seal(sender, recipient)
    settings.EXCHANGE_MAX_MESSAGE_BYTES = len(sealed) - 1
    too_big_sealed = _refused(sealed)
    # A small message that inflates: compressed by other software, made of zeros.
    settings.EXCHANGE_MAX_MESSAGE_BYTES = 100_000
    fingerprint = partner_key_sync(authority=recipient)
    bomb = (
        partner_keyring()
        .encrypt(b"\0" * 2_000_000, [fingerprint], always_trust=True, armor=False)
        .data
    )

    assert too_big_sealed.reason_code == "too_large"
    assert len(bomb) < 100_000
    assert _refused(bytes(bomb)).reason_code == "too_large"


def test_a_message_over_the_limit_is_not_sealed(sender, recipient, settings):
    settings.EXCHANGE_MAX_MESSAGE_BYTES = 5_000

    with pytest.raises(MessageNotSealed) as caught:
        _seal(sender, recipient)

    assert caught.value.reason_code == "too_large"


def test_messages_too_old_or_from_the_future_are_refused(sender, recipient, settings):
    now = timezone.now()
    settings.EXCHANGE_MAX_MESSAGE_AGE_SECONDS = 3600
    old = _seal(sender, recipient, created_at=now - timedelta(hours=1, seconds=5))
    recent = _seal(sender, recipient, created_at=now - timedelta(minutes=59))
    future = _seal(sender, recipient, created_at=now + timedelta(minutes=6))
    near_future = _seal(sender, recipient, created_at=now + timedelta(minutes=4))

    assert _refused(old, now=now).reason_code == "too_old"
    assert _refused(future, now=now).reason_code == "from_the_future"
    assert message_open(sealed=recent, now=now)
    assert message_open(sealed=near_future, now=now)


def test_every_refusal_is_an_application_error_with_a_reason(recipient):
    from mla.core.errors import ApplicationError

    refusal = _refused(b"x")

    assert isinstance(refusal, ApplicationError)
    assert refusal.extra == {"reason_code": "undecryptable"}
    assert refusal.message


def test_the_public_home_is_a_cache_of_the_directory(
    sender, recipient, exchange_keys, fresh_homes, settings, monkeypatch
):
    settings.NODE_SECRET_GNUPG_HOME = Path(exchange_keys.secret_home)
    forced = []

    def spy(*, authority, force=False):
        forced.append((authority.identifier, force))
        return partner_key_sync(authority=authority, force=force)

    monkeypatch.setattr("mla.exchange.wire.seal.partner_key_sync", spy)
    first = _seal(sender, recipient)

    def wipe():
        for keyring in fresh_homes[1].glob("pubring.kbx*"):
            keyring.unlink()
        forced.clear()

    wipe()
    assert message_open(sealed=first).signer_fingerprint == exchange_keys.sender
    assert ("aa-sender", True) in forced
    wipe()
    assert message_open(sealed=_seal(sender, recipient))
    assert {("bb-recipient", True), ("aa-sender", True)} <= set(forced)


# Sealing refusals -----------------------------------------------------------------------------


def test_only_a_hosted_sender_can_seal(partner, recipient):
    with pytest.raises(MessageNotSealed) as caught:
        _seal(partner, recipient)

    assert caught.value.reason_code == "sender_not_hosted"


def test_a_recipient_without_a_usable_key_cannot_be_sent_to(sender, recipient):
    nobody = pinned_authority("dd-no-key")
    inactive = pinned_authority("dd-inactive", recipient.public_key, active=False)
    Authority.objects.filter(pk=recipient.pk).update(
        key_expires_at=timezone.now() - timedelta(days=1)
    )
    recipient.refresh_from_db()

    codes = []
    for target in (nobody, inactive, recipient):
        with pytest.raises(MessageNotSealed) as caught:
            _seal(sender, target)
        codes.append(caught.value.reason_code)

    assert codes == ["recipient_unknown", "recipient_unknown", "recipient_key_unusable"]


def test_documents_must_be_those_of_the_manifest(sender, recipient):
    documents = sample_documents()
    manifest = sample_manifest(sender, recipient, documents)

    with pytest.raises(MessageNotSealed) as wrong_documents:
        message_seal(manifest=manifest, documents=documents[:1], sender=sender, recipient=recipient)
    with pytest.raises(MessageNotSealed) as wrong_recipient:
        message_seal(manifest=manifest, documents=documents, sender=sender, recipient=sender)

    assert wrong_documents.value.reason_code == "invalid_manifest"
    assert wrong_recipient.value.reason_code == "invalid_manifest"


# Receipts -------------------------------------------------------------------------------------


def test_a_receipt_verifies_for_its_message(sender, recipient, exchange_keys, tmp_path):
    opened = message_open(sealed=_seal(sender, recipient))
    received_at = timezone.now().replace(microsecond=0)

    receipt = receipt_seal(opened=opened, received_at=received_at)
    verified = receipt_verify(
        receipt=receipt,
        expected_message_id=opened.manifest.message_id,
        expected_manifest_digest=opened.manifest_sha256,
        recipient=recipient,
    )

    assert verified.message_id == opened.manifest.message_id
    assert verified.manifest_sha256 == opened.manifest_sha256
    assert verified.received_at == received_at
    assert verified.receiver == "bb-recipient"
    assert verified.signer_fingerprint == exchange_keys.recipient
    assert _container_entries(receipt) == ["receipt.json", "receipt.json.sig"]
    (tmp_path / "receipt.json").write_bytes(verified.receipt_bytes)
    (tmp_path / "receipt.json.sig").write_bytes(verified.signature)
    checked = subprocess.run(
        [
            *("gpg", "--homedir", exchange_keys.partner_home, "--batch", "--verify"),
            *(str(tmp_path / "receipt.json.sig"), str(tmp_path / "receipt.json")),
        ],
        capture_output=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def _receipt(receipt_bytes: bytes, signature: bytes | None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in (("receipt.json", receipt_bytes), ("receipt.json.sig", signature)):
            if content is not None:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_forged_or_mismatched_receipts_are_refused(sender, recipient, exchange_keys):
    opened = message_open(sealed=_seal(sender, recipient))
    fields = {
        "message_id": opened.manifest.message_id,
        "manifest_sha256": opened.manifest_sha256,
        "received_at": "2026-11-28T10:00:00Z",
        "receiver": "bb-recipient",
    }
    genuine = canonical_json(fields)
    other_message = canonical_json({**fields, "manifest_sha256": "0" * 64})
    by_recipient = exchange_keys.hosted_sign(exchange_keys.recipient, genuine)
    cases = {
        # Signed by the sending side's own key, not the recipient's.
        "wrong_signer": _receipt(genuine, exchange_keys.hosted_sign(exchange_keys.sender, genuine)),
        "bad_signature": _receipt(genuine.replace(b"10:00", b"11:00"), by_recipient),
        "missing_signature": _receipt(genuine, None),
        "receipt_mismatch": _receipt(
            other_message, exchange_keys.hosted_sign(exchange_keys.recipient, other_message)
        ),
        "malformed": _receipt(b'{"message_id": 1}', by_recipient),
    }

    codes = {}
    for expected, receipt in cases.items():
        with pytest.raises(MessageRefused) as caught:
            receipt_verify(
                receipt=receipt,
                expected_message_id=opened.manifest.message_id,
                expected_manifest_digest=opened.manifest_sha256,
                recipient=recipient,
            )
        codes[expected] = caught.value.reason_code

    assert codes == {code: code for code in cases}
