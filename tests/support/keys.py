"""OpenPGP keys for the tests: short-lived GnuPG homes, key generation, authorities with a
pinned key, and the key sets the fixtures of tests/support/fixtures make once per session.

``ExchangeKeys`` (the ``exchange_keys`` fixture): ``secret`` plays this node's secret home
(hosted authorities aa-sender and bb-recipient), ``partner`` its public home, and
``foreign`` another node's secret home (cc-partner, and ee-expired, a key made "three days
ago" that expired after one day).

``TestKeys`` (the ``openpgp_keys`` fixture): keys of every kind the directory's key
validation must tell apart.
"""

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime

import gnupg

from contact_points.models import Authority
from contact_points.services import authority_apply_key_info, authority_set_public_key
from mla.openpgp.keys import PublicKeyInfo
from tests.support.factories import AuthorityFactory, CountryFactory

KEY_PARAMETERS = {
    "key_type": "EDDSA",
    "key_curve": "ed25519",
    "key_usage": "sign",
    "subkey_type": "ECDH",
    "subkey_curve": "cv25519",
    "subkey_usage": "encrypt",
    "no_protection": True,
}


def gnupg_home(prefix: str) -> str:
    # Short paths under /tmp: gpg-agent's socket path must stay under ~107 characters.
    return tempfile.mkdtemp(dir="/tmp", prefix=prefix)


def gnupg_homes_remove(*homes: str) -> None:
    for home in homes:
        subprocess.run(
            ["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False, capture_output=True
        )
        shutil.rmtree(home, ignore_errors=True)


def key_generate(gpg: gnupg.GPG, identifier: str, **options: object) -> str:
    request = gpg.gen_key_input(
        **{
            **KEY_PARAMETERS,
            "name_real": identifier,
            "name_email": f"{identifier}@keys.test.example",
            **options,
        }
    )
    generated = gpg.gen_key(request)
    assert generated.fingerprint, generated.stderr
    return str(generated.fingerprint)


@dataclass(frozen=True)
class ExchangeKeys:
    secret_home: str
    partner_home: str
    foreign_home: str
    sender: str
    sender_other: str
    recipient: str
    partner: str
    expired: str
    armored: dict[str, str]

    def foreign_sign(self, fingerprint: str, data: bytes) -> bytes:
        """A detached signature by a key of the other node."""
        signed = gnupg.GPG(gnupghome=self.foreign_home).sign(
            data, detach=True, binary=True, extra_args=["--local-user", fingerprint]
        )
        assert signed.fingerprint == fingerprint, signed.stderr
        return bytes(signed.data)

    def hosted_sign(self, fingerprint: str, data: bytes) -> bytes:
        signed = gnupg.GPG(gnupghome=self.secret_home).sign(
            data, detach=True, binary=True, extra_args=["--local-user", fingerprint]
        )
        assert signed.fingerprint == fingerprint, signed.stderr
        return bytes(signed.data)


def pinned_authority(identifier: str, armored: str = "", **fields: object) -> Authority:
    authority = AuthorityFactory(identifier=identifier, country=CountryFactory(), **fields)
    if armored:
        authority_set_public_key(authority=authority, armored=armored)
    return authority


def pin_expired_key(authority: Authority, armored: str, *, lagging: bool) -> None:
    """Pin a key that has expired (the directory checks would refuse it, so by hand).

    ``lagging``: the directory entry still believes the key valid.
    """
    home = gnupg_home("mlax-e")
    try:
        scanned = gnupg.GPG(gnupghome=home).scan_keys_mem(armored)[0]
    finally:
        gnupg_homes_remove(home)
    expires = datetime.fromtimestamp(int(scanned["expires"]), tz=UTC)
    authority_apply_key_info(
        authority=authority,
        key=PublicKeyInfo(
            fingerprint=scanned["fingerprint"],
            algorithm="EdDSA ed25519",
            user_id=scanned["uids"][0],
            created_at=datetime.fromtimestamp(int(scanned["date"]), tz=UTC),
            expires_at=None if lagging else expires,
            armored=armored,
        ),
    )
    authority.save()


@dataclass(frozen=True)
class TestKeys:
    """Real OpenPGP keys made by gpg once per test session, for the key-validation tests."""

    __test__ = False  # a data class, not tests, whatever module imports it

    valid: str
    valid_fingerprint: str
    second_valid: str
    secret: str
    sign_only: str
    revoked: str
    expired: str
    expired_fingerprint: str
    weak_rsa: str


def authority_key_generate(gpg: gnupg.GPG, name: str, **options: object) -> str:
    """A key pair for ``name``, as an authority would make it (its usages left to gpg)."""
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
