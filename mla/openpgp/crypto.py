"""The gpg operations of the node's homes: detached signatures, their verification,
encryption and decryption of binary OpenPGP messages.

They say what gpg did and never judge it: whether a signer or a result is acceptable is
for the caller, which knows whose key it expects.
"""

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import gnupg

from mla.openpgp.homes import hosted_keyring, node_key_passphrase, partner_keyring
from mla.openpgp.status import StatusLine, gpg_status_lines

# How much of gpg's diagnostics a refusal quotes.
DETAIL_CHARS = 300


@dataclass(frozen=True)
class Signature:
    data: bytes = field(repr=False)  # empty when gpg made no signature
    signer: str  # the (sub)key that signed, upper case; empty when none did
    detail: str  # the end of gpg's diagnostics


@dataclass(frozen=True)
class Verification:
    statuses: list[StatusLine]
    returncode: int | None


@dataclass(frozen=True)
class Encryption:
    ok: bool
    data: bytes = field(repr=False)
    status: str
    status_detail: str


@dataclass(frozen=True)
class Decryption:
    ok: bool
    data: bytes = field(repr=False)
    returncode: int | None
    status: str
    statuses: list[StatusLine]
    # gpg stopped at the --max-output limit.
    output_limited: bool


def detached_sign(*, data: bytes, fingerprint: str, armor: bool = False) -> Signature:
    """A detached signature of ``data`` by the secret key ``fingerprint`` of the secret home."""
    # --local-user, not python-gnupg's keyid (--default-key): with an unusable default key
    # gpg silently signs with another secret key of the home.
    signed = hosted_keyring().sign(
        data,
        detach=True,
        binary=not armor,
        passphrase=node_key_passphrase(),
        extra_args=["--local-user", fingerprint],
    )
    made = bool(signed) and bool(signed.data)
    return Signature(
        data=bytes(signed.data) if made else b"",
        signer=str(signed.fingerprint).upper() if signed.fingerprint else "",
        detail=str(signed.stderr)[-DETAIL_CHARS:],
    )


def detached_verify(
    gpg: gnupg.GPG, *, data: bytes, signature: bytes, extra_args: Sequence[str] = ()
) -> Verification:
    """gpg's report on ``signature`` as a detached signature of ``data``, in ``gpg``'s home."""
    # python-gnupg reads a detached signature from a file only; the data goes over stdin.
    with tempfile.NamedTemporaryFile(prefix="mla-sig-") as signature_file:
        signature_file.write(signature)
        signature_file.flush()
        verified = gpg.verify_data(signature_file.name, data, extra_args=list(extra_args) or None)
    return Verification(statuses=gpg_status_lines(verified), returncode=verified.returncode)


def encrypt_to(*, data: bytes, fingerprints: Sequence[str]) -> Encryption:
    """Encrypt to keys of the public home by their fingerprints (binary, uncompressed)."""
    # always_trust is right here: every key in that keyring is addressed by its pinned
    # fingerprint, never by a name, and web-of-trust validity means nothing to the exchange.
    encrypted = partner_keyring().encrypt(
        data,
        list(dict.fromkeys(fingerprints)),
        always_trust=True,
        armor=False,
        extra_args=["--compress-algo", "none"],
    )
    return Encryption(
        ok=bool(encrypted.ok),
        data=bytes(encrypted.data),
        status=str(encrypted.status),
        status_detail=str(encrypted.status_detail),
    )


def decrypt(*, data: bytes, max_output: int) -> Decryption:
    """Decrypt with the secret home, writing at most ``max_output`` bytes."""
    decrypted = hosted_keyring().decrypt(
        data,
        passphrase=node_key_passphrase(),
        # --max-output stops a small compressed message from inflating without end.
        extra_args=["--max-output", str(max_output), "--skip-verify"],
    )
    return Decryption(
        ok=bool(decrypted.ok),
        data=bytes(decrypted.data),
        returncode=decrypted.returncode,
        status=str(decrypted.status or ""),
        statuses=gpg_status_lines(decrypted),
        output_limited=decrypted.returncode != 0 and "--max-output" in str(decrypted.stderr),
    )
