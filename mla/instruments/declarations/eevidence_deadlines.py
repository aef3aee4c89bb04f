"""The deadlines of the e-Evidence certificates (Regulation (EU) 2023/1543), for the Annex I
(EPOC) and Annex II (EPOC-PR) declarations to list as their ``deadlines``.

Which clock applies is decided by the rules of mla.instruments.eevidence, read through
``DeadlineRule.applies_if``; the engine (mla.requests.deadlines.engine) knows what meets each
code (MET_BY) and what holds it.

Their labels are in the catalogues (mla/instruments/labels/*.json) under ``epoc.deadline.``
and ``epoc_pr.deadline.``.
"""

from collections.abc import Mapping
from typing import Any

from mla.instruments import eevidence
from mla.instruments.declarations.schema import DeadlineRule

REGULATION = "Regulation (EU) 2023/1543"


def _ten_days_without_notification(data: Mapping[str, Any]) -> bool:
    return not eevidence.is_emergency(data) and not eevidence.notification_required(data)


def _ten_days_with_notification(data: Mapping[str, Any]) -> bool:
    return not eevidence.is_emergency(data) and eevidence.notification_required(data)


# One code, "production", whichever of the three clocks applies (they exclude each other):
# what the queue, the statistics and the escalation read is the addressee's time to produce.
PRODUCTION = DeadlineRule(
    code="production",
    label="epoc.deadline.production",
    source=f"{REGULATION}, Art. 10(3)",
    starts_at="received",
    days=10,
    applies_if=_ten_days_without_notification,
)
# Art. 10(2): where the enforcing authority is notified, the data are transmitted at the
# end of its 10 days (Art. 12(2)) counted from the receipt of the certificate; earlier when
# it says it raises no ground (see mla.requests.lifecycle.eevidence.production_allowed).
PRODUCTION_NOTIFIED = DeadlineRule(
    code="production",
    label="epoc.deadline.production",
    source=f"{REGULATION}, Art. 10(2)",
    starts_at="received",
    days=10,
    applies_if=_ten_days_with_notification,
)
PRODUCTION_EMERGENCY = DeadlineRule(
    code="production",
    label="epoc.deadline.production_emergency",
    source=f"{REGULATION}, Art. 10(4)",
    starts_at="received",
    hours=8,
    applies_if=eevidence.is_emergency,
)
# [K] Art. 10(5)-(6) as read here: the issuing authority reacts within 5 days of receiving
# the Annex III (not verified against the Official Journal).
IMPOSSIBILITY_ANSWER = DeadlineRule(
    code="impossibility_answer",
    label="epoc.deadline.impossibility_answer",
    source=f"{REGULATION}, Art. 10(5)-(6)",
    starts_at="impossibility_reported",
    days=5,
)
# Art. 11(1): 60 days from the preservation, 30 more by Annex VI, kept after Annex V until
# the production request is decided (the engine's follow-up hold).
PRESERVATION = DeadlineRule(
    code="preservation",
    label="epoc_pr.deadline.preservation",
    source=f"{REGULATION}, Art. 11(1)",
    starts_at="preserved",
    days=60,
)
PRESERVATION_EXTENSION_DAYS = 30  # Annex VI, once

EPOC_DEADLINES = (PRODUCTION, PRODUCTION_NOTIFIED, PRODUCTION_EMERGENCY, IMPOSSIBILITY_ANSWER)
EPOC_PR_DEADLINES = (PRESERVATION, IMPOSSIBILITY_ANSWER)
