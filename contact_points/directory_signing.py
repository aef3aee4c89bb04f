"""Signed directory files, so that nodes sharing one directory can trust what they import.

A publisher signs the export with a key held in the node's secret home: a detached,
ASCII-armoured signature written next to the file (``directory.json.asc``), which plain
``gpg --verify directory.json.asc directory.json`` checks.

An importing node pins the publishers it trusts by their full fingerprints (on the command
line or in ``DIRECTORY_PUBLISHER_FINGERPRINTS``) and holds their public keys as files
(``--publisher-key`` or ``DIRECTORY_PUBLISHER_KEYS_DIR``). The signature is checked in a
throw-away GnuPG home holding those pinned keys only: neither the node's partner keys nor
anything else a signature could happen to verify against. A signature counts only when gpg
reports it good (VALIDSIG) for a primary key whose fingerprint is pinned, neither expired
nor revoked; ``valid`` alone would accept any key present in the home.

The bytes verified are the bytes imported: callers read the file once and pass the same
``bytes`` to the check and to the import.
"""

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import gnupg
from django.conf import settings
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError
from mla.openpgp.crypto import detached_sign, detached_verify
from mla.openpgp.homes import hosted_keyring, throwaway_keyring
from mla.openpgp.status import StatusLine, errsig_signer, validsig_primary_fingerprint

SIGNATURE_SUFFIX = ".asc"
# A detached signature is a few hundred bytes; anything far larger is not one.
MAX_SIGNATURE_BYTES = 64 * 1024
MAX_PUBLIC_KEY_BYTES = 200_000
_FINGERPRINT = re.compile(r"[0-9A-F]{40}")

# Refusal reasons, stable for tests and logs.
INVALID_FINGERPRINT = "invalid_fingerprint"
NO_SIGNING_KEY = "no_signing_key"
SIGNING_FAILED = "signing_failed"
NO_PUBLISHER_KEY = "no_publisher_key"
MISSING_SIGNATURE = "missing_signature"
BAD_SIGNATURE = "bad_signature"
WRONG_SIGNER = "wrong_signer"
KEY_EXPIRED = "key_expired"
KEY_REVOKED = "key_revoked"


class DirectorySignatureError(ApplicationError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, extra={"reason": reason})
        self.reason = reason


def _refused(reason: str, message: str) -> DirectorySignatureError:
    return DirectorySignatureError(
        reason,
        _("The directory file was not imported; nothing was changed. %(reason)s")
        % {"reason": message},
    )


def fingerprints_parse(*, values: str | Iterable[str]) -> list[str]:
    """Full OpenPGP fingerprints from a comma-separated text or a list, upper case.

    Spaces inside are allowed (fingerprints are often written in groups of four); short
    key ids are not, since anyone can make a key with a chosen short id.
    """
    items = values.split(",") if isinstance(values, str) else list(values)
    fingerprints: list[str] = []
    for item in items:
        text = "".join(str(item).split()).upper()
        if not text:
            continue
        if not _FINGERPRINT.fullmatch(text):
            raise DirectorySignatureError(
                INVALID_FINGERPRINT,
                _(
                    "“%(value)s” is not a full OpenPGP fingerprint (40 hexadecimal digits, "
                    "as gpg --fingerprint shows it)."
                )
                % {"value": str(item).strip()},
            )
        if text not in fingerprints:
            fingerprints.append(text)
    return fingerprints


def directory_publishers_pinned(*, given: str | None = None) -> list[str]:
    """The publishers an import must be signed by: ``given``, else the setting; [] if none."""
    if given is not None:
        pinned = fingerprints_parse(values=given)
        if not pinned:
            raise DirectorySignatureError(
                INVALID_FINGERPRINT, _("Name at least one publisher fingerprint.")
            )
        return pinned
    configured = getattr(settings, "DIRECTORY_PUBLISHER_FINGERPRINTS", None) or ()
    return fingerprints_parse(values=configured)


def directory_publisher_keys_read(*, paths: Sequence[str | Path] = ()) -> list[bytes]:
    """The publisher key files named, else every ``*.asc`` in ``DIRECTORY_PUBLISHER_KEYS_DIR``."""
    files: list[Path] = [Path(path) for path in paths]
    if not files:
        directory = getattr(settings, "DIRECTORY_PUBLISHER_KEYS_DIR", None)
        if directory:
            files = sorted(Path(directory).glob("*.asc"))
    keys = []
    for path in files:
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_PUBLIC_KEY_BYTES + 1)
        except OSError as error:
            raise DirectorySignatureError(
                NO_PUBLISHER_KEY,
                _("The publisher key file %(path)s cannot be read: %(error)s")
                % {"path": path, "error": error.strerror},
            ) from error
        if len(data) > MAX_PUBLIC_KEY_BYTES:
            raise DirectorySignatureError(
                NO_PUBLISHER_KEY,
                _("The publisher key file %(path)s is too large to be a public key.")
                % {"path": path},
            )
        keys.append(data)
    return keys


# Publishing ------------------------------------------------------------------------------


def _secret_key(fingerprint: str) -> dict[str, Any]:
    """The secret key ``fingerprint`` of the node's secret home, or a clear refusal."""
    parsed = fingerprints_parse(values=[fingerprint])
    if len(parsed) != 1:
        raise DirectorySignatureError(
            INVALID_FINGERPRINT, _("Give the full fingerprint of the publisher key.")
        )
    fingerprint = parsed[0]
    found = [
        key
        for key in hosted_keyring().list_keys(secret=True, keys=[fingerprint])
        if str(key["fingerprint"]).upper() == fingerprint
    ]
    if not found:
        raise DirectorySignatureError(
            NO_SIGNING_KEY,
            _(
                "The node's secret GnuPG home (NODE_SECRET_GNUPG_HOME) holds no secret key "
                "with fingerprint %(fingerprint)s."
            )
            % {"fingerprint": fingerprint},
        )
    return dict(found[0])


def directory_sign(*, content: bytes, fingerprint: str) -> bytes:
    """A detached ASCII-armoured signature of ``content`` by a secret key of this node."""
    key = _secret_key(fingerprint)
    primary = str(key["fingerprint"]).upper()
    signed = detached_sign(data=content, fingerprint=primary, armor=True)
    # gpg names the key that made the signature: the primary key or one of its subkeys.
    own = {primary} | {str(sub[2]).upper() for sub in key.get("subkeys", []) if sub[2]}
    if not signed.data or signed.signer not in own:
        raise DirectorySignatureError(
            SIGNING_FAILED,
            _(
                "gpg could not sign with key %(fingerprint)s (expired, revoked or locked?): "
                "%(detail)s"
            )
            % {"fingerprint": primary, "detail": signed.detail},
        )
    return signed.data


def directory_publisher_key_export(*, fingerprint: str) -> str:
    """The ASCII-armoured public key of a publisher key held in the node's secret home."""
    primary = str(_secret_key(fingerprint)["fingerprint"]).upper()
    armored = str(hosted_keyring().export_keys(primary))
    if "BEGIN PGP PUBLIC KEY BLOCK" not in armored:
        raise DirectorySignatureError(
            SIGNING_FAILED,
            _("gpg could not export the public key %(fingerprint)s.") % {"fingerprint": primary},
        )
    return armored


# Verifying -------------------------------------------------------------------------------


def _pinned_keys_import(
    gpg: gnupg.GPG, *, publisher_keys: Sequence[bytes | str], pinned: Sequence[str]
) -> None:
    """Import into the throw-away home the key blocks that hold pinned keys, and only those."""
    wanted = set(pinned)
    imported: set[str] = set()
    for number, block in enumerate(publisher_keys, start=1):
        text = block.decode("utf-8", "replace") if isinstance(block, bytes) else block
        scanned = gpg.scan_keys_mem(text)
        found = {str(key.get("fingerprint", "")).upper() for key in scanned}
        if any(key.get("type") == "sec" for key in scanned) or "PRIVATE KEY BLOCK" in text:
            raise _refused(
                NO_PUBLISHER_KEY,
                _("Publisher key %(number)d is a secret key; give the public key only.")
                % {"number": number},
            )
        if not found & wanted:
            # Another publisher's key (a keys directory may hold several): not imported.
            continue
        if not found <= wanted:
            raise _refused(
                NO_PUBLISHER_KEY,
                _(
                    "Publisher key %(number)d also holds keys that are not pinned "
                    "(%(others)s); give each pinned key on its own."
                )
                % {"number": number, "others": ", ".join(sorted(found - wanted))},
            )
        result = gpg.import_keys(text)
        done = {str(fpr).upper() for fpr in result.fingerprints if fpr}
        if not done or not done <= wanted:
            raise _refused(
                NO_PUBLISHER_KEY,
                _("gpg could not import publisher key %(number)d: %(detail)s")
                % {"number": number, "detail": str(result.stderr)[-300:]},
            )
        imported |= done
    if not imported:
        raise _refused(
            NO_PUBLISHER_KEY,
            _(
                "No public key of a pinned publisher (%(pinned)s) was given: pass it with "
                "--publisher-key or put it in DIRECTORY_PUBLISHER_KEYS_DIR."
            )
            % {"pinned": ", ".join(pinned)},
        )


def directory_signature_read(*, path: Path) -> bytes:
    """The detached signature at ``path``; a refusal naming it when there is none."""
    try:
        with path.open("rb") as handle:
            signature = handle.read(MAX_SIGNATURE_BYTES + 1)
    except FileNotFoundError as error:
        raise _refused(
            MISSING_SIGNATURE,
            _("It must be signed, and there is no signature file %(path)s.") % {"path": path},
        ) from error
    except OSError as error:
        raise _refused(
            MISSING_SIGNATURE,
            _("The signature file %(path)s cannot be read: %(error)s")
            % {"path": path, "error": error.strerror},
        ) from error
    return signature


def _statuses_check(statuses: list[StatusLine], *, pinned: Sequence[str]) -> str:
    keywords = [keyword for keyword, _args in statuses]
    if "NEWSIG" not in keywords:
        raise _refused(BAD_SIGNATURE, _("The signature file holds no OpenPGP signature."))
    # python-gnupg folds several signatures into one result: exactly one is accepted.
    if keywords.count("NEWSIG") != 1:
        raise _refused(BAD_SIGNATURE, _("The signature file must hold exactly one signature."))
    if "BADSIG" in keywords:
        raise _refused(
            BAD_SIGNATURE,
            _(
                "Bad signature: the file was changed after it was signed, or the signature "
                "belongs to another file."
            ),
        )
    errors = [args for keyword, args in statuses if keyword == "ERRSIG"]
    if errors and "NO_PUBKEY" in keywords:
        signer = errsig_signer(errors[0])
        if signer in pinned:
            raise _refused(
                NO_PUBLISHER_KEY,
                _(
                    "The file is signed by the pinned publisher %(signer)s, but its public key "
                    "was not given."
                )
                % {"signer": signer},
            )
        raise _refused(
            WRONG_SIGNER,
            _("The file is signed by key %(signer)s, which is not a pinned publisher (%(pinned)s).")
            % {"signer": signer, "pinned": ", ".join(pinned)},
        )
    valid = [args for keyword, args in statuses if keyword == "VALIDSIG"]
    if errors or len(valid) != 1:
        raise _refused(BAD_SIGNATURE, _("gpg could not verify the signature."))
    signed_by = validsig_primary_fingerprint(valid[0])
    if signed_by not in pinned:
        raise _refused(
            WRONG_SIGNER,
            _("The file is signed by key %(signer)s, which is not a pinned publisher (%(pinned)s).")
            % {"signer": signed_by, "pinned": ", ".join(pinned)},
        )
    if "REVKEYSIG" in keywords or "KEYREVOKED" in keywords:
        raise _refused(
            KEY_REVOKED,
            _("The publisher key %(fingerprint)s has been revoked.") % {"fingerprint": signed_by},
        )
    if "EXPKEYSIG" in keywords or "KEYEXPIRED" in keywords:
        raise _refused(
            KEY_EXPIRED,
            _("The publisher key %(fingerprint)s has expired.") % {"fingerprint": signed_by},
        )
    if "EXPSIG" in keywords:
        raise _refused(BAD_SIGNATURE, _("The signature has expired."))
    # PLAINTEXT: a whole signed message where a detached signature belongs.
    if "GOODSIG" not in keywords or "PLAINTEXT" in keywords:
        raise _refused(BAD_SIGNATURE, _("gpg could not verify the signature."))
    return signed_by


def directory_signature_verify(
    *,
    content: bytes,
    signature: bytes,
    pinned: Sequence[str],
    publisher_keys: Sequence[bytes | str],
) -> str:
    """The pinned fingerprint that signed ``content``; DirectorySignatureError if none did."""
    wanted = fingerprints_parse(values=pinned)
    if not wanted:
        raise _refused(INVALID_FINGERPRINT, _("No publisher fingerprint is pinned."))
    if not signature.strip():
        raise _refused(MISSING_SIGNATURE, _("The signature file is empty."))
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise _refused(BAD_SIGNATURE, _("The signature file is too large to be a signature."))
    # A home of its own, holding the pinned keys only: whatever else this node trusts for
    # other purposes can never make a directory signature count.
    with throwaway_keyring(prefix="mla-dirsig-") as gpg:
        _pinned_keys_import(gpg, publisher_keys=publisher_keys, pinned=wanted)
        verified = detached_verify(
            gpg, data=content, signature=signature, extra_args=["--no-auto-key-retrieve"]
        )
    signed_by = _statuses_check(verified.statuses, pinned=wanted)
    if verified.returncode != 0:
        raise _refused(BAD_SIGNATURE, _("gpg could not verify the signature."))
    return signed_by
