"""An authority's short code in the references it issues (``FR-PARIS1-EIO-2026-000042``).

The code keeps references of two authorities of one country apart, and lets a recipient
check that a reference is the sender's own. It travels in the directory (import and
export); an entry that has none gets one derived from its identifier, the same on every
node for the same identifier.
"""

import base64
import hashlib
import re
from collections.abc import Container

REFERENCE_CODE_PATTERN = r"[A-Z0-9]{2,12}"
REFERENCE_CODE_RE = re.compile(rf"^{REFERENCE_CODE_PATTERN}$")
_MAX = 12
_STEM = 8


def _hashed(identifier: str, stem: str) -> str:
    digest = base64.b32encode(hashlib.sha256(identifier.encode("utf-8")).digest()).decode()
    return (stem[:_STEM] + digest)[:_MAX]


def reference_code_derive(*, identifier: str, country_code: str, taken: Container[str] = ()) -> str:
    """A short code for the authority ``identifier`` of ``country_code``: its identifier
    without the country prefix, in capitals and digits, cut to twelve (``fr-paris1`` →
    ``PARIS1``); when that is too short or ``taken``, eight of its characters and a digest
    of the whole identifier."""
    prefix = f"{country_code.lower()}-"
    stem = identifier.lower().removeprefix(prefix) if country_code else identifier.lower()
    readable = re.sub(r"[^A-Z0-9]", "", stem.upper())[:_MAX]
    if len(readable) >= 2 and readable not in taken:
        return readable
    # Twenty bits of digest: among thousands of entries that share a stem (numbered
    # offices), two may meet; a salted digest then tells them apart.
    salt = 0
    while True:
        code = _hashed(identifier if salt == 0 else f"{identifier}#{salt}", readable)
        if code not in taken:
            return code
        salt += 1
