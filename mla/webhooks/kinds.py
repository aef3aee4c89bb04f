"""The kinds of event a webhook is told of: the ``type`` of each payload, never renamed (the
receivers switch on them)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    STATE_CHANGED = "request.state_changed", _("A copy of a request changed state")
    DEADLINE_APPROACHING = "request.deadline_approaching", _("A deadline is approaching")
    DEADLINE_MISSED = "request.deadline_missed", _("A deadline was missed")
    MESSAGE_DELIVERED = "message.delivered", _("A message to another node was delivered")
    MESSAGE_FAILED = "message.failed", _("A message to another node could not be delivered")
