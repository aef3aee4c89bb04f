"""Reading a rendered PDF back as text, with poppler's pdftotext."""

import subprocess
from pathlib import Path


def pdf_pages(pdf: bytes, folder: Path, *, layout: bool = True) -> list[str]:
    """The text of each page (pdftotext separates pages with a form feed)."""
    path = folder / "document.pdf"
    path.write_bytes(pdf)
    command = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def flat(text: str) -> str:
    """Text with its line breaks and runs of spaces made single spaces."""
    return " ".join(text.split())
