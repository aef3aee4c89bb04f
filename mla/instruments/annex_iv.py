"""Annex IV of Regulation (EU) 2023/1543: the categories of offences for which the
enforcing authority does not check double criminality (Art. 12(1)(d)) when the offence is
punishable in the issuing State by a custodial sentence of a maximum of at least 3 years.

UNVERIFIED: the list is from knowledge of the instrument, not read in the Official Journal
(the annex could not be reached from this machine). It is taken to be the same list of 32
categories as Annex D of Directive 2014/41/EU (the EIO), whose codes it reuses, so that a
statistic counts an offence the same way under either instrument. Check it against
OJ L 191, 28.7.2023 before relying on it.
"""

from mla.instruments.offence_categories import LISTED_OFFENCE_CATEGORIES

ANNEX_IV_VERIFIED = False
ANNEX_IV_CATEGORIES: tuple[str, ...] = LISTED_OFFENCE_CATEGORIES
# The certificates' field that names the category (Annex I, section G).
ANNEX_IV_SECTION = "G"
ANNEX_IV_FIELD = "annex_iv_category"
_LABEL_PREFIX = f"epoc.{ANNEX_IV_SECTION}.{ANNEX_IV_FIELD}"


def annex_iv_label_key(code: str) -> str:
    """The label key of an Annex IV category (in mla/instruments/labels/*.json)."""
    return f"{_LABEL_PREFIX}.{code}"
