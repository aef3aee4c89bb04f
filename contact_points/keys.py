"""Validation of the OpenPGP public keys pinned in directory entries.

A key is read by gpg itself, in a throw-away home, so that nothing typed into the
directory touches a keyring the node signs or verifies with. The fingerprint is what gpg
computes; nobody types it.
"""

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime

import gnupg
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError

# RFC 9580 public-key algorithm ids, as gpg reports them in --with-colons output.
_ALGORITHMS = {
    "1": "RSA",
    "2": "RSA",
    "3": "RSA",
    "16": "ElGamal",
    "17": "DSA",
    "18": "ECDH",
    "19": "ECDSA",
    "22": "EdDSA",
}
MINIMUM_RSA_DSA_BITS = 2048
MAX_KEY_TEXT_LENGTH = 200_000


@dataclass(frozen=True)
class PublicKeyInfo:
    fingerprint: str
    algorithm: str
    user_id: str
    created_at: datetime
    expires_at: datetime | None
    armored: str


def _timestamp(value: str) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _describe_algorithm(key: dict[str, object]) -> str:
    name = _ALGORITHMS.get(str(key.get("algo", "")), f"algorithm {key.get('algo')}")
    curve = str(key.get("curve") or "")
    return f"{name} {curve}" if curve else f"{name} {key.get('length')}"


def public_key_inspect(*, armored: str, now: datetime | None = None) -> PublicKeyInfo:
    """Read exactly one usable OpenPGP public key from ``armored`` or raise ApplicationError."""
    text = armored.strip()
    if not text:
        raise ApplicationError(_("Paste an OpenPGP public key (ASCII-armoured)."))
    if len(text) > MAX_KEY_TEXT_LENGTH:
        raise ApplicationError(_("This key block is too large to be a single public key."))
    if "PRIVATE KEY BLOCK" in text:
        raise ApplicationError(
            _(
                "This is a secret key. Never share it: paste the public key only "
                "(gpg --armor --export FINGERPRINT)."
            )
        )
    now = now or timezone.now()
    with tempfile.TemporaryDirectory(prefix="mla-keycheck-") as home:
        gpg = gnupg.GPG(gpgbinary=settings.GNUPG_BINARY, gnupghome=home)
        gpg.encoding = "utf-8"
        keys = gpg.scan_keys_mem(text)
    if len(keys) == 0:
        raise ApplicationError(
            _(
                "This is not an OpenPGP public key that gpg can read. Paste the whole block, "
                "from -----BEGIN PGP PUBLIC KEY BLOCK----- to -----END PGP PUBLIC KEY BLOCK-----."
            )
        )
    if len(keys) > 1:
        raise ApplicationError(
            _("This block holds %(count)d keys; an entry pins exactly one key.")
            % {"count": len(keys)}
        )
    key = keys[0]
    if key.get("type") == "sec":
        raise ApplicationError(
            _("This is a secret key. Never share it: paste the public key only.")
        )
    fingerprint = str(key["fingerprint"]).upper()
    validity = str(key.get("trust", ""))
    expires_at = _timestamp(str(key.get("expires", "")))
    if validity == "r":
        raise ApplicationError(
            _("Key %(fpr)s has been revoked by its owner; ask the authority for its new key.")
            % {"fpr": fingerprint}
        )
    if validity == "e" or (expires_at is not None and expires_at <= now):
        raise ApplicationError(
            _("Key %(fpr)s has expired; ask the authority for a current key.")
            % {"fpr": fingerprint}
        )
    capabilities = str(key.get("cap", ""))
    # Upper-case letters are the capabilities of the key as a whole, usable subkeys included.
    if "S" not in capabilities:
        raise ApplicationError(
            _("Key %(fpr)s cannot sign, so messages from this authority could not be verified.")
            % {"fpr": fingerprint}
        )
    if "E" not in capabilities:
        raise ApplicationError(
            _("Key %(fpr)s has no usable encryption subkey, so nothing could be sent to it.")
            % {"fpr": fingerprint}
        )
    algorithm_id = str(key.get("algo", ""))
    if algorithm_id in {"1", "2", "3", "17"} and int(str(key.get("length") or 0)) < (
        MINIMUM_RSA_DSA_BITS
    ):
        raise ApplicationError(
            _("Key %(fpr)s is too weak (%(bits)s bits); at least %(min)d are required.")
            % {"fpr": fingerprint, "bits": key.get("length"), "min": MINIMUM_RSA_DSA_BITS}
        )
    uids = key.get("uids") or [""]
    created_at = _timestamp(str(key.get("date", "")))
    assert created_at is not None  # gpg always reports the creation time
    return PublicKeyInfo(
        fingerprint=fingerprint,
        algorithm=_describe_algorithm(key),
        user_id=str(uids[0]),
        created_at=created_at,
        expires_at=expires_at,
        armored=text + "\n",
    )
