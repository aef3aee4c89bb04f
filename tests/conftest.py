import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gnupg
import pytest
from django.conf import settings
from django.utils import translation

pytest_plugins = ["tests.support.fixtures.requests"]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    # A request in French leaves French active in the thread; each test starts in English.
    with translation.override(settings.LANGUAGE_CODE):
        yield


@dataclass(frozen=True)
class TestKeys:
    """Real OpenPGP keys made by gpg once per test session, for the key-validation tests."""

    valid: str
    valid_fingerprint: str
    second_valid: str
    secret: str
    sign_only: str
    revoked: str
    expired: str
    expired_fingerprint: str
    weak_rsa: str


def _generate(gpg: gnupg.GPG, name: str, **options: object) -> str:
    params = {
        "key_type": "EDDSA",
        "key_curve": "ed25519",
        "subkey_type": "ECDH",
        "subkey_curve": "cv25519",
        "name_real": name,
        "name_email": f"{name.lower().replace(' ', '.')}@example.org",
        "no_protection": True,
        **options,
    }
    if params.get("subkey_type") is None:
        for key in ("subkey_type", "subkey_curve"):
            params.pop(key)
    result = gpg.gen_key(gpg.gen_key_input(**params))
    assert result.fingerprint, result.stderr
    return str(result.fingerprint)


@pytest.fixture(scope="session")
def openpgp_keys() -> Iterator[TestKeys]:
    with tempfile.TemporaryDirectory(prefix="mla-test-keys-") as home:
        os.chmod(home, 0o700)
        gpg = gnupg.GPG(gnupghome=home)
        valid = _generate(gpg, "Valid Authority")
        second = _generate(gpg, "Second Authority")
        sign_only = _generate(gpg, "Sign Only", subkey_type=None)
        to_revoke = _generate(gpg, "Revoked Authority")
        weak = _generate(
            gpg,
            "Weak Authority",
            key_type="RSA",
            key_length=1024,
            subkey_type="RSA",
            subkey_length=1024,
        )
        # gpg writes a revocation certificate at key creation; importing it revokes the key.
        certificate = (Path(home) / "openpgp-revocs.d" / f"{to_revoke}.rev").read_text()
        gpg.import_keys(certificate.replace(":-----BEGIN", "-----BEGIN"))
        with tempfile.TemporaryDirectory(prefix="mla-test-old-") as old_home:
            os.chmod(old_home, 0o700)
            # A key made "in 2020" that expired the same year.
            old = gnupg.GPG(gnupghome=old_home, options=["--faked-system-time", "20200101T000000"])
            expired = _generate(old, "Expired Authority", expire_date="2020-06-01")
            expired_armored = gnupg.GPG(gnupghome=old_home).export_keys(expired)
        yield TestKeys(
            valid=gpg.export_keys(valid),
            valid_fingerprint=valid,
            second_valid=gpg.export_keys(second),
            secret=gpg.export_keys(valid, secret=True, expect_passphrase=False),
            sign_only=gpg.export_keys(sign_only),
            revoked=gpg.export_keys(to_revoke),
            expired=expired_armored,
            expired_fingerprint=expired,
            weak_rsa=gpg.export_keys(weak),
        )
