import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contact_points.models import Authority, DirectoryChange
from mla.core.models import AppendOnlyModel

if TYPE_CHECKING:
    from django_stubs_ext.db.models.manager import RelatedManager


class MessageKind(models.TextChoices):
    """What a message carries: the one list of kinds of the manifest format."""

    REQUEST = "request"
    STATUS = "status"
    RECEIPT = "receipt"
    # Accepted by the format, produced by no step yet: the inbox refuses it.
    ATTACHMENT = "attachment"
    # A signed checkpoint of the sender's audit chain (mla.exchange.anchor): about no request.
    CHECKPOINT = "checkpoint"


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


class AuditCheckpoint(AppendOnlyModel):
    """This node's signed statement of its audit chain head (mla.exchange.anchor): at
    ``signed_at`` the node-wide chain ended at ``position`` with ``node_hash``. One row per
    hosted authority whose pinned key signed it; the statement and its detached signature
    are kept byte for byte, as sent to partners."""

    authority = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="+")
    fingerprint = models.CharField(max_length=40)
    position = models.PositiveBigIntegerField()
    node_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    node_name = models.CharField(max_length=200)
    statement = models.BinaryField()
    signature = models.BinaryField()
    # The messages that carried it to partners (their delivery state is the outbox's).
    sent_in = models.ManyToManyField(OutboxMessage, related_name="checkpoints", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-position", "authority_id"]
        constraints = [
            # Idempotence: a head already signed is not signed again (two runs at once).
            models.UniqueConstraint(fields=["authority", "position"], name="audit_checkpoint_once"),
        ]

    def __str__(self) -> str:
        return f"checkpoint at {self.position}"


class ReceivedAuditCheckpoint(AppendOnlyModel):
    """A partner's signed checkpoint of its own audit chain, kept as received so that its
    administrators can have it back (``audit_checkpoint export``) to check their chain."""

    sender = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="+")
    message_id = models.UUIDField()
    node_name = models.CharField(max_length=200)
    position = models.PositiveBigIntegerField()
    node_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    statement = models.BinaryField()
    statement_sha256 = models.CharField(max_length=64)
    signature = models.BinaryField()
    # The sender's pinned key that made the signature, as verified on arrival.
    signer_fingerprint = models.CharField(max_length=40)
    received_at = models.DateTimeField(_("received"))

    class Meta:
        ordering = ["sender_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "statement_sha256"], name="received_checkpoint_once"
            ),
        ]

    def __str__(self) -> str:
        return f"checkpoint of {self.node_name} at {self.position}"


class PartnerIntroduction(models.Model):
    """A partner node's signed introduction file, as an administrator took it in.

    Kept whole, with who took it in and when: every key and inbox URL it brought into the
    directory can be traced back to the file, to the call that confirmed it
    (``IntroductionConfirmation``) and to the four-eyes decision (``DirectoryChange``).
    """

    node_name = models.CharField(_("partner node"), max_length=255)
    node_base_url = models.CharField(_("partner node address"), max_length=500)
    made_at = models.DateTimeField(_("made"))
    content = models.BinaryField(_("file"))
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    taken_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("taken in by"),
    )
    taken_in_at = models.DateTimeField(_("taken in"), default=timezone.now)

    confirmations: "RelatedManager[IntroductionConfirmation]"

    class Meta:
        ordering = ["-taken_in_at", "-id"]
        verbose_name = _("partner introduction")
        verbose_name_plural = _("partner introductions")

    def __str__(self) -> str:
        return f"{self.node_name} ({self.taken_in_at:%Y-%m-%d})"


class IntroductionConfirmation(models.Model):
    """An administrator's word that the partner read this fingerprint aloud over the phone.

    Only a confirmed fingerprint is proposed for pinning, and the proposal still waits for a
    second administrator (``change``).
    """

    introduction = models.ForeignKey(
        PartnerIntroduction, on_delete=models.PROTECT, related_name="confirmations"
    )
    authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, related_name="+", verbose_name=_("authority")
    )
    fingerprint = models.CharField(_("fingerprint confirmed"), max_length=40)
    inbox_url = models.CharField(_("inbox URL"), max_length=500, blank=True)
    spoke_with = models.CharField(_("person spoken to"), max_length=255)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    confirmed_at = models.DateTimeField(_("confirmed"), default=timezone.now)
    # None when the directory already held this key and inbox URL: nothing to decide.
    change = models.ForeignKey(
        DirectoryChange,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("key or inbox change"),
    )

    class Meta:
        ordering = ["introduction", "authority__identifier"]
        verbose_name = _("fingerprint confirmation")
        verbose_name_plural = _("fingerprint confirmations")

    def __str__(self) -> str:
        return f"{self.authority.identifier}: {self.fingerprint}"

    @property
    def fingerprint_groups(self) -> str:
        return DirectoryChange.grouped(self.fingerprint)


class InboxRefusal(models.Model):
    """That the inbox refused a delivery, and why: for the operations page's count by reason.
    Nothing of the message is kept (it may be anyone's bytes), nor who sent it: the sender a
    refused message names is not proven."""

    at = models.DateTimeField(_("refused at"), db_index=True)
    reason = models.CharField(_("reason"), max_length=40)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.reason} {self.at.isoformat()}"
