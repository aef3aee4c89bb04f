"""OpenPGP keys: reading a public key someone gave, and making key pairs.

A given key is read by gpg itself, in a throw-away home, so that nothing typed into the
directory touches a keyring the node signs or verifies with. The fingerprint is what gpg
computes; nobody types it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import gnupg
from django.utils import timezone
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.openpgp.homes import throwaway_keyring

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
    with throwaway_keyring(prefix="mla-keycheck-") as gpg:
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


# Key pairs ------------------------------------------------------------------------------

KEY_EXPIRY = "3y"


class KeyGenerationError(RuntimeError):
    """gpg made no key pair; ``stderr`` is what it said."""

    def __init__(self, *, email: str, stderr: str) -> None:
        super().__init__(f"gpg could not create a key for {email}: {stderr}")
        self.stderr = stderr


def key_pair_generate(
    *,
    gpg: gnupg.GPG,
    user_id_name: str,
    user_id_email: str,
    passphrase: str | None = None,
    expire_date: str = KEY_EXPIRY,
) -> str:
    """Create a key pair in ``gpg``'s home and return its fingerprint.

    ed25519 for signing and cv25519 for encryption: small, fast and widely supported. The
    secret key is protected by ``passphrase`` if one is given, else by nothing.
    """
    parameters: dict[str, object] = {
        "key_type": "EDDSA",
        "key_curve": "ed25519",
        "key_usage": "sign",
        "subkey_type": "ECDH",
        "subkey_curve": "cv25519",
        "subkey_usage": "encrypt",
        "name_real": user_id_name,
        "name_email": user_id_email,
        "expire_date": expire_date,
    }
    if passphrase:
        parameters["passphrase"] = passphrase
    else:
        parameters["no_protection"] = True
    generated = gpg.gen_key(gpg.gen_key_input(**parameters))
    if not generated.fingerprint:
        raise KeyGenerationError(email=user_id_email, stderr=str(generated.stderr))
    return str(generated.fingerprint)


def hosted_key_generate(*, gpg: gnupg.GPG, user_id_name: str, user_id_email: str) -> str:
    """An unprotected key pair (demo and test homes); its fingerprint."""
    return key_pair_generate(gpg=gpg, user_id_name=user_id_name, user_id_email=user_id_email)


def secret_key_fingerprints_by_email(*, gpg: gnupg.GPG) -> dict[str, str]:
    """Fingerprint of each secret key, by the e-mail address of its user IDs."""
    found: dict[str, str] = {}
    for key in gpg.list_keys(secret=True):
        for uid in key.get("uids", []):
            if "<" in uid and uid.endswith(">"):
                found[uid[uid.rindex("<") + 1 : -1]] = str(key["fingerprint"])
    return found
