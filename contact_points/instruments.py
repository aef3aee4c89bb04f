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
    # Regulation (EU) 2023/1543: orders addressed directly to a service provider's designated
    # establishment or legal representative in another Member State (its receivers in the
    # directory are service providers), and the notification of a production order to the
    # enforcing authority of the Member State where the addressee is (Art. 8).
    EPOC = "epoc", _("European Production Order (Regulation (EU) 2023/1543)")
    EPOC_PR = "epoc_pr", _("European Preservation Order (Regulation (EU) 2023/1543)")
    EPOC_NOTIFICATION = (
        "epoc_notification",
        _("Notification of a European Production Order to the enforcing authority"),
    )


# The short names lists and tables use, in the interface's language (the codes are not
# words: the French say DEE for an EIO).
SHORT_NAMES = {
    Instrument.EIO: _("EIO"),
    Instrument.MLA: _("MLA"),
    Instrument.PRESERVATION: _("Preservation"),
    Instrument.EPOC: _("EPOC"),
    Instrument.EPOC_PR: _("EPOC-PR"),
    Instrument.EPOC_NOTIFICATION: _("EPOC notification"),
}

# The instruments of Regulation (EU) 2023/1543 (e-Evidence).
E_EVIDENCE_INSTRUMENTS = frozenset(
    {Instrument.EPOC, Instrument.EPOC_PR, Instrument.EPOC_NOTIFICATION}
)


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
    if instrument in E_EVIDENCE_INSTRUMENTS:
        # Regulation (EU) 2023/1543 binds the Member States except Denmark (Protocol No 22), and
        # serves cross-border cases: the addressee is established or represented in another
        # Member State than the issuing one (Art. 1(1)); at home, national law applies.
        if not issuing.eevidence_bound:
            return Applicability(
                False, _("The issuing country does not take part in the e-Evidence Regulation.")
            )
        if not executing.eevidence_bound:
            return Applicability(
                False,
                _("The addressee's country does not take part in the e-Evidence Regulation."),
            )
        if issuing.pk == executing.pk:
            return Applicability(
                False,
                _(
                    "The e-Evidence Regulation is for a provider established or represented "
                    "in another Member State; at home, national law applies."
                ),
            )
        return Applicability(
            True, _("Both countries take part in the e-Evidence Regulation (EU) 2023/1543.")
        )
    if instrument == Instrument.MLA:
        # A letter of request always has some basis: a treaty or, failing one, reciprocity.
        return Applicability(
            True, _("Mutual legal assistance is possible on a treaty or reciprocity.")
        )
    return Applicability(False, _("Unknown instrument."))
