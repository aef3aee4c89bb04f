"""Signed directory files: publishing with a key of the node, importing against pinned keys.

Real gpg throughout. ``publisher`` and ``other`` are secret keys of this node's secret home;
``subkey_signer`` signs with a subkey; ``revoked`` is a key whose public key the importing
node holds as revoked; ``expired`` a key made "three days ago" that expired after one day.
"""

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gnupg
import pytest
from django.core.management import CommandError, call_command

from contact_points.directory_io import directory_export_json
from contact_points.directory_signing import (
    BAD_SIGNATURE,
    INVALID_FINGERPRINT,
    KEY_EXPIRED,
    KEY_REVOKED,
    MISSING_SIGNATURE,
    NO_PUBLISHER_KEY,
    NO_SIGNING_KEY,
    WRONG_SIGNER,
    DirectorySignatureError,
    directory_publisher_key_export,
    directory_publishers_pinned,
    directory_sign,
    directory_signature_read,
    directory_signature_verify,
    fingerprints_parse,
)
from contact_points.models import Authority, ContactPerson, Country
from tests.support.factories import AuthorityFactory, ContactPersonFactory, CountryFactory
from tests.support.keys import gnupg_home, gnupg_homes_remove, key_generate

CONTENT = b'{"format": "mla-directory", "version": 1, "countries": [], "authorities": []}\n'


@dataclass(frozen=True)
class PublisherKeys:
    secret_home: str
    old_home: str
    publisher: str
    other: str
    subkey_signer: str
    revoked: str
    expired: str
    armored: dict[str, str]

    def expired_sign(self, data: bytes) -> bytes:
        """A signature made while the expired key was still valid."""
        signed = gnupg.GPG(gnupghome=self.old_home, options=["--faked-system-time", _days_ago(2.5)])
        result = signed.sign(data, detach=True, extra_args=["--local-user", self.expired])
        assert result.fingerprint == self.expired, result.stderr
        return bytes(result.data)


def _days_ago(days: float) -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() - days * 86400))


@pytest.fixture(scope="session")
def publisher_keys() -> Iterator[PublisherKeys]:
    secret, old_home, revoking = gnupg_home("mlad-s"), gnupg_home("mlad-o"), gnupg_home("mlad-r")
    try:
        hosted = gnupg.GPG(gnupghome=secret)
        publisher = key_generate(hosted, "directory-publisher")
        other = key_generate(hosted, "someone-else")
        subkey_signer = key_generate(
            hosted,
            "subkey-publisher",
            key_usage="cert",
            subkey_type="EDDSA",
            subkey_curve="ed25519",
            subkey_usage="sign",
        )
        revoked = key_generate(hosted, "revoked-publisher")
        old = gnupg.GPG(gnupghome=old_home, options=["--faked-system-time", _days_ago(3)])
        expired = key_generate(old, "expired-publisher", expire_date="1d")
        armored = {
            fpr: hosted.export_keys(fpr) for fpr in (publisher, other, subkey_signer, revoked)
        }
        armored[expired] = gnupg.GPG(gnupghome=old_home).export_keys(expired)
        # The importing node learnt of the revocation: its copy of the public key is revoked,
        # while the secret key (stolen, say) still signs.
        certificate = (Path(secret) / "openpgp-revocs.d" / f"{revoked}.rev").read_text()
        revoker = gnupg.GPG(gnupghome=revoking)
        revoker.import_keys(armored[revoked])
        revoker.import_keys(certificate.replace(":-----BEGIN", "-----BEGIN"))
        armored[revoked] = revoker.export_keys(revoked)
        yield PublisherKeys(
            secret_home=secret,
            old_home=old_home,
            publisher=publisher,
            other=other,
            subkey_signer=subkey_signer,
            revoked=revoked,
            expired=expired,
            armored=armored,
        )
    finally:
        gnupg_homes_remove(secret, old_home, revoking)


@pytest.fixture(autouse=True)
def _publisher_settings(settings, publisher_keys: PublisherKeys) -> None:
    settings.NODE_SECRET_GNUPG_HOME = Path(publisher_keys.secret_home)
    # Whatever the environment says, each test starts with no publisher pinned.
    settings.DIRECTORY_PUBLISHER_FINGERPRINTS = ()
    settings.DIRECTORY_PUBLISHER_KEYS_DIR = None


def _verify(keys: PublisherKeys, signature: bytes, *, content: bytes = CONTENT, **options):
    pinned = options.pop("pinned", [keys.publisher])
    public = options.pop("publisher_keys", [keys.armored[keys.publisher]])
    return directory_signature_verify(
        content=content, signature=signature, pinned=pinned, publisher_keys=public
    )


def _refusal(reason: str, call, *args, **kwargs) -> str:
    with pytest.raises(DirectorySignatureError) as caught:
        call(*args, **kwargs)
    assert caught.value.reason == reason, caught.value.message
    return caught.value.message


# The service ---------------------------------------------------------------------------------


def test_a_signature_made_here_verifies_against_the_pinned_publisher_key(publisher_keys):
    keys = publisher_keys

    signature = directory_sign(content=CONTENT, fingerprint=keys.publisher.lower())

    assert signature.startswith(b"-----BEGIN PGP SIGNATURE-----")
    # Pinned in lower case with spaces, as people copy fingerprints.
    spaced = " ".join(keys.publisher.lower()[i : i + 4] for i in range(0, 40, 4))
    assert _verify(keys, signature, pinned=[spaced]) == keys.publisher


def test_a_subkey_signature_counts_for_the_pinned_primary_key(publisher_keys):
    keys = publisher_keys
    signature = directory_sign(content=CONTENT, fingerprint=keys.subkey_signer)

    verified = _verify(
        keys,
        signature,
        pinned=[keys.subkey_signer],
        publisher_keys=[keys.armored[keys.subkey_signer]],
    )

    assert verified == keys.subkey_signer


def test_signing_needs_a_secret_key_of_this_node(publisher_keys):
    absent = "0123456789ABCDEF0123456789ABCDEF01234567"

    message = _refusal(NO_SIGNING_KEY, directory_sign, content=CONTENT, fingerprint=absent)
    assert absent in message
    assert "NODE_SECRET_GNUPG_HOME" in message
    _refusal(INVALID_FINGERPRINT, directory_sign, content=CONTENT, fingerprint="89ABCDEF")


def test_the_publisher_public_key_is_exported_without_its_secret(publisher_keys):
    armored = directory_publisher_key_export(fingerprint=publisher_keys.publisher)

    assert armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert "PRIVATE" not in armored
    signature = directory_sign(content=CONTENT, fingerprint=publisher_keys.publisher)
    assert _verify(publisher_keys, signature, publisher_keys=[armored]) == publisher_keys.publisher


def test_content_changed_after_signing_is_refused(publisher_keys):
    signature = directory_sign(content=CONTENT, fingerprint=publisher_keys.publisher)

    message = _refusal(
        BAD_SIGNATURE, _verify, publisher_keys, signature, content=CONTENT.replace(b"1", b"2")
    )
    assert "changed after it was signed" in message
    assert "nothing was changed" in message


def test_a_signature_by_another_key_is_refused_even_with_its_public_key_at_hand(publisher_keys):
    keys = publisher_keys
    signature = directory_sign(content=CONTENT, fingerprint=keys.other)

    alone = _refusal(WRONG_SIGNER, _verify, keys, signature)
    # A keys directory holding the other key too: it is not imported, so it cannot count.
    offered = _refusal(
        WRONG_SIGNER,
        _verify,
        keys,
        signature,
        publisher_keys=[keys.armored[keys.publisher], keys.armored[keys.other]],
    )

    for message in (alone, offered):
        assert keys.other in message
        assert keys.publisher in message


def test_an_expired_publisher_key_is_refused(publisher_keys):
    keys = publisher_keys
    signature = keys.expired_sign(CONTENT)

    message = _refusal(
        KEY_EXPIRED,
        _verify,
        keys,
        signature,
        pinned=[keys.expired],
        publisher_keys=[keys.armored[keys.expired]],
    )
    assert keys.expired in message


def test_a_revoked_publisher_key_is_refused(publisher_keys):
    keys = publisher_keys
    signature = directory_sign(content=CONTENT, fingerprint=keys.revoked)

    message = _refusal(
        KEY_REVOKED,
        _verify,
        keys,
        signature,
        pinned=[keys.revoked],
        publisher_keys=[keys.armored[keys.revoked]],
    )
    assert "revoked" in message


def test_missing_empty_or_garbage_signatures_are_refused(publisher_keys, tmp_path):
    missing = tmp_path / "directory.json.asc"

    assert str(missing) in _refusal(MISSING_SIGNATURE, directory_signature_read, path=missing)
    _refusal(MISSING_SIGNATURE, _verify, publisher_keys, b"")
    _refusal(BAD_SIGNATURE, _verify, publisher_keys, b"not a signature at all\n")
    _refusal(
        BAD_SIGNATURE,
        _verify,
        publisher_keys,
        publisher_keys.armored[publisher_keys.other].encode(),
    )


def test_two_signatures_in_one_file_are_refused(publisher_keys):
    keys = publisher_keys
    first = gnupg.GPG(gnupghome=keys.secret_home).sign(
        CONTENT,
        detach=True,
        binary=True,
        extra_args=["--local-user", keys.publisher, "--local-user", keys.other],
    )
    assert first.data, first.stderr

    message = _refusal(BAD_SIGNATURE, _verify, keys, bytes(first.data))
    assert "exactly one" in message


def test_fingerprints_must_be_full(publisher_keys):
    for value in (
        "89ABCDEF",
        "0x" + publisher_keys.publisher[-16:],
        publisher_keys.publisher + "0",
    ):
        message = _refusal(INVALID_FINGERPRINT, fingerprints_parse, values=value)
        assert "40 hexadecimal digits" in message
    signature = directory_sign(content=CONTENT, fingerprint=publisher_keys.publisher)
    _refusal(INVALID_FINGERPRINT, _verify, publisher_keys, signature, pinned=["89ABCDEF"])
    _refusal(INVALID_FINGERPRINT, directory_publishers_pinned, given=" , ")


def test_the_publisher_keys_must_hold_a_pinned_public_key_and_nothing_secret(publisher_keys):
    keys = publisher_keys
    signature = directory_sign(content=CONTENT, fingerprint=keys.publisher)
    secret = gnupg.GPG(gnupghome=keys.secret_home).export_keys(
        keys.publisher, secret=True, expect_passphrase=False
    )
    both = keys.armored[keys.publisher] + keys.armored[keys.other]

    assert keys.publisher in _refusal(NO_PUBLISHER_KEY, _verify, keys, signature, publisher_keys=[])
    _refusal(NO_PUBLISHER_KEY, _verify, keys, signature, publisher_keys=[keys.armored[keys.other]])
    assert "secret" in _refusal(NO_PUBLISHER_KEY, _verify, keys, signature, publisher_keys=[secret])
    assert "not pinned" in _refusal(
        NO_PUBLISHER_KEY, _verify, keys, signature, publisher_keys=[both]
    )


def test_a_pinned_publisher_whose_public_key_is_not_at_hand_is_named(publisher_keys):
    keys = publisher_keys
    signature = directory_sign(content=CONTENT, fingerprint=keys.other)

    message = _refusal(
        NO_PUBLISHER_KEY, _verify, keys, signature, pinned=[keys.publisher, keys.other]
    )

    assert f"pinned publisher {keys.other}" in message
    assert "public key was not given" in message


def test_the_setting_pins_publishers_unless_the_command_line_names_them(settings, publisher_keys):
    assert directory_publishers_pinned() == []
    settings.DIRECTORY_PUBLISHER_FINGERPRINTS = f"{publisher_keys.publisher.lower()}, "
    assert directory_publishers_pinned() == [publisher_keys.publisher]
    settings.DIRECTORY_PUBLISHER_FINGERPRINTS = [publisher_keys.publisher, publisher_keys.other]
    assert directory_publishers_pinned() == [publisher_keys.publisher, publisher_keys.other]
    assert directory_publishers_pinned(given=publisher_keys.other) == [publisher_keys.other]


# The commands --------------------------------------------------------------------------------


@pytest.fixture
def directory(db) -> None:
    central = AuthorityFactory(
        identifier="ro-central",
        kind="central_authority",
        languages=["ro"],
        country=CountryFactory(),
    )
    point = AuthorityFactory(
        identifier="ro-247",
        parent=central,
        kind="point_24_7",
        available_24_7=True,
        languages=["en", "ro"],
        instruments=["preservation"],
    )
    ContactPersonFactory(authority=point, name="Ioana Pop")


@pytest.fixture
def publisher_key_file(publisher_keys, tmp_path) -> Path:
    path = tmp_path / "publisher.asc"
    call_command("export_directory", "--export-publisher-key", publisher_keys.publisher, "-o", path)
    return path


def _signed_export(tmp_path: Path, fingerprint: str) -> Path:
    path = tmp_path / "directory.json"
    call_command("export_directory", "--sign", fingerprint, "-o", str(path))
    return path


def _directory_wipe() -> None:
    ContactPerson.objects.all().delete()
    Authority.objects.filter(parent__isnull=False).delete()
    Authority.objects.all().delete()
    Country.objects.all().delete()


def test_a_signed_export_imports_on_another_node_and_verifies_with_plain_gpg(
    directory, publisher_keys, publisher_key_file, tmp_path, capsys
):
    exported = _signed_export(tmp_path, publisher_keys.publisher)
    _directory_wipe()

    call_command(
        "import_directory",
        str(exported),
        "--require-signature",
        publisher_keys.publisher,
        "--publisher-key",
        str(publisher_key_file),
    )

    assert directory_export_json().encode() == exported.read_bytes()
    assert Authority.objects.get(identifier="ro-247").parent.identifier == "ro-central"
    assert f"signed by {publisher_keys.publisher}" in capsys.readouterr().out
    home = gnupg_home("mlad-v")
    try:
        gnupg.GPG(gnupghome=home).import_keys(publisher_key_file.read_text())
        checked = subprocess.run(
            ["gpg", "--homedir", home, "--verify", f"{exported}.asc", str(exported)],
            capture_output=True,
            check=False,
        )
    finally:
        gnupg_homes_remove(home)
    assert checked.returncode == 0, checked.stderr
    assert b"Good signature" in checked.stderr


def test_a_signed_export_needs_a_file_and_a_secret_key_of_this_node(directory, tmp_path):
    with pytest.raises(CommandError, match="-o FILE"):
        call_command("export_directory", "--sign", "0123456789ABCDEF0123456789ABCDEF01234567")
    with pytest.raises(CommandError, match="holds no secret key"):
        call_command(
            "export_directory",
            "--sign",
            "0123456789ABCDEF0123456789ABCDEF01234567",
            "-o",
            str(tmp_path / "directory.json"),
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tampered", "changed after it was signed"),
        ("other signer", "not a pinned publisher"),
        ("missing signature", "no signature file"),
        ("bad fingerprint", "40 hexadecimal digits"),
    ],
)
def test_a_refused_import_names_the_reason_and_changes_nothing(
    directory, publisher_keys, publisher_key_file, tmp_path, case, expected
):
    signer = publisher_keys.other if case == "other signer" else publisher_keys.publisher
    exported = _signed_export(tmp_path, signer)
    document = exported.read_text(encoding="utf-8")
    Authority.objects.filter(identifier="ro-247").update(name="Changed here since")
    if case == "tampered":
        exported.write_text(document.replace("ro-central", "ro-hijacked"), encoding="utf-8")
    if case == "missing signature":
        Path(f"{exported}.asc").unlink()
    pinned = "89ABCDEF" if case == "bad fingerprint" else publisher_keys.publisher
    before = directory_export_json()

    with pytest.raises(CommandError, match=expected):
        call_command(
            "import_directory",
            str(exported),
            "--require-signature",
            pinned,
            "--publisher-key",
            str(publisher_key_file),
        )

    assert directory_export_json() == before
    assert Authority.objects.get(identifier="ro-247").name == "Changed here since"


def test_pinned_publishers_in_the_settings_refuse_unsigned_imports_unless_allowed(
    directory, publisher_keys, publisher_key_file, settings, tmp_path, capsys
):
    settings.DIRECTORY_PUBLISHER_FINGERPRINTS = [publisher_keys.publisher]
    settings.DIRECTORY_PUBLISHER_KEYS_DIR = str(publisher_key_file.parent)
    unsigned = tmp_path / "unsigned.json"
    call_command("export_directory", "-o", str(unsigned))
    signed = _signed_export(tmp_path, publisher_keys.publisher)
    Authority.objects.filter(identifier="ro-247").update(name="Changed here since")

    with pytest.raises(CommandError, match="no signature file"):
        call_command("import_directory", str(unsigned))
    assert Authority.objects.get(identifier="ro-247").name == "Changed here since"

    call_command("import_directory", str(unsigned), "--allow-unsigned")
    assert Authority.objects.get(identifier="ro-247").name != "Changed here since"
    assert "--allow-unsigned" in capsys.readouterr().err

    Authority.objects.filter(identifier="ro-247").update(name="Changed again")
    moved = tmp_path / "elsewhere.asc"
    Path(f"{signed}.asc").rename(moved)
    call_command("import_directory", str(signed), "--signature", str(moved))
    assert directory_export_json().encode() == signed.read_bytes()


def test_signature_options_without_pinned_publishers_are_refused(
    directory, publisher_keys, tmp_path
):
    exported = _signed_export(tmp_path, publisher_keys.publisher)

    with pytest.raises(CommandError, match="need pinned publishers"):
        call_command("import_directory", str(exported), "--signature", f"{exported}.asc")
    with pytest.raises(CommandError):
        call_command(
            "import_directory",
            str(exported),
            "--allow-unsigned",
            "--require-signature",
            publisher_keys.publisher,
        )


def test_the_publisher_key_is_printed_when_no_file_is_given(publisher_keys, capsys):
    call_command("export_directory", "--export-publisher-key", publisher_keys.publisher)

    printed = capsys.readouterr().out
    assert printed.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert printed == directory_publisher_key_export(fingerprint=publisher_keys.publisher)
