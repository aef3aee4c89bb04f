"""Every kind of notification the node sends, in one place.

Adding a kind: add it here (and to NOT_EMAILED_BY_DEFAULT if it would be noise in a
mailbox). Users who saved their e-mail preferences before get the default for it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    REQUEST_RECEIVED = "request_received", _("A request arrived")
    REQUEST_STATE_CHANGED = "request_state_changed", _("A request you follow changed state")
    VALIDATION_REQUESTED = "validation_requested", _("A request awaits your validation")
    REQUEST_RETURNED = "request_returned", _("A request was returned for changes")
    DEADLINE_APPROACHING = "deadline_approaching", _("A deadline is approaching")
    DEADLINE_MISSED = "deadline_missed", _("A deadline was missed")
    PRESERVATION_EXPIRING = "preservation_expiring", _("A preservation is about to expire")
    DELIVERY_FAILED = "delivery_failed", _("A request could not be delivered")
    REQUEST_SHARED = "request_shared", _("A request was shared with you")
    PARTNER_TRUST_CHANGED = (
        "partner_trust_changed",
        _("A partner's key or inbox URL changed"),
    )
    TRUST_CHANGE_PROPOSED = (
        "trust_change_proposed",
        _("A key or inbox URL change awaits a second administrator"),
    )


# Frequent, informational kinds: shown in the inbox, e-mailed only to those who ask.
NOT_EMAILED_BY_DEFAULT: frozenset[str] = frozenset({Kind.REQUEST_STATE_CHANGED})


def emailed_by_default(kind: str) -> bool:
    return kind not in NOT_EMAILED_BY_DEFAULT
