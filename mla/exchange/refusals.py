"""The inbox's refusals, counted by reason for the node's administrators (the operations
page): the time and the reason code only, kept REFUSALS_KEPT_DAYS."""

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from mla.exchange.models import InboxRefusal

logger = logging.getLogger(__name__)

REFUSALS_KEPT_DAYS = 30


def inbox_refusal_record(*, reason_code: str, at: datetime | None = None) -> None:
    """Record a refusal; never fails the answer to the sender (a failure is logged)."""
    try:
        InboxRefusal.objects.create(at=at or timezone.now(), reason=reason_code[:40])
    except Exception:  # the count is news for the administrators, not part of the answer
        logger.exception("The inbox could not record a refusal (%s).", reason_code)


def inbox_refusals_prune(*, now: datetime | None = None) -> int:
    """Forget the refusals older than REFUSALS_KEPT_DAYS; how many."""
    cutoff = (now or timezone.now()) - timedelta(days=REFUSALS_KEPT_DAYS)
    deleted, _per_model = InboxRefusal.objects.filter(at__lt=cutoff).delete()
    return deleted
