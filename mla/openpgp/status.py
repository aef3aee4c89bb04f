"""gpg's machine-readable status lines (``--status-fd``), as python-gnupg leaves them in a
result's ``stderr``: what a check of a signature or a decryption reads, rather than
python-gnupg's summary (``valid`` accepts any key present in the home)."""

from typing import Any

StatusLine = tuple[str, list[str]]


def gpg_status_lines(result: Any) -> list[StatusLine]:
    """The ``[GNUPG:]`` status lines of a python-gnupg result, as (keyword, arguments)."""
    lines = []
    for line in str(getattr(result, "stderr", "") or "").splitlines():
        if line.startswith("[GNUPG:] "):
            keyword, _sep, rest = line[9:].partition(" ")
            lines.append((keyword, rest.split()))
    return lines


def validsig_primary_fingerprint(args: list[str]) -> str:
    """The primary key's fingerprint in VALIDSIG's arguments (the 10th field), also when a
    subkey made the signature."""
    return (args[9] if len(args) >= 10 else args[0]).upper()


def errsig_signer(args: list[str]) -> str:
    """The key that made a signature gpg could not check, from ERRSIG's arguments: the key
    id, or the issuer fingerprint gpg 2.2 adds as the 7th field."""
    return (args[6] if len(args) >= 7 and args[6] != "-" else args[0]).upper()
