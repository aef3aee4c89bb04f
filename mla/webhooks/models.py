"""Webhooks: the URLs an authority registered, the events written for them in the
transaction of what happened (the outbox), and one delivery per webhook and event."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contact_points.models import Authority
from mla.webhooks.kinds import EventKind


class Webhook(models.Model):
    """A receiver of the events of one authority's copies of requests."""

    public_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    authority = models.ForeignKey(
        Authority,
        on_delete=models.CASCADE,
        related_name="webhooks",
        verbose_name=_("authority"),
        # The unique (authority, url) index starts with the authority and serves its lookups.
        db_index=False,
    )
    url = models.CharField(_("URL"), max_length=500)
    # The key every delivery is signed with, shown once to whoever registered the webhook.
    # Kept in clear: the node has no store for secrets encrypted at rest (nor a key to
    # encrypt them with that is not beside them), and the signature needs the secret itself,
    # not a digest of it. Never shown again, logged or sent.
    secret = models.CharField(max_length=100, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    created_at = models.DateTimeField(_("registered"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        constraints = [
            models.UniqueConstraint(fields=["authority", "url"], name="webhook_url_once"),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """What happened to one of an authority's copies, written in the transaction of the act
    (so an act rolled back leaves none), with the payload every delivery sends."""

    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    authority = models.ForeignKey(
        Authority, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    request = models.ForeignKey(
        "mla_requests.Request",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=40, choices=EventKind.choices)
    payload = models.JSONField(editable=False)
    # Same key, same authority: one event, however often it is recorded (a deadline's
    # warning, from each run of the escalation that finds it due soon).
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["authority", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="webhook_event_dedupe_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class WebhookDelivery(models.Model):
    """One event on its way to one webhook: retried with backoff until the receiver answers
    2xx, then never sent again (unless someone asks for it again)."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    public_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # The receiver's HTTP status at the last attempt that got an answer.
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], name="webhook_delivery_once"),
        ]
        indexes = [
            # A webhook's deliveries, newest first (the API's list and its keyset cursor).
            models.Index(fields=["webhook", "-id"], name="webhook_delivery_list"),
            # The sweeps: pending deliveries whose next attempt is due or long overdue.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.webhook_id} ({self.state})"
