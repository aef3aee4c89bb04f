"""What an uploaded supporting document is, judged by its content, not its name."""

import io
import zipfile
from dataclasses import dataclass

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


def _zip_type(content: bytes) -> DocumentType | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                return {ODT.media_type: ODT, ODS.media_type: ODS}.get(mimetype)
            if "[Content_Types].xml" in names:
                if any(name.startswith("word/") for name in names):
                    return DOCX
                if any(name.startswith("xl/") for name in names):
                    return XLSX
                if any(name.startswith("ppt/") for name in names):
                    return PPTX
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return None


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
    kind = sniff(content)
    if kind is None:
        raise ApplicationError(
            _("“%(name)s” is not a PDF, an image or an office document.") % {"name": name}
        )
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in kind.extensions:
        raise ApplicationError(
            _("“%(name)s” is named like another kind of file than it is (%(type)s).")
            % {"name": name, "type": kind.media_type}
        )
    return kind
