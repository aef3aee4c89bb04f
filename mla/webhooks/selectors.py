"""What a user may read of their authority's webhooks and deliveries."""

import uuid

from django.db.models import QuerySet

from mla.accounts.models import User
from mla.webhooks.models import Webhook, WebhookDelivery


def webhooks_for_user(*, user: User) -> QuerySet[Webhook]:
    return Webhook.objects.filter(authority_id=user.authority_id).order_by("created_at", "pk")


def webhook_for_user(*, user: User, public_id: uuid.UUID) -> Webhook | None:
    """The webhook, if it is one of the user's authority (else None: it does not exist for
    them)."""
    return webhooks_for_user(user=user).filter(public_id=public_id).first()


def webhook_deliveries(*, webhook: Webhook, state: str = "") -> QuerySet[WebhookDelivery]:
    """A webhook's deliveries, newest first, with their events."""
    rows = WebhookDelivery.objects.filter(webhook=webhook).select_related("event")
    if state:
        rows = rows.filter(state=state)
    return rows.order_by("-pk")


def webhook_delivery_for(*, webhook: Webhook, public_id: uuid.UUID) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.filter(webhook=webhook, public_id=public_id)
        .select_related("webhook", "event")
        .first()
    )
