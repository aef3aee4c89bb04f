"""The instruments a request can be made under, and when each applies between two countries.

The request templates (mla) declare each instrument's form; the directory only needs to know
their codes, which authorities receive them, and which countries they bind.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from contact_points.models import Country


class Instrument(models.TextChoices):
    EIO = "eio", _("European Investigation Order (Directive 2014/41/EU)")
    MLA = "mla", _("Mutual legal assistance request (letter of request)")
    PRESERVATION = "preservation", _("Preservation request (Budapest Convention Arts. 29-30)")


# The short names lists and tables use, in the interface's language (the codes are not
# words: the French say DEE for an EIO).
SHORT_NAMES = {
    Instrument.EIO: _("EIO"),
    Instrument.MLA: _("MLA"),
    Instrument.PRESERVATION: _("Preservation"),
}


def instrument_short_name(code: str) -> str:
    name = SHORT_NAMES.get(code)  # type: ignore[call-overload]
    return str(name) if name is not None else code


@dataclass(frozen=True)
class Applicability:
    applies: bool
    reason: "StrOrPromise"


def instrument_applicability(
    *, instrument: str, issuing: "Country", executing: "Country"
) -> Applicability:
    """Whether ``instrument`` can be used from ``issuing`` to ``executing``, and why not."""
    if instrument == Instrument.EIO:
        # Directive 2014/41/EU binds the Member States except Denmark and Ireland (recitals 44-45).
        if not issuing.eio_bound:
            return Applicability(False, _("The issuing country is not bound by the EIO Directive."))
        if not executing.eio_bound:
            return Applicability(
                False, _("The executing country is not bound by the EIO Directive.")
            )
        return Applicability(True, _("Both countries are bound by the EIO Directive."))
    if instrument == Instrument.PRESERVATION:
        # Budapest Convention Art. 29: a Party may ask another Party to preserve data.
        if not (issuing.budapest_party and executing.budapest_party):
            return Applicability(
                False, _("Both countries must be Parties to the Budapest Convention.")
            )
        return Applicability(True, _("Both countries are Parties to the Budapest Convention."))
    if instrument == Instrument.MLA:
        # A letter of request always has some basis: a treaty or, failing one, reciprocity.
        return Applicability(
            True, _("Mutual legal assistance is possible on a treaty or reciprocity.")
        )
    return Applicability(False, _("Unknown instrument."))
