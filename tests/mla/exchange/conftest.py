"""Keys for the exchange tests, made once per session in short-lived GnuPG homes.

``secret`` plays this node's secret home (hosted authorities aa-sender and bb-recipient),
``partner`` its public home, and ``foreign`` another node's secret home (cc-partner, and
ee-expired, a key made "three days ago" that expired after one day).
"""

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import gnupg
import pytest
from django.utils import timezone

from contact_points.models import Authority
from contact_points.services import authority_apply_key_info, authority_set_public_key
from mla.exchange.wire.container import message_container_build
from mla.exchange.wire.manifest import Document, Manifest, manifest_build
from mla.exchange.wire.seal import message_encrypt
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


@pytest.fixture(scope="session")
def exchange_keys() -> Iterator[ExchangeKeys]:
    secret, partner, foreign = gnupg_home("mlax-s"), gnupg_home("mlax-p"), gnupg_home("mlax-f")
    try:
        hosted = gnupg.GPG(gnupghome=secret)
        other = gnupg.GPG(gnupghome=foreign)
        sender = key_generate(hosted, "aa-sender")
        sender_other = key_generate(hosted, "aa-sender")
        recipient = key_generate(hosted, "bb-recipient")
        partner_key = key_generate(other, "cc-partner")
        three_days_ago = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() - 3 * 86400))
        old = gnupg.GPG(gnupghome=foreign, options=["--faked-system-time", three_days_ago])
        expired = key_generate(old, "ee-expired", expire_date="1d")
        armored = {fpr: hosted.export_keys(fpr) for fpr in (sender, sender_other, recipient)}
        armored |= {fpr: other.export_keys(fpr) for fpr in (partner_key, expired)}
        yield ExchangeKeys(
            secret_home=secret,
            partner_home=partner,
            foreign_home=foreign,
            sender=sender,
            sender_other=sender_other,
            recipient=recipient,
            partner=partner_key,
            expired=expired,
            armored=armored,
        )
    finally:
        gnupg_homes_remove(secret, partner, foreign)


@pytest.fixture(autouse=True)
def _exchange_homes(settings, exchange_keys: ExchangeKeys) -> None:
    settings.NODE_SECRET_GNUPG_HOME = Path(exchange_keys.secret_home)
    settings.NODE_GNUPG_HOME = Path(exchange_keys.partner_home)


@pytest.fixture
def fresh_homes(settings) -> Iterator[tuple[Path, Path]]:
    """Empty secret and partner homes for a test that changes keyrings."""
    secret, partner = gnupg_home("mlax-fs"), gnupg_home("mlax-fp")
    settings.NODE_SECRET_GNUPG_HOME = Path(secret)
    settings.NODE_GNUPG_HOME = Path(partner)
    yield Path(secret), Path(partner)
    gnupg_homes_remove(secret, partner)


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


@pytest.fixture
def sender(db, exchange_keys: ExchangeKeys) -> Authority:
    return pinned_authority(
        "aa-sender", exchange_keys.armored[exchange_keys.sender], name="Sending office"
    )


@pytest.fixture
def recipient(db, exchange_keys: ExchangeKeys) -> Authority:
    return pinned_authority(
        "bb-recipient", exchange_keys.armored[exchange_keys.recipient], name="Receiving office"
    )


@pytest.fixture
def partner(db, exchange_keys: ExchangeKeys) -> Authority:
    """An authority hosted on another node."""
    return pinned_authority("cc-partner", exchange_keys.armored[exchange_keys.partner])


PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def sample_documents() -> list[Document]:
    return [
        Document(name="request.pdf", media_type="application/pdf", content=PDF),
        Document(name="annex 1 - évidence.txt", media_type="text/plain", content="é".encode()),
    ]


def sample_manifest(
    sender: Authority,
    recipient: Authority,
    documents: list[Document],
    *,
    created_at: datetime | None = None,
    message_id: str | None = None,
) -> Manifest:
    return manifest_build(
        kind="request",
        sender=sender,
        recipient=recipient,
        reference="FR-2026-0001",
        data={"instrument": "eio", "sections": {"A": {"facts": "ü", "count": 3}}},
        documents=documents,
        created_at=created_at,
        message_id=message_id,
    )


def forge(
    *,
    manifest_bytes: bytes,
    signature: bytes | None,
    documents: list[Document],
    encrypt_to: list[str],
) -> bytes:
    """A message put together by hand, for the refusals: same container, same encryption."""
    container = message_container_build(
        manifest_bytes=manifest_bytes,
        signature=signature,
        documents=documents,
        mtime=timezone.now(),
    )
    return message_encrypt(container=container, fingerprints=encrypt_to)
