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


# Decompression bombs: the check reads the central directory and a few bytes, never a
# whole member, so neither a real high-ratio member nor one whose declared sizes lie costs
# more than a few megabytes or a fraction of a second.

_ODT_MEDIA_TYPE = b"application/vnd.oasis.opendocument.text"
_GIB = 1024 * 1024 * 1024


def _odt_whose_mimetype_inflates_to(size: int) -> bytes:
    """An ODT of about a megabyte whose `mimetype` member inflates to `size` bytes."""
    buffer = io.BytesIO()
    chunk = _ODT_MEDIA_TYPE + b" " * (1024 * 1024 - len(_ODT_MEDIA_TYPE))
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("mimetype", "w") as member:
            member.write(chunk)
            blank = b" " * (1024 * 1024)
            for _ in range(size // len(blank) - 1):
                member.write(blank)
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def _declared_size_lie(content: bytes, *, member_index: int, declared: int) -> bytes:
    """The archive with one member's uncompressed size rewritten in both its headers."""
    data = bytearray(content)
    local = -1
    central = -1
    for _ in range(member_index + 1):
        local = data.index(b"PK\x03\x04", local + 1)
        central = data.index(b"PK\x01\x02", central + 1)
    data[local + 22 : local + 26] = declared.to_bytes(4, "little")
    data[central + 24 : central + 28] = declared.to_bytes(4, "little")
    return bytes(data)


def _measured(function):
    import time
    import tracemalloc

    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = function()
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return outcome, elapsed, peak


@pytest.fixture(scope="module")
def gigabyte_bomb() -> bytes:
    return _odt_whose_mimetype_inflates_to(_GIB)


def test_an_odt_whose_mimetype_inflates_to_a_gigabyte_is_refused_without_inflating_it(
    gigabyte_bomb,
):
    assert len(gigabyte_bomb) < 2 * 1024 * 1024

    def check():
        with pytest.raises(ApplicationError, match="would expand to far more than its size"):
            document_type_check(name="bomb.odt", content=gigabyte_bomb)

    _, elapsed, peak = _measured(check)
    assert elapsed < 2
    assert peak < 16 * 1024 * 1024


def test_an_odt_whose_declared_sizes_lie_is_read_a_few_bytes_only(gigabyte_bomb):
    # The headers say 100 bytes: the bounds pass, and the member, which really inflates to
    # a gigabyte, is read no further than its declared size (where its checksum fails).
    liar = _declared_size_lie(gigabyte_bomb, member_index=0, declared=100)

    def check():
        with pytest.raises(ApplicationError, match="not a PDF, an image or an office document"):
            document_type_check(name="liar.odt", content=liar)

    _, elapsed, peak = _measured(check)
    assert elapsed < 2
    assert peak < 16 * 1024 * 1024


@pytest.mark.parametrize("declared", [10 * 1024 * 1024, 300 * 1024 * 1024])
def test_a_member_declaring_too_high_a_ratio_or_size_is_refused(declared):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>" * 1000)
    liar = _declared_size_lie(buffer.getvalue(), member_index=1, declared=declared)
    with pytest.raises(ApplicationError, match="would expand to far more than its size"):
        document_type_check(name="letter.docx", content=liar)


def test_an_archive_of_too_many_members_is_refused(settings):
    settings.UPLOAD_ARCHIVE_MAX_MEMBERS = 50
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for number in range(60):
            archive.writestr(f"word/part{number}.xml", "<w:p/>")
    with pytest.raises(ApplicationError, match="would expand to far more than its size"):
        document_type_check(name="letter.docx", content=buffer.getvalue())


def test_a_genuine_odt_with_a_large_compressible_part_is_accepted():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", _ODT_MEDIA_TYPE)
        archive.writestr(
            "content.xml",
            "".join(f"<text:p>Paragraph {n} of the facts</text:p>" for n in range(100_000)),
            compress_type=zipfile.ZIP_DEFLATED,
        )
    kind = document_type_check(name="facts.odt", content=buffer.getvalue())
    assert kind.media_type == _ODT_MEDIA_TYPE.decode()
