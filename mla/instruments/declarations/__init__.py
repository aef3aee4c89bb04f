"""The registry of instrument declarations (see schema.py)."""

from mla.instruments.declarations.eevidence import EPOC, EPOC_NOTIFICATION, EPOC_PR
from mla.instruments.declarations.eio import EIO
from mla.instruments.declarations.mla import MLA, MLA_SUBSCRIBER
from mla.instruments.declarations.preservation import PRESERVATION, PRESERVATION_DISCLOSURE
from mla.instruments.declarations.schema import (
    Field,
    Group,
    InstrumentDeclaration,
    Section,
    When,
)

DECLARATIONS: dict[str, InstrumentDeclaration] = {
    declaration.code: declaration
    for declaration in (
        EIO,
        PRESERVATION,
        PRESERVATION_DISCLOSURE,
        MLA,
        MLA_SUBSCRIBER,
        EPOC,
        EPOC_PR,
        EPOC_NOTIFICATION,
    )
}


def declaration_for(code: str) -> InstrumentDeclaration:
    try:
        return DECLARATIONS[code]
    except KeyError:
        from mla.core.errors import ApplicationError

        raise ApplicationError(f"Unknown request type “{code}”.") from None


__all__ = [
    "DECLARATIONS",
    "Field",
    "Group",
    "InstrumentDeclaration",
    "Section",
    "When",
    "declaration_for",
]
