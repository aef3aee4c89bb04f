"""The tar archive (ustar) inside a sealed message, and inside a receipt."""

import hashlib
import io
import tarfile
from collections.abc import Callable, Sequence
from datetime import datetime

from django.utils.translation import gettext as _

from mla.exchange.wire.errors import malformed
from mla.exchange.wire.fields import SHA256_PATTERN
from mla.exchange.wire.manifest import MANIFEST_ENTRY, Document

SIGNATURE_ENTRY = "manifest.json.sig"
DOCUMENTS_PREFIX = "documents/"


def tar_build(entries: Sequence[tuple[str, bytes]], *, mtime: datetime) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = int(mtime.timestamp())
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def archive_entries(data: bytes, *, allowed: Callable[[str], bool]) -> dict[str, bytes]:
    """The regular files of a tar archive; anything else, twice or unexpected, is malformed."""
    entries: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for member in archive:
                if not member.isreg() or member.issparse():
                    raise malformed(_("The message holds an entry that is not a plain file."))
                if member.name in entries or not allowed(member.name):
                    raise malformed(
                        _("The message holds an unexpected entry %(name)s.")
                        % {"name": member.name[:120]}
                    )
                handle = archive.extractfile(member)
                assert handle is not None  # a regular file always has content
                entries[member.name] = handle.read()
    except (tarfile.TarError, EOFError, ValueError, OSError) as error:
        raise malformed(
            _("The message content is not a readable archive: %(error)s") % {"error": error}
        ) from error
    return entries


def message_entry_allowed(name: str) -> bool:
    if name in {MANIFEST_ENTRY, SIGNATURE_ENTRY}:
        return True
    return name.startswith(DOCUMENTS_PREFIX) and bool(
        SHA256_PATTERN.fullmatch(name[len(DOCUMENTS_PREFIX) :])
    )


def message_container_build(
    *,
    manifest_bytes: bytes,
    signature: bytes | None,
    documents: Sequence[Document],
    mtime: datetime,
) -> bytes:
    """The tar archive inside a sealed message (``signature`` None leaves it out)."""
    entries = [(MANIFEST_ENTRY, manifest_bytes)]
    if signature is not None:
        entries.append((SIGNATURE_ENTRY, signature))
    seen = set()
    for document in documents:
        digest = hashlib.sha256(document.content).hexdigest()
        if digest not in seen:
            seen.add(digest)
            entries.append((f"{DOCUMENTS_PREFIX}{digest}", document.content))
    return tar_build(entries, mtime=mtime)
