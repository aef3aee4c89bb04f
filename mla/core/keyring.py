"""The node's GnuPG homes."""

from pathlib import Path

import gnupg
from django.conf import settings


def _home(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    # gpg refuses to work quietly in a home others can read; the secret keys live here.
    path.chmod(0o700)
    return path


def _secret_home(path: Path) -> Path:
    home = _home(path)
    if not (home / "pubring.kbx").exists():
        # The public halves of our key pairs in a keyring file (pubring.gpg) rather than a
        # keybox (pubring.kbx, what a new home gets): gpg caches the checks of their
        # self-signatures in a keyring only, and checks them again on every signature and
        # decryption otherwise, which made each of those take twice as long.
        (home / "pubring.gpg").touch(mode=0o600, exist_ok=True)
    return home


def secret_keyring() -> gnupg.GPG:
    """Key pairs of the authorities hosted on this node."""
    gpg = gnupg.GPG(
        gpgbinary=settings.GNUPG_BINARY,
        gnupghome=str(_secret_home(Path(settings.NODE_SECRET_GNUPG_HOME))),
    )
    gpg.encoding = "utf-8"
    return gpg


def secret_key_fingerprints_by_email(*, gpg: gnupg.GPG) -> dict[str, str]:
    """Fingerprint of each secret key, by the e-mail address of its user IDs."""
    found: dict[str, str] = {}
    for key in gpg.list_keys(secret=True):
        for uid in key.get("uids", []):
            if "<" in uid and uid.endswith(">"):
                found[uid[uid.rindex("<") + 1 : -1]] = str(key["fingerprint"])
    return found


def hosted_key_generate(*, gpg: gnupg.GPG, user_id_name: str, user_id_email: str) -> str:
    """Create a key pair and return its fingerprint.

    ed25519 for signing and cv25519 for encryption: small, fast and widely supported.
    """
    request = gpg.gen_key_input(
        key_type="EDDSA",
        key_curve="ed25519",
        key_usage="sign",
        subkey_type="ECDH",
        subkey_curve="cv25519",
        subkey_usage="encrypt",
        name_real=user_id_name,
        name_email=user_id_email,
        expire_date="3y",
        no_protection=True,
    )
    generated = gpg.gen_key(request)
    if not generated.fingerprint:
        raise RuntimeError(f"gpg could not create a key for {user_id_email}: {generated.stderr}")
    return str(generated.fingerprint)
