"""Imported by the render forkserver only: WeasyPrint loaded, the stylesheet parsed and the
fonts configured once, so that every render child forked from it starts warm."""

from mla.requests.documents.pdf_engine import warm_up

warm_up()
