import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from contact_points.models import Authority


class MessageKind(models.TextChoices):
    """What a message carries: the one list of kinds of the manifest format."""

    REQUEST = "request"
    STATUS = "status"
    RECEIPT = "receipt"
    # Accepted by the format, produced by no step yet: the inbox refuses it.
    ATTACHMENT = "attachment"


class OutboxMessage(models.Model):
    """A sealed message on its way to another authority, kept as sent with its receipt."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    message_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(
        "mla_requests.Request",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    kind = models.CharField(_("kind"), max_length=16)
    # The step a status message carries, kept in clear: the sealed copy is encrypted.
    event = models.CharField(_("step"), max_length=40, blank=True)
    sender = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="+")
    sealed = models.BinaryField()
    manifest_sha256 = models.CharField(max_length=64)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # The recipient's signed receipt, verified before it is stored.
    receipt = models.BinaryField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The requeue scan: pending messages whose next attempt is overdue.
            models.Index(fields=["state", "next_attempt_at"], name="outbox_requeue"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id}"


class InboxMessage(models.Model):
    """A message received and applied; its receipt is answered again to a repeated delivery."""

    message_id = models.UUIDField(unique=True)
    sender = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16)
    manifest_sha256 = models.CharField(max_length=64)
    manifest = models.JSONField()
    # The message as it arrived (encrypted to this node): its signed manifest and documents
    # are the recipient's evidence, opened again for the evidence bundle or an export.
    sealed = models.BinaryField(null=True, blank=True)
    received_at = models.DateTimeField(_("received"))
    receipt = models.BinaryField()
    # The incoming copy a request message created.
    request = models.ForeignKey(
        "mla_requests.Request",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inbox_messages",
    )

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id}"
