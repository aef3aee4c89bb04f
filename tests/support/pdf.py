"""Reading a rendered PDF back with poppler's tools, as a reader's viewer would."""

import subprocess
from pathlib import Path


def pdf_tool(tool: str, pdf: bytes, folder: Path, *options: str) -> str:
    """What poppler's ``tool`` (pdftotext, pdffonts) prints about ``pdf``."""
    path = folder / "document.pdf"
    path.write_bytes(pdf)
    arguments = [tool, *options, str(path)]
    if tool == "pdftotext":
        arguments.append("-")
    return subprocess.run(arguments, capture_output=True, text=True, check=True).stdout
