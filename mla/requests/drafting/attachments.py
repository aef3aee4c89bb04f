"""What an uploaded supporting document is, judged by its content, not its name."""

import io
import zipfile
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from mla.core.errors import ApplicationError


@dataclass(frozen=True)
class DocumentType:
    media_type: str
    extensions: tuple[str, ...]


PDF = DocumentType("application/pdf", (".pdf",))
PNG = DocumentType("image/png", (".png",))
JPEG = DocumentType("image/jpeg", (".jpg", ".jpeg"))
TIFF = DocumentType("image/tiff", (".tif", ".tiff"))
DOCX = DocumentType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)
)
XLSX = DocumentType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
PPTX = DocumentType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",)
)
ODT = DocumentType("application/vnd.oasis.opendocument.text", (".odt",))
ODS = DocumentType("application/vnd.oasis.opendocument.spreadsheet", (".ods",))
LEGACY_OFFICE = DocumentType("application/x-ole-storage", (".doc", ".xls", ".ppt"))


ACCEPTED_TYPES = (PDF, PNG, JPEG, TIFF, DOCX, XLSX, PPTX, ODT, ODS, LEGACY_OFFICE)
_ACCEPTED_MEDIA_TYPES = frozenset(kind.media_type for kind in ACCEPTED_TYPES)


def served_media_type(media_type: str) -> str:
    """The Content-Type a stored document is served with: the type its content showed when
    it was uploaded or received (see document_type_check), or a download of unknown bytes
    for any other (a document stored before received ones were checked)."""
    return media_type if media_type in _ACCEPTED_MEDIA_TYPES else "application/octet-stream"


class _ArchiveTooExpansive(Exception):
    """The archive would inflate beyond the bounds: a decompression bomb, or close to one."""


# A central directory entry starts with this signature: counting them in the raw bytes
# bounds the members before zipfile builds an object for each one.
_CENTRAL_DIRECTORY_ENTRY = b"PK\x01\x02"
# The ODF `mimetype` member is a short stored string; more than this is not a document.
_MIMETYPE_READ_BYTES = 100
# Members smaller than this once inflated are never a threat, whatever their ratio (a tiny
# XML part of zeros compresses a hundredfold).
_RATIO_FLOOR_BYTES = 1024 * 1024


def _archive_bounds_check(archive: zipfile.ZipFile) -> None:
    """Refuse an archive from its central directory alone, before anything is inflated.

    The declared sizes may lie; that is why nothing is ever read whole afterwards (the one
    member read is read a few bytes at most), so a lying size costs nothing either.
    """
    members = archive.infolist()
    if len(members) > settings.UPLOAD_ARCHIVE_MAX_MEMBERS:
        raise _ArchiveTooExpansive
    expanded = 0
    for member in members:
        expanded += member.file_size
        if expanded > settings.UPLOAD_ARCHIVE_MAX_EXPANDED_BYTES:
            raise _ArchiveTooExpansive
        if member.file_size > _RATIO_FLOOR_BYTES and (
            member.compress_size == 0
            or member.file_size / member.compress_size > settings.UPLOAD_ARCHIVE_MAX_RATIO
        ):
            raise _ArchiveTooExpansive


def _open_archive(content: bytes) -> zipfile.ZipFile:
    if content.count(_CENTRAL_DIRECTORY_ENTRY) > settings.UPLOAD_ARCHIVE_MAX_MEMBERS:
        raise _ArchiveTooExpansive
    archive = zipfile.ZipFile(io.BytesIO(content))
    try:
        _archive_bounds_check(archive)
    except _ArchiveTooExpansive:
        archive.close()
        raise
    return archive


def _zip_type(content: bytes) -> DocumentType | None:
    """The office type of a ZIP container, from its member names and the first bytes of
    the ODF `mimetype` member; None for any other archive, a damaged one or a bomb."""
    try:
        with _open_archive(content) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    head = member.read(_MIMETYPE_READ_BYTES + 1)
                if len(head) > _MIMETYPE_READ_BYTES:
                    return None
                mimetype = head.decode("ascii", "replace").strip()
                return {ODT.media_type: ODT, ODS.media_type: ODS}.get(mimetype)
            if "[Content_Types].xml" in names:
                if any(name.startswith("word/") for name in names):
                    return DOCX
                if any(name.startswith("xl/") for name in names):
                    return XLSX
                if any(name.startswith("ppt/") for name in names):
                    return PPTX
    except (_ArchiveTooExpansive, zipfile.BadZipFile, zipfile.LargeZipFile):
        return None
    except (zlib.error, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        # zlib errors, unsupported compression, encrypted members: not a usable document.
        return None
    return None


def _is_archive_bomb(content: bytes) -> bool:
    try:
        with _open_archive(content):
            return False
    except _ArchiveTooExpansive:
        return True
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return False


def sniff(content: bytes) -> DocumentType | None:
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return LEGACY_OFFICE
    if content.startswith(b"PK\x03\x04"):
        return _zip_type(content)
    return None


def document_type_check(*, name: str, content: bytes) -> DocumentType:
    """The document's type, or ApplicationError when it is not an accepted one."""
    if content.startswith(b"PK\x03\x04") and _is_archive_bomb(content):
        raise ApplicationError(
            _(
                "“%(name)s” would expand to far more than its size once decompressed, "
                "as no genuine document does; it is refused."
            )
            % {"name": name}
        )
    kind = sniff(content)
    if kind is None:
        raise ApplicationError(
            _("“%(name)s” is not a PDF, an image or an office document.") % {"name": name},
            code="unsupported_media_type",
        )
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in kind.extensions:
        raise ApplicationError(
            _("“%(name)s” is named like another kind of file than it is (%(type)s).")
            % {"name": name, "type": kind.media_type},
            code="unsupported_media_type",
        )
    return kind
