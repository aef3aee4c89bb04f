"""A request's reference: one strict pattern, bound to its issuing authority.

``FR-PARIS1-EIO-2026-000042``: the issuing authority's country, its short code (the
directory's ``reference_code``), the instrument, the year, and the authority's own sequence
for that year. Numbered per authority, never from a node-wide key, a reference says nothing
of other authorities' volume; carrying the authority's code, it is unique across nodes, and
a recipient can tell whether a reference is the sender's own (mla.exchange.receive).

References stored before this pattern stay readable: the pattern applies to the references
this node makes and to those it receives.
"""

import re
from dataclasses import dataclass

from django.db import transaction

from contact_points.models import Authority
from contact_points.reference_codes import REFERENCE_CODE_PATTERN
from mla.requests.models import ReferenceCounter, Request

# The instrument's code in a reference, by request type.
REFERENCE_CODES = {
    "eio": "EIO",
    "preservation": "PRES",
    "preservation_disclosure": "PRESD",
    "mla": "MLA",
    "mla_subscriber": "MLAS",
    "epoc": "EPOC",
    "epoc_pr": "EPOCPR",
    "epoc_notification": "EPOCN",
}

# The one pattern of a reference, for what this node makes and what it accepts.
REFERENCE_RE = re.compile(
    rf"^(?P<country>[A-Z]{{2}})-(?P<authority>{REFERENCE_CODE_PATTERN})"
    r"-(?P<instrument>[A-Z]{2,8})-(?P<year>\d{4})-(?P<number>\d{6,9})$"
)


# The pattern of references made before the authority's code was in them
# (``FR-EIO-2026-000123``): still received, so that a draft numbered before an upgrade can be
# sent after it. It carries no authority code; the copy is still named by (issuer,
# reference) and a reference another issuer holds here is still refused.
LEGACY_REFERENCE_RE = re.compile(
    r"^(?P<country>[A-Z]{2})-(?P<instrument>[A-Z]{2,8})-(?P<year>\d{4})-(?P<number>\d{6})$"
)


@dataclass(frozen=True)
class ReferenceParts:
    country: str
    authority: str
    instrument: str
    year: int
    number: int


def reference_parse(reference: str) -> ReferenceParts | None:
    """The parts of a reference of the strict pattern, or None for any other text."""
    match = REFERENCE_RE.fullmatch(reference) if isinstance(reference, str) else None
    if match is None:
        return None
    return ReferenceParts(
        country=match["country"],
        authority=match["authority"],
        instrument=match["instrument"],
        year=int(match["year"]),
        number=int(match["number"]),
    )


def reference_format(*, authority: Authority, declaration_code: str, year: int, number: int) -> str:
    code = REFERENCE_CODES.get(declaration_code, "REQ")
    return f"{authority.country.code}-{authority.reference_code}-{code}-{year:04d}-{number:06d}"


@transaction.atomic
def reference_next(*, authority: Authority, declaration_code: str, year: int) -> str:
    """The next reference of ``authority`` for ``year``: its own counter, locked while it is
    read and moved on, so that two drafts started at once never share a number."""
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(
        authority=authority, year=year
    )
    while True:
        counter.last += 1
        reference = reference_format(
            authority=authority, declaration_code=declaration_code, year=year, number=counter.last
        )
        # A code once held by another authority (renamed in the directory) may have numbered
        # references already: skip any number taken.
        if not Request.objects.filter(
            reference=reference, direction=Request.Direction.OUTGOING
        ).exists():
            break
    counter.save(update_fields=["last"])
    return reference


def reference_parse_received(reference: str) -> ReferenceParts | None:
    """The parts of a reference a partner sent: of the strict pattern, or of the earlier one
    (whose ``authority`` part is then empty); None for any other text."""
    parts = reference_parse(reference)
    if parts is not None:
        return parts
    match = LEGACY_REFERENCE_RE.fullmatch(reference) if isinstance(reference, str) else None
    if match is None:
        return None
    return ReferenceParts(
        country=match["country"],
        authority="",
        instrument=match["instrument"],
        year=int(match["year"]),
        number=int(match["number"]),
    )
