"""Checks of the properties PDF/A-3b (ISO 19005-3, level B) requires that can be read from
the file with pypdf. Not a full validator (veraPDF is not packaged in Debian): it checks
the file header, identifier and encryption; the XMP stream, its PDF/A identification and
its agreement with the document information; the output intent; font embedding;
forbidden actions and filters; annotations' print flag; the associated (embedded) files."""

import io
import re
from typing import Any

from pypdf import PdfReader
from pypdf.generic import DictionaryObject, IndirectObject, StreamObject

FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def _resolved(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _objects(reader: PdfReader) -> list[DictionaryObject]:
    """Every dictionary and stream of the file, each once."""
    seen: set[tuple[int, int]] = set()
    found: list[DictionaryObject] = []
    stack: list[Any] = [reader.trailer["/Root"]]
    while stack:
        value = stack.pop()
        if isinstance(value, IndirectObject):
            key = (value.idnum, value.generation)
            if key in seen:
                continue
            seen.add(key)
            value = value.get_object()
        if isinstance(value, DictionaryObject):
            found.append(value)
            stack.extend(item for name, item in value.items() if name != "/Parent")
        elif isinstance(value, list):
            stack.extend(value)
    return found


def pdfa3b_problems(pdf: bytes) -> list[str]:
    problems: list[str] = []
    # ISO 19005-3, 6.1.2: the header, then a comment of four bytes above 127.
    if not re.match(rb"%PDF-1\.[4-7]\r?\n%[\x80-\xff]{4}", pdf):
        problems.append("file header")
    reader = PdfReader(io.BytesIO(pdf))
    trailer = reader.trailer
    if len(trailer.get("/ID", [])) != 2:
        problems.append("trailer /ID")
    if "/Encrypt" in trailer:
        problems.append("encrypted")
    root = _resolved(trailer["/Root"])

    # 6.6.2 and 6.6.4: XMP metadata identifying part 3, conformance B. (Unlike PDF/A-1,
    # parts 2 and 3 allow the metadata stream to be compressed.)
    metadata = _resolved(root.get("/Metadata"))
    if not isinstance(metadata, StreamObject):
        return [*problems, "no XMP metadata"]
    if metadata.get("/Type") != "/Metadata" or metadata.get("/Subtype") != "/XML":
        problems.append("metadata stream type")
    xmp = metadata.get_data().decode("utf-8")
    if not re.search(r"pdfaid:part(=\"|>)3", xmp):
        problems.append("pdfaid:part is not 3")
    if not re.search(r"pdfaid:conformance(=\"|>)B", xmp):
        problems.append("pdfaid:conformance is not B")
    # 6.6.3: the document information agrees with the XMP.
    info = _resolved(trailer.get("/Info")) or {}
    for key, prefix in (("/Producer", "pdf:Producer"), ("/Title", "dc:title")):
        if key in info and str(info[key]) not in _xml_text(xmp):
            problems.append(f"{key} differs from {prefix}")

    # 6.2.3: an output intent with an ICC profile.
    intents = [_resolved(i) for i in root.get("/OutputIntents", [])]
    if not any(
        i.get("/S") == "/GTS_PDFA1"
        and isinstance(_resolved(i.get("/DestOutputProfile")), StreamObject)
        for i in intents
    ):
        problems.append("no PDF/A output intent with an ICC profile")

    objects = _objects(reader)
    for obj in objects:
        kind = obj.get("/Type")
        # 6.2.11.4: every font program embedded.
        if kind == "/FontDescriptor" and not any(name in obj for name in FONT_FILES):
            problems.append(f"font not embedded: {obj.get('/FontName')}")
        # 6.6.1 and 6.1.7: no JavaScript, no launch actions, no LZW.
        if obj.get("/S") in ("/JavaScript", "/Launch", "/ImportData", "/ResetForm"):
            problems.append(f"forbidden action {obj.get('/S')}")
        if obj.get("/Filter") == "/LZWDecode":
            problems.append("LZW filter")
        # 6.3.2: annotations printed.
        if kind == "/Annot" and obj.get("/Subtype") != "/Popup" and not int(obj.get("/F", 0)) & 4:
            problems.append("annotation without the print flag")
    if "/JavaScript" in _resolved(root.get("/Names", DictionaryObject())):
        problems.append("document JavaScript")

    # 6.8: embedded files are associated files, each with its relationship, names and type.
    specs = [o for o in objects if o.get("/Type") == "/Filespec"]
    associated = [_resolved(f) for f in root.get("/AF", [])]
    if len(associated) != len({id(f) for f in associated}) or len(associated) != len(specs):
        problems.append(f"catalogue /AF lists {len(associated)} for {len(specs)} files")
    for spec in specs:
        if "/AFRelationship" not in spec or "/F" not in spec or "/UF" not in spec:
            problems.append("file specification without /AFRelationship, /F or /UF")
        stream = _resolved(spec["/EF"]["/F"])
        if "/Subtype" not in stream:
            problems.append("embedded file without a MIME type")
    return problems


def _xml_text(xmp: str) -> str:
    return (
        xmp.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&#39;", "'")
        .replace("&apos;", "'")
    )
