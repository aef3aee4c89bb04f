"""Registering, removing and resending: what a user does with their authority's webhooks.

A user manages the webhooks of their own authority, whose copies of requests they already
see: a webhook tells its receiver no more than the API tells them.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contact_points.models import Authority
from mla.accounts.models import User
from mla.core.errors import ApplicationError
from mla.webhooks.addresses import webhook_url_check
from mla.webhooks.models import Webhook, WebhookDelivery
from mla.webhooks.outbox import webhook_delivery_requeue

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)


@dataclass(frozen=True)
class RegisteredWebhook:
    webhook: Webhook
    # Shown once, to whoever registered the webhook: the receiver checks signatures with it.
    secret: str


def _manager_check(*, authority_id: int, actor: User) -> None:
    if not actor.is_active or actor.authority_id != authority_id:
        raise ApplicationError(
            _("Only the users of its authority manage a webhook."), code="forbidden"
        )


def webhook_register(*, actor: User, url: str) -> RegisteredWebhook:
    """Register ``url`` for the events of the actor's authority; its secret is returned once."""
    if not actor.is_active:
        raise ApplicationError(_("Only an active user registers a webhook."), code="forbidden")
    # Resolved before the transaction: a slow name server holds no lock.
    webhook_url_check(url=url)
    with transaction.atomic():
        # The authority's row serialises registrations, so that the limit holds.
        Authority.objects.select_for_update().filter(pk=actor.authority_id).first()
        existing = Webhook.objects.filter(authority_id=actor.authority_id)
        if existing.filter(url=url).exists():
            raise ApplicationError(
                _("This URL is registered already for your authority."), code="already_registered"
            )
        limit = int(settings.WEBHOOK_MAX_PER_AUTHORITY)
        if existing.count() >= limit:
            raise ApplicationError(
                _("Your authority has %(count)d webhooks, the most it may have; remove one first.")
                % {"count": limit},
                code="limit_reached",
            )
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        webhook = Webhook.objects.create(
            authority_id=actor.authority_id,
            url=url,
            secret=secret,
            created_by=actor,
            created_at=timezone.now(),
        )
    return RegisteredWebhook(webhook=webhook, secret=secret)


@transaction.atomic
def webhook_delete(*, webhook: Webhook, actor: User) -> None:
    """Remove a webhook: nothing more is sent to it, and its deliveries go with it."""
    _manager_check(authority_id=webhook.authority_id, actor=actor)
    webhook.delete()


@transaction.atomic
def webhook_delivery_resend(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """Send an event again to a webhook, from the first attempt: one that failed, or one the
    receiver acknowledged but lost. It carries the same event id."""
    _manager_check(authority_id=delivery.webhook.authority_id, actor=actor)
    return webhook_delivery_requeue(delivery=delivery)
