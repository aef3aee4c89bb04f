import io
import zipfile

import pytest

from mla.core.errors import ApplicationError
from mla.requests.drafting.attachments import document_type_check


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "media_type"),
    [
        ("order.pdf", b"%PDF-1.7\n...", "application/pdf"),
        ("photo.JPG", b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        ("scan.png", b"\x89PNG\r\n\x1a\nrest", "image/png"),
        (
            "letter.docx",
            _docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
)
def test_documents_are_recognised_by_content(name, content, media_type):
    assert document_type_check(name=name, content=content).media_type == media_type


def test_an_executable_is_refused():
    with pytest.raises(ApplicationError, match="not a PDF, an image or an office document"):
        document_type_check(name="evidence.pdf", content=b"MZ\x90\x00 program")


def test_a_file_named_as_another_kind_is_refused():
    with pytest.raises(ApplicationError, match="named like another kind of file"):
        document_type_check(name="evidence.pdf", content=b"\x89PNG\r\n\x1a\nrest")


def test_a_zip_that_is_not_an_office_document_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.sh", "echo")
    with pytest.raises(ApplicationError):
        document_type_check(name="archive.docx", content=buffer.getvalue())
